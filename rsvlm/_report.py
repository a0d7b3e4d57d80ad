"""The demo's report: ``report.md`` (Markdown with PNG figures beside it) and ``report.json``.

``report.json`` holds every number the Markdown shows, unrounded, under the step's name
(``certificates``, ``toy_task``, ``sigma_sweep``, ``attack``, ``fit``, ``curves``,
``plan``, ``pilot``, ``sequential``, ``published``, ``analyze``, ``theorems``), with the
configuration, the versions and each step's status. Numbers in the Markdown are rounded
by :func:`num` (4 significant decimals unless said otherwise). The sections of the fit and
curves, the planner, the pilot, the attack and the published data are written by
:mod:`rsvlm._demo_curves`, :mod:`rsvlm._demo_plan`, :mod:`rsvlm._demo_pilot`,
:mod:`rsvlm._demo_attack` and :mod:`rsvlm._demo_published`.

Example:
  >>> from rsvlm._report import num, table
  >>> num(0.123456), num(None), num(float("nan")), num(3)
  ('0.1235', '-', 'nan', '3')
  >>> print(table(["a", "b"], [[1, 0.5]]))
  | a | b |
  | --- | --- |
  | 1 | 0.5000 |
"""

from __future__ import annotations

import json
import math
import pathlib

DISCLAIMER = (
    "The model is a tiny LLaVA with **random weights** (built offline by "
    "`sampler.tiny.build_tiny_llava`) and the inputs are **synthetic images** (smooth random "
    "colour patterns; no dataset is available offline). Its answers are random word strings, "
    "so the numbers illustrate the pipeline end to end (sampling, oracle, certificates, fit, "
    "scaling, planning); they say nothing about the robustness of a real LLaVA."
)
DISCLAIMER_TRAINED = (
    "The model is a small LLaVA (`sampler.tiny.trained_llava`) **trained on a toy task**: "
    "a red, green or blue circle, square or triangle on gray, to be refused when a black X "
    "marks the image (`docs/measurements/trained_model.md`). The inputs are held-out images "
    "of that task with its shape or colour questions, so p_A is a real vote share of a "
    "trained model; it is still a toy, not a measurement of a real LLaVA's robustness."
)


def num(x, digits: int = 4) -> str:
    """A number as the report prints it: ints as they are, floats with ``digits`` decimals."""
    if x is None:
        return "-"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return str(x)
    if isinstance(x, float) and math.isnan(x):
        return "nan"
    if isinstance(x, float) and x != 0 and (abs(x) < 10**-digits or abs(x) >= 1e6):
        return f"{x:.3e}"
    return f"{x:.{digits}f}"


def table(header, rows) -> str:
    """A Markdown table; cells that are not strings go through :func:`num`."""
    cell = lambda v: v if isinstance(v, str) else num(v)
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(cell(v) for v in r) + " |" for r in rows]
    return "\n".join(lines)


def not_shown(title: str, step: dict | None) -> list[str] | None:
    """The whole section ``title`` when its step's result ``step`` is missing (the step
    failed) or says it was ``skipped``; None when the section has numbers to show."""
    md = [f"## {title}", ""]
    if step is None:
        return [*md, "Not run (the step failed; see Steps).", ""]
    if step.get("skipped"):
        return [*md, f"Skipped: {step['skipped']}.", ""]
    return None


def _figure(res: dict, name: str, fn, *args, out: pathlib.Path, title: str) -> list[str]:
    try:
        path = fn(*args, out / "figures" / f"{name}.png")
    except Exception as err:  # a figure that fails is shown as such; the run fails too
        res["steps"][f"figure:{name}"] = {
            "ok": False,
            "seconds": 0.0,
            "error": f"{type(err).__name__}: {err}",
        }
        res["ok"] = False
        return [f"*Figure {name} failed: {type(err).__name__}: {err}*", ""]
    res.setdefault("figures", {})[name] = path.relative_to(out).as_posix()
    return [f"![{title}]({path.relative_to(out).as_posix()})", ""]


def _sections(res: dict, out: pathlib.Path) -> list[str]:
    from rsvlm import (
        _demo_attack,
        _demo_curves,
        _demo_pilot,
        _demo_plan,
        _demo_published,
        _demo_trained,
        _figures,
    )

    cfg = res["config"]
    md = [
        "# rsvlm demo: certify, fit, plan, and theory against measurement",
        "",
        f"**Status: {'all steps succeeded' if res['ok'] else 'FAILED (see Steps)'}**",
        "",
        DISCLAIMER_TRAINED if cfg.get("model_kind") == "trained" else DISCLAIMER,
        "",
        "## Steps",
        "",
    ]
    md += [
        table(
            ["step", "ok", "seconds", "error"],
            [
                [k, v["ok"], f"{v['seconds']:.2f}", v["error"] or ""]
                for k, v in res["steps"].items()
            ],
        ),
        "",
    ]
    md += [
        "## Parameters",
        "",
        table(["parameter", "value"], [[k, str(v)] for k, v in cfg.items()]),
    ]
    if "collect" in res:
        c = res["collect"]
        prompt = "each image's toy question" if cfg["prompt"] is None else f'"{cfg["prompt"]}"'
        md += [
            "",
            f"Model: `{res['model']['path']}` (built now: {num(res['model']['built'])}); "
            f"oracle: `{cfg['oracle']}` with classes {', '.join(c['class_names'])}; decoding: "
            f"`{json.dumps(c['decoding'])}`; prompt: {prompt}; rows: "
            f"`{pathlib.Path(c['rows']).name}` (configuration hash `{c['config_hash'][:12]}`, "
            f"{c['resumed']} inputs resumed from an earlier run).",
        ]
    md += ["", "Versions: " + ", ".join(f"{k} {v}" for k, v in res["versions"].items()), ""]
    if "images" in res:
        md += ["## Inputs", ""]
        md += _figure(res, "inputs", _figures.inputs, res["images"], out=out, title="input images")
    if "certificates" in res:
        md += [
            "## Certificates per input",
            "",
            f"Selection on n0 = {cfg['n0']} samples, Clopper-Pearson bound on n = {cfg['n']} "
            f"(alpha = {cfg['alpha']}, sigma = {cfg['sigma']}); radius in [0,1] pixel units.",
            "",
        ]
        md += [
            table(
                [
                    "input",
                    "class",
                    "selection counts",
                    "estimation counts",
                    "k",
                    "n",
                    "p_lower",
                    "radius",
                    "abstained",
                ],
                [
                    [
                        c["id"],
                        c["class"],
                        str(c["selection_counts"]),
                        str(c["estimation_counts"]),
                        c["k"],
                        c["n"],
                        c["p_lower"],
                        c["radius"],
                        c["abstained"],
                    ]
                    for c in res["certificates"]
                ],
            ),
            "",
        ]
    md += _demo_trained.render(res)
    if "sigma_sweep" in res:
        md += _figure(
            res,
            "sigma_sweep",
            _figures.sigma_sweep,
            res["sigma_sweep"],
            out=out,
            title="certified accuracy against radius per sigma",
        )
    md += _demo_attack.render(res, out)
    md += _demo_curves.render(res, out)
    md += _demo_plan.render(res)
    md += _demo_pilot.section(res.get("pilot"))
    md += _sequential(res)
    md += _demo_published.render(res, out)
    if "theorems" in res:
        md += [
            "## Theorem checks (proofs_check)",
            "",
            table(
                ["theorem", "symbolic", "numeric error", "tolerance", "pass"],
                [
                    [
                        t["name"],
                        "-" if t["symbolic"] is None else num(t["symbolic"]),
                        t["numeric_error"],
                        t["tolerance"],
                        t["passed"],
                    ]
                    for t in res["theorems"]
                ],
            ),
            "",
        ]
    return md


def _sequential(res: dict) -> list[str]:
    """The sequential-rule section: the replay on the collected votes and the exact plan."""
    if "sequential" not in res:
        return []
    q = res["sequential"]
    rp, pl = q["replay"], q["plan"]
    return [
        "## Sequential rule (anytime-valid)",
        "",
        f"Certify radius {num(q['radius'])} and stop as soon as the beta-binomial confidence "
        f"sequence decides, looking every {q['batch_size']} samples "
        f"(`rstheory.sequential`, prior Beta({num(q['prior'][0])}, {num(q['prior'][1])})). "
        "Replayed on the collected estimation labels in draw order, which is what "
        "`sampler.certify.certify` returns with the same seed and a `SequentialRule`:",
        "",
        table(
            ["rule", "samples per input (mean)", f"certified at {num(q['radius'])}"],
            [
                [
                    f"fixed n = {rp['n_max']}",
                    rp["n_max"],
                    f"{rp['fixed_certified']} / {rp['inputs']}",
                ],
                [
                    f"sequential, n_max = {rp['n_max']}",
                    rp["mean_samples"],
                    f"{rp['certified']} / {rp['inputs']}",
                ],
            ],
        ),
        "",
        "Exact plan under the fitted Pr(p_A) (`rstheory.sequential.compare_fixed`): the smallest "
        "n_max whose certified fraction reaches the fixed rule's, and the expected samples there:",
        "",
        table(
            [
                "fixed n",
                "fixed certified",
                "sequential n_max",
                "E[samples]",
                "sequential certified",
                "fixed n / E[samples]",
            ],
            [
                [
                    pl["fixed_n"],
                    pl["fixed_certified_fraction"],
                    f"{pl['n_max']}" + ("" if pl["matched"] else " (not matched)"),
                    pl["expected_samples"],
                    pl["certified_fraction"],
                    pl["ratio"],
                ]
            ],
        ),
        "",
    ]


def write(res: dict, out: pathlib.Path) -> pathlib.Path:
    """Write ``report.md``, its figures and ``report.json`` into ``out``; returns the Markdown."""
    out.mkdir(parents=True, exist_ok=True)
    md = _sections(res, out)
    path = out / "report.md"
    path.write_text("\n".join(md) + "\n", encoding="utf-8")
    (out / "report.json").write_text(
        json.dumps(res, indent=1, default=str) + "\n", encoding="utf-8"
    )
    return path
