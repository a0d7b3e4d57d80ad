"""Certified L2 radius of a Gaussian-smoothed classifier, and the certificate.

Cohen, Rosenfeld & Kolter (2019), Theorem 1: if ``pA_lower <= p_A`` and
``pB_upper >= max_{c != A} p_c`` with ``pA_lower > pB_upper``, the smoothed
classifier is constant on the L2 ball of radius

    R = sigma / 2 * (Phi^-1(pA_lower) - Phi^-1(pB_upper)),

and with ``pB_upper = 1 - pA_lower`` this is ``sigma * Phi^-1(pA_lower)``.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Literal, get_args

import jax
import jax.numpy as jnp
from jax.scipy.special import ndtri

from rstheory import _jax  # noqa: F401  (float64 before any array)
from rstheory import _oracle_correction as _oc
from rstheory._clopper_pearson import bound_unchecked
from rstheory._deprecation import keyword_only, renamed_keywords
from rstheory._oracle_correction import (
    ErrorBound,
    ErrorInterval,
    RateBounds,
    check_eps,
    check_oracle,
)
from rstheory._validation import (
    as_f64,
    check_alpha,
    check_broadcast,
    check_counts,
    check_integers,
    check_probability,
    check_sigma,
    is_traced,
)

__all__ = ["Certificate", "Correction", "certified_radius", "certify"]


Correction = Literal[
    "none", "symmetric", "symmetric_unknown", "symmetric_estimated", "asymmetric_estimated"
]
"""Which oracle-error model produced ``Certificate.p_lower`` (see :func:`certify`)."""

CORRECTIONS: tuple[Correction, ...] = get_args(Correction)
NONE, SYMMETRIC, SYMMETRIC_UNKNOWN, SYMMETRIC_ESTIMATED, ASYMMETRIC_ESTIMATED = CORRECTIONS

OracleError = float | Literal["unknown"] | ErrorBound | ErrorInterval | RateBounds | None
"""What ``oracle_error=`` of :func:`certify` takes: see there."""


@functools.partial(
    jax.tree_util.register_dataclass,
    data_fields=["p_lower", "radius", "abstained", "q_lower", "alpha_spent"],
    meta_fields=["correction"],
)
@dataclasses.dataclass(frozen=True)
class Certificate:
    """Result of :func:`certify`; a pytree, so it passes through ``jit`` and ``vmap``.

    Attributes:
      p_lower: lower bound on the true-label probability ``p_A``, ``(*batch)``; valid with
        probability at least ``1 - alpha_spent``.
      radius: certified L2 radius, ``0`` where abstained, ``(*batch)``.
      abstained: boolean, ``True`` where ``p_lower <= 1/2`` (no certificate), ``(*batch)``.
      q_lower: one-sided ``(1 - alpha)`` Clopper-Pearson lower bound on the
        oracle-labelled probability ``q_A`` (what the votes measure), ``(*batch)``;
        equals ``p_lower`` when ``correction == "none"``.
      alpha_spent: total significance level of the certificate, ``alpha`` plus the level
        of an estimated oracle error rate (union bound), ``(*batch)``.
      correction: static (pytree metadata) label of the oracle-error model
        (:data:`Correction`): ``"none"`` (no oracle error), ``"symmetric"`` (a known
        symmetric rate), ``"symmetric_unknown"`` (symmetric, rate unknown: the
        uncorrected bound, which is conservative above ``1/K``),
        ``"symmetric_estimated"`` (a symmetric rate estimated from calibration answers)
        or ``"asymmetric_estimated"`` (class-conditional rates estimated from
        calibration answers); see :func:`certify`.
    """

    p_lower: jax.Array
    radius: jax.Array
    abstained: jax.Array
    q_lower: jax.Array
    alpha_spent: jax.Array
    correction: Correction


def _radius_one_class(p_lower, sigma):
    # p_lower <= 1/2 abstains; ndtri(1) = inf cannot occur for a CP bound (alpha > 0).
    safe = jnp.where(p_lower > 0.5, p_lower, 0.75)
    return jnp.where(p_lower > 0.5, sigma * ndtri(safe), 0.0)


def _radius_two_class(pa_lower, pb_upper, sigma):
    ok = pa_lower > pb_upper
    pa = jnp.where(ok, pa_lower, 0.75)
    pb = jnp.where(ok, pb_upper, 0.25)
    return jnp.where(ok, 0.5 * sigma * (ndtri(pa) - ndtri(pb)), 0.0)


_radius_one_class_jit = jax.jit(_radius_one_class)
_radius_two_class_jit = jax.jit(_radius_two_class)


@keyword_only("sigma")
def certified_radius(p_lower, *, sigma, p_b_upper=None):
    r"""Certified L2 radius from a lower bound on the top-class probability.

    .. math::
        R = \sigma\,\Phi^{-1}(\underline{p_A}) \ \text{if}\ \underline{p_A} > 1/2,\ \text{else } 0;
        \qquad
        R = \tfrac{\sigma}{2}\big(\Phi^{-1}(\underline{p_A}) - \Phi^{-1}(\overline{p_B})\big)
        \ \text{if}\ \underline{p_A} > \overline{p_B},\ \text{else } 0.

    Args:
      p_lower: lower bound on ``p_A`` in ``[0, 1]``, shape ``(*batch)``.
      sigma: noise standard deviation ``> 0`` (pixel units); broadcasts.
      p_b_upper: optional upper bound on the runner-up probability ``p_B`` in
        ``[0, 1]``; when given, the two-class form is used.

    Returns:
      float64 radius of the broadcast shape, ``0`` where no certificate exists.

    Notes:
      ``p_lower = 1`` gives ``inf`` (certain top class, any perturbation); a
      Clopper-Pearson bound never reaches 1 for ``alpha > 0``: with ``n`` samples the
      radius is at most ``sigma * Phi^-1(alpha ** (1 / n))``.

    Example:
      >>> import rstheory
      >>> round(float(rstheory.certified_radius(0.99, sigma=0.5)), 6)
      1.163174

    References:
      J. Cohen, E. Rosenfeld, J. Z. Kolter (2019), ICML, Theorem 1.
    """
    check_broadcast(p_lower=p_lower, sigma=sigma, p_b_upper=p_b_upper)
    check_probability(p_lower, name="p_lower")
    check_sigma(sigma)
    if p_b_upper is None:
        return _radius_one_class_jit(as_f64(p_lower), as_f64(sigma))
    check_probability(p_b_upper, name="p_b_upper")
    return _radius_two_class_jit(as_f64(p_lower), as_f64(p_b_upper), as_f64(sigma))


@functools.partial(jax.jit, static_argnames="correction")
def _certificate(
    q_lower, n, alpha, sigma, num_classes, eps_lo, eps_hi, oracle_alpha, *, correction
):
    # The largest value a CP lower bound from n votes takes (k = n), never below q_lower.
    cap = jnp.maximum(jnp.exp(jnp.log(alpha) / n), q_lower)
    if correction == NONE:
        p_lower = q_lower
    elif correction == SYMMETRIC:  # eps_lo = eps_hi = eps, known
        p_lower = jnp.minimum(_oc.worst_case_symmetric(q_lower, eps_lo, eps_hi, num_classes), cap)
    elif correction == SYMMETRIC_UNKNOWN:
        p_lower = jnp.where(q_lower >= 1 / num_classes, q_lower, 0.0)
    elif correction == SYMMETRIC_ESTIMATED:
        p_lower = jnp.minimum(_oc.worst_case_symmetric(q_lower, eps_lo, eps_hi, num_classes), cap)
    elif correction == ASYMMETRIC_ESTIMATED:  # eps_hi = upper bound on the false-positive rate
        p_lower = jnp.clip((q_lower - eps_hi) / (1 - eps_hi), 0.0, 1.0)
    else:  # pragma: no cover - certify only passes the labels above
        raise ValueError(f"unknown correction {correction!r}")
    return Certificate(
        p_lower=p_lower,
        radius=_radius_one_class(p_lower, sigma),
        abstained=p_lower <= 0.5,
        q_lower=q_lower,
        alpha_spent=alpha + oracle_alpha,
        correction=correction,
    )


def _oracle_arrays(oracle_error) -> dict:
    """The array arguments of ``oracle_error=`` by name, for :func:`check_broadcast`."""
    if isinstance(oracle_error, (ErrorBound, ErrorInterval, RateBounds)):
        return {f"oracle_error.{f}": v for f, v in oracle_error._asdict().items()}
    if oracle_error is None or isinstance(oracle_error, (str, tuple)):
        return {}  # a plain tuple is refused by the oracle checks, with their message
    return {"oracle_error": oracle_error}


@renamed_keywords(oracle_eps="oracle_error", oracle="oracle_error")
def certify(
    k,
    n,
    *,
    sigma,
    alpha=0.001,
    oracle_error: OracleError = None,
    num_classes=2,
) -> Certificate:
    r"""Certificate from top-class vote counts (Cohen et al. 2019, CERTIFY, steps 3-4).

    ``q_lower = cp_lower(k, n, alpha)`` bounds the probability ``q_A`` of the label the
    votes measure. Without oracle arguments ``p_lower = q_lower``. When the labels come
    from a noisy oracle, ``p_lower`` bounds the *true-label* probability ``p_A`` instead
    (see :mod:`rstheory.oracle`). Abstain where ``p_lower <= 1/2``; else the radius is
    ``sigma * Phi^-1(p_lower)``. With probability at least ``1 - alpha_spent`` over the
    ``n`` estimation samples (and the calibration answers, if any), ``p_lower <= p_A``,
    so every returned radius is valid.

    Oracle models (``oracle_error``):

    * none: ``p_lower = q_lower``, ``correction = "none"``, ``alpha_spent = alpha``.
    * ``oracle_error=eps`` (known symmetric error rate, ``0 <= eps < (K-1)/K``):
      ``p_lower = min(h(q_lower, eps), alpha ** (1/n))`` with ``h`` the inverse of
      ``q = p(1 - eps) + (1 - p) eps/(K - 1)`` clipped to ``[0, 1]``. ``h`` increases in
      ``q``, so ``h(q_lower) <= h(q) = p``. *Cap*: ``h`` reaches 1 (an infinite radius)
      when ``q_lower >= 1 - eps``, which no true ``q`` exceeds; such values come from a
      mis-specified ``eps`` rather than from evidence. ``alpha ** (1/n)`` is the largest
      bound ``n`` votes give (all ``n`` for the top class), so the corrected certificate
      never claims more than a noiseless oracle with ``n`` votes could. Any value below a
      valid lower bound is a valid lower bound, so the cap keeps the guarantee.
      ``correction = "symmetric"``.
    * ``oracle_error="unknown"``: symmetric noise with unknown ``eps < (K-1)/K``. ``h``
      increases in ``eps`` where ``q > 1/K`` and ``h(q, 0) = q``, so ``q_lower`` itself
      is a valid lower bound there (the uncorrected certificate is conservative);
      below ``1/K`` no bound survives every ``eps`` and ``p_lower = 0``.
      ``correction = "symmetric_unknown"``.
    * an ``ErrorBound`` or ``ErrorInterval`` (symmetric ``eps`` estimated from
      calibration answers, see :func:`rstheory.oracle.estimate_error`): the worst case
      over the confidence set, ``p_lower = min over eps in [eps_lower, eps_upper] of
      h(q_lower, eps)``, capped as above (``eps_lower = 0`` for an ``ErrorBound``).
      *Why not plug in eps_upper*: for ``q > 1/K`` the correction increases in ``eps``
      (``dh/deps = (Kq - 1)/(K - 1) / (1 - eps K/(K-1))^2 > 0``), so an overestimate of
      ``eps`` overstates ``p`` and an upper bound on ``eps`` is anti-conservative exactly
      where certificates are issued. Since ``h`` is monotone in ``eps``, the minimum is at
      an end: ``h(q_lower, eps_lower)`` where ``q_lower > 1/K`` and
      ``h(q_lower, eps_upper)`` below. On the event ``{q_lower <= q}`` and
      ``{eps in [eps_lower, eps_upper]}``, ``p_lower <= h(q_lower, eps) <= h(q, eps) = p``;
      by the union bound the failure probability is at most ``alpha + oracle_error.alpha``.
      With an ``ErrorBound`` the set is ``[0, eps_upper]``: above ``1/K`` this is the
      uncorrected ``q_lower`` (now with ``eps < (K-1)/K`` checked by data rather than
      assumed), so only an ``ErrorInterval`` can raise the radius. If ``eps_upper >=
      (K-1)/K`` the data do not exclude an uninformative oracle and ``p_lower = 0``.
      ``correction = "symmetric_estimated"``.
    * a ``RateBounds`` (class-conditional rates, see
      :func:`rstheory.oracle.estimate_rates`): ``p_lower = (q_lower - eps_fp_upper) /
      (1 - eps_fp_upper)``, clipped to ``[0, 1]``. It is sound for every false-negative
      rate: false negatives only remove votes from ``A``, so ``q <= eps_fp + p(1 - eps_fp)``
      whatever ``eps_fn`` is, and the bound decreases in ``eps_fp``; ``eps_fn_upper`` is
      not used. It is ``<= q_lower``. ``alpha_spent = alpha + oracle_error.alpha`` (the joint
      level of the two rates; only the false-positive half is used, so this is
      conservative). ``correction = "asymmetric_estimated"``.

    An oracle object with ``alpha = 0`` is read as known bounds: nothing is added to
    ``alpha_spent``.

    Args:
      k: votes for the selected class among the ``n`` estimation samples, ``(*batch)``.
      n: estimation samples ``>= 1``; broadcasts with ``k``.
      sigma: noise standard deviation ``> 0``.
      alpha: significance level of the vote bound, in ``(0, 1)``; default ``0.001`` as in
        Cohen et al. (2019).
      oracle_error: the oracle-error model: None (no error), a known symmetric error rate
        in ``[0, (K-1)/K)`` (broadcasts), ``"unknown"``, or an
        :class:`rstheory.oracle.ErrorBound`, ``ErrorInterval`` or ``RateBounds``
        (fields broadcast with ``k``). Release 0.1 spelled the first two
        ``oracle_eps=`` and the objects ``oracle=``; both still work, with a
        :class:`DeprecationWarning`, until 0.3.
      num_classes: ``K`` of the symmetric models, integer ``>= 2`` (broadcasts); not used
        without an oracle error or with ``RateBounds``. For ``K > 2`` the correction
        can certify where ``q_lower <= 1/2``.

    Returns:
      :class:`Certificate` with fields ``p_lower``, ``radius``, ``abstained``,
      ``q_lower``, ``alpha_spent`` of shape ``(*batch)`` and the static ``correction``.

    Example:
      >>> import rstheory
      >>> c = rstheory.certify([990, 400], 1000, alpha=0.001, sigma=0.25)
      >>> [round(float(r), 4) for r in c.radius], c.abstained.tolist()
      ([0.4945, 0.0], [False, True])
      >>> c = rstheory.certify(800, 1000, alpha=0.001, sigma=0.25, oracle_error=0.1)
      >>> round(float(c.q_lower), 4), round(float(c.p_lower), 4), c.correction
      (0.7585, 0.8231, 'symmetric')
    """
    check_broadcast(
        k=k, n=n, sigma=sigma, alpha=alpha, num_classes=num_classes, **_oracle_arrays(oracle_error)
    )
    check_counts(k, n)
    check_alpha(alpha)
    check_sigma(sigma)
    check_integers(num_classes, name="num_classes", low=2)
    eps_lo = eps_hi = oracle_alpha = 0.0
    if oracle_error is None:
        correction = NONE
    elif isinstance(oracle_error, (ErrorBound, ErrorInterval, RateBounds, tuple)):
        # A plain tuple is refused here: it reads as an unnamed (eps, alpha) estimate.
        check_oracle(oracle_error, name="oracle_error")
        oracle_alpha = oracle_error.alpha
        if isinstance(oracle_error, RateBounds):
            correction, eps_hi = ASYMMETRIC_ESTIMATED, oracle_error.eps_fp_upper
        elif isinstance(oracle_error, ErrorInterval):
            correction = SYMMETRIC_ESTIMATED
            eps_lo, eps_hi = oracle_error.eps_lower, oracle_error.eps_upper
        else:
            correction, eps_hi = SYMMETRIC_ESTIMATED, oracle_error.eps_upper
    elif isinstance(oracle_error, str):
        if oracle_error != "unknown":
            raise ValueError(
                "oracle_error must be None, a number in [0, (K - 1)/K), 'unknown', or an "
                f"ErrorBound, ErrorInterval or RateBounds, got {oracle_error!r}"
            )
        correction = SYMMETRIC_UNKNOWN
    else:
        check_eps(oracle_error, num_classes, name="oracle_error")
        correction, eps_lo, eps_hi = SYMMETRIC, oracle_error, oracle_error
    q_lower = bound_unchecked(k, n, alpha, False)  # k, n, alpha validated above
    args = [q_lower, n, alpha, sigma, num_classes, eps_lo, eps_hi, oracle_alpha]
    args = [a if is_traced(a) else as_f64(a) for a in args]
    return _certificate(*jnp.broadcast_arrays(*args), correction=correction)
