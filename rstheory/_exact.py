r"""Exact expectations of the certificate over ``p ~ Pr(p_A)`` and ``K ~ Bin(n, p)``.

For a distribution of the true top-class probability ``p`` and a sample size ``n``,

.. math::
    \mathbb E[R_n] = \mathbb E_{p}\,\sum_{k} \binom{n}{k} p^k (1-p)^{n-k}\;
    R\big(\underline p(k, n, \alpha)\big),\qquad
    R(q) = \sigma\,\Phi^{-1}(q)\ \text{if}\ q > 1/2,\ \text{else}\ 0,

with :func:`rstheory.cp_lower` as ``underline p`` (abstaining counts as radius 0); no CLT.

How it is computed:

* **Windows.** For each quadrature node the sum runs over ``n p +- (10 sd + 40)``; by
  Bernstein's inequality the binomial mass outside is below ``2 exp(-50)`` for every
  ``n`` and ``p`` (float64 cannot see it next to a mass of order 1).
* **One table per n.** ``R(cp_lower(k, n, alpha))`` is computed once for the union of
  the windows of all nodes (and all distributions), every ``n`` in the same fixed-size
  batched calls, so one compiled program serves every ``n``.
* **Vectorized sums.** The pmf of all nodes of a distribution is one 2-D array (blocks
  of at most ``_BLOCK`` entries); the radius and ``E[p_lower]`` are its dot products
  with the table.
* **Accuracy without sums.** The radius is non-decreasing in ``k``, so
  ``Pr[R_n >= r] = Pr[K >= k_r] = binom.sf(k_r - 1, n, p)`` with ``k_r`` the first
  table count whose radius reaches ``r``; abstention is ``1 - Pr[R_n > 0]``.

A distribution is consumed only through ``dist.quadrature() -> (nodes, weights)``:
1-D arrays, nodes the values of ``p`` in ``[0, 1]``, weights ``>= 0`` summing to 1
(an atom is a single node).

References:
  J. Cohen, E. Rosenfeld, J. Z. Kolter (2019), "Certified Adversarial Robustness via
  Randomized Smoothing", ICML (Theorem 1, CERTIFY).
  S. Bernstein's inequality, e.g. S. Boucheron, G. Lugosi, P. Massart (2013),
  "Concentration Inequalities", Oxford, section 2.8.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import numpy as np
import scipy.special
import scipy.stats

from rstheory import _jax  # noqa: F401  (float64 before any array)
from rstheory._clopper_pearson import cp_lower
from rstheory._deprecation import keyword_only
from rstheory._plan_sums import (  # the windowed sums, shared with the JAX-free path
    _node_sums,
    _thresholds_counts,
    _union_counts,
    _window,
    dist_quadrature,
)
from rstheory._radius import certified_radius
from rstheory._validation import (
    as_f64,
    check_alpha,
    check_counts,
    check_probability,
    check_real,
    check_sample_sizes,
    check_sigma,
)

__all__ = [
    "RadiusMoments",
    "abstain_rate",
    "certified_accuracy",
    "expected_p_lower",
    "expected_radius",
    "radius_cap",
    "radius_moments",
]

# Fixed batch length of the cp_lower / radius table calls: one compiled program.
_CHUNK = 2048


def exact_for(dist, n, alpha, sigma=1.0, radii=(0.0,)):
    """Validate the common arguments once and run the exact sums for one distribution."""
    nodes_weights = dist_quadrature(dist)
    ns = check_sample_sizes(n)
    check_alpha(alpha)
    check_sigma(sigma)
    alpha, sigma = check_real(alpha, name="alpha"), check_real(sigma, name="sigma")
    return exact_sums(
        [nodes_weights], ns, alpha, sigma, np.atleast_1d(np.asarray(radii, dtype=np.float64))
    )


# --------------------------------------------------------------------------- exact part


def cp_lower_fixed_shape(k, n, alpha: float) -> np.ndarray:
    """:func:`rstheory.cp_lower` of 1-D host arrays, in calls of exactly ``_CHUNK`` entries.

    Every call has the same shape, so one compiled program serves all sizes (a new
    power-of-two bucket would cost seconds of compilation; a padded chunk costs ms).
    Inputs are not validated here: callers pass valid ``0 <= k <= n``.
    """
    k = np.asarray(k, dtype=np.float64)
    n = np.broadcast_to(np.asarray(n, dtype=np.float64), k.shape)
    total = k.size
    padded = max(1, -(-total // _CHUNK)) * _CHUNK
    k_pad = np.ones(padded)  # (k, n) = (1, 2) is a valid filler
    n_pad = np.full(padded, 2.0)
    k_pad[:total], n_pad[:total] = k, n
    out = np.empty(padded)
    for s in range(0, padded, _CHUNK):
        out[s : s + _CHUNK] = np.asarray(
            cp_lower(k_pad[s : s + _CHUNK], n_pad[s : s + _CHUNK], alpha=alpha)
        )
    return out[:total]


def _tables(ks: list[np.ndarray], ns: np.ndarray, alpha: float, sigma: float):
    """``cp_lower(k, n, alpha)`` and ``R`` for every ``k`` in ``ks[j]`` with ``n = ns[j]``.

    All sample sizes share the fixed-shape calls of :func:`cp_lower_fixed_shape`.
    """
    k_all = np.concatenate(ks)
    n_all = np.concatenate(
        [np.full(k.size, n, dtype=np.float64) for k, n in zip(ks, ns, strict=True)]
    )
    p_low = cp_lower_fixed_shape(k_all, n_all, alpha)
    # Fixed-shape calls here too: one program (tracing and loading a program per power-of-two
    # size would cost more than the padding).
    padded = np.full(-(-p_low.size // _CHUNK) * _CHUNK, 0.5)
    padded[: p_low.size] = p_low
    radius = np.concatenate(
        [
            np.asarray(certified_radius(padded[s : s + _CHUNK], sigma=sigma))
            for s in range(0, padded.size, _CHUNK)
        ]
    )[: p_low.size]
    out, start = [], 0
    for k in ks:
        out.append((p_low[start : start + k.size], radius[start : start + k.size]))
        start += k.size
    return out


class _Exact(NamedTuple):
    radius: np.ndarray  # (n_dists, n_ns)
    p_lower: np.ndarray  # (n_dists, n_ns)
    abstain: np.ndarray  # (n_dists, n_ns)
    accuracy: np.ndarray  # (n_dists, n_ns, n_radii)


def _prepare(quads, ns: np.ndarray, alpha: float, sigma: float):
    """Per ``n``: the windows of every distribution's nodes and the shared table."""
    windows, ks = [], []
    for n in ns:
        per = [_window(nodes, int(n)) for nodes, _ in quads]
        windows.append(per)
        ks.append(
            _union_counts(np.concatenate([w[0] for w in per]), np.concatenate([w[1] for w in per]))
        )
    return windows, ks, _tables(ks, ns, alpha, sigma)


class RadiusMoments(NamedTuple):
    """Result of :func:`radius_moments`; unpacks as ``mean, variance = ...``.

    Attributes:
      mean: expected certified radius, float64 ``(s, m)`` (``(m,)`` for a scalar ``n``).
      variance: its variance over the binomial count, same shape.
    """

    mean: np.ndarray
    variance: np.ndarray


def radius_moments(p, n, *, alpha=0.001, sigma) -> RadiusMoments:
    r"""Mean and variance of the certified radius for each true probability ``p`` and ``n``.

    .. math::
        \mu(p, n) = \mathbb E_{K \sim \mathrm{Bin}(n, p)}[R_n],\qquad
        v(p, n) = \mathbb E[R_n^2] - \mu^2,

    with ``R_n = sigma Phi^-1(cp_lower(K, n, alpha))`` or 0 on abstention; the same windowed
    sums as :func:`expected_radius`. Useful for the sampling error of an average radius
    over a fixed set of inputs: ``sqrt(sum_i v(p_i, n)) / m``.

    Args:
      p: true probabilities in ``[0, 1]``, shape ``(m,)``.
      n: sample sizes, integers ``>= 1``, shape ``(s,)`` (or a scalar).
      alpha: scalar significance level in ``(0, 1)``.
      sigma: scalar noise level ``> 0``.

    Returns:
      :class:`RadiusMoments` ``(mean, variance)``, float64 numpy arrays of shape ``(s, m)``
      (``(m,)`` for scalar ``n``).

    Example:
      >>> from rstheory import scaling
      >>> mean, var = scaling.radius_moments([0.0, 1.0], 100, alpha=0.001, sigma=1.0)
      >>> [round(float(x), 4) for x in mean], [float(v) for v in var]
      ([0.0, 1.5005], [0.0, 0.0])
    """
    p = np.atleast_1d(np.asarray(p, dtype=np.float64))
    if p.ndim != 1:
        raise ValueError(f"p must be a scalar or a 1-D array, got shape {p.shape}")
    check_probability(p, name="p")
    ns = check_sample_sizes(n)
    check_alpha(alpha)
    check_sigma(sigma)
    alpha, sigma = check_real(alpha, name="alpha"), check_real(sigma, name="sigma")
    windows, ks, tables = _prepare([(p, None)], ns, alpha, sigma)
    mean, var = np.empty((ns.size, p.size)), np.empty((ns.size, p.size))
    for j, n_j in enumerate(ns):
        lo, hi = windows[j][0]
        m1, m2, _ = _node_sums(p, lo, hi, int(n_j), ks[j], *tables[j])
        mean[j], var[j] = m1, np.maximum(m2 - m1 * m1, 0.0)
    return RadiusMoments(mean[0], var[0]) if np.ndim(n) == 0 else RadiusMoments(mean, var)


def exact_sums(quads, ns: np.ndarray, alpha: float, sigma: float, radii: np.ndarray) -> _Exact:
    """Exact expectations for every (distribution, n); one table per n shared by all.

    Args:
      quads: ``D`` pairs ``(nodes, weights)`` of 1-D float64 arrays.
      ns: sample sizes, int64 of shape ``(m,)``.
      alpha, sigma: scalars.
      radii: radius thresholds ``>= 0``, shape ``(r,)``; ``0`` means "certified" (``R > 0``).

    Returns:
      :class:`_Exact` with arrays of shape ``(D, m)`` and ``(D, m, r)``.
    """
    # "R >= 0" would count abstentions; certified means R > 0, i.e. R >= the tiniest float.
    thresholds = np.maximum(radii, np.finfo(np.float64).tiny)
    nd, nn, nr = len(quads), ns.size, radii.size
    res = _Exact(np.zeros((nd, nn)), np.zeros((nd, nn)), np.zeros((nd, nn)), np.zeros((nd, nn, nr)))
    windows, ks, tables = _prepare(quads, ns, alpha, sigma)
    for j, n in enumerate(ns):
        n = int(n)
        k_tab = ks[j]
        p_tab, r_tab = tables[j]
        k_cert = _thresholds_counts(k_tab, r_tab, np.array([np.finfo(np.float64).tiny]), n)
        k_acc = _thresholds_counts(k_tab, r_tab, thresholds, n)
        for d, (nodes, weights) in enumerate(quads):
            lo, hi = windows[j][d]
            radius, _, p_lower = _node_sums(nodes, lo, hi, n, k_tab, p_tab, r_tab)
            res.radius[d, j] = weights @ radius
            res.p_lower[d, j] = weights @ p_lower
            # Pr[K >= k] = sf(k - 1): exact tails, no window needed.
            res.abstain[d, j] = weights @ scipy.stats.binom.cdf(k_cert[0] - 1, n, nodes)
            res.accuracy[d, j] = weights @ scipy.stats.binom.sf(
                k_acc[None, :] - 1, n, nodes[:, None]
            )
    return res


def _shape_out(x: np.ndarray, n_in) -> jax.Array:
    """Return ``x`` (leading axis over n) as float64, scalar when ``n`` was a scalar."""
    out = as_f64(x)
    return out[0] if np.ndim(n_in) == 0 else out


def radius_cap(n, *, alpha=0.001, sigma):
    r"""Largest radius that ``n`` samples can certify: all votes on one class.

    .. math::
        R_{\max}(n) = \sigma\,\Phi^{-1}\big(\alpha^{1/n}\big),

    since the one-sided Clopper-Pearson bound at ``k = n`` is ``alpha ** (1 / n)``.

    Args:
      n: sample sizes, integers ``>= 1``, any shape ``(*batch)``.
      alpha: significance level in ``(0, 1)``; broadcasts with ``n``.
      sigma: noise level ``> 0``; broadcasts with ``n``.

    Returns:
      float64 array of the broadcast shape. It is ``<= 0`` when ``alpha ** (1 / n) <= 1/2``
      (then nothing can be certified).

    Example:
      >>> from rstheory import scaling
      >>> round(float(scaling.radius_cap(100, alpha=0.001, sigma=1.0)), 4)
      1.5005

    References:
      Derived for this project (all ``n`` votes on one class give the Clopper-Pearson bound
      ``alpha ** (1/n)``); verified by the proofs_check entry ``scaling.radius_cap``.
    """
    check_counts(0, n)
    check_alpha(alpha)
    check_sigma(sigma)
    q = np.power(np.asarray(alpha, dtype=np.float64), 1.0 / np.asarray(n, dtype=np.float64))
    return as_f64(np.asarray(sigma, dtype=np.float64) * scipy.special.ndtri(q))


def expected_radius(dist, n, *, alpha=0.001, sigma):
    r"""Exact expected certified radius with ``n`` samples (abstain counts as 0).

    .. math::
        \mathbb E[R_n] = \mathbb E_{p \sim \text{dist}}\ \mathbb E_{K \sim \mathrm{Bin}(n, p)}
        \Big[\sigma\,\Phi^{-1}\big(\underline p(K, n, \alpha)\big)\,
        \mathbf 1\{\underline p(K, n, \alpha) > 1/2\}\Big],

    with ``underline p`` = :func:`rstheory.cp_lower` (one-sided Clopper-Pearson) and the
    strict ``> 1/2`` of :func:`rstheory.certified_radius`. No CLT: the binomial sum is
    exact over the window where the pmf is non-negligible in float64.

    Args:
      dist: an object with ``quadrature() -> (nodes, weights)`` (1-D, ``nodes`` in
        ``[0, 1]``, ``weights >= 0`` summing to 1).
      n: sample size(s), integer ``>= 1``, scalar or shape ``(m,)``.
      alpha: scalar significance level in ``(0, 1)``.
      sigma: scalar noise level ``> 0``.

    Returns:
      float64, scalar or shape ``(m,)``.

    Notes:
      Cost: one Clopper-Pearson table over the union of the nodes' windows per ``n``
      (``O(sqrt(n))`` per node, at most ``n + 1`` entries) plus the pmf sums; ``n = 1e6``
      with 200 nodes takes about a second.

    Example:
      >>> from rstheory import scaling
      >>> class PointMass:
      ...     def quadrature(self):
      ...         return [0.9], [1.0]
      >>> round(float(scaling.expected_radius(PointMass(), 1, alpha=0.001, sigma=1.0)), 6)
      0.0

    References:
      Cohen, Rosenfeld, Kolter (2019), Theorem 1 and CERTIFY.
    """
    return _shape_out(exact_for(dist, n, alpha, sigma).radius[0], n)


@keyword_only("radius")
def certified_accuracy(dist, n, *, radius, alpha=0.001, sigma):
    r"""Exact probability that ``n`` samples certify a radius of at least ``radius``.

    .. math::
        \mathrm{acc}_n(r) = \Pr\big[\underline p > 1/2 \ \text{and}\ R_n \ge r\big],

    the expectation over ``p ~ dist`` and ``K ~ Bin(n, p)``. An abstention never counts
    as certified, so ``radius = 0`` gives ``1 - abstain_rate``. (Correctness of the
    prediction is not modelled: ``p`` is the probability of the class that is reported.)

    Args:
      dist: as :func:`expected_radius`.
      n: sample size(s), integer ``>= 1``, scalar or shape ``(m,)``.
      radius: radius threshold(s) ``>= 0``, scalar or shape ``(r,)``.
      alpha: scalar significance level in ``(0, 1)``.
      sigma: scalar noise level ``> 0``.

    Returns:
      float64 of shape ``n.shape + radius.shape``.

    Example:
      >>> from rstheory import scaling
      >>> class PointMass:
      ...     def quadrature(self):
      ...         return [1.0], [1.0]
      >>> acc = scaling.certified_accuracy(
      ...     PointMass(), 100, radius=[1.5, 1.6], alpha=0.001, sigma=1.0
      ... )
      >>> [float(a) for a in acc]
      [1.0, 0.0]

    References:
      Cohen, Rosenfeld, Kolter (2019), section 4 (certified accuracy).
    """
    r = np.asarray(radius, dtype=np.float64)
    if r.ndim > 1:
        raise ValueError(f"radius must be a scalar or a 1-D array, got shape {r.shape}")
    if np.isnan(r).any() or (r < 0).any():
        raise ValueError("radius must be >= 0 (and not NaN)")
    acc = exact_for(dist, n, alpha, sigma, r).accuracy[0]  # (m, r)
    acc = acc[:, 0] if r.ndim == 0 else acc
    return _shape_out(acc, n)


def abstain_rate(dist, n, *, alpha=0.001):
    r"""Exact probability of abstaining, ``Pr[cp_lower(K, n, alpha) <= 1/2]``.

    Args:
      dist: as :func:`expected_radius`.
      n: sample size(s), integer ``>= 1``, scalar or shape ``(m,)``.
      alpha: scalar significance level in ``(0, 1)``.

    Returns:
      float64, scalar or shape ``(m,)``.

    Example:
      >>> from rstheory import scaling
      >>> class PointMass:
      ...     def quadrature(self):
      ...         return [1.0], [1.0]
      >>> [float(a) for a in scaling.abstain_rate(PointMass(), [9, 10, 11], alpha=0.001)]
      [1.0, 0.0, 0.0]

    References:
      Cohen, Rosenfeld, Kolter (2019), CERTIFY (abstention).
    """
    return _shape_out(exact_for(dist, n, alpha).abstain[0], n)


def expected_p_lower(dist, n, *, alpha=0.001):
    r"""Exact expected one-sided Clopper-Pearson lower bound ``E[cp_lower(K, n, alpha)]``.

    Args:
      dist: as :func:`expected_radius`.
      n: sample size(s), integer ``>= 1``, scalar or shape ``(m,)``.
      alpha: scalar significance level in ``(0, 1)``.

    Returns:
      float64, scalar or shape ``(m,)``.

    Example:
      >>> from rstheory import scaling
      >>> class PointMass:
      ...     def quadrature(self):
      ...         return [1.0], [1.0]
      >>> round(float(scaling.expected_p_lower(PointMass(), 100, alpha=0.001)), 6)
      0.933254

    References:
      C. J. Clopper, E. S. Pearson (1934), Biometrika 26(4), 404-413.
    """
    return _shape_out(exact_for(dist, n, alpha).p_lower[0], n)
