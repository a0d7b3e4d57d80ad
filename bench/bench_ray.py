"""Samples per second of a campaign on the Ray backend with 1 and 2 workers, the local backend
as reference, and the compute budget of a large campaign from the measured throughput.

    python bench/bench_ray.py            # tiny LLaVA 1.5 on CPU: 24 inputs, n0 = 4, n = 64
    python bench/bench_ray.py --quick    # smoke test: 6 inputs, n0 = 2, n = 8
    python bench/bench_ray.py --inputs 24 --n 64 --workers 1 2 4   # on a bigger machine

The model is the tiny random LLaVA of :func:`sampler.tiny.build_tiny_llava`, built into a
temporary directory; each Ray worker loads it once through :class:`sampler.run.VLMLoader`
(``device="cpu"``, one torch thread per worker), the local backend loads it in this process
(also one thread). All runs certify the same random images with the same seed, oracle
(:class:`sampler.oracles.RefusalJudge`), ``n0``, ``n`` and batch size, on one local Ray
cluster started here with as many CPUs as the largest worker count.

**Throughput** is measured in the steady state. For each row the writer writes, its
arrival time ``a`` and its compute seconds ``t`` (``timings["total"]``) are recorded, so it
started at about ``a - t`` (``time.perf_counter`` is one monotonic clock for all processes
of the machine). The warm-up rows are those that started before the first row arrived:
each worker's first input, which pays for model warm-up and the JIT compilation of the
certificate. The window runs from the last warm-up row's arrival to the last arrival; each
row counts the share of its samples (``n0 + n``) that its compute interval ``[a - t, a]``
spends inside the window, and the throughput is that work over the window's length (no
bias from rows straddling the window's start). Worker start-up
(process start, imports, model loading) is not counted; it is in each run's total wall time,
printed apart. The ratio "2 workers vs 1" is measured in the same run. On a 2-core machine
the two workers share the cores with the driver and anything else running, so the ratio
stays below 2; with one GPU per worker the workers do not share compute.

**Budget.** The 1-worker throughput is the measured throughput per device; it goes into
:func:`rstheory.planning.budget` (``samples_per_second=``) for a campaign of
``--plan-inputs`` inputs with ``--plan-n`` samples each on 1 and 2 devices.

The rows of all runs must be equal (minus timings): "rows identical: True", else the exit
status is 1.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from rstheory import planning
from sampler import CertifyConfig, _campaign
from sampler.models import VLM, DecodingConfig
from sampler.oracles import RefusalJudge
from sampler.run import VLMLoader, read_rows, run, run_ray, start_local_cluster
from sampler.tiny import build_tiny_llava

PROMPT = "what is in the picture?"


class ArrivalClock:
    """Records ``(time.perf_counter(), row["timings"]["total"])`` at each row written.

    Wraps the writer's ``write`` (the one writer of both backends) while in a ``with``.
    """

    def __init__(self):
        self.rows: list[tuple[float, float]] = []

    def __enter__(self):
        real = self._real = _campaign.Writer.write
        clock = self

        def write(writer, row):
            done = real(writer, row)
            clock.rows.append((time.perf_counter(), row["timings"]["total"]))
            return done

        _campaign.Writer.write = write
        return self

    def __exit__(self, *exc):
        _campaign.Writer.write = self._real


def steady_throughput(rows: list[tuple[float, float]], samples_per_row: int) -> float:
    """Samples per second after the warm-up rows (see the module docstring).

    Args:
      rows: ``(arrival time, compute seconds)`` of each row, in arrival order.
      samples_per_row: ``n0 + n``.

    When no row arrived after the last warm-up row (too few inputs for the warm-up skew
    between workers), the window starts at the first arrival instead; with a single row,
    its own compute time is used.

    Example:
      >>> steady_throughput([(10.0, 9.0), (11.0, 1.0), (12.0, 1.0)], 100)
      100.0
      >>> steady_throughput([(10.0, 9.0), (11.0, 1.0), (12.0, 4.0)], 100)  # half of row 3 in
      75.0
    """
    if len(rows) == 1:
        return samples_per_row / max(rows[0][1], 1e-9)
    first, end = rows[0][0], rows[-1][0]
    start = max(a for a, t in rows if a - t < first)
    if start == end:
        start = first
    work = sum(
        samples_per_row * max(0.0, min(a, end) - max(a - t, start)) / max(t, 1e-9) for a, t in rows
    )
    return work / (end - start)


def make_images(root: Path, count: int, size: int, seed: int) -> Path:
    """``count`` random RGB PNG images ``size x size`` in ``root`` (ids ``000.png``...)."""
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(count):
        pixels = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(root / f"{i:03d}.png")
    return root


def _comparable(rows):
    return sorted(
        ({k: v for k, v in r.items() if k != "timings"} for r in rows), key=lambda r: r["id"]
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, default=24, help="images in the campaign")
    parser.add_argument("--n", type=int, default=64, help="estimation samples per input")
    parser.add_argument("--n0", type=int, default=4, help="selection samples per input")
    parser.add_argument("--batch-size", type=int, default=8, help="noisy copies per batch")
    parser.add_argument("--max-new-tokens", type=int, default=4, help="greedy tokens per answer")
    parser.add_argument(
        "--workers",
        type=int,
        nargs="+",
        default=[1, 2],
        help="Ray worker counts to measure (must include 1 for the ratio)",
    )
    parser.add_argument("--sigma", type=float, default=0.25)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--plan-inputs", type=int, default=500, help="inputs of the planned run")
    parser.add_argument("--plan-n", type=int, default=1000, help="samples per planned input")
    parser.add_argument(
        "--quick", action="store_true", help="smoke test: 6 inputs, n0 = 2, n = 8, batch size 4"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.inputs, args.n, args.n0, args.batch_size, args.max_new_tokens = 6, 8, 2, 4, 2
    workers = sorted(set(args.workers))
    if min(args.inputs, args.n, args.n0, args.batch_size, args.max_new_tokens, *workers) < 1:
        parser.error(
            "--inputs, --n, --n0, --batch-size, --max-new-tokens and --workers must be >= 1"
        )
    if 1 not in workers:
        parser.error("--workers must include 1 (the reference of the ratio)")
    if args.inputs <= 2 * max(workers):
        parser.error(
            "--inputs must exceed twice the largest --workers (the first row per "
            "worker is not timed)"
        )

    import ray
    import transformers

    transformers.logging.set_verbosity_error()
    torch.set_num_threads(1)
    print("# sampler Ray backend benchmark")
    print(
        f"python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs; "
        f"torch {torch.__version__}, ray {ray.__version__}"
    )
    print(
        f"threads: torch.get_num_threads()={torch.get_num_threads()} (local backend and "
        "each worker), OMP_NUM_THREADS="
        f"{os.environ.get('OMP_NUM_THREADS', '(unset)')}"
    )
    print(f"args: {vars(args)}")
    per_row = args.n0 + args.n
    config = CertifyConfig(
        n0=args.n0,
        n=args.n,
        sigma=args.sigma,
        alpha=0.001,
        seed=args.seed,
        batch_size=args.batch_size,
    )
    kw = dict(
        config=config,
        oracle_name="refusal",
        prompt=PROMPT,
        progress=False,
    )
    decoding = DecodingConfig(max_new_tokens=args.max_new_tokens)
    results, rows = [], {}
    with tempfile.TemporaryDirectory(prefix="bench_ray_") as tmp:
        tmp = Path(tmp)
        path = build_tiny_llava(tmp / "tiny", version="1.5", seed=0)
        images = make_images(tmp / "images", args.inputs, 32, args.seed)
        print(
            f"campaign: {args.inputs} inputs x (n0 {args.n0} + n {args.n}) samples, batch "
            f"size {args.batch_size}, greedy max_new_tokens {args.max_new_tokens}, tiny "
            "LLaVA 1.5 on CPU"
        )

        vlm = VLM.from_pretrained(path, device="cpu", decoding=decoding)
        t0 = time.perf_counter()
        with ArrivalClock() as clock:
            run(vlm, images, tmp / "local.jsonl", oracle=RefusalJudge(), **kw)
        results.append(
            ("local", 1, time.perf_counter() - t0, steady_throughput(clock.rows, per_row))
        )
        rows["local"] = read_rows(tmp / "local.jsonl")

        start_local_cluster(num_cpus=max(workers), log_to_driver=False, logging_level="ERROR")
        try:
            loader = VLMLoader(path, device="cpu", decoding=decoding, oracle=RefusalJudge())
            for w in workers:
                out = tmp / f"ray{w}.jsonl"
                t0 = time.perf_counter()
                with ArrivalClock() as clock:
                    run_ray(loader, images, out, workers=w, **kw)
                results.append(
                    ("ray", w, time.perf_counter() - t0, steady_throughput(clock.rows, per_row))
                )
                rows[f"ray{w}"] = read_rows(out)
        finally:
            ray.shutdown()

    print(
        f"\n{'backend':8s} {'workers':>7s} {'wall s (with start-up)':>23s} "
        f"{'steady samples/s':>17s}"
    )
    for backend, w, wall, rate in results:
        print(f"{backend:8s} {w:7d} {wall:23.1f} {rate:17.1f}")
    rate = {(b, w): r for b, w, _, r in results}
    print()
    for w in workers[1:]:
        print(f"ratio ray {w} workers vs 1 worker: {rate['ray', w] / rate['ray', 1]:.2f}x")
    print(f"ratio ray 1 worker vs local: {rate['ray', 1] / rate['local', 1]:.2f}x")
    identical = all(_comparable(r) == _comparable(rows["local"]) for r in rows.values())
    print(f"\nrows identical: {identical}  (local and ray with {workers} workers, minus timings)")

    per_device = rate["ray", 1]
    print(
        f"\nplanner: rstheory.planning.budget(n={args.plan_n}, inputs={args.plan_inputs}, "
        f"throughput=Throughput(batch_size={args.batch_size}, "
        f"samples_per_second={per_device:.1f}, devices=D))"
    )
    for devices in (1, 2):
        hardware = planning.Throughput(
            batch_size=args.batch_size, samples_per_second=per_device, devices=devices
        )
        b = planning.budget(args.plan_n, args.plan_inputs, throughput=hardware)
        print(
            f"  devices={devices}: batches {b.batches}, device hours {b.device_hours:.2f}, "
            f"wall {b.wall_seconds / 3600:.2f} h"
        )
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
