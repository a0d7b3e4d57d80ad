"""``python -m sampler``: command-line entry of the measurement side.

Subcommands (each registered by one ``_add_<name>`` function in ``_SUBCOMMANDS``; a new one,
such as ``collect``, is another such function)::

    python -m sampler build-tiny DIR [--version 1.5|1.6] [--seed S]
    python -m sampler collect --model DIR_OR_ID --data PATH --out FILE --n N --n0 N0 \
        --sigma S --oracle NAME --seed SEED [options]

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


def _int_at_least(lo: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an int >= {lo}, got {text!r}") from None
        if value < lo:
            raise argparse.ArgumentTypeError(f"must be an int >= {lo}, got {value}")
        return value

    return parse


def _float_in(lo: float, hi: float, *, lo_open: bool, hi_open: bool):
    left, right = "(" if lo_open else "[", ")" if hi_open else "]"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = float("nan")
        ok = (value > lo if lo_open else value >= lo) and (value < hi if hi_open else value <= hi)
        if not ok:
            raise argparse.ArgumentTypeError(f"must be a number in {left}{lo}, {hi}{right}, "
                                             f"got {text!r}")
        return value

    return parse


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value < 2**63:
        raise argparse.ArgumentTypeError(f"must be an int in [0, 2**63), got {text!r}")
    return value


def _oracle_eps(text: str):
    if text == "unknown":
        return text
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be 'unknown' or a number in [0, 1), got {text!r}")
    return value


def _make_oracle(args, device):
    from sampler.oracles import ActionParser, LLMJudge, RefusalJudge, SemanticClusterer

    name = args.oracle
    if name == "refusal":
        return RefusalJudge()
    if name == "actions":
        return ActionParser()
    if args.oracle_model is None:
        raise ValueError(f"--oracle-model is required for --oracle {name}")
    if name == "llm-judge":
        return LLMJudge(args.oracle_model, device=device)
    method = name.removeprefix("cluster-")
    threshold = args.cluster_threshold if method == "embedding" else None
    return SemanticClusterer(args.oracle_model, method=method, threshold=threshold,
                             device=device)


def _run_collect(args: argparse.Namespace) -> int:
    import pathlib

    from sampler._models import DecodingConfig
    from sampler._models_vlm import VLM
    from sampler._noise import resolve_device
    from sampler._run import ConfigMismatchError, _mmsb_questions_dir, read_dataset, run

    def bad(message: str) -> int:
        print(f"python -m sampler collect: error: {message}", file=sys.stderr)
        return 2

    if args.parquet is not None:
        try:
            import pyarrow  # noqa: F401
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
    if data.is_dir() and _mmsb_questions_dir(data) is None and prompt is None:
        return bad(f"--data {data} is a folder of images: give --prompt or --prompt-file")
    try:
        inputs = read_dataset(data, prompt=prompt)
    except ValueError as err:
        return bad(f"--data: {err}")
    try:
        device = resolve_device(args.device)
    except ValueError as err:
        return bad(f"--device: {err}")
    decoding = DecodingConfig(
        do_sample=args.sample, max_new_tokens=args.max_new_tokens,
        temperature=args.temperature, top_p=args.top_p,
    )
    try:
        model = VLM.from_pretrained(args.model, device=device, dtype=args.dtype,
                                    decoding=decoding)
    except (OSError, ValueError) as err:
        return bad(f"--model: cannot load {args.model!r}: {err}")
    try:
        oracle = _make_oracle(args, device)
    except (OSError, ValueError) as err:
        return bad(f"--oracle {args.oracle}: {err}")
    try:
        summary = run(
            model, inputs, args.out, oracle=oracle, oracle_name=args.oracle, n0=args.n0,
            n=args.n, sigma=args.sigma, alpha=args.alpha, seed=args.seed,
            batch_size=args.batch_size, oracle_eps=args.oracle_eps, keep_texts=args.keep_texts,
            limit=args.limit, allow_config_change=args.allow_config_change,
            retry_errors=args.retry_errors, parquet=args.parquet,
            progress=False if args.quiet else None, model_name=args.model,
        )
    except ConfigMismatchError as err:
        return bad(f"--out: {err}")
    except KeyboardInterrupt:
        print(f"interrupted: the rows written so far are kept in {args.out}; run the same "
              "command again to resume", file=sys.stderr)
        return 130
    print(json.dumps({k: (str(v) if isinstance(v, pathlib.Path) else v)
                      for k, v in summary._asdict().items()}))
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
    req.add_argument("--model", required=True, metavar="DIR_OR_ID",
                     help="VLM directory or hub id (transformers, safetensors)")
    req.add_argument("--data", required=True, metavar="PATH",
                     help="folder of images, JSONL file, or MM-SafetyBench root")
    req.add_argument("--out", required=True, metavar="FILE", help="JSONL file to append rows to")
    req.add_argument("--n", required=True, type=_int_at_least(1), help="estimation samples (>= 1)")
    req.add_argument("--n0", required=True, type=_int_at_least(1), help="selection samples (>= 1)")
    req.add_argument("--sigma", required=True, type=_float_in(0, math.inf, lo_open=True,
                                                              hi_open=True),
                     help="noise standard deviation in [0, 1]-pixel units (> 0)")
    req.add_argument("--oracle", required=True, choices=_ORACLES, help="texts -> classes")
    req.add_argument("--seed", required=True, type=_seed, help="campaign seed, in [0, 2**63)")
    p.add_argument("--alpha", type=_float_in(0, 1, lo_open=True, hi_open=True), default=0.001,
                   help="significance level in (0, 1) (default 0.001)")
    p.add_argument("--batch-size", type=_int_at_least(1), default=32,
                   help="noisy copies per generate call (default 32; part of the configuration)")
    p.add_argument("--prompt", help="prompt for every image of a folder")
    p.add_argument("--prompt-file", metavar="FILE", help="file holding that prompt")
    p.add_argument("--max-new-tokens", type=_int_at_least(1), default=32,
                   help="tokens per answer (default 32)")
    dec = p.add_mutually_exclusive_group()
    dec.add_argument("--sample", dest="sample", action="store_true",
                     help="sampled decoding (seeded from --seed)")
    dec.add_argument("--greedy", dest="sample", action="store_false",
                     help="greedy decoding (default)")
    p.set_defaults(sample=False)
    p.add_argument("--temperature", type=_float_in(0, math.inf, lo_open=True, hi_open=True),
                   default=1.0, help="sampling temperature (> 0, default 1)")
    p.add_argument("--top-p", type=_float_in(0, 1, lo_open=True, hi_open=False), default=1.0,
                   help="nucleus mass in (0, 1] (default 1)")
    p.add_argument("--keep-texts", action="store_true", help="store the answers in the rows")
    p.add_argument("--device", default="auto", help="auto (default), cpu, cuda, cuda:N")
    p.add_argument("--dtype", default="auto", choices=("auto", "float32", "bfloat16", "float16"),
                   help="model dtype (default auto: bf16/fp16 on GPU, float32 on CPU)")
    p.add_argument("--limit", type=_int_at_least(0), default=None,
                   help="only the first LIMIT inputs of the dataset")
    p.add_argument("--parquet", metavar="FILE", default=None,
                   help="also write a Parquet copy at the end (needs pyarrow)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--oracle-model", metavar="PATH",
                   help="model of llm-judge / cluster-embedding / cluster-entailment")
    p.add_argument("--oracle-eps", type=_oracle_eps, default=None,
                   help="known symmetric oracle error rate, or 'unknown' (rstheory.certify)")
    p.add_argument("--cluster-threshold", type=_float_in(-1, 1, lo_open=False, hi_open=False),
                   default=None, help="cosine threshold of cluster-embedding (default 0.9)")
    p.add_argument("--allow-config-change", action="store_true",
                   help="append to a file that holds rows of another configuration")
    p.add_argument("--retry-errors", action="store_true",
                   help="run the inputs with error rows again (their rows are replaced)")
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
