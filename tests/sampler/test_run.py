"""Tests of sampler.run and ``python -m sampler collect``: one row per input, rows
reproducible from the seed, resume after an interrupt or a cut last line, error rows for
corrupt images, refusal of a configuration change, a sequential rule's campaign, the three
dataset layouts (a fake MM-SafetyBench tree), counts that load into rstheory, and the
command line end to end."""

import json
import subprocess
import sys
import types

import numpy as np
import pytest
import torch
from PIL import Image

import rstheory
import sampler._campaign as campaign_module
from sampler.__main__ import main
from sampler.certify import CertifyConfig, certify, derive_seed
from sampler.run import (
    ConfigMismatchError,
    Input,
    config_hash,
    load_counts,
    read_dataset,
    read_rows,
    run,
    write_parquet,
)
from tests.sampler._campaign_stubs import (
    PROMPT,
    FirstWord,
    collect_argv,
    linear_classifier,
    offline_env,
    save_png,
    strip_timings,
)

KW = dict(n0=4, n=8, sigma=0.5, alpha=0.01, batch_size=4)


@pytest.fixture
def images(tmp_path):
    root = tmp_path / "images"
    for i, name in enumerate(("a.png", "b.png", "sub/c.png", "d.png")):
        save_png(root / name, i)
    return root


_CONFIG_FIELDS = {"n0", "n", "sigma", "alpha", "seed", "batch_size", "keep_texts", "num_classes"}


def _run(vlm, data, out, **kwargs):
    """``run`` with this file's settings; ``kwargs`` mix the configuration's fields and
    ``run``'s own arguments."""
    kw = {
        **KW,
        "oracle": FirstWord(),
        "oracle_name": "first-word",
        "seed": 0,
        "prompt": PROMPT,
        "progress": False,
        **kwargs,
    }
    config = CertifyConfig(**{k: kw.pop(k) for k in list(kw) if k in _CONFIG_FIELDS})
    return run(vlm, data, out, config=config, **kw)


def test_one_row_per_input_matching_certify_and_loading_into_rstheory(vlm15, images, tmp_path):
    out = tmp_path / "rows.jsonl"
    summary = _run(vlm15, images, out, keep_texts=True)
    rows = read_rows(out)
    assert [r["id"] for r in rows] == ["a.png", "b.png", "d.png", "sub/c.png"]
    assert summary.ok == 4 and summary.errors == 0 and summary.skipped == 0
    assert {r["config_hash"] for r in rows} == {summary.config_hash}
    assert config_hash(rows[0]["config"]) == summary.config_hash
    for r in rows:
        assert r["status"] == "ok" and r["error"] is None
        assert sum(r["selection_counts"]) == 4 and sum(r["estimation_counts"]) == 8
        assert len(r["selection_labels"]) == 4 and len(r["estimation_labels"]) == 8
        assert len(r["texts"]["selection"]) == 4 and len(r["texts"]["estimation"]) == 8
        assert r["seed"] == derive_seed(0, "input", r["id"])
        assert set(r["timings"]) >= {"load_image", "selection", "estimation", "oracle", "total"}
        assert r["versions"]["torch"] and r["versions"]["python"]
    # Independent route: certify on the decoded image with the row's seed gives the row.
    r = rows[1]
    img = torch.from_numpy(np.asarray(Image.open(images / r["id"]).convert("RGB")).copy())
    res = certify(
        vlm15,
        img.permute(2, 0, 1).float() / 255,
        PROMPT,
        oracle=FirstWord(),
        config=CertifyConfig(seed=r["seed"], **KW),
    )
    assert res.estimation_labels.tolist() == r["estimation_labels"]
    assert res.selection_counts.tolist() == r["selection_counts"]
    assert float(res.certificate.p_lower) == r["p_lower"]
    # The counts go straight into rstheory.
    k, n = load_counts(out)
    assert k.tolist() == [r["k"] for r in rows] and n.tolist() == [8] * 4
    emp = rstheory.distributions.Empirical.from_counts(k, n)
    np.testing.assert_allclose(np.sort(np.asarray(emp.p)), np.sort(k / n))
    cert = rstheory.certify(k, n, alpha=0.01, sigma=0.5)
    np.testing.assert_allclose(np.asarray(cert.p_lower), [r["p_lower"] for r in rows])


def test_same_seed_identical_rows_other_seed_other_noise(vlm15, images, tmp_path):
    _run(vlm15, images, tmp_path / "a.jsonl", keep_texts=True)
    _run(vlm15, images, tmp_path / "b.jsonl", keep_texts=True)
    _run(vlm15, images, tmp_path / "c.jsonl", keep_texts=True, seed=1)
    a, b, c = (read_rows(tmp_path / f"{x}.jsonl") for x in "abc")
    assert strip_timings(a) == strip_timings(b)
    assert a[0]["config_hash"] != c[0]["config_hash"]
    assert [r["seed"] for r in a] != [r["seed"] for r in c]
    assert [r["texts"] for r in a] != [r["texts"] for r in c]


def test_interrupted_run_resumes_without_losing_or_duplicating_rows(
    vlm15, images, tmp_path, monkeypatch
):
    _run(vlm15, images, tmp_path / "full.jsonl")
    calls = {"n": 0}
    prepare = vlm15.prepare

    def interrupting(image, prompt):
        calls["n"] += 1
        if calls["n"] == 5:  # the third input (two prepare calls per input)
            raise KeyboardInterrupt
        return prepare(image, prompt)

    monkeypatch.setattr(vlm15, "prepare", interrupting)
    out = tmp_path / "resumed.jsonl"
    with pytest.raises(KeyboardInterrupt):
        _run(vlm15, images, out)
    assert [r["id"] for r in read_rows(out)] == ["a.png", "b.png"]
    monkeypatch.undo()
    summary = _run(vlm15, images, out)
    assert summary.skipped == 2 and summary.ok == 2
    assert strip_timings(read_rows(out)) == strip_timings(read_rows(tmp_path / "full.jsonl"))


def test_a_cut_last_line_is_repaired(vlm15, images, tmp_path):
    out = tmp_path / "rows.jsonl"
    _run(vlm15, images, out)
    full = read_rows(out)
    data = out.read_bytes()
    out.write_bytes(data[:-40])  # a crash in the middle of writing the last row
    assert [r["id"] for r in read_rows(out)] == [r["id"] for r in full[:3]]
    summary = _run(vlm15, images, out)
    assert summary.repaired and summary.skipped == 3 and summary.ok == 1
    assert out.read_bytes().endswith(b"\n")
    assert strip_timings(read_rows(out)) == strip_timings(full)
    # A bad line that is not the last one is not silently dropped.
    lines = out.read_text().splitlines(keepends=True)
    out.write_text(lines[0] + "{oops\n" + "".join(lines[1:]))
    with pytest.raises(ValueError, match=r"rows.jsonl:2: not valid JSON"):
        _run(vlm15, images, out)


def test_a_corrupt_image_gives_an_error_row_and_the_run_goes_on(vlm15, images, tmp_path):
    (images / "b.png").write_bytes(b"not a png at all")
    out = tmp_path / "rows.jsonl"
    summary = _run(vlm15, images, out)
    rows = {r["id"]: r for r in read_rows(out)}
    assert summary.ok == 3 and summary.errors == 1 and len(rows) == 4
    bad = rows["b.png"]
    assert bad["status"] == "error" and bad["error"]["type"] == "UnidentifiedImageError"
    assert bad["k"] is None and bad["selection_counts"] is None
    assert set(bad) == set(rows["a.png"])
    assert load_counts(out)[0].shape == (3,)
    # A second run skips it; --retry-errors runs it again once the image is fixed.
    assert _run(vlm15, images, out).skipped == 4
    save_png(images / "b.png", 1)
    summary = _run(vlm15, images, out, retry_errors=True)
    assert summary.ok == 1 and summary.skipped == 3
    rows = read_rows(out)
    assert sorted(r["id"] for r in rows) == ["a.png", "b.png", "d.png", "sub/c.png"]
    assert all(r["status"] == "ok" for r in rows)


def test_a_failing_generation_gives_an_error_row(vlm15, images, tmp_path, monkeypatch):
    real = campaign_module.certify

    def failing(model, image, prompt, **kw):
        if kw["config"].seed == derive_seed(0, "input", "d.png"):
            raise RuntimeError("CUDA out of memory (simulated)")
        return real(model, image, prompt, **kw)

    monkeypatch.setattr(campaign_module, "certify", failing)
    out = tmp_path / "rows.jsonl"
    _run(vlm15, images, out)
    rows = {r["id"]: r for r in read_rows(out)}
    assert rows["d.png"]["error"] == {
        "type": "RuntimeError",
        "message": "CUDA out of memory (simulated)",
    }
    assert [rows[i]["status"] for i in ("a.png", "b.png", "sub/c.png")] == ["ok"] * 3


def test_a_configuration_change_is_refused_on_resume(vlm15, images, tmp_path):
    out = tmp_path / "rows.jsonl"
    first = _run(vlm15, images, out, limit=2)
    with pytest.raises(ConfigMismatchError, match="allow_config_change"):
        _run(vlm15, images, out, sigma=0.25)
    with pytest.raises(ConfigMismatchError):
        _run(vlm15, images, out, batch_size=2)  # batch_size changes results: hashed
    assert len(read_rows(out)) == 2
    # keep_texts and limit are not part of the configuration.
    assert _run(vlm15, images, out, limit=3, keep_texts=True).skipped == 2
    second = _run(vlm15, images, out, sigma=0.25, limit=1, allow_config_change=True)
    assert second.config_hash != first.config_hash
    with pytest.raises(ValueError, match="configurations"):
        load_counts(out)
    assert load_counts(out, config_hash=second.config_hash)[0].shape == (1,)
    assert load_counts(out, config_hash=first.config_hash)[0].shape == (3,)
    # The same configuration with another prompt for an input already done is refused.
    with pytest.raises(ValueError, match="collected with prompt"):
        _run(vlm15, images, out, prompt="another question?", allow_config_change=True)


def test_jsonl_dataset_with_relative_paths_and_a_missing_image(vlm15, images, tmp_path):
    lines = [
        {"id": 1, "image": "images/a.png", "prompt": "first?"},
        {"id": "two", "image": str(images / "b.png"), "prompt": "second?"},
        {"id": "gone", "image": "images/missing.png", "prompt": "third?"},
    ]
    data = tmp_path / "data.jsonl"
    data.write_text("\n".join(json.dumps(x) for x in lines) + "\n\n")
    inputs = read_dataset(data)
    assert inputs == [
        Input("1", tmp_path / "images/a.png", "first?"),
        Input("two", images / "b.png", "second?"),
        Input("gone", tmp_path / "images/missing.png", "third?"),
    ]
    out = tmp_path / "rows.jsonl"
    _run(vlm15, data, out, prompt=None)
    rows = read_rows(out)
    assert [r["status"] for r in rows] == ["ok", "ok", "error"]
    assert rows[2]["error"]["type"] == "FileNotFoundError"
    assert rows[1]["prompt"] == "second?"
    data.write_text(json.dumps(lines[0]) + "\n" + json.dumps(lines[0]) + "\n")
    with pytest.raises(ValueError, match="duplicate id '1'"):
        read_dataset(data)
    data.write_text(json.dumps({"id": 1, "image": "x.png"}) + "\n")
    with pytest.raises(ValueError, match=r"data\.jsonl:1: each line must be an object"):
        read_dataset(data)


def test_mm_safetybench_layout(vlm15, tmp_path):
    root = tmp_path / "MM-SafetyBench"
    qdir = root / "data" / "processed_questions"
    qdir.mkdir(parents=True)
    questions = {
        str(q): {
            "Question": f"q{q}",
            "Rephrased Question": f"typo {q}",
            "Rephrased Question(SD)": f"sd {q}",
            "Key Phrase": "x",
        }
        for q in (10, 2)
    }
    (qdir / "01-Illegal_Activitiy.json").write_text(json.dumps(questions))
    (qdir / "02-HateSpeech.json").write_text(json.dumps({"0": questions["2"]}))
    for scenario, qids in (("01-Illegal_Activitiy", (2, 10)), ("02-HateSpeech", (0,))):
        for variant in ("SD", "TYPO"):  # no SD_TYPO folder: that variant is skipped
            for q in qids:
                save_png(root / "imgs" / scenario / variant / f"{q}.jpg", q)
    inputs = read_dataset(root)
    assert [(x.id, x.prompt) for x in inputs] == [
        ("01-Illegal_Activitiy/SD/2", "sd 2"),
        ("01-Illegal_Activitiy/SD/10", "sd 10"),
        ("01-Illegal_Activitiy/TYPO/2", "typo 2"),
        ("01-Illegal_Activitiy/TYPO/10", "typo 10"),
        ("02-HateSpeech/SD/0", "sd 2"),
        ("02-HateSpeech/TYPO/0", "typo 2"),
    ]
    assert inputs[1].image == root / "imgs" / "01-Illegal_Activitiy" / "SD" / "10.jpg"
    only = read_dataset(root, variants=("TYPO",), scenarios=["02-HateSpeech"])
    assert [x.id for x in only] == ["02-HateSpeech/TYPO/0"]
    with pytest.raises(ValueError, match="prompt must be None"):
        read_dataset(root, prompt="x")
    out = tmp_path / "rows.jsonl"
    summary = _run(vlm15, root, out, prompt=None, limit=3)
    assert summary.ok == 3 and [r["prompt"] for r in read_rows(out)] == ["sd 2", "sd 10", "typo 2"]
    del questions["10"]["Rephrased Question"]
    (qdir / "01-Illegal_Activitiy.json").write_text(json.dumps(questions))
    with pytest.raises(ValueError, match="question '10' has no string field 'Rephrased Question'"):
        read_dataset(root)


def test_parquet_needs_pyarrow_and_flattens_nested_fields(vlm15, images, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import pyarrow raises ImportError
    out = tmp_path / "rows.jsonl"
    with pytest.raises(RuntimeError, match="pyarrow"):
        _run(vlm15, images, out, parquet=tmp_path / "rows.parquet")
    assert not out.exists()  # checked before any work
    written = {}
    pa = types.ModuleType("pyarrow")
    pa.Table = types.SimpleNamespace(from_pylist=lambda rows: rows)
    pq = types.ModuleType("pyarrow.parquet")
    pq.write_table = lambda table, path: written.update(table=table, path=path)
    pa.parquet = pq
    monkeypatch.setitem(sys.modules, "pyarrow", pa)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", pq)
    summary = _run(vlm15, images, out, parquet=tmp_path / "rows.parquet", limit=2)
    assert summary.parquet == tmp_path / "rows.parquet" == written["path"]
    table = written["table"]
    assert [r["id"] for r in table] == ["a.png", "b.png"]
    assert json.loads(table[0]["config"]) == read_rows(out)[0]["config"]
    assert table[0]["estimation_counts"] == read_rows(out)[0]["estimation_counts"]
    write_parquet([], tmp_path / "empty.parquet")


def test_progress_bar_shows_samples_per_second(vlm15, images, tmp_path, capsys):
    _run(vlm15, images, tmp_path / "rows.jsonl", progress=True, limit=2)
    err = capsys.readouterr().err
    assert "2/2" in err and "samples_per_s" in err
    _run(vlm15, images, tmp_path / "quiet.jsonl", limit=1)
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--n", "0"], "argument --n: must be an integer >= 1, got 0"),
        (["--n0", "x"], "argument --n0: must be an integer >= 1, got 'x'"),
        (["--sigma", "-1"], "argument --sigma: must lie in (0, inf)"),
        (["--alpha", "1"], "argument --alpha: must lie in (0, 1)"),
        (["--oracle", "magic"], "argument --oracle: invalid choice"),
        (["--oracle-eps", "2"], "argument --oracle-eps: must be 'unknown' or a number"),
        (["--oracle", "llm-judge"], "--oracle-model is required"),
        (["--seed", "-3"], "argument --seed: must be an integer in [0, "),
        (["--prompt", None], "is a folder of images: give --prompt or --prompt-file"),
        (["--data", "/nonexistent/path"], "--data: data path /nonexistent/path does not exist"),
    ],
)
def test_cli_bad_arguments_exit_2_naming_the_option(
    tiny_llava_15_path, images, tmp_path, capsys, args, message
):
    base = {
        "--model": str(tiny_llava_15_path),
        "--data": str(images),
        "--out": str(tmp_path / "o.jsonl"),
        "--n": "2",
        "--n0": "2",
        "--sigma": "0.5",
        "--oracle": "refusal",
        "--seed": "0",
        "--prompt": PROMPT,
    }
    for key, value in zip(args[::2], args[1::2], strict=True):
        if value is None:
            del base[key]
        else:
            base[key] = value
    argv = ["collect", *[x for kv in base.items() for x in kv], "--quiet"]
    try:
        code = main(argv)
    except SystemExit as stop:  # argparse's own errors
        code = stop.code
    assert code == 2
    assert message in capsys.readouterr().err


def test_cli_interrupt_exits_130_and_keeps_rows(
    tiny_llava_15_path, images, tmp_path, monkeypatch, capsys
):
    real, calls = campaign_module.certify, {"n": 0}

    def interrupting(*args, **kw):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(*args, **kw)

    monkeypatch.setattr(campaign_module, "certify", interrupting)
    out = tmp_path / "rows.jsonl"
    options = dict(n=4, n0=2, sigma=0.5, seed=0, max_new_tokens=3, batch_size=None)
    argv = collect_argv(tiny_llava_15_path, images, out, "--quiet", **options)
    assert main(argv) == 130
    assert "run the same command again to resume" in capsys.readouterr().err
    assert len(read_rows(out)) == 1


def test_cli_end_to_end_in_a_subprocess(tmp_path, images):
    env = offline_env()
    model = tmp_path / "tiny"
    subprocess.run(
        [sys.executable, "-m", "sampler", "build-tiny", str(model)],
        check=True,
        env=env,
        capture_output=True,
    )
    out = tmp_path / "rows.jsonl"
    argv = collect_argv(model, images, out, "--keep-texts")
    cmd = [sys.executable, "-m", "sampler", *argv, "--limit", "3"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["ok"] == 3 and summary["errors"] == 0
    rows = read_rows(out)
    assert [r["id"] for r in rows] == ["a.png", "b.png", "d.png"]
    assert all(r["class_names"] == ["refusal", "compliance"] for r in rows)
    assert rows[0]["config"]["oracle"]["name"] == "refusal"
    assert rows[0]["config"]["model"]["decoding"]["max_new_tokens"] == 4
    assert all(len(r["texts"]["estimation"]) == 8 for r in rows)
    # Run again without --limit, in process: the three rows are kept, one is added.
    assert main([*argv, "--quiet"]) == 0
    rows = read_rows(out)
    assert [r["id"] for r in rows] == ["a.png", "b.png", "d.png", "sub/c.png"]


def test_a_sequential_config_runs_its_rule_through_the_one_per_input_path(vlm15, images, tmp_path):
    """A config with a sequential rule is a campaign like any other: make_job hashes the
    rule with the configuration and certify_row (the one per-input path) returns the
    stop of certify, whose fields the row holds (tests/sampler/test_campaign_sequential.py
    has the rest)."""
    from sampler import SequentialRule

    cfg = CertifyConfig(
        n0=4, sigma=0.5, seed=0, batch_size=4, sequential=SequentialRule(radius=0.05, n_max=8)
    )
    summary = run(
        vlm15,
        images,
        tmp_path / "rows.jsonl",
        config=cfg,
        oracle=FirstWord(),
        prompt=PROMPT,
        progress=False,
    )
    rows = read_rows(tmp_path / "rows.jsonl")
    assert summary.ok == 4 and all(r["stop_reason"] is not None for r in rows)
    assert rows[0]["config"]["sequential"]["look_every"] == 4
    job = campaign_module.make_job(
        vlm15, config=cfg, oracle=FirstWord(), oracle_name=None, model_name=None
    )
    assert job.config["sequential"] == {"radius": 0.05, "n_max": 8, "prior": None, "look_every": 4}


def test_a_classifier_campaign_uses_its_class_ids(images, tmp_path):
    clf = linear_classifier()
    out = tmp_path / "rows.jsonl"
    summary = run(
        clf,
        images,
        out,
        model_name="linear-8x8",
        progress=False,
        config=CertifyConfig(
            n0=5, n=20, sigma=0.5, alpha=0.01, seed=0, batch_size=8, num_classes=3
        ),
    )
    rows = read_rows(out)
    assert summary.ok == 4 and all(r["num_classes"] == 3 and r["class_names"] is None for r in rows)
    assert rows[0]["config"]["model"]["name"] == "linear-8x8"
    assert rows[0]["config"]["oracle"] is None and rows[0]["texts"] is None
    for r in rows:
        assert np.bincount(r["estimation_labels"], minlength=3).tolist() == r["estimation_counts"]
        assert r["k"] == r["estimation_counts"][int(np.argmax(r["selection_counts"]))]


@pytest.mark.slow
def test_cli_killed_mid_run_resumes_to_the_rows_of_an_uninterrupted_run(
    tiny_llava_15_path, tmp_path
):
    import time

    root = tmp_path / "many"
    for i in range(12):
        save_png(root / f"{i:02d}.png", i)
    env = offline_env()

    def argv(out):
        return collect_argv(tiny_llava_15_path, root, out, "--quiet", "--keep-texts", n=16, seed=9)

    out = tmp_path / "killed.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "sampler", *argv(out)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and proc.poll() is None:
            if out.exists() and out.read_bytes().count(b"\n") >= 2:
                break
            time.sleep(0.05)
    finally:
        proc.kill()
        proc.wait()
    before = len(read_rows(out))
    assert 2 <= before < 12
    assert main(argv(out)) == 0
    assert main(argv(tmp_path / "full.jsonl")) == 0
    rows = read_rows(out)
    assert sorted(r["id"] for r in rows) == [f"{i:02d}.png" for i in range(12)]
    assert strip_timings(rows) == strip_timings(read_rows(tmp_path / "full.jsonl"))


def test_parquet_copy_reads_back_equal_to_the_jsonl_rows(vlm15, images, tmp_path):
    """With the real pyarrow: every row and column of the Parquet copy equals the JSONL rows
    (nested objects as JSON strings, count lists as Parquet lists), including an error row."""
    import pyarrow.parquet as pq

    (images / "broken.png").write_bytes(b"not a png")
    out = tmp_path / "rows.jsonl"
    summary = _run(vlm15, images, out, parquet=tmp_path / "rows.parquet")
    rows = read_rows(out)
    assert summary.errors == 1 and any(r["status"] == "error" for r in rows)
    table = pq.read_table(tmp_path / "rows.parquet").to_pylist()
    assert [r["id"] for r in table] == [r["id"] for r in rows]
    for got, want in zip(table, rows, strict=True):
        for key, value in want.items():
            stored = got[key]
            if isinstance(value, (dict, list)) and isinstance(stored, str):
                stored = json.loads(stored)  # nested fields are stored as JSON text
            assert stored == value, key


def test_the_stub_classifier_does_not_depend_on_the_global_rng():
    torch.manual_seed(1)
    a = linear_classifier().module.state_dict()
    torch.manual_seed(2)
    b = linear_classifier().module.state_dict()
    assert a.keys() == b.keys() == {"1.weight", "1.bias"}
    assert all(torch.equal(a[k], b[k]) for k in a)
