"""Tests of the toy task and of the trained toy LLaVA (sampler._toy_task, sampler._train_tiny)."""

import numpy as np
import torch

from sampler._toy_task import COLOURS, REFUSAL, SHAPES, toy_images
from sampler._train_tiny import TrainConfig, train_llava
from sampler.models import VLM
from sampler.oracles import RefusalJudge


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


def test_short_training_lowers_the_loss_and_round_trips(tmp_path):
    result = train_llava(tmp_path, TrainConfig(steps=30, hidden=32, warmup=5))
    assert result.losses[-5:].mean() < 0.7 * result.losses[:5].mean()
    vlm = VLM.from_pretrained(tmp_path, device="cpu")
    assert type(vlm.model).__name__ == "LlavaForConditionalGeneration"
