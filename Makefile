# Set-up and everyday commands. `.venv` is created when missing and reused otherwise; it is
# (re)installed when pyproject.toml is newer than the stamp file.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# One thread per process: the tests run two pytest-xdist workers on small inputs.
TEST_ENV := OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
PYTEST_ARGS := -q -n 2 --dist loadgroup --doctest-modules --doctest-glob=README.md \
	--doctest-glob='docs/*.md' tests rstheory sampler proofs_check rsvlm README.md docs

.PHONY: setup demo test lint bench proofs docs clean distclean

setup: $(STAMP)

$(PY):
	$(PYTHON) -m venv $(VENV)

# torch first, under this machine's constraints (constraints-cpu.txt: the CPU wheel on disk);
# the package itself only states a range, so it installs beside a user's CUDA torch.
CONSTRAINTS := constraints-cpu.txt

$(STAMP): pyproject.toml $(CONSTRAINTS) | $(PY)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -c $(CONSTRAINTS) torch
	$(PY) -m pip install -c $(CONSTRAINTS) -e '.[all,test,ray,docs]'
	touch $@

demo: $(STAMP)
	OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(PY) -m rsvlm demo

# Lint and format checks first (seconds), then the default test selection.
test: $(STAMP) lint
	$(TEST_ENV) $(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

# Each benchmark prints its ratio against the reference it beats, measured in the same run.
bench: $(STAMP)
	OMP_NUM_THREADS=1 $(PY) bench/bench_cp.py
	OMP_NUM_THREADS=1 $(PY) bench/bench_scaling.py
	OMP_NUM_THREADS=1 $(PY) bench/bench_plan.py
	OMP_NUM_THREADS=1 $(PY) bench/bench_predict.py
	OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 $(PY) bench/bench_sampler.py
	OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 $(PY) bench/bench_sequential.py
	OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 $(PY) bench/bench_ray.py

proofs: $(STAMP)
	$(PY) -m proofs_check

# The documentation site into site/ (mkdocs.yml); every warning is an error.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict --site-dir site

clean:
	rm -rf build dist *.egg-info .pytest_cache .hypothesis .ruff_cache
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
