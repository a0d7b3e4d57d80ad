"""Campaigns: :func:`sampler.certify.certify` over a dataset, one JSONL row per input.

:func:`run` certifies in this process; :func:`sampler.run.run_ray` (``collect --backend
ray``) spreads the inputs over Ray workers. Both run the one campaign loop of
:mod:`sampler._campaign`, whose docstring lists the fields of a row. The pieces, each in
the module that owns it:

* the datasets (:func:`read_dataset`, :class:`Input`, :func:`load_image`):
  :mod:`sampler._datasets`, whose docstring describes the folder, JSONL and
  MM-SafetyBench layouts and their ids;
* the configuration and its hash (:func:`run_config`, :func:`config_hash`):
  :mod:`sampler._run_config`, whose docstring says what is hashed and what is not;
* the row file (:func:`read_rows`, :func:`load_counts`, :func:`write_parquet`) and the
  resume rules: :mod:`sampler._run_rows`;
* the options, the per-input row, the writer and the summary (:class:`RunSummary`):
  :mod:`sampler._campaign`.

A campaign runs the rule its :class:`sampler.CertifyConfig` names, for every input: a
fixed ``n``, or the anytime-valid sequential rule of a
:class:`sampler.certify.SequentialRule` (``config.sequential``), whose rows record where
each input stopped (:mod:`sampler._campaign` lists their fields) and whose rule is part of
the configuration hash. With ``config.mode == "predict"`` a campaign runs Cohen et al.'s
PREDICT (2019, Sec. 3.2; :func:`sampler.predict.predict`) on every input instead, one row of
:mod:`sampler._campaign_predict` each, with the same resume, error rows, packing and
backends.

With ``in_flight > 1`` the local backend certifies that many inputs at once and packs
their noisy copies into shared model calls of ``batch_size``
(:func:`sampler._packing.certify_packed`): the same rows (each input's noise and decoding
seeds are its own), fuller calls; rows are then written in the order their inputs
finish, and the summary's ``packing`` holds the calls, copies and batch fill.

Rows are written, flushed and ``os.fsync``-ed as soon as their input is done; an
interrupted run run again loses and duplicates nothing. One campaign writes a given output
file at a time: each holds the file's lock (:func:`sampler._lock.output_lock`, on
``<out>.lock``) for the whole run, and a second one is refused.
"""

from __future__ import annotations

from sampler._campaign import (
    CampaignOptions,
    Job,
    RunSummary,
    certify_row,
    make_job,
    run_campaign,
)
from sampler._config import CertifyConfig, config_from_keywords
from sampler._datasets import IMAGE_SUFFIXES, MMSB_PROMPT_FIELDS, Input, load_image, read_dataset
from sampler._run_config import config_hash, run_config
from sampler._run_rows import ConfigMismatchError, load_counts, read_rows, write_parquet

__all__ = [
    "IMAGE_SUFFIXES",
    "MMSB_PROMPT_FIELDS",
    "ConfigMismatchError",
    "Input",
    "RunSummary",
    "config_hash",
    "load_counts",
    "load_image",
    "read_dataset",
    "read_rows",
    "run",
    "run_config",
    "write_parquet",
]


class LocalBackend:
    """The backend of :func:`run`: certifies the inputs in this process, one after another
    (``in_flight = 1``) or ``in_flight`` at a time with their copies packed."""

    def __init__(self, model, oracle, *, in_flight: int = 1):
        self.model, self.oracle, self.in_flight = model, oracle, in_flight
        self.job: Job | None = None

    def open(self, **job_args) -> str:
        """Build the campaign's :class:`sampler._campaign.Job`; its configuration hash."""
        self.job = make_job(self.model, oracle=self.oracle, **job_args)
        return self.job.chash

    def certify(self, todo, writer) -> None:
        """Certify ``todo``, writing each row as soon as it is done: in order, or with
        ``in_flight > 1`` by :func:`sampler._packing.certify_packed` (its stats on
        ``writer.packing``, for the bar and the summary)."""
        if self.in_flight == 1:
            for inp in todo:
                writer.write(certify_row(self.model, inp, self.job))
            return
        from sampler._packing import PackingStats, certify_packed

        writer.packing = PackingStats(batch_size=self.job.certify_config.batch_size)
        certify_packed(
            self.model,
            todo,
            self.job,
            write=writer.write,
            in_flight=self.in_flight,
            stats=writer.packing,
        )

    def close(self) -> None:
        """Nothing to release."""


def run(
    model,
    data,
    out,
    *,
    config: CertifyConfig | None = None,
    oracle=None,
    oracle_name: str | None = None,
    prompt: str | None = None,
    limit: int | None = None,
    allow_config_change: bool = False,
    retry_errors: bool = False,
    parquet=None,
    progress: bool | None = None,
    model_name: str | None = None,
    in_flight: int = 1,
    **legacy,
) -> RunSummary:
    """Certify every input of ``data`` with :func:`sampler.certify.certify`, one row each.

    See the module docstring for the rows, the configuration hash and the resume rules.
    The campaign keywords (``oracle_name`` to ``model_name``) are those of every backend
    (:class:`sampler._campaign.CampaignOptions`; :func:`sampler.run.run_ray` takes them as
    they are here).
    A corrupt or missing image, or any exception while certifying one input, becomes an
    error row and the run goes on: a run where some inputs, or every one, became error
    rows returns normally, with ``errors > 0`` in its summary (the command line turns that
    into its exit statuses 3 and 4; see :mod:`sampler.__main__`). A ``KeyboardInterrupt``
    stops the run: the rows written so far are kept (each one is on disk when its input is
    done) and the interrupt is raised again; run the same call again to resume.

    The output's lock (:func:`sampler._lock.output_lock`) is held from before the file is
    read until the Parquet copy is written; a run on a file that another run (another
    process, or another thread) writes is refused at once. The call may be made while this
    thread already holds that lock (the command line takes it before loading the model).

    Args:
      model: a :class:`sampler.models.Model` (VLM or classifier).
      data: a dataset path (see :func:`read_dataset`) or a sequence of :class:`Input`,
        with at least one input.
      out: the JSONL file, created or appended to; its folder must exist (it is not
        created). The lock file ``<out>.lock`` is made beside it and left there (harmless).
      config: the :class:`sampler.CertifyConfig` of every input (as in
        :func:`sampler.certify.certify`); its ``seed`` is the campaign seed: input ``id`` is
        certified with ``derive_seed(seed, "input", id)``. With a ``sequential`` rule
        (:class:`sampler.certify.SequentialRule`) every input runs the sequential rule and
        its row records the stop (``stop_reason``, ``samples``, ``p_lower``, ``p_upper``,
        ``looks``, ...; see :mod:`sampler._campaign`). With ``mode="predict"`` every input
        runs :func:`sampler.predict.predict` (Cohen et al. 2019, Sec. 3.2, PREDICT) and its
        row holds the class or the abstention (:mod:`sampler._campaign_predict`).
      oracle: as in :func:`sampler.certify.certify`.
      oracle_name: the oracle's name in the configuration (e.g. ``"refusal"``).
      prompt: the prompt of a folder of images.
      limit: certify only the first ``limit`` inputs of the dataset (an integer ``>= 1``);
        None: all of them.
      allow_config_change: append rows of this configuration to a file that holds rows of
        another one.
      retry_errors: remove this configuration's error rows from the file and run those
        inputs again.
      parquet: a path for a Parquet copy of the file's rows at the end (needs pyarrow); its
        folder must exist and be writable (checked before any work).
      progress: show a tqdm bar (inputs done, samples per second, time left); None: only
        when stderr is a terminal.
      model_name: the model's name in the configuration (default: its ``name_or_path``; give
        one for a classifier, whose module has none).
      in_flight: inputs certified at once, an int ``>= 1`` (default 1: one after another);
        above 1 their noisy copies share model calls of ``batch_size``
        (:mod:`sampler._packing`), the rows are the same and are written in the order their
        inputs finish. Not part of the configuration hash: a file started with one value is
        resumed with another.
      legacy: release 0.1's flat keywords (``n0=``, ``n=``, ``sigma=``, ``alpha=``,
        ``seed=``, ``batch_size=``, ``oracle_eps=``, ``oracle_rates=``, ``keep_texts=``,
        ``num_classes=``; ``radius=``, ``n_max=``, ``prior=`` for a sequential rule)
        instead of ``config``: deprecated, they build the configuration with a
        :class:`DeprecationWarning`.

    Returns:
      :class:`RunSummary`; ``errors`` counts the inputs of this call that became error rows;
      ``packing`` holds the calls, copies and ``fill`` with ``in_flight > 1`` (else None).

    Example (a sequential campaign; ``model`` and the images are yours)::

        from sampler import CertifyConfig, SequentialRule
        cfg = CertifyConfig(n0=10, sigma=0.25, seed=0, batch_size=32,
                            sequential=SequentialRule(radius=0.25, n_max=1000))
        run(model, "images/", "rows.jsonl", config=cfg, oracle=oracle, prompt="...")

    Raises:
      ConfigMismatchError: the file holds rows of another configuration.
      sampler._lock.OutputLockedError: another run writes ``out`` (a ValueError naming
        its pid, host and start time).
      sampler._lock.OutputLockUnavailableError: ``out``'s filesystem cannot take a POSIX
        lock (a ValueError); campaigns do not write without one.
      ValueError: a bad argument (``limit`` or ``in_flight`` below 1, ...), a dataset
        that cannot be read or holds no input (``"data: no inputs in ..."``), an output or
        Parquet path that cannot be written (``"out: ..."``, ``"parquet: ..."``), a done
        input whose prompt changed, a bad line in the file (``"FILE:LINE: ..."``, naming
        the field of a row that breaks the schema; checked before the model is used and
        before anything is written).
      RuntimeError: ``parquet`` asked for without pyarrow (checked before any work).
      KeyboardInterrupt: re-raised after the rows so far are safely written.
    """
    cfg = config_from_keywords(config, legacy, func="run", sequential=None, mode=None)
    options = CampaignOptions(
        oracle_name=oracle_name,
        prompt=prompt,
        limit=limit,
        allow_config_change=allow_config_change,
        retry_errors=retry_errors,
        parquet=parquet,
        progress=progress,
        model_name=model_name,
        in_flight=in_flight,
    )
    backend = LocalBackend(model, oracle, in_flight=options.in_flight)
    return run_campaign(backend, data, out, config=cfg, options=options)
