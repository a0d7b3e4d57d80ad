"""Tests of :func:`sampler.predict.predict` on a classifier whose class probabilities under
the noise are known: Cohen et al.'s (2019, Sec. 3.2) guarantee ``P[returned class !=
g(x)] <= alpha`` and the abstention rate, both by simulation against exact sums over the
multinomial outcomes (with :func:`scipy.stats.binomtest` as the independent test), the
seeding, and the argument checks.

False-failure budget: each simulated frequency is compared with its exact binomial tail at
level ``1e-6``, so a correct implementation fails a test with probability below ``1e-6``.
"""

import functools
import itertools

import pytest
import scipy.stats
import torch

from sampler import CertifyConfig
from sampler.certify import SequentialRule, derive_seed
from sampler.models import ImageClassifier
from sampler.noise import add_gaussian_noise, noise_generator
from sampler.predict import PREDICT_STREAMS, PredictResult, predict

BUDGET = 1e-6
SIGMA = 0.25
CLEAN = torch.full((3, 2, 2), 0.5)


class KnownProbabilities(torch.nn.Module):
    """Class ``c`` with probability ``probs[c]`` under the noise: the class is the bucket of
    ``Phi(z)``, ``z`` the standard normal noise of the first pixel (the clean value 0.5), so
    the classes of the copies are i.i.d. Categorical(probs), deterministic given the noise."""

    def __init__(self, probs):
        super().__init__()
        self.edges = torch.tensor(list(itertools.accumulate(probs))[:-1], dtype=torch.float64)
        self.k = len(probs)

    def forward(self, x):
        u = torch.special.ndtr((x[:, 0, 0, 0].double() - 0.5) / SIGMA)
        classes = torch.searchsorted(self.edges, u.contiguous(), right=True)
        return torch.nn.functional.one_hot(classes, self.k).float()


def _config(*, n, alpha, seed, k=3, **kw):
    return CertifyConfig(
        n0=1, n=n, sigma=SIGMA, alpha=alpha, seed=seed, batch_size=n, num_classes=k, **kw
    )


@functools.cache
def _p_value(n_a: int, n_b: int) -> float:
    return 1.0 if n_a + n_b == 0 else float(scipy.stats.binomtest(n_a, n_a + n_b, 0.5).pvalue)


def _exact_rates(probs, *, n, alpha):
    """``(P[abstain], P[a class other than 0 is returned])`` for three classes with
    ``argmax probs == 0``: the sum over every outcome of the multinomial counts."""
    abstain = wrong = 0.0
    for a in range(n + 1):
        for b in range(n + 1 - a):
            counts = (a, b, n - a - b)
            mass = float(scipy.stats.multinomial.pmf(counts, n, probs))
            top = max(range(3), key=lambda c: (counts[c], -c))  # ties to the lower id
            second = max(counts[c] for c in range(3) if c != top)
            if _p_value(counts[top], second) > alpha:
                abstain += mass
            elif top != 0:
                wrong += mass
    return abstain, wrong


def _simulate(probs, *, n, alpha, trials):
    model = ImageClassifier(KnownProbabilities(probs))
    abstain = wrong = 0
    for seed in range(trials):
        res = predict(model, CLEAN, config=_config(n=n, alpha=alpha, seed=seed))
        abstain += res.abstain
        wrong += (not res.abstain) and res.top_class != 0
    return abstain, wrong


def _check_guarantee(probs, *, n, alpha, trials):
    p_abstain, p_wrong = _exact_rates(probs, n=n, alpha=alpha)
    assert p_wrong <= alpha  # Cohen et al.'s guarantee, exactly
    abstain, wrong = _simulate(probs, n=n, alpha=alpha, trials=trials)
    # P[Binomial(trials, alpha) >= wrong]: the error frequency is compatible with <= alpha.
    assert scipy.stats.binom.sf(wrong - 1, trials, alpha) > BUDGET, (wrong, trials)
    # The abstention frequency against the exact rate (two-sided exact test).
    assert scipy.stats.binomtest(abstain, trials, p_abstain).pvalue > BUDGET, (
        abstain,
        trials,
        p_abstain,
    )
    return p_abstain, p_wrong


def test_guarantee_and_abstention_rate():
    # Close top two: abstention is frequent and a wrong class is returned now and then.
    p_abstain, p_wrong = _check_guarantee((0.45, 0.35, 0.2), n=60, alpha=0.1, trials=1000)
    assert 0.2 < p_abstain < 0.9 and p_wrong > 1e-4  # the case tests something


@pytest.mark.slow
@pytest.mark.parametrize(
    ("probs", "n", "alpha"),
    [((0.45, 0.35, 0.2), 60, 0.1), ((0.4, 0.38, 0.22), 80, 0.2), ((0.6, 0.3, 0.1), 30, 0.01)],
)
def test_guarantee_and_abstention_rate_many_trials(probs, n, alpha):
    _check_guarantee(probs, n=n, alpha=alpha, trials=4000)


def test_never_abstaining_would_fail_the_check():
    # The check of the guarantee has power: the plain majority vote (alpha -> 1, nearly
    # never abstaining) returns a wrong class far more often than alpha = 0.01 allows.
    # Its exact error rate is about 0.14, so 400 trials (some 55 wrong, against at most 4
    # expected at 0.01) fall below the tail's 1e-6 except with a negligible probability.
    probs, n, trials, alpha = (0.45, 0.35, 0.2), 60, 400, 1 - 1e-12
    assert _exact_rates(probs, n=n, alpha=alpha)[1] > 0.1
    _, wrong = _simulate(probs, n=n, alpha=alpha, trials=trials)
    assert scipy.stats.binom.sf(wrong - 1, trials, 0.01) < BUDGET


def test_copies_come_from_the_predict_stream():
    # An independent draw of the noise from the documented seed gives the same labels.
    probs, seed, n = (0.5, 0.3, 0.2), 7, 50
    module = KnownProbabilities(probs)
    res = predict(ImageClassifier(module), CLEAN, config=_config(n=n, alpha=0.01, seed=seed))
    gen = noise_generator(seed=derive_seed(seed, "predict/noise"))
    pixels = add_gaussian_noise(CLEAN, num=n, sigma=SIGMA, generator=gen)
    expected = module(pixels).argmax(-1)
    assert torch.equal(res.labels, expected)
    assert res.seeds == {tag: derive_seed(seed, tag) for tag in PREDICT_STREAMS}
    counts = torch.bincount(expected, minlength=3)
    assert torch.equal(res.counts, counts)
    top = int(counts.argmax())
    second = int(counts[[c for c in range(3) if c != top]].max())
    assert res.top_class == top and (res.n_a, res.n_b) == (int(counts[top]), second)
    assert res.p_value == pytest.approx(_p_value(res.n_a, res.n_b), rel=1e-9)
    assert res.abstain == (res.p_value > 0.01)
    assert res.answer is None and res.texts is None  # a classifier has no texts


def test_same_seed_same_result_other_seed_other_noise():
    model = ImageClassifier(KnownProbabilities((0.5, 0.3, 0.2)))
    a, b, c = (predict(model, CLEAN, config=_config(n=40, alpha=0.01, seed=s)) for s in (3, 3, 4))
    assert isinstance(a, PredictResult)
    assert torch.equal(a.labels, b.labels) and a.summary() == b.summary()
    assert not torch.equal(a.labels, c.labels)


def test_one_class_and_unanimous_votes():
    model = ImageClassifier(KnownProbabilities((1.0,)))
    res = predict(model, CLEAN, config=_config(n=12, alpha=0.001, seed=0, k=1))
    # 12 votes against 0: p-value 2 / 2**12 < 0.001, so the only class is returned.
    assert (res.top_class, res.abstain, res.counts.tolist()) == (0, False, [12])
    assert res.p_value == pytest.approx(_p_value(12, 0))


def test_checks():
    model = ImageClassifier(KnownProbabilities((0.5, 0.5)))
    cfg = _config(n=10, alpha=0.01, seed=0, k=2)
    with pytest.raises(TypeError, match="config"):
        predict(model, CLEAN)
    with pytest.raises(ValueError, match="oracle must be None"):
        predict(
            model,
            CLEAN,
            config=cfg.replace(num_classes=None),
            oracle=lambda texts: torch.zeros(len(texts)),
        )
    with pytest.raises(ValueError, match="oracle_error must be None"):
        predict(model, CLEAN, config=cfg.replace(oracle_error=0.1))
    rule = SequentialRule(radius=0.1, n_max=100)
    with pytest.raises(ValueError, match="fixed n"):
        predict(model, CLEAN, config=cfg.replace(n=None, sequential=rule))
    with pytest.raises(ValueError, match="prompt must be None"):
        predict(model, CLEAN, "a question", config=cfg)
    with pytest.raises(ValueError, match="n must be an integer >= 1"):
        cfg.replace(n=0)
    with pytest.raises(ValueError, match="alpha"):
        cfg.replace(alpha=1.0)

    class Clusterer:
        def select(self, texts):
            raise AssertionError("not reached")

    with pytest.raises(ValueError, match="SemanticClusterer"):
        predict(model, CLEAN, config=cfg.replace(num_classes=None), oracle=Clusterer())
