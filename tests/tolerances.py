"""Named tolerances of the test suite, each with the reason for its value.

Tests import these by name (``from tests.tolerances import RTOL_CP_REFERENCE``) and write no
bare numbers for tolerances.
"""

# Accuracy target of rstheory's Clopper-Pearson bounds against 50-digit mpmath reference values.
RTOL_CP_REFERENCE = 1e-10

# A float64 closed form (alpha ** (1 / n), sigma * Phi^-1(p)) is a few roundings of a
# well-conditioned expression: a few hundred ulps (2.2e-16 each) at most.
RTOL_F64_CLOSED_FORM = 1e-13

# rstheory against scipy.stats.beta.ppf: both aim at about 1e-10 relative or better, so the
# agreement is bounded by the looser of the two.
RTOL_CP_VS_SCIPY = 1e-10

# Chance that one correct Monte Carlo test fails anyway; far below 1 / (number of such tests),
# so a red run is a bug, not bad luck (numpyro's goodness-of-fit rule).
MC_FALSE_FAILURE_RATE = 1e-6

# Oracle correction round trip p -> q -> p: the inverse divides by 1 - eps K/(K - 1), which the
# tests keep >= 1e-3, so a few ulps (2.2e-16 each) of q are amplified by at most 1e3.
ATOL_ORACLE_INVERSION = 1e-12
