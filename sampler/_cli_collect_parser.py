"""The parser of ``python -m sampler collect``: its options, their argparse types and its
exit codes (:data:`EXIT_CODES`, shown by ``collect --help``). What the command does is in
:mod:`sampler._cli_collect`, whose docstring says what each exit code means."""

from __future__ import annotations

import argparse
import math

from sampler._cli_collect import _run_collect
from sampler._cli_collect_checks import check_rule_args  # its checks live there

__all__ = ["EXIT_CODES", "ORACLES", "add_collect", "add_decoding_options", "check_rule_args"]

EXIT_CODES = """\
exit codes:
  0    every input has an ok row (also a resume with nothing left to do)
  1    an unexpected error (a bug: a traceback)
  2    bad arguments or files (the message names the option); nothing run
  3    partial failure: some inputs have error rows (--retry-errors runs them again)
  4    every input this run certified failed: nothing produced
  130  interrupted: the rows so far are kept; run the same command again to resume"""

ORACLES = ("refusal", "actions", "llm-judge", "cluster-embedding", "cluster-entailment")


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


def _optional_count(group, flag: str, help: str) -> None:
    """An option ``flag`` taking an int ``>= 1``, default None (not given)."""
    group.add_argument(flag, type=_int_at_least(1), default=None, help=help)


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


def _device_map(text: str):
    """``--device-map``: a JSON dict (text starting with ``{``), a strategy of accelerate, or
    one device for the whole model (``{"": text}``); checked by
    :func:`sampler._validation.check_device_map` when the command runs."""
    import json

    text = text.strip()
    if text.startswith("{"):
        try:
            value = json.loads(text)
        except json.JSONDecodeError as err:
            raise argparse.ArgumentTypeError(f"not a JSON dict: {err}") from None
        if not isinstance(value, dict):
            raise argparse.ArgumentTypeError(f"not a JSON dict: {text!r}")
        return value
    from sampler._validation import DEVICE_MAP_STRATEGIES

    if text in DEVICE_MAP_STRATEGIES:
        return text
    return {"": text}


def add_decoding_options(parser) -> None:
    """The decoding options of ``collect`` and ``predict``: ``--max-new-tokens``,
    ``--sample`` / ``--greedy`` (default greedy), ``--temperature`` and ``--top-p``; they
    make the :class:`sampler.models.DecodingConfig` of the command."""
    parser.add_argument(
        "--max-new-tokens", type=_int_at_least(1), default=32, help="tokens per answer (default 32)"
    )
    dec = parser.add_mutually_exclusive_group()
    dec.add_argument(
        "--sample", dest="sample", action="store_true", help="sampled decoding (seeded from --seed)"
    )
    dec.add_argument(
        "--greedy", dest="sample", action="store_false", help="greedy decoding (default)"
    )
    parser.set_defaults(sample=False)
    parser.add_argument(
        "--temperature",
        type=_float_in(0, math.inf, lo_open=True, hi_open=True),
        default=1.0,
        help="sampling temperature (> 0, default 1)",
    )
    parser.add_argument(
        "--top-p",
        type=_float_in(0, 1, lo_open=True, hi_open=False),
        default=1.0,
        help="nucleus mass in (0, 1] (default 1)",
    )


def add_collect(sub) -> None:
    p = sub.add_parser(
        "collect",
        help="certify every input of a dataset and write one JSONL row per input (resumable)",
        description=(
            "Run sampler.certify.certify over a dataset (a folder of images, a JSONL of\n"
            "{id, image, prompt}, or MM-SafetyBench's layout), or with --mode predict\n"
            "sampler.predict.predict, and append one row per input to --out as it goes.\n"
            "Running the same command again resumes: inputs that already have a row for\n"
            "this configuration are skipped. See sampler.run for the rows. Arguments and\n"
            "files are checked before the model is loaded."
        ),
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
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
    req.add_argument(
        "--sigma",
        required=True,
        type=_float_in(0, math.inf, lo_open=True, hi_open=True),
        help="noise standard deviation in [0, 1]-pixel units (> 0)",
    )
    req.add_argument("--oracle", required=True, choices=ORACLES, help="texts -> classes")
    req.add_argument("--seed", required=True, type=_seed, help="campaign seed, in [0, 2**63)")
    p.add_argument(
        "--mode",
        choices=("certify", "predict"),
        default="certify",
        help="certify: a certified radius per input (default); predict: the smoothed class or "
        "abstain per input (Cohen et al.'s PREDICT, sampler.predict.predict; no --n0)",
    )
    _optional_count(p, "--n0", "selection samples (>= 1); required unless --mode predict")
    _optional_count(
        p,
        "--n",
        "estimation samples (>= 1); required without --sequential (with it, the default of "
        "--n-max)",
    )
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
    add_decoding_options(p)
    p.add_argument(
        "--early-stop",
        action="store_true",
        help="stop decoding each copy once the oracle declares its label final (the same "
        "labels, fewer tokens; --oracle refusal or actions only)",
    )
    p.add_argument("--keep-texts", action="store_true", help="store the answers in the rows")
    p.add_argument("--device", default="auto", help="auto (default), cpu, cuda, cuda:N")
    p.add_argument(
        "--device-map",
        type=_device_map,
        default=None,
        metavar="MAP",
        help="shard the model over devices with accelerate: auto, balanced, balanced_low_0, "
        "sequential, one device (cpu, cuda:1) for the whole model, or a JSON dict from "
        "module names to devices; needs --device auto",
    )
    p.add_argument(
        "--dtype",
        default="auto",
        choices=("auto", "float32", "bfloat16", "float16"),
        help="model dtype (default auto: bf16/fp16 on GPU, float32 on CPU)",
    )
    _optional_count(p, "--limit", "only the first LIMIT inputs of the dataset (>= 1)")
    p.add_argument(
        "--in-flight",
        type=_int_at_least(1),
        default=1,
        metavar="M",
        help="inputs certified at once, their noisy copies packed into shared generate calls "
        "of --batch-size (>= 1, default 1: one after another); the same rows, not part of the "
        "configuration",
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
        help="known symmetric oracle error rate in [0, (K-1)/K) for an oracle of K classes "
        "(refusal: [0, 0.5)), or 'unknown' (rstheory.certify)",
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
    seq = p.add_argument_group(
        "sequential rule (anytime-valid: stop each input as soon as its answer is clear)"
    )
    seq.add_argument(
        "--sequential",
        action="store_true",
        help="certify each input with the sequential rule at --radius instead of a fixed --n "
        "(sampler.certify.SequentialRule; no --oracle-eps)",
    )
    seq.add_argument(
        "--radius",
        type=_float_in(0, math.inf, lo_open=True, hi_open=True),
        default=None,
        help="the target radius (> 0), required with --sequential",
    )
    _optional_count(seq, "--n-max", "largest number of estimation samples (>= 1; default --n)")
    _optional_count(
        seq,
        "--look-every",
        "estimation samples between two looks, a multiple of --batch-size (default "
        "--batch-size); part of the configuration",
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
    _optional_count(
        ray, "--workers", "Ray workers (>= 1; default one per GPU of the cluster, else per CPU)"
    )
    _optional_count(
        ray,
        "--max-in-flight",
        "tasks queued on one worker at a time (>= 1, default 2); a task is one input, or "
        "--in-flight inputs packed together",
    )
    p.set_defaults(run=_run_collect)
