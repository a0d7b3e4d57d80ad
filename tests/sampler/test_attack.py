"""Tests of :mod:`sampler.attack` on a linear two-class stub, where everything is known in
closed form: for logits ``(z/2, -z/2)`` with ``z(x) = u.x + b`` and ``||u|| = 1``, the
minimal L2 perturbation that flips the base class is ``-z(x) u`` (distance ``|z(x)|``),
the smoothed model of hard votes is the same linear rule (``P[z(x + sigma e) > 0] =
Phi(z(x)/sigma)``), so its exact radius is ``|z(x)|`` too, and the averaged softmax is
``E[sigmoid(z(x) + sigma g)]``, ``g ~ N(0, 1)``, computed here by Gauss-Hermite quadrature.

False-failure budget: the Monte Carlo checks are compared with a tolerance of at least six
standard errors, or with a binomial tail at level ``1e-6``; each test that draws fails a
correct implementation with probability below ``1e-6``.
"""

import math

import numpy as np
import pytest
import scipy.stats
import torch

from sampler import CertifyConfig
from sampler._attack_loss import classifier_scores, smoothed_loss
from sampler.attack import attack, judge, l2_pgd, project_l2
from sampler.certify import certify
from sampler.models import ImageClassifier

SHAPE = (3, 4, 4)
DIM = 48
SIGMA = 0.25
BUDGET = 1e-6


def _unit(seed: int) -> torch.Tensor:
    u = torch.randn(DIM, generator=torch.Generator().manual_seed(seed))
    return u / u.norm()


class Linear2(torch.nn.Module):
    """Logits ``(z/2, -z/2)``, ``z = u.(x - 0.5)``: class 0 iff ``z > 0``."""

    def __init__(self, u: torch.Tensor):
        super().__init__()
        self.register_buffer("u", u)

    def forward(self, x):
        z = (x.flatten(1) - 0.5) @ self.u
        return torch.stack([z / 2, -z / 2], dim=-1)


def _stub(seed=0):
    u = _unit(seed)
    return ImageClassifier(Linear2(u)), u


def _point(u, d):
    """A clean image at signed distance ``d`` from the boundary, inside ``(0, 1)``."""
    return (0.5 + d * u).reshape(SHAPE)


def test_pgd_stays_in_the_ball_and_the_box():
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(DIM, 5))
    torch.nn.init.normal_(net[1].weight, generator=torch.Generator().manual_seed(1))
    clf = ImageClassifier(net)
    x = torch.rand(SHAPE, generator=torch.Generator().manual_seed(2))  # pixels near 0 and 1
    for against, sigma in (("base", None), ("smoothed", SIGMA)):
        for eps in (0.0, 0.3, 2.0):
            res = attack(
                clf, x, eps=eps, steps=8, restarts=3, against=against, sigma=sigma, draws=4
            )
            px = res.prepared.pixels
            assert float((px - x).norm()) <= eps + 1e-5
            assert abs(res.norm - float((px - x).norm())) < 1e-5
            assert float(px.min()) >= 0.0 and float(px.max()) <= 1.0
    big = project_l2(x + 5 * torch.randn(SHAPE), x, eps=0.5)
    assert float((big - x).norm()) <= 0.5 + 1e-6 and 0 <= float(big.min()) <= float(big.max()) <= 1


def _min_eps_by_bisection(clf, x, *, hi, iters=14):
    lo = 0.0
    for _ in range(iters):
        mid = (lo + hi) / 2
        res = attack(clf, x, eps=mid, steps=30)
        if judge(clf, res.prepared, clean_class=0).success:
            hi = mid
        else:
            lo = mid
    return hi


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pgd_finds_the_minimal_perturbation_of_a_linear_classifier(seed):
    clf, u = _stub(seed)
    d = 0.1 + 0.1 * seed
    x = _point(u, d)
    found = _min_eps_by_bisection(clf, x, hi=1.0)
    # closed form: the distance to the hyperplane u.(x - 0.5) = 0 is d
    assert abs(found - d) <= 0.01 * d
    res = attack(clf, x, eps=1.2 * d, steps=30)
    delta = (res.prepared.pixels - x).flatten()
    assert float(delta @ -u) / float(delta.norm()) > 0.999  # along the closed-form direction
    assert not judge(clf, attack(clf, x, eps=0.95 * d, steps=30).prepared, clean_class=0).success


def _smoothed_prob(z: float, sigma: float) -> tuple[float, float]:
    """``E[sigmoid(z + sigma g)]`` and its derivative in ``z`` by Gauss-Hermite quadrature."""
    t, w = np.polynomial.hermite_e.hermegauss(80)
    w = w / w.sum()
    s = 1 / (1 + np.exp(-(z + sigma * t)))
    return float(w @ s), float(w @ (s * (1 - s)))


def test_smoothed_gradient_matches_quadrature_and_finite_differences():
    clf, u = _stub(0)
    x = _point(u, 0.3).double()
    clf.module.double()
    clf.dtype = torch.float64
    scores = classifier_scores(clf, label=0)
    # fresh draws, many of them: against the quadrature gradient -u * p'(z) / p(z)
    m = 200_000
    gen = torch.Generator().manual_seed(3)
    loss = smoothed_loss(scores, sign=-1.0, sigma=SIGMA, draws=m, generator=gen)
    xr = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(loss(xr), xr)
    p, dp = _smoothed_prob(0.3, SIGMA)
    want = -u.double() * dp / p
    # per-draw gradient terms are bounded by 1/p; 6 standard errors
    assert float((grad.flatten() - want).norm()) <= 6 * math.sqrt(DIM) / p / math.sqrt(m)
    # fixed draws: autograd equals a central finite difference of the same function
    z = torch.randn((16, *SHAPE), generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    fixed = smoothed_loss(scores, sign=-1.0, sigma=SIGMA, draws=16, noise=z)
    xr = x.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(fixed(xr), xr)
    v = torch.randn(SHAPE, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    h = 1e-5
    fd = (fixed(x + h * v) - fixed(x - h * v)) / (2 * h)
    assert abs(float(fd) - float((g * v).sum())) < 1e-7


def test_smoothed_success_below_the_certified_radius_is_rare_and_certain_above():
    clf, u = _stub(7)
    alpha = 0.001
    cfg = CertifyConfig(n0=50, n=2000, sigma=SIGMA, alpha=alpha, seed=0, num_classes=2)
    judge_cfg = CertifyConfig(n0=1, n=400, sigma=SIGMA, alpha=alpha, seed=1, num_classes=2)
    below = above = 0
    inputs = 12
    for i in range(inputs):
        d = 0.1 + 0.02 * i  # the exact radius of the smoothed stub
        x = _point(u, d)
        cert = certify(clf, x, config=cfg.replace(seed=i))
        radius = float(cert.certificate.radius)
        assert cert.top_class == 0 and 0 < radius <= d + 1e-9  # Cohen et al.'s R <= exact
        res = attack(clf, x, eps=0.95 * radius, steps=20, against="smoothed", sigma=SIGMA)
        v = judge(clf, res.prepared, clean_class=0, against="smoothed", config=judge_cfg)
        below += v.success
        res = attack(clf, x, eps=d + SIGMA, steps=20, against="smoothed", sigma=SIGMA)
        v = judge(clf, res.prepared, clean_class=0, against="smoothed", config=judge_cfg)
        above += v.success
    # below R each trial succeeds with probability <= alpha (certificate) + alpha (PREDICT)
    limit = int(scipy.stats.binom.isf(BUDGET, inputs, 2 * alpha))
    assert below <= limit
    # beyond the boundary by sigma: P(class 1) = Phi(1) = 0.84, PREDICT (n=400) returns it
    assert above == inputs


def test_pgd_argument_errors():
    clf, u = _stub(0)
    x = _point(u, 0.2)
    with pytest.raises(ValueError, match="eps must lie in"):
        attack(clf, x, eps=-0.1)
    with pytest.raises(ValueError, match="steps must be an integer >= 0"):
        attack(clf, x, eps=0.1, steps=-1)
    with pytest.raises(ValueError, match="restarts must be an integer >= 1"):
        attack(clf, x, eps=0.1, restarts=0)
    with pytest.raises(ValueError, match="against must be one of"):
        attack(clf, x, eps=0.1, against="both")
    with pytest.raises(ValueError, match="sigma is required"):
        attack(clf, x, eps=0.1, against="smoothed")
    with pytest.raises(ValueError, match="sigma must be None"):
        attack(clf, x, eps=0.1, sigma=0.25)
    with pytest.raises(ValueError, match="text must be None for a classifier"):
        attack(clf, x, eps=0.1, text="hi")
    with pytest.raises(ValueError, match="step_size must lie in"):
        l2_pgd(lambda y: y.sum(), x, eps=0.1, steps=2, step_size=0.0)
    with pytest.raises(ValueError, match=r"config must be a sampler\.CertifyConfig"):
        judge(clf, clf.prepare(x), clean_class=0, against="smoothed")
