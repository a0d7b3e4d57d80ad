"""Accuracy of the toy-task LLaVA (sampler.tiny.trained_llava) against the noise level.

Trains the default configuration in a fresh folder (timing it with the load average), then
prints shape, colour, refusal and exact-text accuracy on held-out images (seed 12345,
greedy decoding, one noisy copy per image) for sigma in 0, 0.12, 0.25, 0.5, 1.0.
``--quick``: 100 images instead of 300. Numbers: docs/measurements/trained_model.md.
"""

import argparse
import os
import tempfile

from sampler._toy_eval import toy_accuracy
from sampler._train_tiny import TrainConfig, train_llava
from sampler.models import VLM, DecodingConfig

SIGMAS = (0.0, 0.12, 0.25, 0.5, 1.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    result = train_llava(tempfile.mkdtemp(), TrainConfig())
    print(f"training: {result.seconds:.1f} s (load average {load:.2f} -> {os.getloadavg()[0]:.2f})")
    vlm = VLM.from_pretrained(result.path, device="cpu", decoding=DecodingConfig(max_new_tokens=16))
    num = 100 if args.quick else 300
    print("| sigma | shape | colour | refusal agreement | exact text |")
    print("|------:|------:|-------:|------------------:|-----------:|")
    for sigma in SIGMAS:
        s = toy_accuracy(vlm, num=num, seed=12345, sigma=sigma)
        print(f"| {sigma:g} | {s.shape:.2f} | {s.colour:.2f} | {s.refusal:.2f} | {s.exact:.2f} |")


if __name__ == "__main__":
    main()
