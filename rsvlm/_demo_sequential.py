"""The demo's sequential step: the anytime-valid rule replayed on the collected votes, and
its exact plan under the fitted Pr(p_A).

**Replay.** The rule of :mod:`rstheory.sequential` at radius ``at_radius``, looking every
``batch_size`` samples up to ``n_max = n`` (the collected ``n``), is run on each row's
estimation labels in draw order (:func:`replay`). The draws of
:func:`sampler.certify.certify` with a sequential rule are a prefix of those with a fixed
``n``, the same seed and batch size, and the demo's oracle
labels each answer on its own, so the replay is what the sequential call would have
returned, without drawing again. The fixed rule certifies ``at_radius`` when the row's
certificate radius reaches it.

Example (looks every 10 of 100 samples; every label the top class, half of them, none):
  >>> from rsvlm._demo_sequential import replay
  >>> from rstheory import sequential
  >>> b = sequential.boundaries(radius=0.1, sigma=0.5, alpha=0.05, batch_size=10, n_max=100)
  >>> replay([0] * 100, 0, b), replay([0, 1] * 50, 0, b), replay([1] * 100, 0, b)
  (('certified', 30), ('n_max', 100), ('futility', 20))
"""

from __future__ import annotations

import numpy as np

__all__ = ["replay", "step_sequential"]


def replay(labels, top: int, bounds) -> tuple[str, int]:
    """``(stop reason, samples used)`` of the rule with ``bounds`` on one label sequence.

    Args:
      labels: estimation labels in draw order, length ``>= bounds.checkpoints[-1]``.
      top: the selected class.
      bounds: :class:`rstheory.sequential.Boundaries`.

    Returns:
      ``("certified" | "futility" | "n_max", n)`` with ``n`` the checkpoint of the stop.
    """
    hits = np.cumsum(np.asarray(labels) == top)
    for j, n_j in enumerate(bounds.checkpoints.tolist()):
        k = int(hits[n_j - 1])
        if k >= bounds.k_certify[j]:
            return "certified", n_j
        if k <= bounds.k_futile[j]:
            return "futility", n_j
    return "n_max", int(bounds.checkpoints[-1])


def step_sequential(fit: dict, rows: list[dict], cfg) -> dict:
    """Replay on the collected rows, and ``compare_fixed`` under the fitted law."""
    from rstheory import sequential
    from rsvlm._demo import fitted_distribution

    ok = [r for r in rows if r["status"] == "ok"]
    r, kw = cfg.at_radius, dict(sigma=cfg.sigma, alpha=cfg.alpha)
    bounds = sequential.boundaries(radius=r, batch_size=cfg.batch_size, n_max=cfg.n, **kw)
    stops = [replay(row["estimation_labels"], row["top_class"], bounds) for row in ok]
    fixed_cert = [bool(row["radius"] >= r) for row in ok]
    c = sequential.compare_fixed(
        fitted_distribution(fit), radius=r, batch_size=cfg.batch_size, n=cfg.n, **kw
    )
    return {
        "radius": r,
        "batch_size": cfg.batch_size,
        "prior": list(bounds.prior),
        "replay": {
            "n_max": cfg.n,
            "stop_reasons": [s for s, _ in stops],
            "samples": [n for _, n in stops],
            "mean_samples": float(np.mean([n for _, n in stops])),
            "certified": sum(s == "certified" for s, _ in stops),
            "fixed_certified": sum(fixed_cert),
            "inputs": len(ok),
        },
        "plan": c.summary(),
    }
