"""Cross-input batching: batch fill and samples/s of packed campaigns against the per-input loop.

    python bench/bench_packing.py                      # tiny LLaVA + EfficientNet-Lite0, minutes
    python bench/bench_packing.py --quick              # smoke test
    python bench/bench_packing.py --models tiny-llava --in-flight 2 4 8 16 --device cuda

For each model and each rule (a fixed ``n`` that ``--batch-size`` does not divide, and the
sequential rule of :class:`sampler.certify.SequentialRule`), ``--inputs`` synthetic images
are certified by the per-input loop of a campaign (:func:`sampler._campaign.certify_row`
one input after another) and by :func:`sampler._packing.certify_packed` with each
``--in-flight``. Every model call is counted (``predict_many``, which ``predict`` calls):
``fill`` is copies per call over ``batch_size``; ``samples/s`` is the copies of all inputs
over the wall time (the least of ``--repeats`` runs, after a warm-up); ``speedup`` is the
loop's time over this one, in the same run; ``1/calls`` is the loop's number of calls over
this one's, the speedup where a call takes as long whatever its fill (a device that is not
yet saturated at ``batch_size``); ``rows`` says whether the rows (labels, counts, radii:
everything but the timings) equal the loop's.

Models: the tiny random LLaVA 1.5 of :func:`sampler.tiny.build_tiny_llava` (a stub oracle
maps each answer to ``len(first word) mod 3``) and, when its packages are installed,
EfficientNet-Lite0 (:func:`sampler.real_models.efficientnet_lite0_classifier`, 224 x 224).
On a CPU a forward pass costs about the same per copy at any batch size, so packing mostly
shows in ``fill`` and the number of calls; the time it saves is that of a device that runs
a part-empty batch as slowly as a full one (a GPU).
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sampler._campaign import certify_row, make_job
from sampler._packing import certify_packed
from sampler.certify import CertifyConfig, SequentialRule
from sampler.models import VLM, DecodingConfig
from sampler.run import Input

HEADER = (
    f"{'model':<12} {'rule':<10} {'mode':<10} {'calls':>6} {'copies':>7} {'fill':>6} "
    f"{'seconds':>8} {'samples/s':>10} {'speedup':>8} {'1/calls':>6} {'rows':>5}"
)


class FirstWord:
    """A stub oracle: class = length of the first word mod 3."""

    labels = ("zero", "one", "two")
    num_classes = 3

    def __call__(self, texts):
        return torch.tensor([len((t.split() or [""])[0]) % 3 for t in texts], dtype=torch.int64)


class Counter:
    """Counts the calls and copies of ``model.predict_many`` (an instance attribute)."""

    def __init__(self, model):
        self.calls = self.copies = 0
        inner = model.predict_many

        def counted(prepared_list, pixels_list, **kw):
            self.calls += 1
            self.copies += sum(int(p.shape[0]) for p in pixels_list)
            return inner(prepared_list, pixels_list, **kw)

        model.predict_many = counted

    def reset(self):
        self.calls = self.copies = 0


def _images(folder: Path, count: int, size: int, prompt) -> list[Input]:
    out = []
    for i in range(count):
        rng = np.random.default_rng(i)
        # Smooth images of varied contrast: answers that vary between inputs.
        base = rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)
        img = Image.fromarray(base).resize((size, size), Image.BILINEAR)
        path = folder / f"{i}.png"
        img.save(path)
        out.append(Input(str(i), path, prompt))
    return out


def _strip(rows):
    return {r["id"]: {k: v for k, v in r.items() if k != "timings"} for r in rows}


def _timed(fn, repeats):
    """``fn()``'s result and its least wall time over ``repeats`` runs (the least disturbed)."""
    best, out = float("inf"), None
    for _ in range(repeats):
        t = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t)
        out = result if out is None else out
    return out, best


def _bench(name, model, inputs, job, in_flights, rule_name, repeats) -> list[dict]:
    """Print and return one result per mode: the loop, then ``certify_packed`` per in-flight."""
    counter = Counter(model)
    certify_row(model, inputs[0], job)  # warm-up: the first calls of a model are slow
    certify_packed(model, inputs[:2], job, write=lambda row: None, in_flight=2)
    counter.reset()
    want, loop_s = _timed(lambda: _strip([certify_row(model, inp, job) for inp in inputs]), 1)
    loop_calls, loop_copies = counter.calls, counter.copies
    if repeats > 1:
        loop_s = min(
            loop_s, _timed(lambda: [certify_row(model, i, job) for i in inputs], repeats - 1)[1]
        )
    bad = [r["error"] for r in want.values() if r["status"] != "ok"]
    if bad:
        print(f"  error rows in the loop: {bad[:2]}")
    samples = sum(r["n0"] + r["n"] for r in want.values() if r["status"] == "ok")
    bs = job.certify_config.batch_size
    results = []

    def line(mode, in_flight, calls, copies, seconds, same):
        fill = copies / (calls * bs) if calls else 0.0
        print(
            f"{name:<12} {rule_name:<10} {mode:<10} {calls:>6d} {copies:>7d} {fill:>6.3f} "
            f"{seconds:>8.2f} {samples / seconds:>10.1f} {loop_s / seconds:>8.2f} "
            f"{loop_calls / calls:>6.2f} {same:>5}",
            flush=True,
        )
        results.append(
            dict(
                model=name,
                rule=rule_name,
                batch_size=bs,
                in_flight=in_flight,
                calls=calls,
                copies=copies,
                fill=fill,
                seconds=seconds,
                samples_per_s=samples / seconds,
                speedup=loop_s / seconds,
                calls_ratio=loop_calls / calls,
                rows_equal=None if same == "-" else same == "True",
            )
        )

    line("loop", 1, loop_calls, loop_copies, loop_s, "-")
    for m in in_flights:

        def packed(m=m):
            rows = []
            counter.reset()
            stats = certify_packed(model, inputs, job, write=rows.append, in_flight=m)
            assert stats.calls == counter.calls and stats.copies == counter.copies
            return rows, stats

        (rows, stats), seconds = _timed(packed, repeats)
        line(f"packed {m}", m, stats.calls, stats.copies, seconds, str(_strip(rows) == want))
    del model.predict_many  # the class's method again
    return results


def gpu_check_rows(*, device: str, dtype: str = "bfloat16", quick: bool = False) -> list[dict]:
    """The packing section of ``bench/gpu_check.py``: the tiny LLaVA on ``device`` in ``dtype``.

    A fixed-``n`` campaign (``n0 = 10``, ``n = 50``, sigma 0.25) of synthetic images, at
    batch sizes 8, 32 and 128 (8 with ``quick``), by the per-input loop (in-flight 1) and
    by :func:`sampler._packing.certify_packed` with in-flight 2, 4 and 8 (2 and 4 with
    ``quick``); one timed run each after a warm-up.

    Returns:
      one dict per (batch size, in-flight): ``model``, ``rule``, ``batch_size``,
      ``in_flight``, ``calls``, ``copies``, ``fill`` (copies per call over
      ``batch_size``), ``seconds``, ``samples_per_s``, ``speedup`` (the loop's time over
      this one), ``calls_ratio`` (the loop's calls over these), ``rows_equal`` (None for
      the loop), plus ``device`` and ``dtype``.
    """
    from sampler.tiny import build_tiny_llava

    batch_sizes, in_flights, count = ((8,), [2, 4], 8) if quick else ((8, 32, 128), [2, 4, 8], 32)
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        path = build_tiny_llava(tmp / "llava", version="1.5", seed=0)
        vlm = VLM.from_pretrained(
            path, device=device, dtype=dtype, decoding=DecodingConfig(max_new_tokens=4)
        )
        (tmp / "a").mkdir()
        inputs = _images(tmp / "a", count, 32, "what is in the picture?")
        print(HEADER)
        for bs in batch_sizes:
            cfg = CertifyConfig(n0=10, n=50, sigma=0.25, alpha=0.001, seed=0, batch_size=bs)
            job = make_job(
                vlm, config=cfg, oracle=FirstWord(), oracle_name="bench", model_name="tiny-llava"
            )
            rows = _bench("tiny-llava", vlm, inputs, job, in_flights, "fixed", 1)
            out += [{**r, "device": device, "dtype": dtype} for r in rows]
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small smoke-test sizes")
    parser.add_argument(
        "--models", nargs="+", default=["tiny-llava", "efficientnet"], help="which models"
    )
    parser.add_argument("--inputs", type=int, default=32)
    parser.add_argument("--n0", type=int, default=10)
    parser.add_argument("--n", type=int, default=50, help="fixed n (not a multiple of batch)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--in-flight", type=int, nargs="+", default=[2, 4, 8])
    parser.add_argument("--sigma", type=float, default=0.25)
    parser.add_argument("--radius", type=float, default=0.1, help="sequential target radius")
    parser.add_argument("--n-max", type=int, default=256, help="sequential n_max")
    parser.add_argument("--max-new-tokens", type=int, default=4)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs (the least kept)")
    args = parser.parse_args(argv)
    if args.quick:
        args.inputs, args.n, args.n_max, args.in_flight, args.repeats = 8, 20, 64, [2, 4], 1
    torch.set_num_threads(args.threads)
    print(
        f"python {platform.python_version()}, torch {torch.__version__}, device {args.device}, "
        f"{args.threads} CPU threads; {args.inputs} inputs, n0 {args.n0}, n {args.n}, "
        f"batch_size {args.batch_size}, sigma {args.sigma}; sequential: radius "
        f"{args.radius}, n_max {args.n_max}, looks every batch"
    )
    rules = {
        "fixed": dict(n0=args.n0, n=args.n),
        "sequential": dict(
            n0=args.n0, sequential=SequentialRule(radius=args.radius, n_max=args.n_max)
        ),
    }
    common = dict(sigma=args.sigma, alpha=0.001, seed=0, batch_size=args.batch_size)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        models = []
        if "tiny-llava" in args.models:
            from sampler.tiny import build_tiny_llava

            path = build_tiny_llava(tmp / "llava", version="1.5", seed=0)
            vlm = VLM.from_pretrained(
                path,
                device=args.device,
                decoding=DecodingConfig(max_new_tokens=args.max_new_tokens),
            )
            (tmp / "a").mkdir()
            models.append(
                (
                    "tiny-llava",
                    vlm,
                    FirstWord(),
                    _images(tmp / "a", args.inputs, 32, "what is in the picture?"),
                )
            )
        if "efficientnet" in args.models:
            try:
                from sampler.real_models import efficientnet_lite0_classifier

                clf = efficientnet_lite0_classifier(device=args.device)
            except ImportError as err:
                print(f"EfficientNet-Lite0 not available ({err}): skipped")
            else:
                (tmp / "b").mkdir()
                models.append(
                    ("effnet-lite0", clf, None, _images(tmp / "b", args.inputs, 224, None))
                )
        print(HEADER)
        for name, model, oracle, inputs in models:
            for rule_name, rule in rules.items():
                cfg = CertifyConfig(**common, **rule)
                job = make_job(
                    model, config=cfg, oracle=oracle, oracle_name="bench", model_name=name
                )
                _bench(name, model, inputs, job, args.in_flight, rule_name, args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
