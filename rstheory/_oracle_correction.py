r"""Certificates through a noisy oracle: correcting the vote probability for label errors.

An oracle ``O`` maps each response of the smoothed model to a label. The votes estimate
the *oracle-labelled* probability ``q = P[O(F(x + delta)) = A]``, while the certificate
is about the *true-label* probability ``p = P[y*(F(x + delta)) = A]``.

Symmetric noise, ``K`` classes (each label is wrong with probability ``eps``, the
wrong label uniform over the other ``K - 1``; ``K = 2`` is Eq. (5) of the EMNLP 2025
paper on smoothing vision-language models):

.. math::
    q = p(1 - \epsilon) + (1 - p)\frac{\epsilon}{K - 1},\qquad
    p = h_q(\epsilon) = \frac{q - \epsilon/(K - 1)}{1 - \epsilon K/(K - 1)},\qquad
    \frac{\partial h_q}{\partial \epsilon}
    = \frac{Kq/(K - 1) - 1/(K - 1)}{(1 - \epsilon K/(K - 1))^2},

valid for ``0 <= eps < (K - 1)/K``. ``h`` increases in ``q`` (slope ``> 0``) and in
``eps`` iff ``q > 1/K``; ``h_q(0) = q``.

Asymmetric noise (class ``A`` against the rest; ``eps_fp = P[O = A | y* != A]``,
``eps_fn = P[O != A | y* = A]``):

.. math::
    q = p(1 - \epsilon_{FN}) + (1 - p)\epsilon_{FP} \le \epsilon_{FP} + p(1 - \epsilon_{FP})
    \ \Rightarrow\ p \ge \frac{q - \epsilon_{FP}}{1 - \epsilon_{FP}},

so an upper bound on ``eps_fp`` alone gives a sound lower bound on ``p``, below ``q``.
A bound on the overall error rate is not enough: ``p = 0.55``, ``eps_fp = 0.2``,
``eps_fn = 0`` gives ``q = 0.64 > p`` with overall error ``0.09``.

Every function here is elementwise: the math is written for scalars and the public
functions broadcast their arguments. Arguments are checked eagerly (ValueError naming
the argument); under a caller's ``jax.jit`` the checks are skipped and out-of-domain
entries give NaN.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from rstheory import _jax  # noqa: F401  (float64 before any array)
from rstheory._deprecation import keyword_only
from rstheory._oracle_estimate import ErrorBound, ErrorInterval, RateBounds
from rstheory._validation import (
    as_f64,
    as_numpy,
    check_in_range,
    check_integers,
    check_probability,
    is_traced,
    show_value,
)

__all__ = [
    "ErrorBound",
    "ErrorInterval",
    "RateBounds",
    "corrected_lower_bound",
    "corrected_probability",
    "correction_derivative",
    "observed_probability",
    "observed_probability_asymmetric",
]


# ---------------------------------------------------------------------------------------
# Scalar math (elementwise jnp; NaN outside the domain).


def _observed(p, eps, k):
    ok = (p >= 0) & (p <= 1) & (eps >= 0) & (eps < (k - 1) / k) & (k >= 2)
    return jnp.where(ok, p * (1 - eps) + (1 - p) * eps / (k - 1), jnp.nan)


def _corrected_unclipped(q, eps, k):
    """``h_q(eps)`` without clipping or domain checks: the function the derivative is of."""
    return (q - eps / (k - 1)) / (1 - eps * k / (k - 1))


def _corrected(q, eps, k):
    ok = (q >= 0) & (q <= 1) & (eps >= 0) & (eps < (k - 1) / k) & (k >= 2)
    return jnp.where(ok, jnp.clip(_corrected_unclipped(q, eps, k), 0.0, 1.0), jnp.nan)


def _derivative(q, eps, k):
    ok = (q >= 0) & (q <= 1) & (eps >= 0) & (eps < (k - 1) / k) & (k >= 2)
    d = (k * q / (k - 1) - 1 / (k - 1)) / (1 - eps * k / (k - 1)) ** 2
    return jnp.where(ok, d, jnp.nan)


def _observed_asym(p, fp, fn):
    ok = (p >= 0) & (p <= 1) & (fp >= 0) & (fn >= 0) & (fp + fn < 1)
    return jnp.where(ok, p * (1 - fn) + (1 - p) * fp, jnp.nan)


def _lower_asym(q, fp, fn):
    ok = (q >= 0) & (q <= 1) & (fp >= 0) & (fn >= 0) & (fp + fn < 1)
    return jnp.where(ok, jnp.clip((q - fp) / (1 - fn - fp), 0.0, 1.0), jnp.nan)


def worst_case_symmetric(q_lower, eps_lo, eps_hi, k):
    """``min h(q_lower, eps)`` over ``eps in [eps_lo, eps_hi]``, clipped to [0, 1].

    ``h`` is monotone in ``eps`` on ``[0, (K-1)/K)``, so the minimum sits at an end. An
    upper end at or past ``(K-1)/K`` admits an uninformative or anti-informative oracle,
    for which ``h`` is unbounded below: the bound is then 0.
    """
    singular = eps_hi >= (k - 1) / k
    hi = jnp.where(singular, 0.0, eps_hi)
    lo = jnp.minimum(eps_lo, hi)
    at_lo = jnp.clip(_corrected_unclipped(q_lower, lo, k), 0.0, 1.0)
    at_hi = jnp.clip(_corrected_unclipped(q_lower, hi, k), 0.0, 1.0)
    return jnp.where(singular, 0.0, jnp.minimum(at_lo, at_hi))


_observed_jit = jax.jit(_observed)
_corrected_jit = jax.jit(_corrected)
_derivative_jit = jax.jit(_derivative)
_observed_asym_jit = jax.jit(_observed_asym)
_lower_asym_jit = jax.jit(_lower_asym)


def _call(fn, *args):
    return fn(*jnp.broadcast_arrays(*(as_f64(a) for a in args)))


# ---------------------------------------------------------------------------------------
# Validation.


def check_eps(eps, num_classes, *, name: str = "eps") -> None:
    """Validate a symmetric error rate: ``0 <= eps < (K - 1)/K`` for ``K = num_classes``."""
    if is_traced(eps, num_classes):
        return
    e = as_numpy(name, eps).astype(np.float64)
    if np.isnan(e).any():
        raise ValueError(f"{name} must not be NaN; allowed range is [0, (K - 1)/K)")
    try:
        eb, kb = np.broadcast_arrays(e, np.asarray(num_classes, dtype=np.float64))
    except ValueError as err:
        raise ValueError(
            f"{name} and num_classes must broadcast, got shapes {e.shape} and "
            f"{np.shape(num_classes)}"
        ) from err
    bad = (eb < 0) | (eb >= (kb - 1) / kb)
    if bad.any():
        i = np.flatnonzero(bad)[0]
        k = kb.ravel()[i]
        raise ValueError(
            f"{name} must lie in [0, (K - 1)/K) = [0, {(k - 1) / k:g}) for "
            f"num_classes={show_value(k.astype(np.int64))}, got {show_value(eb.ravel()[i])}"
        )


def _check_rate_sum(fp, fn, *, names: str) -> None:
    if is_traced(fp, fn):
        return
    s = np.asarray(fp, dtype=np.float64) + np.asarray(fn, dtype=np.float64)
    if (s >= 1).any():
        raise ValueError(
            f"{names} must be < 1 (an oracle no better than chance carries no "
            f"information), got {show_value(s[s >= 1].ravel()[0])}"
        )


def check_oracle(oracle, *, name: str = "oracle_error") -> None:
    """Validate an :class:`ErrorBound`, :class:`ErrorInterval` or :class:`RateBounds`."""
    if isinstance(oracle, ErrorBound):
        check_in_range(oracle.eps_upper, name=f"{name}.eps_upper", low=0.0, high=1.0)
    elif isinstance(oracle, ErrorInterval):
        check_in_range(oracle.eps_lower, name=f"{name}.eps_lower", low=0.0, high=1.0)
        check_in_range(oracle.eps_upper, name=f"{name}.eps_upper", low=0.0, high=1.0)
        if (
            not is_traced(oracle.eps_lower, oracle.eps_upper)
            and (
                np.asarray(oracle.eps_lower, dtype=np.float64)
                > np.asarray(oracle.eps_upper, dtype=np.float64)
            ).any()
        ):
            raise ValueError(f"{name}.eps_lower must be <= {name}.eps_upper")
    elif isinstance(oracle, RateBounds):
        check_in_range(
            oracle.eps_fp_upper, name=f"{name}.eps_fp_upper", low=0.0, high=1.0, high_open=True
        )
        check_in_range(oracle.eps_fn_upper, name=f"{name}.eps_fn_upper", low=0.0, high=1.0)
    else:
        raise ValueError(
            f"{name} must be an rstheory.oracle.ErrorBound, ErrorInterval or "
            f"RateBounds, got {type(oracle).__name__}"
        )
    check_in_range(oracle.alpha, name=f"{name}.alpha", low=0.0, high=1.0, high_open=True)


# ---------------------------------------------------------------------------------------
# Public closed forms.


@keyword_only("eps")
def observed_probability(p, *, eps, num_classes=2):
    r"""Oracle-labelled probability under symmetric label noise.

    .. math::
        q = p(1 - \epsilon) + (1 - p)\frac{\epsilon}{K - 1}
        \quad (K = 2:\ q = \epsilon + p(1 - 2\epsilon),\ \text{Eq. (5)}).

    Args:
      p: true-label probability in ``[0, 1]``, ``(*batch)``.
      eps: oracle error rate in ``[0, (K - 1)/K)`` (``[0, 0.5)`` for two classes); broadcasts.
      num_classes: ``K``, integer ``>= 2``; broadcasts.

    Returns:
      float64 ``q`` of the broadcast shape.

    Example:
      >>> from rstheory import oracle
      >>> round(float(oracle.observed_probability(0.8, eps=0.1)), 12)
      0.74
    """
    check_probability(p, name="p")
    check_integers(num_classes, name="num_classes", low=2)
    check_eps(eps, num_classes)
    return _call(_observed_jit, p, eps, num_classes)


@keyword_only("eps")
def corrected_probability(q, *, eps, num_classes=2):
    r"""True-label probability from the oracle-labelled one (inverse of
    :func:`observed_probability`).

    .. math::
        p = h_q(\epsilon)
        = \mathrm{clip}_{[0,1]}\Big(\frac{q - \epsilon/(K - 1)}{1 - \epsilon K/(K - 1)}\Big).

    ``h`` increases in ``q``, so a lower confidence bound on ``q`` maps to one on ``p``
    at the same level when ``eps`` is known.

    Args:
      q: oracle-labelled probability (or a bound on it) in ``[0, 1]``, ``(*batch)``.
      eps: oracle error rate in ``[0, (K - 1)/K)``; broadcasts.
      num_classes: ``K``, integer ``>= 2``; broadcasts.

    Returns:
      float64 ``p`` of the broadcast shape, in ``[0, 1]``.

    Notes:
      Clipping matters where ``q`` is outside ``[eps/(K-1), 1 - eps]``, which no true
      ``q`` is but a bound or estimate can be: ``h(0.95, 0.1) = 1.0625`` becomes ``1``.
      For ``K = 2``, ``h > 1/2`` iff ``q > 1/2``: the correction never changes an abstain
      decision. For ``K > 2`` it can: ``h > 1/2`` iff ``q > 1/2 - eps (K-2)/(2(K-1))``.

    Example:
      >>> from rstheory import oracle
      >>> round(float(oracle.corrected_probability(0.8, eps=0.1)), 12)
      0.875
    """
    check_probability(q, name="q")
    check_integers(num_classes, name="num_classes", low=2)
    check_eps(eps, num_classes)
    return _call(_corrected_jit, q, eps, num_classes)


@keyword_only("eps")
def correction_derivative(q, *, eps, num_classes=2):
    r"""Derivative in ``eps`` of the unclipped correction ``h_q(eps)``.

    .. math::
        \frac{\partial h_q}{\partial\epsilon} = \frac{Kq/(K-1) - 1/(K-1)}{(1 - \epsilon K/(K-1))^2}
        \quad (K = 2:\ (2q - 1)/(1 - 2\epsilon)^2).

    Positive iff ``q > 1/K``: there an *overestimate* of ``eps`` overstates ``p``.

    Args and shapes as :func:`corrected_probability`.

    Returns:
      float64 array of the broadcast shape.

    Example:
      >>> from rstheory import oracle
      >>> round(float(oracle.correction_derivative(0.8, eps=0.1)), 12)
      0.9375
    """
    check_probability(q, name="q")
    check_integers(num_classes, name="num_classes", low=2)
    check_eps(eps, num_classes)
    return _call(_derivative_jit, q, eps, num_classes)


def observed_probability_asymmetric(p, *, eps_fp, eps_fn):
    r"""Oracle-labelled probability under class-conditional label noise.

    .. math::
        q = p(1 - \epsilon_{FN}) + (1 - p)\,\epsilon_{FP}.

    Args:
      p: true-label probability of class ``A`` in ``[0, 1]``, ``(*batch)``.
      eps_fp: ``P[O = A | y* != A]`` in ``[0, 1)``; broadcasts.
      eps_fn: ``P[O != A | y* = A]`` in ``[0, 1)``; broadcasts; ``eps_fp + eps_fn < 1``.

    Returns:
      float64 ``q`` of the broadcast shape.

    Example (the counterexample to using a bound on ``q`` as one on ``p``):
      >>> from rstheory import oracle
      >>> round(float(oracle.observed_probability_asymmetric(0.55, eps_fp=0.2, eps_fn=0.0)), 12)
      0.64
    """
    check_probability(p, name="p")
    check_in_range(eps_fp, name="eps_fp", low=0.0, high=1.0, high_open=True)
    check_in_range(eps_fn, name="eps_fn", low=0.0, high=1.0, high_open=True)
    _check_rate_sum(eps_fp, eps_fn, names="eps_fp + eps_fn")
    return _call(_observed_asym_jit, p, eps_fp, eps_fn)


def corrected_lower_bound(q_lower, *, eps_fp, eps_fn=None):
    r"""Sound lower bound on ``p`` from a lower bound on ``q`` under asymmetric noise.

    .. math::
        \underline p = \frac{\underline q - \epsilon_{FP}}{1 - \epsilon_{FN} - \epsilon_{FP}}
        \ \text{(both rates known)},\qquad
        \underline p = \frac{\underline q - \bar\epsilon_{FP}}{1 - \bar\epsilon_{FP}}
        \ \text{(eps_fn None)},

    clipped to ``[0, 1]``.

    With ``eps_fn=None``, ``eps_fp`` is read as an *upper bound* on the false-positive
    rate and the false-negative rate is unknown: since ``eps_fn >= 0`` can only lower
    ``q``, ``q <= eps_fp + p(1 - eps_fp)``, and the right side decreases in ``eps_fp``
    (slope ``(q - 1)/(1 - eps_fp)^2 <= 0``), so the bound holds for every true
    ``eps_fp <= eps_fp`` given and every ``eps_fn``. It is ``<= q_lower``: the correction
    shrinks the radius. With ``eps_fn`` given, both rates must be the true ones (the
    expression increases in ``eps_fn``, so plugging in an upper bound is not sound).

    Args:
      q_lower: lower bound on the oracle-labelled probability, in ``[0, 1]``, ``(*batch)``.
      eps_fp: false-positive rate (or its upper bound) in ``[0, 1)``; broadcasts.
      eps_fn: false-negative rate in ``[0, 1)`` with ``eps_fp + eps_fn < 1``, or None.

    Returns:
      float64 array of the broadcast shape, in ``[0, 1]``.

    Example:
      >>> from rstheory import oracle
      >>> round(float(oracle.corrected_lower_bound(0.64, eps_fp=0.2)), 12)
      0.55
    """
    check_probability(q_lower, name="q_lower")
    check_in_range(eps_fp, name="eps_fp", low=0.0, high=1.0, high_open=True)
    if eps_fn is None:
        eps_fn = 0.0
    else:
        check_in_range(eps_fn, name="eps_fn", low=0.0, high=1.0, high_open=True)
        _check_rate_sum(eps_fp, eps_fn, names="eps_fp + eps_fn")
    return _call(_lower_asym_jit, q_lower, eps_fp, eps_fn)
