"""Tests of the resume of a campaign's output and of its preflight (sampler._run_rows): a
row that breaks the schema is an error naming the file, the line and the field, never a
done input, and the file is left byte for byte (a property test over random corrupt files
too); a dataset without inputs and ``limit=0`` are refused; :func:`check_output` refuses a
directory, a missing or read-only folder, a bad line and a bad Parquet path before any
work, and output folders are no longer created."""

import json
import os
import pathlib
import re
import tempfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rstheory._rows import RUN_KEYS, check_row
from sampler._run_rows import check_output, resume
from sampler.certify import CertifyConfig
from sampler.run import Input, read_rows, run
from tests.sampler._campaign_stubs import run_fast_classifier, save_images


@pytest.fixture
def images(tmp_path):
    return save_images(tmp_path, 3)


# --------------------------------------------------------------------------- bad rows


@pytest.mark.parametrize(
    ("field", "value"), [("k", "abc"), ("n", None), ("status", 5)], ids=["k", "n", "status"]
)
@pytest.mark.parametrize("retry_errors", [False, True], ids=["resume", "retry-errors"])
def test_a_bad_row_is_refused_naming_file_line_and_field_and_nothing_is_written(
    images, tmp_path, field, value, retry_errors
):
    """A row with a valid id and this run's hash but ``"k": "abc"``, ``"n": null`` or
    ``"status": 5`` is not a done input: the resume raises ValueError naming the file, the
    line and the field, before the repair of the cut last line (or of the error rows) is
    written, so the file is left byte for byte; check_output says the same, prefixed."""
    out = tmp_path / "rows.jsonl"
    assert run_fast_classifier(images, out, limit=2).ok == 2
    first, second = out.read_bytes().splitlines()
    row = json.loads(second)
    row[field] = value
    error = json.loads(first)
    error.update(status="error", error={"type": "OSError", "message": "cut"}, k=None)
    corrupt = b"\n".join([json.dumps(error).encode(), json.dumps(row).encode()]) + b"\n"
    out.write_bytes(corrupt + b'{"id": "02.png", "conf')  # and a cut last line
    before = out.read_bytes()
    where = f"{out}:2: field '{field}'"
    with pytest.raises(ValueError, match=re.escape(where)):
        run_fast_classifier(images, out, retry_errors=retry_errors)
    assert out.read_bytes() == before
    assert not out.with_name(out.name + ".tmp").exists()
    with pytest.raises(ValueError, match=re.escape(f"out: {where}")):
        check_output(out)


def test_a_refused_resume_of_a_changed_prompt_writes_nothing(images, tmp_path):
    out = tmp_path / "rows.jsonl"
    run_fast_classifier(images, out, limit=1, prompt="first")
    out.write_bytes(out.read_bytes() + b'{"id": "01.png", "conf')
    before = out.read_bytes()
    with pytest.raises(ValueError, match="was collected with prompt 'first'"):
        run_fast_classifier(images, out, prompt="second")
    assert out.read_bytes() == before


# Any JSON value, to put in place of a field or of a whole row.
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=4),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=4,
)
FIELDS = ("id", "config_hash", "status", "k", "n", "prompt", "error")
HASH, PROMPT = "h", "p"


def _valid_row(i: int, ok: bool) -> dict:
    if ok:
        return dict(id=f"i{i}", config_hash=HASH, status="ok", k=i % 3, n=4, prompt=PROMPT)
    error = {"type": "OSError", "message": "unreadable"}
    return dict(id=f"i{i}", config_hash=HASH, status="error", k=None, n=4, error=error)


@st.composite
def row_files(draw) -> bytes:
    """A file of rows, some valid, some with a field replaced by a random JSON value (or
    removed), some lines not objects, garbage or blank, and maybe a cut last line."""
    lines = []
    count = draw(st.integers(1, 6))
    # Up to two corrupt lines (none a third of the time), so that resumes succeed too.
    corrupt = draw(st.sets(st.integers(0, count - 1), max_size=2))
    for i in range(count):
        row = _valid_row(i, draw(st.booleans()))
        kinds = ["field", "field", "missing", "json", "garbage"] if i in corrupt else ["valid"]
        kind = draw(st.sampled_from(kinds))
        if kind == "field":
            row[draw(st.sampled_from(FIELDS))] = draw(JSON)
        elif kind == "missing":
            row.pop(draw(st.sampled_from(FIELDS)), None)
        if kind == "json":
            line = json.dumps(draw(JSON.filter(lambda v: not isinstance(v, dict)))).encode()
        elif kind == "garbage":
            line = draw(st.binary(min_size=1, max_size=12).filter(lambda b: b"\n" not in b))
        else:
            line = json.dumps(row).encode()
        lines.append(line)
        if draw(st.integers(0, 5)) == 0:
            lines.append(b"  ")
    data = b"".join(line + b"\n" for line in lines)
    if draw(st.booleans()):
        cut = json.dumps(_valid_row(9, True)).encode()
        data += cut[: draw(st.integers(1, len(cut) - 1))]
    return data


def _is_json(line: bytes) -> bool:
    try:
        json.loads(line)
    except ValueError:
        return False
    return True


def _good(line: bytes) -> bool:
    """Whether a line is a row of the schema (checked line by line, apart from the scan)."""
    if not _is_json(line):
        return False
    row = json.loads(line)
    if not isinstance(row, dict) or not all(key in row for key in RUN_KEYS):
        return False
    try:
        check_row(row, where="line")
    except ValueError:
        return False
    return True


@settings(max_examples=60, deadline=None)
@given(data=row_files(), retry_errors=st.booleans())
def test_resume_accepts_only_rows_of_the_schema_and_never_coerces(data, retry_errors):
    """Random corrupt files fed to resume: either it raises a ValueError naming
    ``FILE:LINE`` for a line that is bad (or a done input's changed prompt) and leaves the
    file as it was, or every line before the last is a row of the schema, the file keeps a
    subsequence of its lines byte for byte (all rows of the schema), and the inputs done
    are exactly those with a kept row of this configuration."""
    terminated = data.split(b"\n")[:-1]  # the lines ended by a newline
    with tempfile.TemporaryDirectory() as folder:
        out = pathlib.Path(folder) / "rows.jsonl"
        out.write_bytes(data)
        inputs = [Input(f"i{i}", pathlib.Path(folder) / "x.png", PROMPT) for i in range(10)]
        try:
            todo, _ = resume(out, HASH, inputs, allow_config_change=True, retry_errors=retry_errors)
        except ValueError as err:
            message = str(err)
            assert out.read_bytes() == data
            changed = re.match(r"input '(i\d+)' was collected with prompt", message)
            if changed:
                rows = [json.loads(x) for x in terminated if x.strip() and _good(x)]
                assert any(
                    r["id"] == changed.group(1)
                    and r["config_hash"] == HASH
                    and r.get("prompt") != PROMPT
                    for r in rows
                )
                return
            where = re.search(re.escape(str(out)) + r":(\d+): ", message)
            assert where, message
            assert not _good(terminated[int(where.group(1)) - 1])
            return
        body = [x for x in terminated if x.strip()]
        assert all(_good(x) for x in body[:-1])
        assert not body or _good(body[-1]) or not _is_json(body[-1])  # a cut last line
        kept = out.read_bytes().split(b"\n")
        assert kept.pop() == b""
        kept = [x for x in kept if x.strip()]
        assert all(_good(x) for x in kept)
        original = iter(body)
        assert all(any(x == y for y in original) for x in kept)  # a subsequence, verbatim
        rows = [json.loads(x) for x in kept]
        if retry_errors:
            assert not [r for r in rows if r["config_hash"] == HASH and r["status"] != "ok"]
        done = {r["id"] for r in rows if r["config_hash"] == HASH}
        assert [x.id for x in todo] == [x.id for x in inputs if x.id not in done]


# --------------------------------------------------------------------------- no inputs


def test_a_dataset_without_inputs_and_limit_0_are_refused_before_any_work(tmp_path):
    """An empty folder, a folder without images, an empty list of inputs: ValueError
    ``data: no inputs in ...`` naming the dataset; ``limit=0``: ValueError naming
    ``limit`` and its range; before the model is used (it is not a model) and before the
    output (or its lock file) is made."""
    out = tmp_path / "rows.jsonl"
    empty, texts = tmp_path / "empty", tmp_path / "texts"
    empty.mkdir()
    texts.mkdir()
    (texts / "notes.txt").write_text("no image here")
    config = CertifyConfig(n0=5, n=20, sigma=0.5, seed=0, num_classes=3)
    for data, where in ((empty, empty), (texts, texts), ([], "the given inputs")):
        with pytest.raises(ValueError, match=re.escape(f"data: no inputs in {where} (")):
            run(object(), data, out, config=config, progress=False)
    with pytest.raises(ValueError, match=re.escape("limit must be an integer >= 1, got 0")):
        run(object(), texts, out, config=config, progress=False, limit=0)
    assert sorted(os.listdir(tmp_path)) == ["empty", "texts"]


# --------------------------------------------------------------------------- preflight


def test_check_output_accepts_a_new_or_resumable_output(images, tmp_path):
    out = tmp_path / "rows.jsonl"
    check_output(out, parquet=tmp_path / "rows.parquet")  # neither exists yet
    run_fast_classifier(images, out, limit=2)
    out.write_bytes(out.read_bytes() + b'{"id": "02.png", "conf')  # a cut last line: repaired
    check_output(out, parquet=tmp_path / "rows.parquet")
    check_output("rows-in-the-working-directory.jsonl")


def test_check_output_refuses_what_a_campaign_cannot_write(tmp_path, monkeypatch):
    """One-line ValueErrors starting ``out:`` or ``parquet:``: a directory, a missing
    folder, a folder that is not writable, a garbage line in the middle, a row that is a
    JSON list; a Parquet path that is a directory or in a missing folder."""
    out = tmp_path / "rows.jsonl"
    missing = tmp_path / "missing" / "rows.jsonl"
    row = json.dumps(_valid_row(0, True))
    cases = [
        (tmp_path, {}, f"out: {tmp_path} is a directory"),
        (missing, {}, f"out: the folder {missing.parent} does not exist"),
        (out, {"parquet": tmp_path}, f"parquet: {tmp_path} is a directory"),
        (out, {"parquet": missing}, f"parquet: the folder {missing.parent} does not exist"),
    ]
    for path, kw, message in cases:
        with pytest.raises(ValueError, match=re.escape(message)):
            check_output(path, **kw)
    for content, message in (
        (f"{row}\nnot json at all\n{row}\n", f"out: {out}:2: not valid JSON"),
        (f"[1, 2]\n{row}\n", f"out: {out}:1: not a row of a run"),
    ):
        out.write_text(content)
        with pytest.raises(ValueError, match=re.escape(message)) as info:
            check_output(out)
        assert "\n" not in str(info.value)
    out.unlink()
    access = os.access
    monkeypatch.setattr(
        os, "access", lambda p, mode: access(p, mode) and os.fspath(p) != os.fspath(tmp_path)
    )
    with pytest.raises(ValueError, match=re.escape(f"out: the folder {tmp_path} is not writable")):
        check_output(out)


def test_run_refuses_missing_folders_and_bad_parquet_paths_before_the_campaign(images, tmp_path):
    """run() no longer creates the output's folder, and refuses a Parquet path in a missing
    folder before the campaign (not after its rows are written)."""
    missing = tmp_path / "missing"
    with pytest.raises(ValueError, match=re.escape(f"out: the folder {missing} does not exist")):
        run_fast_classifier(images, missing / "rows.jsonl")
    assert not missing.exists()
    out = tmp_path / "rows.jsonl"
    with pytest.raises(ValueError, match=re.escape(f"parquet: the folder {missing} does not")):
        run_fast_classifier(images, out, parquet=missing / "rows.parquet")
    assert not out.exists() and not missing.exists()
    with pytest.raises(ValueError, match=re.escape(f"out: {tmp_path} is a directory")):
        run_fast_classifier(images, tmp_path)
    assert not tmp_path.with_name(tmp_path.name + ".lock").exists()
    assert run_fast_classifier(images, out, parquet=tmp_path / "rows.parquet").ok == 3
    assert len(read_rows(out)) == 3
