"""bench/bench_campaign.py --quick runs, writes its JSON and finds resumed rows equal to the
uninterrupted ones (the shape of the results and the resume check, not the speed)."""

from __future__ import annotations

import json
import re

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
