r"""Betting confidence sequence (predictable plug-in) for the mean of a Bernoulli stream.

Waudby-Smith & Ramdas (2023), JRSS-B 86(1), Sec. 4: for each candidate mean ``m`` a bettor
starts with capital 1 and after each outcome ``X_i`` in ``[0, 1]`` multiplies it by
``1 + lambda_i(m) (X_i - m)``, with a bet ``lambda_i(m) >= 0`` fixed before ``X_i`` is seen
(predictable). Under ``E[X_i | past] = m`` the capital

.. math::
    K_t(m) = \prod_{i \le t} \bigl(1 + \lambda_i(m) (X_i - m)\bigr)

is a nonnegative martingale, so by Ville's inequality ``P[exists t: K_t(p) >= 1/alpha]
<= alpha``. Bets (the one-sided predictable plug-in, their Eq. 26 with ``log(1/alpha)``):

.. math::
    \lambda_t = \sqrt{\frac{2 \log(1/\alpha)}{\hat\sigma^2_{t-1}\, t \log(1 + t)}},
    \quad \lambda_t(m) = \min(\lambda_t, c / m),

``hat mu_t = (1/2 + sum_{i<=t} X_i)/(t + 1)``, ``hat sigma^2_t = (1/4 + sum_{i<=t}
(X_i - hat mu_i)^2)/(t + 1)``, ``c = 1/2``; the cap ``c/m`` keeps every factor
``>= 1 - c > 0``. Each factor decreases in ``m`` (``1 - c + c X/m`` on the capped part), so
the rejected set ``{m : max_{s <= t} K_s(m) >= 1/alpha}`` is an interval ``[0, m_t)`` and
the lower bound is ``m_t``; on a grid of ``m`` the bound reported is the largest rejected
grid point (never above ``m_t``, so the guarantee carries over):

.. math::
    P[\exists t:\ \mathrm{lower}_t > p] \le \alpha .

It needs the outcomes in order (the bets depend on the path), not only the counts.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from rstheory import _jax  # noqa: F401  (float64 before any array)
from rstheory._deprecation import keyword_only
from rstheory._validation import check_alpha

__all__ = ["betting_cs_lower", "log_capital"]

BET_CAP = 0.5  # c: the largest fraction of capital at risk on a single outcome


def _bet_step(state, xt, log_target, grid):
    """One outcome ``xt``: the predictable bets on ``grid``, then the capital update.

    ``state = (t, sum x, sum (x - hat mu)^2, log K on grid)`` with ``t`` counting from 1;
    the bet uses only the outcomes before ``xt``.
    """
    t, total, sq, log_k = state
    var_prev = (0.25 + sq) / t  # hat sigma^2_{t-1}
    lam = jnp.sqrt(2.0 * log_target / (var_prev * t * jnp.log1p(t)))
    lam_m = jnp.minimum(lam, BET_CAP / grid)
    log_k = log_k + jnp.log1p(lam_m * (xt - grid))
    mu_t = (0.5 + total + xt) / (t + 1.0)
    return (t + 1.0, total + xt, sq + (xt - mu_t) ** 2, log_k)


def _initial_state(grid):
    return (jnp.asarray(1.0), jnp.asarray(0.0), jnp.asarray(0.0), jnp.zeros_like(grid))


def log_capital(x, alpha, grid):
    """``log K_t(m)`` after each outcome of one path ``x`` ``(T,)``, on ``grid`` ``(G,)``.

    Returns shape ``(T, G)``. Under i.i.d. outcomes of mean ``m``, ``K_t(m)`` is a
    nonnegative martingale with ``K_0 = 1`` (``E K_t(m) = 1``), checked exactly by
    enumeration in ``proofs_check.thm_sequential``.
    """
    log_target = -jnp.log(alpha)

    def step(state, xt):
        state = _bet_step(state, xt, log_target, grid)
        return state, state[3]

    return jax.lax.scan(step, _initial_state(grid), x)[1]


def _lower_path(x, alpha, grid):
    """Lower bounds after each outcome of one path ``x`` (shape ``(T,)``) on ``grid``."""
    log_target = -jnp.log(alpha)

    def step(carry, xt):
        state, best = carry
        state = _bet_step(state, xt, log_target, grid)
        best = jnp.maximum(best, state[3])
        rejected = best >= log_target
        return (state, best), jnp.max(jnp.where(rejected, grid, 0.0))

    return jax.lax.scan(step, (_initial_state(grid), jnp.zeros_like(grid)), x)[1]


_lower_paths = jax.jit(jax.vmap(_lower_path, in_axes=(0, None, None)))


@keyword_only("alpha")
def betting_cs_lower(x, *, alpha=0.001, grid_size: int = 1000):
    r"""Anytime-valid lower bounds on a Bernoulli mean after every outcome of each path.

    Args:
      x: outcomes in order, 0/1 (or any values in ``[0, 1]``), shape ``(*batch, T)``.
      alpha: error level in ``(0, 1)`` for the whole sequence:
        ``P[exists t: lower[..., t - 1] > p] <= alpha``.
      grid_size: number of candidate means ``m = j / grid_size``, ``j = 1..grid_size - 1``
        (the bound is rounded down to the grid).

    Returns:
      float64 array of shape ``(*batch, T)``: the lower bound after ``1, ..., T`` outcomes,
      nondecreasing along the last axis.

    Example:
      >>> import numpy as np
      >>> from rstheory.bounds import betting_cs_lower
      >>> x = (np.random.default_rng(0).random(2000) < 0.9).astype(float)
      >>> low = betting_cs_lower(x, alpha=0.05)
      >>> low.shape, bool(0.8 < float(low[-1]) < 0.9)
      ((2000,), True)
    """
    check_alpha(alpha)
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim < 1 or arr.shape[-1] < 1:
        raise ValueError(f"x must have shape (*batch, T) with T >= 1, got shape {arr.shape}")
    if np.isnan(arr).any() or (arr < 0).any() or (arr > 1).any():
        raise ValueError("x must hold outcomes in [0, 1] (0/1 for a Bernoulli stream)")
    if not (isinstance(grid_size, (int, np.integer)) and grid_size >= 2):
        raise ValueError(f"grid_size must be an integer >= 2, got {grid_size!r}")
    grid = jnp.arange(1, grid_size, dtype=jnp.float64) / grid_size
    flat = arr.reshape(-1, arr.shape[-1])
    out = _lower_paths(jnp.asarray(flat), jnp.float64(alpha), grid)
    return out.reshape(arr.shape)
