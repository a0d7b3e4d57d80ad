"""``python -m sampler``: command-line entry of the measurement side.

Subcommands (each registered by one ``_add_<name>`` function in ``_SUBCOMMANDS``; a new one,
such as ``collect``, is another such function)::

    python -m sampler build-tiny DIR [--version 1.5|1.6] [--seed S]
    python -m sampler collect --model DIR_OR_ID --data PATH --out FILE --n N --n0 N0 \
        --sigma S --oracle NAME --seed SEED [options]
    python -m sampler collect ... --backend ray [--address ADDR] [--workers N] \
        [--max-in-flight M]

``--backend ray`` spreads the inputs over Ray workers (:func:`sampler.run.run_ray`), each
loading the model once; the rows and the configuration hash are those of the local backend,
so a campaign started with one backend can be resumed with the other.

Exit codes: 0 done; 2 bad arguments (the message names the option); 130 interrupted (the
rows written so far are kept: run the same command again to resume).

The parser is built inside :func:`main`, so importing this module does nothing.
"""

from __future__ import annotations

import argparse
import json
import math
import sys


def _run_build_tiny(args: argparse.Namespace) -> int:
    from sampler._tiny import build_tiny_llava

    path = build_tiny_llava(args.dir, version=args.version, seed=args.seed)
    print(json.dumps({"path": str(path), "version": args.version, "seed": args.seed}))
    return 0


def _add_build_tiny(sub) -> None:
    p = sub.add_parser(
        "build-tiny",
        help="write a tiny random LLaVA (model, tokenizer, processor) for offline tests",
        description="Build a tiny, randomly initialised LLaVA 1.5 or 1.6 from the real "
        "transformers config classes and save it (safetensors) with save_pretrained; load it "
        "with sampler.models.VLM.from_pretrained(DIR).",
    )
    p.add_argument("dir", metavar="DIR", help="directory to write (created if missing)")
    p.add_argument("--version", choices=("1.5", "1.6"), default="1.5", help="LLaVA version")
    p.add_argument("--seed", type=int, default=0, help="weight seed (default 0)")
    p.set_defaults(run=_run_build_tiny)


# -- collect -------------------------------------------------------------------------------

_ORACLES = ("refusal", "actions", "llm-judge", "cluster-embedding", "cluster-entailment")


def _number(text: str):
    """The command-line text as an int, else a float, else itself (refused by the check)."""
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def _checked(check_name: str, **kwargs):
    """An argparse type: the text parsed by :func:`_number`, then checked by
    ``sampler._validation.<check_name>`` (imported when an argument is parsed); its
    message, without the argument's name, becomes argparse's."""

    def parse(text: str):
        from sampler import _validation

        try:
            return getattr(_validation, check_name)(_number(text), name="value", **kwargs)
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err).removeprefix("value ")) from None

    return parse


def _int_at_least(lo: int):
    return _checked("check_int", low=lo)


def _float_in(lo: float, hi: float, *, lo_open: bool, hi_open: bool):
    return _checked("check_real", low=lo, high=hi, low_open=lo_open, high_open=hi_open)


_seed = _checked("check_seed")


def _oracle_eps(text: str):
    if text == "unknown":
        return text
    try:
        return _float_in(0, 1, lo_open=False, hi_open=True)(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"must be 'unknown' or a number in [0, 1), got {text!r}"
        ) from None


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
    import importlib

    from sampler._ray_backend import VLMLoader

    # Imported by its package name so that the workers find `_make_oracle` by reference, also
    # when this file runs as `python -m sampler` (module `__main__`).
    cli = importlib.import_module("sampler.__main__")
    oracle_args = argparse.Namespace(
        oracle=args.oracle, oracle_model=args.oracle_model, cluster_threshold=args.cluster_threshold
    )
    return VLMLoader(
        args.model,
        device=args.device,
        dtype=args.dtype,
        make_oracle=functools.partial(cli._make_oracle, oracle_args),
    )


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


def _run_collect(args: argparse.Namespace) -> int:
    import pathlib

    from sampler._config import CertifyConfig
    from sampler._datasets import mmsb_questions_dir, read_dataset
    from sampler._models import DecodingConfig
    from sampler._models_vlm import VLM
    from sampler._run import ConfigMismatchError, run
    from sampler._validation import resolve_device

    def bad(message: str) -> int:
        print(f"python -m sampler collect: error: {message}", file=sys.stderr)
        return 2

    message = _check_backend(args)
    if message is not None:
        return bad(message)

    if args.parquet is not None:
        try:
            import pyarrow
            import pyarrow.parquet  # noqa: F401
        except ImportError:
            return bad("--parquet needs pyarrow, which is not installed (pip install pyarrow)")
    if args.cluster_threshold is not None and args.oracle != "cluster-embedding":
        return bad("--cluster-threshold applies to --oracle cluster-embedding only")
    prompt = args.prompt
    if args.prompt_file is not None:
        if prompt is not None:
            return bad("give at most one of --prompt and --prompt-file")
        try:
            prompt = pathlib.Path(args.prompt_file).read_text(encoding="utf-8").strip()
        except OSError as err:
            return bad(f"--prompt-file: cannot read {args.prompt_file}: {err}")
    data = pathlib.Path(args.data)
    if data.is_dir() and mmsb_questions_dir(data) is None and prompt is None:
        return bad(f"--data {data} is a folder of images: give --prompt or --prompt-file")
    try:
        inputs = read_dataset(data, prompt=prompt)
    except ValueError as err:
        return bad(f"--data: {err}")
    try:
        _check_oracle(args)
    except ValueError as err:
        return bad(str(err))
    decoding = DecodingConfig(
        do_sample=args.sample,
        max_new_tokens=args.max_new_tokens,
        temperature=args.temperature,
        top_p=args.top_p,
    )
    config = CertifyConfig(
        n0=args.n0,
        n=args.n,
        sigma=args.sigma,
        alpha=args.alpha,
        seed=args.seed,
        batch_size=args.batch_size,
        oracle_error=args.oracle_eps,
        decoding=decoding,
        keep_texts=args.keep_texts,
    )
    common = dict(
        config=config,
        oracle_name=args.oracle,
        limit=args.limit,
        allow_config_change=args.allow_config_change,
        retry_errors=args.retry_errors,
        parquet=args.parquet,
        progress=False if args.quiet else None,
        model_name=args.model,
    )
    if args.backend == "ray":
        from sampler._ray_backend import run_ray

        try:
            summary = run_ray(
                _ray_loader(args),
                inputs,
                args.out,
                workers=args.workers,
                address=args.address,
                max_in_flight=args.max_in_flight or 2,
                **common,
            )
        except ImportError as err:
            return bad(f"--backend ray: {err}")
        except ConfigMismatchError as err:
            return bad(f"--out: {err}")
        except (OSError, ValueError) as err:
            if str(err).startswith("workers "):
                return bad(f"--workers: {err}")
            cause = getattr(err, "cause", None)  # a RayTaskError: raised in a worker
            if cause is not None:
                return bad(
                    f"--model / --oracle: a worker cannot load {args.model!r}: "
                    f"{type(cause).__name__}: {cause}"
                )
            raise
        except KeyboardInterrupt:
            return _interrupted(args.out)
        return _print_summary(summary)
    try:
        device = resolve_device(args.device)
    except ValueError as err:
        return bad(f"--device: {err}")
    try:
        model = VLM.from_pretrained(args.model, device=device, dtype=args.dtype)
    except (OSError, ValueError) as err:
        return bad(f"--model: cannot load {args.model!r}: {err}")
    try:
        oracle = _make_oracle(args, device)
    except (OSError, ValueError) as err:
        return bad(f"--oracle {args.oracle}: {err}")
    try:
        summary = run(model, inputs, args.out, oracle=oracle, **common)
    except ConfigMismatchError as err:
        return bad(f"--out: {err}")
    except KeyboardInterrupt:
        return _interrupted(args.out)
    return _print_summary(summary)


def _interrupted(out) -> int:
    print(
        f"interrupted: the rows written so far are kept in {out}; run the same "
        "command again to resume",
        file=sys.stderr,
    )
    return 130


def _print_summary(summary) -> int:
    import pathlib

    print(
        json.dumps(
            {
                k: (str(v) if isinstance(v, pathlib.Path) else v)
                for k, v in summary._asdict().items()
            }
        )
    )
    return 0


def _add_collect(sub) -> None:
    p = sub.add_parser(
        "collect",
        help="certify every input of a dataset and write one JSONL row per input (resumable)",
        description="Run sampler.certify.certify over a dataset (a folder of images, a JSONL "
        "of {id, image, prompt}, or MM-SafetyBench's layout) and append one row per input to "
        "--out as it goes. Running the same command again resumes: inputs that already have a "
        "row for this configuration are skipped. See sampler.run for the rows.",
    )
    req = p.add_argument_group("required")
    req.add_argument(
        "--model",
        required=True,
        metavar="DIR_OR_ID",
        help="VLM directory or hub id (transformers, safetensors)",
    )
    req.add_argument(
        "--data",
        required=True,
        metavar="PATH",
        help="folder of images, JSONL file, or MM-SafetyBench root",
    )
    req.add_argument("--out", required=True, metavar="FILE", help="JSONL file to append rows to")
    req.add_argument("--n", required=True, type=_int_at_least(1), help="estimation samples (>= 1)")
    req.add_argument("--n0", required=True, type=_int_at_least(1), help="selection samples (>= 1)")
    req.add_argument(
        "--sigma",
        required=True,
        type=_float_in(0, math.inf, lo_open=True, hi_open=True),
        help="noise standard deviation in [0, 1]-pixel units (> 0)",
    )
    req.add_argument("--oracle", required=True, choices=_ORACLES, help="texts -> classes")
    req.add_argument("--seed", required=True, type=_seed, help="campaign seed, in [0, 2**63)")
    p.add_argument(
        "--alpha",
        type=_float_in(0, 1, lo_open=True, hi_open=True),
        default=0.001,
        help="significance level in (0, 1) (default 0.001)",
    )
    p.add_argument(
        "--batch-size",
        type=_int_at_least(1),
        default=32,
        help="noisy copies per generate call (default 32; part of the configuration)",
    )
    p.add_argument("--prompt", help="prompt for every image of a folder")
    p.add_argument("--prompt-file", metavar="FILE", help="file holding that prompt")
    p.add_argument(
        "--max-new-tokens", type=_int_at_least(1), default=32, help="tokens per answer (default 32)"
    )
    dec = p.add_mutually_exclusive_group()
    dec.add_argument(
        "--sample", dest="sample", action="store_true", help="sampled decoding (seeded from --seed)"
    )
    dec.add_argument(
        "--greedy", dest="sample", action="store_false", help="greedy decoding (default)"
    )
    p.set_defaults(sample=False)
    p.add_argument(
        "--temperature",
        type=_float_in(0, math.inf, lo_open=True, hi_open=True),
        default=1.0,
        help="sampling temperature (> 0, default 1)",
    )
    p.add_argument(
        "--top-p",
        type=_float_in(0, 1, lo_open=True, hi_open=False),
        default=1.0,
        help="nucleus mass in (0, 1] (default 1)",
    )
    p.add_argument("--keep-texts", action="store_true", help="store the answers in the rows")
    p.add_argument("--device", default="auto", help="auto (default), cpu, cuda, cuda:N")
    p.add_argument(
        "--dtype",
        default="auto",
        choices=("auto", "float32", "bfloat16", "float16"),
        help="model dtype (default auto: bf16/fp16 on GPU, float32 on CPU)",
    )
    p.add_argument(
        "--limit",
        type=_int_at_least(0),
        default=None,
        help="only the first LIMIT inputs of the dataset",
    )
    p.add_argument(
        "--parquet",
        metavar="FILE",
        default=None,
        help="also write a Parquet copy at the end (needs pyarrow)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument(
        "--oracle-model",
        metavar="PATH",
        help="model of llm-judge / cluster-embedding / cluster-entailment",
    )
    p.add_argument(
        "--oracle-eps",
        type=_oracle_eps,
        default=None,
        help="known symmetric oracle error rate, or 'unknown' (rstheory.certify)",
    )
    p.add_argument(
        "--cluster-threshold",
        type=_float_in(-1, 1, lo_open=False, hi_open=False),
        default=None,
        help="cosine threshold of cluster-embedding (default 0.9)",
    )
    p.add_argument(
        "--allow-config-change",
        action="store_true",
        help="append to a file that holds rows of another configuration",
    )
    p.add_argument(
        "--retry-errors",
        action="store_true",
        help="run the inputs with error rows again (their rows are replaced)",
    )
    ray = p.add_argument_group("scale-out (--backend ray, needs pip install .[ray])")
    ray.add_argument(
        "--backend",
        choices=("local", "ray"),
        default="local",
        help="local: this process (default); ray: Ray workers, one per GPU (or "
        "CPU), each loading the model once; same rows and configuration hash",
    )
    ray.add_argument(
        "--address",
        default=None,
        metavar="ADDR",
        help="a running Ray cluster (default: start a local one)",
    )
    ray.add_argument(
        "--workers",
        type=_int_at_least(1),
        default=None,
        help="Ray workers (>= 1; default one per GPU of the cluster, else per CPU)",
    )
    ray.add_argument(
        "--max-in-flight",
        type=_int_at_least(1),
        default=None,
        help="inputs queued on one worker at a time (>= 1, default 2)",
    )
    p.set_defaults(run=_run_collect)


# One function per subcommand; each adds its parser and sets `run`.
_SUBCOMMANDS = (_add_build_tiny, _add_collect)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m sampler",
        description="Measurement side of randomized smoothing for vision-language models.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for add in _SUBCOMMANDS:
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
