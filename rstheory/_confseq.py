r"""Anytime-valid confidence sequence for a binomial proportion: the beta-binomial mixture.

For Bernoulli draws with ``k`` successes among the first ``n``, and a value ``p0``, the
mixture of likelihood ratios over a ``Beta(a, b)`` prior

.. math::
    M_n(p_0) = \int_0^1 \frac{\theta^k (1-\theta)^{n-k}}{p_0^k (1-p_0)^{n-k}}
               \,\mathrm{d}\mathrm{Beta}(\theta; a, b)
             = \frac{B(a + k,\, b + n - k)}{B(a, b)\; p_0^k (1 - p_0)^{n-k}}

is a nonnegative martingale with ``M_0 = 1`` when the true proportion is ``p0``
(Robbins 1970). Ville's inequality gives ``P[exists n: M_n(p) >= 1/alpha] <= alpha``, so

.. math::
    C_n = \{p_0 : M_n(p_0) < 1/\alpha\}

holds the true ``p`` at every ``n`` simultaneously with probability at least
``1 - alpha``: the bounds stay valid at a data-dependent stopping time (optional stopping,
optional continuation). ``log M_n`` is convex in ``p0`` with its minimum ``<= 0`` at
``p0 = k/n``, so ``C_n`` is an interval ``(low, high)`` containing ``k/n``; both ends are
found by bisection on ``[0, k/n]`` and ``[k/n, 1]``, and the returned ends are the outer
ends of the final brackets: outside the set as evaluated in float64. ``log M`` carries an
absolute rounding error of about ``1e-13``, so an end can sit inside the exact ``C_n`` by
about that much, relative (measured against mpmath in ``proofs_check.thm_bounds``).

One ``alpha`` covers both ends at once, so each end alone is valid at ``alpha``
(conservatively: the one-sided error of each end is at most ``alpha``, the two together
at most ``alpha``).

The prior sets where the sequence is tight: ``a + b`` acts as a prior sample size, and a
prior mean near the proportions of interest narrows the bound there.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from rstheory import _jax  # noqa: F401  (float64 before any array)
from rstheory._batching import call_bucketed
from rstheory._beta_quantile import HALF_LOG_2PI, stirling_delta
from rstheory._clopper_pearson import ConfidenceInterval
from rstheory._deprecation import keyword_only
from rstheory._validation import check_alpha, check_counts, check_prior

__all__ = ["betabinomial_cs", "log_beta", "log_mixture"]

_ITERATIONS = 110  # bisection steps: 2**-110 < 1e-33, below float64 resolution near 0 and 1


def log_beta(x, y):
    r"""``log B(x, y)`` for ``x, y > 0`` (JAX, elementwise), accurate to ~1e-13 absolute.

    ``(x - 1/2) log(x/s) + (y - 1/2) log(y/s) - log(s)/2 + log(2 pi)/2 + delta(x) + delta(y)
    - delta(s)`` with ``s = x + y`` and ``delta`` the Stirling remainder of ``lgamma``: no
    large terms cancel. (``jax.scipy.special.betaln`` is off by ~1e-6 at ``B(4, 8)``, which
    moved the confidence-sequence ends by ~4e-7 relative.)
    """
    s = x + y
    main = (x - 0.5) * jnp.log(x / s) + (y - 0.5) * jnp.log(y / s) - 0.5 * jnp.log(s)
    return main + HALF_LOG_2PI + stirling_delta(x) + stirling_delta(y) - stirling_delta(s)


def log_mixture(p0, k, n, a, b):
    r"""``log M_n(p0)`` of the beta-binomial mixture martingale (JAX, elementwise).

    Args:
      p0: hypothesised proportion(s) in ``(0, 1)``.
      k, n: successes and draws (``0 <= k <= n``, ``n >= 0``), float arrays.
      a, b: the ``Beta(a, b)`` mixing prior, ``> 0``.

    Returns:
      float64 array of the broadcast shape; ``+inf`` at ``p0 = 0`` (``k >= 1``) or
      ``p0 = 1`` (``k < n``).
    """
    lognum = log_beta(a + k, b + n - k) - log_beta(a, b)
    # xlogy/xlog1py: the 0 * log 0 = 0 convention at k = 0 or k = n.
    loglik = jax.scipy.special.xlogy(k, p0) + jax.scipy.special.xlog1py(n - k, -p0)
    return lognum - loglik


def _ends(k, n, alpha, a, b):
    threshold = -jnp.log(alpha)
    mle = k / n

    def excluded(p0):
        return log_mixture(p0, k, n, a, b) >= threshold

    def step(_, brackets):
        lo_out, lo_in, hi_in, hi_out = brackets  # lo_out/hi_out excluded, lo_in/hi_in inside
        mid = 0.5 * (lo_out + lo_in)
        out = excluded(mid)
        lo_out, lo_in = jnp.where(out, mid, lo_out), jnp.where(out, lo_in, mid)
        mid = 0.5 * (hi_in + hi_out)
        out = excluded(mid)
        hi_out, hi_in = jnp.where(out, mid, hi_out), jnp.where(out, hi_in, mid)
        return lo_out, lo_in, hi_in, hi_out

    zero, one = jnp.zeros_like(mle), jnp.ones_like(mle)
    lo_out, _, _, hi_out = jax.lax.fori_loop(0, _ITERATIONS, step, (zero, mle, mle, one))
    # The ends of [0, 1] belong to C_n when the likelihood does not vanish there.
    low = jnp.where(k == 0, 0.0, lo_out)
    high = jnp.where(k == n, 1.0, hi_out)
    return low, high


_ends_jit = jax.jit(_ends)
_FILLS = (1.0, 2.0, 0.5, 1.0, 1.0)


@keyword_only("alpha")
def betabinomial_cs(k, n, *, alpha=0.001, prior=(1.0, 1.0)) -> ConfidenceInterval:
    r"""Anytime-valid ``(1 - alpha)`` confidence sequence ``C_n`` for a binomial proportion.

    ``P[p in C_n(k_n, n) for every n >= 1] >= 1 - alpha`` where ``k_n`` counts the
    successes among the first ``n`` i.i.d. Bernoulli(``p``) draws, so the bounds may be
    read at any stopping time. See the module docstring for the mixture martingale.

    Args:
      k: successes, integer-valued, shape ``(*batch)``, ``0 <= k <= n``.
      n: draws so far, integer-valued, ``n >= 1``; broadcasts with ``k``.
      alpha: error level in ``(0, 1)`` for the whole sequence (both ends, every ``n``).
      prior: ``(a, b)`` of the ``Beta(a, b)`` mixing distribution, both ``> 0``.

    Returns:
      :class:`rstheory.ConfidenceInterval` ``(low, high)``, float64 of shape ``(*batch)``.

    Example:
      >>> from rstheory._confseq import betabinomial_cs
      >>> ci = betabinomial_cs(90, 100, alpha=0.001)
      >>> round(float(ci.low), 4), round(float(ci.high), 4)
      (0.7233, 0.9824)
    """
    check_counts(k, n)
    check_alpha(alpha)
    a, b = check_prior(prior)
    low, high = call_bucketed(_ends_jit, (k, n, alpha, a, b), _FILLS)
    return ConfidenceInterval(low, high)
