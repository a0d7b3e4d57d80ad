"""The prepared GPU check: one run that measures what only a CUDA machine can, into one JSON.

    bash bench/gpu_check.sh                 # on a CUDA machine, from the source tree
    python bench/gpu_check.py --out gpu_check.json [--quick]
    python bench/gpu_check.py --allow-cpu --quick   # exercise the script on a CPU (no numbers)

It runs from the source tree (``PYTHONPATH=.``; nothing installed beyond torch,
transformers, JAX, scipy and pytest) and, section by section, each in its own
``try`` so that one failure does not lose the rest:

1. ``pytest -m gpu`` on the test files that hold GPU-marked tests (found by their
   ``pytest.mark.gpu``: bf16 generation, CUDA noise generators, pinned-memory copies,
   loading onto the GPU);
2. samples/s of the tiny random LLaVA (:func:`sampler.tiny.build_tiny_llava`) in bfloat16
   and float32 at batch sizes 1 to 256 (:func:`sampler.models.sample_predictions`, greedy,
   8 new tokens), without and with early stop (``DecodingConfig(early_stop=True)``,
   :mod:`sampler._early_stop`), with the peak GPU memory of each and whether both ways give
   the oracle the same labels;
3. a fixed-``n`` campaign of the tiny LLaVA with and without cross-input packing
   (:mod:`sampler._packing`, when present), in bfloat16 and float32: calls, batch fill and
   samples/s at in-flight 1 to 8 and batch sizes 8 to 128, and rows equal to the per-input
   loop's (:func:`bench.bench_packing.gpu_check_rows`), with each dtype's peak memory;
4. whole campaigns (``bench/bench_campaign.py``, bfloat16): the sequential rule against
   fixed ``n`` at the same certified fraction, at in-flight 1 and 8 (``--in-flight 8``:
   :data:`CAMPAIGN_IN_FLIGHT`), and the resume check;
5. :func:`rstheory.cp_lower` throughput under JAX on the GPU (bounds per second for 10^5
   to 10^7 ``(k, n)`` pairs), against the README's estimate of 10^8 to 10^9 bounds/s.

On a CPU (``--allow-cpu``, a dry run of the script) the same sections run, in float32
only with ``--quick``, and give no GPU numbers (peak memory ``None``).
Without CUDA (and without ``--allow-cpu``) it says that it needs CUDA and exits 0. The JSON
holds the versions, the device, each section's numbers or its error, and the wall time; the
exit status is 1 when a section failed (an exception, failed GPU tests, labels or rows that
differ, a failed resume check), after the JSON is written.
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
CAMPAIGN_IN_FLIGHT = 8  # the packed campaigns of section 4 (bench/bench_campaign.py --in-flight)


def gpu_test_files() -> list[str]:
    """The test files that hold GPU-marked tests (``pytest.mark.gpu``), relative to the root."""
    found = [
        path.relative_to(ROOT).as_posix()
        for path in sorted((ROOT / "tests").rglob("test_*.py"))
        if "mark.gpu" in path.read_text(encoding="utf-8")
    ]
    if not found:
        raise RuntimeError("no test file under tests/ holds a pytest.mark.gpu test")
    return found


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
    files = gpu_test_files()
    cmd += [*files, "-o", "addopts="]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=180 if quick else 300
    )
    tail = (proc.stdout + proc.stderr).strip().splitlines()[-15:]
    summary = next((line for line in reversed(tail) if " in " in line), "")
    print(f"  {' '.join(files)}: {summary}", flush=True)
    return {
        "files": files,
        "returncode": proc.returncode,
        "passed": proc.returncode == 0,
        "summary": summary,
        "tail": tail,
    }


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


def _dtypes(device: str, quick: bool) -> tuple[str, ...]:
    """bfloat16 and float32 on a GPU; on a CPU (a dry run) float32, and bfloat16 too
    without ``quick``."""
    return ("float32",) if device == "cpu" and quick else ("bfloat16", "float32")


def _peak_mib(device) -> float | None:
    import torch

    return torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None


def _timed_samples(vlm, image, prompt, *, n, bs, device):
    """One warm-up and one timed :func:`sampler.models.sample_predictions` of ``vlm``:
    ``(seconds, predictions, peak MiB of the timed run)``."""
    import torch

    from sampler.models import sample_predictions
    from sampler.noise import noise_generator

    kw = dict(n=n, sigma=0.25, batch_size=bs)
    sample_predictions(vlm, image, prompt, **kw, generator=noise_generator(seed=1, device=device))
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    _sync(device)
    t = time.perf_counter()
    out = sample_predictions(
        vlm, image, prompt, **kw, generator=noise_generator(seed=2, device=device)
    )
    _sync(device)
    return time.perf_counter() - t, out.predictions, _peak_mib(device)


def throughput(device: str, quick: bool) -> dict:
    """samples/s and peak memory of the tiny LLaVA, per dtype and batch size, without and
    with early stop.

    Greedy decoding of 8 new tokens; the early-stop way is the same VLM with
    ``DecodingConfig(early_stop=True)`` bound (:meth:`sampler.models.VLM.with_oracle`) to
    ``RefusalJudge([w])``, ``w`` the first word of the clean image's answer, so the copies
    whose answer starts with ``w`` stop at their first token. ``labels_equal``: the
    oracle's labels of both ways agree (they must, for greedy decoding; see
    :mod:`sampler._early_stop`); ``decided_fraction`` and ``tokens_per_sample`` (of at most
    8) from its ``EarlyStopCounts``.
    """
    import torch

    from sampler.models import DecodingConfig
    from sampler.oracles import RefusalJudge

    batch_sizes = (1, 8, 64) if quick else (1, 4, 16, 64, 128, 256)
    image = torch.rand(3, 64, 64, generator=torch.Generator().manual_seed(0))
    prompt = "What is shown?"
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for dtype in _dtypes(device, quick):
            vlm = _tiny_vlm(tmp, device=device, dtype=dtype)
            prep = vlm.prepare(image, prompt)
            clean = vlm.predict(prep, prep.pixels[None])[0]
            oracle = RefusalJudge([(clean.split() or ["?"])[0]])
            stop_decoding = DecodingConfig(max_new_tokens=8, early_stop=True)
            for bs in batch_sizes:
                n = max(bs, 16 if quick else 256)
                s_full, texts_full, peak_full = _timed_samples(
                    vlm, image, prompt, n=n, bs=bs, device=vlm.device
                )
                stop_vlm = vlm.with_decoding(stop_decoding).with_oracle(oracle)
                s_stop, texts_stop, peak_stop = _timed_samples(
                    stop_vlm, image, prompt, n=n, bs=bs, device=vlm.device
                )
                counts = stop_vlm.early_stop_counts  # the warm-up's and the timed run's
                row = {
                    "dtype": dtype,
                    "batch_size": bs,
                    "n": n,
                    "samples_per_s": n / s_full,
                    "peak_mib": peak_full,
                    "early_stop_samples_per_s": n / s_stop,
                    "early_stop_peak_mib": peak_stop,
                    "early_stop_speedup": s_full / s_stop,
                    "decided_fraction": counts.decided / counts.rows,
                    "tokens_per_sample": counts.generated / counts.rows,
                    "labels_equal": oracle(texts_full).tolist() == oracle(texts_stop).tolist(),
                }
                rows.append(row)
                print(
                    f"  {dtype:9s} bs={bs:4d} {row['samples_per_s']:10.1f} samples/s, "
                    f"early stop {row['early_stop_samples_per_s']:10.1f} "
                    f"({row['early_stop_speedup']:.2f}x, {row['decided_fraction']:.2f} decided, "
                    f"labels equal {row['labels_equal']}), peak {peak_full} MiB",
                    flush=True,
                )
            del vlm
    return {"rows": rows, "labels_equal": all(r["labels_equal"] for r in rows)}


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
    """Cross-input packing against the per-input loop (:func:`bench.bench_packing.gpu_check_rows`:
    calls, fill, samples/s per batch size and in-flight), in each dtype, with the peak GPU
    memory of each dtype's runs; whether :mod:`sampler._early_stop` is present is recorded."""
    import importlib.util

    import torch

    found = {
        m: importlib.util.find_spec(f"sampler.{m}") is not None for m in ("_packing", "_early_stop")
    }
    if not found["_packing"]:
        return {"skipped": "sampler._packing is not in this source tree", **found}
    from bench.bench_packing import gpu_check_rows  # the benchmark's own measurement

    rows, peak = [], {}
    for dtype in _dtypes(device, quick):
        if device == "cuda":
            torch.cuda.reset_peak_memory_stats()
        rows += gpu_check_rows(device=device, dtype=dtype, quick=quick)
        peak[dtype] = _peak_mib(torch.device(device))
    return {
        "rows": rows,
        "peak_mib": peak,
        "rows_equal": all(r["rows_equal"] in (True, None) for r in rows),
        **found,
    }


def campaigns(device: str, quick: bool) -> dict:
    """``bench/bench_campaign.py`` on this device: sequential against fixed n, packing 1 and 8.

    The tiny LLaVA in bfloat16 on a GPU (EfficientNet-Lite0 too where its packages are
    installed); the benchmark's JSON, with its resume check (``resume_pass``).
    """
    from bench.bench_campaign import main as bench_campaign

    dtype = "float32" if device == "cpu" else "bfloat16"
    print(f"  bench/bench_campaign.py, {dtype}: in-flight 1 and {CAMPAIGN_IN_FLIGHT}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        path = pathlib.Path(tmp) / "campaign.json"
        argv = ["--device", device, "--dtype", dtype, "--in-flight", str(CAMPAIGN_IN_FLIGHT)]
        argv += ["--json", str(path)]
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
    failed = [name for name in SECTIONS if not _passed(results[name])]
    print(f"wrote {out} ({results['wall_s']} s); failed: {', '.join(failed) or 'none'}")
    return 1 if failed else 0


SECTIONS = ("gpu_tests", "throughput", "packing", "campaigns", "cp_lower")


def _passed(section: dict) -> bool:
    """A section ran, and its checks (tests, equal labels and rows, resume) hold."""
    checks = ("passed", "labels_equal", "rows_equal", "resume_pass")
    return section["ok"] and all(section.get(key, True) is not False for key in checks)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
