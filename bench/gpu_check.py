"""The prepared GPU check: one run that measures what only a CUDA machine can, into one JSON.

    bash bench/gpu_check.sh                 # on a CUDA machine, from the source tree
    python bench/gpu_check.py --out gpu_check.json [--quick]
    python bench/gpu_check.py --allow-cpu --quick   # exercise the script on a CPU (no numbers)

It runs from the source tree (``PYTHONPATH=.``; nothing installed beyond torch,
transformers, JAX, scipy and pytest) and, section by section, each in its own
``try`` so that one failure does not lose the rest:

1. ``pytest -m gpu`` on the test files that hold GPU-marked tests (bf16 generation, CUDA
   noise generators, pinned-memory copies);
2. samples/s of the tiny random LLaVA (:func:`sampler.tiny.build_tiny_llava`) in bfloat16
   and float32 at batch sizes 1 to 256 (:func:`sampler.models.sample_predictions`, greedy),
   with the peak GPU memory of each;
3. a fixed-``n`` campaign of the tiny LLaVA with and without cross-input packing
   (:mod:`sampler._packing`, when present): calls, batch fill and samples/s at in-flight 1
   to 8 and batch sizes 8 to 128 (:func:`bench.bench_packing.gpu_check_rows`); whether
   :mod:`sampler._early_stop` is present is recorded;
4. whole campaigns (``bench/bench_campaign.py``): the sequential rule against fixed ``n``
   at the same certified fraction, in-flight 1 and 8, and the resume check;
5. :func:`rstheory.cp_lower` throughput under JAX on the GPU (bounds per second for 10^5
   to 10^7 ``(k, n)`` pairs), against the README's estimate of 10^8 to 10^9 bounds/s.

Without CUDA (and without ``--allow-cpu``) it says that it needs CUDA and exits 0. The JSON
holds the versions, the device, each section's numbers or its error, and the wall time.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pathlib
import platform
import subprocess
import sys
import tempfile
import time
import traceback

ROOT = pathlib.Path(__file__).resolve().parents[1]
GPU_TEST_FILES = ("tests/sampler/test_noise.py", "tests/sampler/test_models.py")


def _versions() -> dict:
    out = {"python": platform.python_version()}
    for name in ("torch", "transformers", "jax", "jaxlib", "accelerate", "scipy", "numpy"):
        try:
            out[name] = __import__(name).__version__
        except Exception as err:  # a missing package is a result, not a crash
            out[name] = f"missing: {type(err).__name__}"
    return out


def _section(results: dict, name: str, fn, *args) -> None:
    t = time.perf_counter()
    try:
        results[name] = {"ok": True, **fn(*args)}
    except Exception as err:
        results[name] = {
            "ok": False,
            "error": f"{type(err).__name__}: {err}",
            "traceback": traceback.format_exc(limit=8),
        }
    results[name]["seconds"] = round(time.perf_counter() - t, 2)
    print(f"[{name}] {'ok' if results[name]['ok'] else results[name]['error']}", flush=True)


def gpu_tests(quick: bool) -> dict:
    cmd = [sys.executable, "-m", "pytest", "-q", "-m", "gpu", "-p", "no:cacheprovider"]
    cmd += [*GPU_TEST_FILES, "-o", "addopts="]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=180 if quick else 300
    )
    tail = (proc.stdout + proc.stderr).strip().splitlines()[-15:]
    return {"returncode": proc.returncode, "passed": proc.returncode == 0, "tail": tail}


def _sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _tiny_vlm(tmp: str, *, device: str, dtype: str, version: str = "1.5"):
    from sampler.models import VLM, DecodingConfig
    from sampler.tiny import build_tiny_llava

    path = build_tiny_llava(pathlib.Path(tmp) / f"tiny-{version}", version=version, seed=0)
    decoding = DecodingConfig(max_new_tokens=8)
    return VLM.from_pretrained(path, device=device, dtype=dtype, decoding=decoding)


def throughput(device: str, quick: bool) -> dict:
    import torch

    from sampler.models import sample_predictions
    from sampler.noise import noise_generator

    batch_sizes = (1, 8, 64) if quick else (1, 4, 16, 64, 128, 256)
    dtypes = ("float32",) if device == "cpu" else ("bfloat16", "float32")
    image = torch.rand(3, 64, 64, generator=torch.Generator().manual_seed(0))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for dtype in dtypes:
            vlm = _tiny_vlm(tmp, device=device, dtype=dtype)
            for bs in batch_sizes:
                n = max(bs, 16 if quick else 256)
                kw = dict(n=n, sigma=0.25, batch_size=bs)
                sample_predictions(
                    vlm,
                    image,
                    "What is shown?",
                    **kw,
                    generator=noise_generator(seed=1, device=vlm.device),
                )  # warm-up
                if vlm.device.type == "cuda":
                    torch.cuda.reset_peak_memory_stats(vlm.device)
                _sync(vlm.device)
                t = time.perf_counter()
                sample_predictions(
                    vlm,
                    image,
                    "What is shown?",
                    **kw,
                    generator=noise_generator(seed=2, device=vlm.device),
                )
                _sync(vlm.device)
                dt = time.perf_counter() - t
                peak = (
                    torch.cuda.max_memory_allocated(vlm.device) / 2**20
                    if vlm.device.type == "cuda"
                    else None
                )
                rows.append(
                    {
                        "dtype": dtype,
                        "batch_size": bs,
                        "n": n,
                        "samples_per_s": n / dt,
                        "peak_mib": peak,
                    }
                )
                print(f"  {dtype:9s} bs={bs:4d} {n / dt:10.1f} samples/s", flush=True)
            del vlm
    return {"rows": rows}


def cp_throughput(quick: bool) -> dict:
    import jax
    import numpy as np

    import rstheory

    sizes = (10**5, 10**6) if quick else (10**5, 10**6, 10**7)
    rng = np.random.default_rng(0)
    rows = []
    for size in sizes:
        n = rng.integers(1, 10**6, size=size)
        k = rng.integers(0, n + 1)
        rstheory.cp_lower(k, n, alpha=0.001).block_until_ready()  # compile
        best = float("inf")
        for _ in range(3):
            t = time.perf_counter()
            rstheory.cp_lower(k, n, alpha=0.001).block_until_ready()
            best = min(best, time.perf_counter() - t)
        rows.append({"pairs": size, "bounds_per_s": size / best})
        print(f"  cp_lower {size:>9d} pairs: {size / best:.3g} bounds/s", flush=True)
    return {
        "backend": jax.default_backend(),
        "devices": [str(d) for d in jax.devices()],
        "rows": rows,
    }


def packing(device: str, quick: bool) -> dict:
    """Cross-input packing and early stop on a small campaign, when the modules exist."""
    import importlib.util

    found = {
        m: importlib.util.find_spec(f"sampler.{m}") is not None for m in ("_packing", "_early_stop")
    }
    if not found["_packing"]:
        return {"skipped": "sampler._packing is not in this source tree", **found}
    from bench.bench_packing import gpu_check_rows  # the benchmark's own measurement

    dtype = "float32" if device == "cpu" else "bfloat16"
    return {"rows": gpu_check_rows(device=device, dtype=dtype, quick=quick), **found}


def campaigns(device: str, quick: bool) -> dict:
    """``bench/bench_campaign.py`` on this device: sequential against fixed n, packing 1 and 8.

    The tiny LLaVA in bfloat16 on a GPU (EfficientNet-Lite0 too where its packages are
    installed); the benchmark's JSON, with its resume check (``resume_pass``).
    """
    from bench.bench_campaign import main as bench_campaign

    dtype = "float32" if device == "cpu" else "bfloat16"
    with tempfile.TemporaryDirectory() as tmp:
        path = pathlib.Path(tmp) / "campaign.json"
        argv = ["--device", device, "--dtype", dtype, "--in-flight", "8", "--json", str(path)]
        returncode = bench_campaign(argv + (["--quick"] if quick else []))
        return {"returncode": returncode, **json.loads(path.read_text())}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="gpu_check.json", help="the JSON file to write")
    parser.add_argument("--quick", action="store_true", help="fewer sizes (a smoke run)")
    parser.add_argument(
        "--allow-cpu", action="store_true", help="run on a CPU anyway (checks the script only)"
    )
    args = parser.parse_args(argv)
    import torch

    cuda = torch.cuda.is_available()
    if not cuda and not args.allow_cpu:
        print("gpu_check: needs a CUDA device (torch.cuda.is_available() is False); nothing run")
        return 0
    device = "cuda" if cuda else "cpu"
    start = time.perf_counter()
    results: dict = {
        "versions": _versions(),
        "device": torch.cuda.get_device_name(0) if cuda else platform.processor() or "cpu",
        "quick": args.quick,
    }
    _section(results, "gpu_tests", gpu_tests, args.quick)
    _section(results, "throughput", throughput, device, args.quick)
    _section(results, "packing", packing, device, args.quick)
    _section(results, "campaigns", campaigns, device, args.quick)
    _section(results, "cp_lower", cp_throughput, args.quick)
    results["wall_s"] = round(time.perf_counter() - start, 1)
    out = pathlib.Path(args.out)
    with contextlib.suppress(FileNotFoundError):
        out.unlink()
    out.write_text(json.dumps(results, indent=2, default=str))
    print(f"wrote {out} ({results['wall_s']} s)")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
