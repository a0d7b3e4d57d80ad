"""``python -m sampler collect``: certify every input of a dataset, one JSONL row each.

The subcommand of :mod:`sampler.__main__`; its parser is
:func:`sampler._cli_collect_parser.add_collect`, and the work is :func:`sampler.run.run`
(``--backend local``) or :func:`sampler.run.run_ray` (``--backend ray``).
The checks made before any model loads (and the oracles) are in
:mod:`sampler._cli_collect_checks`, the summary and the exit codes in
:mod:`sampler._cli_collect_finish` (the refusals and the codes themselves, shared with
``predict`` and ``attack``, in :mod:`sampler._cli_exit`).

**Fail fast.** Every argument and path is checked before the model is loaded, so a
mistake is a one-line ``python -m sampler collect: error: ...`` naming the option, within
a second: the dataset is read (an empty one is refused), ``--model`` is resolved to a
directory or a hub id of the local cache (:func:`sampler._model_identity.resolve_model`),
``--out`` and ``--parquet`` are checked (:func:`sampler._run_rows.check_output`: not a
directory, an existing folder, a readable file of rows), the output's lock is taken
(:func:`sampler._lock.output_lock`, held from before the model is loaded to the end of
the run) and ``--oracle-eps`` is checked against the oracle's number of classes. So are
``--n`` and the sequential options (``--sequential``, ``--radius``, ``--n-max``,
``--look-every``; :func:`sampler._cli_collect_checks.check_rule_args`).

**Packing.** ``--in-flight M`` certifies ``M`` inputs at once and packs their noisy
copies into shared ``generate`` calls of ``--batch-size`` (:mod:`sampler._packing`; with
``--backend ray`` each worker packs the ``M`` inputs of each of its tasks): the same rows
and configuration hash, fuller calls. The progress bar then shows the batch fill
(``fill=0.97``: copies per call over ``--batch-size``) and the end of the run prints the
calls, copies and fill on stderr (``packing`` in the JSON summary).

**Early stop and placement.** ``--early-stop`` stops decoding each copy once the oracle
declares its label final (:class:`sampler.models.DecodingConfig` ``early_stop``; the
labels are those of the full decoding, :mod:`sampler._early_stop`): refused, before the
model loads, with an oracle that declares no final labels (``llm-judge``, the
``cluster-*`` oracles). ``--device-map`` shards the model over devices
(:meth:`sampler.models.VLM.from_pretrained` ``device_map=``): a strategy of accelerate,
one device for the whole model, or a JSON dict; it needs ``--device auto``.

**The sequential rule.** ``--sequential --radius R`` certifies each input with
:class:`sampler.certify.SequentialRule` ``(radius=R, n_max=--n-max or --n, look_every=)``
instead of a fixed ``--n``: each row then records where its input stopped (see
:mod:`sampler._campaign`), and the rule is in the configuration hash.

**PREDICT.** ``--mode predict`` runs :func:`sampler.predict.predict` (Cohen, Rosenfeld &
Kolter 2019, Sec. 3.2) on each input instead of certifying it: ``--n`` copies, the class
or an abstention at ``--alpha`` (:mod:`sampler._campaign_predict` lists the row's fields).
``--n0``, ``--sequential``, ``--oracle-eps`` and the ``cluster-*`` oracles are refused
with it (:func:`sampler._cli_collect_checks.check_rule_args`); the mode is in the
configuration hash.

**Exit codes** (also in ``collect --help``: :data:`sampler._cli_collect_parser.EXIT_CODES`):

* 0: every input has an ok row (a resume with nothing left to do too: it says ``nothing to
  do: all N inputs already have rows`` on stderr);
* 1: an unexpected error (a bug: a traceback);
* 2: bad arguments or files, nothing run;
* 3: partial failure: some inputs have error rows (a one-line summary on stderr, with the
  most common error; ``--retry-errors`` runs them again);
* 4: every input this run certified failed (nothing produced; the same summary), or, with
  nothing left to run, no input has an ok row;
* 130: interrupted (the rows written so far are kept: run the same command again to
  resume).
"""

from __future__ import annotations

import argparse
import contextlib

# The checks and the end of the command, in their own modules; the names stay importable
# from here (``_make_oracle`` and ``read_prompt`` are used by ``predict`` and the tests).
from sampler._cli_collect_checks import (
    _check_backend,
    _check_device_map,
    _check_early_stop,
    _check_eps,
    _check_oracle,
    _file_message,
    _make_oracle,
    _ray_loader,
    _read_inputs,
    check_rule_args,
    read_prompt,
)
from sampler._cli_collect_finish import _finish
from sampler._cli_exit import Refused, refusing, run_command

__all__ = ["PROG", "read_prompt"]

PROG = "python -m sampler collect"


def _run_collect(args: argparse.Namespace) -> int:
    return run_command(PROG, _collect, args, out=args.out)


def _collect(args: argparse.Namespace) -> int:
    import pathlib

    from sampler._datasets import mmsb_questions_dir
    from sampler._lock import output_lock
    from sampler._model_identity import resolve_model
    from sampler._run_rows import check_output

    message = _check_backend(args) or check_rule_args(args)
    if message is not None:
        raise Refused(message)
    if args.parquet is not None:
        try:
            import pyarrow
            import pyarrow.parquet  # noqa: F401
        except ImportError:
            raise Refused(
                "--parquet needs pyarrow, which is not installed (pip install pyarrow)"
            ) from None
    if args.cluster_threshold is not None and args.oracle != "cluster-embedding":
        raise Refused("--cluster-threshold applies to --oracle cluster-embedding only")
    prompt = read_prompt(args)
    data = pathlib.Path(args.data)
    if data.is_dir() and mmsb_questions_dir(data) is None and prompt is None:
        raise Refused(f"--data {data} is a folder of images: give --prompt or --prompt-file")
    inputs = _read_inputs(args, data, prompt)
    with refusing():
        _check_oracle(args)
    if args.oracle in ("refusal", "actions"):  # known classes, no model: checked now
        _check_eps(args, _make_oracle(args, None))
    message = _check_early_stop(args) or _check_device_map(args)
    if message is not None:
        raise Refused(message)
    if args.backend == "local":  # Ray workers resolve it, maybe on other machines
        with refusing("--model: "):
            resolve_model(args.model)
    try:
        check_output(args.out, parquet=args.parquet)
    except ValueError as err:
        raise Refused(_file_message(err, args) or f"--out: {err}") from None
    config = _certify_config(
        args,
        n0=1 if args.mode == "predict" else args.n0,  # unused by predict, not hashed
        mode=args.mode,
        sigma=args.sigma,
        alpha=args.alpha,
        seed=args.seed,
        batch_size=args.batch_size,
        oracle_error=args.oracle_eps,
        decoding=_decoding(args),
        keep_texts=args.keep_texts,
    )
    # The model's identity names it in the configuration (sampler._run_config), not the
    # spelling of --model: no model_name.
    common = dict(
        config=config,
        oracle_name=args.oracle,
        limit=args.limit,
        allow_config_change=args.allow_config_change,
        retry_errors=args.retry_errors,
        parquet=args.parquet,
        progress=False if args.quiet else None,
        in_flight=args.in_flight,
    )
    with contextlib.ExitStack() as stack:
        try:  # held from before the model is loaded to the end (run takes it again)
            stack.enter_context(output_lock(args.out))
        except ValueError as err:
            raise Refused(_file_message(err, args) or f"--out: {err}") from None
        run_it = _run_ray if args.backend == "ray" else _run_local
        try:
            summary = run_it(args, inputs, common)
        except ValueError as err:
            message = _file_message(err, args)
            if message is None:
                raise
            raise Refused(message) from None
        return _finish(summary, inputs)


def _decoding(args):
    """The :class:`sampler.models.DecodingConfig` of the command (torch: after the checks)."""
    from sampler._models import DecodingConfig

    with refusing():
        return DecodingConfig(
            do_sample=args.sample,
            max_new_tokens=args.max_new_tokens,
            temperature=args.temperature,
            top_p=args.top_p,
            early_stop=args.early_stop,
        )


def _certify_config(args, **fields):
    """The :class:`sampler.CertifyConfig` of the command: a fixed ``--n``, or with
    ``--sequential`` the rule of ``--radius``, ``--n-max`` and ``--look-every``; a value
    that the configuration refuses (a ``--radius`` too large for ``--sigma``) is refused."""
    from sampler._config import CertifyConfig, SequentialRule

    with refusing("--radius: " if args.sequential else ""):
        if not args.sequential:
            return CertifyConfig(n=args.n, **fields)
        rule = SequentialRule(radius=args.radius, n_max=args.n_max, look_every=args.look_every)
        return CertifyConfig(sequential=rule, **fields)


def _run_ray(args, inputs, common):
    from sampler._ray_backend import run_ray

    try:
        return run_ray(
            _ray_loader(args),
            inputs,
            args.out,
            workers=args.workers,
            address=args.address,
            max_in_flight=args.max_in_flight or 2,
            **common,
        )
    except ImportError as err:
        raise Refused(f"--backend ray: {err}") from None
    except (OSError, ValueError) as err:
        if str(err).startswith("workers "):
            raise Refused(f"--workers: {err}") from None
        cause = getattr(err, "cause", None)  # a RayTaskError: raised in a worker
        if cause is not None:
            raise Refused(
                f"--model / --oracle: a worker cannot load {args.model!r}: "
                f"{type(cause).__name__}: {cause}"
            ) from None
        raise


@contextlib.contextmanager
def _loading_bar(enabled: bool):
    """transformers' weight-loading bar on (as it was) or off (``--quiet``) for the block."""
    from transformers.utils import logging

    was = logging.is_progress_bar_enabled()
    if not enabled:
        logging.disable_progress_bar()
    try:
        yield
    finally:
        if was and not enabled:
            logging.enable_progress_bar()


def _run_local(args, inputs, common):
    from sampler._models_vlm import VLM
    from sampler._run import run
    from sampler._validation import resolve_device

    with refusing("--device: "):
        device = resolve_device(args.device)
    # before the VLM: the oracle's own model, if any, fails fast
    with refusing(f"--oracle {args.oracle}: ", catch=(OSError, ValueError)):
        oracle = _make_oracle(args, device)
    _check_eps(args, oracle)
    with (
        refusing(f"--model: cannot load {args.model!r}: ", catch=(OSError, ValueError)),
        _loading_bar(not args.quiet),
    ):
        model = VLM.from_pretrained(
            args.model, device=device, dtype=args.dtype, device_map=args.device_map
        )
    return run(model, inputs, args.out, oracle=oracle, **common)
