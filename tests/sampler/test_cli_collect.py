"""Tests of ``python -m sampler collect``'s failures: exit codes that tell the truth (0 all
ok, 2 bad arguments or files, 3 partial failure, 4 nothing produced), one-line errors for
bad files, models and oracle error rates, all found before the model is loaded; and the
model's identity in the configuration hash (its contents, not the spelling of its path)."""

import json
import os
import pathlib
import re
import sys
import threading

import numpy as np
import pytest
from PIL import Image

import sampler._campaign as campaign_module
import sampler._model_identity as identity_module
from sampler.__main__ import main
from sampler.certify import CertifyConfig
from sampler.models import VLM
from sampler.oracles import RefusalJudge
from sampler.run import config_hash, read_rows, run, run_config
from sampler.tiny import build_tiny_llava

PROMPT = "what is in the picture?"
PREFIX = "python -m sampler collect: error: "


@pytest.fixture(autouse=True)
def digest_cache(tmp_path, monkeypatch):
    """Each test has its own digest cache (sampler._model_identity), not the user's."""
    cache = tmp_path / "user-cache"
    monkeypatch.delenv("RSVLM_CACHE_DIR", raising=False)  # the test run's own cache
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    return cache / "rsvlm" / "sha256.json"


@pytest.fixture
def hub_cache(tmp_path, monkeypatch):
    """An empty local hub cache of this test, offline."""
    import huggingface_hub.constants

    hub = tmp_path / "hub"
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(hub))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    return hub


@pytest.fixture
def no_model_load(monkeypatch):
    """Fail the test if the VLM is loaded."""

    def refuse(*args, **kwargs):
        raise AssertionError("the model was loaded before the arguments were refused")

    monkeypatch.setattr(VLM, "from_pretrained", refuse)


def _save_png(path, seed, size=32):
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(path)


@pytest.fixture
def images(tmp_path):
    root = tmp_path / "images"
    for i, name in enumerate(("a.png", "b.png")):
        _save_png(root / name, i)
    return root


def _argv(model, data, out, *extra, prompt=PROMPT):
    argv = [
        "collect",
        "--model",
        str(model),
        "--data",
        str(data),
        "--out",
        str(out),
        "--n",
        "2",
        "--n0",
        "1",
        "--sigma",
        "0.5",
        "--oracle",
        "refusal",
        "--seed",
        "0",
        "--max-new-tokens",
        "2",
        "--batch-size",
        "2",
        "--device",
        "cpu",
        "--quiet",
    ]
    return [*argv, *(["--prompt", prompt] if prompt is not None else []), *extra]


def _main(argv):
    try:
        return main(argv)
    except SystemExit as stop:  # argparse's own errors
        return stop.code


def _one_error_line(capsys) -> str:
    """The one error line on stderr, its last line (transformers' loading bar may come
    before it), without the program's prefix."""
    err = capsys.readouterr().err
    lines = [line for line in err.strip().splitlines() if not line.startswith("Loading")]
    assert len(lines) == 1, err
    assert lines[0].startswith(PREFIX), err
    return lines[0].removeprefix(PREFIX)


# -- exit codes ----------------------------------------------------------------------------


def test_every_input_an_error_row_exits_4_with_a_summary(
    tiny_llava_15_path, images, tmp_path, capsys
):
    for name in ("a.png", "b.png"):
        (images / name).write_bytes(b"not a png")
    out = tmp_path / "rows.jsonl"
    assert main(_argv(tiny_llava_15_path, images, out)) == 4
    captured = capsys.readouterr()
    assert json.loads(captured.out)["errors"] == 2
    assert captured.err.strip() == (
        f"collect: 2 of 2 inputs failed (error rows in {out}; --retry-errors runs them "
        "again); most common: UnidentifiedImageError (2 of 2), e.g. cannot identify image "
        "file " + captured.err.split("e.g. cannot identify image file ")[1].strip()
    )
    # Run again: nothing to run, and still no input has an ok row.
    assert main(_argv(tiny_llava_15_path, images, out)) == 4
    assert "2 of 2 inputs failed" in capsys.readouterr().err


def test_some_error_rows_exit_3_and_a_clean_resume_exits_0(
    tiny_llava_15_path, images, tmp_path, capsys
):
    (images / "b.png").write_bytes(b"not a png")
    out = tmp_path / "rows.jsonl"
    assert main(_argv(tiny_llava_15_path, images, out)) == 3
    err = capsys.readouterr().err
    assert f"collect: 1 of 2 inputs failed (error rows in {out}; --retry-errors" in err
    assert "most common: UnidentifiedImageError (1 of 1), e.g. cannot identify image" in err
    # A resume that runs nothing still has the error row: 3.
    assert main(_argv(tiny_llava_15_path, images, out)) == 3
    capsys.readouterr()
    _save_png(images / "b.png", 1)
    assert main(_argv(tiny_llava_15_path, images, out, "--retry-errors")) == 0
    assert capsys.readouterr().err == ""
    assert main(_argv(tiny_llava_15_path, images, out)) == 0
    assert capsys.readouterr().err.strip() == "nothing to do: all 2 inputs already have rows"
    assert [r["status"] for r in read_rows(out)] == ["ok", "ok"]


def test_a_failed_generation_after_ok_rows_exits_4(
    tiny_llava_15_path, images, tmp_path, monkeypatch, capsys
):
    """Every input this run certified failed: 4, even though an earlier run left ok rows."""
    out = tmp_path / "rows.jsonl"
    assert main(_argv(tiny_llava_15_path, images, out, "--limit", "1")) == 0

    def failing(*args, **kwargs):
        raise RuntimeError("CUDA out of memory (simulated)")

    monkeypatch.setattr(campaign_module, "certify", failing)
    capsys.readouterr()
    assert main(_argv(tiny_llava_15_path, images, out)) == 4
    err = capsys.readouterr().err
    assert "1 of 2 inputs failed" in err
    assert "most common: RuntimeError (1 of 1), e.g. CUDA out of memory (simulated)" in err


@pytest.mark.parametrize("layout", ["empty folder", "no images", "empty jsonl"])
def test_an_empty_dataset_exits_2_before_the_model_loads(
    layout, tmp_path, capsys, no_model_load, tiny_llava_15_path
):
    data = tmp_path / "data"
    data.mkdir()
    prompt = PROMPT
    if layout == "no images":
        (data / "notes.txt").write_text("no images here")
    elif layout == "empty jsonl":
        data = data / "data.jsonl"
        data.write_text("\n")
        prompt = None
    code = _main(_argv(tiny_llava_15_path, data, tmp_path / "rows.jsonl", prompt=prompt))
    assert code == 2
    assert _one_error_line(capsys).startswith(f"--data: no inputs in {data} (")
    assert not (tmp_path / "rows.jsonl").exists()


def test_limit_must_be_at_least_1(images, tmp_path, capsys, no_model_load, tiny_llava_15_path):
    argv = _argv(tiny_llava_15_path, images, tmp_path / "rows.jsonl", "--limit", "0")
    assert _main(argv) == 2
    assert "argument --limit: must be an integer >= 1, got 0" in capsys.readouterr().err


def test_help_lists_the_exit_codes(capsys):
    assert _main(["collect", "--help"]) == 0
    out = capsys.readouterr().out
    for line in ("0    every input has an ok row", "2    bad arguments", "3    partial failure"):
        assert line in out
    assert "4    every input this run certified failed" in out and "130  interrupted" in out


# -- bad files, found before the model loads -----------------------------------------------


def _row_line(row_id):
    return json.dumps({"id": row_id, "config_hash": "h", "status": "error", "prompt": "p"})


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("garbage mid-file", r"--out: .*rows\.jsonl:2: not valid JSON"),
        ("json list row", r"--out: .*rows\.jsonl:1: not a row"),
        ("out is a directory", r"--out: .* is a directory"),
        ("out in a missing folder", r"--out: the folder .*missing does not exist"),
        ("parquet in a missing folder", r"--parquet: the folder .*missing does not exist"),
    ],
)
def test_a_bad_out_or_parquet_exits_2_without_loading_the_model(
    case, message, tiny_llava_15_path, images, tmp_path, capsys, no_model_load
):
    out, extra = tmp_path / "rows.jsonl", []
    if case == "garbage mid-file":
        out.write_text(_row_line("a.png") + "\n{oops\n" + _row_line("b.png") + "\n")
    elif case == "json list row":
        out.write_text("[1, 2]\n")
    elif case == "out is a directory":
        out.mkdir()
    elif case == "out in a missing folder":
        out = tmp_path / "missing" / "rows.jsonl"
    else:
        extra = ["--parquet", str(tmp_path / "missing" / "rows.parquet")]
    before = out.read_bytes() if out.is_file() else None
    assert _main(_argv(tiny_llava_15_path, images, out, *extra)) == 2
    assert re.match(message, _one_error_line(capsys))
    assert (out.read_bytes() if out.is_file() else None) == before


def test_the_ray_backend_checks_the_output_before_ray_starts(
    tiny_llava_15_path, images, tmp_path, capsys, monkeypatch
):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` would raise ImportError
    out = tmp_path / "rows.jsonl"
    out.write_text("[1, 2]\n")
    assert _main(_argv(tiny_llava_15_path, images, out, "--backend", "ray")) == 2
    assert re.match(r"--out: .*rows\.jsonl:1: not a row", _one_error_line(capsys))


def test_an_output_locked_by_another_run_exits_2(
    tiny_llava_15_path, images, tmp_path, capsys, no_model_load
):
    from sampler._lock import output_lock

    out = tmp_path / "rows.jsonl"
    locked, release = threading.Event(), threading.Event()

    def hold():
        with output_lock(out):
            locked.set()
            release.wait(60)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert locked.wait(60)
        assert _main(_argv(tiny_llava_15_path, images, out)) == 2
    finally:
        release.set()
        holder.join()
    assert _one_error_line(capsys).startswith(f"--out: {out} is being written by another")


def test_a_configuration_change_exits_2_naming_out(tiny_llava_15_path, images, tmp_path, capsys):
    out = tmp_path / "rows.jsonl"
    assert main(_argv(tiny_llava_15_path, images, out, "--limit", "1")) == 0
    capsys.readouterr()
    argv = _argv(tiny_llava_15_path, images, out)
    argv[argv.index("--sigma") + 1] = "0.25"
    assert main(argv) == 2
    message = _one_error_line(capsys)
    assert message.startswith(f"--out: {out} holds rows of another configuration")
    assert "--allow-config-change" in message
    assert len(read_rows(out)) == 1


# -- the oracle's error rate ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("oracle", "eps", "message"),
    [
        (
            "refusal",
            "0.7",
            "--oracle-eps must lie in [0, (K - 1)/K) = [0, 0.5) for num_classes=2, got 0.7 "
            "(--oracle refusal has 2 classes: refusal, compliance)",
        ),
        (
            "actions",
            "0.9",
            "--oracle-eps must lie in [0, (K - 1)/K) = [0, 0.857143) for num_classes=7, got "
            "0.9 (--oracle actions has 7 classes: move forward, turn left, turn right, stop, "
            "pick up, place, unparseable)",
        ),
    ],
)
def test_an_oracle_eps_out_of_range_exits_2_before_the_model_loads(
    oracle, eps, message, tiny_llava_15_path, images, tmp_path, capsys, no_model_load
):
    argv = _argv(tiny_llava_15_path, images, tmp_path / "rows.jsonl", "--oracle-eps", eps)
    argv[argv.index("--oracle") + 1] = oracle
    assert _main(argv) == 2
    assert _one_error_line(capsys) == message


def test_run_refuses_an_oracle_eps_out_of_range_before_any_input(vlm15, images, tmp_path):
    out = tmp_path / "rows.jsonl"
    config = CertifyConfig(n0=1, n=2, sigma=0.5, seed=0, batch_size=2, oracle_error=0.7)
    with pytest.raises(ValueError, match=r"oracle_error must lie in \[0, \(K - 1\)/K\)"):
        run(vlm15, images, out, config=config, oracle=RefusalJudge(), prompt=PROMPT)
    assert not out.exists() or read_rows(out) == []
    # In range for the oracle's classes, and 'unknown': accepted.
    run_config(vlm15, config=config.replace(oracle_error=0.3), oracle=RefusalJudge())
    run_config(vlm15, config=config.replace(oracle_error="unknown"), oracle=RefusalJudge())


# -- the model: its resolution and its identity in the hash -------------------------------


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ("./no-such-model", "--model: no such directory ./no-such-model, and not a model id"),
        ("a/b/c", "--model: no such directory a/b/c, and not a model id in the local cache"),
        ("~/no-such-model", "--model: no such directory ~/no-such-model, and not a model id"),
        ("no-org/no-such-model", "--model: no such directory no-org/no-such-model, and not a "),
    ],
)
def test_a_missing_model_exits_2_before_anything_heavy(
    model, message, images, tmp_path, capsys, monkeypatch, no_model_load, hub_cache
):
    monkeypatch.chdir(tmp_path)
    assert _main(_argv(model, images, tmp_path / "rows.jsonl")) == 2
    line = _one_error_line(capsys)
    assert line.startswith(message), line
    assert "Repo id must be" not in line


def test_the_path_as_typed_does_not_change_the_hash(
    tiny_llava_15_path, images, tmp_path, capsys, monkeypatch
):
    out = tmp_path / "rows.jsonl"
    monkeypatch.chdir(tiny_llava_15_path.parent)
    name = tiny_llava_15_path.name
    spellings = [name, f"./{name}", str(tiny_llava_15_path.resolve())]
    assert main(_argv(spellings[0], images, out)) == 0
    for spelling in spellings[1:]:
        assert main(_argv(spelling, images, out)) == 0
    summaries = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(s["skipped"], s["ok"]) for s in summaries] == [(0, 2), (2, 0), (2, 0)]
    rows = read_rows(out)
    assert rows[0]["config"]["model"]["path_as_given"] == name
    assert config_hash(rows[0]["config"]) == rows[0]["config_hash"]
    assert rows[0]["config"]["model"]["model"]["source"] == "directory"
    assert set(rows[0]["config"]["model"]["model"]["files"]) == {
        "config.json",
        "model.safetensors",
    }


def test_other_weights_give_another_hash(tiny_llava_15_path, tmp_path):
    other = build_tiny_llava(tmp_path / "seed1", version="1.5", seed=1)
    config = CertifyConfig(n0=1, n=2, sigma=0.5, seed=0, batch_size=2)
    hashes = []
    for path in (tiny_llava_15_path, other):
        vlm = VLM.from_pretrained(path, device="cpu")
        hashes.append(config_hash(run_config(vlm, config=config, oracle=RefusalJudge())))
        assert vlm.config_dict()["path_as_given"] == str(path)
    assert hashes[0] != hashes[1]
    ids = [
        identity_module.model_identity(identity_module.resolve_model(p))
        for p in (
            tiny_llava_15_path,
            other,
        )
    ]
    assert ids[0]["files"]["config.json"] == ids[1]["files"]["config.json"]
    assert ids[0]["files"]["model.safetensors"] != ids[1]["files"]["model.safetensors"]


def test_weight_digests_are_cached_by_path_size_and_mtime(tmp_path, monkeypatch, digest_cache):
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    weights = model / "model.safetensors"
    weights.write_bytes(b"weights " * 1000)
    hashed = []
    real = identity_module._sha256
    monkeypatch.setattr(identity_module, "_sha256", lambda p: hashed.append(p.name) or real(p))
    first = identity_module.model_identity(identity_module.resolve_model(model))
    assert first["files"]["model.safetensors"] == real(weights)
    assert sorted(hashed) == ["config.json", "model.safetensors"]
    cache = json.loads(digest_cache.read_text())
    assert cache[os.path.realpath(weights)]["sha256"] == real(weights)
    hashed.clear()
    assert identity_module.model_identity(identity_module.resolve_model(model)) == first
    assert hashed == ["config.json"]  # the weights come from the cache
    weights.write_bytes(b"other weights " * 1000)
    second = identity_module.model_identity(identity_module.resolve_model(model))
    assert "model.safetensors" in hashed and second != first
    # An unwritable cache is no cache, not an error.
    monkeypatch.setenv("XDG_CACHE_HOME", str(weights))  # a file: its "subfolder" cannot exist
    assert identity_module.model_identity(identity_module.resolve_model(model)) == second


def test_a_hub_id_resolves_to_its_cached_commit_and_blobs(hub_cache):
    repo = hub_cache / "models--org--tiny"
    commit = "0123456789abcdef0123456789abcdef01234567"
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    (repo / "blobs").mkdir()
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    blobs = {"config.json": "a" * 40, "model.safetensors": "b" * 64}
    for name, blob in blobs.items():
        (repo / "blobs" / blob).write_text(name)
        (snapshot / name).symlink_to(pathlib.Path("..", "..", "blobs", blob))
    resolved = identity_module.resolve_model("org/tiny")
    assert (resolved.kind, resolved.repo_id, resolved.revision) == ("hub", "org/tiny", commit)
    assert resolved.path == snapshot
    assert identity_module.resolve_model("org/tiny", revision=commit) == resolved
    assert identity_module.model_identity(resolved) == {
        "source": "hub",
        "id": "org/tiny",
        "revision": commit,
        "files": blobs,
    }
    with pytest.raises(ValueError, match="not a model id in the local cache at revision 'v2'"):
        identity_module.resolve_model("org/tiny", revision="v2")


def test_rsvlm_cache_dir_takes_the_digest_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("RSVLM_CACHE_DIR", str(tmp_path / "own"))
    assert identity_module._cache_file() == tmp_path / "own" / "sha256.json"


def test_an_oracle_model_is_hashed_by_its_identity_not_its_spelling(
    tiny_text_encoder_path, tmp_path, monkeypatch
):
    from sampler._run_config import _oracle_config, config_hash

    class Encoder:  # what the oracles hold: a model whose config names its path
        def __init__(self, name):
            self.config = type("Config", (), {"_name_or_path": name})()

    class Oracle:
        labels = ("a", "b")

        def __init__(self, name):
            self.model = Encoder(name)

    folder = pathlib.Path(tiny_text_encoder_path)
    monkeypatch.chdir(folder.parent)
    spellings = [str(folder), f"./{folder.name}", folder.name]
    configs = [{"oracle": _oracle_config(Oracle(s), "cluster-embedding")} for s in spellings]
    assert all(c["oracle"]["model_as_given"] == s for c, s in zip(configs, spellings, strict=True))
    assert isinstance(configs[0]["oracle"]["model"], dict)  # the identity, not the spelling
    assert len({config_hash(c) for c in configs}) == 1
    other = {"oracle": _oracle_config(Oracle("built-in-memory"), "cluster-embedding")}
    assert other["oracle"]["model"] == "built-in-memory"
    assert config_hash(other) != config_hash(configs[0])


# -- the sequential rule ---------------------------------------------------------------------


def _drop(argv, flag):
    """``argv`` without ``flag`` and its value."""
    i = argv.index(flag)
    return argv[:i] + argv[i + 2 :]


@pytest.mark.parametrize(
    ("extra", "drop_n", "message"),
    [
        ([], True, "--n is required (estimation samples), unless --sequential"),
        *(
            ([flag, value], False, f"{flag} applies to --sequential only")
            for flag, value in (("--radius", "0.1"), ("--n-max", "8"), ("--look-every", "4"))
        ),
        (
            ["--sequential"],
            False,
            "--radius is required with --sequential (the target radius of the rule)",
        ),
        (
            ["--sequential", "--radius", "0.1", "--n-max", "8"],
            False,
            "give one of --n and --n-max with --sequential, not both: --n-max is the largest "
            "number of estimation samples and defaults to --n",
        ),
        (
            ["--sequential", "--radius", "0.1"],
            True,
            "--sequential needs --n-max (the largest number of estimation samples) or --n",
        ),
        (
            ["--sequential", "--radius", "0.1", "--oracle-eps", "0.1"],
            False,
            "--oracle-eps does not apply with --sequential: the sequential rule offers no "
            "oracle-error correction (a correction changes the bound on p_A, hence the "
            "boundaries); leave it out or certify with a fixed --n",
        ),
        (
            ["--sequential", "--radius", "0.1", "--look-every", "3"],
            False,
            "--look-every 3 must be a multiple of --batch-size 2 (every look must end a forward "
            "batch, so that the draws are those of a fixed n)",
        ),
        (
            ["--sequential", "--radius", "5"],
            False,
            "--radius: radius / sigma = 10.0 is too large: p* = Phi(radius / sigma) rounds to 1, "
            "which no count certifies (radius must be below about 8.2 sigma)",
        ),
    ],
)
def test_sequential_options_that_make_no_sense_exit_2_before_the_model_loads(
    extra, drop_n, message, tiny_llava_15_path, images, tmp_path, capsys, no_model_load
):
    argv = _argv(tiny_llava_15_path, images, tmp_path / "rows.jsonl", *extra)
    argv = _drop(argv, "--n") if drop_n else argv
    assert _main(argv) == 2
    assert _one_error_line(capsys) == message
    assert not (tmp_path / "rows.jsonl").exists()


def test_collect_sequential_writes_the_stops_and_resumes(tiny_llava_15_path, images, tmp_path):
    """``--sequential --radius R --n-max N --look-every L``: one row per input holding its
    stop; the rule is in the hash (a fixed-n file is another configuration); a second run
    resumes with nothing to do; --n alone gives the same rule as --n-max."""
    out = tmp_path / "rows.jsonl"
    seq = ["--sequential", "--radius", "0.05", "--look-every", "4"]
    argv = [*_drop(_argv(tiny_llava_15_path, images, out, *seq), "--n"), "--n-max", "8"]
    assert _main(argv) == 0
    rows = read_rows(out)
    assert sorted(r["id"] for r in rows) == ["a.png", "b.png"]
    for r in rows:
        assert r["stop_reason"] in ("certified", "futility", "n_max")
        assert r["samples"] == 1 + r["n"] and r["n"] in (4, 8) and r["look_every"] == 4
        assert r["config"]["sequential"] == {
            "radius": 0.05,
            "n_max": 8,
            "prior": None,
            "look_every": 4,
        }
    assert _main(argv) == 0
    assert len(read_rows(out)) == 2
    # --n 8 instead of --n-max 8: the same rule, the same hash (nothing to do).
    same = _argv(tiny_llava_15_path, images, out, *seq)
    same[same.index("--n") + 1] = "8"
    assert _main(same) == 0 and len(read_rows(out)) == 2
    # The fixed-n configuration is another one.
    assert _main(_argv(tiny_llava_15_path, images, out)) == 2


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--in-flight", "0"], "argument --in-flight: must be an integer >= 1, got 0"),
        (["--in-flight", "x"], "argument --in-flight: must be an integer >= 1, got 'x'"),
        (
            ["--early-stop", "--oracle", "llm-judge", "--oracle-model", "m"],
            "--early-stop needs an oracle that declares final labels of prefixes (refusal, "
            "actions), not --oracle llm-judge: its label depends on the whole text",
        ),
        (["--device-map", "{1"], "argument --device-map: not a JSON dict: "),
        (
            ["--device-map", "auto", "--device", "cpu"],
            "--device-map places the modules: give --device auto, not --device cpu",
        ),
        (["--device-map", '{"": -1}'], "--device-map: "),
    ],
)
def test_packing_early_stop_and_device_map_refusals_exit_2_before_the_model_loads(
    extra, message, tiny_llava_15_path, images, tmp_path, capsys, no_model_load
):
    argv = _argv(tiny_llava_15_path, images, tmp_path / "rows.jsonl", *extra)
    assert _main(argv) == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]  # after argparse's usage
    assert last.removeprefix(PREFIX).startswith(message), last
    assert not (tmp_path / "rows.jsonl").exists()


def test_device_map_parsing():
    from sampler._cli_collect_parser import _device_map

    assert _device_map("auto") == "auto"
    assert _device_map("cpu") == {"": "cpu"}
    assert _device_map('{"model": 0, "lm_head": "cpu"}') == {"model": 0, "lm_head": "cpu"}


def test_collect_in_flight_writes_the_rows_of_one_by_one(
    tiny_llava_15_path, images, tmp_path, capsys
):
    one, packed = tmp_path / "one.jsonl", tmp_path / "packed.jsonl"
    assert _main(_argv(tiny_llava_15_path, images, one)) == 0
    assert _main(_argv(tiny_llava_15_path, images, packed, "--in-flight", "2")) == 0
    err = capsys.readouterr().err
    assert "packing: " in err and " fill " in err

    def strip(path):
        return {r["id"]: {k: v for k, v in r.items() if k != "timings"} for r in read_rows(path)}

    assert strip(packed) == strip(one)
