"""Average samples needed to certify a target radius: the sequential rule against fixed n.

    python bench/bench_sequential.py                 # published data + tiny LLaVA, a few minutes
    python bench/bench_sequential.py --quick         # smoke test, well under a minute of work
    python bench/bench_sequential.py --data-dir data --radii 0.25 0.5 1.0

Two parts, both printed as one table row per setting:

(a) *published p_A* (exact, no sampling). The CIFAR-10 and ImageNet certifications of
    :mod:`rstheory.published` (sigma 0.5, alpha 0.001; ``p_i = k_i / n`` of the largest
    published run, 0 for wrongly classified inputs) define ``Pr(p_A)`` as an empirical
    distribution. For each target radius and each fixed ``n`` (``--fixed-n``, and the ``n``
    that :func:`rstheory.planning.required_samples` plans for 95 % of the infinite-sample
    certified accuracy at that radius), :func:`rstheory.sequential.compare_fixed` finds the
    smallest ``n_max`` at which the sequential rule certifies at least the fixed rule's
    fraction, and the exact ``E[samples]`` there (forward recursion over the counts). Looks
    are every 100 samples (every 1000 for ``n >= 50000``). When the data are absent a line
    says so and the part is skipped.
(b) *tiny LLaVA* (measured). The tiny random LLaVA 1.5 of :func:`sampler.tiny.build_tiny_llava`
    answers ``--images`` synthetic images (``--pilot-n`` noisy copies each, sigma
    ``--tiny-sigma``); a stub oracle maps each answer to ``len(first word) mod 3``; the
    top-class fractions ``k / n`` give an empirical ``Pr(p_A)`` for the same exact
    comparison, and on ``--runs`` of the images :func:`sampler.certify.certify` is run for
    real with a fixed ``n`` and with the sequential rule (same seeds: the sequential draws
    are a prefix of the fixed ones; images spread over the contrast range) to count the
    samples each actually used, with the wall time of each call.

Columns: ``fixed n`` and its exact certified fraction ``fixed cert``; the sequential
``n_max``, its ``E[N]`` and certified fraction ``seq cert`` (``>= fixed cert`` by
construction); ``ratio = fixed n / E[N]``. Prior: the default of
:func:`rstheory.sequential.default_prior` (``Beta(30 p*, 30 (1 - p*))``).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time

import numpy as np

import rstheory
from rstheory import distributions, planning, published, sequential
from rstheory._planning import infinite_accuracy  # the n = infinity limit the planner uses
from rstheory.bounds import betabinomial_cs

SIGMA, ALPHA = 0.5, 0.001
HEADER = (
    f"{'data':<10} {'radius':>6} {'fixed n':>8} {'fixed cert':>10} {'n_max':>8} "
    f"{'E[N]':>9} {'seq cert':>9} {'ratio':>7}"
)


def _row(name, radius, c) -> str:
    flag = "" if c.matched else "  (n_max not matched)"
    return (
        f"{name:<10} {radius:>6.2f} {c.fixed_n:>8d} {c.fixed_certified_fraction:>10.4f} "
        f"{c.n_max:>8d} {c.expected_samples:>9.1f} {c.certified_fraction:>9.4f} "
        f"{c.ratio:>6.2f}x{flag}"
    )


def _compare(dist, name, radii, fixed_ns, *, sigma, accuracy_share, batch_for):
    rows = []
    nodes, weights = dist.quadrature()
    for r in radii:
        ns = list(fixed_ns)
        acc_inf = infinite_accuracy(np.asarray(nodes), np.asarray(weights), r, sigma)
        if accuracy_share and acc_inf > 0:
            plan = planning.required_samples(
                dist,
                alpha=ALPHA,
                sigma=sigma,
                target_accuracy=accuracy_share * acc_inf,
                at_radius=r,
            )
            ns.append(int(plan.n))
        for n in sorted(set(ns)):
            t = time.perf_counter()
            c = sequential.compare_fixed(
                dist, radius=r, sigma=sigma, alpha=ALPHA, batch_size=batch_for(n), n=n
            )
            rows.append((r, n, c))
            print(_row(name, r, c) + f"   [{time.perf_counter() - t:.1f} s]", flush=True)
    return rows


def published_part(args) -> None:
    found = published.available(data_dir=args.data_dir)
    where = published.data_dir(args.data_dir)
    if not found:
        print(f"published data not found under {where}: skipping the CIFAR-10 / ImageNet part")
        return
    print(f"(a) published p_A under {where}: sigma {SIGMA}, alpha {ALPHA}, exact")
    print(HEADER)
    for dataset in sorted({d for d, _ in found}):
        n_ref = max(published.sizes(dataset, data_dir=args.data_dir))
        cert = published.load(dataset, n_ref, data_dir=args.data_dir)
        p, _ = published.reference_probabilities(cert)
        dist = distributions.Empirical(p)
        _compare(
            dist,
            dataset,
            args.radii,
            args.fixed_n,
            sigma=SIGMA,
            accuracy_share=None if args.quick else 0.95,
            batch_for=lambda n: 1000 if n >= 50_000 else 100,
        )


class FirstWordMod3:
    """Stub oracle for the random tiny model: class = length of the first word mod 3."""

    labels = ("zero", "one", "two")
    num_classes = 3

    def __call__(self, texts):
        import torch

        return torch.tensor([len((t.split() or [""])[0]) % 3 for t in texts], dtype=torch.int64)


def tiny_part(args) -> None:
    import torch

    from sampler.certify import CertifyConfig, SequentialRule, certify
    from sampler.models import VLM, DecodingConfig, sample_predictions
    from sampler.noise import noise_generator
    from sampler.tiny import build_tiny_llava

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1") or 1))
    prompt = "what is in the picture?"
    oracle = FirstWordMod3()
    with tempfile.TemporaryDirectory() as tmp:
        path = build_tiny_llava(tmp, version="1.5", seed=0)
        vlm = VLM.from_pretrained(
            path, device="cpu", decoding=DecodingConfig(max_new_tokens=args.max_new_tokens)
        )
        images = [
            torch.rand(3, 32, 32, generator=torch.Generator().manual_seed(1000 + i))
            for i in range(args.images)
        ]
        # Images of different contrast give different answer distributions.
        images = [
            0.5 + (img - 0.5) * (0.2 + 0.8 * i / max(1, args.images - 1))
            for i, img in enumerate(images)
        ]
        t = time.perf_counter()
        ks = []
        for i, img in enumerate(images):
            out = sample_predictions(
                vlm,
                img,
                prompt,
                n=args.pilot_n,
                sigma=args.tiny_sigma,
                generator=noise_generator(seed=i),
                batch_size=args.batch_size,
            )
            counts = torch.bincount(oracle(out.predictions), minlength=3)
            ks.append(int(counts.max()))
        pilot_s = time.perf_counter() - t
        p_hat = np.array(ks) / args.pilot_n
        print(
            f"\n(b) tiny LLaVA 1.5: {args.images} images x {args.pilot_n} samples in "
            f"{pilot_s:.1f} s ({args.images * args.pilot_n / pilot_s:.0f} samples/s); "
            f"sigma {args.tiny_sigma}, "
            f"alpha {ALPHA}; top-class fractions {np.round(np.sort(p_hat), 3).tolist()}"
        )
        dist = distributions.Empirical.from_counts(ks, args.pilot_n)
        print(HEADER)
        rows = _compare(
            dist,
            "tiny-llava",
            args.tiny_radii,
            args.tiny_fixed_n,
            sigma=args.tiny_sigma,
            accuracy_share=None,
            batch_for=lambda n: args.batch_size,
        )

        # Real runs: the first fixed n and radius, the n_max found for them.
        r, n_fixed, c = rows[0]
        print(
            f"\nreal runs at radius {r:g}: certify(n={n_fixed}) against "
            f"certify(SequentialRule(n_max={c.n_max}), batch {args.batch_size}), n0 = {args.n0}"
        )
        print(
            f"{'image':>5} {'fixed N':>7} {'fixed':>9} {'seq N':>6} {'seq stop':>10} "
            f"{'seq radius':>10} {'fixed s':>8} {'seq s':>7}"
        )
        used_fixed, used_seq = [], []
        cert_fixed = cert_seq = 0
        # Compile the bounds before timing (the sequential call computes its boundaries).
        rstheory.certify(1, 2, alpha=ALPHA, sigma=1.0)
        rstheory.certified_radius(0.9, sigma=1.0)
        betabinomial_cs(1, 2, alpha=ALPHA)
        sequential.boundaries(
            radius=r, sigma=args.tiny_sigma, alpha=ALPHA, batch_size=args.batch_size, n_max=c.n_max
        )
        picks = np.unique(
            np.linspace(0, len(images) - 1, min(args.runs, len(images))).round().astype(int)
        )
        for i in picks.tolist():
            cfg = CertifyConfig(
                n0=args.n0,
                n=n_fixed,
                sigma=args.tiny_sigma,
                alpha=ALPHA,
                seed=i,
                batch_size=args.batch_size,
            )
            rule = SequentialRule(radius=r, n_max=c.n_max)
            fixed = certify(vlm, images[i], prompt, oracle=oracle, config=cfg)
            seq = certify(
                vlm, images[i], prompt, oracle=oracle, config=cfg.replace(n=None, sequential=rule)
            )
            f_ok = float(fixed.certificate.radius) >= r
            cert_fixed += f_ok
            cert_seq += seq.certified
            used_fixed.append(args.n0 + n_fixed)
            used_seq.append(seq.samples)
            print(
                f"{i:>5} {args.n0 + n_fixed:>7} {'cert' if f_ok else 'abstain':>9} "
                f"{seq.samples:>6} {seq.stop_reason:>10} {seq.radius:>10.4f} "
                f"{fixed.timings.total:>8.2f} {seq.timings.total:>7.2f}"
            )
        mean_f, mean_s = float(np.mean(used_fixed)), float(np.mean(used_seq))
        print(
            f"real runs: mean samples fixed {mean_f:.1f}, sequential {mean_s:.1f}, "
            f"ratio {mean_f / mean_s:.2f}x; certified at {r:g}: fixed "
            f"{cert_fixed}/{len(used_fixed)}, sequential {cert_seq}/{len(used_seq)}"
        )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small smoke-test sizes")
    parser.add_argument(
        "--data-dir",
        help="folder holding p2-certifications/ (default: $RSVLM_DATA_DIR or the checkout's data/)",
    )
    parser.add_argument("--radii", type=float, nargs="+", default=[0.25, 0.5, 1.0])
    parser.add_argument("--fixed-n", type=int, nargs="+", default=[1000, 10_000, 100_000])
    parser.add_argument("--skip-published", action="store_true")
    parser.add_argument("--skip-tiny", action="store_true")
    parser.add_argument("--images", type=int, default=12)
    parser.add_argument("--pilot-n", type=int, default=300)
    parser.add_argument("--tiny-sigma", type=float, default=0.5)
    parser.add_argument("--tiny-radii", type=float, nargs="+", default=[0.1, 0.25])
    parser.add_argument("--tiny-fixed-n", type=int, nargs="+", default=[200, 1000])
    parser.add_argument("--runs", type=int, default=4, help="images certified for real")
    parser.add_argument("--n0", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=25)
    parser.add_argument("--max-new-tokens", type=int, default=4)
    args = parser.parse_args(argv)
    if args.quick:
        args.radii, args.fixed_n = [0.5], [1000]
        args.images, args.pilot_n, args.tiny_radii, args.tiny_fixed_n = 4, 40, [0.1], [100]
        args.runs, args.n0, args.batch_size, args.max_new_tokens = 2, 8, 20, 2
    print(
        f"bench_sequential: python {platform.python_version()}, rstheory {rstheory.__version__}, "
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '')}, quick={args.quick}"
    )
    t = time.perf_counter()
    if not args.skip_published:
        published_part(args)
    if not args.skip_tiny:
        tiny_part(args)
    print(f"\ntotal {time.perf_counter() - t:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
