"""What attack rows say about certificates: success rates below and above the certified
radius with Clopper-Pearson intervals (:func:`summarize`), empirical robust accuracy
against certified accuracy (:func:`robust_curve`), a table and a plot.

**The check.** For a row of an input certified at radius ``R`` with ``eps < R``, the
certificate says the smoothed prediction cannot change; a judged success there is either
a wrong certificate (probability ``<= alpha_cert``, Cohen et al. 2019, Theorem 1 with the
Clopper-Pearson bound of CERTIFY) or a false alarm of PREDICT (``<= alpha_judge``, their
Theorem 2). So the success rate against the smoothed model below ``R`` has expectation at
most ``bound = alpha_cert + alpha_judge``, and the rows are consistent with the
certificates when the lower end of the two-sided ``(1 - ci_alpha)`` Clopper-Pearson
interval of that rate is ``<= bound``. Above ``R`` nothing is promised; the base model's
rates at the same budgets show what the attack does without smoothing.

**Accuracy.** The reference class of an input is its certified class ``c_A`` (there are no
ground-truth labels in a certify run). At budget ``eps``: certified accuracy is the
fraction of the certify run's ``ok`` inputs with ``radius > eps`` (an abstention counts as
not robust); empirical robust accuracy is the fraction whose decision on the attacked
pixels is still ``c_A``: for the smoothed model PREDICT returned ``c_A`` (an abstention
counts as not robust, as in Salman et al. 2019, Sec. 4), for the base model its argmax or
labelled answer is ``c_A``; inputs never attacked (those that abstained at
certification) count as not robust. An attack finds only some perturbations, so the
empirical accuracy overestimates the true robust accuracy; it should lie above the
certified accuracy, up to the Monte Carlo error above and to PREDICT's abstentions where
the smoothed model's margin at the attacked point is small (an abstention is not a
broken certificate, hence not a success in :func:`summarize`). Only absolute budgets (the
same ``eps`` for every input) enter the curve.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from sampler._validation import check_alpha

__all__ = ["CurvePoint", "RateRow", "format_table", "plot_curve", "robust_curve", "summarize"]


class RateRow(NamedTuple):
    """Success rate of the ``ok`` rows of one ``against`` on one side of the radius.

    Attributes:
      against: ``"base"`` or ``"smoothed"``; side: ``"below"`` (``eps < R``) or ``"above"``.
      trials, successes: rows and judged successes; rate: ``successes / trials``.
      low, high: two-sided ``(1 - ci_alpha)`` Clopper-Pearson interval of the rate.
      bound: the certificate's ``alpha_cert + alpha_judge`` (smoothed, below), else None.
      consistent: ``low <= bound`` for the smoothed rows below ``R``, else None.
    """

    against: str
    side: str
    trials: int
    successes: int
    rate: float
    low: float
    high: float
    bound: float | None
    consistent: bool | None


def _cp(k: int, n: int, alpha: float) -> tuple[float, float]:
    from rstheory import cp_interval

    ci = cp_interval(k, n, alpha=alpha)
    return float(ci.low), float(ci.high)


def summarize(rows: Sequence[dict[str, Any]], *, ci_alpha: float = 0.05) -> list[RateRow]:
    """Success rates per ``(against, side)`` of attack rows (the module docstring).

    Example:
      >>> rows = [{"status": "ok", "against": "smoothed", "below_radius": True, "success": False,
      ...          "certify_alpha": 0.001, "judge_alpha": 0.001}] * 20
      >>> r = summarize(rows)[0]
      >>> r.side, r.trials, r.successes, r.bound, r.consistent
      ('below', 20, 0, 0.002, True)
    """
    ci_alpha = check_alpha(ci_alpha, name="ci_alpha")
    out = []
    for against in ("base", "smoothed"):
        for side, below in (("below", True), ("above", False)):
            sel = [
                r
                for r in rows
                if r.get("status") == "ok"
                and r["against"] == against
                and bool(r["below_radius"]) == below
            ]
            if not sel:
                continue
            n, k = len(sel), sum(bool(r["success"]) for r in sel)
            low, high = _cp(k, n, ci_alpha)
            bound = consistent = None
            if against == "smoothed" and below:
                bound = max(r["certify_alpha"] + r["judge_alpha"] for r in sel)
                consistent = low <= bound
            out.append(RateRow(against, side, n, k, k / n, low, high, bound, consistent))
    return out


class CurvePoint(NamedTuple):
    """One budget of :func:`robust_curve`: ``eps``, the ``certified`` accuracy, and the
    empirical robust accuracy ``base`` / ``smoothed`` (None where not attacked), over
    ``inputs`` inputs."""

    eps: float
    certified: float
    base: float | None
    smoothed: float | None
    inputs: int


def _robust(row: dict[str, Any]) -> bool:
    """The decision on the attacked pixels is still the certified class."""
    return not row["abstain"] and row["predicted"] == row["certified_class"]


def robust_curve(
    rows: Sequence[dict[str, Any]], certify_rows: Sequence[dict[str, Any]]
) -> list[CurvePoint]:
    """Certified and empirical robust accuracy at each absolute budget of ``rows``.

    Args:
      rows: attack rows.
      certify_rows: the certify run's rows (its ``ok`` rows are the population).
    """
    population = [r for r in certify_rows if r.get("status") == "ok"]
    total = len(population)
    if total == 0:
        raise ValueError("certify_rows: no ok rows")
    radii = np.array([0.0 if r.get("abstained") else float(r["radius"]) for r in population])
    absolute = [r for r in rows if r.get("status") == "ok" and r["budget"] == "absolute"]
    points = []
    for eps in sorted({float(r["eps"]) for r in absolute}):
        acc = {}
        for against in ("base", "smoothed"):
            sel = [r for r in absolute if r["against"] == against and float(r["eps"]) == eps]
            robust = sum(_robust(r) for r in sel)
            acc[against] = robust / total if sel else None
        points.append(
            CurvePoint(eps, float((radii > eps).mean()), acc["base"], acc["smoothed"], total)
        )
    return points


def format_table(rates: Sequence[RateRow]) -> str:
    """A Markdown table of :func:`summarize`'s rows."""
    lines = [
        "| against | eps vs R | trials | successes | rate | 95% CI | bound | consistent |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rates:
        bound = "" if r.bound is None else f"{r.bound:.4f}"
        ok = "" if r.consistent is None else ("yes" if r.consistent else "NO")
        side = "eps < R" if r.side == "below" else "eps >= R"
        lines.append(
            f"| {r.against} | {side} | {r.trials} | {r.successes} | {r.rate:.3f} | "
            f"[{r.low:.3f}, {r.high:.3f}] | {bound} | {ok} |"
        )
    return "\n".join(lines)


def plot_curve(points: Sequence[CurvePoint], path, *, title: str | None = None):
    """Plot certified accuracy and empirical robust accuracy against ``eps`` to ``path``
    (matplotlib, imported here, Agg backend). Returns the path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    eps = [p.eps for p in points]
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.step(eps, [p.certified for p in points], where="post", label="certified (smoothed)")
    for name, style in (("smoothed", "o-"), ("base", "s--")):
        pts = [(p.eps, getattr(p, name)) for p in points if getattr(p, name) is not None]
        if pts:
            ax.plot(*zip(*pts, strict=True), style, label=f"empirical vs PGD ({name})")
    ax.set_xlabel("L2 budget eps (pixels in [0, 1])")
    ax.set_ylabel("accuracy w.r.t. the certified class")
    ax.set_ylim(-0.02, 1.02)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
