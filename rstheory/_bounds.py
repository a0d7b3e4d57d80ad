r"""One interface for confidence bounds on a binomial proportion ``p`` (e.g. ``p_A``).

Convention (the same for every method and for both sides): ``alpha`` is a **one-sided**
error level,

.. math::
    P[\mathrm{lower\_bound}(K, n, \alpha) > p] \le \alpha
    \quad\text{and}\quad
    P[\mathrm{upper\_bound}(K, n, \alpha) < p] \le \alpha
    \qquad\text{for every true } p \in [0, 1],

with ``K ~ Bin(n, p)``. For the anytime-valid methods (confidence sequences) the
statement holds uniformly over the sample size, for ``K_n`` the successes among the first
``n`` of an i.i.d. Bernoulli(``p``) stream:

.. math::
    P[\exists n \ge 1:\ \mathrm{lower\_bound}(K_n, n, \alpha) > p] \le \alpha,

so the bound may be read at a data-dependent stopping time. A two-sided interval at
total level ``alpha`` is ``(lower_bound(.., alpha/2), upper_bound(.., alpha/2))``.

Methods (see :data:`METHODS` for the table): ``"clopper_pearson"`` (default, exact
tail inversion, conservative), ``"hoeffding"``, ``"empirical_bernstein"`` (valid,
looser), ``"wilson"`` (APPROXIMATE: its coverage can fall below ``1 - alpha``),
``"randomized_clopper_pearson"`` (exact size, needs an auxiliary uniform),
``"betabinomial_cs"`` (anytime-valid). The betting confidence sequence of
Waudby-Smith & Ramdas (2023) needs the outcomes in order, not only the counts, so it has its
own function, :func:`rstheory.bounds.betting_cs_lower` (same convention, anytime-valid).
"""

from __future__ import annotations

import dataclasses
from typing import Literal, get_args

import jax
import numpy as np

from rstheory import _jax  # noqa: F401  (float64 before any array)
from rstheory._batching import call_bucketed
from rstheory._bounds_closed import empirical_bernstein_lower, hoeffding_lower, wilson_lower
from rstheory._bounds_randomized import randomized_bound
from rstheory._clopper_pearson import bound_unchecked
from rstheory._confseq import betabinomial_cs
from rstheory._deprecation import keyword_only
from rstheory._validation import check_alpha, check_counts, check_probability, is_traced

__all__ = ["METHODS", "BoundMethod", "Method", "lower_bound", "upper_bound"]

EXACT = "exact"
CONSERVATIVE = "conservative"
APPROXIMATE = "approximate"
FIXED_N = "fixed-n"
ANYTIME = "anytime-valid"


BoundMethod = Literal[
    "clopper_pearson",
    "hoeffding",
    "empirical_bernstein",
    "wilson",
    "randomized_clopper_pearson",
    "betabinomial_cs",
]
"""The ``method=`` of :func:`lower_bound` and :func:`upper_bound` (rows of :data:`METHODS`)."""


@dataclasses.dataclass(frozen=True)
class Method:
    """One row of :data:`METHODS`.

    Attributes:
      name: the ``method=`` string.
      validity: ``"exact"`` (coverage exactly ``1 - alpha``), ``"conservative"``
        (coverage ``>= 1 - alpha`` for every ``p``) or ``"approximate"`` (no guarantee).
      horizon: ``"fixed-n"`` or ``"anytime-valid"`` (holds uniformly over ``n``).
      options: keyword options the method accepts.
      summary: the formula and its source, one line.
    """

    name: BoundMethod
    validity: str
    horizon: str
    options: tuple[str, ...]
    summary: str


METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method(
            "clopper_pearson",
            CONSERVATIVE,
            FIXED_N,
            (),
            "the p with P[Bin(n, p) >= k] = alpha (Clopper & Pearson 1934)",
        ),
        Method(
            "hoeffding",
            CONSERVATIVE,
            FIXED_N,
            (),
            "k/n - sqrt(log(1/alpha) / (2n)), clipped to [0, 1] (Hoeffding 1963)",
        ),
        Method(
            "empirical_bernstein",
            CONSERVATIVE,
            FIXED_N,
            (),
            "k/n - sqrt(2 V log(2/alpha) / n) - 7 log(2/alpha) / (3(n-1)), "
            "V = k(n-k)/(n(n-1)) (Maurer & Pontil 2009, Thm 4)",
        ),
        Method(
            "wilson",
            APPROXIMATE,
            FIXED_N,
            (),
            "Wilson score bound with z = Phi^-1(1 - alpha); coverage can fall below "
            "1 - alpha: for comparison only (Wilson 1927)",
        ),
        Method(
            "randomized_clopper_pearson",
            EXACT,
            FIXED_N,
            ("u", "key", "rng"),
            "the p with P[X > k] + u P[X = k] = alpha, U ~ Uniform(0, 1) independent "
            "(exact size; Stevens 1950)",
        ),
        Method(
            "betabinomial_cs",
            CONSERVATIVE,
            ANYTIME,
            ("prior",),
            "end of {p0 : M_n(p0) < 1/alpha}, M_n the Beta(a, b)-mixture likelihood ratio "
            "martingale, Ville's inequality (Robbins 1970)",
        ),
    )
}


assert tuple(METHODS) == get_args(BoundMethod)  # one list of names


def _method(method) -> Method:
    if method not in METHODS:
        raise ValueError(f"method must be one of {sorted(METHODS)}, got {method!r}")
    return METHODS[method]


def _check_options(spec: Method, options: dict) -> None:
    unknown = sorted(set(options) - set(spec.options))
    if unknown:
        allowed = ", ".join(spec.options) or "none"
        raise ValueError(f"method {spec.name!r} takes the options ({allowed}), got {unknown}")


def _uniforms(k, n, u, key, rng):
    """The auxiliary uniform: ``u`` as given, or drawn from ``key`` / ``rng``."""
    given = [name for name, v in (("u", u), ("key", key), ("rng", rng)) if v is not None]
    if len(given) != 1:
        raise ValueError(
            "method 'randomized_clopper_pearson' needs exactly one of u= (values in [0, 1]), "
            f"key= (a jax PRNG key) or rng= (a numpy Generator), got {given or 'none'}"
        )
    if u is not None:
        check_probability(u, name="u")
        return u
    shape = np.broadcast_shapes(np.shape(k), np.shape(n))
    if key is not None:
        return jax.random.uniform(key, shape, dtype=jax.numpy.float64)
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    return rng.random(shape)


_closed_jit = {
    "hoeffding": jax.jit(hoeffding_lower),
    "empirical_bernstein": jax.jit(empirical_bernstein_lower),
    "wilson": jax.jit(wilson_lower),
}
_randomized_jit = jax.jit(randomized_bound)


def _mirror(k, n):
    """``n - k`` for the mirrored (upper) bound, on host values or tracers."""
    if is_traced(k, n):
        return n - k
    return np.asarray(n, dtype=np.float64) - np.asarray(k, dtype=np.float64)


def _bound(k, n, alpha, upper: bool, method, options):
    spec = _method(method)
    _check_options(spec, options)
    check_counts(k, n)
    check_alpha(alpha)
    if spec.name == "clopper_pearson":
        return bound_unchecked(k, n, alpha, upper)
    if spec.name in _closed_jit:
        fn = _closed_jit[spec.name]
        if upper:
            return 1.0 - call_bucketed(fn, (_mirror(k, n), n, alpha), (1.0, 2.0, 0.5))
        return call_bucketed(fn, (k, n, alpha), (1.0, 2.0, 0.5))
    if spec.name == "randomized_clopper_pearson":
        u = _uniforms(k, n, options.get("u"), options.get("key"), options.get("rng"))
        return call_bucketed(_randomized_jit, (k, n, alpha, u, upper), (1.0, 2.0, 0.5, 0.5, 0.0))
    interval = betabinomial_cs(k, n, alpha=alpha, **options)
    return interval.high if upper else interval.low


@keyword_only("alpha")
def lower_bound(k, n, *, alpha=0.001, method: BoundMethod = "clopper_pearson", **options):
    r"""One-sided lower confidence bound on a binomial proportion: ``P[lower > p] <= alpha``.

    Args:
      k: successes, integer-valued, shape ``(*batch)``, ``0 <= k <= n``.
      n: trials, integer-valued, ``n >= 1``; broadcasts with ``k``.
      alpha: one-sided error level in ``(0, 1)``; broadcasts; default ``0.001``.
      method: a key of :data:`METHODS`.
      **options: the method's options (:data:`METHODS` lists them):
        ``u`` (array in ``[0, 1]`` broadcasting with ``k``), ``key`` (jax PRNG key) or
        ``rng`` (numpy Generator) for ``"randomized_clopper_pearson"``; ``prior=(a, b)``
        for ``"betabinomial_cs"``.

    Returns:
      float64 array of the broadcast shape ``(*batch)``, in ``[0, 1]``.

    Raises:
      ValueError: unknown method (the message lists the known ones), an option the
        method does not take, or an argument out of range (named, with its range).

    Example:
      >>> from rstheory.bounds import lower_bound
      >>> [round(float(lower_bound(90, 100, alpha=0.05, method=m)), 4)
      ...  for m in ("clopper_pearson", "hoeffding", "wilson")]
      [0.8363, 0.7776, 0.8396]
      >>> m = "randomized_clopper_pearson"
      >>> round(float(lower_bound(90, 100, alpha=0.05, method=m, u=0.5)), 4)
      0.8415
    """
    return _bound(k, n, alpha, False, method, options)


@keyword_only("alpha")
def upper_bound(k, n, *, alpha=0.001, method: BoundMethod = "clopper_pearson", **options):
    r"""One-sided upper confidence bound on a binomial proportion: ``P[upper < p] <= alpha``.

    The mirror of :func:`lower_bound` (``upper(k, n) = 1 - lower(n - k, n)`` for every
    method; Clopper-Pearson and the randomized bound are solved directly so small upper
    bounds keep their relative precision). Args, options and shapes as
    :func:`lower_bound`.

    Example:
      >>> from rstheory.bounds import upper_bound
      >>> round(float(upper_bound(0, 100, alpha=0.05)), 6)
      0.029513
      >>> round(float(upper_bound(10, 100, alpha=0.05, method="hoeffding")), 4)
      0.2224
    """
    return _bound(k, n, alpha, True, method, options)
