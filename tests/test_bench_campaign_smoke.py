"""bench/bench_campaign.py --quick runs, writes its JSON and finds resumed rows equal to the
uninterrupted ones (the shape of the results and the resume check, not the speed); the
pilot that chooses EfficientNet-Lite0's prior (bench/_campaign_pilot.py) stays off the
measured crops and keeps the cheapest matching prior."""

from __future__ import annotations

import json
import re

import numpy as np
from PIL import Image

from tests._bench_smoke import run_bench

RUN_KEYS = {
    "in_flight",
    "n_max",
    "inputs",
    "errors",
    "certified_fraction",
    "samples_per_input",
    "seconds_per_input",
    "calls",
    "copies",
    "fill",
}


def test_bench_campaign_quick_writes_results_and_passes_resume(tmp_path):
    out = tmp_path / "campaign.json"
    stdout = run_bench("bench_campaign.py", "--quick", "--in-flight", "3", "--json", str(out))
    assert re.search(r"^resume: PASS \(tiny-llava\); total \d+\.\d s$", stdout, re.MULTILINE), (
        stdout
    )
    results = json.loads(out.read_text())
    assert results["quick"] is True and results["resume_pass"] is True
    assert results["threads"] == 1 and results["in_flight"] == 3
    llava = results["models"]["tiny-llava"]
    for rule in ("fixed", "sequential"):
        runs = llava[rule]
        assert set(runs) == {"1", "3"}, runs  # JSON keys: the in-flights
        for flight, r in runs.items():
            assert RUN_KEYS <= set(r), r
            assert r["in_flight"] == int(flight) and r["inputs"] == results["inputs"]
            assert r["errors"] == 0 and 0.0 <= r["certified_fraction"] <= 1.0
            assert 0.0 < r["fill"] <= 1.0 and r["calls"] > 0
            # Every copy the campaign drew was predicted by a counted model call.
            assert r["copies"] == round(r["samples_per_input"] * r["inputs"])
        assert runs["3"]["calls"] <= runs["1"]["calls"]  # packing never needs more calls
        assert runs["3"]["rows_equal"] is True
        checks = llava["resume"][rule]
        assert checks["limit_in_flight_1"] and checks["limit_in_flight_3"], checks
        assert checks["interrupt"] and 0 < checks["interrupt_rows_before"] < results["inputs"]
    assert llava["sequential"]["1"]["n_max"] >= llava["planned"]["n_max"]
    assert llava["fixed"]["1"]["n_max"] is None
    seq, fixed = llava["sequential"]["1"], llava["fixed"]["1"]
    assert llava["matched"] == (seq["certified_fraction"] >= fixed["certified_fraction"])
    for key in ("fixed/sequential in-flight 1", "fixed/sequential in-flight 3"):
        assert set(llava["ratios"][key]) == {"samples", "time", "fill"}
    ratio = llava["ratios"]["fixed/sequential in-flight 1"]["samples"]
    assert abs(ratio - fixed["samples_per_input"] / seq["samples_per_input"]) < 1e-12
    for line in ("fixed/sequential in-flight 1", "fixed in-flight 1/3", "sequential in-flight 1/3"):
        assert f"ratio tiny-llava {line}: " in stdout, stdout


def test_measured_crops_are_unchanged_and_pilot_crops_avoid_them(tmp_path, monkeypatch):
    """The measured squares are the draws of the bench before the pilot existed (the same
    generator, written out here); without other photographs, the Grace Hopper pilot crops
    hold no pixel of a measured square (read back from an image whose pixels encode their
    own coordinates)."""
    from bench import _campaign_pilot as pilot

    rng = np.random.default_rng(0)
    want = []
    for _ in range(32):
        side = int(rng.integers(150, 512))
        y, x = int(rng.integers(0, 600 - side + 1)), int(rng.integers(0, 512 - side + 1))
        want.append((y, x, side))
    assert pilot.square_rects(600, 512, 32, seed=0) == want

    yy, xx = np.mgrid[0:600, 0:512]
    coded = np.stack([yy % 256, xx % 256, (yy // 256) * 16 + xx // 256], axis=-1).astype(np.uint8)
    measured = want[:3]  # a few squares, so that the rest of the photo has room
    covered = np.zeros((600, 512), dtype=bool)
    for y, x, s in measured:
        covered[y : y + s, x : x + s] = True
    monkeypatch.setattr(pilot, "photos", lambda: [])
    inputs, source = pilot.pilot_inputs(tmp_path, 6, measured, coded)
    assert len(inputs) >= 2 and "overlapping none" in source, source
    for item in inputs:
        c = np.asarray(Image.open(item.image)).astype(np.int64)
        y = c[..., 0] + 256 * (c[..., 2] // 16)
        x = c[..., 1] + 256 * (c[..., 2] % 16)
        assert not covered[y, x].any(), item.id
    # All 32 measured squares leave no room for a 32-pixel crop: no pilot, said so.
    assert pilot.pilot_inputs(tmp_path, 6, want, coded)[0] == []


def test_choose_prior_is_the_least_expected_cost_among_matching_priors():
    """Each candidate's E[N] and certified fraction, recomputed by
    rstheory.sequential.sequential_plan at its n_max under the fitted law; the choice is the
    least E[N] among those reaching the fixed rule's fraction."""
    from bench._campaign_pilot import choose_prior
    from rstheory import sequential

    rng = np.random.default_rng(3)
    p = np.where(rng.random(24) < 0.5, 1.0, rng.beta(6.0, 2.0, 24))
    k = rng.binomial(64, p)
    choice = choose_prior(k, 64, radius=0.02, sigma=0.12, alpha=0.001, batch_size=8)
    for t in choice.table:
        plan = sequential.sequential_plan(
            choice.fit.distribution, radius=0.02, sigma=0.12, alpha=0.001, batch_size=8,
            n_max=t["n_max"], prior=t["prior"],
        )  # fmt: skip
        assert abs(plan.expected_samples - t["expected_samples"]) < 1e-9
        assert t["matched"] == (plan.certified_fraction >= t["fixed_certified_fraction"] - 1e-12)
    matched = [t for t in choice.table if t["matched"]]
    assert matched and choice.prior == min(matched, key=lambda t: t["expected_samples"])["prior"]
