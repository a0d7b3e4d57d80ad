"""The models of Pr(p_A) that ``rstheory plan --dist`` names, without JAX.

``point:P``, ``uniform:LOW[,HIGH]`` and ``beta:A,B[,LOW,HIGH]``, with the atoms of
``--atom0`` / ``--atom1`` as a mixture, are held here as plain parameters: the same
checks (``ValueError`` naming the parameter and its range), the same quadrature and the
same ``repr`` as :class:`rstheory.distributions.PointMass`, ``Uniform``, ``Beta`` and
``Mixture`` (which import JAX), and :meth:`model` builds that model for the paths that
need it (``--sequential``, ``--plot``). The quadratures are those documented there:
one node for a point mass, Gauss-Legendre for the uniform law, Gauss-Jacobi
(:func:`rstheory._gauss_jacobi.gauss_jacobi`) for the Beta law, ``NUM`` nodes each.
``tests/rstheory/test_plan_scipy.py`` checks both against the models.

Example:
  >>> from rstheory._plan_laws import BetaLaw, MixtureLaw, PointLaw
  >>> law = MixtureLaw((PointLaw(0.0), PointLaw(1.0), BetaLaw(8.0, 2.0)), (0.0, 0.2, 0.8))
  >>> law
  Mixture(components=(PointMass(p=0.0), PointMass(p=1.0), Beta(a=8.0, b=2.0, low=0.0, high=1.0)), weights=(0.0, 0.2, 0.8))
  >>> nodes, weights = law.quadrature()
  >>> nodes.shape, round(float(weights @ nodes), 12)
  ((66,), 0.84)
"""  # noqa: E501  (a repr is one line)

from __future__ import annotations

import dataclasses

import numpy as np

from rstheory._validation import check_real, show_value

__all__ = [
    "NUM",
    "BetaLaw",
    "MixtureLaw",
    "PointLaw",
    "UniformLaw",
    "is_law",
    "law_of",
    "with_atoms",
]

# Nodes per continuous part: the default ``num`` of the models' quadrature.
NUM = 64


def _interval(low: float, high: float) -> tuple[float, float]:
    low = check_real(low, name="low", low=0.0, high=1.0)
    high = check_real(high, name="high", low=0.0, high=1.0)
    if not low < high:
        raise ValueError(f"high must be > low, got low={low!r}, high={high!r}")
    return low, high


@dataclasses.dataclass(frozen=True)
class PointLaw:
    """All of the mass at ``p`` in ``[0, 1]``: :class:`rstheory.distributions.PointMass`."""

    p: float

    def __post_init__(self):
        object.__setattr__(self, "p", check_real(self.p, name="p", low=0.0, high=1.0))

    def __repr__(self) -> str:
        return f"PointMass(p={self.p!r})"

    def quadrature(self) -> tuple[np.ndarray, np.ndarray]:
        """One node at ``p``, weight 1: two float64 arrays of shape ``(1,)``."""
        return np.array([self.p]), np.array([1.0])

    def model(self):
        from rstheory import distributions

        return distributions.PointMass(self.p)


@dataclasses.dataclass(frozen=True)
class UniformLaw:
    """Uniform on ``[low, high]``: :class:`rstheory.distributions.Uniform`."""

    low: float
    high: float = 1.0

    def __post_init__(self):
        low, high = _interval(self.low, self.high)
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)

    def __repr__(self) -> str:
        return f"Uniform(low={self.low!r}, high={self.high!r})"

    def quadrature(self) -> tuple[np.ndarray, np.ndarray]:
        """Gauss-Legendre, ``NUM`` nodes mapped to ``[low, high]``, weights summing to 1."""
        x, w = np.polynomial.legendre.leggauss(NUM)
        nodes = self.low + (self.high - self.low) * (x + 1.0) / 2.0
        return np.clip(nodes, self.low, self.high), w / w.sum()

    def model(self):
        from rstheory import distributions

        return distributions.Uniform(self.low, self.high)


@dataclasses.dataclass(frozen=True)
class BetaLaw:
    """Beta(a, b) mapped to ``[low, high]``: :class:`rstheory.distributions.Beta`."""

    a: float
    b: float
    low: float = 0.0
    high: float = 1.0

    def __post_init__(self):
        object.__setattr__(self, "a", check_real(self.a, name="a", low=0.0, low_open=True))
        object.__setattr__(self, "b", check_real(self.b, name="b", low=0.0, low_open=True))
        low, high = _interval(self.low, self.high)
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)

    def __repr__(self) -> str:
        return f"Beta(a={self.a!r}, b={self.b!r}, low={self.low!r}, high={self.high!r})"

    def quadrature(self) -> tuple[np.ndarray, np.ndarray]:
        """Gauss-Jacobi for ``u^(a-1) (1-u)^(b-1)``, ``NUM`` nodes mapped to ``[low, high]``."""
        from rstheory._gauss_jacobi import gauss_jacobi

        x, w = gauss_jacobi(NUM, self.b - 1.0, self.a - 1.0)
        nodes = self.low + (self.high - self.low) * (x + 1.0) / 2.0
        return np.clip(nodes, self.low, self.high), w

    def model(self):
        from rstheory import distributions

        return distributions.Beta(self.a, self.b, low=self.low, high=self.high)


@dataclasses.dataclass(frozen=True)
class MixtureLaw:
    """``sum_i w_i D_i`` of the laws above: :class:`rstheory.distributions.Mixture`.

    ``weights``: ``(C,)``, each in ``[0, 1]``, summing to 1 within ``1e-9`` (then
    renormalized), as the model checks them.
    """

    components: tuple
    weights: tuple

    def __post_init__(self):
        comps = tuple(self.components)
        if not comps:
            raise ValueError("components must be a non-empty sequence of distributions")
        w = np.asarray(self.weights, dtype=np.float64)
        if w.shape != (len(comps),):
            raise ValueError(
                f"weights must have shape ({len(comps)},) like components, got {w.shape}"
            )
        bad = np.isnan(w) | (w < 0) | (w > 1)
        if bad.any():
            raise ValueError(f"weights must each lie in [0, 1], got {show_value(w[bad][0])}")
        if abs(w.sum() - 1.0) > 1e-9:
            raise ValueError(f"weights must sum to 1, got sum {w.sum()!r}")
        w = w / w.sum()
        object.__setattr__(self, "components", comps)
        object.__setattr__(self, "weights", tuple(float(v) for v in w))

    def __repr__(self) -> str:
        return f"Mixture(components={self.components!r}, weights={self.weights!r})"

    def quadrature(self) -> tuple[np.ndarray, np.ndarray]:
        """The components' rules concatenated, component ``i``'s weights scaled by ``w_i``."""
        rules = [c.quadrature() for c in self.components]
        return (
            np.concatenate([x for x, _ in rules]),
            np.concatenate([wc * w for (_, w), wc in zip(rules, self.weights, strict=True)]),
        )

    def model(self):
        from rstheory import distributions

        return distributions.Mixture([c.model() for c in self.components], list(self.weights))


# --dist KIND:VALUES -> (the law, the fewest and the most values it takes).
_KINDS = {"point": (PointLaw, 1, 1), "uniform": (UniformLaw, 1, 2), "beta": (BetaLaw, 2, 4)}


def law_of(kind: str, values: list[float]):
    """The law ``kind`` (``point``, ``uniform`` or ``beta``) of positional ``values``.

    Raises:
      KeyError: an unknown kind. TypeError: too many or too few values. ValueError: a
      value outside its range.
    """
    law, fewest, most = _KINDS[kind]
    if not fewest <= len(values) <= most:
        count = str(fewest) if fewest == most else f"{fewest} to {most}"
        raise TypeError(f"{kind} takes {count} values, got {len(values)}")
    return law(*values)


def is_law(dist) -> bool:
    """Whether ``dist`` is a law of this module (the plans the SciPy path computes)."""
    return isinstance(dist, (PointLaw, UniformLaw, BetaLaw, MixtureLaw))


def with_atoms(dist, atom0: float, atom1: float):
    """``dist`` with masses ``atom0`` at ``p = 0`` and ``atom1`` at ``p = 1`` (the rest on
    ``dist``): a :class:`MixtureLaw` of a law, a :class:`rstheory.distributions.Mixture`
    of a model; ``dist`` itself without atoms."""
    if not (atom0 or atom1):
        return dist
    weights = [atom0, atom1, 1.0 - atom0 - atom1]
    if is_law(dist):
        return MixtureLaw((PointLaw(0.0), PointLaw(1.0), dist), tuple(weights))
    from rstheory import distributions

    points = [distributions.PointMass(0.0), distributions.PointMass(1.0)]
    return distributions.Mixture([*points, dist], weights)
