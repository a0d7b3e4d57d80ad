"""Attacks that test certificates on real models (CPU), as a user would.

``--model efficientnet-lite0`` (default): the real EfficientNet-Lite0 on crops and mirror
images of matplotlib's ``grace_hopper.jpg`` (:func:`sampler.real_models.grace_hopper_image`),
and beyond 8 inputs on crops of scikit-learn's two photographs.
``--model trained-llava``: the small LLaVA trained on the toy task
(:func:`sampler.tiny.trained_llava`, docs/measurements/trained_model.md) on held-out
images that carry the "forbidden" mark (:func:`sampler._toy_task.toy_images`), which the
model refuses; the oracle is the refusal judge (:class:`sampler.oracles.RefusalJudge`,
0 = refusal, 1 = compliance), so a success flips the refusal into compliance. The judge
matches its phrases case-insensitively unless ``--case-sensitive``: the toy refusal is
lower-case (:data:`sampler._toy_task.REFUSAL`), so the case-sensitive judge sees only its
"unethical" and calls an answer that keeps "i'm sorry, i cannot help with that." but drops
the rest a compliance. The VLM
objective (:mod:`sampler._attack_loss`) is ``--direction away`` from the clean greedy
answer (the refusal) or ``--direction toward`` a ``--text`` (a compliant answer).
``--oracle answers`` attacks unmarked held-out images instead, with the toy task's answer
words as the classes (:func:`rsvlm._demo_trained.answer_oracle`): a success changes the
answer class (a shape or colour word) away from the certified one.

1. Certify the inputs with :func:`sampler.run.run` (``--n0``, ``--n``, ``--sigma``,
   ``--alpha``);
2. attack each certified input with L2 PGD (:func:`sampler.attack.attack_campaign`)
   against the base and the smoothed model, at budgets ``m * R`` (``--multiples``, below
   and above each input's radius) and at absolute budgets (``--eps``, the curve);
3. print the success rates below / above ``R`` with Clopper-Pearson intervals against
   the certificate's bound ``alpha + judge_alpha`` (:func:`sampler.attack.summarize`), per
   attack and per input (``per="input"``: an input broken by any budget below its ``R``,
   independent trials, bound ``alpha + m judge_alpha``),
   the certified and empirical robust accuracy per budget
   (:func:`sampler.attack.robust_curve`), and the seconds per attack of the smoothed
   attack over the base one (measured in the same run); ``--plot PATH`` draws the curve.

Numbers: docs/guides/attack.md. ``--inputs`` (default 4) scales the run; the defaults take
several minutes on two CPU cores.
"""

import argparse
import pathlib
import sys
import tempfile
import time

import numpy as np
from PIL import Image

from sampler import CertifyConfig
from sampler.attack import (
    AttackConfig,
    attack_campaign,
    certified_curve,
    format_table,
    plot_curve,
    read_attack_rows,
    robust_curve,
    summarize,
)
from sampler.real_models import efficientnet_lite0_classifier, grace_hopper_image
from sampler.run import Input, read_rows, run

#: The models this bench attacks (``--model``).
MODELS = ("efficientnet-lite0", "trained-llava")
#: Held-out seed of the toy images (the training draws its seeds from
#: ``SeedSequence([seed, step])``, never this one).
TOY_SEED = 4242


def _floats(text):
    return tuple(float(v) for v in text.split(","))


def _inputs(folder: pathlib.Path, count: int) -> pathlib.Path:
    """Crops (full, centre 448, top 448, bottom 448) of Grace Hopper's photo and their
    mirror images, as PNGs; beyond those 8, random square crops (side 150 or more,
    :func:`bench._campaign_pilot.square_rects`, seed 1) of the other photographs installed
    (:func:`bench._campaign_pilot.photos`: scikit-learn's ``china.jpg`` and
    ``flower.jpg``), taken from each in turn."""
    img = grace_hopper_image()  # (3, 600, 512)
    crops = [img, img[:, 76:524, 32:480], img[:, :448, 32:480], img[:, 152:, 32:480]]
    variants = [*crops, *(c.flip(-1) for c in crops)]
    folder.mkdir(parents=True, exist_ok=True)
    for i, x in enumerate(variants[:count]):
        rgb = (x.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
        Image.fromarray(rgb).save(folder / f"grace_{i}.png")
    extra = count - len(variants)
    if extra > 0:
        sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
        from bench._campaign_pilot import photos, square_rects

        others = photos()
        if not others:
            raise SystemExit(f"--inputs {count}: only {len(variants)} images without scikit-learn")
        rects = {name: iter(square_rects(*a.shape[:2], extra, seed=1)) for name, a in others}
        for j in range(extra):
            name, a = others[j % len(others)]
            y, x, side = next(rects[name])
            stem = pathlib.Path(name).stem
            Image.fromarray(a[y : y + side, x : x + side]).save(folder / f"{stem}_{j}.png")
    return folder


def _toy_inputs(folder: pathlib.Path, count: int, *, marked: bool = True) -> list[Input]:
    """The first ``count`` marked ("forbidden") images of a held-out toy batch (unmarked
    ones when ``marked`` is False), as PNGs, each with the question drawn for it."""
    from sampler._toy_task import toy_images, toy_questions

    pool = 8 * count + 16  # a quarter of the images carry the mark
    batch = toy_images(pool, seed=TOY_SEED)
    _, prompts = toy_questions(pool, seed=TOY_SEED)
    folder.mkdir(parents=True, exist_ok=True)
    inputs = []
    for i in np.flatnonzero(batch.forbidden.numpy() == marked)[:count]:
        rgb = (batch.images[i].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
        path = folder / f"toy_{i}.png"
        Image.fromarray(rgb).save(path)
        inputs.append(Input(f"toy_{i}", path, prompts[i]))
    return inputs


def _model(args, out: pathlib.Path):
    """``(model, inputs, oracle, certify config, title)`` of ``--model``."""
    if args.model == "efficientnet-lite0":
        cfg = CertifyConfig(
            n0=args.n0, n=args.n, sigma=args.sigma, alpha=args.alpha, seed=0, batch_size=50,
            num_classes=1000,
        )  # fmt: skip
        images = _inputs(out / "images", args.inputs)
        return efficientnet_lite0_classifier(), images, None, cfg, "EfficientNet-Lite0"
    from sampler.models import VLM, DecodingConfig
    from sampler.oracles import RefusalJudge
    from sampler.tiny import trained_llava

    vlm = VLM.from_pretrained(
        trained_llava(), device="cpu", decoding=DecodingConfig(max_new_tokens=16)
    )
    cfg = CertifyConfig(
        n0=args.n0, n=args.n, sigma=args.sigma, alpha=args.alpha, seed=0, batch_size=50,
    )  # fmt: skip
    if args.oracle == "answers":  # unmarked images: the answer word is the class
        from rsvlm._demo_trained import answer_oracle

        return (
            vlm,
            _toy_inputs(out / "images", args.inputs, marked=False),
            answer_oracle(),
            cfg,
            ("trained LLaVA (toy task, answer classes)"),
        )
    inputs = _toy_inputs(out / "images", args.inputs)
    judge = RefusalJudge(case_sensitive=args.case_sensitive)
    return vlm, inputs, judge, cfg, "trained LLaVA (toy task)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", choices=MODELS, default=MODELS[0])
    parser.add_argument("--inputs", type=int, default=4)
    parser.add_argument("--n0", type=int, default=16)
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--sigma", type=float, default=0.25)
    parser.add_argument("--alpha", type=float, default=0.01)
    parser.add_argument("--multiples", type=_floats, default=(0.5, 2.0))
    parser.add_argument("--eps", type=_floats, default=(0.25, 1.0))
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--draws", type=int, default=4)
    parser.add_argument("--judge-n", type=int, default=64)
    parser.add_argument("--direction", choices=("away", "toward"), default="away")
    parser.add_argument("--text", default=None, help="the answer forced by --direction toward")
    parser.add_argument(
        "--case-sensitive", action="store_true", help="trained-llava: GCG's case-sensitive judge"
    )
    parser.add_argument(
        "--oracle", choices=("refusal", "answers"), default="refusal",
        help="trained-llava: marked images and the refusal judge, or unmarked images and "
        "their answer words (a success changes the answer class)",
    )  # fmt: skip
    parser.add_argument("--out", type=pathlib.Path, default=None, help="folder for the rows")
    parser.add_argument("--plot", type=pathlib.Path, default=None)
    args = parser.parse_args()
    out = args.out or pathlib.Path(tempfile.mkdtemp())
    out.mkdir(parents=True, exist_ok=True)
    model, inputs, oracle, cfg, title = _model(args, out)
    t = time.perf_counter()
    run(
        model, inputs, out / "certify.jsonl", config=cfg, oracle=oracle,
        oracle_name=None if oracle is None else repr(oracle), progress=False,
        model_name=args.model,
    )  # fmt: skip
    rows = read_rows(out / "certify.jsonl")
    print(f"certify: {len(rows)} inputs in {time.perf_counter() - t:.0f} s")
    for r in rows:
        print(f"  {r['id']}: class {r['top_class']} k={r['k']}/{r['n']} radius {r['radius']:.3f}")
    attack_cfg = AttackConfig(
        eps=args.eps, radius_multiples=args.multiples, steps=args.steps, draws=args.draws,
        n=args.judge_n, alpha=args.alpha, batch_size=50, direction=args.direction,
        text=args.text,
    )  # fmt: skip
    t = time.perf_counter()
    done = attack_campaign(
        model, rows, out / "attack.jsonl", config=attack_cfg, oracle=oracle, progress=False
    )
    got = read_attack_rows(out / "attack.jsonl")
    secs = time.perf_counter() - t
    print(f"attack: {done.written} rows ({done.errors} errors) in {secs:.0f} s ({out})")
    print(format_table(summarize(got)))
    print()
    print(format_table(summarize(got, per="input")))  # independent trials: one per input
    print("\n| eps | certified accuracy | empirical (smoothed) | empirical (base) |")
    print("|---|---|---|---|")
    curve = robust_curve(got, rows)
    for p in curve:
        print(f"| {p.eps:g} | {p.certified:.2f} | {p.smoothed:.2f} | {p.base:.2f} |")
    secs = {a: [r["seconds"] for r in got if r["against"] == a] for a in ("base", "smoothed")}
    if all(secs.values()):
        ratio = np.mean(secs["smoothed"]) / np.mean(secs["base"])
        print(f"\nseconds per attack (with its judgement): base {np.mean(secs['base']):.1f}, "
              f"smoothed {np.mean(secs['smoothed']):.1f} (ratio {ratio:.1f})")  # fmt: skip
    if args.plot is not None:
        plot_curve(
            curve, args.plot, title=f"{title}, sigma={args.sigma:g}",
            certified=certified_curve(rows),
        )  # fmt: skip


if __name__ == "__main__":
    main()
