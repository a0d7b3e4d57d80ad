"""What attack rows say about certificates: success rates below and above the certified
radius with Clopper-Pearson intervals (:func:`summarize`), empirical robust accuracy
against certified accuracy (:func:`robust_curve`), a table and a plot.

**The check.** For a row of an input certified at radius ``R`` with ``eps < R``, the
certificate says the smoothed prediction cannot change; a judged success there is either
a wrong certificate (probability ``<= alpha_cert``, Cohen et al. 2019, Sec. 3.2,
Proposition 2: CERTIFY, their Theorem 1 with a Clopper-Pearson bound) or a false alarm of
PREDICT (``<= alpha_judge``, their Proposition 1). So the success rate against the
smoothed model below ``R`` has expectation at most ``bound = alpha_cert + alpha_judge``,
and the rows are consistent with the certificates when the lower end of the two-sided
``(1 - ci_alpha)`` Clopper-Pearson interval of that rate is ``<= bound``. Above ``R``
nothing is promised; the base model's rates at the same budgets show what the attack does
without smoothing.

**Per input** (``summarize(rows, per="input")``). The budgets of one input below ``R`` are
not independent trials (one wrong certificate breaks them all), so the interval of the
row-level check treats dependent rows as independent. The per-input check counts inputs:
an input certified at ``R`` is *broken* when any of its smoothed rows below ``R`` is a
judged success. Where its certificate holds, that takes a false alarm of one of its ``m``
judged budgets, so by the union bound (Cohen et al. 2019, Sec. 3.2: Proposition 2 for the
certificate, Proposition 1 for each PREDICT judgement) an input is broken with
probability at most ``alpha_cert + m * alpha_judge`` (capped at 1). The inputs are
independent (each has its own noise), so the Clopper-Pearson interval of the fraction
broken is valid, and the rows are consistent with the certificates when its lower end is
``<= bound``, the largest bound of the inputs (every input's probability is at most
that). The other groups (base model, above ``R``) count an input when any of its rows in
the group is a success, with no bound.

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
same ``eps`` for every input) enter the curve. The certified accuracy is a step function
of ``eps`` known exactly from the radii (:func:`certified_curve`), which
:func:`plot_curve` draws over the whole range, not only at the attacked budgets.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from sampler._validation import check_alpha, check_choice

__all__ = [
    "CertifiedCurve",
    "CurvePoint",
    "RateRow",
    "certified_curve",
    "format_table",
    "plot_curve",
    "robust_curve",
    "summarize",
]

PER = ("row", "input")


class RateRow(NamedTuple):
    """Success rate of the ``ok`` rows of one ``against`` on one side of the radius.

    Attributes:
      against: ``"base"`` or ``"smoothed"``; side: ``"below"`` (``eps < R``) or ``"above"``.
      trials, successes: rows and judged successes (``per="row"``), or inputs and inputs
        broken (``per="input"``: with at least one success in the group); rate:
        ``successes / trials``.
      low, high: two-sided ``(1 - ci_alpha)`` Clopper-Pearson interval of the rate.
      bound: the certificate's ``alpha_cert + alpha_judge`` (per row), or the largest
        ``min(1, alpha_cert + m * alpha_judge)`` of the inputs (per input), for the
        smoothed model below ``R``; else None.
      consistent: ``low <= bound`` for the smoothed model below ``R``, else None.
      per: ``"row"`` or ``"input"``, what ``trials`` counts.
      ci_alpha: the level of ``low`` and ``high`` (:func:`summarize`'s ``ci_alpha``).
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
    per: str = "row"
    ci_alpha: float = 0.05


def _cp(k: int, n: int, alpha: float) -> tuple[float, float]:
    from rstheory import cp_interval

    ci = cp_interval(k, n, alpha=alpha)
    return float(ci.low), float(ci.high)


def _input_key(row: dict[str, Any]) -> tuple:
    return (row.get("certify_hash"), str(row["id"]))


def _per_input(sel: Sequence[dict[str, Any]], bounded: bool) -> tuple[int, int, float | None]:
    """Inputs, inputs with a success, and the largest per-input union bound."""
    inputs: dict[tuple, list[dict[str, Any]]] = {}
    for r in sel:
        inputs.setdefault(_input_key(r), []).append(r)
    broken = sum(any(bool(r["success"]) for r in g) for g in inputs.values())
    bound = None
    if bounded:
        bound = max(
            min(1.0, max(r["certify_alpha"] for r in g) + sum(r["judge_alpha"] for r in g))
            for g in inputs.values()
        )
    return len(inputs), broken, bound


def summarize(
    rows: Sequence[dict[str, Any]], *, ci_alpha: float = 0.05, per: str = "row"
) -> list[RateRow]:
    """Success rates per ``(against, side)`` of attack rows (the module docstring).

    Args:
      rows: attack rows (:func:`sampler.attack.read_attack_rows`); those not ``ok`` are
        left out (an error row judged nothing).
      ci_alpha: the two-sided level of the Clopper-Pearson intervals.
      per: ``"row"``: each row a trial, bound ``alpha_cert + alpha_judge``; ``"input"``:
        each input a trial, broken when any of its rows in the group is a success, bound
        ``alpha_cert + m * alpha_judge`` with ``m`` its judged budgets below ``R``.

    Returns:
      a :class:`RateRow` per ``(against, side)`` with rows, base then smoothed, below then
      above ``R``.

    Example:
      >>> rows = [{"status": "ok", "against": "smoothed", "below_radius": True, "success": False,
      ...          "certify_alpha": 0.001, "judge_alpha": 0.001}] * 20
      >>> r = summarize(rows)[0]
      >>> r.side, r.trials, r.successes, r.bound, r.consistent
      ('below', 20, 0, 0.002, True)
      >>> rows = [{**row, "id": str(i // 2)} for i, row in enumerate(rows)]  # 2 budgets each
      >>> r = summarize(rows, per="input")[0]
      >>> r.trials, r.successes, r.bound, r.consistent, r.per
      (10, 0, 0.003, True, 'input')
    """
    ci_alpha = check_alpha(ci_alpha, name="ci_alpha")
    per = check_choice(per, name="per", choices=PER)
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
            bounded = against == "smoothed" and below
            if per == "row":
                n, k = len(sel), sum(bool(r["success"]) for r in sel)
                bound = max(r["certify_alpha"] + r["judge_alpha"] for r in sel) if bounded else None
            else:
                n, k, bound = _per_input(sel, bounded)
            low, high = _cp(k, n, ci_alpha)
            consistent = None if bound is None else low <= bound
            out.append(
                RateRow(against, side, n, k, k / n, low, high, bound, consistent, per, ci_alpha)
            )
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


def _radii(certify_rows: Sequence[dict[str, Any]]) -> np.ndarray:
    """The radius of each ``ok`` row of a certify run, 0 where it abstained."""
    population = [r for r in certify_rows if r.get("status") == "ok"]
    if not population:
        raise ValueError("certify_rows: no ok rows")
    return np.array(
        [
            0.0 if r.get("abstained") or r.get("radius") is None else float(r["radius"])
            for r in population
        ]
    )


class CertifiedCurve(NamedTuple):
    """The certified accuracy of a certify run as a step function of ``eps``
    (:func:`certified_curve`).

    Attributes:
      eps: the breakpoints, increasing: ``0`` and then the distinct positive radii.
      accuracy: ``accuracy[i]`` is the certified accuracy on ``[eps[i], eps[i + 1])`` (the
        last on ``[eps[-1], inf)``, 0 when ``eps[-1]`` is the largest radius).
      inputs: the number of ``ok`` inputs (the denominator).
    """

    eps: tuple[float, ...]
    accuracy: tuple[float, ...]
    inputs: int

    def at(self, eps) -> np.ndarray:
        """The certified accuracy at budgets ``eps >= 0`` (any shape)."""
        eps = np.asarray(eps, dtype=float)
        if np.any(~np.isfinite(eps)) or np.any(eps < 0):
            raise ValueError("eps must be finite and >= 0")
        i = np.searchsorted(np.asarray(self.eps), eps, side="right") - 1
        return np.asarray(self.accuracy)[i]


def certified_curve(certify_rows: Sequence[dict[str, Any]]) -> CertifiedCurve:
    """The exact certified accuracy curve of a certify run.

    Certified accuracy at ``eps`` is the fraction of the run's ``ok`` inputs with radius
    ``R > eps`` (an abstention has no radius and counts as not certified; Cohen et al.
    2019, Sec. 4): a right-continuous step function, constant between consecutive radii
    and falling at each radius ``r`` by the fraction of inputs with ``R = r``.

    Args:
      certify_rows: the certify run's rows (:func:`sampler.run.read_rows`).

    Returns:
      :class:`CertifiedCurve`.

    Raises:
      ValueError: no ``ok`` row.

    Example:
      >>> rows = [{"status": "ok", "radius": r, "abstained": r == 0} for r in (0.5, 0.2, 0.5, 0)]
      >>> curve = certified_curve(rows)
      >>> curve.eps, curve.accuracy, curve.inputs
      ((0.0, 0.2, 0.5), (0.75, 0.5, 0.0), 4)
      >>> curve.at([0.1, 0.2, 0.6]).tolist()
      [0.75, 0.5, 0.0]
    """
    radii = _radii(certify_rows)
    breaks = np.unique(radii[radii > 0])
    eps = np.concatenate([[0.0], breaks])
    accuracy = (radii[None, :] > eps[:, None]).mean(axis=1)
    return CertifiedCurve(
        tuple(float(e) for e in eps), tuple(float(a) for a in accuracy), len(radii)
    )


def robust_curve(
    rows: Sequence[dict[str, Any]], certify_rows: Sequence[dict[str, Any]]
) -> list[CurvePoint]:
    """Certified and empirical robust accuracy at each absolute budget of ``rows``.

    Args:
      rows: attack rows.
      certify_rows: the certify run's rows (its ``ok`` rows are the population).
    """
    curve = certified_curve(certify_rows)
    total = curve.inputs
    absolute = [r for r in rows if r.get("status") == "ok" and r["budget"] == "absolute"]
    points = []
    for eps in sorted({float(r["eps"]) for r in absolute}):
        acc = {}
        for against in ("base", "smoothed"):
            sel = [r for r in absolute if r["against"] == against and float(r["eps"]) == eps]
            robust = sum(_robust(r) for r in sel)
            acc[against] = robust / total if sel else None
        points.append(CurvePoint(eps, float(curve.at(eps)), acc["base"], acc["smoothed"], total))
    return points


_HEADERS = {"row": "trials | successes", "input": "inputs | broken"}


def _ci_header(rates: Sequence[RateRow]) -> str:
    levels = sorted({r.ci_alpha for r in rates}) or [0.05]
    return "/".join(f"{100 * (1 - a):g}%" for a in levels) + " CI"


def format_table(rates: Sequence[RateRow]) -> str:
    """A Markdown table of :func:`summarize`'s rows; rows of both ``per`` give two tables
    (per row, then per input: ``inputs`` and inputs ``broken``), a blank line between. The
    interval's column is headed by its level (``95% CI`` for ``ci_alpha=0.05``)."""
    tables = []
    for per in PER:
        sel = [r for r in rates if getattr(r, "per", "row") == per]
        if not sel and (per == "input" or any(r.per == "input" for r in rates)):
            continue
        lines = [
            f"| against | eps vs R | {_HEADERS[per]} | rate | {_ci_header(sel)} | bound | "
            "consistent |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for r in sel:
            bound = "" if r.bound is None else f"{r.bound:.4f}"
            ok = "" if r.consistent is None else ("yes" if r.consistent else "NO")
            side = "eps < R" if r.side == "below" else "eps >= R"
            lines.append(
                f"| {r.against} | {side} | {r.trials} | {r.successes} | {r.rate:.3f} | "
                f"[{r.low:.3f}, {r.high:.3f}] | {bound} | {ok} |"
            )
        tables.append("\n".join(lines))
    return "\n\n".join(tables)


def _steps(certified: CertifiedCurve, attacked: Sequence[float]) -> tuple[list, list]:
    """The corners of the certified step function, to 10% beyond the largest radius or
    attacked budget (to 1 when both are 0)."""
    right = 1.1 * max([*certified.eps, *attacked]) or 1.0
    return [*certified.eps, right], [*certified.accuracy, certified.accuracy[-1]]


def plot_curve(
    points: Sequence[CurvePoint],
    path,
    *,
    title: str | None = None,
    certified: CertifiedCurve | None = None,
):
    """Plot certified accuracy and empirical robust accuracy against ``eps`` to ``path``
    (matplotlib, imported here, Agg backend). Returns the path.

    Args:
      points: :func:`robust_curve`'s points: the empirical accuracies, marked at the
        attacked budgets.
      path: the image file to write.
      title: the figure's title.
      certified: :func:`certified_curve` of the certify run: the certified accuracy drawn
        exactly, every step, from 0 to 10% beyond the largest radius or attacked budget;
        None: drawn through the attacked budgets only (steps between them are missed).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    eps = [p.eps for p in points]
    fig, ax = plt.subplots(figsize=(5, 3.5))
    if certified is not None:
        xs, ys = _steps(certified, eps)
        ax.step(xs, ys, where="post", label="certified (smoothed)")
        ax.set_xlim(0, xs[-1])
    else:
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
