"""The demo's published-data step: the theory against the published certifications.

:func:`step_published` runs :func:`rstheory.published.check_published` for every dataset
found under the data folder (``cfg.data_dir``, default ``$RSVLM_DATA_DIR`` or the
checkout's ``data/``) and returns JSON-ready numbers for the report; :func:`render`
writes its section.

The reference run's counts are recovered from its published bounds at the level its
radii fit (``reference_alpha="infer"``, as ``rstheory validate --reference-alpha infer``;
:func:`rstheory.published.reference_level`): 0.01 for the ImageNet reference, Cohen
et al.'s (2019) CERTIFY output, whose printed radii no integer count reproduces at the
stated 0.001; the stated 0.001 for CIFAR-10 (data/p2-certifications/README.md, Notes).
Every run is predicted at its stated level. The section shows both levels per dataset.
"""

from __future__ import annotations

import pathlib

__all__ = ["render", "step_published"]

# How the reference level was chosen (rstheory.published.reference_level's second value).
_SOURCES = {
    "inferred": "inferred from its radii, not the stated level",
    "stated": "inferred from its radii: the stated level",
    "given": "given",
}


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
                "reference_alpha": c.reference_alpha,
                "reference_alpha_source": c.reference_alpha_source,
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


def render(res: dict, out: pathlib.Path) -> list[str]:
    """The report's Markdown lines of the published comparison, with its figure."""
    from rsvlm import _figures
    from rsvlm._report import _figure, not_shown, num, table

    title = "Published image-classifier certifications (P2)"
    pub = res.get("published")
    if (md := not_shown(title, pub)) is not None:
        return md
    md = [f"## {title}", ""]
    md += [
        f"Data: `{pub['data_dir']}`. From the largest run down (exact expectation of "
        "Empirical(k_i / n_ref)), from the n = 100 pilot's fit up, and P2's Eq. (2); ACR in "
        "[0,1] pixel units. The reference counts are recovered from the published bounds at "
        "the level the reference's radii fit (`rstheory validate --reference-alpha infer`); "
        "every run is predicted at its stated alpha.",
        "",
    ]
    for d in pub["datasets"]:
        md += [
            f"### {d['dataset']} (reference n = {d['reference_n']}, ACR "
            f"{num(d['reference_acr'])}, count recovery mismatch {num(d['count_mismatch'])})",
            "",
            f"Stated alpha {num(d['alpha'], 3)}; reference counts recovered at alpha "
            f"{num(d['reference_alpha'], 3)} ({_SOURCES[d['reference_alpha_source']]}).",
            "",
            table(
                ["n", "measured", "exact", "error / sd", "Eq. (2)"],
                [
                    [
                        r["n"],
                        r["measured"],
                        r["predicted"],
                        (r["predicted"] - r["measured"]) / r["sd"],
                        r["eq2"],
                    ]
                    for r in d["reference"]
                ],
            ),
            "",
            table(
                ["n", "measured", "from the pilot fit", "plug-in k/n", "Eq. (2) from pilot"],
                [[r["n"], r["measured"], r["fitted"], r["plug_in"], r["eq2"]] for r in d["pilot"]],
            ),
            "",
            table(
                ["target ratio", "measured n", "planner", "planner (pilot)", "Eq. (2)"],
                [
                    [
                        r["target_ratio"],
                        r["measured"],
                        r["planner"],
                        r["planner_from_pilot"],
                        r["eq2"],
                    ]
                    for r in d["plan"]
                ],
            ),
            "",
        ]
    return md + _figure(
        res, "published", _figures.published, pub["datasets"], out=out, title="published ACR vs n"
    )
