r"""The demo's "bring your own results" step: ``rstheory analyze`` on Cohen et al.'s ImageNet logs.

:func:`step_analyze` reads the CERTIFY logs of Cohen, Rosenfeld & Kolter (2019, ICML; their
ResNet-50 on ImageNet, ``data/cohen2019/certify/imagenet/resnet50/noise_*/test/sigma_*``)
with :func:`rstheory.analyze.read_log` at their settings (``n = 100,000`` estimation and
``n0 = 100`` selection samples, two-stage; data/cohen2019/README.md) and the level the
printed radii fit (``alpha="infer"``: 0.01 for every ImageNet log, not the stated 0.001;
docs/guides/analyze.md). It draws certified accuracy against radius
(:func:`rstheory._cli_analyze_plot.plot_curves`, the figure of ``rstheory analyze --plot``)
and predicts, per log, what other sample sizes would have given
(:func:`rstheory.analyze.predict`, empirical law of the recovered ``p_i = k_i / n``):

.. math::
    \mathrm{E}[\mathrm{ACR}_n] = \frac1m \sum_i s(p_i)\,
    \mathrm{E}_{K \sim \mathrm{Bin}(n, p_i)}\big[\sigma\,\Phi^{-1}(\underline p(K, n, \alpha))
    \,[\underline p > 1/2]\big],

with ``s = 1`` (``acr``, the upper value) or ``s(p) = Pr[Bin(n0, p) > n0/2]`` (``acr_low``)
for the two-stage selection (:mod:`rstheory._analyze_predict`); the certified accuracy at
radius ``r`` replaces the radius by ``[R >= r]``. :func:`add_section` appends the table
to the demo report.

Example (a skipped step's section; the full table is checked in tests/test_demo_analyze.py):
  >>> import pathlib, tempfile
  >>> report = pathlib.Path(tempfile.mkdtemp()) / "report.md"
  >>> add_section({"analyze": {"skipped": "--skip-published was given", "logs": []}}, report)
  >>> print(report.read_text().splitlines()[-2])
  Skipped: --skip-published was given.
"""

from __future__ import annotations

import json
import pathlib
import re

__all__ = ["RADII", "RUN_N", "RUN_N0", "SIZES", "add_section", "step_analyze"]

# Cohen et al.'s CERTIFY settings (their README and Section 4); the logs hold none.
RUN_N, RUN_N0 = 100_000, 100
# The sample sizes predicted, besides the logged one.
SIZES = (100, 1000, 10_000)
# Radii of the predicted certified accuracy (0: certified at all).
RADII = (0.0, 0.5, 1.0)
FIGURE = "analyze_imagenet"
_NOISE = re.compile(r"^noise_(?P<s>[0-9.]+)$")


def _logs_folder(data_dir) -> pathlib.Path:
    from rstheory import published

    return published.data_dir(data_dir) / "cohen2019" / "certify" / "imagenet" / "resnet50"


def step_analyze(cfg) -> dict:
    """Read the ImageNet CERTIFY logs, write the figure, predict the other ``n`` (module doc).

    Returns a JSON-ready dict: ``skipped`` (a reason, or None), ``figure`` (its path under
    ``cfg.out_dir``), ``sizes``, ``radii`` and one entry per log with its settings
    (``alpha`` inferred, ``alpha_stated``, ``stages``), ``run_acr`` (measured),
    ``run_expected`` and ``predictions`` (``n``, ``acr``, ``acr_low``, ``accuracy``,
    ``accuracy_low``, the accuracies at ``radii``) at ``sizes`` and the logged ``n``.
    """
    folder = _logs_folder(cfg.data_dir)
    if cfg.skip_published:
        return {"skipped": "--skip-published was given", "logs": []}
    files = sorted(folder.glob("noise_*/test/sigma_*"))
    if not files:
        return {"skipped": f"no CERTIFY logs under {folder}", "logs": []}
    from rstheory import analyze
    from rstheory._cli_analyze_plot import plot_curves

    logs = [analyze.read_log(f, n=RUN_N, n0=RUN_N0, alpha="infer") for f in files]
    trained = [float(_NOISE.match(f.parts[-3])["s"]) for f in files]
    labels = [f"{log.sigma:.2f}, trained at {t:.2f}" for log, t in zip(logs, trained, strict=True)]
    out = pathlib.Path(cfg.out_dir)
    figure = out / "figures" / f"{FIGURE}.png"
    figure.parent.mkdir(parents=True, exist_ok=True)
    plot_curves(logs, labels, figure)
    ns = [*SIZES, RUN_N]
    entries = []
    for f, log, t in zip(files, logs, trained, strict=True):
        pred = analyze.predict(log, ns, radii=RADII)
        entries.append(
            {
                "path": f.relative_to(folder).as_posix(),
                "trained": t,
                "sigma": log.sigma,
                "inputs": log.inputs,
                "alpha": log.alpha,
                "alpha_stated": log.alpha_fit.stated,
                "stages": pred.stages,
                "n0": pred.n0,
                "run_n": pred.run_n,
                "run_acr": pred.run_acr,
                "run_expected": pred.run_expected,
                "predictions": [
                    {
                        "n": int(n),
                        "acr": float(pred.acr[j]),
                        "acr_low": float(pred.acr_low[j]),
                        "accuracy": [float(v) for v in pred.accuracy[j]],
                        "accuracy_low": [float(v) for v in pred.accuracy_low[j]],
                    }
                    for j, n in enumerate(pred.n)
                ],
            }
        )
    return {
        "skipped": None,
        "folder": str(folder),
        "figure": figure.relative_to(out).as_posix(),
        "sizes": list(SIZES),
        "radii": list(RADII),
        "logs": entries,
    }


def _interval(low: float, high: float) -> str:
    from rsvlm._report import num

    return num(high) if num(low) == num(high) else f"{num(low)} to {num(high)}"


def _section(a: dict | None) -> list[str]:
    from rsvlm._report import not_shown, num, table

    title = "Bring your own results: Cohen et al.'s ImageNet logs (`rstheory analyze`)"
    if (md := not_shown(title, a)) is not None:
        return md
    md = [f"## {title}", ""]
    md += [
        f"Logs: `{a['folder']}/noise_*/test/sigma_*` (Cohen, Rosenfeld & Kolter 2019, ResNet-50 "
        f"on ImageNet), read at their n = {RUN_N:,}, two-stage with n0 = {RUN_N0} selection "
        "samples, and the level their printed radii reproduce (`--alpha infer`: "
        + ", ".join(sorted({num(g["alpha"], 3) for g in a["logs"]}))
        + ", where the paper states "
        + ", ".join(sorted({num(g["alpha_stated"], 3) for g in a["logs"]}))
        + "). Certified accuracy against radius:",
        "",
        f"![certified accuracy against radius, ImageNet]({a['figure']})",
        "",
        "The n that would have sufficed: exact expected ACR and certified accuracy of the same "
        "inputs at other n (`rstheory.analyze.predict`, each input's recovered p_i = k_i / n), "
        "at the inferred alpha, two-stage with n0 = "
        f"{RUN_N0}; a range runs from the selection's lower bound to its upper one. The last "
        "row of each log is the logged n, beside its measured ACR.",
        "",
    ]
    radii = a["radii"]
    header = ["log", "alpha", "stages", "n", "E[ACR]", "measured ACR"]
    header += [f"E[acc] at r = {r:g}" for r in radii]
    rows = []
    for g in a["logs"]:
        for p in g["predictions"]:
            measured = g["run_acr"] if p["n"] == g["run_n"] else None
            rows.append(
                [
                    f"sigma {g['sigma']:.2f} (trained {g['trained']:.2f})",
                    num(g["alpha"], 3),
                    g["stages"],
                    p["n"],
                    _interval(p["acr_low"], p["acr"]),
                    num(measured),
                    *[
                        _interval(lo, hi)
                        for lo, hi in zip(p["accuracy_low"], p["accuracy"], strict=True)
                    ],
                ]
            )
    return [*md, table(header, rows), ""]


def add_section(res: dict, report: pathlib.Path) -> None:
    """Append the section of ``res["analyze"]`` to the written ``report`` (``report.md``) and
    record its figure under ``res["figures"]`` in ``report.json`` beside it."""
    a = res.get("analyze")
    report = pathlib.Path(report)
    with open(report, "a", encoding="utf-8") as fh:
        fh.write("\n".join(_section(a)) + "\n")
    if a and not a["skipped"]:
        res.setdefault("figures", {})[FIGURE] = a["figure"]
        (report.parent / "report.json").write_text(
            json.dumps(res, indent=1, default=str) + "\n", encoding="utf-8"
        )
