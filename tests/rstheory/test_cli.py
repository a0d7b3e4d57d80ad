"""The ``rstheory`` command line: its numbers are the library's, its errors exit with status 2."""

import json

import numpy as np
import pytest

import rstheory
from rstheory import distributions, planning, scaling
from rstheory._cli import main
from tests.tolerances import RTOL_CP_SCALAR_VS_JAX, RTOL_SAME_COMPUTATION


def _json(capsys, argv):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_demo_json_equals_certify(capsys):
    out = _json(capsys, ["demo", "--sigma", "0.25", "--alpha", "0.001", "--json"])
    rows = out["certificates"]
    cert = rstheory.certify([r["k"] for r in rows], [r["n"] for r in rows], alpha=0.001, sigma=0.25)
    np.testing.assert_array_equal([r["p_lower"] for r in rows], np.asarray(cert.p_lower))
    np.testing.assert_array_equal([r["radius"] for r in rows], np.asarray(cert.radius))
    assert [r["abstained"] for r in rows] == np.asarray(cert.abstained).tolist()


def test_bound_json_equals_the_library(capsys):
    out = _json(capsys, ["bound", "990", "1000", "--alpha", "0.001", "--json"])
    ci = rstheory.cp_interval(990, 1000, alpha=0.001)
    want = [
        rstheory.cp_lower(990, 1000, alpha=0.001),
        rstheory.cp_upper(990, 1000, alpha=0.001),
        ci.low,
        ci.high,
    ]
    got = [out["cp_lower"], out["cp_upper"], *out["cp_interval"]]
    # the command's JAX-free scalar path (rstheory._clopper_pearson_scalar)
    np.testing.assert_allclose(got, np.asarray(want), rtol=RTOL_CP_SCALAR_VS_JAX, atol=0)


def test_bound_loads_neither_jax_nor_scipy_stats():
    import subprocess
    import sys

    code = (
        "import sys\nfrom rstheory._cli import main\nmain(['bound', '990', '1000'])\n"
        "print([m for m in ('jax', 'scipy.stats', 'matplotlib', 'torch') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize(
    "argv",
    [
        ["bound", "1001", "1000"],
        ["bound", "5", "10", "--alpha", "1.5"],
        ["plan", "--dist", "point:0.9", "--target-radius", "5.0"],  # above every cap
    ],
)
def test_bad_input_exits_2_with_the_reason(capsys, argv):
    assert main(argv) == 2
    assert "error" in capsys.readouterr().err


def test_plan_json_equals_required_samples_and_writes_a_png(capsys, tmp_path):
    png = tmp_path / "plan.png"
    argv = [
        "plan",
        "--dist",
        "point:0.9",
        "--target-radius",
        "0.5",
        "--sigma",
        "1.0",
        "--inputs",
        "10",
        "--batch-size",
        "50",
        "--seconds-per-batch",
        "0.5",
        "--plot",
        str(png),
        "--json",
    ]
    out = _json(capsys, argv)
    plan = planning.required_samples(
        distributions.PointMass(0.9), alpha=0.001, sigma=1.0, target_radius=0.5
    )
    assert out["n"] == plan.n
    grid = [r["n"] for r in out["grid"]]
    radius = np.asarray(
        scaling.expected_radius(distributions.PointMass(0.9), grid, alpha=0.001, sigma=1.0)
    )
    np.testing.assert_array_equal([r["mean_radius"] for r in out["grid"]], radius)
    budget = planning.budget(
        plan.n, 10, throughput=planning.Throughput(batch_size=50, seconds_per_batch=0.5)
    )
    assert out["budget"]["wall_seconds"] == float(budget.wall_seconds)
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"RSTHEORY_CACHE_DIR": "off"}, None),
        ({"RSTHEORY_CACHE_DIR": ""}, None),
        ({"RSTHEORY_CACHE_DIR": "/x/y"}, "/x/y"),
        ({"XDG_CACHE_HOME": "/c"}, "/c/rstheory/xla"),
        ({"JAX_COMPILATION_CACHE_DIR": "/j", "RSTHEORY_CACHE_DIR": "off"}, "/j"),
    ],
)
def test_compilation_cache_dir_follows_the_environment(monkeypatch, env, expected):
    from rstheory._cli import compilation_cache_dir

    for name in ("RSTHEORY_CACHE_DIR", "XDG_CACHE_HOME", "JAX_COMPILATION_CACHE_DIR"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    got = compilation_cache_dir()
    assert (None if got is None else str(got)) == expected


def _pilot(rng, size=60, n=50):
    p = rng.beta(6.0, 1.5, size=size)
    return rng.binomial(n, p), np.full(size, n)


def test_plan_from_pilot_counts_csv_and_jsonl(capsys, tmp_path):
    """--dist fit:FILE plans on distributions.fit of the file's counts; empirical:FILE on the
    plug-in law; a JSONL file of collection rows gives the same as the CSV (error rows skipped)."""
    k, n = _pilot(np.random.default_rng(3))
    csv_file = tmp_path / "pilot.csv"
    csv_file.write_text("k,n\n" + "".join(f"{a},{b}\n" for a, b in zip(k, n, strict=True)))
    jsonl = tmp_path / "pilot.jsonl"
    rows = [
        json.dumps({"id": i, "status": "ok", "k": int(a), "n": int(b)})
        for i, (a, b) in enumerate(zip(k, n, strict=True))
    ]
    rows.insert(3, json.dumps({"id": "bad", "status": "error", "error": "corrupt image"}))
    jsonl.write_text("\n".join(rows) + "\n")
    common = ["plan", "--target-ratio", "0.8", "--reference-n", "1000", "--json"]
    fitted = distributions.fit(k, n).distribution
    want = planning.required_samples(
        fitted, alpha=0.001, sigma=0.5, target_ratio=0.8, reference_n=1000
    )
    for f in (csv_file, jsonl):
        assert _json(capsys, [*common, "--dist", f"fit:{f}"])["n"] == want.n
    plug = distributions.Empirical.from_counts(k, n)
    want_plug = planning.required_samples(
        plug, alpha=0.001, sigma=0.5, target_ratio=0.8, reference_n=1000
    )
    assert _json(capsys, [*common, "--dist", f"empirical:{csv_file}"])["n"] == want_plug.n


@pytest.mark.parametrize(
    ("content", "suffix", "match"),
    [
        ("a,b\n1,2\n", ".csv", "columns k and n"),
        ("k,n\n1,x\n", ".csv", "integers"),
        ('{"k": 1}\n', ".jsonl", "integer k and n"),
        ("k,n\n", ".csv", "no pilot counts"),
        ("k,n\n5,3\n", ".csv", "k"),
    ],
)
def test_bad_pilot_files_are_refused_with_the_reason(capsys, tmp_path, content, suffix, match):
    f = tmp_path / f"pilot{suffix}"
    f.write_text(content)
    with pytest.raises(SystemExit):
        main(["plan", "--dist", f"fit:{f}"])
    assert match in capsys.readouterr().err


def test_plan_refuses_a_file_of_several_configurations_unless_one_is_chosen(capsys, tmp_path):
    """--dist fit:FILE on rows of two configuration hashes exits 2 naming the file and the
    hashes; --config-hash HASH plans on that configuration's rows alone."""
    rng = np.random.default_rng(4)
    (k1, n1), (k2, n2) = _pilot(rng), _pilot(rng, n=20)
    rows = [
        json.dumps({"id": f"{h}{i}", "config_hash": h, "status": "ok", "k": int(a), "n": int(b)})
        for h, k, n in (("aaa", k1, n1), ("bbb", k2, n2))
        for i, (a, b) in enumerate(zip(k, n, strict=True))
    ]
    f = tmp_path / "rows.jsonl"
    f.write_text("\n".join(rows) + "\n")
    common = ["plan", "--target-ratio", "0.8", "--reference-n", "1000", "--json"]
    with pytest.raises(SystemExit) as info:
        main([*common, "--dist", f"fit:{f}"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "rows.jsonl" in err and "aaa" in err and "bbb" in err and "--config-hash" in err
    want = planning.required_samples(
        distributions.fit(k2, n2).distribution,
        alpha=0.001,
        sigma=0.5,
        target_ratio=0.8,
        reference_n=1000,
    )
    got = _json(capsys, [*common, "--dist", f"fit:{f}", "--config-hash", "bbb"])
    assert got["n"] == want.n
    with pytest.raises(SystemExit):
        main([*common, "--dist", "beta:8,2", "--config-hash", "bbb"])
    assert "--config-hash" in capsys.readouterr().err


@pytest.mark.parametrize("count", ["95.5", '"90"', "true", "null"])
def test_plan_refuses_counts_that_are_not_integers(capsys, tmp_path, count):
    f = tmp_path / "pilot.jsonl"
    f.write_text('{"k": 90, "n": 100}\n{"k": ' + count + ', "n": 100}\n')
    with pytest.raises(SystemExit):
        main(["plan", "--dist", f"empirical:{f}"])
    assert "pilot.jsonl:2: field 'k'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("k", "n", "want"),
    [
        (
            "10",
            "1e20",
            "argument N: must be an integer >= 1 (at most 2**53 - 1 = 9007199254740991, the "
            "largest count float64 holds exactly), got '1e20'",
        ),
        (
            "10",
            "9007199254740992",
            "argument N: must be an integer >= 1 (at most 2**53 - 1 = 9007199254740991, the "
            "largest count float64 holds exactly), got '9007199254740992'",
        ),
        ("10", "0", "argument N: must be an integer >= 1, got '0'"),
        ("10", "ten", "argument N: must be an integer >= 1, got 'ten'"),
        ("1.5", "10", "argument K: must be an integer in [0, N], got '1.5'"),
        ("-1", "10", "argument K: must be an integer in [0, N], got '-1'"),
        ("11", "10", "argument K: must be an integer in [0, N] = [0, 10], got 11"),
    ],
)
def test_bound_refuses_bad_counts_naming_the_argument_and_its_range(capsys, k, n, want):
    try:
        code = main(["bound", k, n])
    except SystemExit as stop:  # argparse's own exit, after its usage line
        code = stop.code
    assert code == 2
    assert capsys.readouterr().err.strip().endswith(f"rstheory bound: error: {want}")


def test_bound_takes_the_largest_count_exactly(capsys):
    """n = 2**53 - 1 is taken as that integer (not rounded through a float) and bounded."""
    out = _json(capsys, ["bound", "10", str(2**53 - 1), "--json"])
    assert out["n"] == 2**53 - 1
    assert out["cp_lower"] == float(rstheory.cp_lower(10, 2**53 - 1, alpha=0.001))
    assert _json(capsys, ["bound", "5", "1e5", "--json"])["n"] == 100_000


def test_plan_sequential_with_at_radius_alone(capsys):
    """--at-radius without --target-accuracy is the radius of the sequential rule and of the
    accuracy column, not a target: the plan is the default ratio target's, as without it."""
    out = _json(capsys, ["plan", "--sequential", "--at-radius", "0.25", "--json"])
    assert out["targets"] == {"target_ratio": 0.9}
    assert out["sequential"]["radius"] == 0.25 and out["accuracy_radius"] == 0.25
    law = distributions.Beta(8.0, 2.0)
    want = planning.required_samples(law, alpha=0.001, sigma=0.5, target_ratio=0.9)
    assert out["n"] == want.n and out["sequential"]["fixed_n"] == want.n
    accuracy = {r["n"]: r["accuracy"] for r in out["grid"]}[1000]
    want_accuracy = scaling.certified_accuracy(law, 1000, radius=0.25, alpha=0.001, sigma=0.5)
    assert accuracy == pytest.approx(float(want_accuracy), rel=RTOL_SAME_COMPUTATION)
    assert main(["plan", "--sequential", "--at-radius", "0.25"]) == 0
    text = capsys.readouterr().out
    assert "sequential rule at radius 0.25 (p* = 0.691462)" in text
    assert "accuracy: certified accuracy at radius 0.25" in text


def test_plan_says_why_the_closed_form_is_not_available(capsys):
    """The README's plan: an atom at p = 1 leaves the first-order law without its constant."""
    argv = ["plan", "--dist", "beta:8,2", "--atom1", "0.2", "--target-ratio", "0.9"]
    argv += ["--reference-n", "100000"]
    out = _json(capsys, [*argv, "--json"])
    assert out["closed_form_n"] is None
    assert out["closed_form_reason"].startswith("Pr(p_A) has mass 0.2 at p = 1")
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert f"closed-form estimate of n: not available ({out['closed_form_reason']})" in text
    assert "nan" not in text
    out = _json(capsys, ["plan", "--dist", "beta:8,2", "--target-ratio", "0.9", "--json"])
    assert out["closed_form_reason"] is None
    assert (
        out["closed_form_n"]
        == planning.required_samples(
            distributions.Beta(8.0, 2.0), alpha=0.001, sigma=0.5, target_ratio=0.9
        ).closed_form_n
    )


def _collected(path, k, n, *, sigma, alpha, config_hash="h1"):
    """Rows as python -m sampler collect writes them: config holds sigma and alpha."""
    config = {"sigma": sigma, "alpha": alpha, "n0": 16, "n": int(n[0]), "seed": 0}
    with path.open("a") as f:
        for i, (a, b) in enumerate(zip(k, n, strict=True)):
            row = {"id": f"{config_hash}{i}", "config_hash": config_hash, "status": "ok"}
            f.write(json.dumps({**row, "k": int(a), "n": int(b), "config": config}) + "\n")
    return path


def test_plan_from_rows_takes_their_sigma_and_alpha(capsys, tmp_path):
    """Rows collected at sigma 0.25 and alpha 0.01 are planned at those values (not 0.5 and
    0.001), the source is printed, and a conflicting --sigma or --alpha is refused."""
    k, n = _pilot(np.random.default_rng(5))
    f = _collected(tmp_path / "rows.jsonl", k, n, sigma=0.25, alpha=0.01)
    common = ["plan", "--dist", f"fit:{f}", "--target-ratio", "0.8", "--reference-n", "1000"]
    out = _json(capsys, [*common, "--json"])
    assert (out["sigma"], out["alpha"]) == (0.25, 0.01)
    assert out["sources"] == {"sigma": str(f), "alpha": str(f)}
    want = planning.required_samples(
        distributions.fit(k, n).distribution,
        alpha=0.01,
        sigma=0.25,
        target_ratio=0.8,
        reference_n=1000,
    )
    assert out["n"] == want.n
    assert main(common) == 0
    assert f"Plan: alpha = 0.01 (from {f}), sigma = 0.25 (from {f})," in capsys.readouterr().out
    assert _json(capsys, [*common, "--sigma", "0.25", "--json"])["n"] == want.n  # agrees
    for option, value, recorded in (("--sigma", "0.5", "0.25"), ("--alpha", "0.001", "0.01")):
        with pytest.raises(SystemExit) as info:
            main([*common, option, value])
        assert info.value.code == 2
        err = capsys.readouterr().err
        assert f"argument {option}: {value} conflicts with {option[2:]} = {recorded}" in err
        assert str(f) in err


def test_plan_refuses_rows_that_disagree_on_sigma(capsys, tmp_path):
    k, n = _pilot(np.random.default_rng(6))
    f = _collected(tmp_path / "rows.jsonl", k[:30], n[:30], sigma=0.25, alpha=0.001)
    _collected(f, k[30:], n[30:], sigma=0.5, alpha=0.001)  # same hash, another sigma
    with pytest.raises(SystemExit) as info:
        main(["plan", "--dist", f"fit:{f}"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "disagree on config.sigma: 0.25 (line 1) and 0.5 (line 31)" in err


def test_plan_without_recorded_settings_keeps_the_defaults(capsys, tmp_path):
    k, n = _pilot(np.random.default_rng(7))
    csv_file = tmp_path / "pilot.csv"
    csv_file.write_text("k,n\n" + "".join(f"{a},{b}\n" for a, b in zip(k, n, strict=True)))
    argv = ["plan", "--dist", f"fit:{csv_file}", "--target-ratio", "0.8", "--reference-n", "1000"]
    out = _json(capsys, [*argv, "--json"])
    assert (out["sigma"], out["alpha"]) == (0.5, 0.001)
    assert out["sources"] == {"sigma": "default", "alpha": "default"}
    out = _json(capsys, [*argv, "--sigma", "0.12", "--json"])
    assert out["sigma"] == 0.12 and out["sources"]["sigma"] == "--sigma"
