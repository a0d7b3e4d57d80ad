"""Samples per second of batched VLM generation (sample_predictions) against per-sample loops.

    python bench/bench_sampler.py                          # tiny LLaVA 1.5 on CPU, n = 128
    OMP_NUM_THREADS=1 python bench/bench_sampler.py        # one thread
    python bench/bench_sampler.py --version 1.6            # anyres tiles (5 tiles of 28 x 28)
    python bench/bench_sampler.py --n 8 --batch-sizes 1 4 --max-new-tokens 2 --repeat 1  # quick
    python bench/bench_sampler.py --device cuda --dtype bfloat16  # GPU: needs a GPU machine

The model is the tiny random LLaVA of :func:`sampler.tiny.build_tiny_llava` (about 63k
parameters), built into a temporary directory and loaded back with
:meth:`sampler.models.VLM.from_pretrained`, so the real loading and generation path runs.
Decoding is greedy. Three ways of measuring ``n`` noisy copies of one image, all timed in
the same run, each as the best of ``--repeat`` runs after a warm-up run that is not timed
(the timed runs go round-robin over the methods, so that load from other processes on a
shared machine falls on all of them alike):

* batched: :func:`sampler.models.sample_predictions` with ``batch_size=B`` for each
  ``--batch-sizes`` value: prepare once, noise a batch at a time on the device, one
  ``generate`` call per batch;
* one-at-a-time: the same function with ``batch_size=1`` (same model, same noise, one
  ``generate`` call per sample); its greedy texts must equal the batched ones
  ("texts identical: True", else the exit status is 1);
* naive per-sample: what published randomized-smoothing code does: for each sample, add
  noise to the image, run the ``transformers`` processor on the prompt and the noisy image,
  then ``model.generate`` on a batch of one. The noise here enters before the processor's
  resize / crop / tiling and is clipped to ``[0, 1]`` (the processor refuses values outside
  it), which is a different measurement from the package's: its texts are timed and
  counted, not compared.

Ratios ("ratio batched(bs=B) vs ...") are samples/s of the batched run over the reference's,
from the same run. The tiny model makes generation overhead-bound (the per-call work of
``generate`` dominates the arithmetic), which is the regime where batching pays most; with a
7B model on a GPU the arithmetic grows and the ratios change. [GPU numbers need a GPU
machine: ``--device cuda`` (``--dtype auto`` is bf16 there); on CPU the model runs in
float32.]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time

import torch
import transformers

from sampler.models import VLM, DecodingConfig, sample_predictions
from sampler.noise import noise_generator, resolve_device
from sampler.tiny import build_tiny_llava


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_methods(methods, repeat: int, device: torch.device):
    """Best seconds and last result per method; ``methods`` maps a name to ``(fn, warmup)``.

    Every ``warmup()`` runs first, untimed; then the timed runs go round-robin over the
    methods, ``repeat`` rounds, so that load from other processes on a shared machine falls
    on all methods alike instead of on whichever happened to run during it.
    """
    for _, warmup in methods.values():
        warmup()
    _sync(device)
    times = {name: float("inf") for name in methods}
    results = {}
    for _ in range(repeat):
        for name, (fn, _) in methods.items():
            t0 = time.perf_counter()
            results[name] = fn()
            _sync(device)
            times[name] = min(times[name], time.perf_counter() - t0)
    return times, results


def run_sample_predictions(vlm, image, prompt, *, n, sigma, seed, batch_size):
    """The package's path: texts of ``n`` noisy copies, ``batch_size`` per generate call."""
    out = sample_predictions(
        vlm,
        image,
        prompt,
        n=n,
        sigma=sigma,
        generator=noise_generator(seed=seed, device=vlm.device),
        batch_size=batch_size,
    )
    return out.predictions


def run_naive(model, processor, image, text, *, n, sigma, seed, max_new_tokens):
    """Per-sample loop as published RS code writes it: noise, processor, generate, decode.

    ``text`` is the prompt already in the model's chat format (with the image token).
    """
    device, dtype = model.device, model.dtype
    gen = torch.Generator().manual_seed(seed)  # the image lives on the host, as for a processor
    texts = []
    for _ in range(n):
        noisy = (image + sigma * torch.randn(image.shape, generator=gen)).clamp_(0.0, 1.0)
        enc = processor(images=[noisy], text=[text], return_tensors="pt", do_rescale=False)
        enc = enc.to(device)
        enc["pixel_values"] = enc["pixel_values"].to(dtype)
        with torch.inference_mode():
            out = model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False)
        new = out[0, enc["input_ids"].shape[1] :]
        texts.append(processor.decode(new, skip_special_tokens=True).strip())
    return texts


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--version",
        choices=("1.5", "1.6"),
        default="1.5",
        help="tiny LLaVA version (1.6: anyres tiles)",
    )
    parser.add_argument("--n", type=int, default=128, help="noisy samples per configuration")
    parser.add_argument(
        "--batch-sizes",
        type=int,
        nargs="+",
        default=[1, 8, 32, 64],
        help="batch sizes of the batched runs",
    )
    parser.add_argument("--max-new-tokens", type=int, default=8, help="greedy tokens per answer")
    parser.add_argument(
        "--repeat", type=int, default=3, help="timed runs per method (the best is kept)"
    )
    parser.add_argument("--sigma", type=float, default=0.25, help="noise std in [0, 1] pixel units")
    parser.add_argument(
        "--image-size",
        type=int,
        default=56,
        help="side of the square input image (the tiny model resizes to 28)",
    )
    parser.add_argument("--prompt", default="what is in the picture?")
    parser.add_argument(
        "--device", default="auto", help="auto (CUDA when present), cpu or cuda[:N]"
    )
    parser.add_argument(
        "--dtype",
        choices=("auto", "float32", "bfloat16", "float16"),
        default="auto",
        help="auto: bf16 (fp16) on CUDA, float32 on CPU",
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.n < 1 or args.repeat < 1 or args.max_new_tokens < 1 or args.image_size < 1:
        parser.error("--n, --repeat, --max-new-tokens and --image-size must be >= 1")
    if min(args.batch_sizes) < 1:
        parser.error("--batch-sizes must be >= 1")
    batch_sizes = sorted(set(args.batch_sizes))
    try:
        device = resolve_device(args.device)
    except ValueError as err:
        parser.error(str(err))

    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()

    print("# sampler batched generation benchmark")
    print(
        f"python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs "
        f"(affinity {len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else '?'})"
    )
    print(f"torch {torch.__version__}, transformers {transformers.__version__}")
    print(
        f"threads: torch.get_num_threads()={torch.get_num_threads()}, "
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '(unset)')}, "
        f"torch.get_num_interop_threads()={torch.get_num_interop_threads()}"
    )
    gpu = f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else ""
    print(f"device {device}{gpu}")
    print(f"args: {vars(args)}")

    decoding = DecodingConfig(max_new_tokens=args.max_new_tokens)
    with tempfile.TemporaryDirectory(prefix="tiny_llava_") as tmp:
        path = build_tiny_llava(tmp, version=args.version, seed=args.seed)
        vlm = VLM.from_pretrained(path, device=device, dtype=args.dtype, decoding=decoding)
    model, processor = vlm.model, vlm.processor
    n_params = sum(p.numel() for p in model.parameters())
    image = torch.rand(
        3, args.image_size, args.image_size, generator=torch.Generator().manual_seed(args.seed)
    )
    prepared = vlm.prepare(image, args.prompt)
    print(
        f"model: tiny LLaVA {args.version} ({type(model).__name__}), {n_params:,} parameters, "
        f"dtype {str(vlm.dtype).removeprefix('torch.')}"
    )
    print(
        f"input: image 3x{args.image_size}x{args.image_size} -> model pixels "
        f"{tuple(prepared.pixels.shape)}, prompt {prepared.inputs['input_ids'].shape[1]} tokens; "
        f"greedy, max_new_tokens {args.max_new_tokens}, sigma {args.sigma}; "
        f"n = {args.n} per configuration, best of {args.repeat} interleaved runs after a warm-up"
    )

    common = dict(sigma=args.sigma, seed=args.seed)

    def sp(n, bs):
        return lambda: run_sample_predictions(vlm, image, args.prompt, n=n, batch_size=bs, **common)

    def nv(n):
        return lambda: run_naive(
            model,
            processor,
            image,
            prepared.prompt,
            n=n,
            max_new_tokens=args.max_new_tokens,
            **common,
        )

    # One-at-a-time reference: sample_predictions with batch_size=1; naive per-sample
    # reference: processor + generate for every sample. Warm-ups are one batch (two samples).
    one = "one-at-a-time (sample_predictions, bs=1)"
    naive = "naive per-sample (processor + generate)"
    methods = {
        one: (sp(args.n, 1), sp(min(args.n, 2), 1)),
        naive: (nv(args.n), nv(min(args.n, 2))),
    }
    batched = {bs: f"batched(bs={bs})" for bs in batch_sizes}
    for bs, name in batched.items():
        if bs > 1:  # bs=1 is the one-at-a-time call itself: its measurement is reused
            methods[name] = (sp(args.n, bs), sp(min(args.n, bs), bs))
    times, texts = time_methods(methods, args.repeat, device)
    if 1 in batched:
        times[batched[1]], texts[batched[1]] = times[one], texts[one]

    print(f"\n{'method':42s} {'samples/s':>10s} {'ms/sample':>10s} {'distinct texts':>15s}")
    for name in (naive, one, *batched.values()):
        t = times[name]
        note = "  (= one-at-a-time)" if name == batched.get(1) else ""
        print(
            f"{name:42s} {args.n / t:10.1f} {1e3 * t / args.n:10.2f} "
            f"{len(set(texts[name])):15d}{note}"
        )
    print()
    for name in batched.values():
        print(f"ratio {name} vs one-at-a-time: {times[one] / times[name]:.1f}x")
        print(f"ratio {name} vs naive per-sample: {times[naive] / times[name]:.1f}x")
    print(f"(one-at-a-time vs naive per-sample: {times[naive] / times[one]:.2f}x)")

    mismatched = [bs for bs, name in batched.items() if texts[name] != texts[one]]
    identical = not mismatched
    print(
        f"\ntexts identical: {identical}  (greedy texts of batched bs={batch_sizes} "
        f"vs one-at-a-time, {args.n} each)"
    )
    for bs in mismatched:
        diffs = [
            i for i, (a, b) in enumerate(zip(texts[batched[bs]], texts[one], strict=True)) if a != b
        ]
        i = diffs[0]
        print(
            f"  bs={bs}: {len(diffs)} of {args.n} differ; first at sample {i}: "
            f"{texts[batched[bs]][i]!r} vs {texts[one][i]!r}"
        )
    agree = sum(a == b for a, b in zip(texts[naive], texts[one], strict=True))
    print(
        f"naive per-sample texts equal to one-at-a-time: {agree}/{args.n} (not required: its "
        "noise is added before the processor's geometry and clipped)"
    )
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
