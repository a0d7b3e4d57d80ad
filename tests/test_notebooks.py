"""Each notebook of ``notebooks/`` executes without error at small size.

The notebooks are stored as jupytext percent scripts; each is read with jupytext,
executed by nbclient in a fresh kernel with ``RSVLM_NOTEBOOK_SIZE=small`` and any cell
error fails the test. The kernel is this interpreter (``sys.executable``), declared in a
kernelspec written to a temporary folder put first on ``JUPYTER_PATH``, so the test
needs no kernel installed by hand and never picks up another environment's ``python3``.
"""

from __future__ import annotations

import json
import os
import pathlib
import sys

import jupytext
import nbclient
import pytest

NOTEBOOK_DIR = pathlib.Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.py"))
CELL_TIMEOUT_S = 300  # per cell; at small size a whole notebook takes well under a minute
KERNEL_NAME = "rsvlm-test-python"


def test_notebooks_found():
    assert [p.name for p in NOTEBOOKS] == [
        "01_predict_n.py",
        "02_validate_theorems.py",
        "03_plan_budget.py",
        "04_theory_vs_measurement.py",
    ]


@pytest.fixture(scope="module")
def jupyter_dir(tmp_path_factory) -> pathlib.Path:
    """A Jupyter data folder whose one kernelspec runs ipykernel under this interpreter."""
    root = tmp_path_factory.mktemp("jupyter")
    spec = root / "kernels" / KERNEL_NAME
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "rsvlm test kernel",
                "language": "python",
            }
        )
    )
    return root


def _execute(nb, monkeypatch, jupyter_dir, request):
    monkeypatch.setenv(
        "JUPYTER_PATH",
        os.pathsep.join(
            [str(jupyter_dir), *filter(None, os.environ.get("JUPYTER_PATH", "").split(os.pathsep))]
        ),
    )
    monkeypatch.setenv("RSVLM_NOTEBOOK_SIZE", "small")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    monkeypatch.setenv("OMP_NUM_THREADS", os.environ.get("OMP_NUM_THREADS", "1"))
    # Share compiled XLA programs between kernels and runs (the solver compiles per batch
    # size, seconds each), in pytest's cache like tests/conftest.py does.
    cache = getattr(request.config, "cache", None)
    if cache is not None and "JAX_COMPILATION_CACHE_DIR" not in os.environ:
        monkeypatch.setenv("JAX_COMPILATION_CACHE_DIR", str(cache.mkdir("jax-compilation")))
    client = nbclient.NotebookClient(
        nb,
        timeout=CELL_TIMEOUT_S,
        kernel_name=KERNEL_NAME,
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
    )
    client.execute()
    return nb


def test_kernel_is_this_interpreter(jupyter_dir, monkeypatch, request):
    nb = jupytext.reads("# %%\nimport sys\nprint(sys.executable)\n", fmt="py:percent")
    out = _execute(nb, monkeypatch, jupyter_dir, request).cells[0].outputs[0]
    assert pathlib.Path(out["text"].strip()) == pathlib.Path(sys.executable)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_at_small_size(path, jupyter_dir, monkeypatch, request):
    nb = _execute(jupytext.read(path), monkeypatch, jupyter_dir, request)
    errors = [
        out
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if out.get("output_type") == "error"
    ]
    assert not errors
