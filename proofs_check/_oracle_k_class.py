"""``oracle.k_class_uniform``: the oracle-error correction for ``K`` classes with uniform
confusion, its inverse and its derivative (derived for this project)."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction

import mpmath
import numpy as np
import sympy as sp

from proofs_check._oracle_common import (
    P_GRID,
    RTOL_ORACLE,
    clip01,
    condition_scale,
    exact_cases,
    f64,
    inverse_mp,
    observed_mp,
    rstheory_oracle,
    sign_is,
    sym_delta,
    sym_eps,
    sym_K,
    sym_k1,
    sym_p,
    sym_q,
    sym_t,
    symmetric_derivative,
    symmetric_inverse,
    symmetric_observed,
)
from proofs_check._registry import CheckResult, max_relative_error, theorem
from proofs_check._registry import combine as _combine
from proofs_check._registry import max_scaled_error as _max_scaled_error
from proofs_check._registry import simplifies_to_zero as _zero
from proofs_check._registry import symbolic_result as _symbolic_result

__all__ = [
    "NUM_CLASSES",
    "check_k_class_numeric",
    "check_k_class_symbolic",
]

NUM_CLASSES = (2, 3, 10)


def _default_observed_k(p, eps, k):
    return p * (1 - eps) + (1 - p) * eps / (k - 1)


def _default_inverse_k(q, eps, k):
    return (q - eps / (k - 1)) / (1 - eps * k / (k - 1))


def _default_derivative_k(q, eps, k):
    return (k * q / (k - 1) - 1 / (k - 1)) / (1 - eps * k / (k - 1)) ** 2


def check_k_class_symbolic(
    observed: Callable | None = None,
    inverse: Callable | None = None,
    derivative: Callable | None = None,
) -> CheckResult:
    """The K-class identity, inverse, validity range and derivative, symbolic in ``K >= 2``.

    ``K = k1 + 1`` with ``k1`` a positive integer. The oracle keeps a label with probability
    ``1 - eps`` and otherwise picks one of the other ``K - 1`` labels uniformly.

    Args:
      observed, inverse, derivative: optional replacements ``(x, eps, K) -> sympy
        expression`` for the stated forms.
    """
    q_stated = (observed or _default_observed_k)(sym_p, sym_eps, sym_K)
    h = (inverse or _default_inverse_k)(sym_q, sym_eps, sym_K)
    dh = (derivative or _default_derivative_k)(sym_q, sym_eps, sym_K)
    # total probability: true label y (prob p) kept with 1 - eps; a true label y' != y (total
    # prob 1 - p, however split among the K - 1 others) goes to y with eps / (K - 1).
    total = sym_p * (1 - sym_eps) + (1 - sym_p) * (sym_eps / (sym_K - 1))
    solutions = sp.solve(sp.Eq(sym_q, total), sym_p)
    denominator = 1 - sym_eps * sym_K / (sym_K - 1)
    inside = {sym_eps: (sym_K - 1) / sym_K - sym_delta, sym_q: 1 / sym_K + sym_t}
    binary = {sym_k1: 1}
    steps = [
        ("P[O = y] = p(1 - eps) + (1 - p) eps/(K - 1)", _zero(total - q_stated)),
        (
            "solve for p: (q - eps/(K-1))/(1 - eps K/(K-1)), one root",
            len(solutions) == 1 and _zero(solutions[0] - h),
        ),
        ("h(q(p, eps), eps) = p", _zero(h.subs(sym_q, total) - sym_p)),
        (
            "1 - eps K/(K-1) = K/(K-1) ((K-1)/K - eps): > 0 iff eps < (K-1)/K",
            _zero(denominator - sym_K / (sym_K - 1) * ((sym_K - 1) / sym_K - sym_eps))
            and sp.simplify(denominator.subs(inside)).is_positive is True
            and _zero(denominator.subs(sym_eps, (sym_K - 1) / sym_K)),
        ),
        ("dh/deps = (Kq/(K-1) - 1/(K-1))/(1 - eps K/(K-1))^2", _zero(sp.diff(h, sym_eps) - dh)),
        (
            "sign(dh/deps) = sign(q - 1/K) for eps < (K-1)/K",
            sign_is(dh.subs(inside), sp.sign(sym_t)),
        ),
        (
            "K = 2 gives the binary identity, inverse and derivative",
            _zero(q_stated.subs(binary) - symmetric_observed(sym_p, sym_eps))
            and _zero(h.subs(binary) - symmetric_inverse(sym_q, sym_eps))
            and _zero(dh.subs(binary) - symmetric_derivative(sym_q, sym_eps)),
        ),
    ]
    return _symbolic_result(steps)


@theorem(
    "oracle.k_class_uniform",
    statement="With K classes and an oracle that keeps the label with probability 1 - eps "
    "and otherwise picks one of the K - 1 others uniformly, q = p(1 - eps) + (1 - p) "
    "eps/(K - 1); for eps < (K - 1)/K (positive denominator) p = (q - eps/(K-1))/(1 - eps "
    "K/(K-1)), whose eps-derivative (Kq/(K-1) - 1/(K-1))/(1 - eps K/(K-1))^2 is positive "
    "iff q > 1/K; K = 2 gives the binary case.",
    source="This project's own derivation (multi-class version), not known to be in "
    "Seferis et al. (2025), EMNLP",
    symbolic=check_k_class_symbolic,
)
def check_k_class_numeric(
    dps: int = 50,
    *,
    num_classes=NUM_CLASSES,
    p_grid=P_GRID,
    rtol: float = RTOL_ORACLE,
    observed_probability: Callable | None = None,
    corrected_probability: Callable | None = None,
    correction_derivative: Callable | None = None,
) -> CheckResult:
    """For each ``K``: the forward map (relative), the clipped inverse and the derivative
    (condition-scaled, the derivative against ``mpmath.diff``), the derivative's sign against
    ``q - 1/K``, ``num_classes=2`` equal to the default, and ``eps >= (K-1)/K`` rejected with
    ``ValueError`` by the inverse and the derivative."""
    observed_probability = observed_probability or rstheory_oracle("observed_probability")
    corrected_probability = corrected_probability or rstheory_oracle("corrected_probability")
    correction_derivative = correction_derivative or rstheory_oracle("correction_derivative")
    forward, inverse, deriv, signs, same, rejects = [], [], [], [], [], []
    for k in num_classes:
        limit = (k - 1) / k
        eps_grid = (0.0, 1e-12, 0.1, 0.3, 0.98 * limit, limit - 1e-9)
        q_grid = (0.0, 1e-12, 0.5 / k, 1 / k - 1e-9, 1 / k + 1e-9, 0.5, 0.8, 0.95, 1.0)
        pe = [(p, e) for p in p_grid for e in eps_grid]
        qe = [(q, e) for q in q_grid for e in eps_grid]
        pp, ep = f64([x[0] for x in pe]), f64([x[1] for x in pe])
        qq, eq = f64([x[0] for x in qe]), f64([x[1] for x in qe])
        q_got = f64(observed_probability(pp, eps=ep, num_classes=k))
        h_got = f64(corrected_probability(qq, eps=eq, num_classes=k))
        d_got = f64(correction_derivative(qq, eps=eq, num_classes=k))
        if k == 2:
            same += [
                ("observed", np.array_equal(q_got, f64(observed_probability(pp, eps=ep)))),
                ("corrected", np.array_equal(h_got, f64(corrected_probability(qq, eps=eq)))),
                ("derivative", np.array_equal(d_got, f64(correction_derivative(qq, eps=eq)))),
            ]
        # the smallest double at or above (K - 1)/K: outside the validity range
        outside = (
            limit if Fraction(limit) >= Fraction(k - 1, k) else float(np.nextafter(limit, 2.0))
        )
        for name, fn in (
            ("corrected", corrected_probability),
            ("derivative", correction_derivative),
        ):
            try:
                fn(f64([0.5]), eps=f64([outside]), num_classes=k)
                rejects.append((f"{name}(0.5, eps={outside!r}, K={k}) returned", False))
            except ValueError:
                rejects.append((f"{name} rejects eps={outside!r} at K={k}", True))

        def dh(q, e, k=k):
            return mpmath.diff(lambda t, q=q: inverse_mp(q, t, k), e)

        with mpmath.workdps(dps):
            for (p, e), g in zip(pe, q_got, strict=True):
                forward.append((f"K={k}, p={p!r}, eps={e!r}", g, observed_mp(p, e, k)))
            for (q, e), g, d in zip(qe, h_got, d_got, strict=True):
                ref, scale = condition_scale(lambda q_, e_, k=k: inverse_mp(q_, e_, k), (q, e))
                inverse.append((f"h_K={k}({q!r}, {e!r}) = {float(g)!r}", g, clip01(ref), scale))
                ref, scale = condition_scale(dh, (q, e))
                deriv.append((f"dh_K={k}/deps({q!r}, {e!r}) = {float(d)!r}", d, ref, scale))
                signs.append(
                    (f"K={k}, q={q!r}, eps={e!r}: {float(d)!r}", np.sign(d) == np.sign(q - 1 / k))
                )
    with mpmath.workdps(dps):
        parts = [
            max_relative_error(forward, tolerance=rtol, what="q_K vs mpmath, relative"),
            _max_scaled_error(inverse, tolerance=rtol, what="h_K vs mpmath, condition-scaled"),
            _max_scaled_error(
                deriv, tolerance=rtol, what="dh_K/deps vs mpmath.diff, condition-scaled"
            ),
        ]
    parts += [
        exact_cases(signs, rtol, what="sign(dh_K/deps) = sign(q - 1/K)"),
        exact_cases(same, rtol, what="num_classes=2 equals the default"),
        exact_cases(rejects, rtol, what="eps >= (K-1)/K raises ValueError"),
    ]
    return _combine(parts, tolerance=rtol)
