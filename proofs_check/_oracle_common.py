"""What the oracle-error checks share: the float64 tolerance, the grids of ``p``, ``eps`` and
``q``, the mpmath forms of the observed probability and of its inverse, the condition scale
of an inverse, the sympy symbols, and the lookup of the functions under test in
:mod:`rstheory.oracle`."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import mpmath
import numpy as np
import sympy as sp

from proofs_check._registry import CheckResult

__all__ = [
    "EPS_GRID",
    "P_GRID",
    "Q_GRID",
    "RTOL_ORACLE",
    "clip01",
    "condition_scale",
    "corrected_mp",
    "exact_cases",
    "f64",
    "inverse_mp",
    "observed_mp",
    "rstheory_oracle",
    "sign_is",
    "sym_K",
    "sym_delta",
    "sym_eps",
    "sym_fn",
    "sym_fp",
    "sym_half",
    "sym_k1",
    "sym_p",
    "sym_q",
    "sym_s",
    "sym_t",
    "symmetric_derivative",
    "symmetric_inverse",
    "symmetric_observed",
]

# The corrections are closed forms of a handful of float64 operations (at most ~8 roundings
# of 2^-53 each): a backward-stable evaluation has a condition-scaled error of about 1e-15,
# and forward maps (non-negative sums) a relative error of the same size. 1e-13, the
# project's tolerance for float64 closed forms, leaves room for any order of the operations
# and is five orders of magnitude below float32 (6e-8), so neither a wrong formula nor a
# float32 computation can pass.
RTOL_ORACLE = 1e-13

# Edges and the worked examples (p = 0.8, 0.55; eps = 0.1, 0.2).
P_GRID = (0.0, 1e-12, 0.3, 0.5, 0.55, 0.8, 1 - 1e-12, 1.0)

EPS_GRID = (0.0, 1e-12, 0.1, 0.2, 0.49, 0.5 - 1e-9)

# q below eps (clipped to 0), around 1/2, above 1 - eps (clipped to 1: 0.95 at eps = 0.1).
Q_GRID = (0.0, 1e-12, 0.1, 0.25, 0.5 - 1e-9, 0.5, 0.5 + 1e-9, 0.64, 0.8, 0.95, 1 - 1e-12, 1.0)

# Symbols. p, eps, fp, fn: probabilities (non-negative); q the observed probability;
# delta > 0 the distance of eps below its limit; t the (signed) offset of q from a threshold;
# k1 = K - 1 >= 1 for K classes.
sym_p, sym_eps, sym_fp, sym_fn = sp.symbols("p epsilon FP FN", nonnegative=True)

sym_q = sp.Symbol("q", nonnegative=True)

sym_delta, sym_s = sp.symbols("delta s", positive=True)

sym_t = sp.Symbol("t", real=True)

sym_k1 = sp.Symbol("k1", integer=True, positive=True)

sym_K = sym_k1 + 1

sym_half = sp.Rational(1, 2)


def rstheory_oracle(name: str) -> Callable:
    """rstheory.oracle's ``name``, imported when a check runs, so that the registry still
    imports (and reports the check as failed) when rstheory lacks the function."""
    from rstheory import oracle

    return getattr(oracle, name)


def observed_mp(p, eps, num_classes: int = 2):
    """``q = p (1 - eps) + (1 - p) eps / (K - 1)`` at the working precision, inputs exact."""
    p, eps = mpmath.mpf(p), mpmath.mpf(eps)
    return p * (1 - eps) + (1 - p) * eps / (num_classes - 1)


def inverse_mp(q, eps, num_classes: int = 2):
    """The unclipped inverse ``(q - eps/(K-1)) / (1 - eps K/(K-1))``."""
    q, eps = mpmath.mpf(q), mpmath.mpf(eps)
    k = num_classes
    return (q - eps / (k - 1)) / (1 - eps * k / (k - 1))


def clip01(x):
    return min(max(x, mpmath.mpf(0)), mpmath.mpf(1))


def corrected_mp(q, eps, num_classes: int = 2):
    """The inverse of :func:`observed_mp`, clipped to ``[0, 1]``.

    Example:
      >>> import mpmath
      >>> with mpmath.workdps(30):
      ...     h, clipped = corrected_mp(0.8, 0.1), corrected_mp(0.95, 0.1)
      >>> print(mpmath.nstr(h, 15), clipped)  # the double 0.8 is taken exactly
      0.875 1.0
    """
    return clip01(inverse_mp(q, eps, num_classes))


def condition_scale(f: Callable, args: tuple) -> tuple:
    """``(f(x), |f(x)| + sum_i |x_i df/dx_i|)`` at the working precision (``mpmath.diff``)."""
    args = tuple(mpmath.mpf(a) for a in args)
    value = f(*args)
    scale = abs(value)
    for i, x in enumerate(args):
        if x == 0:
            continue

        def partial(t, i=i):
            return f(*args[:i], t, *args[i + 1 :])

        scale += abs(x * mpmath.diff(partial, x))
    return value, scale


def exact_cases(cases: Iterable[tuple[str, bool]], tolerance: float, *, what: str) -> CheckResult:
    """A yes/no property over ``(label, holds)``: error ``0`` if all hold, else ``inf``."""
    cases = list(cases)
    failed = [label for label, ok in cases if not ok]
    detail = f"{what}: {len(cases)} cases hold"
    if failed:
        detail = f"{what}: fails at {len(failed)} of {len(cases)}, e.g. {failed[0]}"
    return CheckResult(not failed, math.inf if failed else 0.0, tolerance, detail)


def f64(values) -> np.ndarray:
    return np.asarray(values, dtype=np.float64)


def sign_is(expr, sign) -> bool:
    return sp.simplify(sp.sign(sp.simplify(expr)) - sign) == 0


def symmetric_observed(p, eps):
    """Eq. 5's observed probability ``eps + p(1 - 2 eps)`` (sympy or numbers)."""
    return eps + p * (1 - 2 * eps)


def symmetric_inverse(q, eps):
    """Its inverse ``(q - eps)/(1 - 2 eps)``, unclipped (sympy or numbers)."""
    return (q - eps) / (1 - 2 * eps)


def symmetric_derivative(q, eps):
    """``d/deps`` of the inverse, ``(2q - 1)/(1 - 2 eps)^2`` (sympy or numbers)."""
    return (2 * q - 1) / (1 - 2 * eps) ** 2
