"""The demo's planner step: the ``n`` a target needs under the fitted Pr(p_A)
(:func:`rstheory.planning.required_samples`: the smallest ``n`` with
``E[R_n] >= target_ratio * E[R_reference_n]``) and the cost of a campaign at that ``n``
(:func:`rstheory.planning.budget`) at this machine's measured throughput
(:func:`seconds_per_batch`) and at the paper's example (7B VLM, 4 A100), with its report
section (:func:`render`).

Example (seconds of one batch from the timings of the rows):
  >>> from rsvlm._demo_plan import seconds_per_batch
  >>> row = {"status": "ok", "n0": 4, "n": 16, "timings": {"selection": 1.0, "estimation": 2.0}}
  >>> seconds_per_batch([row], batch_size=8)
  1.0
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["render", "seconds_per_batch", "step_plan"]


def seconds_per_batch(rows: list[dict], batch_size: int) -> float:
    """Mean model seconds of one batch: (selection + estimation) / batches, over ok rows."""
    per = [
        (r["timings"]["selection"] + r["timings"]["estimation"])
        / (math.ceil(r["n0"] / batch_size) + math.ceil(r["n"] / batch_size))
        for r in rows
        if r["status"] == "ok"
    ]
    return float(np.mean(per))


def step_plan(fit: dict, rows: list[dict], cfg) -> dict:
    """Samples for ``E[R_n] >= target_ratio E[R_ref]`` under the fit, and the campaign's cost.

    The plan's fields, ``closed_form_reason`` (why ``closed_form_n`` is ``nan``, from
    :func:`rstheory._planning.closed_form_reason`, or None), the target, the inputs and
    the ``budgets`` (this machine's, and the paper's example when configured).
    """
    from rstheory import planning
    from rstheory._planning import closed_form_reason
    from rsvlm._demo_curves import fitted_distribution

    law = fitted_distribution(fit)
    kw = dict(
        alpha=cfg.alpha,
        sigma=cfg.sigma,
        target_ratio=cfg.target_ratio,
        reference_n=cfg.reference_n,
    )
    plan = planning.required_samples(law, **kw)
    spb = seconds_per_batch(rows, cfg.batch_size)
    measured = planning.budget(
        plan.n,
        cfg.campaign_inputs,
        throughput=planning.Throughput(batch_size=cfg.batch_size, seconds_per_batch=spb),
    )
    out = {
        "target_ratio": cfg.target_ratio,
        "reference_n": cfg.reference_n,
        **plan._asdict(),
        "closed_form_reason": closed_form_reason(law, **kw),
        "inputs": cfg.campaign_inputs,
        "budgets": [
            {
                "what": f"this machine, {cfg.model_kind} tiny model (measured)",
                "batch_size": cfg.batch_size,
                "seconds_per_batch": spb,
                "devices": 1,
                **measured._asdict(),
            }
        ],
    }
    if cfg.example_seconds_per_batch > 0:
        ex = planning.budget(
            plan.n,
            cfg.campaign_inputs,
            throughput=planning.Throughput(
                batch_size=cfg.example_batch_size,
                seconds_per_batch=cfg.example_seconds_per_batch,
                devices=cfg.example_devices,
            ),
        )
        out["budgets"].append(
            {
                "what": "paper's example: 7B VLM, 4 A100",
                "batch_size": cfg.example_batch_size,
                "seconds_per_batch": cfg.example_seconds_per_batch,
                "devices": cfg.example_devices,
                **ex._asdict(),
            }
        )
    return out


def render(res: dict) -> list[str]:
    """The report's Markdown lines of the planner (empty where not run)."""
    from rsvlm._report import table

    md: list[str] = []
    if "plan" in res:
        p = res["plan"]
        md += [
            "## Planner",
            "",
            f"Smallest n with E[R_n] >= {p['target_ratio']} E[R_{p['reference_n']}] under the "
            "fitted Pr(p_A) (`rstheory.planning.required_samples`):",
            "",
            table(
                ["n", "achieved E[R_n]", "target", "first-order closed form n"],
                [[p["n"], p["achieved"], p["target"], p["closed_form_n"]]],
            ),
            "",
            *(
                []
                if p["closed_form_n"] == p["closed_form_n"]
                else [
                    f"(nan: {p.get('closed_form_reason') or 'the first-order law does not apply'}."
                    " The exact search does not need it.)",
                    "",
                ]
            ),
            f"Cost of {p['inputs']} inputs at that n (`rstheory.planning.budget`):",
            "",
            table(
                [
                    "throughput",
                    "batch size",
                    "s / batch",
                    "devices",
                    "batches",
                    "device hours",
                    "wall seconds",
                ],
                [
                    [
                        b["what"],
                        b["batch_size"],
                        b["seconds_per_batch"],
                        b["devices"],
                        b["batches"],
                        b["device_hours"],
                        b["wall_seconds"],
                    ]
                    for b in p["budgets"]
                ],
            ),
            "",
        ]
    return md
