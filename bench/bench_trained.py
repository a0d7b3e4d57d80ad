"""Accuracy of the toy-task LLaVA (sampler.tiny.trained_llava) against the noise level.

Trains the default configuration in a fresh folder (timing it with the load average), then
prints shape, colour, refusal and exact-text accuracy on held-out images (seed 12345,
greedy decoding, one noisy copy per image) for sigma in 0, 0.12, 0.25, 0.5, 1.0.
``--quick``: 100 images instead of 300; ``--steps N``: another number of steps.
Numbers: docs/measurements/trained_model.md.

    OMP_NUM_THREADS=1 .venv/bin/python bench/bench_trained.py
"""

import argparse
import dataclasses
import os
import tempfile
import time

import torch

from sampler._toy_eval import toy_accuracy
from sampler._train_tiny import TrainConfig, train_llava
from sampler.models import VLM, DecodingConfig

SIGMAS = (0.0, 0.12, 0.25, 0.5, 1.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--steps", type=int, default=None)
    args = parser.parse_args()
    config = TrainConfig()
    if args.steps is not None:
        config = dataclasses.replace(config, steps=args.steps)
    print(f"config: {config}")
    print(f"cores: {os.cpu_count()}, torch threads (training): {config.threads}")
    load, before = os.getloadavg()[0], os.times()
    result = train_llava(tempfile.mkdtemp(), config)
    after = os.times()
    cpu = after.user - before.user + after.system - before.system
    print(
        f"training: {result.seconds:.1f} s wall, {cpu:.1f} s CPU (building and saving "
        f"included; load average {load:.2f} -> {os.getloadavg()[0]:.2f})"
    )
    n = len(result.losses)
    for lo, hi in ((0, 50), (n // 2 - 25, n // 2 + 25), (n - 50, n)):
        lo, hi = max(0, lo), min(n, hi)
        print(f"loss, steps {lo}-{hi}: {result.losses[lo:hi].mean():.4f}")
    torch.set_num_threads(1)
    vlm = VLM.from_pretrained(result.path, device="cpu", decoding=DecodingConfig(max_new_tokens=16))
    num = 100 if args.quick else 300
    start = time.perf_counter()
    print("| sigma | shape | colour | refusal agreement | exact text |")
    print("|------:|------:|-------:|------------------:|-----------:|")
    for sigma in SIGMAS:
        s = toy_accuracy(vlm, num=num, seed=12345, sigma=sigma)
        print(f"| {sigma:g} | {s.shape:.2f} | {s.colour:.2f} | {s.refusal:.2f} | {s.exact:.2f} |")
    print(f"images per sigma: {num} ({s.n_shape} shape, {s.n_colour} colour questions unmarked)")
    print(f"evaluation: {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
