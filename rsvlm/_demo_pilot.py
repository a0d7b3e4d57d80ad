"""The planner from a pilot, against the larger run measured on the same inputs.

A campaign is planned before it runs: a pilot of ``pilot_n`` samples per input is fitted
(:func:`rstheory.distributions.fit`, atoms at 0 and 1 plus a Beta part), and the fit
predicts the exact mean certified radius :math:`\\mathbb E[R_m]`, the certified accuracy
:math:`\\mathrm{acc}_m(r_0)` (:func:`rstheory.scaling.expected_radius`,
:func:`rstheory.scaling.certified_accuracy`) and the ``n`` a target needs
(:func:`rstheory.planning.required_samples`). The demo's rows keep every estimation vote of
the larger run, in the order they were drawn, so here the pilot is the first ``pilot_n``
votes of each input and the run of ``m`` samples is its first ``m`` votes: no vote of the
pilot is reused to judge the prediction beyond its own size, and the run of ``m`` samples
is one run, not an average over subsamples (so it carries the noise a user's run would).

**Measured against predicted.** At each size ``m`` of :func:`sizes`, the measured mean
radius over the ``N`` inputs, with its standard error ``sd(R_i) / sqrt(N)`` (the inputs are
a sample of Pr(p_A)), against the pilot fit's prediction; and the certified fraction at
``at_radius``. **The planner.** The target :math:`\\mathbb E[R_m] \\ge t\\,
\\mathbb E[R_n]` with the run's own ``n`` as the reference (a reference beyond the run
cannot be measured): the planner's ``n`` from the pilot fit against the smallest ``m``
(every ``m`` from ``pilot_n`` to ``n``) whose measured mean radius reaches ``t`` times that
of the whole run, and the measured mean radius at the planner's ``n``.

Example (the prefix counts, without a model):
  >>> import numpy as np
  >>> from rsvlm._demo_pilot import prefix_counts
  >>> prefix_counts([np.array([0, 1, 0, 0])], [0], sizes=[2, 4]).tolist()
  [[1], [3]]
"""

from __future__ import annotations

import numpy as np

__all__ = ["prefix_counts", "sizes", "step_pilot"]


def sizes(pilot_n: int, n: int) -> list[int]:
    """The sizes compared: ``pilot_n``, about 8 log-spaced integers up to ``n``, and ``n``.

    Example:
      >>> sizes(64, 1024)
      [64, 95, 141, 210, 312, 464, 689, 1024]
    """
    if not 1 <= pilot_n <= n:
        raise ValueError(f"pilot_n must be in [1, n = {n}], got {pilot_n}")
    return sorted({round(float(x)) for x in np.geomspace(pilot_n, n, 8)})


def prefix_counts(labels, top, *, sizes) -> np.ndarray:
    """Votes for ``top[i]`` among the first ``m`` labels of input ``i``, for each ``m``.

    Args:
      labels: one integer array of estimation labels per input, each at least
        ``max(sizes)`` long.
      top: the certified class of each input.
      sizes: the prefix lengths.

    Returns:
      int64 ``(len(sizes), inputs)``.
    """
    out = np.empty((len(sizes), len(labels)), dtype=np.int64)
    for i, (lab, c) in enumerate(zip(labels, top, strict=True)):
        hits = np.cumsum(np.asarray(lab) == c)
        if len(hits) < max(sizes):
            raise ValueError(f"labels: input {i} has {len(hits)} votes, fewer than {max(sizes)}")
        out[:, i] = hits[np.asarray(sizes) - 1]
    return out


def step_pilot(
    rows: list[dict],
    *,
    pilot_n: int = 64,
    alpha: float,
    sigma: float,
    at_radius: float,
    target_ratio: float = 0.9,
) -> dict:
    """The pilot's predictions against the measured run (the module docstring), JSON-ready.

    Args:
      rows: the demo's certify rows (``ok`` rows with ``estimation_labels`` are used; every
        one must hold the same ``n``).
      pilot_n: votes per input in the pilot, ``1 <= pilot_n <= n``.
      alpha, sigma, at_radius: the certificate's level, noise and the accuracy's radius.
      target_ratio: ``t`` of the planner's target.
    """
    import rstheory
    from rstheory import distributions, planning, scaling

    ok = [r for r in rows if r.get("status") == "ok" and r.get("estimation_labels") is not None]
    if len(ok) < 2:
        raise ValueError(f"rows: need at least 2 ok rows with estimation labels, got {len(ok)}")
    n = {int(r["n"]) for r in ok}
    if len(n) != 1:
        raise ValueError(f"rows: every row must hold the same n, got {sorted(n)}")
    n = n.pop()
    grid = sizes(pilot_n, n)
    labels = [np.asarray(r["estimation_labels"]) for r in ok]
    # Every run of m = pilot_n..n votes, certified once; the grid's rows are among them.
    every = np.arange(pilot_n, n + 1)
    k_all = prefix_counts(labels, [r["top_class"] for r in ok], sizes=every)  # (m, inputs)
    m_all = np.broadcast_to(every[:, None], k_all.shape)
    cert = rstheory.certify(k_all.reshape(-1), m_all.reshape(-1), alpha=alpha, sigma=sigma)
    radius_all = np.asarray(cert.radius).reshape(k_all.shape)
    at = np.asarray(grid) - pilot_n
    radius = radius_all[at]
    certified = ~np.asarray(cert.abstained).reshape(k_all.shape)[at] & (radius >= at_radius)
    fit = distributions.fit(k_all[0], pilot_n)
    kw = dict(alpha=alpha, sigma=sigma)
    predicted = np.asarray(scaling.expected_radius(fit.distribution, grid, **kw))
    accuracy = scaling.certified_accuracy(fit.distribution, grid, radius=at_radius, **kw)
    measured = radius.mean(axis=1)
    se = radius.std(axis=1, ddof=1) / np.sqrt(len(ok))
    plan = planning.required_samples(
        fit.distribution, target_ratio=target_ratio, reference_n=n, **kw
    )
    dense = radius_all.mean(axis=1)
    reached = every[dense >= target_ratio * dense[-1]]
    at_plan = float(dense[plan.n - pilot_n]) if pilot_n <= plan.n <= n else None
    return {
        "pilot_n": pilot_n,
        "n": n,
        "inputs": len(ok),
        "fit": {"a": fit.a, "b": fit.b, "w0": fit.w0, "w1": fit.w1},
        "sizes": grid,
        "measured_radius": measured.tolist(),
        "measured_radius_se": se.tolist(),
        "predicted_radius": predicted.tolist(),
        "measured_accuracy": certified.mean(axis=1).tolist(),
        "predicted_accuracy": np.asarray(accuracy).tolist(),
        "at_radius": at_radius,
        "target_ratio": target_ratio,
        "planner_n": int(plan.n),
        "measured_n": int(reached[0]),
        "target_radius": float(target_ratio * dense[-1]),
        "measured_radius_at_planner_n": at_plan,
    }


def section(p: dict | None) -> list[str]:
    """Markdown lines of :func:`step_pilot`'s result (nothing when it did not run)."""
    if not p:
        return []
    lines = [
        f"## The planner from a pilot of {p['pilot_n']} samples, against the run of {p['n']}",
        "",
        f"The first {p['pilot_n']} estimation votes of each of the {p['inputs']} inputs are "
        "fitted (atoms at 0 and 1 plus a Beta part: "
        + ", ".join(f"{k} = {v:.3g}" for k, v in p["fit"].items())
        + "); the fit predicts the exact mean radius and certified accuracy at larger n. "
        "The measured values are the runs of the first m votes of the same inputs "
        "(one run each, with the standard error over inputs).",
        "",
        f"| m | measured E[R] (se) | predicted from the pilot | measured acc(r = "
        f"{p['at_radius']:g}) | predicted acc |",
        "|---|---|---|---|---|",
    ]
    for i, m in enumerate(p["sizes"]):
        lines.append(
            f"| {m} | {p['measured_radius'][i]:.4f} ({p['measured_radius_se'][i]:.4f}) | "
            f"{p['predicted_radius'][i]:.4f} | {p['measured_accuracy'][i]:.3f} | "
            f"{p['predicted_accuracy'][i]:.3f} |"
        )
    lines += [
        "",
        f"Target E[R_m] >= {p['target_ratio']:g} E[R_{p['n']}]: the planner from the pilot "
        f"asks for n = {p['planner_n']}; the measured prefixes (m from {p['pilot_n']} to "
        f"{p['n']}) first reach it ({p['target_radius']:.4f}) at m = {p['measured_n']}"
        + (
            f", and measure {p['measured_radius_at_planner_n']:.4f} at the planner's n."
            if p["measured_radius_at_planner_n"] is not None
            else _outside(p)
        ),
        "",
    ]
    return lines


def _outside(p: dict) -> str:
    """Why no measured mean radius is given at the planner's ``n``: below the pilot's size
    (the measured runs start there) or beyond the run."""
    if p["planner_n"] < p["pilot_n"]:
        n = p["pilot_n"]
        return f" (the planner's n is below the pilot's {n} votes, where the runs start)."
    return " (the planner's n lies beyond the run)."
