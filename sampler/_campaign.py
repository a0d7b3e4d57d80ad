"""One campaign, whatever the backend: the options, the per-input row and the loop.

:func:`run_campaign` is the one campaign loop: it reads the inputs, asks the backend for
the configuration hash, resumes the file (:func:`sampler._run_rows.resume`), has the
backend certify the inputs still to do and writes their rows with the one :class:`Writer`
(:mod:`sampler._campaign_writer`, importable from here too), then returns the
:class:`RunSummary`. From before it reads the output until its last row and the Parquet
copy are written it holds the output's lock (:func:`sampler._lock.output_lock`): one
campaign writes one file at a time, and a second one on the same file is refused
(:class:`sampler._lock.OutputLockedError`). A backend is an object with
``open(**job_args) -> config hash``, ``certify(todo, writer)`` and ``close()``: the local
one of :func:`sampler.run.run` and the Ray one of :func:`sampler.run.run_ray`.

**Rows.** :func:`run` appends one JSON object per input to the output file, written,
flushed and ``os.fsync``-ed as soon as the input is done. Fields: ``id``, ``config_hash``,
``seed`` (the input's own seed, ``derive_seed(seed, "input", id)``: independent of the
order and of which machine runs the input), ``status`` (``"ok"`` or ``"error"``),
``error`` (``{"type", "message"}`` or None), ``prompt``, ``image``, ``input_sha256``
(SHA-256 of the image file's bytes and the prompt), ``top_class``, ``class_names``,
``num_classes``, ``n0``, ``selection_counts``, ``estimation_counts``, ``k``, ``n``,
``p_lower``, ``q_lower``, ``radius``, ``abstained``, ``alpha_spent``, ``correction``,
``selection_labels``, ``estimation_labels`` (per sample, in draw order), ``texts``
(``{"selection": [...], "estimation": [...]}`` when asked, else None), ``noise`` (the
:class:`sampler.models.NoiseSpec`), ``config`` (the hashed configuration), ``versions``
(Python and library versions) and ``timings`` (seconds of image loading, selection,
estimation, oracle and the whole input, and the UTC time the row was written). An error
row has the same keys with None for the results.

**Sequential rows.** With a configuration whose ``sequential`` field holds a
:class:`sampler.certify.SequentialRule`, :func:`sampler.certify.certify` runs the
sequential rule (:mod:`sampler._sequential`) and a row holds its stop
(:meth:`sampler.certify.SequentialResult.summary`) in place of the fixed-``n``
certificate fields (``q_lower``, ``abstained``, ``alpha_spent``, ``correction``):
``stop_reason`` (``"certified"``, ``"futility"`` or ``"n_max"``), ``certified``,
``radius_target``, ``p_star``, ``p_lower`` and ``p_upper`` (the anytime-valid confidence
sequence at the stop), ``radius``, ``samples`` (``n0 + n``, the samples actually drawn),
``looks``, ``n_max``, ``batch_size`` and ``look_every``; ``k`` and ``n`` are the votes
and estimation samples at the stop. The rule is in the hashed ``config``
(``config["sequential"]``). Such rows are not fixed-``n`` pilot counts:
:func:`sampler.run.load_counts` refuses them unless asked (``stopping="likelihood"``).

**Predict rows.** With ``mode="predict"`` in the configuration each input runs
:func:`sampler.predict.predict` (Cohen et al. 2019, Sec. 3.2, PREDICT) instead, and its row
holds the class or the abstention, the counts, the p-value and, for a VLM, a representative
answer: :mod:`sampler._campaign_predict` lists the fields.

**Backends.** Every backend builds each row with :func:`certify_row` (where the model
lives: this process or a Ray actor) from the :class:`Job` of :func:`make_job`, and the
calling process alone writes the rows, so the rows and the configuration hash of the
local and the Ray backend are the same (the backend is not hashed) and a file started by
one is finished by the other.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import pathlib
import time
from typing import Any, NamedTuple

from sampler._campaign_writer import Writer
from sampler._certify import certify, derive_seed
from sampler._config import CertifyConfig, jsonable
from sampler._datasets import Input, load_image, read_inputs
from sampler._lock import output_lock
from sampler._results import FIXED_SUMMARY_KEYS, SEQUENTIAL_SUMMARY_KEYS
from sampler._run_config import config_hash, run_config, versions
from sampler._run_rows import check_output, read_rows, require_pyarrow, resume, write_parquet
from sampler._validation import check_int

__all__ = ["RunSummary"]


class RunSummary(NamedTuple):
    """Result of a completed campaign (:func:`sampler.run.run`, :func:`sampler.run.run_ray`).

    Attributes:
      out: the JSONL file.
      config_hash: the hash of this run's configuration.
      inputs: inputs in the dataset (after ``limit``).
      skipped: inputs that already had a row.
      ok, errors: rows written by this call, by status.
      repaired: whether a truncated last line was dropped on start.
      parquet: the Parquet copy, or None.
      packing: with ``in_flight > 1``, what the packing did
        (:meth:`sampler._packing.PackingStats.to_dict`: model ``calls``, ``copies``,
        ``fill``, ...), else None.
    """

    out: pathlib.Path
    config_hash: str
    inputs: int
    skipped: int
    ok: int
    errors: int
    repaired: bool
    parquet: pathlib.Path | None
    packing: dict[str, Any] | None = None


@dataclasses.dataclass(frozen=True)
class CampaignOptions:
    """The campaign keywords of :func:`sampler.run.run` (and so of ``run_ray``), checked.

    Attributes:
      oracle_name: the oracle's name in the configuration (e.g. ``"refusal"``).
      prompt: the prompt of a folder of images.
      limit: certify only the first ``limit`` inputs of the dataset (an int ``>= 1``), or
        None for all.
      allow_config_change: append rows of this configuration to a file that holds rows of
        another one.
      retry_errors: remove this configuration's error rows from the file and run those
        inputs again.
      parquet: a path for a Parquet copy of the file's rows at the end (needs pyarrow,
        checked here, before any work).
      progress: show a tqdm bar; None: only when stderr is a terminal.
      model_name: the model's name in the configuration.
      in_flight: inputs certified at once, an int ``>= 1``; above 1 their noisy copies share
        model calls (:mod:`sampler._packing`). Not hashed: the rows are those of 1.
    """

    oracle_name: str | None = None
    prompt: str | None = None
    limit: int | None = None
    allow_config_change: bool = False
    retry_errors: bool = False
    parquet: str | os.PathLike | None = None
    progress: bool | None = None
    model_name: str | None = None
    in_flight: int = 1

    def __post_init__(self):
        object.__setattr__(self, "in_flight", check_int(self.in_flight, name="in_flight", low=1))
        if self.limit is not None:
            object.__setattr__(self, "limit", check_int(self.limit, name="limit", low=1))
        if self.parquet is not None:
            require_pyarrow()

    @classmethod
    def split(cls, keywords: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """``keywords`` cut in two: the options (to build one from) and the others (0.1's flat
        keywords, for :func:`sampler._config.config_from_keywords`, which refuses unknown
        names with a TypeError naming them)."""
        names = {f.name for f in dataclasses.fields(cls)}
        options = {k: v for k, v in keywords.items() if k in names}
        return options, {k: v for k, v in keywords.items() if k not in names}


def _row(inp: Input, *, chash, config, seed, versions) -> dict[str, Any]:
    """The row of ``inp`` before it is certified: every key, None for the results (the
    certificate's fields for a fixed ``n``, the stop's for a sequential rule)."""
    result_keys = (
        FIXED_SUMMARY_KEYS if config.get("sequential") is None else SEQUENTIAL_SUMMARY_KEYS
    )
    return {
        "id": inp.id,
        "config_hash": chash,
        "seed": seed,
        "status": None,
        "error": None,
        "prompt": inp.prompt,
        "image": os.fspath(inp.image),
        "input_sha256": None,
        "top_class": None,
        "class_names": None,
        "num_classes": None,
        "n0": config["n0"],
        "selection_counts": None,
        "estimation_counts": None,
        "k": None,
        "n": config["n"],
        **dict.fromkeys(result_keys),
        "selection_labels": None,
        "estimation_labels": None,
        "texts": None,
        "noise": None,
        "config": config,
        "versions": versions,
        "timings": None,
    }


class Job(NamedTuple):
    """What every input of a campaign shares: the row header and the certify arguments.

    Built by :func:`make_job` wherever the model lives (the local process or a Ray
    actor), so every backend hashes and certifies alike.
    """

    chash: str
    config: dict[str, Any]
    versions: dict[str, str | None]
    certify_config: CertifyConfig
    oracle: Any


def make_job(
    model, *, config: CertifyConfig, oracle, oracle_name: str | None, model_name: str | None
) -> Job:
    """The :class:`Job` of a campaign: configuration, its hash, versions, certify arguments.

    A configuration with a sequential rule is run as it is: :func:`certify_row` calls
    :func:`sampler.certify.certify`, which runs the rule the configuration names, and the
    rule is hashed with the configuration (:meth:`sampler.certify.CertifyConfig.to_dict`).

    Raises:
      ValueError: as :func:`sampler.run.run_config`; with ``mode="predict"``, an oracle
        whose classes are not fixed in advance (:func:`sampler.predict.predict`'s rule).
    """
    if config.mode == "predict":  # a semantic clusterer is refused before any input
        from sampler._predict import check_predict_config

        check_predict_config(config, oracle)
    hashed = run_config(
        model, config=config, oracle=oracle, oracle_name=oracle_name, model_name=model_name
    )
    return Job(config_hash(hashed), jsonable(hashed), versions(), config, oracle)


def run_input(func, model, inp: Input, job, row: dict[str, Any], *, seed: int):
    """Read ``inp``'s image, record its ``input_sha256`` (image bytes and prompt) in ``row``
    and call ``func(model, image, prompt, config=..., oracle=...)`` (:func:`certify` or
    :func:`sampler.predict.predict`) with the input's ``seed``.

    Returns ``(result, t0, t_load)`` (the start time and the image's load time), or None
    after filling ``row`` as an error row (status, error, timings): one bad input never
    stops the run.
    """
    t0 = time.perf_counter()
    t_load = 0.0
    try:
        data_bytes = pathlib.Path(inp.image).read_bytes()
        digest = hashlib.sha256(data_bytes)
        digest.update(b"\0" + (inp.prompt or "").encode())
        row["input_sha256"] = digest.hexdigest()
        image = load_image(data_bytes)
        t_load = time.perf_counter() - t0
        cfg = job.certify_config.replace(seed=seed)
        res = func(model, image, inp.prompt, config=cfg, oracle=job.oracle)
    except Exception as err:  # one bad input never stops the run
        row.update(status="error", error={"type": type(err).__name__, "message": str(err)})
        row["timings"] = {"load_image": t_load, "total": time.perf_counter() - t0}
        return None
    return res, t0, t_load


def certify_row(model, inp: Input, job: Job) -> dict[str, Any]:
    """Certify one input and build its row (status ``"ok"``, or ``"error"`` on any exception).

    The one per-input code path of every backend, for both rules: the row's results are
    ``res.summary()`` of :func:`sampler.certify.certify` (a fixed-``n`` certificate or a
    sequential stop, as the configuration says). A configuration with ``mode="predict"``
    gets the row of :func:`sampler._campaign_predict.predict_row` instead (PREDICT).
    ``timings["finished_at"]`` is set by :meth:`Writer.write`, when the row is written.
    """
    if job.certify_config.mode == "predict":
        from sampler._campaign_predict import predict_row

        return predict_row(model, inp, job)
    input_seed = derive_seed(job.certify_config.seed, "input", inp.id)
    row = _row(inp, chash=job.chash, config=job.config, seed=input_seed, versions=job.versions)
    attempt = run_input(certify, model, inp, job, row, seed=input_seed)
    if attempt is None:
        return row
    res, t0, t_load = attempt
    row.update(res.summary())
    row.update(
        status="ok",
        class_names=None if res.class_names is None else list(res.class_names),
        selection_labels=res.selection_labels.tolist(),
        estimation_labels=res.estimation_labels.tolist(),
        noise=res.noise.to_dict(),
        timings={"load_image": t_load, **res.timings._asdict(), "total": time.perf_counter() - t0},
    )
    if res.selection_texts is not None:
        row["texts"] = {
            "selection": list(res.selection_texts),
            "estimation": list(res.estimation_texts),
        }
    return row


def _no_inputs(data) -> ValueError:
    where = os.fspath(data) if isinstance(data, str | os.PathLike) else "the given inputs"
    return ValueError(
        f"data: no inputs in {where} (a folder needs image files, a JSONL file rows): "
        "a campaign needs at least one"
    )


def run_campaign(backend, data, out, *, config: CertifyConfig, options: CampaignOptions):
    """Certify the inputs of ``data`` still to do in ``out`` with ``backend``; the summary.

    See the module docstring. In order: the inputs are read (a dataset without any is
    refused); the output's lock is taken (:func:`sampler._lock.output_lock`) and held to
    the end; the output and the Parquet path are checked
    (:func:`sampler._run_rows.check_output`); then ``backend.open`` (which loads the
    models, or starts the Ray workers), the resume, the rows and the Parquet copy.
    ``backend.close()`` runs however the campaign ends; a ``KeyboardInterrupt`` keeps the
    rows written so far and is raised again.

    Raises:
      ValueError: ``"data: no inputs in ..."``; a bad output or Parquet path
        (``"out: ..."``, ``"parquet: ..."``); and those of the resume.
      sampler._lock.OutputLockedError: another run writes ``out`` (a ValueError).
      sampler._lock.OutputLockUnavailableError: ``out``'s filesystem cannot lock.
    """
    inputs = read_inputs(data, prompt=options.prompt, limit=options.limit)
    if not inputs:
        raise _no_inputs(data)
    out = pathlib.Path(out)
    with output_lock(out):
        scan = check_output(out, parquet=options.parquet)
        try:
            chash = backend.open(
                config=config, oracle_name=options.oracle_name, model_name=options.model_name
            )
            todo, repaired = resume(
                out,
                chash,
                inputs,
                allow_config_change=options.allow_config_change,
                retry_errors=options.retry_errors,
                scan=scan,
            )
            with Writer(out, len(todo), options.progress) as writer:
                backend.certify(todo, writer)
        finally:
            backend.close()
        parquet = options.parquet
        parquet_path = None if parquet is None else write_parquet(read_rows(out), parquet)
    return RunSummary(
        out,
        chash,
        len(inputs),
        len(inputs) - len(todo),
        writer.ok,
        writer.errors,
        repaired,
        parquet_path,
        None if writer.packing is None else writer.packing.to_dict(),
    )
