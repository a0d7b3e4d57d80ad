"""bench/bench_cli.py --quick runs and prints its reference and ratio lines (speed is not
tested here)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench" / "bench_cli.py"
LINE = re.compile(
    r"^cli (?P<name>.+): warm (?P<warm>[0-9.]+) s ratio (?P<wr>[0-9.]+) \(goal 1\.5x: (yes|no)\) "
    r"first (?P<first>[0-9.]+) s ratio (?P<fr>[0-9.]+) \(goal 3x: (yes|no)\)$"
)


def test_bench_cli_quick_prints_the_fields():
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--quick"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    refs = [ln for ln in lines if ln.startswith("reference scipy one-liner")]
    assert len(refs) == 2, proc.stdout
    ref = min(float(re.search(r"best ([0-9.]+) s", r).group(1)) for r in refs)
    found = {m["name"]: m for m in map(LINE.match, lines) if m}
    assert set(found) == {"bound 990 1000", "plan --dist point:0.9"}, proc.stdout
    for m in found.values():
        assert float(m["warm"]) > 0 and float(m["first"]) > 0
        # the printed ratio is the printed time over the reference (rounding aside)
        assert abs(float(m["wr"]) - float(m["warm"]) / ref) < 0.05 * float(m["wr"]) + 0.01
