"""The documentation site builds with ``mkdocs build --strict`` and holds what it should.

The site is built once per module into a temporary folder (never ``site/``), in a
subprocess, as ``make docs`` builds it: any warning (a broken link or anchor, a docstring
the API pages cannot render) fails the build. The Python examples of the pages are
doctests run by ``make test`` (``--doctest-glob='docs/*.md'``); a test here checks that
every Python block of the pages is one, so that none goes unrun.
"""

from __future__ import annotations

import importlib.util
import os
import pathlib
import re
import subprocess
import sys

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
BUILD_TIMEOUT_S = 300
# One worker builds the site once for the whole module (make test runs --dist loadgroup).
pytestmark = pytest.mark.xdist_group("docs")

GUIDES = ["certify", "plan", "oracles", "collect", "sequential", "ray", "analyze"]
API_MODULES = [
    "rstheory",
    "rstheory.analyze",
    "rstheory.bounds",
    "rstheory.distributions",
    "rstheory.oracle",
    "rstheory.planning",
    "rstheory.predict",
    "rstheory.published",
    "rstheory.rows",
    "rstheory.scaling",
    "rstheory.sequential",
    "sampler",
    "sampler.attack",
    "sampler.certify",
    "sampler.models",
    "sampler.noise",
    "sampler.oracles",
    "sampler.predict",
    "sampler.run",
    "sampler.tiny",
    "sampler.real_models",
    "proofs_check",
]
NOTEBOOKS = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.py"))
# page -> public names that its API section must document (as heading anchors)
KEY_NAMES = {
    "rstheory": ["cp_lower", "cp_upper", "certify", "certified_radius", "Certificate"],
    "rstheory.analyze": ["read_log", "certified_accuracy", "summarize", "predict"],
    "rstheory.bounds": ["lower_bound", "simultaneous_bounds", "betting_cs_lower"],
    "rstheory.oracle": ["corrected_probability", "estimate_rates", "estimate_error_interval"],
    "rstheory.planning": ["required_samples", "budget", "Throughput"],
    "rstheory.rows": ["load_counts", "read_rows", "Counts"],
    "rstheory.scaling": ["expected_radius", "radius_cap"],
    "rstheory.sequential": ["boundaries", "operating_characteristics", "compare_fixed"],
    "rstheory.distributions": ["Beta", "fit"],
    "rstheory.predict": ["decide", "predict_rates", "abstention_bound", "n_for_abstention"],
    "rstheory.published": ["check_published"],
    "sampler": ["CertifyConfig", "SequentialRule", "count_votes", "certificate_from_counts"],
    "sampler.attack": [
        "l2_pgd",
        "attack",
        "attack_campaign",
        "AttackConfig",
        "certified_curve",
        "CertifiedCurve",
    ],
    "sampler.certify": ["certify"],
    "sampler.models": ["VLM", "DecodingConfig", "ImageClassifier"],
    "sampler.noise": ["add_gaussian_noise"],
    "sampler.oracles": ["RefusalJudge", "LLMJudge", "SemanticClusterer", "error_rates"],
    "sampler.predict": ["predict", "PredictResult"],
    "sampler.run": ["run", "run_ray", "load_counts", "read_dataset"],
    "sampler.tiny": ["build_tiny_llava"],
    "sampler.real_models": ["minilm_path", "efficientnet_lite0_classifier"],
    "proofs_check": ["theorem", "run_all"],
}


def _build(config: pathlib.Path, site: pathlib.Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "JAX_PLATFORMS": "cpu"}
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config), "-d", str(site)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_S,
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> pathlib.Path:
    out = tmp_path_factory.mktemp("site")
    proc = _build(ROOT / "mkdocs.yml", out)
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{proc.stdout}\n{proc.stderr}"
    return out


def test_guides_api_and_notebook_pages_exist(site):
    assert (site / "index.html").is_file()
    missing = [
        page
        for page in [
            *(f"guides/{g}.html" for g in GUIDES),
            *(f"api/{m}.html" for m in API_MODULES),
            "notebooks/index.html",
            *(f"notebooks/{nb}.html" for nb in NOTEBOOKS),
            "measurements/published.html",
            "measurements/sequential.html",
            "measurements/performance.html",
            "measurements/trained_model.html",
            *(f"guides/{g}.html" for g in ("predict", "attack", "analyze")),
        ]
        if not (site / page).is_file()
    ]
    assert not missing, missing
    assert len(NOTEBOOKS) == 4


def test_build_files_are_not_pages(site):
    for name in ("_hooks", "_griffe_rsvlm"):
        assert not list(site.rglob(f"{name}*")), name


@pytest.mark.parametrize("module", sorted(KEY_NAMES))
def test_api_pages_document_key_names(site, module):
    html = (site / "api" / f"{module}.html").read_text()
    missing = [name for name in KEY_NAMES[module] if f'id="{module}.{name}"' not in html]
    assert not missing, f"{module}: {missing}"


def test_api_examples_render_as_code(site):
    # `Example:` sections become code blocks, not Markdown block quotes of `>>>` lines;
    # Sphinx roles and math blocks (see docs/_griffe_rsvlm.py) become code.
    html = (site / "api" / "rstheory.bounds.html").read_text()
    assert "randomized_clopper_pearson" in html
    for page in (site / "api").glob("*.html"):
        text = page.read_text()
        assert "<blockquote>" not in text, page.name
        # reStructuredText markup is turned into Markdown, not shown as it is
        assert ":func:" not in text and ":class:" not in text, page.name
        assert ".. math::" not in text, page.name


def test_notebook_pages_show_code_and_text(site):
    html = (site / "notebooks" / "01_predict_n.html").read_text()
    assert "Predict the n you need" in html
    assert "required_samples" in html and 'class="highlight"' in html
    index = (site / "notebooks" / "index.html").read_text()
    assert 'href="01_predict_n.html"' in index


def test_strict_build_fails_on_a_broken_link(tmp_path):
    # The validation settings of mkdocs.yml make a broken link or anchor an error.
    settings = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text("# Home\n\n[a page](page.md#no-such-heading)\n")
    (docs / "page.md").write_text("# Page\n")
    config = tmp_path / "mkdocs.yml"
    config.write_text(
        yaml.safe_dump(
            {
                "site_name": "t",
                "docs_dir": str(docs),
                "strict": settings["strict"],
                "validation": settings["validation"],
            }
        )
    )
    proc = _build(config, tmp_path / "site")
    assert proc.returncode != 0
    assert "no-such-heading" in proc.stdout + proc.stderr


def _doc_pages() -> list[pathlib.Path]:
    return sorted(DOCS.rglob("*.md"))


def test_python_blocks_of_the_pages_are_doctests():
    fence = re.compile(r"^```python\n(.*?)^```", re.M | re.S)
    unrun = [
        f"{page.relative_to(ROOT)}: {block.splitlines()[0] if block.strip() else '(empty)'}"
        for page in _doc_pages()
        for block in fence.findall(page.read_text())
        if not block.lstrip().startswith(">>>")
    ]
    assert _doc_pages() and not unrun, unrun


def test_make_test_runs_the_pages_doctests():
    makefile = (ROOT / "Makefile").read_text()
    args = re.search(r"^PYTEST_ARGS := (.*?)(?<!\\)\n", makefile, re.M | re.S).group(1)
    assert "--doctest-glob='docs/*.md'" in args and re.search(r"\bdocs\b\s*$", args)


def _griffe_extension():
    spec = importlib.util.spec_from_file_location("_griffe_rsvlm", DOCS / "_griffe_rsvlm.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_docstring_rewrite():
    rewrite = _griffe_extension().rewrite
    text = (
        "Sum.\n\nArgs:\n  k, n: counts,\n    integers.\n  alpha: level.\n\nExample:\n  >>> 1\n  1"
    )
    assert rewrite(text) == (
        "Sum.\n\nArgs:\n  k: counts,\n    integers.\n  n: counts,\n    integers.\n"
        "  alpha: level.\n\nExamples:\n  >>> 1\n  1"
    )
    text = "Example (a stub), fixed n:\n  >>> 1\n  1\n\nand then:\n  >>> 2\n  2\nDone."
    assert rewrite(text) == (
        "Examples:\n  A stub, fixed n:\n\n  >>> 1\n  1\n\n  and then:\n\n  >>> 2\n  2\nDone."
    )
    text = "See :func:`f` and :class:`~a.B`::\n\n.. math::\n    x = 1\n\nEnd."
    assert rewrite(text) == "See ``f`` and ``B``:\n\n\n```latex\nx = 1\n```\n\n\nEnd."
    # Prose that merely names several things, outside an Args section, is left alone.
    assert rewrite("Notes:\n  a, b: both.") == "Notes:\n  a, b: both."
