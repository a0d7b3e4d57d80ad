"""Campaigns end to end: the sequential rule against fixed n, packing on and off, and resume.

    python bench/bench_campaign.py                  # tiny LLaVA + EfficientNet-Lite0, minutes
    python bench/bench_campaign.py --quick          # smoke test, seconds
    python bench/bench_campaign.py --json campaign.json --in-flight 8 --device cuda

For each model, ``--inputs`` synthetic images (written to a temporary folder) are certified
by whole campaigns (:func:`sampler.run.run`, one JSONL row per input) under two rules:

* **fixed**: ``n0`` selection and ``n`` estimation samples per input;
* **sequential**: the anytime-valid rule of :class:`sampler.certify.SequentialRule` at the
  target radius ``R`` (looks every batch; the beta prior of its confidence sequence per
  model, see ``MODELS``; EfficientNet-Lite0's is chosen on a pilot of ``--pilot`` crops of
  other photographs, disjoint from the measured ones, by the rule of
  ``bench/_campaign_pilot.py``, and printed), whose ``n_max`` is planned from the fixed run:
  :func:`rstheory.sequential.compare_fixed` on the plug-in law of its ``k / n``
  (:meth:`rstheory.distributions.Empirical.from_counts`) gives the smallest ``n_max`` at
  which the sequential rule certifies, in expectation, at least the fixed rule's fraction
  at ``R``. When the measured sequential fraction is still below the fixed one, ``n_max`` is
  doubled and the sequential campaign run again (at most ``--retries`` times), so both
  fractions are printed and the comparison is made at a sequential fraction at least as
  large.

Each rule runs with in-flight 1 (the per-input loop of a campaign) and with in-flight
``--in-flight`` (cross-input packing, :mod:`sampler._packing`: ``run(..., in_flight=M)``;
its ``RunSummary.packing`` is checked against the counted model calls). Columns: certified
fraction at ``R``, samples per input, wall seconds per input, model calls, batch fill
(copies per call over ``batch_size``) and whether the rows (everything but the timings)
equal in-flight 1's. The ratio lines are measured in the same run: fixed over sequential
(samples, time, fill) at each in-flight, and in-flight 1 over in-flight M (time, calls,
fill) for each rule.

**Resume.** For each model of ``--resume`` (default: the tiny LLaVA) and each rule, the
campaign is run again in new files, cut, resumed, and its rows (without ``timings``)
compared with those of the uninterrupted run at the same in-flight: ``limit=k`` and then
the whole dataset (in-flight 1 and M); and a model whose ``predict_many`` raises
``KeyboardInterrupt`` after half the calls, then the same call with the model restored
(in-flight 1). ``PASS`` or ``FAIL`` is printed (``not checked`` when no model of
``--resume`` ran); the exit status is 1 on a FAIL.

Models: the tiny random LLaVA 1.5 of :func:`sampler.tiny.build_tiny_llava` with the rule
oracle of ``bench/bench_packing.py`` (class = length of the first word mod 3), and
EfficientNet-Lite0 through the classifier adapter
(:func:`sampler.real_models.efficientnet_lite0_classifier`, 224 x 224) on square crops of
matplotlib's Grace Hopper photograph (:func:`sampler.real_models.grace_hopper_image`),
skipped when its packages are missing; its prior's pilot certifies crops of
scikit-learn's sample photographs instead (none of the measured pixels). On a CPU a copy
costs about the same at any batch size, so packing shows in the calls and the fill; the
wall time it saves needs a device that runs a part-empty batch as slowly as a full one
(a GPU). Measured numbers:
``docs/measurements/performance.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._campaign_pilot import pilot_inputs, pilot_prior, square_rects
from bench.bench_packing import Counter, FirstWord, _images, _strip
from rstheory import distributions, sequential
from sampler.certify import CertifyConfig, SequentialRule
from sampler.run import Input, read_rows, run

# Per model: the fixed rule, the noise, the target radius and the sequential rule's beta
# prior of its confidence sequence (None: the rule's default; "pilot": chosen in the run
# from a pilot of other photographs, bench/_campaign_pilot.py); alpha 0.001, seed 0; the
# sequential rule looks every batch. EfficientNet-Lite0 at sigma 0.12: a fixed n of 16
# certifies radius 0.02 only on the crops with every vote (and the sequential rule, which
# pays for looking often, then needs more samples), hence n = 64.
MODELS = {
    "tiny-llava": dict(n0=10, n=500, batch_size=50, sigma=0.5, radius=0.4, size=32, prior=None),
    "effnet-lite0": dict(n0=4, n=64, batch_size=8, sigma=0.12, radius=0.02, size=64, prior="pilot"),
}
QUICK = {
    "tiny-llava": dict(n0=8, n=40, batch_size=16, sigma=0.5, radius=0.1, size=32, prior=None),
    "effnet-lite0": dict(n0=2, n=8, batch_size=4, sigma=0.12, radius=0.02, size=32, prior="pilot"),
}
ALPHA = 0.001
PROMPT = "what is in the picture?"
HEADER = (
    f"{'model':<12} {'rule':<10} {'in-flight':>9} {'n_max':>6} {'cert@R':>7} {'samples':>8} "
    f"{'s/input':>8} {'calls':>6} {'fill':>6} {'rows':>5}"
)


def campaign(model, inputs, out, cfg, *, oracle, in_flight, limit=None):
    """One campaign into ``out`` (created or resumed); its :class:`sampler.run.RunSummary`."""
    kw = dict(oracle_name="bench", model_name="bench", limit=limit, progress=False)
    return run(model, inputs, out, config=cfg, oracle=oracle, in_flight=in_flight, **kw)


def certified(row, radius) -> bool:
    """Whether an ``ok`` row certifies ``radius`` (a sequential row: its ``certified``)."""
    if row["status"] != "ok":
        return False
    if "certified" in row:
        return bool(row["certified"])
    return not row["abstained"] and (row["radius"] or 0.0) >= radius


def measure(model, inputs, folder, cfg, *, oracle, in_flight, counter, radius) -> dict:
    """Run one campaign in a new file (after a one-input warm-up); its rows and numbers."""
    warm_up = folder / f"warm-up-{len(list(folder.iterdir()))}.jsonl"
    campaign(model, inputs[:1], warm_up, cfg, oracle=oracle, in_flight=1)
    out = folder / f"{len(list(folder.iterdir()))}.jsonl"
    counter.reset()
    t = time.perf_counter()
    summary = campaign(model, inputs, out, cfg, oracle=oracle, in_flight=in_flight)
    seconds = time.perf_counter() - t
    packing = summary.packing or {"calls": counter.calls, "copies": counter.copies}
    if (packing["calls"], packing["copies"]) != (counter.calls, counter.copies):
        raise AssertionError(f"RunSummary.packing {packing} against the counted calls")
    rows = read_rows(out)
    ok = [r for r in rows if r["status"] == "ok"]
    bs = cfg.batch_size
    return dict(
        in_flight=in_flight,
        n_max=None if cfg.sequential is None else cfg.sequential.n_max,
        inputs=len(rows),
        errors=len(rows) - len(ok),
        certified_fraction=sum(certified(r, radius) for r in rows) / len(rows),
        samples_per_input=sum(r["n0"] + r["n"] for r in ok) / len(rows),
        seconds_per_input=seconds / len(rows),
        calls=counter.calls,
        copies=counter.copies,
        fill=counter.copies / (counter.calls * bs) if counter.calls else 0.0,
        out=str(out),
        rows=_strip(rows),
    )


def _print(name, rule, m, same) -> None:
    print(
        f"{name:<12} {rule:<10} {m['in_flight']:>9d} {m['n_max'] or '-':>6} "
        f"{m['certified_fraction']:>7.3f} {m['samples_per_input']:>8.1f} "
        f"{m['seconds_per_input']:>8.3f} {m['calls']:>6d} {m['fill']:>6.3f} {same:>5}",
        flush=True,
    )


@contextlib.contextmanager
def interrupted_after(model, calls):
    """``model.predict_many`` raises ``KeyboardInterrupt`` from its ``calls + 1``-th call on."""
    inner = model.predict_many
    count = [0]

    def predict_many(*args, **kw):
        count[0] += 1
        if count[0] > calls:
            raise KeyboardInterrupt
        return inner(*args, **kw)

    model.predict_many = predict_many
    try:
        yield
    finally:
        model.predict_many = inner


def resume_checks(model, inputs, folder, cfg, *, oracle, want, calls) -> dict:
    """Rows of cut and resumed campaigns against ``want[in_flight]`` (the uninterrupted
    run's rows at that in-flight): after ``limit=k`` at each in-flight, and after a
    ``KeyboardInterrupt`` from the model's ``calls + 1``-th call at in-flight 1."""
    k = max(1, len(inputs) // 3)
    checks = {}
    for m, rows in want.items():
        out = folder / f"limit-{m}-{len(list(folder.iterdir()))}.jsonl"
        campaign(model, inputs, out, cfg, oracle=oracle, in_flight=m, limit=k)
        first = len(read_rows(out))
        campaign(model, inputs, out, cfg, oracle=oracle, in_flight=m)
        checks[f"limit_in_flight_{m}"] = first == k and _strip(read_rows(out)) == rows
    out = folder / f"interrupt-{len(list(folder.iterdir()))}.jsonl"
    with interrupted_after(model, calls), contextlib.suppress(KeyboardInterrupt):
        campaign(model, inputs, out, cfg, oracle=oracle, in_flight=1)
        raise AssertionError("the wrapped model did not interrupt the campaign")
    cut = len(read_rows(out)) if out.exists() else 0
    campaign(model, inputs, out, cfg, oracle=oracle, in_flight=1)
    checks["interrupt"] = 0 < cut < len(inputs) and _strip(read_rows(out)) == want[1]
    checks["interrupt_rows_before"] = cut
    return checks


def _without_rows(res: dict) -> dict:
    return {f: {k: v for k, v in x.items() if k != "rows"} for f, x in res.items()}


def bench_model(name, model, oracle, inputs, folder, p, args, *, pilot=None) -> dict:
    """Both rules at in-flight 1 and M, the ratios and (when asked) the resume checks; with
    ``p["prior"] == "pilot"``, the prior chosen on the ``pilot`` inputs first."""
    base = CertifyConfig(
        n0=p["n0"], n=p["n"], sigma=p["sigma"], alpha=ALPHA, seed=0, batch_size=p["batch_size"]
    )
    counter = Counter(model)
    radius, m = p["radius"], args.in_flight
    look_every = p.get("look_every") or p["batch_size"]  # the sequential rule's look spacing
    chosen, prior = None, p["prior"]
    if prior == "pilot":
        chosen = pilot_prior(
            model, pilot or [], folder, base, radius=radius, batch_size=look_every, in_flight=m
        )
        prior = None if chosen["prior"] is None else tuple(chosen["prior"])
    print(HEADER)

    def go(cfg, in_flight, rule, want=None):
        res = measure(
            model, inputs, folder, cfg, oracle=oracle, in_flight=in_flight, counter=counter,
            radius=radius,
        )  # fmt: skip
        if want is not None:
            res["rows_equal"] = res["rows"] == want
        _print(name, rule, res, "-" if want is None else str(res["rows_equal"]))
        return res

    fixed = {1: go(base, 1, "fixed")}
    fixed[m] = go(base, m, "fixed", fixed[1]["rows"])
    ks = [r["k"] for r in fixed[1]["rows"].values() if r["status"] == "ok"]
    plan = sequential.compare_fixed(
        distributions.Empirical.from_counts(ks, p["n"]),
        radius=radius,
        sigma=p["sigma"],
        alpha=ALPHA,
        batch_size=look_every,
        n=p["n"],
        prior=prior,
    )
    n_max = plan.n_max
    for _ in range(args.retries + 1):
        rule = SequentialRule(
            radius=radius, n_max=n_max, prior=prior, look_every=p.get("look_every")
        )
        seq_cfg = base.replace(n=None, sequential=rule)
        seq = {1: go(seq_cfg, 1, "sequential")}
        if seq[1]["certified_fraction"] >= fixed[1]["certified_fraction"]:
            break
        print(f"  {name}: sequential n_max {n_max} certifies less than fixed n: doubled")
        n_max *= 2
    seq[m] = go(seq_cfg, m, "sequential", seq[1]["rows"])
    ratios = {}
    for f in (1, m):
        a, b = fixed[f], seq[f]
        ratios[f"fixed/sequential in-flight {f}"] = dict(
            samples=a["samples_per_input"] / b["samples_per_input"],
            time=a["seconds_per_input"] / b["seconds_per_input"],
            fill=a["fill"] / b["fill"],
        )
    for rule, res in (("fixed", fixed), ("sequential", seq)):
        ratios[f"{rule} in-flight 1/{m}"] = dict(
            time=res[1]["seconds_per_input"] / res[m]["seconds_per_input"],
            calls=res[1]["calls"] / res[m]["calls"],
            fill=res[1]["fill"] / res[m]["fill"],
        )
    for key, r in ratios.items():
        print(f"ratio {name} {key}: " + ", ".join(f"{k} {v:.2f}x" for k, v in r.items()))
    resume = {}
    for rule, cfg, res in (("fixed", base, fixed), ("sequential", seq_cfg, seq)):
        if name not in args.resume:
            break
        want = {f: res[f]["rows"] for f in (1, m)}
        calls = max(1, res[1]["calls"] // 2)
        resume[rule] = resume_checks(
            model, inputs, folder, cfg, oracle=oracle, want=want, calls=calls
        )
        print(f"resume {name} {rule}: {resume[rule]}")
    del model.predict_many  # the class's method again
    return dict(
        params=p,
        alpha=ALPHA,
        prior=None if prior is None else list(prior),
        pilot=chosen,
        planned=dict(
            n_max=plan.n_max, matched=bool(plan.matched), expected_samples=plan.expected_samples
        ),
        fixed=_without_rows(fixed),
        sequential=_without_rows(seq),
        matched=seq[1]["certified_fraction"] >= fixed[1]["certified_fraction"],
        ratios=ratios,
        resume=resume,
        resume_pass=None  # not checked
        if not resume
        else all(v for c in resume.values() for k, v in c.items() if k != "interrupt_rows_before"),
    )


def _crops(folder: Path, count: int, pilot: int):
    """Square crops (side 150 to 511 pixels, random place) of matplotlib's Grace Hopper photo:
    real images whose smoothed top class is more or less stable; synthetic ones without it.
    With the ``pilot`` inputs (:func:`bench._campaign_pilot.pilot_inputs`, disjoint from
    those) and the line saying where they come from."""
    try:
        from sampler.real_models import grace_hopper_image

        image = (grace_hopper_image() * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
    except ImportError:
        return _images(folder, count, 64, None), *pilot_inputs(folder, pilot, [], None)
    rects = square_rects(*image.shape[:2], count, seed=0)
    out = []
    for i, (y, x, side) in enumerate(rects):
        path = folder / f"{i}.png"
        Image.fromarray(image[y : y + side, x : x + side]).save(path)
        out.append(Input(str(i), path, None))
    return out, *pilot_inputs(folder, pilot, rects, image)


def load_models(names, tmp: Path, args):
    """``(name, model, oracle)`` of each available model of ``names``."""
    out = []
    if "tiny-llava" in names:
        from sampler.models import VLM, DecodingConfig
        from sampler.tiny import build_tiny_llava

        path = build_tiny_llava(tmp / "llava", version="1.5", seed=0)
        decoding = DecodingConfig(max_new_tokens=args.max_new_tokens)
        vlm = VLM.from_pretrained(path, device=args.device, dtype=args.dtype, decoding=decoding)
        out.append(("tiny-llava", vlm, FirstWord()))
    if "effnet-lite0" in names:
        try:
            from sampler.real_models import efficientnet_lite0_classifier

            out.append(("effnet-lite0", efficientnet_lite0_classifier(device=args.device), None))
        except ImportError as err:
            print(f"EfficientNet-Lite0 not available ({err}): skipped")
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small smoke-test sizes")
    parser.add_argument(
        "--models", nargs="+", choices=list(MODELS), help="default: both (quick: tiny-llava)"
    )
    parser.add_argument("--inputs", type=int, default=None, help="default 32 (quick: 6)")
    parser.add_argument(
        "--pilot", type=int, default=None, help="pilot crops of the prior (default 16, quick 4)"
    )
    parser.add_argument("--in-flight", type=int, default=4, help="M of the packed campaigns")
    parser.add_argument("--retries", type=int, default=2, help="n_max doublings at most")
    parser.add_argument(
        "--resume",
        nargs="*",
        choices=list(MODELS),
        default=["tiny-llava"],
        help="the models whose campaigns are cut and resumed",
    )
    parser.add_argument("--max-new-tokens", type=int, default=4)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="float32", help="of the VLM")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--json", help="write the results to this file")
    args = parser.parse_args(argv)
    inputs_count = args.inputs or (6 if args.quick else 32)
    pilot_count = args.pilot or (4 if args.quick else 16)
    sizes = QUICK if args.quick else MODELS
    names = args.models or (["tiny-llava"] if args.quick else list(MODELS))
    torch.set_num_threads(args.threads)
    print(
        f"bench_campaign: python {platform.python_version()}, torch {torch.__version__}, "
        f"device {args.device}, {torch.get_num_threads()} torch threads, quick={args.quick}; "
        f"{inputs_count} inputs, in-flight 1 and {args.in_flight}, alpha {ALPHA}"
    )
    start = time.perf_counter()
    results = dict(
        quick=args.quick,
        device=args.device,
        threads=torch.get_num_threads(),
        inputs=inputs_count,
        in_flight=args.in_flight,
        models={},
    )
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for name, model, oracle in load_models(names, tmp, args):
            p = sizes[name]
            print(f"\n{name}: {p}")
            (tmp / name).mkdir()
            (tmp / f"{name}-rows").mkdir()
            pilot = None
            if oracle is None:
                inputs, pilot, source = _crops(tmp / name, inputs_count, pilot_count)
                if p["prior"] == "pilot":
                    print(f"  prior chosen on a pilot: {source}")
            else:
                inputs = _images(tmp / name, inputs_count, p["size"], PROMPT)
            results["models"][name] = bench_model(
                name, model, oracle, inputs, tmp / f"{name}-rows", p, args, pilot=pilot
            )
    checked = {k: r["resume_pass"] for k, r in results["models"].items()}
    checked = {k: v for k, v in checked.items() if v is not None}
    ok = all(checked.values())  # no model of --resume ran: nothing failed
    results["resume_pass"] = ok if checked else None
    results["wall_s"] = time.perf_counter() - start
    verdict = (
        f"{'PASS' if ok else 'FAIL'} ({', '.join(checked)})"
        if checked
        else "not checked (no model of --resume ran)"
    )
    print(f"\nresume: {verdict}; total {results['wall_s']:.1f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
