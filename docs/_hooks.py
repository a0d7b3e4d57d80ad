"""MkDocs hooks: the notebooks of ``notebooks/`` as pages under ``notebooks/``.

``notebooks/index.md`` is ``notebooks/README.md`` with each notebook's name linked to its
page.

Each jupytext percent script is read with jupytext and written as Markdown (markdown
cells as they are, code cells as fenced Python), not executed: the tests execute them
(``tests/test_notebooks.py``). The pages exist only in the build, never in ``docs/``.
"""

from __future__ import annotations

import pathlib
import re

SOURCE_URL = "notebooks/{name}"  # as the path reads in the repository


def notebook_dir(config) -> pathlib.Path:
    """``notebooks/`` beside the ``mkdocs.yml`` being built."""
    return pathlib.Path(config["config_file_path"]).resolve().parent / "notebooks"


def notebooks(folder: pathlib.Path) -> list[pathlib.Path]:
    """The notebooks of ``folder``, in order."""
    return sorted(folder.glob("[0-9][0-9]_*.py"))


def notebook_markdown(path: pathlib.Path) -> str:
    """The Markdown page of one notebook: its cells, and where it comes from."""
    import jupytext

    nb = jupytext.read(path)
    parts: list[str] = []
    for i, cell in enumerate(nb.cells):
        source = cell.source.strip("\n")
        if not source:
            continue
        if cell.cell_type == "markdown":
            parts.append(source)
            if i == 0:
                parts.append(_provenance(path))
        elif cell.cell_type == "code":
            parts.append(f"```python\n{source}\n```")
    if not nb.cells or nb.cells[0].cell_type != "markdown":
        parts.insert(0, f"# {path.stem}\n\n{_provenance(path)}")
    return "\n\n".join(parts) + "\n"


def _provenance(path: pathlib.Path) -> str:
    name = SOURCE_URL.format(name=path.name)
    return (
        f'!!! note "Source"\n    `{name}`, a jupytext script shown here without its outputs. '
        f"Run it with `.venv/bin/python {name}`, or open it in Jupyter "
        "(see [the notebooks](index.md#opening-and-running))."
    )


def index_markdown(folder: pathlib.Path) -> str:
    """``notebooks/README.md`` with the notebook names of its table linked to their pages."""
    text = (folder / "README.md").read_text()
    return re.sub(r"^\| `(\d\d_\w+)\.py` \|", r"| [`\1.py`](\1.md) |", text, flags=re.M)


def on_files(files, config):
    """Add the notebooks' index and one generated page per notebook."""
    from mkdocs.structure.files import File

    folder = notebook_dir(config)
    files.append(File.generated(config, "notebooks/index.md", content=index_markdown(folder)))
    for path in notebooks(folder):
        files.append(
            File.generated(config, f"notebooks/{path.stem}.md", content=notebook_markdown(path))
        )
    return files


# MathJax 3 in the built site, from the django-static-mathjax wheel (the docs extra): its
# TeX-to-SVG component, one file with its glyphs inside. (The HTML output loads web fonts,
# which browsers refuse to pages read from disk, file://; SVG needs none.)
MATHJAX_TARGET = "assets/mathjax"
MATHJAX_FILES = ("tex-svg.js",)


def mathjax_source() -> pathlib.Path | None:
    """The ``es5`` folder of the installed MathJax 3, or ``None`` when it is not installed."""
    import importlib.util

    spec = importlib.util.find_spec("mathjax")
    if spec is None or not spec.submodule_search_locations:
        return None
    es5 = pathlib.Path(next(iter(spec.submodule_search_locations))) / "static" / "mathjax" / "es5"
    return es5 if all((es5 / name).exists() for name in MATHJAX_FILES) else None


def on_post_build(config):
    """Copy MathJax into the site, so the formulas render without a network.

    Without the package the pages keep their TeX as text (``\\( ... \\)``), readable as is.
    """
    import logging
    import shutil

    source = mathjax_source()
    if source is None:
        logging.getLogger("mkdocs.hooks").info(
            "MathJax not installed (pip install django-static-mathjax): formulas stay TeX"
        )
        return
    target = pathlib.Path(config["site_dir"]) / MATHJAX_TARGET
    for name in MATHJAX_FILES:
        src, dst = source / name, target / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst, dirs_exist_ok=True)
        else:
            shutil.copy2(src, dst)
