"""The demo's pilot step (rsvlm._demo_pilot) against independent routes: prefix counts by
brute force, radii through scipy's Beta quantile, and the pilot fit's prediction against
the measured mean radius of many simulated inputs."""

import numpy as np
import pytest
from scipy import stats

from rsvlm._demo_pilot import prefix_counts, section, sizes, step_pilot


def _rows(p, n, seed):
    rng = np.random.default_rng(seed)
    rows = []
    for i, pi in enumerate(p):
        labels = np.where(rng.random(n) < pi, 0, 1 + rng.integers(0, 2, n))
        rows.append({"id": str(i), "status": "ok", "n": n, "top_class": 0,
                     "estimation_labels": labels.tolist()})  # fmt: skip
    return rows


def test_prefix_counts_brute_force():
    rng = np.random.default_rng(1)
    labels = [rng.integers(0, 3, 50) for _ in range(4)]
    top = [0, 1, 2, 1]
    got = prefix_counts(labels, top, sizes=[1, 7, 50])
    for j, m in enumerate([1, 7, 50]):
        for i in range(4):
            assert got[j, i] == sum(int(x == top[i]) for x in labels[i][:m])


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="pilot_n"):
        sizes(0, 10)
    with pytest.raises(ValueError, match="labels"):
        prefix_counts([np.zeros(3)], [0], sizes=[4])
    with pytest.raises(ValueError, match="rows"):
        step_pilot([], alpha=0.01, sigma=0.25, at_radius=0.1)


def test_pilot_prediction_matches_measurement():
    # 300 inputs with p_A ~ Beta(8, 2): the pilot fit's E[R_m] must lie within 4.5 standard
    # errors of the measured mean radius at every size (a normal tail of 7e-6 per size, 8
    # sizes: a false-failure budget of 1e-4 before the fit's own error, which is small).
    alpha, sigma, n = 0.01, 0.25, 512
    p = np.random.default_rng(7).beta(8, 2, 300)
    rows = _rows(p, n, seed=8)
    out = step_pilot(rows, pilot_n=64, alpha=alpha, sigma=sigma, at_radius=0.1)
    assert out["sizes"][0] == 64 and out["sizes"][-1] == n
    for m, r, se, pred in zip(
        out["sizes"],
        out["measured_radius"],
        out["measured_radius_se"],
        out["predicted_radius"],
        strict=True,
    ):
        assert abs(r - pred) <= 4.5 * se + 1e-3, (m, r, pred, se)
    # The measured radius of the full run through scipy (Clopper-Pearson lower bound).
    k = np.array([sum(int(x == 0) for x in row["estimation_labels"]) for row in rows])
    lower = stats.beta.ppf(alpha, k, n - k + 1)
    radius = np.where(lower > 0.5, sigma * stats.norm.ppf(lower), 0.0)
    assert out["measured_radius"][-1] == pytest.approx(radius.mean(), rel=1e-9)
    assert out["measured_accuracy"][-1] == pytest.approx(np.mean(radius >= 0.1))
    # measured_n: the first m whose mean radius reaches the target, through scipy.
    target = out["target_ratio"] * out["measured_radius"][-1]
    assert out["target_radius"] == pytest.approx(target, rel=1e-12)
    labels = np.array([row["estimation_labels"] for row in rows]) == 0
    for m in (out["measured_n"] - 1, out["measured_n"]):
        km = labels[:, :m].sum(axis=1)
        low = stats.beta.ppf(alpha, km, m - km + 1)
        mean = np.where(low > 0.5, sigma * stats.norm.ppf(low), 0.0).mean()
        assert (mean >= target - 1e-12) == (m == out["measured_n"]), (m, mean, target)
    if out["planner_n"] <= n:
        km = labels[:, : out["planner_n"]].sum(axis=1)
        low = stats.beta.ppf(alpha, km, out["planner_n"] - km + 1)
        mean = np.where(low > 0.5, sigma * stats.norm.ppf(low), 0.0).mean()
        assert out["measured_radius_at_planner_n"] == pytest.approx(mean, rel=1e-9)
    assert out["pilot_n"] <= out["planner_n"]
    text = "\n".join(section(out))
    assert f"n = {out['planner_n']}" in text and "| 512 |" in text
    assert f"(m from 64 to {n}) first reach it" in text and f"at m = {out['measured_n']}" in text
    assert section(None) == []


def test_a_planner_n_below_the_pilot_is_said_to_be_below_it():
    # The pilot is the whole run: the target E[R_m] >= 0.9 E[R_n] holds below n, so the
    # planner's n (checked here through the planner itself) is below the pilot's size.
    from rstheory import distributions, planning

    n = 256
    rows = _rows(np.random.default_rng(3).beta(8, 2, 40), n, seed=4)
    out = step_pilot(rows, pilot_n=n, alpha=0.01, sigma=0.25, at_radius=0.1)
    k = np.array([sum(int(x == 0) for x in row["estimation_labels"]) for row in rows])
    law = distributions.fit(k, n).distribution
    plan = planning.required_samples(law, target_ratio=0.9, reference_n=n, alpha=0.01, sigma=0.25)
    assert out["planner_n"] == plan.n < n and out["measured_radius_at_planner_n"] is None
    text = "\n".join(section(out))
    assert "beyond the run" not in text and f"below the pilot's {n} votes" in text


def test_the_default_pilot_is_at_most_the_run():
    # n = 3 < 4: the default pilot is the whole run (max(4, n // 16) would exceed it).
    from rsvlm._demo import DemoConfig, step_pilot_of

    # alpha = 0.2 certifies 3 votes of 3 (0.2^(1/3) > 1/2), so the planner has a target.
    rows = _rows([0.999, 0.998, 0.999, 0.997], 3, seed=6)
    out = step_pilot_of(rows, DemoConfig(n=3, alpha=0.2, sigma=0.25, at_radius=0.1))
    assert out["pilot_n"] == out["n"] == 3 and out["sizes"] == [3]
    assert step_pilot_of(_rows([0.9, 0.8], 64, seed=1), DemoConfig(n=64))["pilot_n"] == 4
