r"""Cohen et al.'s PREDICT with abstention: the decision rule.

Cohen, Rosenfeld & Kolter (2019), "Certified Adversarial Robustness via Randomized
Smoothing", ICML, Sec. 3.2, Algorithm PREDICT and Proposition 1: from ``n`` noisy samples
with top-two counts ``n_A >= n_B``, return the top class when the two-sided binomial test
of ``n_A`` against ``Binomial(n_A + n_B, 1/2)`` has p-value ``<= alpha``, otherwise
abstain; then ``P[PREDICT returns a class != g(x)] <= alpha``.

With ``m = n_A + n_B`` and ``n_A >= n_B`` the two-sided p-value of the symmetric test is

.. math:: p = \min\bigl(1,\ 2\,P[X \ge n_A]\bigr),\quad X \sim \mathrm{Bin}(m, 1/2),
   \qquad P[X \ge k] = I_{1/2}(k,\ m - k + 1)\ (k \ge 1),

with ``I`` the regularized incomplete beta function (``p = 1`` when ``m = 0``).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from rstheory import _jax  # noqa: F401  (float64 before any array)
from rstheory._validation import as_numpy, check_alpha, check_broadcast

__all__ = ["PredictDecision", "decide", "p_value"]


class PredictDecision(NamedTuple):
    """PREDICT's decision: ``abstain`` (bool array) and the test's ``p_value`` (float64)."""

    abstain: jax.Array
    p_value: jax.Array


@jax.jit
def _p_value(n_a, n_b):
    m = n_a + n_b
    safe_a = jnp.maximum(n_a, 1.0)
    tail = jax.scipy.special.betainc(safe_a, jnp.maximum(m - safe_a + 1.0, 1.0), 0.5)
    p = jnp.minimum(1.0, 2.0 * tail)
    return jnp.where(m > 0, p, 1.0)


def _check(n_a, n_b):
    a = as_numpy("n_a", n_a)
    b = as_numpy("n_b", n_b)
    check_broadcast(n_a=a, n_b=b)
    for name, x in (("n_a", a), ("n_b", b)):
        if np.any(x < 0) or np.any(x != np.floor(x)):
            raise ValueError(f"{name} must hold non-negative integers")
    if np.any(a < b):
        raise ValueError("n_a must be >= n_b (n_a is the top count)")
    return a.astype(np.float64), b.astype(np.float64)


def p_value(n_a, n_b):
    """Two-sided binomial-test p-value of ``n_a`` against ``Bin(n_a + n_b, 1/2)``.

    Shapes broadcast; ``n_a >= n_b >= 0`` integers. Returns float64 p-values of the
    broadcast shape: ``min(1, 2 P[Bin(n_a + n_b, 1/2) >= n_a])``.

    Example:
      >>> round(float(p_value(10, 0)), 6)
      0.001953
    """
    a, b = _check(n_a, n_b)
    return _p_value(jnp.asarray(a), jnp.asarray(b))


def decide(n_a, n_b, *, alpha=0.001) -> PredictDecision:
    """PREDICT's decision for top-two counts (Cohen et al. 2019, Algorithm PREDICT).

    ``n_a`` and ``n_b`` broadcast to a common shape; abstain when ``p_value > alpha``.

    Example:
      >>> d = decide([10, 5], [0, 5], alpha=0.01)
      >>> d.abstain.tolist()
      [False, True]
    """
    check_alpha(alpha)
    p = p_value(n_a, n_b)
    return PredictDecision(abstain=p > alpha, p_value=p)
