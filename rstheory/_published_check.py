r"""Theory against published measurement: predict the average certified radius at other n.

Two directions, both on the per-input results of :mod:`rstheory._published`:

* **From the reference run down** (largest ``n``): each input's probability of its true
  class is estimated as ``p_i = k_i / n_ref`` from its recovered count when it was
  certified correctly, and 0 otherwise (wrong or abstained: it contributes no radius at
  any smaller ``n`` either, up to a negligible chance). The exact prediction at ``n`` is
  :func:`rstheory.scaling.expected_radius` of ``Empirical(p)``; Seferis et al.'s (2024) Eq. (2)
  predicts
  ``ACR_ref * r(n) / r(n_ref)`` with ``r(n) = 1 - 1.64 z / sqrt(n)``.
* **From a small pilot up** (the ``n = 100`` run, the one users can afford): the counts
  ``k_i`` of correctly certified inputs (0 for the others: the true class's count is not
  known for an abstention or a wrong prediction, so this errs on the low side) are fitted
  by :func:`rstheory.distributions.fit` (beta density plus atoms at 0 and 1, by the
  binomial likelihood), and the exact expectation under the fit is the prediction. Beside
  it: the plug-in ``Empirical.from_counts`` (which mistakes the pilot's binomial noise for
  spread in ``p``) and Eq. (2) scaled from the pilot's ACR.

Why the exact model is exact here: the runs certify single-stage (the same ``n`` samples
choose and bound the class). A correct certificate needs ``cp_lower(K) > 1/2``, hence
``K > n/2`` votes for the true class, which is then the top class; so the ACR counted over
correct predictions is exactly the mean over inputs of ``E[R(cp_lower(K_i, n))]`` with
``K_i ~ Bin(n, p_i)`` and ``p_i`` the true class's probability.

Level of the reference counts (``reference_alpha``): a count is recovered from a published
bound at the level the run used. The 2024 paper's own runs reproduce their full-precision
``pA`` only at their stated 0.001, but the ImageNet reference (n = 100,000) is Cohen et al.'s
CERTIFY output, whose printed radii are reproduced by integer counts only at 0.01
(data/p2-certifications/README.md, Notes; :func:`rstheory._logs_alpha.fit_alpha`). By default
(``"infer"``) the reference counts are recovered at the level its radii fit; the predicted
runs keep their stated level. The ImageNet reference is also two-stage (n0 = 100): its
``p_i`` are still the top-class frequencies of its ``n`` estimation samples.

Sampling error of a measured ACR, given the ``p_i``: the runs at different ``n`` drew
fresh noise on the same 500 inputs, so the spread that matters is the binomial one,
``sd = sqrt(sum_i Var R_i) / m`` (:func:`rstheory.scaling.radius_moments`), inflated by
``sqrt(1 + n / n_ref)`` for the noise in the ``p_i`` themselves (to first order the
prediction's variance from ``n_ref`` samples is ``n / n_ref`` times that of one run at ``n``).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from rstheory import _exact, _scaling
from rstheory._deprecation import keyword_only
from rstheory._distributions import Empirical
from rstheory._fit import FitResult, fit
from rstheory._planning import required_samples
from rstheory._published import Certifications, load, recover_counts, sizes
from rstheory._validation import check_alpha

__all__ = [
    "PilotRow",
    "PlanComparison",
    "PublishedCheck",
    "ReferenceProbabilities",
    "ReferenceRow",
    "check_published",
    "measured_samples_for_ratio",
    "pilot_counts",
    "reference_level",
    "reference_probabilities",
]


class ReferenceRow(NamedTuple):
    """Prediction from the reference run at one smaller ``n`` (radii in pixel units)."""

    n: int
    measured: float  # ACR published at n
    predicted: float  # exact expectation under Empirical(p_i) of the reference run
    eq2: float  # ACR_ref * r(n) / r(n_ref), Seferis et al.'s (2024) Eq. (2)
    sd: float  # sampling standard deviation of `measured` given the p_i (see module doc)


class PilotRow(NamedTuple):
    """Prediction from the pilot run at one ``n``."""

    n: int
    measured: float
    fitted: float  # exact expectation under the maximum-likelihood fit of the pilot counts
    plug_in: float  # exact expectation under Empirical.from_counts of the pilot counts
    eq2: float  # ACR_pilot * r(n) / r(n_pilot)


class PlanComparison(NamedTuple):
    """Samples needed for ``ACR_n >= target_ratio * ACR_ref``, by four routes."""

    target_ratio: float
    measured: float  # log-linear interpolation of the published ratios (nan if not bracketed)
    planner: int  # rstheory.planning.required_samples on the reference run's Empirical(p)
    planner_from_pilot: int  # the same on the pilot's fit
    eq2: float  # Eq. (2) solved for n


class PublishedCheck(NamedTuple):
    """Everything :func:`check_published` computes for one dataset."""

    dataset: str
    sigma: float
    alpha: float  # the stated level of the runs, at which every run is predicted
    reference_n: int
    reference_acr: float
    pilot_n: int
    pilot_fit: FitResult
    count_mismatch: float  # largest |cp_lower(k) - published pA| of the recovered counts
    reference: list[ReferenceRow]
    pilot: list[PilotRow]
    plan: list[PlanComparison]
    reference_alpha: float  # the level the reference counts were recovered at
    reference_alpha_source: str  # "inferred", "given" or "stated" (module docstring)


class ReferenceProbabilities(NamedTuple):
    """Result of :func:`reference_probabilities`; unpacks as ``p, mismatch = ...``.

    Attributes:
      p: ``k_i / n`` for correctly certified inputs, 0 for the others, ``(inputs,)``.
      mismatch: the largest count-recovery mismatch over those inputs.
    """

    p: np.ndarray
    mismatch: float


def reference_probabilities(cert: Certifications, *, alpha=None) -> ReferenceProbabilities:
    """``p_i = k_i / n`` for correctly certified inputs, 0 for the others; shape ``(inputs,)``.

    Returns the probabilities and the largest count-recovery mismatch
    (:func:`rstheory.published.recover_counts`), the counts recovered at ``alpha`` (default
    the run's stated level).
    """
    alpha = cert.alpha if alpha is None else alpha
    check_alpha(alpha)
    k, mismatch = recover_counts(cert.p_lower, cert.n, alpha=float(alpha))
    ok = cert.correct & (k >= 0)
    worst = float(np.nanmax(np.where(ok, mismatch, np.nan)))
    return ReferenceProbabilities(np.where(ok, k / cert.n, 0.0), worst)


def pilot_counts(cert: Certifications) -> np.ndarray:
    """Recovered true-class counts of correctly certified inputs, 0 for the others (int64)."""
    k, _ = recover_counts(cert.p_lower, cert.n, alpha=cert.alpha)
    return np.where(cert.correct & (k >= 0), k, 0).astype(np.int64)


def _eq2_ratio(n, alpha: float) -> np.ndarray:
    return np.asarray(_scaling.average_radius_ratio(np.asarray(n), alpha=alpha))


@keyword_only("target")
def measured_samples_for_ratio(ns, acr, *, target: float, max_gap: float = 10.0) -> float:
    """Smallest ``n`` where the published ``acr[i] / acr[-1]`` reaches ``target``.

    Linear interpolation of the ratio in ``log n`` between the two published sizes that
    bracket it; ``nan`` when no published pair brackets the target, or when the bracketing
    sizes are more than ``max_gap`` times apart (the interpolation means little then).

    Example:
      >>> from rstheory import published
      >>> round(published.measured_samples_for_ratio([10, 100, 1000], [0.2, 0.6, 1.0], target=0.8))
      316
    """
    ns = np.asarray(ns, dtype=np.float64)
    ratio = np.asarray(acr, dtype=np.float64) / float(acr[-1])
    for i in range(1, ns.size):
        if ratio[i - 1] < target <= ratio[i]:
            if ns[i] > max_gap * ns[i - 1]:
                return math.nan
            t = (target - ratio[i - 1]) / (ratio[i] - ratio[i - 1])
            return float(np.exp(np.log(ns[i - 1]) + t * (np.log(ns[i]) - np.log(ns[i - 1]))))
    return math.nan


def reference_level(cert: Certifications, reference_alpha="infer") -> tuple[float, str]:
    """The level at which the counts of ``cert`` are recovered, and where it came from.

    ``"infer"``: the level among :data:`rstheory.analyze.ALPHA_CANDIDATES` that reproduces
    the most published bounds (printed radii), the stated one on a tie (``"inferred"`` when
    it differs from the stated, else ``"stated"``); a number in (0, 1): that level
    (``"given"``).

    Raises:
      ValueError: ``reference_alpha`` is neither ``"infer"`` nor in (0, 1).

    Example (Cohen et al.'s n = 100,000 ImageNet output, stated 0.001 in its file name):
      >>> from rstheory import published
      >>> published.reference_level(published.load("imagenet", 100_000))
      (0.01, 'inferred')
    """
    if isinstance(reference_alpha, str):
        if reference_alpha != "infer":
            raise ValueError(
                f"reference_alpha must be 'infer' or lie in the open interval (0, 1), "
                f"got {reference_alpha!r}"
            )
        from rstheory import analyze

        level = analyze.read_log(cert.path, alpha="infer").alpha
        same = abs(level - cert.alpha) <= 1e-12 * cert.alpha
        return float(level), "stated" if same else "inferred"
    check_alpha(reference_alpha, name="reference_alpha")
    return float(reference_alpha), "given"


def check_published(
    dataset: str,
    *,
    pilot_n: int = 100,
    target_ratios=(0.5, 0.6, 0.7, 0.8),
    data_dir=None,
    reference_alpha="infer",
) -> PublishedCheck:
    """Predict every published run of ``dataset`` from its largest run and from a pilot.

    Args:
      dataset: e.g. ``"cifar10"`` or ``"imagenet"`` (see :func:`rstheory.published.available`).
      pilot_n: the published size used as the pilot (default 100).
      target_ratios: ACR fractions of the reference for the sample-size comparisons, each
        in (0, 1).
      data_dir: the folder holding ``p2-certifications/`` (default
        :func:`rstheory.published.data_dir`).
      reference_alpha: the level at which the reference run's counts are recovered:
        ``"infer"`` (default; :func:`reference_level`: 0.01 for the ImageNet reference,
        Cohen et al.'s output, whose printed radii no count reproduces at the stated 0.001;
        0.001 for CIFAR-10) or a level in (0, 1). Every run is predicted at its stated level.

    Returns:
      :class:`PublishedCheck`; its ``reference`` rows cover the sizes below the reference,
      its ``pilot`` rows every size, its ``plan`` one row per target ratio.

    Raises:
      FileNotFoundError: when the data folder is absent.
      ValueError: when ``dataset`` has no runs, ``pilot_n`` is not one of them, a target
        ratio is outside (0, 1), or ``reference_alpha`` is neither ``"infer"`` nor in (0, 1).
    """
    if not isinstance(reference_alpha, str):
        check_alpha(reference_alpha, name="reference_alpha")
    elif reference_alpha != "infer":
        reference_level(None, reference_alpha)  # raises, naming the argument
    target_ratios = [float(t) for t in np.atleast_1d(target_ratios)]
    if not target_ratios or not all(0.0 < t < 1.0 for t in target_ratios):
        raise ValueError(f"target_ratios must be non-empty, each in (0, 1), got {target_ratios!r}")
    published = sizes(dataset, data_dir=data_dir)
    if pilot_n not in published:
        raise ValueError(f"pilot_n={pilot_n!r} is not a published size of {dataset!r}: {published}")
    runs = {n: load(dataset, n, data_dir=data_dir) for n in published}
    ref = runs[published[-1]]
    alpha, sigma, n_ref = ref.alpha, ref.sigma, ref.n
    ns = np.array(published, dtype=np.int64)
    measured = np.array([runs[n].acr() for n in published])

    ref_alpha, ref_source = reference_level(ref, reference_alpha)
    p_ref, mismatch = reference_probabilities(ref, alpha=ref_alpha)
    dist_ref = Empirical(p_ref)
    predicted = np.asarray(_scaling.expected_radius(dist_ref, ns, alpha=alpha, sigma=sigma))
    _, var = _exact.radius_moments(p_ref, ns, alpha=alpha, sigma=sigma)
    sd = np.sqrt(var.sum(axis=1)) / p_ref.size * np.sqrt(1.0 + ns / n_ref)
    r = _eq2_ratio(ns, alpha)
    reference_rows = [
        ReferenceRow(
            int(n),
            float(measured[j]),
            float(predicted[j]),
            float(measured[-1] * r[j] / r[-1]),
            float(sd[j]),
        )
        for j, n in enumerate(ns[:-1])
    ]

    pilot = runs[pilot_n]
    k = pilot_counts(pilot)
    n_pilot = np.full(k.size, pilot_n)
    pilot_fit = fit(k, n_pilot)
    fitted = np.asarray(
        _scaling.expected_radius(pilot_fit.distribution, ns, alpha=alpha, sigma=sigma)
    )
    plug_in = np.asarray(
        _scaling.expected_radius(Empirical.from_counts(k, n_pilot), ns, alpha=alpha, sigma=sigma)
    )
    r_pilot = float(_eq2_ratio(pilot_n, alpha))
    pilot_rows = [
        PilotRow(
            int(n),
            float(measured[j]),
            float(fitted[j]),
            float(plug_in[j]),
            float(pilot.acr() * r[j] / r_pilot),
        )
        for j, n in enumerate(ns)
    ]

    z = _scaling.z_two_sided(alpha)

    def plan_row(t: float) -> PlanComparison:
        def planned(dist) -> int:
            return int(
                required_samples(
                    dist, alpha=alpha, sigma=sigma, target_ratio=t, reference_n=n_ref
                ).n
            )

        return PlanComparison(
            target_ratio=t,
            measured=measured_samples_for_ratio(ns, measured, target=t),
            planner=planned(dist_ref),
            planner_from_pilot=planned(pilot_fit.distribution),
            eq2=_scaling.n_for_ratio(_scaling.P2_EQ2_CONSTANT, z, t * float(r[-1])),
        )

    plan = [plan_row(t) for t in target_ratios]
    return PublishedCheck(
        dataset,
        sigma,
        alpha,
        n_ref,
        float(measured[-1]),
        pilot_n,
        pilot_fit,
        mismatch,
        reference_rows,
        pilot_rows,
        plan,
        ref_alpha,
        ref_source,
    )
