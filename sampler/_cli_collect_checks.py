"""The checks of ``python -m sampler collect`` that run before any model loads, and its
oracles: each turns a bad argument or file into a one-line refusal
(:class:`sampler._cli_exit.Refused`, exit 2; :mod:`sampler._cli_collect` lists what is
checked), among them the combinations
of ``--mode``, ``--n`` and the sequential options (:func:`check_rule_args`).
``python -m sampler predict`` (:mod:`sampler._cli_predict`) shares the oracles and the
prompt options."""

from __future__ import annotations

import argparse

from sampler._cli_exit import Refused, refusing

__all__ = ["check_rule_args", "read_prompt"]


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


def read_prompt(args: argparse.Namespace) -> str | None:
    """The prompt of ``--prompt`` or ``--prompt-file`` (at most one), or None; a file that
    cannot be read is refused."""
    import pathlib

    if args.prompt_file is None:
        return args.prompt
    if args.prompt is not None:
        raise Refused("give at most one of --prompt and --prompt-file")
    with refusing(f"--prompt-file: cannot read {args.prompt_file}: ", catch=(OSError,)):
        return pathlib.Path(args.prompt_file).read_text(encoding="utf-8").strip()


def _read_inputs(args, data, prompt):
    """The inputs of ``--data`` (cut to ``--limit``); refused when there are none."""
    from sampler._datasets import IMAGE_SUFFIXES, mmsb_questions_dir, read_dataset

    with refusing("--data: "):
        inputs = read_dataset(data, prompt=prompt)
    if args.limit is not None:
        inputs = inputs[: args.limit]
    if not inputs:
        if data.is_file():
            what = "the file has no lines"
        elif mmsb_questions_dir(data) is not None:
            what = "no scenario has a folder of images of its variants"
        else:
            what = f"no image files ({' '.join(IMAGE_SUFFIXES)}) in it or its subfolders"
        raise Refused(f"--data: no inputs in {data} ({what})")
    return inputs


def _check_eps(args, oracle) -> None:
    """``--oracle-eps`` against the oracle's number of classes (rstheory.certify's rule)."""
    from sampler._run_config import check_oracle_error, fixed_num_classes

    k = fixed_num_classes(oracle)
    try:
        check_oracle_error(args.oracle_eps, k, name="--oracle-eps")
    except ValueError as err:
        labels = ", ".join(map(str, getattr(oracle, "labels", ()) or ()))
        raise Refused(f"{err} (--oracle {args.oracle} has {k} classes: {labels})") from None


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


def check_rule_args(args: argparse.Namespace) -> str | None:
    """The one-line message of a combination of ``--n``, ``--oracle-eps`` and the
    sequential options that makes no sense, else None (then ``args.n_max`` is set: the
    given ``--n-max``, else ``--n``).

    ``--n0`` is required, except with ``--mode predict``, which refuses it (PREDICT has no
    selection step) and refuses too ``--sequential`` (it draws a fixed ``--n``),
    ``--oracle-eps`` (its test is of the labelled copies) and the semantic clusterers
    (their classes come from the sample itself).

    Without ``--sequential``: ``--n`` is required and ``--radius``, ``--n-max`` and
    ``--look-every`` are refused. With it: ``--radius`` is required; ``--n-max`` defaults
    to ``--n`` (the fixed ``n`` the campaign would otherwise use is its cap), and both
    given is refused (one cap, one spelling); ``--oracle-eps`` is refused (the sequential
    rule has no oracle-error correction: it would change the boundaries); ``--look-every``
    must be a multiple of ``--batch-size`` (every look but the last then ends a forward
    batch, so the draws are those of a fixed ``n``: the prefix property of
    :mod:`sampler._sequential`).
    """
    message = _check_mode(args)
    if message is not None:
        return message
    if not args.sequential:
        for flag, value in (
            ("--radius", args.radius),
            ("--n-max", args.n_max),
            ("--look-every", args.look_every),
        ):
            if value is not None:
                return f"{flag} applies to --sequential only"
        if args.n is None:
            return "--n is required (estimation samples), unless --sequential"
        return None
    if args.radius is None:
        return "--radius is required with --sequential (the target radius of the rule)"
    if args.oracle_eps is not None:
        return (
            "--oracle-eps does not apply with --sequential: the sequential rule offers no "
            "oracle-error correction (a correction changes the bound on p_A, hence the "
            "boundaries); leave it out or certify with a fixed --n"
        )
    if args.n is not None and args.n_max is not None:
        return (
            "give one of --n and --n-max with --sequential, not both: --n-max is the largest "
            "number of estimation samples and defaults to --n"
        )
    if args.n is None and args.n_max is None:
        return "--sequential needs --n-max (the largest number of estimation samples) or --n"
    if args.look_every is not None and args.look_every % args.batch_size:
        return (
            f"--look-every {args.look_every} must be a multiple of --batch-size "
            f"{args.batch_size} (every look must end a forward batch, so that the draws are "
            "those of a fixed n)"
        )
    args.n_max = args.n if args.n_max is None else args.n_max
    return None


def _check_mode(args: argparse.Namespace) -> str | None:
    """The message of an option that ``--mode`` refuses, or of a missing ``--n0``."""
    if args.mode == "certify":
        return None if args.n0 is not None else "--n0 is required, unless --mode predict"
    for flag, given in (
        ("--n0", args.n0 is not None),
        ("--sequential", args.sequential),
        ("--oracle-eps", args.oracle_eps is not None),
    ):
        if given:
            return (
                f"{flag} does not apply with --mode predict (PREDICT draws --n copies and tests "
                "their votes)"
            )
    if args.oracle.startswith("cluster-"):
        return (
            f"--mode predict needs an oracle with classes fixed in advance (refusal, actions, "
            f"llm-judge), not --oracle {args.oracle}, whose classes come from the sample"
        )
    return None
