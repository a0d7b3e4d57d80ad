"""Tests of PREDICT campaigns (``CertifyConfig(mode="predict")``, ``collect --mode
predict``): each row equals :func:`sampler.predict.predict` called on its input with the
input's own seed (the independent route), on a stub classifier and on the tiny LLaVA;
packing, resume after an interrupt, error rows and their retry, the Ray backend; the
configuration hash of certify campaigns unchanged (the mode is hashed only when it is not
the default); and the refusals of the library and of the command line."""

import json
import pathlib
import re
import sys

import pytest
import torch

from sampler.__main__ import main
from sampler.certify import CertifyConfig, SequentialRule, certify, derive_seed
from sampler.models import DecodingConfig
from sampler.predict import PREDICT_SUMMARY_KEYS, predict
from sampler.run import config_hash, load_image, read_dataset, read_rows, run, run_config
from tests.sampler._campaign_stubs import (
    PROMPT,
    FirstWord,
    interrupt_writes,
    linear_classifier,
    rows_by_id,
    run_classifier,
    save_images,
)

CLF = CertifyConfig(
    n0=1, n=20, sigma=0.5, alpha=0.05, seed=0, batch_size=8, num_classes=3, mode="predict"
)
VLM_CFG = CertifyConfig(
    n0=1,
    n=12,
    sigma=0.5,
    alpha=0.05,
    seed=0,
    batch_size=4,
    keep_texts=True,
    decoding=DecodingConfig(max_new_tokens=6),
    mode="predict",
)


class Clusters(FirstWord):
    """An oracle whose classes come from the sample (it has ``select``), as a clusterer."""

    def select(self, texts):  # pragma: no cover - never called: refused first
        raise AssertionError


@pytest.fixture
def images(tmp_path):
    return save_images(tmp_path, 6)


def _clf_run(data, out, config=CLF, **kw):
    return run_classifier(data, out, config, **kw)


def _expected(model, data, config, *, oracle=None, prompt=None):
    """``predict`` on each input of ``data`` with ``derive_seed(seed, "input", id)``."""
    out = {}
    for inp in read_dataset(data, prompt=prompt):
        seed = derive_seed(config.seed, "input", inp.id)
        image = load_image(pathlib.Path(inp.image).read_bytes())
        out[inp.id] = (
            seed,
            predict(model, image, inp.prompt, config=config.replace(seed=seed), oracle=oracle),
        )
    return out


def _check_rows_equal_predict(rows, expected):
    assert sorted(r["id"] for r in rows) == sorted(expected)
    for row in rows:
        seed, res = expected[row["id"]]
        assert row["status"] == "ok" and row["mode"] == "predict" and row["seed"] == seed
        assert {k: row[k] for k in PREDICT_SUMMARY_KEYS} == res.summary()
        assert row["labels"] == res.labels.tolist() and row["k"] == res.n_a
        assert row["noise"] == res.noise.to_dict()
        assert sum(row["counts"]) == row["n"] and row["counts"][row["top_class"]] == row["n_a"]


def test_classifier_rows_equal_predict_input_by_input(images, tmp_path):
    torch.set_num_threads(1)
    summary = _clf_run(images, tmp_path / "rows.jsonl")
    assert (summary.ok, summary.errors) == (6, 0)
    rows = read_rows(tmp_path / "rows.jsonl")
    expected = _expected(linear_classifier(), images, CLF)
    _check_rows_equal_predict(rows, expected)
    assert len({tuple(r["labels"]) for r in rows}) > 1  # the noise and the input matter
    assert all(r["config_hash"] == summary.config_hash for r in rows)
    assert rows[0]["config"]["mode"] == "predict"


def test_packed_rows_equal_the_one_by_one_rows(images, tmp_path):
    torch.set_num_threads(1)
    _clf_run(images, tmp_path / "one.jsonl")
    packed = _clf_run(images, tmp_path / "packed.jsonl", in_flight=3)
    rows = rows_by_id(tmp_path / "packed.jsonl")
    assert rows == rows_by_id(tmp_path / "one.jsonl")
    assert packed.packing["copies"] == sum(r["n"] for r in rows.values())
    assert packed.packing["copies"] == 6 * CLF.samples_per_input
    assert packed.packing["calls"] < packed.packing["requests"]  # copies shared calls


@pytest.mark.parametrize("in_flight", [1, 3])
def test_an_interrupted_run_resumes_to_the_same_rows(images, tmp_path, monkeypatch, in_flight):
    _clf_run(images, tmp_path / "full.jsonl")
    out = tmp_path / "rows.jsonl"
    seen = interrupt_writes(monkeypatch, at=3)
    with pytest.raises(KeyboardInterrupt):
        _clf_run(images, out, in_flight=in_flight)
    monkeypatch.undo()
    assert [r["id"] for r in read_rows(out)] == seen[:2]
    summary = _clf_run(images, out, in_flight=in_flight)
    assert (summary.skipped, summary.ok) == (2, 4)
    assert rows_by_id(out) == rows_by_id(tmp_path / "full.jsonl")


def test_error_rows_have_the_keys_of_ok_rows_and_are_retried(images, tmp_path):
    good = (images / "00.png").read_bytes()
    (images / "00.png").write_bytes(b"not a png")
    out = tmp_path / "rows.jsonl"
    first = _clf_run(images, out)
    assert (first.ok, first.errors) == (5, 1)
    rows = {r["id"]: r for r in read_rows(out)}
    bad, ok = rows["00.png"], rows["01.png"]
    assert bad["status"] == "error" and bad["error"]["type"] and set(bad) == set(ok)
    assert bad["top_class"] is None and bad["counts"] is None
    (images / "00.png").write_bytes(good)
    assert _clf_run(images, out).skipped == 6  # an error row counts as done
    again = _clf_run(images, out, retry_errors=True)
    assert (again.skipped, again.ok, again.errors) == (5, 1, 0)
    _check_rows_equal_predict(read_rows(out), _expected(linear_classifier(), images, CLF))


def test_vlm_rows_equal_predict_and_answer_the_returned_class(vlm15, images, tmp_path):
    torch.set_num_threads(1)
    kw = dict(config=VLM_CFG, oracle=FirstWord(), oracle_name="first-word", prompt=PROMPT)
    summary = run(vlm15, images, tmp_path / "rows.jsonl", progress=False, limit=4, **kw)
    assert (summary.ok, summary.errors) == (4, 0)
    rows = read_rows(tmp_path / "rows.jsonl")
    expected = _expected(vlm15, images, VLM_CFG, oracle=FirstWord(), prompt=PROMPT)
    expected = {i: expected[i] for i in sorted(expected)[:4]}
    _check_rows_equal_predict(rows, expected)
    for row in rows:
        texts = row["texts"]["predict"]
        assert len(texts) == row["n"] and row["class_names"] == list(FirstWord.labels)
        if row["abstain"]:
            assert row["answer"] is None
        else:  # the first copy in draw order labelled with the returned class
            first = row["labels"].index(row["top_class"])
            assert row["answer"] == texts[first]


def _hashed_by_hand(model, config, *, model_name):
    """The hashed configuration of a certify campaign in the layout of the releases before
    the mode (``sampler._run_config``'s docstring), built field by field."""
    rc = run_config(model, config=config, model_name=model_name)
    return {
        "model": rc["model"],
        "oracle": None,
        "oracle_correction": {"oracle_eps": None, "oracle_rates": None},
        "sigma": config.sigma,
        "n0": config.n0,
        "n": config.n,
        "alpha": config.alpha,
        "seed": config.seed,
        "batch_size": config.batch_size,
        "num_classes": config.num_classes,
    }


def test_the_certify_hash_is_unchanged_and_the_predict_hash_is_its_own(images, tmp_path):
    certify_cfg = CLF.replace(mode="certify", n0=4)
    assert "mode" not in certify_cfg.to_dict()
    summary = _clf_run(images, tmp_path / "certify.jsonl", certify_cfg, limit=2)
    by_hand = _hashed_by_hand(linear_classifier(), certify_cfg, model_name="linear-8x8")
    assert summary.config_hash == config_hash(by_hand)
    assert read_rows(tmp_path / "certify.jsonl")[0]["config"] == json.loads(json.dumps(by_hand))
    # An old run resumes: the same rows are skipped with the mode given explicitly.
    assert _clf_run(images, tmp_path / "certify.jsonl", certify_cfg, limit=2).skipped == 2
    # PREDICT: another hash; n0 (unused) is not part of it.
    predicted = _clf_run(images, tmp_path / "predict.jsonl", CLF.replace(n0=7), limit=2)
    assert predicted.config_hash != summary.config_hash
    assert predicted.config_hash == _clf_run(images, tmp_path / "p2.jsonl", limit=2).config_hash
    # A file of certify rows is not resumed as a predict campaign.
    with pytest.raises(ValueError, match="another configuration"):
        _clf_run(images, tmp_path / "certify.jsonl", limit=2)


def test_the_library_refuses_what_predict_cannot_run(images, tmp_path):
    with pytest.raises(ValueError, match=re.escape("mode must be one of ('certify', 'predict')")):
        CertifyConfig(n0=1, n=4, sigma=0.5, seed=0, mode="Predict")
    with pytest.raises(ValueError, match="sequential must be None with mode='predict'"):
        CertifyConfig(
            n0=1, sigma=0.5, seed=0, mode="predict", sequential=SequentialRule(radius=0.1, n_max=8)
        )
    with pytest.raises(ValueError, match="oracle_error must be None with mode='predict'"):
        CertifyConfig(n0=1, n=4, sigma=0.5, seed=0, mode="predict", oracle_error=0.1)
    with pytest.raises(ValueError, match="certify\\(\\) runs mode='certify'"):
        certify(linear_classifier(), torch.rand(3, 8, 8), config=CLF)
    out = tmp_path / "rows.jsonl"
    with pytest.raises(ValueError, match="classes fixed in advance"):
        run(
            linear_classifier(),
            images,
            out,
            config=CLF.replace(num_classes=None),
            oracle=Clusters(),
        )
    assert not out.exists() or read_rows(out) == []


# --------------------------------------------------------------------------- command line


def _argv(model, images, out, *extra):
    return [
        "collect",
        *("--model", str(model), "--data", str(images), "--out", str(out)),
        *("--n", "8", "--sigma", "0.25", "--oracle", "refusal", "--seed", "3"),
        *("--max-new-tokens", "4", "--batch-size", "4", "--prompt", PROMPT),
        *("--device", "cpu", "--quiet", "--limit", "3"),
        *extra,
    ]


def test_collect_mode_predict_writes_the_rows_of_run(
    tiny_llava_15_path, vlm15, images, tmp_path, capsys
):
    from sampler.oracles import RefusalJudge

    out = tmp_path / "cli.jsonl"
    assert (
        main(_argv(tiny_llava_15_path, images, out, "--mode", "predict", "--in-flight", "2")) == 0
    )
    summary = json.loads(capsys.readouterr().out.splitlines()[-1])
    cfg = CertifyConfig(
        n0=1,
        n=8,
        sigma=0.25,
        seed=3,
        batch_size=4,
        decoding=DecodingConfig(max_new_tokens=4),
        mode="predict",
    )
    rows = read_rows(out)
    expected = _expected(
        vlm15.with_decoding(cfg.decoding), images, cfg, oracle=RefusalJudge(), prompt=PROMPT
    )
    _check_rows_equal_predict(rows, {i: expected[i] for i in sorted(expected)[:3]})
    assert summary["ok"] == 3 and rows[0]["config_hash"] == summary["config_hash"]
    assert main(_argv(tiny_llava_15_path, images, out, "--mode", "predict")) == 0  # resume
    assert "nothing to do" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--mode", "predict", "--n0", "4"], "--n0 does not apply with --mode predict"),
        (
            ["--mode", "predict", "--sequential", "--radius", "0.1"],
            "--sequential does not apply with --mode predict",
        ),
        (
            ["--mode", "predict", "--oracle-eps", "0.1"],
            "--oracle-eps does not apply with --mode predict",
        ),
        (
            ["--mode", "predict", "--oracle", "cluster-embedding", "--oracle-model", "x"],
            "needs an oracle with classes fixed in advance",
        ),
        ([], "--n0 is required, unless --mode predict"),
        (["--mode", "guess"], "argument --mode: invalid choice: 'guess'"),
    ],
)
def test_collect_mode_refusals_exit_2_before_the_model_loads(
    tiny_llava_15_path, images, tmp_path, capsys, monkeypatch, extra, message
):
    from sampler.models import VLM

    monkeypatch.setattr(VLM, "from_pretrained", lambda *a, **k: pytest.fail("model loaded"))
    try:
        code = main(_argv(tiny_llava_15_path, images, tmp_path / "o.jsonl", *extra))
    except SystemExit as stop:  # argparse's own errors
        code = stop.code
    assert code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "o.jsonl").exists()


# --------------------------------------------------------------------------- Ray


@pytest.mark.slow  # a Ray cluster of its own: about a minute
@pytest.mark.xdist_group("ray")
@pytest.mark.filterwarnings("ignore::DeprecationWarning:ray.*")
@pytest.mark.filterwarnings("ignore::FutureWarning:ray.*")
@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_a_predict_campaign_on_ray_equals_the_local_one(
    tiny_llava_15_path, vlm15, images, tmp_path
):
    ray = pytest.importorskip("ray")
    from sampler.run import VLMLoader, run_ray, start_local_cluster

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    ray.cloudpickle.register_pickle_by_value(sys.modules[FirstWord.__module__])  # _campaign_stubs
    kw = dict(config=VLM_CFG, oracle_name="first-word", prompt=PROMPT, progress=False, limit=4)
    local = run(vlm15, images, tmp_path / "local.jsonl", oracle=FirstWord(), **kw)
    load = VLMLoader(
        tiny_llava_15_path,
        device="cpu",
        decoding=DecodingConfig(max_new_tokens=6),
        oracle=FirstWord(),
    )
    start_local_cluster(num_cpus=2, log_to_driver=False, logging_level="ERROR")
    try:
        out = tmp_path / "ray.jsonl"
        first = run_ray(load, images, out, workers=2, **{**kw, "limit": 2})
        rest = run_ray(load, images, out, workers=2, in_flight=2, **kw)
    finally:
        ray.shutdown()
    assert first.config_hash == rest.config_hash == local.config_hash
    assert (first.ok, rest.skipped, rest.ok) == (2, 2, 2)
    assert rows_by_id(out) == rows_by_id(tmp_path / "local.jsonl")
