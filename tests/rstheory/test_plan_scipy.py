"""The SciPy path of ``rstheory plan`` against the JAX path, and that it never loads JAX.

The JAX path (rstheory.planning, rstheory.scaling, rstheory._exact on the models of
rstheory.distributions) is the independent route: its Clopper-Pearson bounds come from
its own solver (rstheory.cp_lower), the SciPy path's from scipy.special.betaincinv
polished by Newton steps; the sums, the search and the quadratures must then agree.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rstheory import _plan_jax, _plan_scipy, distributions
from rstheory._plan_cp import radius_table
from rstheory._plan_laws import BetaLaw, MixtureLaw, PointLaw, UniformLaw, law_of, with_atoms

# Both paths' Clopper-Pearson bounds are accurate to about 1e-12 relative (the JAX solver's
# measured accuracy; the Newton-polished SciPy inverse's, as rstheory._clopper_pearson_scalar);
# the radius multiplies that error by sigma / phi(Phi^-1(p)), and the expectations are sums of
# non-negative terms, so 1e-10 relative leaves a margin of about 100.
RTOL_PATHS = 1e-10

LAWS = [
    PointLaw(0.9),
    PointLaw(0.5),
    PointLaw(1.0),
    PointLaw(0.999),
    UniformLaw(0.5),
    UniformLaw(0.6, 0.95),
    BetaLaw(8.0, 2.0),
    BetaLaw(2.0, 0.5),
    BetaLaw(0.7, 0.7),
    BetaLaw(30.0, 3.0, 0.5, 1.0),
    MixtureLaw((PointLaw(0.0), PointLaw(1.0), BetaLaw(8.0, 2.0)), (0.1, 0.2, 0.7)),
    MixtureLaw((PointLaw(0.0), PointLaw(1.0), PointLaw(0.9)), (0.0, 0.3, 0.7)),
]


@pytest.mark.parametrize("law", LAWS, ids=repr)
def test_law_is_its_model(law):
    model = law.model()
    assert repr(law) == repr(model)
    x, w = law.quadrature()
    xm, wm = model.quadrature()
    np.testing.assert_array_equal(x, xm)
    np.testing.assert_array_equal(w, wm)


@pytest.mark.parametrize(
    ("kind", "values", "model"),
    [
        ("point", [1.5], lambda: distributions.PointMass(1.5)),
        ("point", [float("nan")], lambda: distributions.PointMass(float("nan"))),
        ("beta", [0.0, 2.0], lambda: distributions.Beta(0.0, 2.0)),
        ("beta", [8.0, -1.0], lambda: distributions.Beta(8.0, -1.0)),
        ("beta", [8.0, 2.0, 0.7, 0.6], lambda: distributions.Beta(8.0, 2.0, low=0.7, high=0.6)),
        ("uniform", [1.2], lambda: distributions.Uniform(1.2)),
        ("uniform", [0.5, 0.5], lambda: distributions.Uniform(0.5, 0.5)),
    ],
)
def test_law_refuses_what_its_model_refuses(kind, values, model):
    with pytest.raises(ValueError) as expected:
        model()
    with pytest.raises(ValueError) as got:
        law_of(kind, values)
    assert str(got.value) == str(expected.value)


def test_mixture_refuses_what_the_model_refuses():
    for weights in ([0.5, 0.6, -0.1], [0.2, 0.2, 0.2]):
        with pytest.raises(ValueError) as expected:
            distributions.Mixture([distributions.PointMass(0.0)] * 3, weights)
        with pytest.raises(ValueError) as got:
            MixtureLaw((PointLaw(0.0),) * 3, tuple(weights))
        assert str(got.value) == str(expected.value)
    with pytest.raises(TypeError, match="beta takes 2 to 4 values, got 1"):
        law_of("beta", [8.0])


@pytest.mark.parametrize("n", [1, 2, 3, 25, 100, 1000, 2579, 100_000, 10**7])
@pytest.mark.parametrize("alpha", [1e-6, 0.001, 0.05])
def test_radius_table_matches_the_jax_bound(n, alpha):
    import rstheory
    from rstheory._exact import cp_lower_fixed_shape

    k = np.unique(np.linspace(0, n, min(n + 1, 4001)).round()).astype(np.int64)
    expected = np.asarray(
        rstheory.certified_radius(cp_lower_fixed_shape(k, n, alpha), sigma=0.5), dtype=np.float64
    )
    got = radius_table(k, n, alpha=alpha, sigma=0.5)
    np.testing.assert_array_equal(got > 0, expected > 0)
    np.testing.assert_allclose(got, expected, rtol=RTOL_PATHS, atol=0)


@pytest.mark.parametrize("law", LAWS, ids=repr)
@pytest.mark.parametrize("radius", [0.0, 0.25, 1.0])
def test_exact_curves_match(law, radius):
    ns = np.array([1, 7, 25, 100, 1000, 2579, 10_000, 100_000])
    kw = {"alpha": 0.001, "sigma": 0.5, "radius": radius}
    got = _plan_scipy.exact_curves(law, ns, **kw)
    expected = _plan_jax.exact_curves(law.model(), ns, **kw)
    np.testing.assert_allclose(got.radius, expected.radius, rtol=RTOL_PATHS, atol=0)
    np.testing.assert_allclose(got.accuracy, expected.accuracy, rtol=RTOL_PATHS, atol=1e-300)


def _rounded(message: str) -> str:
    """``message`` with its numbers to 8 digits (the values it quotes agree to RTOL_PATHS)."""
    return re.sub(r"\d+\.\d+(e[-+]\d+)?", lambda m: f"{float(m.group()):.8g}", message)


def _same_plan(law, **kw):
    """Both paths' plan, closed-form reason and refusals agree."""
    try:
        expected = _plan_jax.required_samples(law.model(), **kw)
    except ValueError as err:
        with pytest.raises(ValueError) as got:
            _plan_scipy.required_samples(law, **kw)
        assert _rounded(str(got.value)) == _rounded(str(err))
        return
    got = _plan_scipy.required_samples(law, **kw)
    assert got.n == expected.n
    assert got.achieved == pytest.approx(expected.achieved, rel=RTOL_PATHS, abs=0)
    assert got.target == pytest.approx(expected.target, rel=RTOL_PATHS, abs=0)
    if math.isnan(expected.closed_form_n):
        assert math.isnan(got.closed_form_n)
    else:
        assert got.closed_form_n == pytest.approx(expected.closed_form_n, rel=RTOL_PATHS)
    assert _plan_scipy.closed_form_reason(law, **kw) == _plan_jax.closed_form_reason(
        law.model(), **kw
    )


TARGETS = [
    {"target_ratio": 0.9},
    {"target_ratio": 0.5},
    {"target_ratio": 0.95, "reference_n": 100_000},
    {"target_ratio": 0.9, "reference_n": 30},
    {"target_radius": 0.3},
    {"target_radius": 5.0},
    {"target_accuracy": 0.6, "at_radius": 0.25},
    {"target_accuracy": 0.9, "at_radius": 0.0},
]


# The laws of the default selection; the others search up to n_max = 1e7 for some targets
# (a minute each on the JAX path) and run with -m slow.
FAST_LAWS = [LAWS[0], LAWS[2], LAWS[6], LAWS[8], LAWS[10]]


@pytest.mark.parametrize("law", FAST_LAWS, ids=repr)
@pytest.mark.parametrize("targets", TARGETS, ids=str)
def test_required_samples_match(law, targets):
    _same_plan(law, alpha=0.001, sigma=0.5, **targets)


@pytest.mark.slow
@pytest.mark.parametrize("law", [law for law in LAWS if law not in FAST_LAWS], ids=repr)
@pytest.mark.parametrize("targets", TARGETS, ids=str)
def test_required_samples_match_every_law(law, targets):
    _same_plan(law, alpha=0.001, sigma=0.5, **targets)


@settings(max_examples=12, deadline=None)
@given(
    a=st.floats(0.5, 30.0),
    b=st.floats(0.5, 10.0),
    atom1=st.sampled_from([0.0, 0.1]),
    ratio=st.floats(0.5, 0.95),
    alpha=st.sampled_from([1e-4, 0.001, 0.01]),
    sigma=st.sampled_from([0.25, 1.0]),
)
def test_required_samples_match_property(a, b, atom1, ratio, alpha, sigma):
    law = with_atoms(BetaLaw(a, b), 0.0, atom1)
    reference = {"reference_n": 10_000} if atom1 else {}  # a mass at 1 has no finite limit
    _same_plan(law, alpha=alpha, sigma=sigma, target_ratio=ratio, **reference)


def test_columns_match():
    ns = np.array([1, 25, 100, 1000, 10**7])
    for alpha in (1e-6, 0.001, 0.2):
        np.testing.assert_allclose(
            _plan_scipy.radius_cap(ns, alpha=alpha, sigma=0.5),
            _plan_jax.radius_cap(ns, alpha=alpha, sigma=0.5),
            rtol=1e-13,
        )
        np.testing.assert_allclose(
            _plan_scipy.eq2_ratio(ns, alpha=alpha), _plan_jax.eq2_ratio(ns, alpha=alpha), rtol=1e-13
        )


def _plan_json(argv: list[str], capsys, monkeypatch, *, path=None) -> dict:
    from rstheory import _cli, _cli_plan

    with monkeypatch.context() as m:
        if path is not None:
            m.setattr(_cli_plan, "_path", lambda dist, args: path)
        assert _cli.main(["plan", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def _assert_close(got, expected):
    if isinstance(expected, dict):
        assert got.keys() == expected.keys()
        for key in expected:
            _assert_close(got[key], expected[key])
    elif isinstance(expected, list):
        assert len(got) == len(expected)
        for g, e in zip(got, expected, strict=True):
            _assert_close(g, e)
    elif isinstance(expected, float) and not isinstance(got, bool):
        assert got == pytest.approx(expected, rel=RTOL_PATHS, abs=1e-300)
    else:
        assert got == expected


@pytest.mark.parametrize(
    "argv",
    [
        ["--dist", "beta:8,2", "--target-ratio", "0.9"],
        ["--dist", "point:0.9"],
        ["--dist", "beta:8,2", "--atom1", "0.2", "--target-ratio", "0.9", "--reference-n", "1000"],
        ["--dist", "beta:8,2", "--target-accuracy", "0.6", "--at-radius", "0.25"],
        ["--dist", "uniform:0.6,0.95", "--atom0", "0.1"],
        ["--dist", "beta:2,0.5", "--target-radius", "0.5", "--inputs", "500", "--price", "3"],
    ],
)
def test_cli_plan_is_the_same_on_both_paths(argv, capsys, monkeypatch):
    monkeypatch.setenv("RSTHEORY_CACHE_DIR", "off")
    got = _plan_json(argv, capsys, monkeypatch)
    expected = _plan_json(argv, capsys, monkeypatch, path=_plan_jax)
    _assert_close(got, expected)


@pytest.mark.parametrize("dist", ["beta:8,2", "point:0.9"])
def test_cli_plan_of_a_law_loads_no_jax(dist):
    code = (
        "import sys\n"
        "from rstheory._cli import main\n"
        f"status = main(['plan', '--dist', {dist!r}, '--inputs', '100', '--json'])\n"
        "print(sorted(m for m in sys.modules if m == 'jax' or m.startswith('jax.')))\n"
        "sys.exit(status)\n"
    )
    env = {"RSTHEORY_CACHE_DIR": "off", "PATH": "", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[]"


def test_cli_plan_with_sequential_keeps_the_jax_path():
    from types import SimpleNamespace

    from rstheory._cli_plan import _path

    law = BetaLaw(8.0, 2.0)
    assert _path(law, SimpleNamespace(sequential=False, plot=None)) is _plan_scipy
    assert _path(law, SimpleNamespace(sequential=True, plot=None)) is _plan_jax
    assert _path(law, SimpleNamespace(sequential=False, plot="x.png")) is _plan_jax
    assert _path(law.model(), SimpleNamespace(sequential=False, plot=None)) is _plan_jax
