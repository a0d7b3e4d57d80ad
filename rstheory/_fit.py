"""Fitting a model of Pr(p_A) to pilot vote counts through the binomial likelihood.

:func:`fit` estimates ``w0 delta_0 + w1 delta_1 + (1 - w0 - w1) Beta(a, b)`` from pilot
counts ``(k_i, n_i)``, so the pilot's sampling noise is not mistaken for spread in
``p_A``; :func:`beta_atoms_log_likelihood` is the likelihood it maximizes.
"""

from __future__ import annotations

from typing import Literal, NamedTuple, get_args

import jax
import jax.numpy as jnp
import numpy as np
import scipy.optimize
from jax.scipy.special import gammaln, logsumexp

from rstheory import _jax  # noqa: F401  (float64 before any array)
from rstheory._deprecation import renamed_choice
from rstheory._distributions import Beta, Mixture, PointMass
from rstheory._validation import as_f64, check_choice, check_pilot_counts, check_real

__all__ = ["FIT_MODELS", "FitModel", "FitResult", "beta_atoms_log_likelihood", "fit"]

FitModel = Literal["beta_atoms", "beta"]
"""The ``model=`` of :func:`fit`: a beta part with atoms at 0 and 1, or the beta part alone."""

FIT_MODELS: tuple[FitModel, ...] = get_args(FitModel)
_OLD_FIT_MODELS = {"beta-atoms": "beta_atoms"}  # the 0.1 spelling, until 0.3


class FitResult(NamedTuple):
    """Result of :func:`fit`.

    Attributes:
      distribution: the fitted
        ``Mixture([PointMass(0), PointMass(1), Beta(a, b)], [w0, w1, 1 - w0 - w1])``.
      a, b: fitted Beta shape parameters.
      w0, w1: fitted masses of the atoms at 0 and at 1 (both 0 for ``model="beta"``).
      log_likelihood: maximized log-likelihood (binomial coefficients included).
      converged: whether the optimizer reported success.
    """

    distribution: Mixture
    a: float
    b: float
    w0: float
    w1: float
    log_likelihood: float
    converged: bool


def _log_lik_terms(k, n, log_a, log_b, log_w):
    """Per-input log-likelihood; ``k``, ``n`` float64 ``(N,)``, ``log_w`` = log(w0, w1, w_beta)."""
    a, b = jnp.exp(log_a), jnp.exp(log_b)
    log_choose = gammaln(n + 1.0) - gammaln(k + 1.0) - gammaln(n - k + 1.0)
    # jax.scipy.special.betaln is only ~1e-7 accurate at some moderate arguments; the
    # log-gamma differences are accurate to ~eps * |lgamma| (1e-8 absolute at a + b = 1e7).
    log_bb = (
        log_choose
        + gammaln(k + a)
        + gammaln(n - k + b)
        - gammaln(n + a + b)
        - gammaln(a)
        - gammaln(b)
        + gammaln(a + b)
    )
    neg_inf = jnp.full_like(k, -jnp.inf)
    at0 = jnp.where(k == 0, log_w[0], neg_inf)
    at1 = jnp.where(k == n, log_w[1], neg_inf)
    return logsumexp(jnp.stack([at0, at1, log_w[2] + log_bb]), axis=0)


def beta_atoms_log_likelihood(k, n, *, a, b, w0, w1) -> float:
    """Log-likelihood of pilot counts under the atoms-plus-Beta model of :func:`fit`.

    Input ``i`` contributes

        log( w0 [k_i = 0] + w1 [k_i = n_i]
             + (1 - w0 - w1) C(n_i, k_i) B(k_i + a, n_i - k_i + b) / B(a, b) ).

    Args:
      k: top-class votes, integer ``(N,)``, ``0 <= k_i <= n_i``.
      n: samples per input, integer ``(N,)`` or scalar, ``>= 1``.
      a, b: Beta shape parameters, ``> 0``.
      w0, w1: atom masses at 0 and 1, each in [0, 1], ``w0 + w1 <= 1``.

    Returns:
      The summed log-likelihood, a Python float.

    Example:
      >>> round(beta_atoms_log_likelihood([0, 3], [3, 3], a=1.0, b=1.0, w0=0.0, w1=0.0), 6)
      -2.772589
    """
    ka, na = check_pilot_counts(k, n, min_inputs=1, caller="beta_atoms_log_likelihood")
    a = check_real(a, name="a", low=0.0, low_open=True)
    b = check_real(b, name="b", low=0.0, low_open=True)
    w0 = check_real(w0, name="w0", low=0.0, high=1.0)
    w1 = check_real(w1, name="w1", low=0.0, high=1.0)
    if w0 + w1 > 1.0:
        raise ValueError(f"w0 + w1 must be <= 1, got {w0 + w1!r}")
    with np.errstate(divide="ignore"):
        log_w = np.log(np.array([w0, w1, max(1.0 - w0 - w1, 0.0)]))
    terms = _log_lik_terms(
        as_f64(ka), as_f64(na), as_f64(np.log(a)), as_f64(np.log(b)), as_f64(log_w)
    )
    return float(jnp.sum(terms))


def _unpack(theta, with_atoms: bool):
    log_a, log_b = theta[0], theta[1]
    if with_atoms:
        log_w = jax.nn.log_softmax(jnp.stack([theta[2], theta[3], jnp.zeros((), jnp.float64)]))
    else:
        log_w = jnp.array([-jnp.inf, -jnp.inf, 0.0], dtype=jnp.float64)
    return log_a, log_b, log_w


def _neg_log_lik(theta, k, n, with_atoms: bool):
    log_a, log_b, log_w = _unpack(theta, with_atoms)
    return -jnp.sum(_log_lik_terms(k, n, log_a, log_b, log_w)) / k.shape[0]


_nll_and_grad = jax.jit(jax.value_and_grad(_neg_log_lik), static_argnums=3)

# Bounds of the unconstrained parameters: a, b in [1e-3, 1e7]; atom logits within +-30
# (masses down to ~1e-13), which keeps every quantity finite while L-BFGS-B searches.
_LOG_AB_BOUNDS = (np.log(1e-3), np.log(1e7))
_LOGIT_BOUNDS = (-30.0, 30.0)


def fit(k, n, *, model: FitModel = "beta_atoms") -> FitResult:
    """Maximum-likelihood model of Pr(p_A) from pilot counts, through the binomial likelihood.

    The model is ``w0 delta_0 + w1 delta_1 + (1 - w0 - w1) Beta(a, b)``; given ``p_i``, the
    pilot count is ``k_i ~ Binomial(n_i, p_i)``, so input ``i`` has likelihood

        w0 [k_i = 0] + w1 [k_i = n_i]
          + (1 - w0 - w1) C(n_i, k_i) B(k_i + a, n_i - k_i + b) / B(a, b)

    (beta-binomial for the continuous part). Because the binomial noise is modelled, inputs
    that all share one ``p`` give a concentrated Beta part, not the spread of ``k_i / n_i``.

    The negative mean log-likelihood is minimized by ``scipy.optimize.minimize``
    (L-BFGS-B, JAX gradients) over ``(log a, log b, z0, z1)`` with
    ``(w0, w1, w_beta) = softmax(z0, z1, 0)``, from three deterministic starts (the
    pooled mean ``k/n`` with concentration ``a + b`` in {2, 20, 200}); the best is kept.
    ``a`` and ``b`` are bounded to ``[1e-3, 1e7]``.

    Args:
      k: top-class votes per input, integer ``(N,)``, ``N >= 2``, ``0 <= k_i <= n_i``.
      n: samples per input, integer ``(N,)`` or scalar, ``n_i >= 1``.
      model: ``"beta_atoms"`` (default) or ``"beta"`` (``w0 = w1 = 0`` fixed); the 0.1
        spelling ``"beta-atoms"`` still works, with a :class:`DeprecationWarning`, until 0.3.

    Returns:
      :class:`FitResult` with the fitted ``Mixture`` and its parameters.

    Example:
      >>> import numpy as np
      >>> rng = np.random.default_rng(0)
      >>> p = rng.beta(8.0, 2.0, size=300)
      >>> k = rng.binomial(100, p)
      >>> res = fit(k, 100)
      >>> abs(float(res.distribution.mean()) - 0.8) < 0.03
      True
    """
    model = renamed_choice("model", model, _OLD_FIT_MODELS)
    check_choice(model, name="model", choices=FIT_MODELS)
    ka, na = check_pilot_counts(k, n, min_inputs=2, caller="fit")
    with_atoms = model == "beta_atoms"
    kf, nf = as_f64(ka), as_f64(na)

    def fun(theta):
        v, g = _nll_and_grad(as_f64(theta), kf, nf, with_atoms)
        return float(v), np.asarray(g, dtype=np.float64)

    pbar = float(np.clip(ka.sum() / na.sum(), 0.02, 0.98))
    logit_start = np.log(0.02 / 0.96)
    best = None
    for conc in (2.0, 20.0, 200.0):
        theta0 = [np.log(conc * pbar), np.log(conc * (1 - pbar))]
        bounds = [_LOG_AB_BOUNDS, _LOG_AB_BOUNDS]
        if with_atoms:
            theta0 += [logit_start, logit_start]
            bounds += [_LOGIT_BOUNDS, _LOGIT_BOUNDS]
        res = scipy.optimize.minimize(
            fun, np.array(theta0), jac=True, method="L-BFGS-B", bounds=bounds
        )
        if best is None or res.fun < best.fun:
            best = res
    log_a, log_b, log_w = _unpack(as_f64(best.x), with_atoms)
    a, b = float(np.exp(log_a)), float(np.exp(log_b))
    w = np.exp(np.asarray(log_w, dtype=np.float64))
    w0, w1 = float(w[0]), float(w[1])
    wb = 1.0 - w0 - w1
    dist = Mixture([PointMass(0.0), PointMass(1.0), Beta(a, b)], [w0, w1, wb])
    return FitResult(dist, a, b, w0, w1, float(-best.fun * ka.size), bool(best.success))
