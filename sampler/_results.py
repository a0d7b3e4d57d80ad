"""Results of certifying: one shared field group, :class:`Votes`, and its two kinds.

* :class:`Votes`: the selected class, its votes ``k`` among the ``n`` estimation samples,
  both count vectors and, for one input, the labels, texts, noise, timings and seeds;
* :class:`CertifyResult` (:func:`sampler.certify.certify`,
  :func:`sampler.certificate_from_counts`): the votes and their
  :class:`rstheory.Certificate`;
* :class:`SequentialResult` (:func:`sampler.certify.certify` with a sequential rule): the
  votes and the sequential rule's stop.

A field has one name in all of them.
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import torch

import rstheory
from sampler._models import NoiseSpec

__all__ = [
    "FIXED_SUMMARY_KEYS",
    "SEQUENTIAL_SUMMARY_KEYS",
    "CertifyResult",
    "SequentialResult",
    "Timings",
    "Votes",
]


class Timings(NamedTuple):
    """Wall-clock seconds of one certification.

    Attributes:
      selection: the ``n0`` selection copies through the model (noise, prepare, predict).
      estimation: the ``n`` estimation copies through the model.
      oracle: labelling the texts (0 for a classifier).
      total: the whole call, certificate included.
    """

    selection: float
    estimation: float
    oracle: float
    total: float


@dataclasses.dataclass(frozen=True, kw_only=True)
class Votes:
    """The votes of one input (or, from counts alone, of a batch of inputs).

    Attributes:
      top_class: the class selected from the ``n0`` selection samples only (ties to the
        lower id; ``cAHat`` in Cohen et al. 2019); for a semantic clusterer, cluster 0.
      k: estimation votes for ``top_class`` (``nA``).
      n: estimation samples.
      selection_counts, estimation_counts: int64 tensors ``(*batch, num_classes)``.
      n0: selection samples; num_classes: the length of the counts.
      class_names: the oracle's class names (``labels``), or None for a classifier.
      selection_labels, estimation_labels: int64 tensors ``(n0,)`` and ``(n,)``, the class
        of each sample in draw order (None when made from counts).
      selection_texts, estimation_texts: the decoded answers in draw order when
        ``keep_texts`` was asked (VLMs only), else None.
      noise: the :class:`sampler.models.NoiseSpec` of both sets (None from counts).
      timings: :class:`Timings` in seconds (None from counts).
      seeds: the derived seeds actually used (``"selection/noise"``, ...), or None.
    """

    top_class: Any
    k: Any
    n: Any
    n0: Any
    num_classes: int
    selection_counts: torch.Tensor
    estimation_counts: torch.Tensor
    class_names: tuple[str, ...] | None = None
    selection_labels: torch.Tensor | None = None
    estimation_labels: torch.Tensor | None = None
    selection_texts: tuple[str, ...] | None = None
    estimation_texts: tuple[str, ...] | None = None
    noise: NoiseSpec | None = None
    timings: Timings | None = None
    seeds: dict[str, int] | None = None

    def _votes_summary(self) -> dict[str, Any]:
        return {
            "top_class": self.top_class,
            "num_classes": self.num_classes,
            "selection_counts": self.selection_counts.tolist(),
            "estimation_counts": self.estimation_counts.tolist(),
            "k": self.k,
            "n": self.n,
            "n0": self.n0,
        }


@dataclasses.dataclass(frozen=True, kw_only=True)
class CertifyResult(Votes):
    """Result of :func:`sampler.certify.certify` (one input, 0-d fields) and of
    :func:`sampler.certificate_from_counts` (a batch, fields ``(*batch)``).

    Attributes:
      certificate: :class:`rstheory.Certificate` of ``(k, n)``, with the oracle correction
        when one was asked for.
      the others: those of :class:`Votes`.
    """

    certificate: rstheory.Certificate

    def summary(self) -> dict[str, Any]:
        """Plain, JSON-ready numbers: ``top_class``, counts, ``k``, ``n``, certificate fields."""
        c = self.certificate
        return {
            **self._votes_summary(),
            "p_lower": float(c.p_lower),
            "q_lower": float(c.q_lower),
            "radius": float(c.radius),
            "abstained": bool(c.abstained),
            "alpha_spent": float(c.alpha_spent),
            "correction": c.correction,
        }


@dataclasses.dataclass(frozen=True, kw_only=True)
class SequentialResult(Votes):
    """Result of :func:`sampler.certify.certify` with a sequential rule, for one input.

    Attributes:
      stop_reason: ``"certified"`` (radius ``>= radius_target`` certified), ``"futility"``
        (the upper bound fell below ``p*``: abstain at the target) or ``"n_max"`` (neither
        by ``n_max``: abstain at the target).
      certified: ``stop_reason == "certified"``.
      radius_target: the target radius ``r``; ``p_star = Phi(r / sigma)``.
      p_lower, p_upper: the anytime-valid confidence sequence ``(low, high)`` at the stop,
        level ``alpha`` (the beta-binomial mixture with ``prior``).
      radius: ``sigma Phi^-1(p_lower)`` where ``p_lower > 1/2``, else 0; valid whatever the
        stop reason (``>= radius_target`` exactly when certified, up to float rounding).
      samples: ``n0 + n``; looks: checkpoints evaluated.
      boundaries: the :class:`rstheory.sequential.Boundaries` of the rule.
      prior: the mixture prior ``(a, b)`` used; ``alpha``, ``sigma``, ``batch_size``,
        ``look_every`` (samples between two looks), ``n_max``: the configuration.
      the others: those of :class:`Votes` (``n`` is the samples drawn, a checkpoint).
    """

    stop_reason: str
    certified: bool
    radius_target: float
    p_star: float
    p_lower: float
    p_upper: float
    radius: float
    samples: int
    looks: int
    boundaries: Any
    prior: tuple[float, float]
    alpha: float
    sigma: float
    batch_size: int
    look_every: int
    n_max: int

    def summary(self) -> dict[str, Any]:
        """Plain, JSON-ready numbers: the stop (:data:`SEQUENTIAL_SUMMARY_KEYS` and the
        votes); a campaign's sequential row holds exactly these fields."""
        return {
            "stop_reason": self.stop_reason,
            "certified": self.certified,
            "radius_target": self.radius_target,
            "p_star": self.p_star,
            "radius": self.radius,
            "p_lower": self.p_lower,
            "p_upper": self.p_upper,
            **self._votes_summary(),
            "samples": self.samples,
            "looks": self.looks,
            "n_max": self.n_max,
            "batch_size": self.batch_size,
            "look_every": self.look_every,
        }


#: The fields of :meth:`SequentialResult.summary` beyond the votes' (``top_class``, the
#: counts, ``k``, ``n``, ``n0``): those of a sequential campaign row.
SEQUENTIAL_SUMMARY_KEYS = (
    "stop_reason",
    "certified",
    "radius_target",
    "p_star",
    "radius",
    "p_lower",
    "p_upper",
    "samples",
    "looks",
    "n_max",
    "batch_size",
    "look_every",
)

#: The fields of :meth:`CertifyResult.summary` beyond the votes': those of a fixed-``n``
#: campaign row.
FIXED_SUMMARY_KEYS = ("p_lower", "q_lower", "radius", "abstained", "alpha_spent", "correction")
