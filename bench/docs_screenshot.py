"""Screenshots of the documentation site in headless Chromium, to look at what a reader sees.

Builds the site with ``mkdocs build --strict`` into ``reports/docs_site/`` (or takes an
already built one with ``--site DIR``) and saves PNGs of the front page and an API page
under ``reports/`` (ignored by git). Needs a Chromium (Debian: ``apt-get install -y
chromium``); the site is read from disk (``file://``), so nothing listens on the network.

    .venv/bin/python bench/docs_screenshot.py
    .venv/bin/python bench/docs_screenshot.py --site site --pages index.html guides/plan.html
"""

from __future__ import annotations

import argparse
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[1]
REPORTS = ROOT / "reports"
PAGES = ("index.html", "api/rstheory.html", "background/bound.html")  # the last one has math
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "chrome")


def find_browser() -> str:
    """The path of a Chromium-family browser, or a SystemExit naming what to install."""
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    raise SystemExit(
        "no headless browser found (looked for " + ", ".join(BROWSERS) + "); "
        "install one, e.g. `apt-get install -y chromium` on Debian"
    )


def build_site(out: pathlib.Path) -> pathlib.Path:
    """``mkdocs build --strict`` of the repository's mkdocs.yml into ``out``."""
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    cmd = [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "-d", str(out)]
    subprocess.run(cmd, cwd=ROOT, env=env, check=True)
    return out


def screenshot(browser: str, page: pathlib.Path, png: pathlib.Path, *, width: int, height: int):
    """One PNG of ``page`` at ``width`` x ``height`` CSS pixels."""
    with tempfile.TemporaryDirectory() as profile:
        cmd = [
            browser,
            "--headless",
            "--no-sandbox",  # root in a container has no user namespaces for the sandbox
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            f"--user-data-dir={profile}",
            f"--window-size={width},{height}",
            "--virtual-time-budget=3000",  # let the theme's scripts run before the shot
            f"--screenshot={png}",
            page.resolve().as_uri(),
        ]
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)
    if not png.is_file() or png.stat().st_size == 0:
        raise SystemExit(f"{browser} wrote no screenshot of {page}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--site", type=pathlib.Path, help="a built site (default: build one)")
    parser.add_argument("--pages", nargs="+", default=list(PAGES), help="pages of the site")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=1400)
    args = parser.parse_args(argv)
    browser = find_browser()
    REPORTS.mkdir(exist_ok=True)
    site = args.site or build_site(REPORTS / "docs_site")
    for name in args.pages:
        page = site / name
        if not page.is_file():
            raise SystemExit(f"{page} does not exist")
        png = REPORTS / ("docs_" + name.removesuffix(".html").replace("/", "_") + ".png")
        screenshot(browser, page, png, width=args.width, height=args.height)
        print(png)
    return 0


if __name__ == "__main__":
    sys.exit(main())
