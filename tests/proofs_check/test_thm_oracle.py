"""Oracle-correction checks: each passes for rstheory.oracle and for an independent numpy
implementation, and each fails for a deliberately wrong formula or implementation."""

from fractions import Fraction
from typing import NamedTuple

import mpmath
import numpy as np
import pytest
from scipy import stats

import proofs_check
from proofs_check import thm_oracle as orc
from tests.tolerances import RTOL_CP_REFERENCE, RTOL_F64_CLOSED_FORM, RTOL_WORKED_EXAMPLE

ORACLE_THEOREMS = (
    "oracle.symmetric_identity",
    "oracle.symmetric_inverse",
    "oracle.correction_derivative",
    "oracle.abstain_invariance",
    "oracle.asymmetric_counterexample",
    "oracle.k_class_uniform",
    "oracle.error_calibration",
)

# --------------------------------------------------------------------------- numpy references


def _check_eps(eps, k):
    if any(Fraction(float(e)) >= Fraction(k - 1, k) for e in np.ravel(eps)):
        raise ValueError(f"eps must lie in [0, (K - 1)/K) for num_classes={k}")


def np_observed(p, eps, *, num_classes=2):
    p, eps, k = np.asarray(p, float), np.asarray(eps, float), num_classes
    return p * (1 - eps) + (1 - p) * eps / (k - 1)


def np_corrected(q, eps, *, num_classes=2):
    _check_eps(eps, num_classes)
    q, eps, k = np.asarray(q, float), np.asarray(eps, float), num_classes
    return np.clip((q - eps / (k - 1)) / (1 - eps * k / (k - 1)), 0.0, 1.0)


def np_derivative(q, eps, *, num_classes=2):
    _check_eps(eps, num_classes)
    q, eps, k = np.asarray(q, float), np.asarray(eps, float), num_classes
    return (k * q - 1) / (k - 1) / (1 - eps * k / (k - 1)) ** 2


def np_observed_asymmetric(p, *, eps_fp, eps_fn):
    p = np.asarray(p, float)
    return p * (1 - np.asarray(eps_fn)) + (1 - p) * np.asarray(eps_fp)


def np_lower_bound(q_lower, *, eps_fp, eps_fn=None):
    fn = 0.0 if eps_fn is None else np.asarray(eps_fn, float)
    return np.clip((np.asarray(q_lower, float) - eps_fp) / (1 - fn - eps_fp), 0.0, 1.0)


class _Bound(NamedTuple):
    eps_upper: np.ndarray
    alpha: np.ndarray


def scipy_estimate_error(errors, m, *, alpha):
    errors, m, alpha = np.broadcast_arrays(errors, m, alpha)
    with np.errstate(all="ignore"):
        upper = stats.beta.isf(alpha, errors + 1, np.maximum(m - errors, 1))
    return _Bound(np.where(errors == m, 1.0, upper), alpha)


NUMPY = {
    "observed_probability": np_observed,
    "corrected_probability": np_corrected,
    "correction_derivative": np_derivative,
    "observed_probability_asymmetric": np_observed_asymmetric,
    "corrected_lower_bound": np_lower_bound,
    "estimate_error": scipy_estimate_error,
}

# (numeric check, the functions it takes, tolerance)
NUMERIC = {
    "identity": (orc.check_identity_numeric, ("observed_probability",), RTOL_F64_CLOSED_FORM),
    "inverse": (
        orc.check_inverse_numeric,
        ("observed_probability", "corrected_probability"),
        RTOL_F64_CLOSED_FORM,
    ),
    "derivative": (orc.check_derivative_numeric, ("correction_derivative",), RTOL_F64_CLOSED_FORM),
    "abstain": (orc.check_abstain_numeric, ("corrected_probability",), RTOL_F64_CLOSED_FORM),
    "asymmetric": (
        orc.check_asymmetric_numeric,
        ("observed_probability_asymmetric", "corrected_lower_bound"),
        RTOL_F64_CLOSED_FORM,
    ),
    "k_class": (
        orc.check_k_class_numeric,
        ("observed_probability", "corrected_probability", "correction_derivative"),
        RTOL_F64_CLOSED_FORM,
    ),
    "calibration": (orc.check_calibration_numeric, ("estimate_error",), RTOL_CP_REFERENCE),
}
SYMBOLIC = {
    "identity": orc.check_identity_symbolic,
    "inverse": orc.check_inverse_symbolic,
    "derivative": orc.check_derivative_symbolic,
    "abstain": orc.check_abstain_symbolic,
    "asymmetric": orc.check_asymmetric_symbolic,
    "k_class": orc.check_k_class_symbolic,
    "calibration": orc.check_calibration_symbolic,
}


def _numeric(name, **replace):
    check, takes, rtol = NUMERIC[name]
    funcs = {f: replace.get(f, NUMPY[f]) for f in takes}
    return check(50, rtol=rtol, **funcs)


# --------------------------------------------------------------------------- passing


def test_every_oracle_theorem_is_registered_with_both_checks_and_a_source():
    registered = {t.name: t for t in proofs_check.theorems()}
    for name in ORACLE_THEOREMS:
        t = registered[name]
        assert t.symbolic is not None and t.numeric is not None
        assert t.statement and t.source
    assert "2509.16088" in registered["oracle.symmetric_identity"].source
    assert "Third-party" in registered["oracle.asymmetric_counterexample"].source
    assert "own derivation" in registered["oracle.k_class_uniform"].source


@pytest.mark.parametrize("name", sorted(SYMBOLIC))
def test_derivation_holds(name):
    result = SYMBOLIC[name]()
    assert result.passed, result.detail


@pytest.mark.parametrize("name", sorted(NUMERIC))
def test_rstheory_oracle_matches_mpmath(name):
    check, _, rtol = NUMERIC[name]
    result = check(50, rtol=rtol)
    assert result.passed, result.detail
    assert result.max_error <= rtol


@pytest.mark.parametrize("name", sorted(NUMERIC))
def test_numeric_check_passes_for_an_independent_numpy_implementation(name):
    """The same checks accept a plain numpy/scipy implementation: they are not rigged."""
    result = _numeric(name)
    assert result.passed, result.detail


def test_rstheory_reproduces_the_worked_examples():
    from rstheory import oracle

    assert float(oracle.observed_probability(0.8, eps=0.1)) == pytest.approx(
        0.74, rel=RTOL_WORKED_EXAMPLE
    )
    assert float(oracle.corrected_probability(0.8, eps=0.1)) == pytest.approx(
        0.875, rel=RTOL_WORKED_EXAMPLE
    )
    assert float(oracle.correction_derivative(0.8, eps=0.1)) == pytest.approx(
        0.9375, rel=RTOL_WORKED_EXAMPLE
    )
    assert float(oracle.corrected_probability(0.95, eps=0.1)) == 1.0  # 1.0625 clipped
    q = float(oracle.observed_probability_asymmetric(0.55, eps_fp=0.2, eps_fn=0.0))
    assert q == pytest.approx(0.64, rel=RTOL_WORKED_EXAMPLE) and q > 0.55
    assert float(oracle.corrected_lower_bound(q, eps_fp=0.2)) == pytest.approx(
        0.55, rel=RTOL_WORKED_EXAMPLE
    )


def test_run_all_passes_for_the_whole_registry():
    reports = proofs_check.run_all()
    failed = {r.theorem.name: (r.symbolic, r.numeric) for r in reports if not r.passed}
    assert not failed
    assert set(ORACLE_THEOREMS) <= {r.theorem.name for r in reports}


def test_checks_leave_global_mpmath_precision_alone():
    before = mpmath.mp.dps
    _numeric("derivative")
    _numeric("asymmetric")
    assert mpmath.mp.dps == before


def test_condition_scaled_error_demands_exactness_at_zero_scale_and_rejects_nan():
    with mpmath.workdps(30):
        exact = proofs_check.max_scaled_error(
            [("a", 0.0, mpmath.mpf(0), 0)], tolerance=1e-13, what="x"
        )
        off = proofs_check.max_scaled_error(
            [("b", 1e-300, mpmath.mpf(0), 0)], tolerance=1e-13, what="x"
        )
        nan = proofs_check.max_scaled_error(
            [("c", float("nan"), mpmath.mpf(1), 1)], tolerance=1e-13, what="x"
        )
    assert exact.passed and not off.passed and not nan.passed
    assert nan.max_error == float("inf") and "c" in nan.detail


# --------------------------------------------------------------------------- failing: symbolic


@pytest.mark.parametrize(
    ("name", "kwargs", "mentions"),
    [
        pytest.param(
            "identity",
            {"observed": lambda p, e: e + p * (1 - e)},
            "p(1 - eps)",
            id="q=eps+p(1-eps)",
        ),
        pytest.param(
            "inverse", {"inverse": lambda q, e: (q - e) / (1 - e)}, "solve", id="h=(q-eps)/(1-eps)"
        ),
        pytest.param(
            "derivative",
            {"derivative": lambda q, e: (1 - 2 * q) / (1 - 2 * e) ** 2},
            "sign",
            id="wrong-sign",
        ),
        pytest.param(
            "abstain",
            {"inverse": lambda q, e: (q - e) / (1 - e)},
            "h - 1/2",
            id="h=(q-eps)/(1-eps)",
        ),
        pytest.param("asymmetric", {"sound_bound": lambda q, fp: q}, "<= 0", id="forgets-FP"),
        pytest.param(
            "asymmetric", {"sound_bound": lambda q, fp: q - fp}, "0.55", id="forgets-denominator"
        ),
        pytest.param(
            "k_class",
            {"observed": lambda p, e, k: p * (1 - e) + (1 - p) * e / k},
            "P[O = y]",
            id="eps/K",
        ),
        pytest.param(
            "k_class",
            {"derivative": lambda q, e, k: (1 - k * q) / (k - 1) / (1 - e * k / (k - 1)) ** 2},
            "sign",
            id="wrong-sign",
        ),
    ],
)
def test_derivation_rejects_a_wrong_formula(name, kwargs, mentions):
    result = SYMBOLIC[name](**kwargs)
    assert not result.passed
    assert mentions in result.detail


# --------------------------------------------------------------------------- failing: numeric


def _unchecked(fn):
    """``fn`` without the eps-range check (it returns inf or negative values past (K-1)/K)."""

    def wrapped(q, eps, *, num_classes=2):
        q, eps, k = np.asarray(q, float), np.asarray(eps, float), num_classes
        with np.errstate(all="ignore"):
            if fn is np_corrected:
                return np.clip((q - eps / (k - 1)) / (1 - eps * k / (k - 1)), 0.0, 1.0)
            return (k * q - 1) / (k - 1) / (1 - eps * k / (k - 1)) ** 2

    return wrapped


WRONG = [
    pytest.param(
        "identity",
        {
            "observed_probability": lambda p, eps, num_classes=2: (
                np.asarray(eps) + np.asarray(p) * (1 - np.asarray(eps))
            )
        },
        id="q=eps+p(1-eps)",
    ),
    pytest.param(
        "identity",
        {
            "observed_probability": lambda p, eps, num_classes=2: np_observed(p, eps).astype(
                np.float32
            )
        },
        id="float32",
    ),
    pytest.param(
        "inverse",
        {
            "corrected_probability": lambda q, eps, num_classes=2: (
                (np.asarray(q) - eps) / (1 - 2 * np.asarray(eps))
            )
        },
        id="no-clip",
    ),
    pytest.param(
        "inverse",
        {
            "corrected_probability": lambda q, eps, num_classes=2: np.clip(
                (np.asarray(q) - eps) / (1 - np.asarray(eps)), 0, 1
            )
        },
        id="h=(q-eps)/(1-eps)",
    ),
    pytest.param(
        "derivative",
        {"correction_derivative": lambda q, eps, num_classes=2: -np_derivative(q, eps)},
        id="wrong-sign",
    ),
    pytest.param(
        "derivative",
        {
            "correction_derivative": lambda q, eps, num_classes=2: (
                (2 * np.asarray(q) - 1) / (1 - 2 * np.asarray(eps))
            )
        },
        id="denominator-not-squared",
    ),
    pytest.param(
        "abstain",
        {
            "corrected_probability": lambda q, eps, num_classes=2: np.clip(
                (np.asarray(q) - eps) / (1 - np.asarray(eps)), 0, 1
            )
        },
        id="h=(q-eps)/(1-eps)",
    ),
    pytest.param(
        "abstain",
        {
            "corrected_probability": lambda q, eps, num_classes=2: np_corrected(q, eps).astype(
                np.float32
            )
        },
        id="float32-rounds-onto-1/2",
    ),
    pytest.param(
        "asymmetric",
        {"corrected_lower_bound": lambda q, eps_fp, eps_fn=None: np.clip(q, 0, 1)},
        id="forgets-FP",
    ),
    pytest.param(
        "asymmetric",
        {
            "corrected_lower_bound": lambda q, eps_fp, eps_fn=None: np.clip(
                np.asarray(q) - eps_fp, 0, 1
            )
        },
        id="forgets-denominator",
    ),
    pytest.param(
        "asymmetric",
        {
            "observed_probability_asymmetric": lambda p, eps_fp, eps_fn: np_observed_asymmetric(
                p, eps_fp=eps_fn, eps_fn=eps_fp
            )
        },
        id="FP-FN-swapped",
    ),
    pytest.param(
        "k_class",
        {
            "observed_probability": lambda p, eps, num_classes=2: np_observed(
                p, eps, num_classes=num_classes + 1
            )
        },
        id="eps/K",
    ),
    pytest.param(
        "k_class",
        {
            "correction_derivative": lambda q, eps, num_classes=2: (
                (num_classes - 1) * np_derivative(q, eps, num_classes=num_classes)
            )
        },
        id="missing-1/(K-1)",
    ),
    pytest.param(
        "k_class",
        {
            "corrected_probability": _unchecked(np_corrected),
            "correction_derivative": _unchecked(np_derivative),
        },
        id="accepts-eps-past-(K-1)/K",
    ),
    pytest.param(
        "calibration",
        {
            "estimate_error": lambda errors, m, alpha: scipy_estimate_error(
                errors, m, alpha=np.asarray(alpha) / 2
            )
        },
        id="two-sided-alpha",
    ),
    pytest.param(
        "calibration",
        {
            "estimate_error": lambda errors, m, alpha: _Bound(
                np.asarray(errors) / np.asarray(m), alpha
            )
        },
        id="point-estimate",
    ),
]


@pytest.mark.parametrize(("name", "replace"), WRONG)
def test_numeric_check_catches_a_wrong_implementation(name, replace):
    result = _numeric(name, **replace)
    assert not result.passed
    assert result.max_error > NUMERIC[name][2]


def test_a_crashing_function_under_test_is_a_failed_report():
    def missing(*args, **kwargs):
        raise AttributeError("no such function")

    theorem = next(t for t in proofs_check.theorems() if t.name == "oracle.symmetric_identity")
    report = proofs_check.run(
        proofs_check.Theorem(
            "test.oracle_missing",
            theorem.statement,
            theorem.source,
            theorem.symbolic,
            lambda dps: orc.check_identity_numeric(dps, observed_probability=missing),
        )
    )
    assert not report.passed and report.symbolic.passed
    assert "AttributeError" in report.numeric.detail


# --------------------------------------------------------------------------- slow


@pytest.mark.slow
def test_rstheory_oracle_on_dense_grids_at_80_digits():
    dense_p = tuple(np.linspace(0.0, 1.0, 41).tolist())
    dense_eps = (*np.linspace(0.0, 0.5, 26)[:-1].tolist(), 0.5 - 1e-12)
    dense_q = (*np.linspace(0.0, 1.0, 41).tolist(), *orc.ABSTAIN_Q_GRID)
    rtol = RTOL_F64_CLOSED_FORM
    results = [
        orc.check_identity_numeric(80, p_grid=dense_p, eps_grid=dense_eps, rtol=rtol),
        orc.check_inverse_numeric(
            80, q_grid=dense_q, p_grid=dense_p, eps_grid=dense_eps, rtol=rtol
        ),
        orc.check_derivative_numeric(80, q_grid=dense_q, eps_grid=dense_eps, rtol=rtol),
        orc.check_abstain_numeric(80, q_grid=dense_q, eps_grid=dense_eps, rtol=rtol),
        orc.check_k_class_numeric(80, num_classes=(2, 3, 4, 10, 100), p_grid=dense_p, rtol=rtol),
    ]
    for result in results:
        assert result.passed, result.detail


@pytest.mark.slow
def test_rstheory_error_calibration_on_a_dense_grid():
    grid = ((1, 3, 5, 30, 300, 3000, 10**6), (1e-12, 1e-6, 1e-3, 0.01, 0.05, 0.25))
    result = orc.check_calibration_numeric(50, grid=grid, rtol=RTOL_CP_REFERENCE)
    assert result.passed, result.detail


@pytest.mark.slow
def test_calibration_tail_derivative_identity_up_to_m_14():
    result = orc.check_calibration_symbolic(max_m=14)
    assert result.passed, result.detail
