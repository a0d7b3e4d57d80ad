"""Property test of rstheory.rows on corrupt files: every reader either refuses the file with
``<file>:<line>`` of the first line that really is bad, or returns exactly the integers
written in it (nothing coerced).

The files are valid campaign rows with fields replaced by random JSON values (floats, strings
of digits, booleans, null, lists, objects) or removed, lines that are JSON but not objects,
garbage lines, blank lines and a cut last line; and CSV files with bad cells. Which line is
first bad is worked out here from the schema as the module docstring of
:mod:`rstheory._rows` states it, independently of :func:`rstheory._rows.check_row`.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rstheory import rows

MAX_COUNT = 2**53 - 1  # the largest n the schema takes (float64's exact integers, n + 1 too)
RUN_FIELDS = ("id", "config_hash", "status", "prompt", "error", "k", "n", "config")

# ------------------------------------------------------------------ files


def _json_values():
    leaves = (
        st.none()
        | st.booleans()
        | st.integers(min_value=-3, max_value=10**20)
        | st.integers(min_value=0, max_value=12)
        | st.integers(min_value=MAX_COUNT - 1, max_value=MAX_COUNT + 2)  # past int64 as well:
        | st.sampled_from([2**63, 10**20])
        | st.floats(allow_nan=True, allow_infinity=True)
        | st.sampled_from([0.0, 5.0, 9.5, 1e20])
        | st.text(alphabet="0123456789", max_size=4)
        | st.sampled_from(["ok", "error", "h", "h2", ""])
    )
    return st.recursive(
        leaves,
        lambda inner: (
            st.lists(inner, max_size=3)
            | st.dictionaries(st.sampled_from(["k", "n", "type", "x"]), inner, max_size=3)
        ),
        max_leaves=4,
    )


@st.composite
def _valid_row(draw, i: int) -> dict:
    n = draw(st.integers(min_value=1, max_value=12) | st.just(MAX_COUNT))
    ok = draw(st.booleans()) or draw(st.booleans())
    row = {
        "id": f"r{i}",
        "config_hash": "h",
        "status": "ok" if ok else "error",
        "prompt": draw(st.sampled_from([None, "Describe it."])),
        "error": None if ok else {"type": "OSError", "message": "corrupt image"},
        "k": draw(st.integers(min_value=0, max_value=n)) if ok else None,
        "n": n,
        "config": {"sigma": 0.25, "alpha": 0.001},
    }
    return row


@st.composite
def _line(draw, i: int) -> bytes:
    kind = draw(
        st.sampled_from(
            ["valid", "valid", "field", "field", "field", "drop", "other", "garbage", "blank"]
        )
    )
    if kind == "blank":
        return draw(st.sampled_from([b"", b"  ", b"\t"]))
    if kind == "garbage":
        text = draw(st.text(alphabet='abc{}[]":,0123456789 -.eé€', min_size=1, max_size=12))
        return text.encode()
    if kind == "other":  # JSON, but not an object
        value = draw(_json_values().filter(lambda v: not isinstance(v, dict)))
        return json.dumps(value).encode()
    row = draw(_valid_row(i))
    if kind == "field":  # the fields a reader uses twice as often as the others
        field = draw(st.sampled_from([*RUN_FIELDS, "k", "n", "config_hash", "status"]))
        row[field] = draw(_json_values())
    elif kind == "drop":
        del row[draw(st.sampled_from(RUN_FIELDS))]
    return json.dumps(row).encode()


@st.composite
def _jsonl(draw) -> bytes:
    lines = [draw(_line(i)) for i in range(draw(st.integers(min_value=0, max_value=6)))]
    data = b"".join(line + b"\n" for line in lines)
    end = draw(st.sampled_from(["whole", "no-newline", "cut"]))
    if data and end == "no-newline":
        data = data[:-1]
    elif data and end == "cut":  # a crash mid-write: a prefix of the last line, no newline
        last = lines[-1]
        data = data[: len(data) - 1 - len(last)] + last[: draw(st.integers(0, len(last)))]
    return data


_CELLS = st.one_of(
    st.integers(min_value=0, max_value=12).map(str),
    st.sampled_from(
        ["", " ", " 7 ", "-1", "1.5", "5.0", "1e3", "x", "true", "\u0663", "\uff11", "0x5"]
    ),
    st.text(alphabet="0123456789", min_size=1, max_size=22),  # up to 10**22: past 2**53
    st.sampled_from([str(MAX_COUNT), str(MAX_COUNT + 1), str(2**63), str(10**20)]),
)


@st.composite
def _csv(draw) -> str:
    header = draw(st.sampled_from(["k,n", "k,n", "k,n,id", "n,k", "a,b"]))
    lines = [header]
    for _ in range(draw(st.integers(min_value=0, max_value=5))):
        cells = draw(st.lists(_CELLS, min_size=1, max_size=3))
        lines.append(",".join(cells))
    return "\n".join(lines) + draw(st.sampled_from(["\n", ""]))


# ------------------------------------------------------------------ the schema, worked out here


def _is_text(v) -> bool:
    return isinstance(v, str) and v != ""


def _row_is_bad(row, *, run: bool) -> bool:
    """The schema of rstheory._rows' module docstring, stated afresh."""
    if not isinstance(row, dict):
        return True
    if run and not ("id" in row and "config_hash" in row):
        return True
    status = row.get("status", "ok")
    if not (isinstance(status, str) and status in ("ok", "error")):
        return True
    if run and not (_is_text(row["id"]) and _is_text(row["config_hash"])):
        return True
    if not run and not (row.get("config_hash") is None or _is_text(row["config_hash"])):
        return True
    if run and not (row.get("prompt") is None or isinstance(row["prompt"], str)):
        return True
    if status == "ok":
        k, n = row.get("k"), row.get("n")
        if type(k) is not int or type(n) is not int:
            return True
        return not (1 <= n <= MAX_COUNT and 0 <= k <= n)
    return run and not (row.get("error") is None or isinstance(row["error"], dict))


def _expected_jsonl(data: bytes, *, run: bool, by_hand: bool):
    """``("bad", line)``, or ``("rows", [(line, row), ...])`` of the rows a reader keeps.

    ``by_hand`` is read_counts: a last line without its newline is whole there.
    """
    if by_hand and data and not data.endswith(b"\n"):
        data += b"\n"
    *complete, tail = data.split(b"\n")
    cut = tail.strip() != b""  # scan_rows drops an unterminated last line, whatever it holds
    kept = []
    for number, line in enumerate(complete, start=1):
        if line.strip() == b"":
            continue
        try:
            row = json.loads(line)
        except ValueError:
            if number == len(complete) and not cut:
                break  # the last complete line, cut mid-write: dropped, not an error
            return "bad", number
        if _row_is_bad(row, run=run):
            return "bad", number
        kept.append((number, row))
    return "rows", kept


def _expected_counts(kept):
    """``("mixed",)`` for several configuration hashes, else ``("counts", k, n)``."""
    if len({json.dumps(row.get("config_hash")) for _, row in kept}) > 1:
        return ("mixed",)
    ok = [row for _, row in kept if row.get("status", "ok") == "ok"]
    return "counts", [row["k"] for row in ok], [row["n"] for row in ok]


def _expected_csv(text: str):
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    if not {"k", "n"} <= set(lines[0].split(",")):
        return "bad", None  # the header: the message names the file, not a line
    where = {name: lines[0].split(",").index(name) for name in ("k", "n")}
    k, n = [], []
    for number, line in enumerate(lines[1:], start=2):
        if line == "":
            continue  # csv skips an empty record
        cells = line.split(",")
        pair = [cells[where[name]] if where[name] < len(cells) else None for name in ("k", "n")]
        if not all(c is not None and re.fullmatch(r"[0-9]+", c.strip(" ")) for c in pair):
            return "bad", number
        a, b = (int(c) for c in pair)
        if not (1 <= b <= MAX_COUNT and 0 <= a <= b):
            return "bad", number
        k.append(a)
        n.append(b)
    return "counts", k, n


# ------------------------------------------------------------------ the property


def _refused_at(call, path: Path, line: int | None) -> None:
    with pytest.raises(ValueError) as err:
        call()
    message = str(err.value)
    if line is None:
        assert message.startswith(f"{path}:") or f"{path}" in message, message
    else:
        assert f"{path}:{line}:" in message, message
        for other in re.findall(rf"{re.escape(str(path))}:(\d+)", message):
            assert int(other) == line, message


def _same_counts(got, k, n) -> None:
    assert isinstance(got, rows.Counts)
    assert got.k.dtype == np.int64 and got.n.dtype == np.int64
    assert got.k.tolist() == k and got.n.tolist() == n  # Python ints, compared exactly
    assert all(type(v) is int for v in k + n)


SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(data=_jsonl())
def test_every_jsonl_reader_refuses_the_first_bad_line_or_returns_the_written_counts(data):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rows.jsonl"
        path.write_bytes(data)

        kind, what = _expected_jsonl(data, run=True, by_hand=False)
        if kind == "bad":
            _refused_at(lambda: rows.scan_rows(path), path, what)
            _refused_at(lambda: rows.read_rows(path), path, what)
            _refused_at(lambda: rows.load_counts(path), path, what)
        else:
            scan = rows.scan_rows(path)
            assert scan.rows == [row for _, row in what]
            assert scan.line_numbers == [number for number, _ in what]
            assert rows.read_rows(path) == scan.rows
            expected = _expected_counts(what)
            if expected[0] == "mixed":
                with pytest.raises(rows.ConfigMismatchError):
                    rows.load_counts(path)
            else:
                _same_counts(rows.load_counts(path), *expected[1:])

        kind, what = _expected_jsonl(data, run=False, by_hand=True)
        if kind == "bad":
            _refused_at(lambda: rows.read_counts(path), path, what)
            return
        expected = _expected_counts(what)
        if expected[0] == "mixed":
            with pytest.raises(rows.ConfigMismatchError):
                rows.read_counts(path)
        elif not expected[1]:
            with pytest.raises(ValueError, match="no pilot counts found"):
                rows.read_counts(path)
        else:
            _same_counts(rows.read_counts(path), *expected[1:])


@SETTINGS
@given(text=_csv())
def test_read_counts_of_a_csv_refuses_the_first_bad_cell_or_returns_the_written_counts(text):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "pilot.csv"
        path.write_text(text, encoding="utf-8")
        expected = _expected_csv(text)
        if expected[0] == "bad":
            _refused_at(lambda: rows.read_counts(path), path, expected[1])
        elif not expected[1]:
            with pytest.raises(ValueError, match="no pilot counts found"):
                rows.read_counts(path)
        else:
            _same_counts(rows.read_counts(path), *expected[1:])


def test_the_row_schema_caps_counts_where_the_bounds_do():
    from rstheory import _rows, _validation

    assert _rows.MAX_COUNT == _validation.MAX_COUNT == MAX_COUNT
