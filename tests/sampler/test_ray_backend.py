"""Tests of sampler._ray_backend (``run_ray``, ``collect --backend ray``) on one local Ray
cluster of 2 CPUs: rows and configuration hash equal to the local backend's, a worker
process killed mid-run (restarted, every row exactly once), a driver interrupted and
resumed (only the missing rows written; files started by one backend finished by the
other), packed workers (``in_flight``), the command line end to end and its argument
errors."""

import json
import os
import pathlib
import re
import sys

import pytest

from sampler import CertifyConfig
from sampler.__main__ import main
from sampler._campaign import Writer
from sampler.models import DecodingConfig
from sampler.run import VLMLoader, read_rows, run, run_ray, start_local_cluster
from tests.sampler import _campaign_stubs as stubs

ray = pytest.importorskip("ray")

pytestmark = [
    pytest.mark.xdist_group("ray"),
    # Ray's own start-up warnings (its token authentication notice, pydantic / pkg_resources
    # deprecations inside ray); anything else stays an error.
    pytest.mark.filterwarnings("ignore::DeprecationWarning:ray.*"),
    pytest.mark.filterwarnings("ignore::FutureWarning:ray.*"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
]

PROMPT = stubs.PROMPT
KW = dict(
    config=CertifyConfig(n0=4, n=16, sigma=0.5, alpha=0.01, batch_size=8, seed=0),
    prompt=PROMPT,
    progress=False,
    oracle_name="first-word",
)
# The decoding of the `vlm15` fixture (tests/sampler/conftest.py): same configuration hash.
DECODING = DecodingConfig(max_new_tokens=6)
IDS = ["a.png", "b.png", "c.png", "d.png", "e.png"]


class KillOnce(stubs.FirstWord):
    """FirstWord that kills its worker process (``os._exit``) at its ``when``-th call, once
    per ``marker`` file: the first worker to get there dies mid-input, later ones do not."""

    def __init__(self, marker, when=3):
        self.marker, self.when, self.calls = str(marker), when, 0

    def __call__(self, texts):
        self.calls += 1
        if self.calls == self.when and not os.path.exists(self.marker):
            pathlib.Path(self.marker).write_text(str(os.getpid()))
            os._exit(1)
        return super().__call__(texts)


@pytest.fixture(scope="module")
def cluster():
    # Classes of the test modules travel to the workers by value (the workers cannot import
    # test modules by name).
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    ray.cloudpickle.register_pickle_by_value(stubs)
    start_local_cluster(num_cpus=2, log_to_driver=False, logging_level="ERROR")
    yield
    ray.shutdown()


@pytest.fixture
def images(tmp_path):
    root = tmp_path / "images"
    for i, name in enumerate(IDS):
        stubs.save_png(root / name, i)
    return root


def _loader(path, oracle=None):
    return VLMLoader(
        path,
        device="cpu",
        decoding=DECODING,
        oracle=stubs.FirstWord() if oracle is None else oracle,
    )


def _sorted(rows):
    """Rows without timings, by id; object addresses in error messages (``<_io.BytesIO object
    at 0x...>``, which differ between processes) blanked."""
    rows = sorted(stubs.strip_timings(rows), key=lambda r: r["id"])
    for r in rows:
        if r["error"] is not None:
            message = re.sub(r"0x[0-9a-f]+", "0x", r["error"]["message"])
            r["error"] = {**r["error"], "message": message}
    return rows


def _local(vlm, images, out, oracle=None, **kw):
    return run(
        vlm,
        images,
        out,
        oracle=stubs.FirstWord() if oracle is None else oracle,
        **{**KW, **kw},
    )


def test_rows_and_hash_equal_the_local_backend(
    cluster, vlm15, tiny_llava_15_path, images, tmp_path
):
    (images / "broken.png").write_bytes(b"not a png")  # an error row, alike in both
    got = run_ray(_loader(tiny_llava_15_path), images, tmp_path / "ray.jsonl", workers=2, **KW)
    want = _local(vlm15, images, tmp_path / "local.jsonl")
    assert got.config_hash == want.config_hash
    assert (got.inputs, got.skipped, got.ok, got.errors) == (6, 0, 5, 1)
    assert (want.ok, want.errors) == (5, 1)
    rows = read_rows(tmp_path / "ray.jsonl")
    assert sorted(r["id"] for r in rows) == sorted([*IDS, "broken.png"])
    assert _sorted(rows) == _sorted(read_rows(tmp_path / "local.jsonl"))
    assert all("finished_at" in r["timings"] for r in rows)


def test_a_killed_worker_is_restarted_and_every_row_written_once(
    cluster, vlm15, tiny_llava_15_path, images, tmp_path
):
    marker = tmp_path / "killed.pid"
    out = tmp_path / "ray.jsonl"
    summary = run_ray(
        _loader(tiny_llava_15_path, KillOnce(marker)), images, out, workers=2, max_in_flight=2, **KW
    )
    assert marker.exists()  # a worker did die, in the middle of its second input
    assert summary.ok == 5 and summary.errors == 0
    rows = read_rows(out)
    assert sorted(r["id"] for r in rows) == IDS
    # The same rows as an uninterrupted local run with that oracle (the marker now exists).
    _local(vlm15, images, tmp_path / "local.jsonl", oracle=KillOnce(marker))
    assert _sorted(rows) == _sorted(read_rows(tmp_path / "local.jsonl"))


def test_packed_workers_write_the_local_rows_even_when_one_dies(
    cluster, vlm15, tiny_llava_15_path, images, tmp_path
):
    """``in_flight=2``: each task carries two inputs that the worker packs; a worker killed
    mid-task runs the whole task again; the rows are the local one-by-one rows and the
    summary sums the workers' packing stats."""
    marker = tmp_path / "killed.pid"
    out = tmp_path / "ray.jsonl"
    summary = run_ray(
        _loader(tiny_llava_15_path, KillOnce(marker)), images, out, workers=2, in_flight=2, **KW
    )
    assert marker.exists() and (summary.ok, summary.errors) == (5, 0)
    rows = read_rows(out)
    assert sorted(r["id"] for r in rows) == IDS
    want = _local(vlm15, images, tmp_path / "local.jsonl", oracle=KillOnce(marker))
    assert summary.config_hash == want.config_hash and want.packing is None
    assert _sorted(rows) == _sorted(read_rows(tmp_path / "local.jsonl"))
    stats = summary.packing
    assert stats["copies"] == sum(r["n0"] + r["n"] for r in rows) and stats["batch_size"] == 8
    assert stats["calls"] < stats["requests"]  # two inputs' copies shared calls


def test_an_interrupted_driver_resumes_and_backends_finish_each_others_files(
    cluster, vlm15, tiny_llava_15_path, images, tmp_path, monkeypatch
):
    _local(vlm15, images, tmp_path / "full.jsonl")
    out = tmp_path / "rows.jsonl"
    assert _local(vlm15, images, out, limit=1).ok == 1  # started locally
    real, written = Writer.write, []

    def interrupting(self, row):
        done = real(self, row)
        written.append(row["id"])
        if len(written) == 2:
            raise KeyboardInterrupt  # Ctrl-C in the driver after its second row
        return done

    monkeypatch.setattr(Writer, "write", interrupting)
    with pytest.raises(KeyboardInterrupt):
        run_ray(_loader(tiny_llava_15_path), images, out, workers=1, **KW)
    monkeypatch.undo()
    assert len(read_rows(out)) == 3
    middle = _local(vlm15, images, out, limit=4)  # the local backend goes on with it
    assert (middle.skipped, middle.ok) == (3, 1)
    with open(out, "ab") as f:  # and a crash cuts a row
        f.write(b'{"id": "x", "config')
    last = run_ray(_loader(tiny_llava_15_path), images, out, workers=1, **KW)
    assert last.repaired and (last.skipped, last.ok) == (4, 1)
    rows = read_rows(out)
    assert sorted(r["id"] for r in rows) == IDS
    assert _sorted(rows) == _sorted(read_rows(tmp_path / "full.jsonl"))
    assert _local(vlm15, images, out).skipped == 5


def _argv(model, images, out, *extra):
    return stubs.collect_argv(model, images, out, "--quiet", *extra)


def test_cli_backend_ray_end_to_end_equals_local(
    cluster, tiny_llava_15_path, images, tmp_path, capsys
):
    out = tmp_path / "ray.jsonl"
    assert main(_argv(tiny_llava_15_path, images, out, "--limit", "2")) == 0  # local start
    assert (
        main(
            _argv(
                tiny_llava_15_path,
                images,
                out,
                "--backend",
                "ray",
                "--workers",
                "2",
                "--max-in-flight",
                "1",
            )
        )
        == 0
    )
    assert main(_argv(tiny_llava_15_path, images, tmp_path / "local.jsonl")) == 0
    summaries = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")
    ]
    assert [(s["skipped"], s["ok"]) for s in summaries] == [(0, 2), (2, 3), (0, 5)]
    assert len({s["config_hash"] for s in summaries}) == 1
    rows = read_rows(out)
    assert sorted(r["id"] for r in rows) == IDS
    assert all(r["class_names"] == ["refusal", "compliance"] for r in rows)
    assert _sorted(rows) == _sorted(read_rows(tmp_path / "local.jsonl"))


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--backend", "spark"], "argument --backend: invalid choice: 'spark'"),
        (
            ["--backend", "ray", "--workers", "0"],
            "argument --workers: must be an integer >= 1, got 0",
        ),
        (
            ["--backend", "ray", "--max-in-flight", "x"],
            "argument --max-in-flight: must be an integer >= 1, got 'x'",
        ),
        (["--workers", "2"], "--workers applies to --backend ray only"),
        (["--address", "auto"], "--address applies to --backend ray only"),
        (
            ["--backend", "ray", "--workers", "64"],
            "--workers: workers must be in [1, 2] (the Ray cluster has 2 CPUs), got 64",
        ),
        (
            ["--backend", "ray", "--workers", "1", "--model", "/nonexistent/model"],
            "--model / --oracle: a worker cannot load '/nonexistent/model'",
        ),
    ],
)
def test_cli_bad_ray_arguments_exit_2_naming_the_option(
    cluster, tiny_llava_15_path, images, tmp_path, capsys, extra, message
):
    try:
        code = main(_argv(tiny_llava_15_path, images, tmp_path / "o.jsonl", *extra))
    except SystemExit as stop:  # argparse's own errors
        code = stop.code
    assert code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o.jsonl").exists()


def test_run_ray_argument_errors_and_missing_ray(
    cluster, tiny_llava_15_path, images, tmp_path, monkeypatch, capsys
):
    load = _loader(tiny_llava_15_path)
    for kw, message in (
        (dict(max_in_flight=0), "max_in_flight must be an integer >= 1, got 0"),
        (dict(workers=True), "workers must be an integer >= 1, got True"),
        (dict(max_restarts=-1), "max_restarts must be an integer >= 0, got -1"),
    ):
        with pytest.raises(ValueError, match=message):
            run_ray(load, images, tmp_path / "o.jsonl", **kw, **KW)
    with pytest.raises(ValueError, match="give at most one of oracle and make_oracle"):
        VLMLoader("x", oracle=stubs.FirstWord(), make_oracle=lambda device: None)
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    with pytest.raises(ImportError, match=r"pip install \.\[ray\]"):
        run_ray(load, images, tmp_path / "o.jsonl", **KW)
    assert main(_argv(tiny_llava_15_path, images, tmp_path / "o.jsonl", "--backend", "ray")) == 2
    assert "--backend ray: the Ray backend needs ray" in capsys.readouterr().err
    assert not (tmp_path / "o.jsonl").exists()


def test_run_ray_takes_runs_campaign_keywords_and_refuses_others(tmp_path):
    """run_ray's options are run's campaign keywords: any other keyword, the oracle among
    them (it comes from load), is a TypeError naming it, raised before Ray is touched."""
    for kw in (dict(KW, colour="red"), dict(colour="red"), dict(KW, oracle=None)):
        name = next(k for k in ("colour", "oracle") if k in kw)
        with pytest.raises(TypeError, match=repr(name)):
            run_ray(lambda: None, [], tmp_path / "o.jsonl", **kw)
    with pytest.raises(ValueError, match="limit must be an integer >= 1, got -1"):
        run_ray(lambda: None, [], tmp_path / "o.jsonl", **dict(KW, limit=-1))
    assert not (tmp_path / "o.jsonl").exists()


def test_a_sequential_campaign_on_ray_equals_the_local_one(
    cluster, vlm15, tiny_llava_15_path, images, tmp_path
):
    """The sequential rule runs on the workers through the same per-input path: same rows
    (the stops), same hash; the writer counts the samples each row drew."""
    from sampler import SequentialRule

    cfg = CertifyConfig(
        n0=4, sigma=0.5, seed=0, batch_size=4, sequential=SequentialRule(radius=0.05, n_max=12)
    )
    kw = {**KW, "config": cfg}
    got = run_ray(_loader(tiny_llava_15_path), images, tmp_path / "ray.jsonl", workers=2, **kw)
    want = _local(vlm15, images, tmp_path / "local.jsonl", **kw)
    assert got.config_hash == want.config_hash and got.ok == want.ok == len(IDS)
    rows = read_rows(tmp_path / "ray.jsonl")
    assert all(r["stop_reason"] in ("certified", "futility", "n_max") for r in rows)
    assert all(r["samples"] == 4 + r["n"] for r in rows)
    assert _sorted(rows) == _sorted(read_rows(tmp_path / "local.jsonl"))


def test_the_local_cluster_listens_on_the_loopback_interface_only(cluster):
    """start_local_cluster: the node and its control store are on 127.0.0.1, not on the
    machine's network address, and the process environment is left as it was."""
    assert ray.util.get_node_ip_address() == "127.0.0.1"
    assert ray.get_runtime_context().gcs_address.startswith("127.0.0.1:")
    assert "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER" not in os.environ
