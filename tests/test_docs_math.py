"""Math in the documentation: arithmatex marks the TeX for MathJax, and the build copies
MathJax into the site (docs/_hooks.py), so formulas render without a network."""

from __future__ import annotations

import importlib.util
import pathlib
import re

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _hooks():
    spec = importlib.util.spec_from_file_location("docs_hooks", ROOT / "docs" / "_hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _config() -> dict:
    class Loader(yaml.SafeLoader):
        pass

    # mkdocs.yml may hold !!python/name tags (Material's emoji options); read them as text
    Loader.add_multi_constructor("tag:yaml.org,2002:python/", lambda loader, suffix, node: suffix)
    return yaml.load((ROOT / "mkdocs.yml").read_text(), Loader=Loader)


def test_arithmatex_marks_inline_and_display_math_for_mathjax():
    markdown = pytest.importorskip("markdown")
    config = _config()
    ext = next(
        e
        for e in config["markdown_extensions"]
        if isinstance(e, dict) and "pymdownx.arithmatex" in e
    )
    assert ext["pymdownx.arithmatex"]["generic"] is True
    html = markdown.markdown(
        "The radius $R = \\sigma \\Phi^{-1}(p)$, and\n\n$$\nq = p (1 - \\varepsilon)\n$$\n",
        extensions=["pymdownx.arithmatex"],
        extension_configs={"pymdownx.arithmatex": ext["pymdownx.arithmatex"]},
    )
    assert re.search(r'<span class="arithmatex">\\\(R = .*\\\)</span>', html), html
    assert re.search(r'<div class="arithmatex">\\\[\s*q = .*\\\]</div>', html, re.S), html


def test_the_site_loads_its_scripts_from_itself():
    scripts = _config()["extra_javascript"]
    assert not any(re.match(r"[a-z]+://|//", s) for s in scripts), scripts
    hooks = _hooks()
    assert f"{hooks.MATHJAX_TARGET}/tex-svg.js" in scripts
    assert (ROOT / "docs" / "javascripts" / "mathjax.js").is_file()


def test_the_build_copies_mathjax_into_the_site(tmp_path):
    hooks = _hooks()
    source = hooks.mathjax_source()
    if source is None:
        pytest.skip("django-static-mathjax (the docs extra) is not installed")
    hooks.on_post_build({"site_dir": str(tmp_path)})
    copied = tmp_path / hooks.MATHJAX_TARGET / "tex-svg.js"
    assert copied.read_bytes() == (source / "tex-svg.js").read_bytes()
    assert b"MathJax" in copied.read_bytes()
