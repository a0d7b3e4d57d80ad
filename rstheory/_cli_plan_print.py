"""The text of ``rstheory plan``: the plan, its grid of n (:mod:`rstheory._cli_tables`),
the sequential rule beside it and the campaign's cost, from :func:`compute_plan`'s result
(:mod:`rstheory._cli_plan`)."""

from __future__ import annotations

from rstheory._cli_tables import Column, print_table

__all__ = ["GRID_COLUMNS", "print_plan"]

# The grid of n: key of a row of result["grid"] -> its column.
GRID_COLUMNS = {
    "n": Column("n", 8),
    "mean_radius": Column("E[R_n]", 10, ".4f"),
    "radius_cap": Column("cap", 8, ".4f"),
    "accuracy": Column("accuracy", 9, ".4f"),
    "eq2_ratio": Column("Eq.2", 7, ".4f"),
}


def _budget_line(b: dict) -> str:
    """A budget of :func:`compute_plan` in one line; the cost only when a price was given."""
    cost = "" if b["cost"] != b["cost"] else f", cost {b['cost']:.4g}"
    return (
        f"{b['batches']:.0f} batches, {b['wall_seconds'] / 3600:.3g} h wall, "
        f"{b['device_hours']:.3g} device hours{cost}"
    )


def _source(result: dict, name: str) -> str:
    """`` (from FILE)``, `` (--sigma)`` or `` (default)``: where a setting of the plan came from."""
    source = result.get("sources", {}).get(name)
    if source is None:
        return ""
    return f" ({source})" if source == "default" or source.startswith("--") else f" (from {source})"


def print_plan(result: dict) -> None:
    print(
        f"Plan: alpha = {result['alpha']:g}{_source(result, 'alpha')}, "
        f"sigma = {result['sigma']:g}{_source(result, 'sigma')}, "
        f"Pr(p_A) = {result['distribution']}"
    )
    print(f"  targets: {result['targets']}")
    print(
        f"  required n (exact search): {result['n']}   achieved {result['achieved']:.6g} "
        f"(target {result['target']:.6g})"
    )
    if result["closed_form_n"] is None:
        print(f"  closed-form estimate of n: not available ({result['closed_form_reason']})")
    else:
        print(f"  closed-form estimate of n: {result['closed_form_n']:.6g}")
    print(f"  accuracy: certified accuracy at radius {result['accuracy_radius']:g}")
    print_table(
        tuple(GRID_COLUMNS.values()), [[r[key] for key in GRID_COLUMNS] for r in result["grid"]]
    )
    if "sequential" in result:
        q = result["sequential"]
        print(
            f"  sequential rule at radius {q['radius']:g} (p* = {q['p_star']:.6g}), looks every "
            f"{q['batch_size']} samples, prior Beta({q['prior'][0]:.4g}, {q['prior'][1]:.4g}):"
        )
        print(
            f"    fixed n = {q['fixed_n']}: certified fraction {q['fixed_certified_fraction']:.4f}"
        )
        reach = "" if q["matched"] else " (NOT reached: raise --max-factor)"
        print(
            f"    sequential n_max = {q['n_max']}{reach}: certified fraction "
            f"{q['certified_fraction']:.4f}, E[samples] = {q['expected_samples']:.1f} "
            f"(futility {q['futility_fraction']:.4f}, n_max {q['max_fraction']:.4f})"
        )
        print(f"    ratio fixed n / E[samples] = {q['ratio']:.3g}")
        if "budget" in q:
            print(f"    expected campaign: {_budget_line(q['budget'])}")
    if "budget" in result:
        print(f"  campaign: {_budget_line(result['budget'])}")
    if "plot" in result:
        print(f"  figure: {result['plot']}")
