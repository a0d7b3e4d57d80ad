"""Tests of sampler._sequential, the rule sampler.certify.certify runs for a configuration
with a SequentialRule: the sequential rule on deterministic fake classifiers (unanimous
votes stop at the first look that can certify, split votes stop for futility, n_max is
respected), the prefix property against certify with a fixed n (same seed, same draws),
the tiny LLaVA with a stub oracle, and the deprecated alias certify_sequential. No test
here is random beyond fixed seeds."""

import numpy as np
import pytest
import torch

import rstheory
from rstheory.bounds import betabinomial_cs
from rstheory.sequential import boundaries
from sampler.certify import (
    CERTIFIED,
    FUTILITY,
    N_MAX,
    CertifyConfig,
    CertifyResult,
    SequentialResult,
    SequentialRule,
    certify,
    certify_sequential,
)
from sampler.models import ImageClassifier
from tests.tolerances import ATOL_RADIUS_ROUND_TRIP

PROMPT = "what is in the picture?"


def _image(seed=0, size=(8, 8)):
    return torch.rand(3, *size, generator=torch.Generator().manual_seed(seed))


class Constant(torch.nn.Module):
    """Always class ``c`` of ``k`` classes."""

    def __init__(self, c=1, k=3):
        super().__init__()
        self.c, self.k = c, k

    def forward(self, x):
        return torch.nn.functional.one_hot(torch.full((len(x),), self.c), self.k).float()


class NoiseSign(torch.nn.Module):
    """Class 1 when the mean pixel of the noisy copy exceeds ``shift`` over the clean mean
    (about half the votes for ``shift = 0``), else class 0."""

    def __init__(self, clean_mean, shift=0.0):
        super().__init__()
        self.clean_mean, self.shift = clean_mean, shift

    def forward(self, x):
        score = x.flatten(1).mean(1) - self.clean_mean - self.shift
        return torch.stack([-score, score], dim=1)


KW = dict(n0=10, sigma=0.5, alpha=0.001, seed=3)


def _rule(*, radius, n_max, prior=None, **kw):
    """A configuration with the sequential rule ``(radius, n_max, prior)``."""
    return CertifyConfig(sequential=SequentialRule(radius=radius, n_max=n_max, prior=prior), **kw)


def test_unanimous_votes_stop_at_the_first_checkpoint_that_can_certify():
    res = certify(
        ImageClassifier(Constant()),
        _image(),
        config=_rule(radius=0.25, n_max=2000, batch_size=25, num_classes=3, **KW),
    )
    b = boundaries(radius=0.25, sigma=0.5, alpha=0.001, batch_size=25, n_max=2000)
    first = int(np.argmax(b.checkpoints >= b.k_certify))  # k = n reaches k_certify here
    assert res.stop_reason == CERTIFIED and res.certified
    assert res.n == b.checkpoints[first] and res.looks == first + 1
    assert res.k == res.n and res.top_class == 1
    assert res.samples == 10 + res.n
    assert res.estimation_counts.tolist() == [0, res.n, 0]
    assert res.p_lower >= res.p_star
    assert res.radius >= 0.25 - ATOL_RADIUS_ROUND_TRIP
    ci = betabinomial_cs(res.k, res.n, alpha=0.001, prior=res.prior)
    assert (res.p_lower, res.p_upper) == (float(ci.low), float(ci.high))
    assert res.radius == pytest.approx(
        float(rstheory.certified_radius(float(ci.low), sigma=0.5)), abs=0
    )
    # one look earlier the rule could not have certified
    if first > 0:
        assert b.checkpoints[first - 1] < b.k_certify[first - 1]


def test_split_votes_stop_for_futility():
    img = _image()
    model = ImageClassifier(NoiseSign(float(img.mean())), input_size=(8, 8))
    res = certify(model, img, config=_rule(radius=0.25, n_max=5000, batch_size=50, **KW))
    assert res.stop_reason == FUTILITY and not res.certified
    assert res.n < 5000
    assert res.p_upper < res.p_star
    assert res.estimation_counts.sum() == res.n
    assert res.radius == 0.0  # p_lower below 1/2


@pytest.mark.parametrize(("n_max", "checkpoints"), [(40, [20, 40]), (50, [20, 40, 50])])
def test_n_max_is_respected(n_max, checkpoints):
    # radius 0.5 at sigma 0.25 needs p* = 0.977: 50 unanimous votes are not enough.
    res = certify(
        ImageClassifier(Constant()),
        _image(),
        config=_rule(
            radius=0.5, n_max=n_max, batch_size=20, num_classes=3, **(KW | {"sigma": 0.25})
        ),
    )
    assert res.stop_reason == N_MAX and not res.certified
    assert res.n == n_max and res.looks == len(checkpoints)
    assert res.boundaries.checkpoints.tolist() == checkpoints
    assert 0 < res.radius < 0.5  # the final bound still certifies a smaller radius


@pytest.mark.parametrize("shift", [0.0, -0.02])
def test_sequential_draws_are_a_prefix_of_the_fixed_n_draws(shift):
    img = _image(1)
    model = ImageClassifier(NoiseSign(float(img.mean()), shift), input_size=(8, 8))
    seq = certify(model, img, config=_rule(radius=0.1, n_max=3000, batch_size=30, **KW))
    assert seq.n < 3000
    fixed = certify(model, img, config=CertifyConfig(n=seq.n + 90, batch_size=30, **KW))
    assert torch.equal(seq.selection_labels, fixed.selection_labels)
    assert torch.equal(seq.estimation_labels, fixed.estimation_labels[: seq.n])
    assert seq.top_class == fixed.top_class
    same = certify(model, img, config=CertifyConfig(n=seq.n, batch_size=30, **KW))
    assert torch.equal(same.estimation_counts, seq.estimation_counts)
    assert same.k == seq.k
    assert seq.seeds == same.seeds


def test_tiny_llava_sequential_matches_certify_counts(vlm15):
    class FirstWord:
        labels = ("zero", "one", "two")
        num_classes = 3

        def __call__(self, texts):
            return torch.tensor([len((t.split() or [""])[0]) % 3 for t in texts], dtype=torch.int64)

    kw = dict(n0=4, sigma=0.5, alpha=0.05, seed=0, batch_size=4, keep_texts=True)
    seq = certify(
        vlm15,
        _image(0, (32, 32)),
        PROMPT,
        oracle=FirstWord(),
        config=_rule(radius=0.05, n_max=12, **kw),
    )
    assert seq.stop_reason in (CERTIFIED, FUTILITY, N_MAX)
    assert seq.n in (4, 8, 12) and len(seq.estimation_texts) == seq.n
    assert seq.class_names == ("zero", "one", "two")
    fixed = certify(
        vlm15, _image(0, (32, 32)), PROMPT, oracle=FirstWord(), config=CertifyConfig(n=seq.n, **kw)
    )
    assert fixed.estimation_texts == seq.estimation_texts
    assert fixed.selection_texts == seq.selection_texts
    assert torch.equal(fixed.estimation_counts, seq.estimation_counts)
    assert seq.timings.total >= seq.timings.estimation > 0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(radius=0.0), "radius"),
        (dict(n_max=0), "n_max"),
        (dict(batch_size=0), "batch_size"),
        (dict(n0=0), "n0"),
        (dict(alpha=1.5), "alpha"),
        (dict(sigma=0.0), "sigma"),
        (dict(seed=-1), "seed"),
        (dict(prior=(1.0, -1.0)), "prior"),
        (dict(oracle=lambda t: t), "oracle must be None"),
    ],
)
def test_bad_arguments_are_refused(kwargs, match):
    args = (
        dict(n0=5, radius=0.25, sigma=0.5, alpha=0.001, n_max=100, seed=0, batch_size=10) | kwargs
    )
    oracle = args.pop("oracle", None)
    with pytest.raises(ValueError, match=match):
        certify(ImageClassifier(Constant()), _image(), oracle=oracle, config=_rule(**args))


def test_certify_dispatches_on_the_configuration():
    clf, img = ImageClassifier(Constant()), _image()
    seq = certify(
        clf, img, config=_rule(radius=0.25, n_max=200, batch_size=25, num_classes=3, **KW)
    )
    fixed = certify(clf, img, config=CertifyConfig(n=200, batch_size=25, num_classes=3, **KW))
    assert isinstance(seq, SequentialResult) and not isinstance(seq, CertifyResult)
    assert isinstance(fixed, CertifyResult) and not isinstance(fixed, SequentialResult)
    assert seq.stop_reason == CERTIFIED and seq.n < 200


def test_certify_sequential_is_a_deprecated_alias_with_the_same_result():
    clf, img = ImageClassifier(Constant()), _image()
    cfg = _rule(radius=0.25, n_max=200, batch_size=25, num_classes=3, **KW)
    new = certify(clf, img, config=cfg)
    with pytest.warns(DeprecationWarning, match="certify_sequential is renamed certify"):
        old = certify_sequential(clf, img, config=cfg)
    assert isinstance(old, SequentialResult)
    assert old.summary() == new.summary() and old.seeds == new.seeds
    assert (old.p_lower, old.p_upper, old.radius) == (new.p_lower, new.p_upper, new.radius)
    assert torch.equal(old.selection_labels, new.selection_labels)
    assert torch.equal(old.estimation_labels, new.estimation_labels)
