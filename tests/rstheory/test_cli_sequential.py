"""Tests of ``rstheory plan --sequential``: its numbers equal rstheory.sequential.compare_fixed
for the planned n, the table prints them, and a missing radius exits 2 with the reason."""

import json

import pytest

from rstheory import distributions, planning, sequential
from rstheory._cli import main
from tests.tolerances import ATOL_SEQUENTIAL_FRACTIONS_TOTAL, RTOL_SAME_COMPUTATION

ARGS = [
    "plan",
    "--dist",
    "beta:8,2",
    "--target-accuracy",
    "0.6",
    "--at-radius",
    "0.25",
    "--sigma",
    "0.5",
    "--alpha",
    "0.001",
    "--sequential",
    "--batch-size",
    "50",
]


def _run(capsys, argv):
    assert main(argv) == 0
    return capsys.readouterr().out


def test_plan_sequential_json_equals_compare_fixed(capsys):
    out = json.loads(_run(capsys, [*ARGS, "--json"]))
    dist = distributions.Beta(8, 2)
    n = planning.required_samples(
        dist, alpha=0.001, sigma=0.5, target_accuracy=0.6, at_radius=0.25
    ).n
    c = sequential.compare_fixed(dist, radius=0.25, sigma=0.5, alpha=0.001, batch_size=50, n=n)
    q = out["sequential"]
    assert out["n"] == n == q["fixed_n"]
    assert q["n_max"] == c.n_max and q["matched"] is True
    assert q["expected_samples"] == pytest.approx(c.expected_samples, rel=RTOL_SAME_COMPUTATION)
    assert q["certified_fraction"] == pytest.approx(c.certified_fraction, rel=RTOL_SAME_COMPUTATION)
    assert q["fixed_certified_fraction"] == pytest.approx(
        c.fixed_certified_fraction, rel=RTOL_SAME_COMPUTATION
    )
    assert q["ratio"] == pytest.approx(n / c.expected_samples, rel=RTOL_SAME_COMPUTATION)
    assert q["certified_fraction"] + q["futility_fraction"] + q["max_fraction"] == pytest.approx(
        1.0, abs=ATOL_SEQUENTIAL_FRACTIONS_TOTAL
    )
    assert q["batch_size"] == 50 and q["radius"] == 0.25
    assert q["prior"] == pytest.approx(list(sequential.default_prior(q["p_star"])))


def test_plan_sequential_table_and_options(capsys):
    text = _run(capsys, [*ARGS, "--sequential-batch", "100", "--prior", "1,1"])
    assert "sequential rule at radius 0.25" in text
    assert "looks every 100 samples, prior Beta(1, 1)" in text
    assert "ratio fixed n / E[samples] =" in text
    # --sequential-radius with a ratio target (no --at-radius)
    text = _run(
        capsys,
        [
            "plan",
            "--dist",
            "beta:8,2",
            "--target-ratio",
            "0.5",
            "--sequential",
            "--sequential-radius",
            "0.5",
        ],
    )
    assert "sequential rule at radius 0.5" in text
    # without --sequential nothing changes
    assert "sequential" not in _run(capsys, ["plan", "--dist", "beta:8,2", "--target-ratio", "0.5"])


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (["--target-ratio", "0.5", "--sequential"], "needs the radius"),
        (["--target-ratio", "0.5", "--sequential", "--sequential-radius", "-1"], "radius"),
        ([*ARGS[3:7], "--sequential", "--max-factor", "0.5"], "max_factor"),
        ([*ARGS[3:7], "--sequential", "--prior", "0,1"], "prior"),
    ],
)
def test_plan_sequential_bad_input_exits_2(capsys, extra, match):
    assert main(["plan", "--dist", "beta:8,2", *extra]) == 2
    assert match in capsys.readouterr().err


def test_plan_sequential_prior_must_be_two_numbers(capsys):
    with pytest.raises(SystemExit):
        main([*ARGS, "--prior", "x"])
    assert "--prior must be A,B" in capsys.readouterr().err


def test_plan_budget_from_a_measured_throughput_and_the_sequential_budget(capsys):
    """--samples-per-second sets the batch time; with --sequential the expected campaign is
    planning.expected_budget of the sequential E[samples] (looks every --batch-size)."""
    out = json.loads(
        _run(
            capsys,
            [
                *ARGS,
                "--inputs",
                "500",
                "--samples-per-second",
                "40",
                "--devices",
                "2",
                "--price",
                "2",
                "--json",
            ],
        )
    )
    hardware = planning.Throughput(
        batch_size=50, samples_per_second=40.0, devices=2, price_per_device_hour=2.0
    )
    fixed = planning.budget(out["n"], 500, throughput=hardware)
    assert out["budget"] == pytest.approx({k: float(v) for k, v in fixed._asdict().items()})
    q = out["sequential"]
    want = planning.expected_budget(q["expected_samples"], 500, throughput=hardware)
    assert q["budget"] == pytest.approx({k: float(v) for k, v in want._asdict().items()})
    # the two campaigns differ exactly by the ratio of samples (whole batches for fixed n)
    assert q["budget"]["device_seconds"] == pytest.approx(
        out["budget"]["device_seconds"] * q["expected_samples"] / (-(-out["n"] // 50) * 50)
    )
    text = _run(capsys, [*ARGS, "--inputs", "500", "--seconds-per-batch", "1.25"])
    assert "expected campaign:" in text and "campaign:" in text


def test_plan_seconds_per_batch_and_samples_per_second_exclude_each_other(capsys):
    with pytest.raises(SystemExit):
        main([*ARGS, "--inputs", "5", "--seconds-per-batch", "1", "--samples-per-second", "3"])
    assert "not allowed with argument" in capsys.readouterr().err
