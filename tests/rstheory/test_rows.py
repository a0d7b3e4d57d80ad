"""Tests of rstheory.rows, the one reader of campaign rows: the counts of the ok rows, a cut
last line tolerated, several configuration hashes refused unless one is chosen, counts that
are not true JSON integers refused with the file, the line and the field."""

import json

import numpy as np
import pytest

from rstheory import rows
from rstheory.rows import ConfigMismatchError, Counts, load_counts, read_counts, read_rows


def _row(i, k=9, n=10, status="ok", config_hash="h1"):
    return {"id": str(i), "config_hash": config_hash, "status": status, "k": k, "n": n}


def _write(path, objs, end="\n"):
    path.write_text("\n".join(json.dumps(o) for o in objs) + end)
    return path


def test_counts_of_the_ok_rows_in_file_order(tmp_path):
    f = _write(
        tmp_path / "rows.jsonl",
        [_row(0, 9), _row(1, None, status="error"), _row(2, 10), _row(3, 0, 5)],
    )
    got = load_counts(f)
    assert isinstance(got, Counts) and got.k.dtype == np.int64 and got.n.dtype == np.int64
    k, n = got
    assert k.tolist() == [9, 10, 0] and n.tolist() == [10, 10, 5]
    assert got.k is k and got.n is n
    assert [r["id"] for r in read_rows(f)] == ["0", "1", "2", "3"]


def test_a_cut_last_line_is_dropped_and_a_bad_line_before_it_is_not(tmp_path):
    good = json.dumps(_row(0)) + "\n" + json.dumps(_row(1, 8)) + "\n"
    f = tmp_path / "rows.jsonl"
    f.write_text(good + json.dumps(_row(2, 7))[:-9])  # cut without its newline
    assert load_counts(f).k.tolist() == [9, 8]
    scan = rows.scan_rows(f)
    assert scan.truncated and scan.clean == good.encode() and scan.line_numbers == [1, 2]
    f.write_text(good + '{"id": "2", "conf\n')  # cut, then newline-terminated
    assert load_counts(f).k.tolist() == [9, 8] and rows.scan_rows(f).truncated
    f.write_text('{"id": "2", "conf\n' + good)
    with pytest.raises(ValueError, match=r"rows.jsonl:1: not valid JSON"):
        load_counts(f)
    f.write_text(good + json.dumps({"k": 1, "n": 2}) + "\n")
    with pytest.raises(ValueError, match=r"rows.jsonl:3: not a row of a run"):
        read_rows(f)
    with pytest.raises(ValueError, match="does not exist"):
        load_counts(tmp_path / "missing.jsonl")


def test_several_configurations_are_refused_unless_one_is_chosen(tmp_path):
    f = _write(tmp_path / "mixed.jsonl", [_row(0), _row(1, 3, config_hash="h2"), _row(2, 4)])
    with pytest.raises(ConfigMismatchError, match="configurations") as info:
        load_counts(f)
    message = str(info.value)
    assert "mixed.jsonl" in message and "h1" in message and "h2" in message
    assert info.value.hashes == ("h1", "h2") and isinstance(info.value, ValueError)
    assert load_counts(f, config_hash="h1").k.tolist() == [9, 4]
    assert load_counts(f, config_hash="h2").k.tolist() == [3]
    with pytest.raises(ValueError, match="config_hash 'h3' not in"):
        load_counts(f, config_hash="h3")
    with pytest.raises(ConfigMismatchError, match="configurations"):
        read_counts(f)
    assert read_counts(f, config_hash="h2").k.tolist() == [3]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"k": 95.5}, "'k'"),
        ({"k": 95.0}, "'k'"),
        ({"k": "90"}, "'k'"),
        ({"k": True}, "'k'"),
        ({"n": None}, "'n'"),
        ({"n": 100.0}, "'n'"),
        ({"k": -1}, "'k'"),
        ({"k": 101}, "'k'"),
        ({"k": 0, "n": 0}, "'n'"),
    ],
)
def test_counts_that_are_not_true_integers_in_range_are_refused(tmp_path, fields, field):
    bad = {**_row(1, 90, 100), **fields}
    f = _write(tmp_path / "rows.jsonl", [_row(0, 90, 100), bad])
    with pytest.raises(ValueError, match=rf"rows.jsonl:2: field {field}"):
        load_counts(f)
    with pytest.raises(ValueError, match=rf"rows.jsonl:2: field {field}"):
        read_counts(f)


def test_a_missing_count_is_refused_and_error_rows_are_not_read(tmp_path):
    row = _row(0)
    del row["n"]
    f = _write(tmp_path / "rows.jsonl", [row])
    with pytest.raises(ValueError, match=r"rows.jsonl:1: field 'n' is missing"):
        load_counts(f)
    f = _write(tmp_path / "rows.jsonl", [_row(0), _row(1, "x", None, status="error")])
    assert load_counts(f).k.tolist() == [9]


def test_pilot_counts_from_hand_written_jsonl_and_csv(tmp_path):
    f = _write(tmp_path / "pilot.jsonl", [{"k": 4, "n": 5}, {"k": 5, "n": 5}], end="")
    assert read_counts(f).k.tolist() == [4, 5]  # the unterminated last line is whole
    with pytest.raises(ValueError, match="not a row"):
        load_counts(f)  # a run's rows have an id and a configuration hash
    c = tmp_path / "pilot.csv"
    c.write_text("k,n\n4,5\n\n5,5\n")
    assert read_counts(c).n.tolist() == [5, 5]
    with pytest.raises(ValueError, match="no configuration hash"):
        read_counts(c, config_hash="h1")
    c.write_text("k,n\n4,5\n6,5\n")
    with pytest.raises(ValueError, match=r"pilot.csv:3: field 'k'"):
        read_counts(c)
    c.write_text("k,n\n")
    with pytest.raises(ValueError, match="no pilot counts"):
        read_counts(c)


def test_sampler_reads_through_this_reader(tmp_path):
    run = pytest.importorskip("sampler.run")
    f = _write(tmp_path / "mixed.jsonl", [_row(0), _row(1, 3, config_hash="h2")])
    assert run.ConfigMismatchError is ConfigMismatchError
    with pytest.raises(run.ConfigMismatchError, match="configurations"):
        run.load_counts(f)
    got = run.load_counts(f, config_hash="h2")
    assert isinstance(got, Counts) and got.k.tolist() == [3]


def _run_row(i, config, k=9, status="ok", config_hash="h1"):
    return {**_row(i, k=k, status=status, config_hash=config_hash), "config": config}


CONFIG = {"sigma": 0.25, "alpha": 0.01, "n0": 16, "n": 10, "seed": 0}


def test_settings_of_the_selected_rows(tmp_path):
    """config.sigma and config.alpha of the ok rows of the chosen configuration; keys that no
    row records are left out; a CSV records none."""
    other = {**CONFIG, "sigma": 0.5}
    f = _write(
        tmp_path / "rows.jsonl",
        [_run_row(0, CONFIG), _run_row(1, CONFIG, k=8), _run_row(2, other, config_hash="h2")],
    )
    assert rows.read_settings(f, config_hash="h1") == {"sigma": 0.25, "alpha": 0.01}
    assert rows.read_settings(f, config_hash="h2") == {"sigma": 0.5, "alpha": 0.01}
    with pytest.raises(ConfigMismatchError):
        rows.read_settings(f)
    hand = _write(tmp_path / "hand.jsonl", [{"k": 9, "n": 10}, {"k": 8, "n": 10}])
    assert rows.read_settings(hand) == {}
    only_sigma = _write(tmp_path / "s.jsonl", [_run_row(0, {"sigma": 0.12})])
    assert rows.read_settings(only_sigma) == {"sigma": 0.12}
    csv = tmp_path / "pilot.csv"
    csv.write_text("k,n\n9,10\n")
    assert rows.read_settings(csv) == {}


@pytest.mark.parametrize(
    ("second", "match"),
    [
        (
            {**CONFIG, "sigma": 0.5},
            r"disagree on config\.sigma: 0\.25 \(line 1\) and 0\.5 \(line 2\)",
        ),
        (None, r"disagree on config\.sigma: 0\.25 \(line 1\) and none \(line 2\)"),
        ({**CONFIG, "alpha": "0.01"}, r"rows\.jsonl:2: field 'config\.alpha' must be a number"),
        ({**CONFIG, "sigma": True}, r"rows\.jsonl:2: field 'config\.sigma' must be a number"),
        ([0.25], r"rows\.jsonl:2: field 'config' must be an object or null"),
    ],
)
def test_settings_that_disagree_or_are_not_numbers_are_refused(tmp_path, second, match):
    f = _write(tmp_path / "rows.jsonl", [_run_row(0, CONFIG), _run_row(1, second)])
    with pytest.raises(ValueError, match=match):
        rows.read_settings(f)


def test_settings_of_error_rows_are_not_read(tmp_path):
    """Only the rows whose counts are read: an error row of another sigma does not count."""
    f = _write(
        tmp_path / "rows.jsonl",
        [_run_row(0, CONFIG), _run_row(1, {**CONFIG, "sigma": 1.0}, k=None, status="error")],
    )
    assert rows.read_settings(f)["sigma"] == 0.25


def test_settings_of_rows_with_the_samplers_configuration(tmp_path):
    """The config of a collection row is sampler's CertifyConfig.to_dict (with the model's and
    the oracle's settings beside it): its sigma and alpha are what read_settings returns."""
    sampler = pytest.importorskip("sampler")
    cfg = sampler.CertifyConfig(n0=16, n=10, sigma=0.12, seed=3, alpha=0.005)
    config = {"model": {"name": "tiny"}, "oracle": {"name": "refusal"}, **cfg.to_dict()}
    f = _write(tmp_path / "rows.jsonl", [_run_row(0, config), _run_row(1, config, k=7)])
    assert rows.read_settings(f) == {"sigma": 0.12, "alpha": 0.005}


@pytest.mark.parametrize("stopping", ["fixed", "likelihood"])
def test_rows_of_a_predict_campaign_are_not_pilot_counts(tmp_path, stopping):
    predict_row = {**_row(1, 7), "mode": "predict"}
    f = _write(tmp_path / "rows.jsonl", [_row(0), predict_row])
    with pytest.raises(ValueError, match=r"rows\.jsonl:2: a row of a PREDICT campaign"):
        load_counts(f, stopping=stopping)
    with pytest.raises(ValueError, match="PREDICT campaign"):
        read_counts(f, stopping=stopping)
    assert load_counts(_write(tmp_path / "ok.jsonl", [_row(0), _row(1, 7)])).k.tolist() == [9, 7]
