"""The demo's report: ``report.md`` (Markdown with PNG figures beside it) and ``report.json``.

``report.json`` holds every number the Markdown shows, unrounded, under the step's name
(``certificates``, ``fit``, ``curves``, ``plan``, ``sequential``, ``published``,
``theorems``), with the configuration, the versions and each step's status. Numbers in the
Markdown are rounded by :func:`num` (4 significant decimals unless said otherwise).

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
    from rsvlm import _demo, _demo_trained, _figures

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
    if "fit" in res:
        f = res["fit"]
        md += [
            "## Pr(p_A): the fitted model",
            "",
            "Maximum likelihood (`rstheory.distributions.fit`, binomial likelihood) of "
            "w0 delta_0 + w1 delta_1 + (1 - w0 - w1) Beta(a, b) to the collected (k, n).",
            "",
        ]
        md += [
            table(
                ["a", "b", "w0", "w1", "log-likelihood", "mean p_A", "converged"],
                [
                    [
                        f["a"],
                        f["b"],
                        f["w0"],
                        f["w1"],
                        f["log_likelihood"],
                        f["mean"],
                        f["converged"],
                    ]
                ],
            ),
            "",
        ]
        md += _figure(
            res,
            "pa_histogram",
            _figures.histogram,
            f["k"],
            f["n"],
            _demo.fitted_distribution(f),
            f,
            out=out,
            title="Pr(p_A) with the fit",
        )
    if "curves" in res:
        c = res["curves"]
        md += [
            "## Mean radius and certified accuracy against n",
            "",
            f"Measured: each input's {cfg['n']} estimation labels subsampled without "
            f"replacement to m (nested subsamples, {c['repeats']} repeats, seed "
            f"{cfg['seed']}), certified by `rstheory.certify` at each m. The points at "
            "different m reuse the same votes, so they are dependent (not independent runs), "
            "and the point at the largest m is the collected run itself. 'Certified' means "
            f"not abstained with radius >= {c['at_radius']:g} (the top class is the smoothed "
            "model's own; there is no ground truth). Exact: `scaling.expected_radius` and "
            "`scaling.certified_accuracy` under the fit and under the plug-in k/n; closed "
            "forms: P2's Eq. (2) and Eq. (3) scaled from the largest n.",
            "",
        ]
        md += [
            table(
                [
                    "m",
                    "radius measured",
                    "sd",
                    "exact (fit)",
                    "exact (k/n)",
                    "Eq. (2)",
                    "certified measured",
                    "exact (fit)",
                    "exact (k/n)",
                    "Eq. (3)",
                ],
                list(
                    zip(
                        c["sizes"],
                        c["measured_radius"],
                        c["measured_radius_sd"],
                        c["exact_radius_fit"],
                        c["exact_radius_empirical"],
                        c["eq2_radius"],
                        c["measured_accuracy"],
                        c["exact_accuracy_fit"],
                        c["exact_accuracy_empirical"],
                        c["eq3_accuracy"],
                        strict=True,
                    )
                ),
            ),
            "",
        ]
        md += _figure(res, "curves", _figures.curves, c, out=out, title="radius and accuracy vs n")
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
                    "(nan: the first-order law has no constant for this law; the fit keeps an "
                    "atom at p = 1, however small, where its expectations are infinite. The exact "
                    "search does not need it.)",
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
    md += _sequential(res)
    md += _published(res, out)
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


def _published(res: dict, out: pathlib.Path) -> list[str]:
    from rsvlm import _figures

    md = ["## Published image-classifier certifications (P2)", ""]
    pub = res.get("published")
    if pub is None:
        return [*md, "Not run (the step failed; see Steps).", ""]
    if pub["skipped"]:
        return [*md, f"Skipped: {pub['skipped']}.", ""]
    md += [
        f"Data: `{pub['data_dir']}`. From the largest run down (exact expectation of "
        "Empirical(k_i / n_ref)), from the n = 100 pilot's fit up, and P2's Eq. (2); ACR in "
        "[0,1] pixel units.",
        "",
    ]
    for d in pub["datasets"]:
        md += [
            f"### {d['dataset']} (reference n = {d['reference_n']}, ACR "
            f"{num(d['reference_acr'])}, count recovery mismatch {num(d['count_mismatch'])})",
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
