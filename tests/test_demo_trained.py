"""The demo's trained kind (:mod:`rsvlm._demo_trained`) wired end to end on a model trained
for two steps (a temporary cache): toy inputs, answer-class rows, the refusal judge on the
kept texts and the sweep over sigma, checked against the toy task's generator and an
independent Clopper-Pearson / Gaussian-quantile route (SciPy)."""

from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest

THEOREM = "radius.cohen2019_thm1"
# One in-process demo (two training steps, collection, sweep, analysis): about 13 s on an
# idle 2-core machine, so in the default selection.


@pytest.fixture(scope="module")
def trained_demo(tmp_path_factory):
    from rsvlm._demo import DemoConfig, run_demo
    from sampler._train_tiny import TrainConfig

    tmp = tmp_path_factory.mktemp("trained")
    cfg = DemoConfig(
        out_dir=str(tmp / "report"),
        cache_dir=str(tmp / "cache"),
        train_config=TrainConfig(steps=2, batch_size=4, hidden=16, layers=1, warmup=0),
        images=4,
        n0=4,
        n=16,
        batch_size=16,
        repeats=2,
        skip_published=True,
        theorems=[THEOREM],
        sweep_images=2,
        sweep_n=8,
        attack_steps=2,
        attack_draws=2,
        attack_n=16,
    )
    path, ok = run_demo(cfg, log=lambda s: None)
    res = json.loads((path.parent / "report.json").read_text())
    return cfg, res, path.read_text(), ok


def test_steps_succeed(trained_demo):
    _, res, md, ok = trained_demo
    failed = {k: v["error"] for k, v in res["steps"].items() if not v["ok"]}
    assert ok and not failed, failed
    assert res["config"]["model_kind"] == "trained" and res["config"]["oracle"] == "answers"
    assert "trained on a toy task" in md and "## Toy task: answer classes and refusal" in md


def test_answer_words_are_the_toy_tasks():
    from rsvlm._demo_trained import ANSWER_WORDS
    from sampler._toy_task import COLOURS, SHAPES

    assert ANSWER_WORDS == (*SHAPES, *COLOURS)


def test_inputs_are_held_out_toy_images(trained_demo):
    from PIL import Image

    from rsvlm._demo_trained import HELD_OUT_SEED
    from sampler._toy_task import QUESTIONS, toy_images

    cfg, res, _, _ = trained_demo
    toy = res["toy_inputs"]
    assert len(res["images"]) == cfg.images and any(toy["forbidden"]) and not all(toy["forbidden"])
    pool = toy_images(4 * cfg.images + 8, seed=HELD_OUT_SEED + cfg.seed, forbidden_rate=0.25)
    for path, kind, prompt, shape, colour, mark in zip(
        res["images"],
        toy["kinds"],
        toy["prompts"],
        toy["shapes"],
        toy["colours"],
        toy["forbidden"],
        strict=True,
    ):
        assert prompt in QUESTIONS[kind]
        pixels = np.asarray(Image.open(path), dtype=np.float64) / 255.0  # (28, 28, 3)
        # the PNG is one of the pool's images (quantised to 8 bits) with the same labels
        errs = [np.abs(pixels - img.permute(1, 2, 0).numpy()).max() for img in pool.images]
        i = int(np.argmin(errs))
        assert errs[i] <= 0.5 / 255 + 1e-6
        assert (int(pool.shapes[i]), int(pool.colours[i]), bool(pool.forbidden[i])) == (
            shape,
            colour,
            mark,
        )


def test_rows_have_the_toy_classes(trained_demo):
    from rsvlm._demo_trained import ANSWER_WORDS, target_class
    from sampler._toy_task import answer_for
    from sampler.run import read_rows

    _, res, _, _ = trained_demo
    rows = read_rows(res["collect"]["rows"])
    assert res["collect"]["class_names"] == [*ANSWER_WORDS, "unparseable"]
    toy = res["toy_inputs"]
    for r in rows:
        assert r["class_names"] == [*ANSWER_WORDS, "unparseable"]
        assert all(0 <= c <= len(ANSWER_WORDS) for c in r["estimation_labels"])
        for text, label in zip(r["texts"]["estimation"], r["estimation_labels"], strict=True):
            words = [w for w in ANSWER_WORDS if w in text.lower()]  # text holds its class word
            assert (label == len(ANSWER_WORDS)) == (not words)
    for j in range(len(toy["paths"])):
        word = answer_for(toy["kinds"][j], toy["shapes"][j], toy["colours"][j], toy["forbidden"][j])
        t = target_class(toy["kinds"][j], toy["shapes"][j], toy["colours"][j], toy["forbidden"][j])
        assert (res["collect"]["class_names"][t] == word) != toy["forbidden"][j]


def test_refusal_certificates_match_scipy(trained_demo):
    """The refusal judge's top class and k recounted from the kept texts; the certificate by
    Clopper-Pearson (``beta.ppf``) and ``sigma * norm.ppf`` (Cohen et al. 2019, Theorem 1)."""
    from scipy import stats

    from sampler.oracles import RefusalJudge
    from sampler.run import read_rows

    cfg, res, _, _ = trained_demo
    judge = RefusalJudge()
    rows = {r["id"]: r for r in read_rows(res["collect"]["rows"])}
    assert len(res["toy_task"]["inputs"]) == cfg.images
    for p in res["toy_task"]["inputs"]:
        texts = rows[p["id"]]["texts"]
        sel = [int(c) for c in judge(texts["selection"])]
        counts = [sel.count(c) for c in range(judge.num_classes)]
        top = counts.index(max(counts))  # ties to the lower id
        k = sum(int(c) == top for c in judge(texts["estimation"]))
        assert p["refusal"] == judge.labels[top] and p["refusal_k"] == k
        assert p["refusal_n"] == cfg.n == len(texts["estimation"])
        p_lower = stats.beta.ppf(cfg.alpha, k, cfg.n - k + 1) if k > 0 else 0.0
        assert p["refusal_abstained"] == (p_lower <= 0.5)
        if p_lower > 0.5:
            want = cfg.sigma * stats.norm.ppf(p_lower)
            assert p["refusal_radius"] == pytest.approx(want, rel=1e-6, abs=1e-9)
        assert p["refusal_correct"] == ((judge.labels[top] == "refusal") == p["forbidden"])


def test_attack_inputs_are_the_certified_refusals(trained_demo):
    """The attacked inputs: those certified as refusals, recounted from the kept texts under
    the case-insensitive judge with SciPy's Clopper-Pearson bound (Cohen et al. 2019,
    Theorem 1: certified iff the lower bound exceeds 1/2)."""
    from scipy import stats

    from sampler.oracles import RefusalJudge
    from sampler.run import read_rows

    cfg, res, md, _ = trained_demo
    judge = RefusalJudge(case_sensitive=False)
    rows = {r["id"]: r for r in read_rows(res["collect"]["rows"])}
    expect = []
    for p in res["toy_task"]["inputs"]:
        if p["refusal"] != "refusal" or p["refusal_abstained"]:
            continue
        texts = rows[p["id"]]["texts"]
        sel = [int(c) for c in judge(texts["selection"])]
        top = 0 if sel.count(0) >= sel.count(1) else 1  # ties to the lower id
        k = sum(int(c) == top for c in judge(texts["estimation"]))
        p_lower = stats.beta.ppf(cfg.alpha, k, cfg.n - k + 1) if k > 0 else 0.0
        if top == judge.labels.index("refusal") and p_lower > 0.5:
            expect.append(p["id"])
    a = res["attack"]
    assert a["population"] == a["attacked"] == expect[: cfg.attack_inputs]
    assert "## Attack: PGD against the certified inputs" in md
    assert "by the toy task's refusal judge and again by `RefusalJudge(case_sensitive=False)`" in md
    assert ("nothing was attacked" in md) == (not expect)


def test_sigma_sweep(trained_demo):
    from sampler.run import read_rows

    cfg, res, md, _ = trained_demo
    s, toy = res["sigma_sweep"], res["toy_inputs"]
    assert [x["sigma"] for x in s["sigmas"]] == list(cfg.sweep_sigmas)
    for x in s["sigmas"]:
        rows = [r for r in read_rows(x["rows"]) if r["status"] == "ok"]
        assert len(rows) == s["images"] and all(r["n"] == cfg.sweep_n for r in rows)
        assert all(r["config"]["sigma"] == x["sigma"] for r in rows)
        radius = [0.0 if r["abstained"] else r["radius"] for r in rows]
        assert x["mean_radius"] == pytest.approx(np.mean(radius))
        target = dict(
            zip((pathlib.Path(q).name for q in toy["paths"]), toy["targets"], strict=True)
        )
        for r_, acc in zip(s["radii"], x["certified_accuracy"], strict=True):
            hits = [
                r["top_class"] == target[r["id"]] and not r["abstained"] and r["radius"] >= r_
                for r in rows
            ]
            assert acc == pytest.approx(np.mean(hits))
    assert "## Certified radius and accuracy against sigma" in md
    assert (pathlib.Path(cfg.out_dir) / "figures" / "sigma_sweep.png").is_file()


def test_model_kind_is_checked(capsys):
    from rsvlm.__main__ import main
    from rsvlm._demo import DemoConfig
    from rsvlm._demo_trained import resolve

    with pytest.raises(SystemExit) as exc:
        main(["demo", "--model-kind", "big"])
    assert exc.value.code == 2 and "--model-kind" in capsys.readouterr().err
    with pytest.raises(ValueError, match="model_kind must be one of"):
        resolve(DemoConfig(model_kind="Trained"))
    c = resolve(DemoConfig())
    assert (c.model_kind, c.oracle, c.prompt) == ("trained", "answers", None)
    assert c.max_new_tokens >= 13  # the toy refusal's 13 tokens: the judge sees "unethical"
