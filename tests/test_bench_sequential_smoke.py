"""bench/bench_sequential.py --quick runs and prints its table rows and the real-run summary
(the shape of the output, not the speed or the numbers)."""

from __future__ import annotations

import re

from tests._bench_smoke import run_bench

ROW = r"^{name}\s+\d+\.\d\d\s+\d+\s+[01]\.\d{{4}}\s+\d+\s+\d+\.\d\s+[01]\.\d{{4}}\s+\d+\.\d\dx"


def _run(*extra):
    return run_bench("bench_sequential.py", "--quick", *extra)


def test_bench_sequential_quick_prints_the_tables(tmp_path):
    out = _run()
    assert "quick=True" in out
    published_ok = "(a) published p_A under" in out
    assert published_ok or "published data not found under" in out, out
    if published_ok:
        for name in ("cifar10", "imagenet"):
            assert re.search(ROW.format(name=name), out, re.MULTILINE), out
    assert re.search(ROW.format(name="tiny-llava"), out, re.MULTILINE), out
    assert re.search(
        r"^real runs: mean samples fixed \d+\.\d, sequential \d+\.\d, ratio \d+\.\d\dx; "
        r"certified at [\d.]+: fixed \d/2, sequential \d/2$",
        out,
        re.MULTILINE,
    ), out


def test_bench_sequential_skips_without_published_data(tmp_path):
    out = _run("--skip-tiny", "--data-dir", str(tmp_path))
    assert f"published data not found under {tmp_path}" in out, out
