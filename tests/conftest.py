"""Process-wide test settings: float64 and strict promotion in JAX, one torch thread,
Hypothesis profiles, and the ``gpu`` marker's skip rule."""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before torch loads its OpenMP runtime

import jax
import pytest
import torch
from hypothesis import settings

# Theory runs in float64; rank and dtype promotion errors surface instead of silently
# broadcasting or down-casting (diffrax/equinox test settings).
jax.config.update("jax_enable_x64", True)
jax.config.update("jax_numpy_rank_promotion", "raise")
jax.config.update("jax_numpy_dtype_promotion", "strict")

torch.set_num_threads(1)

# `deterministic` (default) gives the same examples on every run, so CI is reproducible and a
# failure is a bug, not bad luck; `thorough` explores new random examples: run it locally with
#   HYPOTHESIS_PROFILE=thorough make test
settings.register_profile("deterministic", derandomize=True, deadline=None, max_examples=40)
settings.register_profile("thorough", derandomize=False, deadline=None, max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))


def pytest_configure(config):
    # XLA compilation dominates the run time of small jitted calls (seconds per new input
    # shape); keep compiled executables in pytest's cache directory so that later runs and
    # the second xdist worker reuse them. `pytest --cache-clear` empties it.
    # The command line (rstheory._cli) enables its own cache: point it at the same place,
    # so tests never write to the user's ~/.cache.
    cache = getattr(config, "cache", None)
    if cache is not None and "JAX_COMPILATION_CACHE_DIR" not in os.environ:
        path = str(cache.mkdir("jax-compilation"))
        jax.config.update("jax_compilation_cache_dir", path)
        os.environ.setdefault("RSTHEORY_CACHE_DIR", path)
        # The digests of model weights (sampler._model_identity) go there too.
        os.environ.setdefault("RSVLM_CACHE_DIR", str(cache.mkdir("rsvlm")))
    else:
        os.environ.setdefault("RSTHEORY_CACHE_DIR", "off")


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip_gpu = pytest.mark.skip(reason="needs a CUDA device (torch.cuda.is_available() is False)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip_gpu)
