r"""Scaling laws in the sample size ``n``: the radius cap, the exact expectations, the
first-order (delta-method) law, the closed forms of Seferis, Kollias & Cheng (2024), ECAI,
(arXiv 2404.17371, Eqs. 1-3) and the
distribution-free bound. Eight registered theorems (``alpha = 0.001`` unless stated;
``z_1s = Phi^-1(1 - alpha)``, ``z_2s = Phi^-1(1 - alpha/2)``):

``scaling.radius_cap``
  ``P[Bin(n, p) >= n] = p^n``, so the one-sided Clopper-Pearson bound at ``k = n`` is
  ``alpha^(1/n)``; ``P[Bin(n, p) >= k] - p^n`` is a sum of non-negative terms, so every
  ``L(k, n) <= alpha^(1/n)``, and ``Phi^-1`` being increasing,
  ``R_max(n) = sigma Phi^-1(alpha^(1/n))`` (derived for this project).
``scaling.exact_expectation``
  ``E[R_n] = E_p sum_{k=0}^n C(n, k) p^k (1 - p)^(n-k) sigma Phi^-1(L(k, n)) 1{L > 1/2}``,
  and likewise the certified accuracy ``Pr[R_n >= r]`` and the abstention rate
  ``Pr[L <= 1/2]``. The reference is built here without rstheory: Clopper-Pearson roots by
  Newton in mpmath, the full sum over ``k``, and ``E_p[C(n,k) p^k (1-p)^(n-k)]`` in closed
  form (beta-binomial; or ``mpmath.quad`` over ``p``, which agrees to the working precision).
``scaling.first_order_law``
  ``d Phi^-1(p)/dp = 1/phi(Phi^-1(p))``, hence with ``L ~ p - z sqrt(p(1-p)/n)``,
  ``R_n(p) = sigma[Phi^-1(p) - z sqrt(p(1-p)/n) / phi(Phi^-1(p))] + O(1/n)``: the error
  against the exact expectation at a point mass falls like ``1/n`` (``z = z_1s``).
``scaling.p2_eq1_shore``
  With Shore's ``Phi^-1(p) ~ 5.063 h(p)``, ``h = p^0.135 - (1-p)^0.135``, the same
  expansion gives their Eq. (1); both exponents of ``h'(p) sqrt(p(1-p)) / 0.135`` are
  ``0.135 - 1/2 = -0.365``, so the printed ``(1-p)^-0.135`` of the second term is a typo
  (derived for this project: 1.1015 with -0.365, 1.1658 as printed).
``scaling.p2_eq2_eq3``
  Eq. (2) ``r = 1 - 1.64 z_2s / sqrt(n)`` and Eq. (3) ``Delta acc <= z_2s / sqrt(n)`` as
  printed; Eq. (3) follows from ``sqrt(p(1-p)) <= 1/2`` and a density ``<= 2``.
``scaling.first_order_constant``
  Averaging the first-order law: ``K = E[sqrt(p(1-p))/phi(Phi^-1(p))] / E[Phi^-1(p)]``;
  2.024 for ``U[0.5, 1]``, where ``E[Phi^-1(p)] = 2 phi(0)`` (derived for this project).
  This is *not* Eq. (2)'s 1.64, whose provenance is unresolved.
``scaling.distribution_free_bound``
  For any law of ``p`` on ``[beta, p_max]``, to first order
  ``E[R_n]/E[R_inf] >= 1 - sup K(p) z / sqrt(n)``, ``K(p) = sqrt(p(1-p)) /
  (phi(Phi^-1(p)) Phi^-1(p))``: a ratio of averages is at least the least pointwise ratio
  (derived for this project; ``sup_[0.7, 0.99] K = K(0.7) = 2.513``).
``scaling.distribution_free_exact``
  The same bound against the *exact* expected-radius ratios: it holds up to a stated
  second-order allowance ``A / n`` (it is a first-order statement, and at a point mass at
  ``beta``, where the sup is attained, the exact ratio falls short by about ``0.94 / n``).

Every check takes the functions under test as keyword arguments; left out, they are
:mod:`rstheory.scaling`'s, looked up when the check runs. The numeric checks work under
``mpmath.workdps(dps)`` and leave the global precision alone.

The theorems live in one private module per concept, imported here in registration order:
``_scaling_cap`` (the radius cap), ``_scaling_expectation`` (the exact expectations),
``_scaling_point_radius`` (the point radius to first order, exact quantile and Shore's),
``_scaling_ratio`` (the average-radius ratio: Eqs. 2-3 and the constant ``K``) and
``_scaling_distribution_free`` (the distribution-free bound); the mpmath reference library
they compare with is ``_scaling_mp``, beside ``_binomial_mp`` and ``_normal_mp``.
"""

# The theorem modules register their entries on import: they are imported in registration
# order, which isort must leave alone.
# isort: off
from proofs_check._scaling_common import (
    ALPHA,
    RTOL_CLOSED_FORM,
    THEORY_K,
)
from proofs_check._normal_mp import (
    phi_inverse_mp,
)
from proofs_check._scaling_mp import (
    MpDist,
    constant_mp,
    cp_lower_mp,
    default_dists,
    expectation_mp,
    k_parts_mp,
    k_pointwise_mp,
    radius_table_mp,
    shore_eq1_mp,
    sup_k_mp,
)
from proofs_check._scaling_cap import (
    CAP_NS,
    CAP_NS_LARGE,
    CAP_SYMBOLS,
    THEORY_CAP,
    check_cap_numeric,
    check_cap_symbolic,
)
from proofs_check._scaling_expectation import (
    ATOL_EXPECTATION,
    EXPECTATION_NS,
    check_expectation_numeric,
)
from proofs_check._scaling_point_radius import (
    FIRST_ORDER_NS,
    FIRST_ORDER_PS,
    SLOPE_WINDOW,
    check_first_order_numeric,
    check_first_order_symbolic,
    check_shore_numeric,
    check_shore_symbolic,
)
from proofs_check._scaling_ratio import (
    RTOL_K_SINGULAR,
    RTOL_K_SMOOTH,
    check_constant_numeric,
    check_constant_symbolic,
    check_eq2_eq3_numeric,
    check_eq3_symbolic,
)
from proofs_check._scaling_distribution_free import (
    INTERVALS,
    SECOND_ORDER_ALLOWANCE,
    check_distribution_free_exact,
    check_distribution_free_numeric,
    check_distribution_free_symbolic,
)
# isort: on

__all__ = [
    "ALPHA",
    "ATOL_EXPECTATION",
    "CAP_NS",
    "CAP_NS_LARGE",
    "CAP_SYMBOLS",
    "EXPECTATION_NS",
    "FIRST_ORDER_NS",
    "FIRST_ORDER_PS",
    "INTERVALS",
    "RTOL_CLOSED_FORM",
    "RTOL_K_SINGULAR",
    "RTOL_K_SMOOTH",
    "SECOND_ORDER_ALLOWANCE",
    "SLOPE_WINDOW",
    "THEORY_CAP",
    "THEORY_K",
    "MpDist",
    "check_cap_numeric",
    "check_cap_symbolic",
    "check_constant_numeric",
    "check_constant_symbolic",
    "check_distribution_free_exact",
    "check_distribution_free_numeric",
    "check_distribution_free_symbolic",
    "check_eq2_eq3_numeric",
    "check_eq3_symbolic",
    "check_expectation_numeric",
    "check_first_order_numeric",
    "check_first_order_symbolic",
    "check_shore_numeric",
    "check_shore_symbolic",
    "constant_mp",
    "cp_lower_mp",
    "default_dists",
    "expectation_mp",
    "k_parts_mp",
    "k_pointwise_mp",
    "phi_inverse_mp",
    "radius_table_mp",
    "shore_eq1_mp",
    "sup_k_mp",
]
