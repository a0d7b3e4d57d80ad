r"""Oracle-error correction: what the votes of an imperfect oracle say about the true labels.

A smoothed vision-language model is certified through an oracle ``O`` that maps each
generated response to a label. The votes estimate ``q = P[O(F(x + delta)) = y]``; the
certificate needs ``p = P[y*(F(x + delta)) = y]`` for the true label ``y*``. Seven
registered theorems: the first four are Seferis et al. 2025, "Randomized Smoothing Meets
Vision-Language Models" (arXiv 2509.16088), EMNLP 2025, Eq. 5 and Th. 4.1-4.2; the fifth
is a third-party counterexample to them; the sixth is this project's own K-class
derivation; the seventh is the Clopper-Pearson bound on the oracle's error rate.

``oracle.symmetric_identity``
  With a symmetric flip probability ``eps``: ``q = p(1 - eps) + (1 - p) eps = eps + p(1 - 2 eps)``.
``oracle.symmetric_inverse``
  ``h(q, eps) = (q - eps) / (1 - 2 eps)`` inverts it; ``h > 1`` when ``q > 1 - eps``
  (``h(0.95, 0.1) = 1.0625``), so the correction is clipped to ``[0, 1]``.
``oracle.correction_derivative``
  ``dh/deps = (2q - 1) / (1 - 2 eps)^2``: positive iff ``q > 1/2``.
``oracle.abstain_invariance``
  ``h(q, eps) - 1/2 = (q - 1/2) / (1 - 2 eps)``: for ``eps < 1/2`` the correction never
  changes the certify/abstain decision.
``oracle.asymmetric_counterexample``
  A bound on the overall error rate is not enough: ``p = 0.55``, false-positive rate 0.2,
  false-negative rate 0 give ``q = 0.64 > p`` at overall error 0.09. The sound correction
  ``(q - FP) / (1 - FP) <= p`` for every false-negative rate (a third-party critique).
``oracle.k_class_uniform``
  ``K`` classes, uniform confusion: ``q = p(1 - eps) + (1 - p) eps / (K - 1)``, its inverse
  for ``eps < (K - 1)/K`` and its derivative, positive iff ``q > 1/K`` (this project's
  derivation).
``oracle.error_calibration``
  The oracle's error rate from ``errors`` mistakes in ``m`` labelled checks: the one-sided
  Clopper-Pearson upper bound, the ``p`` with ``P[Bin(m, p) <= errors] = alpha``. An upper
  bound on a rate is conservative in the sound bound (decreasing in FP), not in ``h``
  (increasing in ``eps`` for ``q > 1/2``).

Every check takes the functions under test as keyword arguments; left out, they are
rstheory.oracle's, looked up when the check runs. The numeric checks compare float64 values
with mpmath at ``dps`` digits, always under ``mpmath.workdps``. The forward maps add
non-negative terms, so their relative error is compared with the tolerance. The inverses and
derivatives subtract (``q - eps`` near ``p = 0``, ``2q - 1`` near ``q = 1/2``), and their
error is *condition-scaled*: ``|value - reference| / S`` with
``S = |f| + sum_i |x_i df/dx_i|``, the first-order change of ``f`` when every input moves by
its own magnitude. A float64 evaluation that is exact for inputs perturbed by a few units
in the last place (backward stable) has a scaled error of a few ``2^-53``; a relative error
would instead blame the function for the rounding of its inputs.
"""

# The theorem modules register their entries on import: they are imported in registration
# order, which isort must leave alone.
# isort: off
from proofs_check._oracle_common import (
    EPS_GRID,
    P_GRID,
    Q_GRID,
    RTOL_ORACLE,
    corrected_mp,
    observed_mp,
)
from proofs_check._oracle_symmetric import (
    ABSTAIN_Q_GRID,
    check_abstain_numeric,
    check_abstain_symbolic,
    check_derivative_numeric,
    check_derivative_symbolic,
    check_identity_numeric,
    check_identity_symbolic,
    check_inverse_numeric,
    check_inverse_symbolic,
)
from proofs_check._oracle_asymmetric import (
    ASYMMETRIC_GRID,
    check_asymmetric_numeric,
    check_asymmetric_symbolic,
)
from proofs_check._oracle_k_class import (
    NUM_CLASSES,
    check_k_class_numeric,
    check_k_class_symbolic,
)
from proofs_check._oracle_calibration import (
    CALIBRATION_GRID,
    check_calibration_numeric,
    check_calibration_symbolic,
)
# isort: on

__all__ = [
    "ABSTAIN_Q_GRID",
    "ASYMMETRIC_GRID",
    "CALIBRATION_GRID",
    "EPS_GRID",
    "NUM_CLASSES",
    "P_GRID",
    "Q_GRID",
    "RTOL_ORACLE",
    "check_abstain_numeric",
    "check_abstain_symbolic",
    "check_asymmetric_numeric",
    "check_asymmetric_symbolic",
    "check_calibration_numeric",
    "check_calibration_symbolic",
    "check_derivative_numeric",
    "check_derivative_symbolic",
    "check_identity_numeric",
    "check_identity_symbolic",
    "check_inverse_numeric",
    "check_inverse_symbolic",
    "check_k_class_numeric",
    "check_k_class_symbolic",
    "corrected_mp",
    "observed_mp",
]
