"""Models of Pr(p_A): the distribution of the top-class probability over a dataset.

The average-radius and certified-accuracy laws (Seferis, Kollias & Cheng 2024, ECAI,
Eqs. 2 and 3, and their exact versions in :mod:`rstheory.scaling`) are expectations over the data
distribution of ``p_A``:

    E[f(p_A)] = sum_j m_j f(x_j) + integral f(p) rho(p) dp,

with atoms ``x_j`` of mass ``m_j`` and a continuous part of density ``rho``. Every model
here exposes the same small interface:

* ``quadrature(num)`` -> ``(nodes, weights)``, host numpy float64 arrays with
  ``sum(weights * f(nodes)) ~= E[f(p_A)]``; atoms are single nodes carrying their mass, so
  they are integrated exactly; the continuous parts use Gauss rules with ``num`` nodes;
* ``sample(key, shape)``, ``mean()``, ``variance()``, ``cdf(p)``, ``density(p)`` (of the
  continuous part) and ``atoms()``.

:func:`rstheory.distributions.fit` (in :mod:`rstheory._fit`) estimates a model from pilot
vote counts.

Classes are immutable and check their parameters eagerly (``ValueError`` naming the
argument and its allowed range), as in :mod:`rstheory._validation`.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import betainc

from rstheory import _jax  # noqa: F401  (float64 before any array)
from rstheory._deprecation import keyword_only
from rstheory._gauss_jacobi import gauss_jacobi
from rstheory._validation import (
    as_f64,
    as_numpy,
    check_int,
    check_pilot_counts,
    check_probability,
    check_real,
    show_value,
)

__all__ = [
    "Beta",
    "Empirical",
    "Mixture",
    "PointMass",
    "Uniform",
]

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

    The average-radius constant 1.64 of Seferis, Kollias & Cheng (2024), Eq. (2), is read
    as ``p_A ~ U[0.5, 1]`` (derived for this project; verified by the proofs_check entry
    ``scaling.first_order_constant``).

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
        """Gauss-Jacobi with ``num`` nodes for the weight ``u^(a-1) (1-u)^(b-1)``, mapped to
        ``[low, high]``.

        Exact for polynomials of degree ``<= 2 num - 1``. Nodes come from
        ``scipy.special.roots_jacobi(num, b - 1, a - 1)``; where its weights overflow
        (``a + b`` beyond about 1000) the same rule is computed by Golub-Welsch with
        normalized weights.

        Returns:
          ``(nodes, weights)``, float64 arrays of shape ``(num,)``; weights sum to 1.
        """
        num = check_int(num, name="num")
        x, w = gauss_jacobi(num, self.b - 1.0, self.a - 1.0)
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
                    f"components must be distributions of rstheory.distributions, got "
                    f"{type(c).__name__}"
                )
        w = as_numpy("weights", self.weights).astype(np.float64)
        if w.shape != (len(comps),):
            raise ValueError(
                f"weights must have shape ({len(comps)},) like components, got {w.shape}"
            )
        if np.isnan(w).any() or (w < 0).any() or (w > 1).any():
            bad = w[np.isnan(w) | (w < 0) | (w > 1)][0]
            raise ValueError(f"weights must each lie in [0, 1], got {show_value(bad)}")
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
        for c, wc in zip(self.components, self.weights, strict=True):
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
        for c, wc in zip(self.components, self.weights, strict=True):
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
        return as_f64(
            sum(w * float(c.mean()) for c, w in zip(self.components, self.weights, strict=True))
        )

    def variance(self) -> jax.Array:
        """``sum_i w_i (var_i + mean_i^2) - mean^2``."""
        m2 = sum(
            w * (float(c.variance()) + float(c.mean()) ** 2)
            for c, w in zip(self.components, self.weights, strict=True)
        )
        return as_f64(max(m2 - float(self.mean()) ** 2, 0.0))

    def cdf(self, p) -> jax.Array:
        """``sum_i w_i cdf_i(p)``, same shape as ``p``."""
        p = as_f64(p)
        return sum(w * c.cdf(p) for c, w in zip(self.components, self.weights, strict=True))

    def density(self, p) -> jax.Array:
        """``sum_i w_i density_i(p)`` (continuous parts only), same shape as ``p``."""
        p = as_f64(p)
        return sum(w * c.density(p) for c, w in zip(self.components, self.weights, strict=True))

    def sample(self, key, shape=()) -> jax.Array:
        """Draws of shape ``shape``: a component index per draw, then that component's draw."""
        shape = _shape(shape)
        kc, *ks = jax.random.split(key, len(self.components) + 1)
        idx = jax.random.choice(kc, len(self.components), shape, p=as_f64(self.weights))
        draws = jnp.stack([c.sample(k, shape) for c, k in zip(self.components, ks, strict=True)])
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
        arr = as_numpy("p", self.p).astype(np.float64)
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
        k_arr, n_arr = check_pilot_counts(k, n, min_inputs=1)
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
