#!/usr/bin/env bash
# The prepared GPU check (bench/gpu_check.py): run from the repository root of a source tree
# on a CUDA machine, with no install (torch, transformers, JAX, scipy and pytest present).
# Writes gpu_check.json (or $OUT/gpu_check.json when OUT is set); about 5 minutes, at most 8.
# Sections: GPU-marked tests, tiny-LLaVA samples/s (bf16, float32; early stop on and off;
# peak memory), packing rows, campaigns at in-flight 1 and 8, cp_lower under JAX.
# On a machine without CUDA it says so and exits 0.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
out="${OUT:-.}/gpu_check.json"
timeout 480 python bench/gpu_check.py --out "$out" "$@"
