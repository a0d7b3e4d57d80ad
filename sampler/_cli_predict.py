"""``python -m sampler predict``: the smoothed VLM's answer to one image, or abstain.

Runs :func:`sampler.predict.predict` (Cohen, Rosenfeld & Kolter 2019, Sec. 3.2, PREDICT)
on one image and prompt: ``--n`` noisy copies at ``--sigma``, labelled by ``--oracle``,
and the most voted class unless the binomial test at ``--alpha`` cannot separate it from
the runner-up. It prints the class, the p-value and a representative answer (the first
copy labelled with the returned class), or with ``--json`` the fields of
:meth:`sampler.predict.PredictResult.summary` and the command's settings as one JSON
object.

The option types and the oracles are those of ``python -m sampler collect``
(:mod:`sampler._cli_collect_parser`, :func:`sampler._cli_collect._make_oracle`), less the
semantic clusterers, whose classes come from the sample itself. Every argument and file
is checked before torch and the model are loaded: a mistake exits 2 with one line
``python -m sampler predict: error: ...`` naming the option. Exit 0 otherwise, whether the
call predicts or abstains.
"""

from __future__ import annotations

import argparse
import math
import pathlib

from sampler._cli_collect_checks import read_prompt
from sampler._cli_collect_parser import _float_in, _int_at_least, _seed, add_decoding_options
from sampler._cli_exit import Refused, refusing, run_command

__all__ = ["PREDICT_ORACLES", "add_predict"]

PROG = "python -m sampler predict"

#: The oracles of ``predict``: those of ``collect`` whose classes are fixed in advance.
PREDICT_ORACLES = ("refusal", "actions", "llm-judge")


def add_predict(sub) -> None:
    p = sub.add_parser(
        "predict",
        help="the smoothed VLM's answer to one image (Cohen et al.'s PREDICT), or abstain",
        description=(
            "Draw --n noisy copies of one image, label the VLM's answers with --oracle and\n"
            "return the most voted class if the two-sided binomial test of its votes against\n"
            "the runner-up's has p-value <= --alpha, else abstain (sampler.predict.predict).\n"
            "Arguments and files are checked before the model is loaded (exit 2)."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    req = p.add_argument_group("required")
    req.add_argument("--model", required=True, metavar="DIR_OR_ID", help="VLM directory or hub id")
    req.add_argument("--image", required=True, metavar="PATH", help="the image file")
    req.add_argument("--n", required=True, type=_int_at_least(1), help="noisy copies (>= 1)")
    req.add_argument(
        "--sigma",
        required=True,
        type=_float_in(0, math.inf, lo_open=True, hi_open=True),
        help="noise standard deviation in [0, 1]-pixel units (> 0)",
    )
    req.add_argument("--oracle", required=True, choices=PREDICT_ORACLES, help="texts -> classes")
    req.add_argument("--seed", required=True, type=_seed, help="seed, in [0, 2**63)")
    p.add_argument("--prompt", help="the question (default: none; see --prompt-file)")
    p.add_argument("--prompt-file", metavar="FILE", help="file holding the question")
    p.add_argument(
        "--alpha",
        type=_float_in(0, 1, lo_open=True, hi_open=True),
        default=0.001,
        help="level of the test in (0, 1) (default 0.001)",
    )
    p.add_argument(
        "--batch-size", type=_int_at_least(1), default=32, help="copies per call (default 32)"
    )
    add_decoding_options(p)
    p.add_argument("--oracle-model", metavar="PATH", help="model of --oracle llm-judge")
    p.add_argument("--device", default="auto", help="auto (default), cpu, cuda, cuda:N")
    p.add_argument(
        "--dtype",
        default="auto",
        choices=("auto", "float32", "bfloat16", "float16"),
        help="model dtype (default auto)",
    )
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    p.add_argument("--quiet", action="store_true", help="no weight-loading bar")
    p.set_defaults(run=_run_predict)


def _run_predict(args: argparse.Namespace) -> int:
    return run_command(PROG, _predict, args)


def _checked_files(args) -> tuple[bytes, str | None]:
    """The image's bytes and the prompt, every file and option checked (no torch)."""
    from sampler._cli_collect_checks import _check_oracle
    from sampler._model_identity import resolve_model

    prompt = read_prompt(args)
    with refusing():
        _check_oracle(args)
    if args.oracle_model is not None and args.oracle != "llm-judge":
        raise Refused("--oracle-model applies to --oracle llm-judge only")
    if not args.sample and (args.temperature != 1.0 or args.top_p != 1.0):
        raise Refused("--temperature and --top-p apply to --sample only")
    with refusing(f"--image: cannot read {args.image}: ", catch=(OSError,)):
        data = pathlib.Path(args.image).read_bytes()
    import PIL.Image

    try:
        import io

        with PIL.Image.open(io.BytesIO(data)) as img:
            img.verify()
    except (OSError, PIL.UnidentifiedImageError) as err:
        raise Refused(
            f"--image: {args.image} is not an image that Pillow reads ({type(err).__name__})"
        ) from None
    with refusing("--model: "):
        resolve_model(args.model)
    return data, prompt


def _predict(args: argparse.Namespace) -> int:
    import json

    data, prompt = _checked_files(args)
    # torch from here on: every argument and file is checked.
    from sampler._cli_collect import _loading_bar
    from sampler._cli_collect_checks import _make_oracle
    from sampler._config import CertifyConfig
    from sampler._datasets import load_image
    from sampler._models import DecodingConfig
    from sampler._models_vlm import VLM
    from sampler._predict import predict
    from sampler._validation import resolve_device

    with refusing("--device: "):
        device = resolve_device(args.device)
    with refusing(f"--oracle {args.oracle}: ", catch=(OSError, ValueError)):
        oracle = _make_oracle(args, device)
    decoding = DecodingConfig(
        do_sample=args.sample,
        max_new_tokens=args.max_new_tokens,
        temperature=args.temperature,
        top_p=args.top_p,
    )
    config = CertifyConfig(
        n0=1,  # unused by predict
        n=args.n,
        sigma=args.sigma,
        alpha=args.alpha,
        seed=args.seed,
        batch_size=args.batch_size,
        decoding=decoding,
    )
    with (
        refusing(f"--model: cannot load {args.model!r}: ", catch=(OSError, ValueError)),
        _loading_bar(not args.quiet),
    ):
        model = VLM.from_pretrained(args.model, device=device, dtype=args.dtype)
    res = predict(model, load_image(data), prompt, config=config, oracle=oracle)
    if args.json:
        settings = {
            "image": str(args.image),
            "prompt": prompt,
            "oracle": args.oracle,
            "sigma": args.sigma,
            "seed": args.seed,
            "batch_size": args.batch_size,
        }
        print(json.dumps({**res.summary(), **settings}))
        return 0
    votes = zip(res.class_names, res.counts.tolist(), strict=True)
    counts = ", ".join(f"{name}: {c}" for name, c in votes)
    if res.abstain:
        print(f"abstain (p-value {res.p_value:.3g} > alpha {res.alpha:g}; votes {counts})")
    else:
        name = res.class_names[res.top_class]
        print(f"class {name} (p-value {res.p_value:.3g} <= alpha {res.alpha:g}; votes {counts})")
        print(f"answer: {res.answer}")
    return 0
