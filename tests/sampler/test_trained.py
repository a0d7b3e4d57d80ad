"""Tests of the toy task and of the trained toy LLaVA (sampler._toy_task, sampler._train_tiny).

The default selection checks the plumbing on configurations of a few steps (training runs,
writes safetensors, reloads through ``VLM.from_pretrained``, the cache key follows the
configuration) and the loss against an independent computation; ``-m slow`` checks that
training is deterministic and that the default model learns the task.
"""

import dataclasses

import numpy as np
import pytest
import scipy.stats
import torch
from safetensors.torch import load_file

from sampler import _train_tiny
from sampler._toy_eval import toy_accuracy
from sampler._toy_task import COLOURS, REFUSAL, SHAPES, toy_images, toy_questions
from sampler._train_tiny import TrainConfig, answer_loss, train_llava, trained_llava
from sampler.models import VLM, DecodingConfig
from sampler.oracles import RefusalJudge

TINY = TrainConfig(steps=3, hidden=16, layers=1, warmup=1, batch_size=4)


def _weights(path):
    return load_file(path / "model.safetensors")


def test_images_are_deterministic_and_labels_match_pixels():
    a, b = toy_images(60, seed=3), toy_images(60, seed=3)
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    assert not torch.equal(a.images, toy_images(60, seed=4).images)
    for img, shape, colour, forbidden in zip(*a, strict=True):
        x = img.numpy()
        dominant = x.argmax(0)
        gray = x.max(0) - x.min(0) < 0.05
        black = x.max(0) < 0.02
        coloured = ~gray & ~black
        assert np.bincount(dominant[coloured], minlength=3).argmax() == int(colour)
        assert bool(black.any()) == bool(forbidden)
        ys, xs = np.nonzero(coloured)
        box = (ys.max() - ys.min() + 1) * (xs.max() - xs.min() + 1)
        fill = coloured.sum() / box  # circle pi/4, square 1, triangle 1/2
        # pixelated small triangles fill up to ~0.63, circles ~0.75-0.85
        found = "triangle" if fill < 0.7 else ("circle" if fill < 0.92 else "square")
        assert found == SHAPES[int(shape)], (SHAPES[int(shape)], fill)
    assert set(COLOURS) == {"red", "green", "blue"}


def test_refusal_is_a_refusal_and_answers_are_not():
    judge = RefusalJudge()
    assert judge([REFUSAL]).tolist() == [0]
    assert judge(list(SHAPES + COLOURS)).tolist() == [1] * 6


def test_shape_rate_of_the_questions():
    n = 4000
    for rate in (0.0, 0.5, 0.7, 1.0):
        kinds, _ = toy_questions(n, seed=5, shape_rate=rate)
        k = kinds.count("shape")
        # two-sided binomial test at level 1e-6 per rate (false-failure budget 4e-6)
        assert scipy.stats.binomtest(k, n, rate).pvalue > 1e-6 if 0 < rate < 1 else k == rate * n
    with pytest.raises(ValueError, match="shape_rate"):
        toy_questions(3, seed=0, shape_rate=1.5)


def test_answer_loss_is_the_mean_over_answers_of_their_token_means():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(3, 6, 5, generator=g)
    labels = torch.tensor(
        [[-100, -100, 1, 2, 3, 4], [-100, -100, -100, -100, 0, -100], [-100, 2, 2, -100, 1, 1]]
    )
    rows = []
    for r in range(3):
        logp = torch.log_softmax(logits[r].double(), -1)
        terms = [-logp[t - 1, labels[r, t]] for t in range(1, 6) if labels[r, t] != -100]
        rows.append(sum(terms) / len(terms))
    want = sum(rows) / 3
    assert torch.allclose(answer_loss(logits, labels).double(), want, rtol=1e-6)


def test_config_validation_and_key():
    for bad in ({"patch_size": 5}, {"shape_rate": -0.1}, {"hidden": 10}, {"steps": 0}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            TrainConfig(**bad)
    keys = {TrainConfig().key()}
    for change in ({"seed": 1}, {"patch_size": 7}, {"shape_rate": 0.5}, {"steps": 10}):
        keys.add(dataclasses.replace(TrainConfig(), **change).key())
    assert len(keys) == 5
    assert TrainConfig().key() == TrainConfig().key()


def test_short_training_saves_reloads_and_is_cached(tmp_path, monkeypatch):
    result = train_llava(tmp_path / "a", TINY)
    assert result.losses.shape == (3,) and np.isfinite(result.losses).all()
    assert (tmp_path / "a" / "model.safetensors").is_file()
    assert not list((tmp_path / "a").glob("*.bin"))
    vlm = VLM.from_pretrained(
        tmp_path / "a", device="cpu", decoding=DecodingConfig(max_new_tokens=2)
    )
    assert type(vlm.model).__name__ == "LlavaForConditionalGeneration"
    assert vlm.model.config.vision_config.patch_size == TINY.patch_size
    prep = vlm.prepare(toy_images(1, seed=0).images[0], "what shape is this?")
    assert prep.pixels.shape == (3, 28, 28)
    assert len(vlm.predict(prep, prep.pixels[None].repeat(2, 1, 1, 1))) == 2
    # The cache: trained once under its key, then returned without training.
    path = trained_llava(config=TINY, cache_dir=tmp_path / "cache")
    assert path.name == TINY.key() and (path / "model.safetensors").is_file()
    assert not list((tmp_path / "cache").glob(".tmp-*"))

    def no_training(*args, **kwargs):
        raise AssertionError("the cached model was trained again")

    monkeypatch.setattr(_train_tiny, "train_llava", no_training)
    assert trained_llava(config=TINY, cache_dir=tmp_path / "cache") == path
    other = dataclasses.replace(TINY, seed=1)
    with pytest.raises(AssertionError, match="trained again"):
        trained_llava(config=other, cache_dir=tmp_path / "cache")
    with pytest.raises(ValueError, match="seed"):
        trained_llava(seed=2, config=TINY)


@pytest.mark.slow
def test_training_is_deterministic(tmp_path):
    config = TrainConfig(steps=40, hidden=32, warmup=5, lr=3e-3)
    a = train_llava(tmp_path / "a", config)
    b = train_llava(tmp_path / "b", config)
    c = train_llava(tmp_path / "c", dataclasses.replace(config, seed=1))
    wa, wb, wc = _weights(a.path), _weights(b.path), _weights(c.path)
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)
    assert np.array_equal(a.losses, b.losses)
    assert not all(torch.equal(wa[k], wc[k]) for k in wa)  # the seed reaches the weights
    assert a.losses[-5:].mean() < 0.7 * a.losses[:5].mean()  # and it learns


@pytest.mark.slow
def test_the_default_model_learns_the_task():
    """Clean accuracy >= 0.95 on held-out images (seed 777, never drawn by the training,
    whose seeds come from SeedSequence([seed, step])).

    Each score is a binomial proportion over ``k`` images; the test fails only below the
    0.1% quantile of Binomial(k, 0.95) / k, so a model whose true accuracy is 0.95 fails a
    score with probability at most 1e-3 (3e-3 for the three). Measured on this set: shape
    0.98 of 148, colour 1.00 of 149, refusal 1.00 of 400 (docs/measurements/trained_model.md).
    """
    vlm = VLM.from_pretrained(
        trained_llava(), device="cpu", decoding=DecodingConfig(max_new_tokens=16)
    )
    s = toy_accuracy(vlm, num=400, seed=777)
    for name, value, k in (
        ("shape", s.shape, s.n_shape),
        ("colour", s.colour, s.n_colour),
        ("refusal", s.refusal, s.n),
    ):
        floor = scipy.stats.binom.ppf(1e-3, k, 0.95) / k
        assert value >= floor, (name, value, k, floor)
