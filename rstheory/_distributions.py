"""Models of Pr(p_A): the distribution of the top-class probability over a dataset.

The average-radius and certified-accuracy laws (theory digest, sections 3.4 and 4.5) are
expectations over the data distribution of ``p_A``:

    E[f(p_A)] = sum_j m_j f(x_j) + integral f(p) rho(p) dp,

with atoms ``x_j`` of mass ``m_j`` and a continuous part of density ``rho``. Every model
here exposes the same small interface:

* ``quadrature(num)`` -> ``(nodes, weights)``, host numpy float64 arrays with
  ``sum(weights * f(nodes)) ~= E[f(p_A)]``; atoms are single nodes carrying their mass, so
  they are integrated exactly; the continuous parts use Gauss rules with ``num`` nodes;
* ``sample(key, shape)``, ``mean()``, ``variance()``, ``cdf(p)``, ``density(p)`` (of the
  continuous part) and ``atoms()``.

:func:`fit` estimates a model from pilot vote counts ``(k_i, n_i)`` through the binomial
likelihood, so the pilot's sampling noise is not mistaken for spread in ``p_A``.

Classes are immutable and check their parameters eagerly (``ValueError`` naming the
argument and its allowed range), as in :mod:`rstheory._validation`.
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import Literal, NamedTuple, get_args

import jax
import jax.numpy as jnp
import numpy as np
import scipy.linalg
import scipy.optimize
import scipy.special
from jax.scipy.special import betainc, gammaln, logsumexp

from rstheory._deprecation import keyword_only, renamed_choice
from rstheory._validation import (
    _as_numpy,
    _show,
    as_f64,
    check_choice,
    check_counts,
    check_int,
    check_probability,
    check_real,
)

__all__ = [
    "Beta",
    "Empirical",
    "FitModel",
    "FitResult",
    "Mixture",
    "PointMass",
    "Uniform",
    "beta_atoms_log_likelihood",
    "fit",
]

FitModel = Literal["beta_atoms", "beta"]
"""The ``model=`` of :func:`fit`: a beta part with atoms at 0 and 1, or the beta part alone."""

FIT_MODELS: tuple[FitModel, ...] = get_args(FitModel)
_OLD_FIT_MODELS = {"beta-atoms": "beta_atoms"}  # the 0.1 spelling, until 0.3


# --------------------------------------------------------------------------- validation


def _check_interval(low: float, high: float) -> None:
    if not low < high:
        raise ValueError(f"high must be > low, got low={low!r}, high={high!r}")


def _shape(shape) -> tuple[int, ...]:
    return (int(shape),) if np.ndim(shape) == 0 else tuple(int(s) for s in shape)


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.array(a, dtype=np.float64)
    a.setflags(write=False)
    return a


_NO_ATOMS = (_readonly(np.zeros(0)), _readonly(np.zeros(0)))


# --------------------------------------------------------------------------- Gauss rules


def _gauss_jacobi_golub_welsch(num: int, alpha: float, beta: float):
    """Nodes on [-1, 1] and normalized weights for (1 - x)^alpha (1 + x)^beta.

    Golub-Welsch on the monic Jacobi recurrence (the same coefficients as scipy's
    ``roots_jacobi``); the weights come from the eigenvectors, so they never form the total
    mass ``2^(alpha+beta+1) B(alpha+1, beta+1)``, which overflows for large parameters.
    """
    k = np.arange(num, dtype=np.float64)
    s = 2.0 * k + alpha + beta
    with np.errstate(divide="ignore", invalid="ignore"):
        diag = np.where(
            k == 0, (beta - alpha) / (2.0 + alpha + beta), (beta**2 - alpha**2) / (s * (s + 2.0))
        )
    kk = k[1:]
    s1 = 2.0 * kk + alpha + beta
    off = (2.0 / s1) * np.sqrt((kk + alpha) * (kk + beta) / (s1 + 1.0))
    off = off * np.where(
        kk == 1, 1.0, np.sqrt(kk * (kk + alpha + beta) / np.where(kk == 1, 1.0, s1 - 1.0))
    )
    x, v = scipy.linalg.eigh_tridiagonal(diag, off)
    w = v[0, :] ** 2
    return x, w / w.sum()


def _gauss_jacobi(num: int, alpha: float, beta: float):
    """Gauss-Jacobi rule, scipy.special.roots_jacobi where its weights are finite."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        x, w = scipy.special.roots_jacobi(num, alpha, beta)
    if np.all(np.isfinite(x)) and np.all(np.isfinite(w)) and np.isfinite(w.sum()) and w.sum() > 0:
        return np.asarray(x, dtype=np.float64), np.asarray(w / w.sum(), dtype=np.float64)
    return _gauss_jacobi_golub_welsch(num, alpha, beta)


# --------------------------------------------------------------------------- models


class _Base:
    """Shared helpers; subclasses implement the interface described in the module docstring."""

    def quadrature(self, num: int = 64):  # pragma: no cover - overridden
        raise NotImplementedError

    def expect(self, f, num: int = 64) -> float:
        """``E[f(p)]`` by :meth:`quadrature`; ``f`` maps a float64 numpy array elementwise."""
        x, w = self.quadrature(num)
        return float(np.sum(w * np.asarray(f(x), dtype=np.float64)))


@dataclasses.dataclass(frozen=True, eq=False)
class PointMass(_Base):
    """All of the mass at one probability ``p``: ``Pr(p_A = p) = 1``.

    Args:
      p: location, a scalar in [0, 1].

    Example:
      >>> d = PointMass(0.9)
      >>> d.quadrature()
      (array([0.9]), array([1.]))
      >>> float(d.cdf(0.9)), float(d.cdf(0.89))
      (1.0, 0.0)
    """

    p: float

    def __post_init__(self):
        object.__setattr__(self, "p", check_real(self.p, name="p", low=0.0, high=1.0))

    def quadrature(self, num: int = 64):
        """One node at ``p`` with weight 1 (exact for every ``f``); ``num`` is checked, unused."""
        check_int(num, name="num")
        return np.array([self.p]), np.array([1.0])

    def atoms(self):
        """``(locations, masses)``: ``([p], [1])``."""
        return _readonly([self.p]), _readonly([1.0])

    def mean(self) -> jax.Array:
        """``p``, a 0-d float64 array."""
        return as_f64(self.p)

    def variance(self) -> jax.Array:
        """0."""
        return as_f64(0.0)

    def cdf(self, p) -> jax.Array:
        """Right-continuous step ``1[p >= self.p]``, same shape as ``p``."""
        return jnp.where(as_f64(p) >= self.p, 1.0, 0.0)

    def density(self, p) -> jax.Array:
        """Density of the continuous part: zeros, same shape as ``p``."""
        return jnp.zeros_like(as_f64(p))

    def sample(self, key, shape=()) -> jax.Array:
        """``shape`` copies of ``p`` (``key`` unused, kept for the common interface)."""
        del key
        return jnp.full(_shape(shape), self.p, dtype=jnp.float64)


@dataclasses.dataclass(frozen=True, eq=False)
class Uniform(_Base):
    """Uniform distribution on ``[low, high]``, density ``1 / (high - low)``.

    P2's average-radius constant is read as ``p_A ~ U[0.5, 1]`` (theory digest, section 3.4).

    Args:
      low: lower end, in [0, 1).
      high: upper end, in (low, 1]; default 1.

    Example:
      >>> d = Uniform(0.5)
      >>> round(float(d.mean()), 12), round(float(d.cdf(0.75)), 12)
      (0.75, 0.5)
      >>> x, w = d.quadrature(8)
      >>> round(float(w @ x**3), 12) == round((1 - 0.5**4) / (4 * 0.5), 12)
      True
    """

    low: float
    high: float = 1.0

    def __post_init__(self):
        object.__setattr__(self, "low", check_real(self.low, name="low", low=0.0, high=1.0))
        object.__setattr__(self, "high", check_real(self.high, name="high", low=0.0, high=1.0))
        _check_interval(self.low, self.high)

    def quadrature(self, num: int = 64):
        """Gauss-Legendre with ``num`` nodes mapped to ``[low, high]``.

        Exact for polynomials of degree ``<= 2 num - 1``.

        Returns:
          ``(nodes, weights)``, float64 arrays of shape ``(num,)``; weights sum to 1.
        """
        num = check_int(num, name="num")
        x, w = np.polynomial.legendre.leggauss(num)
        nodes = self.low + (self.high - self.low) * (x + 1.0) / 2.0
        return np.clip(nodes, self.low, self.high), w / w.sum()

    def atoms(self):
        """No atoms: two empty float64 arrays."""
        return _NO_ATOMS

    def mean(self) -> jax.Array:
        """``(low + high) / 2``."""
        return as_f64((self.low + self.high) / 2.0)

    def variance(self) -> jax.Array:
        """``(high - low)^2 / 12``."""
        return as_f64((self.high - self.low) ** 2 / 12.0)

    def cdf(self, p) -> jax.Array:
        """``clip((p - low) / (high - low), 0, 1)``, same shape as ``p``."""
        return jnp.clip((as_f64(p) - self.low) / (self.high - self.low), 0.0, 1.0)

    def density(self, p) -> jax.Array:
        """``1 / (high - low)`` on ``[low, high]``, 0 elsewhere; same shape as ``p``."""
        p = as_f64(p)
        return jnp.where((p >= self.low) & (p <= self.high), 1.0 / (self.high - self.low), 0.0)

    def sample(self, key, shape=()) -> jax.Array:
        """Draws of shape ``shape`` by ``jax.random.uniform``."""
        return jax.random.uniform(key, _shape(shape), jnp.float64, self.low, self.high)


@dataclasses.dataclass(frozen=True, eq=False)
class Beta(_Base):
    """Beta(a, b) distribution mapped to ``[low, high]``.

    With ``u = (p - low) / (high - low)``, the density is

        rho(p) = u^(a-1) (1-u)^(b-1) / (B(a, b) (high - low)).

    Args:
      a: first shape parameter, ``> 0``.
      b: second shape parameter, ``> 0``.
      low: lower end, in [0, 1); default 0.
      high: upper end, in (low, 1]; default 1.

    Example:
      >>> d = Beta(8.0, 2.0)
      >>> round(float(d.mean()), 12)
      0.8
      >>> x, w = d.quadrature(16)
      >>> round(float(w @ x), 12)
      0.8
    """

    a: float
    b: float
    low: float = dataclasses.field(default=0.0, kw_only=True)
    high: float = dataclasses.field(default=1.0, kw_only=True)

    def __post_init__(self):
        object.__setattr__(self, "a", check_real(self.a, name="a", low=0.0, low_open=True))
        object.__setattr__(self, "b", check_real(self.b, name="b", low=0.0, low_open=True))
        object.__setattr__(self, "low", check_real(self.low, name="low", low=0.0, high=1.0))
        object.__setattr__(self, "high", check_real(self.high, name="high", low=0.0, high=1.0))
        _check_interval(self.low, self.high)

    def quadrature(self, num: int = 64):
        """Gauss-Jacobi with ``num`` nodes for the weight ``u^(a-1) (1-u)^(b-1)``, mapped to ``[low, high]``.

        Exact for polynomials of degree ``<= 2 num - 1``. Nodes come from
        ``scipy.special.roots_jacobi(num, b - 1, a - 1)``; where its weights overflow
        (``a + b`` beyond about 1000) the same rule is computed by Golub-Welsch with
        normalized weights.

        Returns:
          ``(nodes, weights)``, float64 arrays of shape ``(num,)``; weights sum to 1.
        """
        num = check_int(num, name="num")
        x, w = _gauss_jacobi(num, self.b - 1.0, self.a - 1.0)
        nodes = self.low + (self.high - self.low) * (x + 1.0) / 2.0
        return np.clip(nodes, self.low, self.high), w

    def atoms(self):
        """No atoms: two empty float64 arrays."""
        return _NO_ATOMS

    def mean(self) -> jax.Array:
        """``low + (high - low) a / (a + b)``."""
        return as_f64(self.low + (self.high - self.low) * self.a / (self.a + self.b))

    def variance(self) -> jax.Array:
        """``(high - low)^2 a b / ((a + b)^2 (a + b + 1))``."""
        s = self.a + self.b
        return as_f64((self.high - self.low) ** 2 * self.a * self.b / (s * s * (s + 1.0)))

    def cdf(self, p) -> jax.Array:
        """Regularized incomplete beta function of ``u``, same shape as ``p``."""
        u = jnp.clip((as_f64(p) - self.low) / (self.high - self.low), 0.0, 1.0)
        return betainc(self.a, self.b, u)

    def density(self, p) -> jax.Array:
        """``rho(p)`` above, 0 outside ``[low, high]``; same shape as ``p``."""
        width = self.high - self.low
        u = (as_f64(p) - self.low) / width
        return jax.scipy.stats.beta.pdf(u, self.a, self.b) / width

    def sample(self, key, shape=()) -> jax.Array:
        """Draws of shape ``shape`` by ``jax.random.beta``."""
        u = jax.random.beta(key, self.a, self.b, _shape(shape), jnp.float64)
        return self.low + (self.high - self.low) * u


# 0.1 took low and high positionally: Beta(a, b, low, high).
Beta.__init__ = keyword_only("low", "high")(Beta.__init__)


@dataclasses.dataclass(frozen=True, eq=False)
class Mixture(_Base):
    """Finite mixture ``sum_i w_i D_i`` of the models in this module.

    Args:
      components: sequence of length ``C >= 1`` of models (``PointMass``, ``Uniform``,
        ``Beta``, ``Empirical`` or ``Mixture``).
      weights: shape ``(C,)``, each in [0, 1], summing to 1 within 1e-9 (then renormalized).

    Example:
      >>> d = Mixture([PointMass(1.0), Uniform(0.5)], [0.25, 0.75])
      >>> round(float(d.mean()), 12)
      0.8125
      >>> d.atoms()
      (array([1.]), array([0.25]))
    """

    components: tuple
    weights: tuple

    def __post_init__(self):
        comps = tuple(self.components)
        if len(comps) == 0:
            raise ValueError("components must be a non-empty sequence of distributions")
        for c in comps:
            if not isinstance(c, _Base):
                raise ValueError(
                    f"components must be distributions of rstheory.distributions, got {type(c).__name__}"
                )
        w = _as_numpy("weights", self.weights).astype(np.float64)
        if w.shape != (len(comps),):
            raise ValueError(
                f"weights must have shape ({len(comps)},) like components, got {w.shape}"
            )
        if np.isnan(w).any() or (w < 0).any() or (w > 1).any():
            bad = w[np.isnan(w) | (w < 0) | (w > 1)][0]
            raise ValueError(f"weights must each lie in [0, 1], got {_show(bad)}")
        if abs(w.sum() - 1.0) > 1e-9:
            raise ValueError(f"weights must sum to 1, got sum {w.sum()!r}")
        w = w / w.sum()
        object.__setattr__(self, "components", comps)
        object.__setattr__(self, "weights", tuple(float(v) for v in w))

    def quadrature(self, num: int = 64):
        """Concatenated component rules, component ``i``'s weights scaled by ``w_i``.

        Each component uses ``num`` nodes, so the rule is exact to the lowest degree among
        the components (``2 num - 1`` for Uniform and Beta; atoms are exact).

        Returns:
          ``(nodes, weights)``, float64 arrays of equal length; weights sum to 1.
        """
        num = check_int(num, name="num")
        xs, ws = [], []
        for c, wc in zip(self.components, self.weights):
            x, w = c.quadrature(num)
            xs.append(x)
            ws.append(wc * w)
        return np.concatenate(xs), np.concatenate(ws)

    def atoms(self):
        """Atoms of all components, equal locations merged, masses scaled by the weights.

        Returns:
          ``(locations, masses)``, sorted float64 arrays of equal length; zero masses dropped.
        """
        locs, masses = [], []
        for c, wc in zip(self.components, self.weights):
            x, m = c.atoms()
            locs.append(x)
            masses.append(wc * m)
        loc, mass = np.concatenate(locs), np.concatenate(masses)
        uniq, inv = np.unique(loc, return_inverse=True)
        merged = np.bincount(inv, weights=mass, minlength=len(uniq)) if len(uniq) else np.zeros(0)
        keep = merged > 0
        return _readonly(uniq[keep]), _readonly(merged[keep])

    def mean(self) -> jax.Array:
        """``sum_i w_i mean_i``."""
        return as_f64(sum(w * float(c.mean()) for c, w in zip(self.components, self.weights)))

    def variance(self) -> jax.Array:
        """``sum_i w_i (var_i + mean_i^2) - mean^2``."""
        m2 = sum(
            w * (float(c.variance()) + float(c.mean()) ** 2)
            for c, w in zip(self.components, self.weights)
        )
        return as_f64(max(m2 - float(self.mean()) ** 2, 0.0))

    def cdf(self, p) -> jax.Array:
        """``sum_i w_i cdf_i(p)``, same shape as ``p``."""
        p = as_f64(p)
        return sum(w * c.cdf(p) for c, w in zip(self.components, self.weights))

    def density(self, p) -> jax.Array:
        """``sum_i w_i density_i(p)`` (continuous parts only), same shape as ``p``."""
        p = as_f64(p)
        return sum(w * c.density(p) for c, w in zip(self.components, self.weights))

    def sample(self, key, shape=()) -> jax.Array:
        """Draws of shape ``shape``: a component index per draw, then that component's draw."""
        shape = _shape(shape)
        kc, *ks = jax.random.split(key, len(self.components) + 1)
        idx = jax.random.choice(kc, len(self.components), shape, p=as_f64(self.weights))
        draws = jnp.stack([c.sample(k, shape) for c, k in zip(self.components, ks)])
        return jnp.take_along_axis(draws, idx[None, ...], axis=0)[0]


@dataclasses.dataclass(frozen=True, eq=False)
class Empirical(_Base):
    """Empirical distribution of per-input probabilities: each value an atom of mass ``1/N``.

    Args:
      p: shape ``(N,)``, ``N >= 1``, values in [0, 1].

    Example:
      >>> d = Empirical([0.9, 0.9, 0.6, 1.0])
      >>> d.atoms()
      (array([0.6, 0.9, 1. ]), array([0.25, 0.5 , 0.25]))
      >>> Empirical.from_counts([45, 50], 50).atoms()
      (array([0.9, 1. ]), array([0.5, 0.5]))
    """

    p: np.ndarray

    def __post_init__(self):
        arr = _as_numpy("p", self.p).astype(np.float64)
        if arr.ndim != 1 or arr.size == 0:
            raise ValueError(f"p must be a non-empty 1-D array, got shape {arr.shape}")
        check_probability(arr, name="p")
        object.__setattr__(self, "p", _readonly(arr))

    @classmethod
    def from_counts(cls, k, n) -> Empirical:
        """Empirical distribution of the plug-in estimates ``k_i / n_i``.

        Args:
          k: top-class votes, integer shape ``(N,)``, ``0 <= k_i <= n_i``.
          n: samples per input, integer, shape ``(N,)`` or scalar, ``>= 1``.
        """
        k_arr, n_arr = _check_pilot(k, n, min_inputs=1)
        return cls(k_arr / n_arr)

    def quadrature(self, num: int = 64):
        """Distinct values as nodes, their frequencies as weights (exact); ``num`` unused."""
        check_int(num, name="num")
        x, m = self.atoms()
        return np.array(x), np.array(m)

    def atoms(self):
        """``(sorted distinct values, their frequencies)``."""
        uniq, counts = np.unique(self.p, return_counts=True)
        return _readonly(uniq), _readonly(counts / self.p.size)

    def mean(self) -> jax.Array:
        """Average of the values."""
        return as_f64(np.mean(self.p))

    def variance(self) -> jax.Array:
        """Population variance (``ddof = 0``) of the values."""
        return as_f64(np.var(self.p))

    def cdf(self, p) -> jax.Array:
        """Fraction of values ``<= p``, same shape as ``p``."""
        p = as_f64(p)
        values = as_f64(self.p).reshape((1,) * p.ndim + (-1,))
        below = values <= p[..., None]
        return jnp.mean(below, axis=-1, dtype=jnp.float64)

    def density(self, p) -> jax.Array:
        """Zeros (no continuous part), same shape as ``p``."""
        return jnp.zeros_like(as_f64(p))

    def sample(self, key, shape=()) -> jax.Array:
        """Draws with replacement of shape ``shape``."""
        return jax.random.choice(key, as_f64(self.p), _shape(shape))


# --------------------------------------------------------------------------- fitting


class FitResult(NamedTuple):
    """Result of :func:`fit`.

    Attributes:
      distribution: the fitted ``Mixture([PointMass(0), PointMass(1), Beta(a, b)], [w0, w1, 1 - w0 - w1])``.
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


def _check_pilot(k, n, *, min_inputs: int):
    ka, na = _as_numpy("k", k), _as_numpy("n", n)
    for name, arr in (("k", ka), ("n", na)):
        if not (np.issubdtype(arr.dtype, np.integer)):
            raise ValueError(f"{name} must be an integer array, got dtype {arr.dtype}")
    if ka.ndim != 1:
        raise ValueError(f"k must be a 1-D array (one count per input), got shape {ka.shape}")
    if na.ndim == 0:
        na = np.full(ka.shape, na)
    if na.shape != ka.shape:
        raise ValueError(f"n must be a scalar or have the shape of k {ka.shape}, got {na.shape}")
    if ka.size < min_inputs:
        raise ValueError(f"k must hold at least {min_inputs} inputs, got {ka.size}")
    check_counts(ka, na)
    return ka.astype(np.int64), na.astype(np.int64)


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
    ka, na = _check_pilot(k, n, min_inputs=1)
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

        w0 [k_i = 0] + w1 [k_i = n_i] + (1 - w0 - w1) C(n_i, k_i) B(k_i + a, n_i - k_i + b) / B(a, b)

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
    ka, na = _check_pilot(k, n, min_inputs=2)
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
