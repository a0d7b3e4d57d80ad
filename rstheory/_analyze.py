r"""Summaries of certification logs: certified accuracy against radius, ACR, dataset intervals.

On a log of ``m`` inputs (:class:`rstheory.analyze.CertificationLog`) the *certified accuracy*
at radius ``r`` is the fraction of inputs certified with the true label at a radius of at
least ``r``, ``acc(r) = #{i : correct_i and R_i >= r} / m`` (Cohen, Rosenfeld & Kolter 2019,
Section 4, "approximate certified accuracy"); the *average certified radius* is
``ACR = mean_i R_i [correct_i]`` (Zhai et al. 2020, ICLR, Section 4; Seferis, Kollias & Cheng
2024, ECAI, Section 5). :func:`vary_table` lays several logs out as the tables of Cohen et
al. (2019, Table 1 and their repository's ``analysis/`` files): one row per log, one column
per radius, two decimals, the best row of each column marked.

**Dataset-level intervals** (:func:`accuracy_interval`). The test set is ``m`` i.i.d.
draws from the data distribution and each input is certified with fresh noise, so the
number ``C`` of certified-correct inputs at ``r`` is ``Binomial(m, a)`` with ``a`` the
probability that the procedure certifies a random input correctly at ``r``: the two-sided
Clopper-Pearson interval of ``C`` out of ``m`` at level ``1 - delta`` covers ``a``.

The *robust* lower bound is about ``A(r)``, the probability that the smoothed classifier
itself is correct and robust at ``r`` on a random input. Each issued certificate is false
with probability at most ``alpha`` (Cohen et al. 2019, Proposition 2), independently across
inputs, so the number ``F`` of false certificates among the ``m`` inputs is stochastically
at most ``Binomial(m, alpha)``. Let ``f*`` be the ``1 - delta/2`` quantile of
``Binomial(m, alpha)`` (``Pr[F > f*] <= delta/2``) and ``T ~ Binomial(m, A(r))`` the truly
robust-correct inputs; ``T >= C - F``. Then

.. math::
    \Pr\big[A(r) < \underline p(\max(C - f^*, 0),\, m,\, \delta/2)\big]
    \le \Pr[F > f^*] + \Pr\big[A(r) < \underline p(T, m, \delta/2)\big] \le \delta

(Bonferroni; ``underline p`` the one-sided Clopper-Pearson bound, increasing in its count).
Its upper end is 1: a missing certificate is no evidence that an input is not robust.
``test_set_low = (C - f*(delta)) / m`` is the same argument for the ``m`` test inputs
themselves (an exact replacement of the Bernstein bound in the "high probability"
certified accuracy of Cohen et al.'s analysis code).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.stats

from rstheory import _jax  # noqa: F401  (float64 before any array)
from rstheory._clopper_pearson import cp_interval, cp_lower
from rstheory._validation import check_alpha, check_choice, check_real

__all__ = [
    "AccuracyInterval",
    "Curve",
    "Summary",
    "accuracy_interval",
    "certified_accuracy",
    "curve",
    "log_interval",
    "summarize",
    "vary_table",
]

TABLE_STYLES = ("markdown", "latex")


class Curve(NamedTuple):
    """Certified accuracy as a step function of the radius: ``accuracy[j] = acc(radius[j])``,
    the value on ``(radius[j - 1], radius[j]]`` (``acc`` is left-continuous and
    non-increasing); float64 arrays ``(c,)``, ``radius[0] = 0``."""

    radius: np.ndarray
    accuracy: np.ndarray


class Summary(NamedTuple):
    """Result of :func:`summarize` for one log.

    Attributes:
      inputs: ``m``; acr: average certified radius; abstain_rate: fraction abstained;
      clean_accuracy: certified accuracy at radius 0; mean_time: seconds per input (nan
      when not recorded); radii, accuracy: the requested radii and ``acc(r)``, ``(r,)``.
    """

    inputs: int
    acr: float
    abstain_rate: float
    clean_accuracy: float
    mean_time: float
    radii: np.ndarray
    accuracy: np.ndarray


class AccuracyInterval(NamedTuple):
    """Result of :func:`accuracy_interval` (arrays of the broadcast shape of its arguments).

    Attributes:
      certified, inputs: ``C`` and ``m``; accuracy: ``C / m``.
      low, high: two-sided Clopper-Pearson interval of the procedure's certified accuracy.
      robust_low: lower bound on the smoothed classifier's robust accuracy (module docstring).
      false_certificates: ``f*``, the bound on false certificates used by ``robust_low``.
      test_set_low: lower bound on the robust-correct fraction of the test inputs themselves.
    """

    certified: np.ndarray
    inputs: np.ndarray
    accuracy: np.ndarray
    low: np.ndarray
    high: np.ndarray
    robust_low: np.ndarray
    false_certificates: np.ndarray
    test_set_low: np.ndarray


def certified_accuracy(log, radii) -> np.ndarray:
    """``acc(r)`` of ``log`` at each radius (module docstring), float64 ``(r,)``.

    Example:
      >>> from rstheory import analyze
      >>> log = analyze.read_log(
      ...     "data/cohen2019/certify/cifar10/resnet110/noise_0.25/test/sigma_0.25")
      >>> analyze.certified_accuracy(log, [0.0, 0.25, 0.5]).round(3).tolist()
      [0.748, 0.6, 0.428]
    """
    r = np.atleast_1d(np.asarray(radii, dtype=np.float64))
    ok = log.correct[None, :] & (log.radius[None, :] >= r[:, None])
    return ok.mean(axis=1)


def curve(log) -> Curve:
    """The whole step function ``acc(r)``: its value at 0 and after every certified radius."""
    rad = np.unique(np.concatenate([[0.0], log.radius[log.correct]]))
    return Curve(rad, certified_accuracy(log, rad))


def summarize(log, *, radii=()) -> Summary:
    """ACR, abstention rate, clean accuracy, mean time and ``acc(r)`` at ``radii``."""
    r = np.atleast_1d(np.asarray(radii, dtype=np.float64))
    t = log.time[np.isfinite(log.time)]
    return Summary(
        inputs=log.inputs,
        acr=log.acr(),
        abstain_rate=float(log.abstain.mean()),
        clean_accuracy=float(log.correct.mean()),
        mean_time=float(t.mean()) if t.size else float("nan"),
        radii=r,
        accuracy=certified_accuracy(log, r) if r.size else np.zeros(0),
    )


def accuracy_interval(certified, inputs, *, alpha=0.001, confidence=0.95) -> AccuracyInterval:
    """Dataset-level intervals of the certified accuracy from ``C`` of ``m`` (module docstring).

    Args:
      certified: certified-correct inputs ``C``, integers in ``[0, m]``, any shape.
      inputs: ``m >= 1``, broadcast with ``certified``.
      alpha: each certificate's failure probability, in ``(0, 1)``.
      confidence: ``1 - delta``, in ``(0, 1)``.

    Returns:
      :class:`AccuracyInterval`.

    Example:
      >>> from rstheory import analyze
      >>> ci = analyze.accuracy_interval(300, 500, alpha=0.001, confidence=0.95)
      >>> [round(float(v), 4) for v in (ci.low, ci.high, ci.robust_low)], int(ci.false_certificates)
      ([0.5556, 0.6432, 0.5515], 2)
    """
    check_alpha(alpha)
    conf = check_real(
        confidence, name="confidence", low=0.0, high=1.0, low_open=True, high_open=True
    )
    delta = 1.0 - conf
    c = np.asarray(certified, dtype=np.int64)
    m = np.asarray(inputs, dtype=np.int64)
    c, m = np.broadcast_arrays(c, m)
    two = cp_interval(c, m, alpha=delta)
    f_half = scipy.stats.binom.ppf(1.0 - delta / 2, m, alpha).astype(np.int64)
    f_all = scipy.stats.binom.ppf(1.0 - delta, m, alpha).astype(np.int64)
    robust = np.asarray(cp_lower(np.maximum(c - f_half, 0), m, alpha=delta / 2))
    return AccuracyInterval(
        certified=c,
        inputs=m,
        accuracy=c / m,
        low=np.asarray(two.low),
        high=np.asarray(two.high),
        robust_low=robust,
        false_certificates=f_half,
        test_set_low=np.maximum(c - f_all, 0) / m,
    )


def log_interval(log, radii, *, confidence=0.95) -> AccuracyInterval:
    """:func:`accuracy_interval` of a log at each radius (its ``alpha``), arrays ``(r,)``."""
    r = np.atleast_1d(np.asarray(radii, dtype=np.float64))
    c = (log.correct[None, :] & (log.radius[None, :] >= r[:, None])).sum(axis=1)
    return accuracy_interval(c, np.full(r.size, log.inputs), alpha=log.alpha, confidence=confidence)


def _radius_text(r: float) -> str:
    return repr(float(r))


def vary_table(values, radii, *, labels, style="markdown") -> str:
    """A table of certified accuracies in the layout of Cohen et al.'s published tables.

    Args:
      values: ``acc(r)``, shape ``(rows, r)``.
      radii: the column radii ``(r,)``.
      labels: one row label each, e.g. ``"0.25"`` (printed as ``sigma = 0.25``).
      style: ``"markdown"`` or ``"latex"``.

    Every cell is ``acc`` to two decimals; the rows holding a column's maximum (when it is
    above 0) are marked (``<b>*</b>``, ``\\textbf``).

    Example:
      >>> from rstheory import analyze
      >>> print(analyze.vary_table([[0.6, 0.1], [0.5, 0.2]], [0.25, 0.5], labels=["0.25", "0.50"],
      ...                          style="latex"))
      & $r = 0.25$& $r = 0.5$\\\\
      \\midrule
      $\\sigma = 0.25$ & \\textbf{0.60} & 0.10\\\\
      $\\sigma = 0.50$ & 0.50 & \\textbf{0.20}\\\\
    """
    check_choice(style, name="style", choices=TABLE_STYLES)
    v = np.asarray(values, dtype=np.float64)
    radii = [float(r) for r in np.atleast_1d(radii)]
    if v.ndim != 2 or v.shape != (len(labels), len(radii)):
        raise ValueError(f"values must have shape ({len(labels)}, {len(radii)}), got {v.shape}")
    top = v.max(axis=0)
    best = (v == top[None, :]) & (top[None, :] > 0)
    lines = []
    if style == "markdown":
        lines.append("|  | " + "".join(f"r = {_radius_text(r)} |" for r in radii))
        lines.append("| --- | " + " --- |" * len(radii))
        for label, row, mark in zip(labels, v, best, strict=True):
            cells = "".join(
                f"{x:.2f}{'<b>*</b>' if b else ''} |" for x, b in zip(row, mark, strict=True)
            )
            lines.append(f"<b> &sigma; = {label} </b>| {cells}")
    else:
        lines.append("".join(f"& $r = {_radius_text(r)}$" for r in radii) + "\\\\")
        lines.append("\\midrule")
        for label, row, mark in zip(labels, v, best, strict=True):
            cells = " & ".join(
                f"\\textbf{{{x:.2f}}}" if b else f"{x:.2f}" for x, b in zip(row, mark, strict=True)
            )
            lines.append(f"$\\sigma = {label}$ & {cells}\\\\")
    return "\n".join(lines)
