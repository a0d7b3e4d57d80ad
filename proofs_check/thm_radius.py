r"""Cohen, Rosenfeld & Kolter (2019), Theorem 1: the certified L2 radius.

If ``p_A >= pA_lower > pB_upper >= max_{c != A} p_c`` for the Gaussian-smoothed classifier
with noise ``N(0, sigma^2 I)``, its prediction is constant within L2 radius

.. math::
    R = \frac{\sigma}{2}\left(\Phi^{-1}(\underline{p_A}) - \Phi^{-1}(\overline{p_B})\right),

and with ``pB_upper = 1 - pA_lower`` this is ``sigma * Phi^-1(pA_lower)``; no certificate
(abstain, radius 0) when ``pA_lower <= 1/2``.

Symbolic check: with ``Phi(x) = (1 + erf(x / sqrt 2)) / 2``, sympy confirms
``Phi^-1(p) = sqrt 2 erfinv(2p - 1)``, derives ``Phi^-1(1 - p) = -Phi^-1(p)`` from the
oddness of ``erf``, and simplifies the two-class radius at ``pB = 1 - pA`` minus
``sigma Phi^-1(pA)`` to zero. Numeric check: :func:`rstheory.certified_radius` against
``sigma sqrt 2 erfinv(2p - 1)`` in mpmath, for ``p`` from ``1/2 + 1e-12`` to ``1 - 1e-12``.
"""

from __future__ import annotations

import mpmath
import numpy as np
import sympy as sp

import rstheory
from proofs_check._normal_mp import phi_inv_sym, phi_inverse_mp
from proofs_check._registry import CheckResult, max_relative_error, theorem

__all__ = [
    "P_GRID",
    "RTOL_RADIUS",
    "SIGMAS",
    "check_radius_numeric",
    "derive",
    "phi_inverse_mp",
]

# A float64 closed form sigma * ndtri(p) of an exactly representable p: a few hundred ulps.
RTOL_RADIUS = 1e-13

P_GRID = (
    0.5 + 1e-12,
    0.5 + 1e-6,
    0.51,
    0.6,
    0.75,
    0.9,
    0.99,
    0.999,
    1 - 1e-6,
    1 - 1e-9,
    1 - 1e-12,
)
SIGMAS = (0.12, 0.25, 0.5, 1.0)
# (pA_lower, pB_upper) for the two-class form, pB not necessarily 1 - pA.
TWO_CLASS_GRID = ((0.9, 0.05), (0.6, 0.3), (0.999, 1e-6), (0.5 + 1e-9, 0.5 - 1e-9), (0.3, 0.2))
ABSTAIN_GRID = (0.0, 1e-12, 0.25, 0.5)


def derive(radius=None) -> CheckResult:
    r"""The two-class radius at ``pB = 1 - pA`` equals ``sigma * Phi^-1(pA)`` (sympy).

    Args:
      radius: optional replacement for the one-class radius as a function
        ``(pA, sigma, phi_inv) -> sympy expression`` (``phi_inv`` maps a sympy expression
        to ``Phi^-1`` of it), so a wrong formula can be shown to fail.
        Default ``sigma * phi_inv(pA)``.

    Returns:
      :class:`CheckResult` listing the identities that simplified to zero.
    """
    x, y = sp.symbols("x y", real=True)
    p_a = sp.Symbol("p_A", positive=True)
    sigma = sp.Symbol("sigma", positive=True)

    def phi(z):
        return (1 + sp.erf(z / sp.sqrt(2))) / 2

    steps = []
    # 1. Phi(Phi^-1(p)) = p: the erfinv form is the inverse of the normal CDF.
    steps.append(("Phi(sqrt2 erfinv(2p-1)) = p", sp.simplify(phi(phi_inv_sym(p_a)) - p_a) == 0))
    # 2. erf is odd, so erf(-erfinv(y)) = -y; erf being injective, erfinv(-y) = -erfinv(y)
    #    and Phi^-1(1 - p) = sqrt2 erfinv(-(2p - 1)) = -Phi^-1(p).
    steps.append(("erf(-erfinv(y)) = -y", sp.simplify(sp.erf(-sp.erfinv(y)) + y) == 0))
    steps.append(("Phi(-x) = 1 - Phi(x)", sp.simplify(phi(-x) - (1 - phi(x))) == 0))
    odd = {sp.erfinv(1 - 2 * p_a): -sp.erfinv(2 * p_a - 1)}
    # 3. The two-class radius with pB = 1 - pA, the oddness substituted.
    two_class = sigma / 2 * (phi_inv_sym(p_a) - phi_inv_sym(sp.expand(1 - p_a)))
    two_class = two_class.subs(odd)
    one_class = (radius or (lambda p, s, f: s * f(p)))(p_a, sigma, phi_inv_sym)
    steps.append(
        (
            "sigma/2 (Phi^-1(pA) - Phi^-1(1 - pA)) = sigma Phi^-1(pA)",
            sp.simplify(two_class - one_class) == 0,
        )
    )
    failed = [label for label, ok in steps if not ok]
    if failed:
        return CheckResult(False, detail="does not simplify to zero: " + "; ".join(failed))
    return CheckResult(True, detail="; ".join(label for label, _ in steps))


@theorem(
    "radius.cohen2019_thm1",
    statement="With pA_lower > pB_upper the Gaussian-smoothed classifier is constant within "
    "L2 radius sigma/2 (Phi^-1(pA_lower) - Phi^-1(pB_upper)); at pB_upper = 1 - pA_lower "
    "this is sigma Phi^-1(pA_lower); abstain (radius 0) when pA_lower <= 1/2.",
    source="Cohen, Rosenfeld & Kolter (2019), ICML, Theorem 1",
    symbolic=derive,
)
def check_radius_numeric(
    dps: int = 50,
    *,
    p_grid=P_GRID,
    sigmas=SIGMAS,
    rtol: float = RTOL_RADIUS,
    certified_radius=rstheory.certified_radius,
) -> CheckResult:
    """rstheory's radius against mpmath, one- and two-class forms, and exact abstention.

    Abstention must be exact: radius ``0`` for ``p_lower <= 1/2`` (and for
    ``pA_lower <= pB_upper``); any other value counts as an infinite error.
    """
    p = np.array([q for q in p_grid for _ in sigmas])
    s = np.array([sg for _ in p_grid for sg in sigmas])
    one = np.asarray(certified_radius(p, sigma=s))
    pa = np.array([c[0] for c in TWO_CLASS_GRID])
    pb = np.array([c[1] for c in TWO_CLASS_GRID])
    two = np.asarray(certified_radius(pa, sigma=0.5, p_b_upper=pb))
    abstain = np.asarray(certified_radius(np.array(ABSTAIN_GRID), sigma=0.5))
    cases = []
    with mpmath.workdps(dps):
        for pi, si, ri in zip(p, s, one, strict=True):
            ref = mpmath.mpf(si) * phi_inverse_mp(pi)
            cases.append((f"sigma={si:g}, p={float(pi)!r}", ri, ref))
        for pai, pbi, ri in zip(pa, pb, two, strict=True):
            ref = (
                mpmath.mpf(0)
                if pai <= pbi
                else mpmath.mpf(0.5) / 2 * (phi_inverse_mp(pai) - phi_inverse_mp(pbi))
            )
            cases.append((f"two-class pA={float(pai)!r}, pB={float(pbi)!r}", ri, ref))
        for pi, ri in zip(ABSTAIN_GRID, abstain, strict=True):
            cases.append((f"abstain at p={pi!r}", ri, mpmath.mpf(0)))
        return max_relative_error(cases, tolerance=rtol, what="radius vs mpmath")
