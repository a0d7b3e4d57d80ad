"""The anytime-valid sequential rule of a configuration: :class:`SequentialRule`.

The rule is held by the ``sequential`` field of a :class:`sampler.certify.CertifyConfig`
(:mod:`sampler._config`), which :func:`sampler.certify.certify` then runs
(:mod:`sampler._sequential`) and which is hashed with its rule. Its own fields are checked
when it is made; :func:`check_rule` holds the checks that need the configuration's
``sigma`` and ``batch_size``, run when the configuration is made.

Example:
  >>> from sampler._config_sequential import SequentialRule, check_rule
  >>> rule = SequentialRule(radius=0.1, n_max=256)
  >>> rule.to_dict()
  {'radius': 0.1, 'n_max': 256, 'prior': None, 'look_every': None}
  >>> check_rule(rule, sigma=0.25, batch_size=32)  # Phi(0.4) < 1: no error
  >>> check_rule(rule, sigma=0.01, batch_size=32)  # doctest: +ELLIPSIS
  Traceback (most recent call last):
  ...
  ValueError: radius / sigma = 10.0 is too large: p* = Phi(radius / sigma) rounds to 1, ...
"""

from __future__ import annotations

import dataclasses
from typing import Any

from rstheory._validation import check_prior
from sampler._validation import check_count, check_real

__all__ = ["SequentialRule", "check_rule"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class SequentialRule:
    """The anytime-valid sequential rule that :func:`sampler.certify.certify` runs when a
    :class:`sampler.certify.CertifyConfig` holds one (its ``sequential`` field).

    Attributes:
      radius: the target radius, ``> 0`` (``p* = Phi(radius / sigma)`` must be below 1).
      n_max: the largest number of estimation samples, an integer ``>= 1``.
      prior: ``(a, b)`` of the confidence sequence's beta mixture, both ``> 0``; None:
        :func:`rstheory.sequential.default_prior` ``(p*)``.
      look_every: estimation samples between two looks, an integer ``>= 1`` that the
        configuration's ``batch_size`` divides (every look then ends a forward batch, which
        keeps the prefix property of :mod:`sampler._sequential`); None: every
        ``batch_size`` samples. The looks are at ``look_every, 2 look_every, ...`` and
        ``n_max``.

    The rule is the beta-binomial confidence sequence's (the one that is valid at any
    stopping time); the re-checked fixed-``n`` bound of :mod:`rstheory.sequential` is
    there for comparison only and is not offered here.
    """

    radius: float
    n_max: int
    prior: tuple[float, float] | None = None
    look_every: int | None = None

    def __post_init__(self):
        object.__setattr__(
            self, "radius", check_real(self.radius, name="radius", low=0.0, low_open=True)
        )
        object.__setattr__(self, "n_max", check_count(self.n_max, name="n_max"))
        if self.prior is not None:
            object.__setattr__(self, "prior", check_prior(self.prior))
        if self.look_every is not None:
            object.__setattr__(self, "look_every", check_count(self.look_every, name="look_every"))

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-ready fields (``look_every`` as given: None for every batch)."""
        return {
            "radius": self.radius,
            "n_max": self.n_max,
            "prior": None if self.prior is None else list(self.prior),
            "look_every": self.look_every,
        }


def check_rule(rule: SequentialRule, *, sigma: float, batch_size: int) -> None:
    """The checks of a sequential rule that need the configuration's ``sigma`` and
    ``batch_size``: ``p* = Phi(radius / sigma) < 1`` and ``look_every`` a multiple of
    ``batch_size`` (:class:`SequentialRule`)."""
    import scipy.special

    if float(scipy.special.ndtr(rule.radius / sigma)) >= 1.0:
        raise ValueError(
            f"radius / sigma = {rule.radius / sigma!r} is too large: p* = Phi(radius / sigma) "
            "rounds to 1, which no count certifies (radius must be below about 8.2 sigma)"
        )
    if rule.look_every is not None and rule.look_every % batch_size:
        raise ValueError(
            f"look_every must be a multiple of batch_size = {batch_size} (every look must end "
            f"a forward batch, so that the draws are those of a fixed n), got {rule.look_every}"
        )
