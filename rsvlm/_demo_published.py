"""The demo's published-data step: the theory against the published certifications.

:func:`step_published` runs :func:`rstheory.published.check_published` for every dataset
found under the data folder (``cfg.data_dir``, default ``$RSVLM_DATA_DIR`` or the
checkout's ``data/``) and returns JSON-ready numbers for the report.
"""

from __future__ import annotations

__all__ = ["step_published"]


def step_published(cfg) -> dict:
    """:func:`rstheory.published.check_published` for every dataset found."""
    from rstheory import published

    folder = published.data_dir(cfg.data_dir)
    found = sorted({d for d, _ in published.available(data_dir=folder)})
    if not found:
        return {
            "skipped": f"no published certifications under {folder / 'p2-certifications'}",
            "datasets": [],
        }
    if cfg.datasets is not None:
        missing = sorted(set(cfg.datasets) - set(found))
        if missing:
            raise ValueError(f"datasets {missing} not found under {folder} (found {found})")
        found = [d for d in found if d in cfg.datasets]
    out = []
    for d in found:
        c = published.check_published(d, data_dir=folder)
        out.append(
            {
                "dataset": d,
                "sigma": c.sigma,
                "alpha": c.alpha,
                "reference_n": c.reference_n,
                "reference_acr": c.reference_acr,
                "pilot_n": c.pilot_n,
                "count_mismatch": c.count_mismatch,
                "pilot_fit": {k: getattr(c.pilot_fit, k) for k in ("a", "b", "w0", "w1")},
                "reference": [r._asdict() for r in c.reference],
                "pilot": [r._asdict() for r in c.pilot],
                "plan": [r._asdict() for r in c.plan],
            }
        )
    return {"skipped": None, "data_dir": str(folder), "datasets": out}
