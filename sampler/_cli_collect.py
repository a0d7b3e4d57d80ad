"""``python -m sampler collect``: certify every input of a dataset, one JSONL row each.

The subcommand of :mod:`sampler.__main__`; its parser is
:func:`sampler._cli_collect_parser.add_collect`, and the work is :func:`sampler.run.run`
(``--backend local``) or :func:`sampler.run.run_ray` (``--backend ray``).

**Fail fast.** Every argument and path is checked before the model is loaded, so a
mistake is a one-line ``python -m sampler collect: error: ...`` naming the option, within
a second: the dataset is read (an empty one is refused), ``--model`` is resolved to a
directory or a hub id of the local cache (:func:`sampler._model_identity.resolve_model`),
``--out`` and ``--parquet`` are checked (:func:`sampler._run_rows.check_output`: not a
directory, an existing folder, a readable file of rows), the output's lock is taken
(:func:`sampler._lock.output_lock`, held from before the model is loaded to the end of
the run) and ``--oracle-eps`` is checked against the oracle's number of classes. So are
``--n`` and the sequential options (``--sequential``, ``--radius``, ``--n-max``,
``--look-every``; :func:`sampler._cli_collect_parser.check_rule_args`).

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
import sys

__all__ = ["PROG"]

PROG = "python -m sampler collect"


def _make_oracle(args, device):
    from sampler.oracles import ActionParser, LLMJudge, RefusalJudge, SemanticClusterer

    name = args.oracle
    if name == "refusal":
        return RefusalJudge()
    if name == "actions":
        return ActionParser()
    _check_oracle(args)
    if name == "llm-judge":
        return LLMJudge(args.oracle_model, device=device)
    method = name.removeprefix("cluster-")
    threshold = args.cluster_threshold if method == "embedding" else None
    return SemanticClusterer(args.oracle_model, method=method, threshold=threshold, device=device)


def _check_oracle(args) -> None:
    if args.oracle not in ("refusal", "actions") and args.oracle_model is None:
        raise ValueError(f"--oracle-model is required for --oracle {args.oracle}")


def _ray_loader(args):
    """The picklable :class:`sampler.run.VLMLoader` of the workers of ``--backend ray``."""
    import functools

    from sampler._ray_backend import VLMLoader

    # `_make_oracle` lives in this module (not `__main__`), so the workers find it by
    # reference, also when the command runs as `python -m sampler`.
    oracle_args = argparse.Namespace(
        oracle=args.oracle, oracle_model=args.oracle_model, cluster_threshold=args.cluster_threshold
    )
    return VLMLoader(
        args.model,
        device=args.device,
        dtype=args.dtype,
        device_map=args.device_map,
        make_oracle=functools.partial(_make_oracle, oracle_args),
    )


def _check_early_stop(args) -> str | None:
    """The message of ``--early-stop`` with an oracle that declares no final labels (checked
    on its class: nothing is loaded), else None."""
    if not args.early_stop:
        return None
    from sampler._early_stop import declares_final_labels
    from sampler.oracles import ActionParser, LLMJudge, RefusalJudge, SemanticClusterer

    classes = {"refusal": RefusalJudge, "actions": ActionParser, "llm-judge": LLMJudge}
    if declares_final_labels(classes.get(args.oracle, SemanticClusterer)):
        return None
    return (
        f"--early-stop needs an oracle that declares final labels of prefixes (refusal, "
        f"actions), not --oracle {args.oracle}: its label depends on the whole text"
    )


def _check_device_map(args) -> str | None:
    """The message of a bad ``--device-map``, or of one given with a ``--device``, else None."""
    if args.device_map is None:
        return None
    from sampler._validation import check_device_map

    try:
        check_device_map(args.device_map)
    except ValueError as err:
        return f"--device-map: {str(err).removeprefix('device_map ')}"
    if args.device != "auto":
        return f"--device-map places the modules: give --device auto, not --device {args.device}"
    return None


def _check_backend(args) -> str | None:
    """The message of a Ray option given with ``--backend local``, else None."""
    if args.backend == "local":
        for flag, value in (
            ("--address", args.address),
            ("--workers", args.workers),
            ("--max-in-flight", args.max_in_flight),
        ):
            if value is not None:
                return f"{flag} applies to --backend ray only"
    return None


class _Refused(Exception):
    """A bad argument or file: its one-line message; exit 2, nothing run."""


def read_prompt(args: argparse.Namespace) -> str | None:
    """The prompt of ``--prompt`` or ``--prompt-file`` (at most one), or None; a file that
    cannot be read is refused."""
    import pathlib

    if args.prompt_file is None:
        return args.prompt
    if args.prompt is not None:
        raise _Refused("give at most one of --prompt and --prompt-file")
    try:
        return pathlib.Path(args.prompt_file).read_text(encoding="utf-8").strip()
    except OSError as err:
        raise _Refused(f"--prompt-file: cannot read {args.prompt_file}: {err}") from None


def _bad(message: str) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return 2


def _read_inputs(args, data, prompt):
    """The inputs of ``--data`` (cut to ``--limit``); refused when there are none."""
    from sampler._datasets import IMAGE_SUFFIXES, mmsb_questions_dir, read_dataset

    try:
        inputs = read_dataset(data, prompt=prompt)
    except ValueError as err:
        raise _Refused(f"--data: {err}") from None
    if args.limit is not None:
        inputs = inputs[: args.limit]
    if not inputs:
        if data.is_file():
            what = "the file has no lines"
        elif mmsb_questions_dir(data) is not None:
            what = "no scenario has a folder of images of its variants"
        else:
            what = f"no image files ({' '.join(IMAGE_SUFFIXES)}) in it or its subfolders"
        raise _Refused(f"--data: no inputs in {data} ({what})")
    return inputs


def _check_eps(args, oracle) -> None:
    """``--oracle-eps`` against the oracle's number of classes (rstheory.certify's rule)."""
    from sampler._run_config import check_oracle_error, fixed_num_classes

    k = fixed_num_classes(oracle)
    try:
        check_oracle_error(args.oracle_eps, k, name="--oracle-eps")
    except ValueError as err:
        labels = ", ".join(map(str, getattr(oracle, "labels", ()) or ()))
        raise _Refused(f"{err} (--oracle {args.oracle} has {k} classes: {labels})") from None


def _file_message(err: ValueError, args) -> str | None:
    """The one-line message of an error of the output files (``--out``, ``--parquet``,
    ``--data``), or None for another error."""
    from sampler._run_rows import ConfigMismatchError

    text = str(err)
    for prefix, flag in (("out: ", "--out"), ("parquet: ", "--parquet"), ("data: ", "--data")):
        if text.startswith(prefix):
            return f"{flag}: {text.removeprefix(prefix)}"
    if (
        isinstance(err, ConfigMismatchError)
        or "was collected with prompt" in text
        or text.startswith(str(args.out))
    ):
        return f"--out: {text}"
    return None


def _run_collect(args: argparse.Namespace) -> int:
    try:
        return _collect(args)
    except _Refused as refused:
        return _bad(str(refused))
    except KeyboardInterrupt:
        return _interrupted(args.out)


def _collect(args: argparse.Namespace) -> int:
    import pathlib

    from sampler._cli_collect_parser import check_rule_args
    from sampler._datasets import mmsb_questions_dir
    from sampler._lock import output_lock
    from sampler._model_identity import resolve_model
    from sampler._run_rows import check_output

    message = _check_backend(args) or check_rule_args(args)
    if message is not None:
        raise _Refused(message)
    if args.parquet is not None:
        try:
            import pyarrow
            import pyarrow.parquet  # noqa: F401
        except ImportError:
            raise _Refused(
                "--parquet needs pyarrow, which is not installed (pip install pyarrow)"
            ) from None
    if args.cluster_threshold is not None and args.oracle != "cluster-embedding":
        raise _Refused("--cluster-threshold applies to --oracle cluster-embedding only")
    prompt = read_prompt(args)
    data = pathlib.Path(args.data)
    if data.is_dir() and mmsb_questions_dir(data) is None and prompt is None:
        raise _Refused(f"--data {data} is a folder of images: give --prompt or --prompt-file")
    inputs = _read_inputs(args, data, prompt)
    try:
        _check_oracle(args)
    except ValueError as err:
        raise _Refused(str(err)) from None
    if args.oracle in ("refusal", "actions"):  # known classes, no model: checked now
        _check_eps(args, _make_oracle(args, None))
    message = _check_early_stop(args) or _check_device_map(args)
    if message is not None:
        raise _Refused(message)
    if args.backend == "local":  # Ray workers resolve it, maybe on other machines
        try:
            resolve_model(args.model)
        except ValueError as err:
            raise _Refused(f"--model: {err}") from None
    try:
        check_output(args.out, parquet=args.parquet)
    except ValueError as err:
        raise _Refused(_file_message(err, args) or f"--out: {err}") from None
    config = _certify_config(
        args,
        n0=args.n0,
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
            raise _Refused(_file_message(err, args) or f"--out: {err}") from None
        run_it = _run_ray if args.backend == "ray" else _run_local
        try:
            summary = run_it(args, inputs, common)
        except ValueError as err:
            message = _file_message(err, args)
            if message is None:
                raise
            raise _Refused(message) from None
        return _finish(summary, inputs)


def _decoding(args):
    """The :class:`sampler.models.DecodingConfig` of the command (torch: after the checks)."""
    from sampler._models import DecodingConfig

    try:
        return DecodingConfig(
            do_sample=args.sample,
            max_new_tokens=args.max_new_tokens,
            temperature=args.temperature,
            top_p=args.top_p,
            early_stop=args.early_stop,
        )
    except ValueError as err:
        raise _Refused(str(err)) from None


def _certify_config(args, **fields):
    """The :class:`sampler.CertifyConfig` of the command: a fixed ``--n``, or with
    ``--sequential`` the rule of ``--radius``, ``--n-max`` and ``--look-every``; a value
    that the configuration refuses (a ``--radius`` too large for ``--sigma``) is refused."""
    from sampler._config import CertifyConfig, SequentialRule

    try:
        if not args.sequential:
            return CertifyConfig(n=args.n, **fields)
        rule = SequentialRule(radius=args.radius, n_max=args.n_max, look_every=args.look_every)
        return CertifyConfig(sequential=rule, **fields)
    except ValueError as err:
        raise _Refused(f"--radius: {err}" if args.sequential else str(err)) from None


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
        raise _Refused(f"--backend ray: {err}") from None
    except (OSError, ValueError) as err:
        if str(err).startswith("workers "):
            raise _Refused(f"--workers: {err}") from None
        cause = getattr(err, "cause", None)  # a RayTaskError: raised in a worker
        if cause is not None:
            raise _Refused(
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

    try:
        device = resolve_device(args.device)
    except ValueError as err:
        raise _Refused(f"--device: {err}") from None
    try:  # before the VLM: the oracle's own model, if any, fails fast
        oracle = _make_oracle(args, device)
    except (OSError, ValueError) as err:
        raise _Refused(f"--oracle {args.oracle}: {err}") from None
    _check_eps(args, oracle)
    try:
        with _loading_bar(not args.quiet):
            model = VLM.from_pretrained(
                args.model, device=device, dtype=args.dtype, device_map=args.device_map
            )
    except (OSError, ValueError) as err:
        raise _Refused(f"--model: cannot load {args.model!r}: {err}") from None
    return run(model, inputs, args.out, oracle=oracle, **common)


def _interrupted(out) -> int:
    print(
        f"interrupted: the rows written so far are kept in {out}; run the same "
        "command again to resume",
        file=sys.stderr,
    )
    return 130


def _one_line(text: str, width: int = 160) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= width else line[: width - 3] + "..."


def _finish(summary, inputs) -> int:
    """Print the summary (JSON on stdout); the exit code of the module docstring, with its
    one line on stderr."""
    import collections
    import json
    import pathlib

    from sampler._run_rows import read_rows

    print(
        json.dumps(
            {
                k: (str(v) if isinstance(v, pathlib.Path) else v)
                for k, v in summary._asdict().items()
            }
        )
    )
    if summary.packing is not None:
        pack = summary.packing
        print(
            f"packing: {pack['calls']} calls of up to {pack['batch_size']} copies, "
            f"{pack['copies']} copies, fill {pack['fill']:.2f}",
            file=sys.stderr,
        )
    ids = {x.id for x in inputs}
    last = {
        r["id"]: r
        for r in read_rows(summary.out)
        if r["config_hash"] == summary.config_hash and r["id"] in ids
    }
    failed = [r for r in last.values() if r["status"] != "ok"]
    ran = summary.ok + summary.errors
    if not failed:
        if ran == 0:
            print(f"nothing to do: all {len(ids)} inputs already have rows", file=sys.stderr)
        return 0
    errors = [r.get("error") or {} for r in failed]
    kind, count = collections.Counter(str(e.get("type")) for e in errors).most_common(1)[0]
    example = collections.Counter(
        str(e.get("message")) for e in errors if str(e.get("type")) == kind
    ).most_common(1)[0][0]
    print(
        f"collect: {len(failed)} of {len(ids)} inputs failed (error rows in {summary.out}; "
        f"--retry-errors runs them again); most common: {kind} ({count} of {len(failed)}), "
        f"e.g. {_one_line(example)}",
        file=sys.stderr,
    )
    none_ok = summary.ok == 0 and (ran > 0 or len(failed) == len(ids))
    return 4 if none_ok else 3
