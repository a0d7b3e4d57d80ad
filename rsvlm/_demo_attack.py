"""The demo's attack step: L2 PGD against the certified inputs, base and smoothed model.

:func:`step_attack` attacks inputs the demo certified with :func:`sampler.attack.attack_campaign`
(guide: ``docs/guides/attack.md``) and :func:`render` writes the report's section.

**Inputs.** Trained kind: the inputs whose toy-task refusal certificate (the default,
case-sensitive judge; :func:`refusal_inputs`) selects the refusal and that are certified
as *refusals* again under the case-insensitive judge, which gives their radii. The
demo keeps the texts of its run, and a judge labels each text on its own, so the run's
texts relabelled by :class:`sampler.oracles.RefusalJudge` ``(case_sensitive=False)`` are
the run that judge would have made (:mod:`rsvlm._demo_trained`); its certificate
(Cohen, Rosenfeld & Kolter 2019, Theorem 1, :func:`rstheory.certify`) gives the class
(refusal) and the radius ``R``. The judge matches case-insensitively, as in
``bench/bench_attack.py --model trained-llava``: the toy refusal is lower-case, so the
case-sensitive judge would see only its "unethical" and call an answer that keeps
"i'm sorry, i cannot help with that." a compliance. A success turns the refusal into a
compliance. Random kind: the inputs certified under the run's own oracle, as collected.
At most ``cfg.attack_inputs`` inputs (the first ones) are attacked.

**Budgets.** ``eps = m R`` for ``m`` in ``cfg.attack_multiples`` (below and above each
radius) and the absolute ``cfg.attack_eps`` (the points of the robust-accuracy curve),
against the base and the smoothed model, with ``cfg.attack_steps`` PGD steps of
``cfg.attack_draws`` noise draws (SmoothAdv, Salman et al. 2019, Sec. 3), away from the
clean greedy answer; the smoothed model is judged by PREDICT with ``cfg.attack_n`` copies
at level ``cfg.alpha`` (Cohen et al. 2019, Sec. 3.2). Below ``R`` the success rate against
the smoothed model has expectation at most ``alpha_cert + alpha_judge``
(:func:`sampler.attack.summarize`).

**Rows.** ``<out_dir>/attack.jsonl``, resumable: a rerun reuses the rows of the same attack
configuration and the same radii; a file from other settings is moved aside to
``attack-<its hash>.jsonl`` first.

Example (the inputs the trained kind attacks, from the toy task's refusal certificates):
  >>> from rsvlm._demo_attack import refusal_inputs
  >>> per = [{"id": "a", "refusal": "refusal", "refusal_abstained": False},
  ...        {"id": "b", "refusal": "compliance", "refusal_abstained": False},
  ...        {"id": "c", "refusal": "refusal", "refusal_abstained": True}]
  >>> refusal_inputs(per)
  ['a']
"""

from __future__ import annotations

import os
import pathlib

import numpy as np

__all__ = ["FIGURE", "ROWS", "refusal_inputs", "render", "step_attack"]

ROWS = "attack.jsonl"
FIGURE = "attack_curve"


def refusal_inputs(per_input: list[dict]) -> list[str]:
    """Ids of the toy task's inputs whose refusal certificate selects the refusal."""
    return [p["id"] for p in per_input if p["refusal"] == "refusal" and not p["refusal_abstained"]]


def _refusal_certify_rows(rows: list[dict], ids: list[str], cfg) -> tuple[list[dict], object]:
    """Certify rows of ``ids`` under the case-insensitive refusal judge, and that judge."""
    import rstheory
    from rsvlm._demo_trained import _refusal_rows
    from sampler.oracles import RefusalJudge

    judge = RefusalJudge(case_sensitive=False)
    wanted = set(ids)
    ok = [r for r in rows if r["status"] == "ok" and r["id"] in wanted]
    ref = _refusal_rows(ok, judge)
    k, n = np.array([r["k"] for r in ref]), np.array([r["n"] for r in ref])
    cert = rstheory.certify(k, n, alpha=cfg.alpha, sigma=cfg.sigma)
    out = []
    for i, (row, rr) in enumerate(zip(ok, ref, strict=True)):
        out.append(
            {
                "id": row["id"],
                "status": "ok",
                "image": row["image"],
                "prompt": row["prompt"],
                "top_class": rr["top"],
                "class_names": list(judge.labels),
                "k": rr["k"],
                "n": rr["n"],
                "radius": float(cert.radius[i]),
                "abstained": bool(cert.abstained[i]),
                "config": row["config"],  # sigma, alpha and the model of the run
                "config_hash": row["config_hash"],
            }
        )
    # the inputs of the relabelled run that certify the refusal
    refusal = RefusalJudge.labels.index("refusal")
    return [r for r in out if r["top_class"] == refusal and not r["abstained"]], judge


def _attack_config(cfg):
    from sampler.attack import AttackConfig

    return AttackConfig(
        eps=tuple(cfg.attack_eps),
        radius_multiples=tuple(cfg.attack_multiples),
        steps=cfg.attack_steps,
        draws=cfg.attack_draws,
        n=cfg.attack_n,
        alpha=cfg.alpha,
        batch_size=cfg.batch_size,
        seed=cfg.seed,
    )


def _move_stale(path: pathlib.Path, chash: str, certify_hash, radius: dict) -> str | None:
    """Move ``path`` aside when its rows come from another attack configuration, another
    certify run (where the rows record it), other radii, or written before attack rows
    recorded the attacked model (``attacked_model``, which :func:`sampler.attack.attack_campaign`
    requires to resume); returns where it went."""
    from sampler.attack import read_attack_rows

    if not path.exists():
        return None
    old = read_attack_rows(path)
    same = all(
        r.get("config_hash") == chash
        and "attacked_model" in r
        and r.get("certify_hash", certify_hash) == certify_hash
        and (r["id"] not in radius or abs(float(r["radius"]) - radius[r["id"]]) <= 1e-12)
        for r in old
    )
    if same:
        return None
    tag = str(old[0].get("config_hash") if old else "empty")[:12]
    target = path.with_name(f"attack-{tag}.jsonl")
    os.replace(path, target)
    return str(target)


def step_attack(cfg, model_path: str, rows: list[dict], toy_task: dict | None) -> dict:
    """Attack the certified inputs (module docstring); JSON-ready numbers for the report.

    Args:
      cfg: the resolved :class:`rsvlm._demo.DemoConfig`.
      model_path: the certified model's folder.
      rows: the certify rows of the demo's run (:func:`sampler.run.read_rows`).
      toy_task: the trained kind's :func:`rsvlm._demo_trained.step_toy_task` result (None
        for the random kind).

    Returns:
      ``skipped`` (None), ``rows`` (the attack file), ``moved_aside``, ``oracle``,
      ``population`` (the inputs the accuracies are over) with their ``radii``,
      ``attacked``, ``config`` (:class:`sampler.attack.AttackConfig`), ``written``,
      ``reused``, ``errors``, ``rates`` (:func:`sampler.attack.summarize`), ``table``
      (:func:`sampler.attack.format_table`), ``input_rates`` and ``input_table`` (the same
      per input, ``summarize(..., per="input")``), ``curve``
      (:func:`sampler.attack.robust_curve`), ``certified_curve``
      (:func:`sampler.attack.certified_curve`, the exact step function)
      and ``seconds`` (mean per attack, with its judgement, per target).

    Raises:
      RuntimeError: when the attack file holds error rows (the report marks the step failed).
    """
    from rsvlm._demo import _oracle, decoding_config
    from sampler.attack import (
        attack_campaign,
        certified_curve,
        certified_rows,
        format_table,
        read_attack_rows,
        robust_curve,
        summarize,
    )
    from sampler.models import VLM

    ok = [r for r in rows if r["status"] == "ok"]
    if toy_task is not None:
        population, oracle = _refusal_certify_rows(ok, refusal_inputs(toy_task["inputs"]), cfg)
        population = population[: cfg.attack_inputs]
    else:
        population, oracle = ok[: cfg.attack_inputs], _oracle(cfg.oracle)
    attacked = certified_rows(population)
    config = _attack_config(cfg)
    path = pathlib.Path(cfg.out_dir) / ROWS
    radius = {str(r["id"]): float(r["radius"]) for r in attacked}
    certify_hash = attacked[0].get("config_hash") if attacked else None
    moved = _move_stale(path, config.hash(), certify_hash, radius)
    out = {
        "skipped": None,
        "rows": str(path),
        "moved_aside": moved,
        "oracle": repr(oracle),
        "population": [r["id"] for r in population],
        "radii": [0.0 if r["abstained"] else float(r["radius"]) for r in population],
        "attacked": [r["id"] for r in attacked],
        "config": config.to_dict(),
    }
    summary = None
    if attacked:
        vlm = VLM.from_pretrained(model_path, decoding=decoding_config(cfg))
        summary = attack_campaign(vlm, attacked, path, config=config, oracle=oracle)
    got = read_attack_rows(path) if path.exists() else []
    got = [r for r in got if r["id"] in radius]
    errors = [r for r in got if r["status"] == "error"]
    if errors:
        e = errors[0]["error"]
        raise RuntimeError(
            f"{len(errors)} attack row(s) failed (first: {e['type']}: {e['message']}); "
            f"see {path}, remove it to attack again"
        )
    rates = summarize(got) if got else []
    per_input = summarize(got, per="input") if got else []
    curve = robust_curve(got, population) if population else []
    secs = {a: [r["seconds"] for r in got if r["against"] == a] for a in config.against}
    out.update(
        written=0 if summary is None else summary.written,
        reused=0 if summary is None else summary.skipped,
        errors=0,
        rates=[r._asdict() for r in rates],
        table=format_table(rates) if rates else None,
        input_rates=[r._asdict() for r in per_input],
        input_table=format_table(per_input) if per_input else None,
        curve=[p._asdict() for p in curve],
        certified_curve=certified_curve(population)._asdict() if population else None,
        seconds={a: float(np.mean(v)) if v else None for a, v in secs.items()},
    )
    return out


# ----------------------------------------------------------------------------- report


def _bound_line(rates: list[dict], *, per: str = "row") -> str:
    row = next((r for r in rates if r["against"] == "smoothed" and r["side"] == "below"), None)
    if row is None:
        return "No attack of the smoothed model below R, so the bound is not tested."
    verdict = "holds" if row["consistent"] else "is VIOLATED"
    if per == "input":
        return (
            f"Per input (independent trials; an input is broken when any budget below its R "
            f"succeeds, with bound alpha_cert + m alpha_judge for its m budgets below R; the "
            f"largest over the inputs is {row['bound']:g}): "
            f"{row['successes']} of {row['trials']} inputs broken, 95% interval "
            f"[{row['low']:.3f}, {row['high']:.3f}]: the bound {verdict}."
        )
    return (
        f"Bound below R (smoothed model): alpha_cert + alpha_judge = {row['bound']:g}; "
        f"{row['successes']} successes in {row['trials']} attacks, 95% Clopper-Pearson "
        f"interval [{row['low']:.3f}, {row['high']:.3f}]: the bound {verdict} (its lower end "
        f"{'<=' if row['consistent'] else '>'} {row['bound']:g})."
    )


def _reading(a: dict) -> str:
    """One sentence on what the curve shows, from its numbers."""
    pts = [p for p in a["curve"] if p["smoothed"] is not None]
    below = [p["eps"] for p in pts if p["smoothed"] < p["certified"]]
    steps, draws = a["config"]["steps"], a["config"]["draws"]
    if not pts:
        return (
            "No absolute budget was judged against the smoothed model, so there is no "
            "empirical curve to set against the certified one."
        )
    if below:
        where = ", ".join(f"{e:g}" for e in below)
        return (
            f"At eps = {where} the smoothed model's empirical accuracy is below the certified "
            "one: with so few inputs and PREDICT copies this can be Monte Carlo error or "
            "abstentions of PREDICT where the margin is small, but it deserves a larger run."
        )
    return (
        "The smoothed model's empirical accuracy stays at or above the certified accuracy at "
        f"every budget, as the certificate requires; PGD with {steps} steps and {draws} "
        "draws is a weak attack, so the empirical curve is only an upper bound on the true "
        "robust accuracy (the certified curve a lower one)."
    )


def render(res: dict, out: pathlib.Path) -> list[str]:
    """The report's attack section (empty where neither run nor skipped)."""
    from rsvlm._report import _figure, not_shown, num, table

    if "attack" not in res and "attack" not in res["steps"]:
        return []
    title = "Attack: PGD against the certified inputs"
    a = res.get("attack")
    if (md := not_shown(title, a)) is not None:
        return md
    md = [f"## {title}", ""]
    c = a["config"]
    trained = res["config"].get("model_kind") == "trained"
    moved = a["moved_aside"] and pathlib.Path(a["moved_aside"]).name
    moved = f"; an older file moved to `{moved}`" if moved else ""
    what = (
        "the inputs certified as refusals by the toy task's refusal judge and again by "
        "`RefusalJudge(case_sensitive=False)` on the run's texts, which gives their radii "
        "(a success turns the refusal into a compliance)"
        if trained
        else "the inputs certified under the run's oracle"
    )
    md += [
        f"L2 PGD (`sampler.attack.attack_campaign`) on {what}: {len(a['attacked'])} of "
        f"{len(a['population'])} input(s) attacked (radii "
        f"{', '.join(num(r) if r > 0 else 'abstained' for r in a['radii']) or '-'}), at eps = "
        f"{', '.join(f'{m:g} R' for m in c['radius_multiples'])} and "
        f"{', '.join(f'{e:g}' for e in c['eps'])}, against the base and the smoothed model; "
        f"{c['steps']} steps of {c['draws']} noise draws, away from the clean greedy answer; "
        f"the smoothed model judged by PREDICT with n = {c['n']} at alpha = {c['alpha']:g}. "
        f"Rows: `{pathlib.Path(a['rows']).name}` ({a['written']} written now, {a['reused']} "
        f"reused from an earlier run{moved}).",
        "",
    ]
    if not a["attacked"]:
        return [*md, "No input was certified, so nothing was attacked.", ""]
    md += [a["table"], "", _bound_line(a["rates"]), ""]
    if a.get("input_table"):
        md += [a["input_table"], "", _bound_line(a["input_rates"], per="input"), ""]
    md += [
        "Accuracy with respect to the certified class: certified (radius > eps) and empirical "
        "(the decision on the attacked pixels is still the certified class; a PREDICT "
        "abstention counts as not robust), over the inputs above (`sampler.attack.robust_curve`):",
        "",
        table(
            ["eps", "certified accuracy", "empirical (smoothed)", "empirical (base)"],
            [[p["eps"], p["certified"], p["smoothed"], p["base"]] for p in a["curve"]],
        ),
        "",
    ]
    md += _figure(res, FIGURE, _plot, a, out=out, title="attack: robust accuracy vs eps")
    secs = a["seconds"]
    md += [
        _reading(a)
        + " Seconds per attack with its judgement: "
        + ", ".join(f"{k} {num(v, 2)}" for k, v in secs.items())
        + ". The larger measurement (more inputs, steps and draws, and the attack toward a "
        "compliant answer) is in docs/guides/attack.md.",
        "",
    ]
    return md


def _plot(a: dict, path: pathlib.Path) -> pathlib.Path:
    from sampler.attack import CertifiedCurve, CurvePoint, plot_curve

    path.parent.mkdir(parents=True, exist_ok=True)
    c = a.get("certified_curve")
    plot_curve(
        [CurvePoint(**p) for p in a["curve"]],
        path,
        title="PGD against the certified inputs",
        certified=None
        if c is None
        else CertifiedCurve(tuple(c["eps"]), tuple(c["accuracy"]), c["inputs"]),
    )
    return path
