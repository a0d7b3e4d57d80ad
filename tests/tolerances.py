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

# Gauss rules on polynomials within their exact degree (2 num - 1): roundoff of the nodes and
# weights; roots_jacobi with a singular weight (Beta a = 0.3) was observed at 2.4e-12.
RTOL_QUADRATURE_EXACT = 1e-11

# Gauss rules (64 nodes) on Phi^-1 over a support bounded away from 0 and 1, where it is
# analytic: observed errors ~1e-15 against scipy.integrate.quad (itself ~1e-14 accurate).
RTOL_QUADRATURE_SMOOTH = 1e-11

# Gauss-Legendre (64 nodes) on Phi^-1 over U[0.5, 1]: the singularity at p = 1 limits it to
# algebraic convergence; observed error 3.5e-5, so this bounds it with a margin of about 3.
ATOL_QUADRATURE_ENDPOINT_SINGULAR = 1e-4

# Monte Carlo moments from 200,000 draws of p in [0, 1]: the standard error of a mean is
# <= 0.5 / sqrt(2e5) = 1.1e-3, so 5e-3 is >= 4.5 standard errors (two-sided chance < 1e-5).
ATOL_SAMPLE_MOMENT = 5e-3

# Fitted mean of Pr(p_A) from 500 inputs: the population sd of p is <= 0.5, so the standard
# error is <= 0.5 / sqrt(500) = 0.022 (binomial noise at n = 100 adds < 0.3 of that); 0.06 is
# about 2.7 worst-case and 4.5 actual (sd 0.29) standard errors for the test's model.
ATOL_FIT_MEAN = 0.06

# Fitted Beta variance vs the naive variance of k / n when every input has p = 0.9 exactly
# (n = 50): the naive value is all binomial noise (~1.8e-3); a fit that models the noise
# should leave well under a tenth of it (observed ~3%).
FIT_NOISE_VARIANCE_RATIO = 0.1

# Window around the theoretical exponent of a fitted log-log rate of a scaling law: the fit
# over a decade or two of n still carries the next-order term (relative size ~ 1/sqrt(n)).
SLOPE_WINDOW_SCALING = 0.15

# Exact expected radius vs a brute-force sum with scipy.stats.beta.ppf: both bounds are
# within 1e-10 relative, amplified by dPhi^-1/dp <= 1/phi(Phi^-1(alpha**(1/n))) (about 50 at
# n = 1000, alpha = 1e-3) and summed with weights adding to 1.
ATOL_EXPECTED_RADIUS_VS_SCIPY = 1e-8

# Agreement with reference numbers printed to 3 or 4 digits (in Seferis, Kollias & Cheng 2024,
# or worked out for this project's docs), which are rounded to the last digit shown.
ATOL_THEORY_3_DIGITS = 5e-4
ATOL_THEORY_4_DIGITS = 5e-5

# Printed reference numbers that average over U[a, 1]: the integrands are singular at p = 1
# (Phi^-1 and 1/phi(Phi^-1)), so a 200-node Gauss-Legendre rule is off by up to ~1e-3 there.
ATOL_THEORY_QUADRATURE = 2e-3

# A two-decimal table of K(p): half a unit of the last digit plus the table's own rounding of
# intermediate values (K(0.99) = 1.6048 is printed as 1.61).
ATOL_THEORY_2_DIGITS = 1e-2

# Published Clopper-Pearson bounds (statsmodels, i.e. scipy's beta.ppf) against rstheory's:
# scipy was measured up to 4.4e-12 off at n <= 1e5, while neighbouring counts' bounds differ
# by more than 1e-6 there; observed mismatch on the 2024 paper's files 3.3e-14.
RTOL_PUBLISHED_COUNTS = 1e-11

# Measured ACR minus its exact prediction, in units of its binomial sampling sd given the
# reference p_i: 4.5 sd has a two-sided normal tail of 6.8e-6, so the 11 comparisons fail by
# chance with probability < 1e-4; observed max |z| 1.8.
PUBLISHED_Z_MAX = 4.5

# Relative error of the large-n ACR predicted from the n = 100 pilot's fitted Pr(p_A). The
# pilot counts themselves are noisy: a parametric bootstrap (20 pilots redrawn from the
# reference p_i, refitted, predicted; test_pilot_error_is_within_its_bootstrap_spread) gives a
# relative sd of 1.5% and a bias of +1.4% (CIFAR-10) / +1.5% (ImageNet), so 0.06 is about the
# bias plus 3 sd. Observed: -1.2% (CIFAR-10) and +3.2% (ImageNet).
PILOT_PREDICTION_RTOL = 0.06

# Planned n against the n read off the published runs (log-linear interpolation between
# sizes 2 to 2.5 times apart, whose ACRs carry a sampling sd of ~0.3%, i.e. ~2% in n):
# observed at most 10.1% (ImageNet references recovered at the alpha = 0.01 their printed
# radii fit); 0.15 leaves room for the interpolation's curvature error.
PLANNER_N_RTOL = 0.15

# --- proofs_check

# A float64 recursion over a few thousand looks against the same recursion at 30 digits:
# each step adds a few ulps (2.2e-16 each), so the accumulated error stays well below 1e-12.
RTOL_F64_RECURSION_VS_MP = 1e-12

# mpmath's Clopper-Pearson bound at 40 digits against scipy.special.betaincinv, which is
# accurate to about 1e-14 relative for the small n (<= 250) of these cases.
RTOL_MP_VS_SCIPY_BETAINCINV = 1e-12

# The relative error that proofs_check reports for 0.3333 against 1/3 is 1.0e-4 (0.9999e-4):
# two significant digits identify it.
RTOL_REPORTED_ERROR_DIGITS = 1e-2

# A value exact in float64 (1/3 rounded once) against 30-digit mpmath: half an ulp, 5.6e-17.
ATOL_ONE_ROUNDING = 1e-16

# A worked example of the oracle correction (two or three float64 operations on short
# decimals, e.g. 0.8 (1 - 0.1) + 0.2 0.1) against the decimal it should give: observed at
# most one ulp (2.2e-16), so 1e-15 leaves a few ulps of room.
RTOL_WORKED_EXAMPLE = 1e-15

# --- rstheory

# Float64 special functions (ndtri, betainc, log-gamma) composed into a formula and compared
# with scipy or statistics.NormalDist: each side is accurate to ~1e-14 relative, and the
# compositions tested amplify that by at most ~100.
RTOL_F64_LIBRARY = 1e-12

# One float64 computation reached by two routes (a point mass against a one-node plan, a
# batched against a looped call, a recomputed plan): only the summation order of some
# thousands of terms differs, a few ulps (2.2e-16 each) per term.
RTOL_SAME_COMPUTATION = 1e-12

# The same float64 function reached two ways (scipy.special.ndtr against scipy.stats.norm.cdf,
# a float written with 17 significant digits and read back): at most one rounding.
RTOL_ONE_ROUNDING = 1e-15

# Absolute floor for results at or next to 0, where a relative tolerance means nothing: a few
# ulps of the O(1) terms that cancelled (2.2e-16 each).
ATOL_F64_NEAR_ZERO = 1e-15

# An absolute floor only so that exact zeros compare equal under pytest.approx: far below any
# nonzero float64 result of the formulas tested.
ATOL_EXACT_ZERO = 1e-300

# The oracle derivative (Kq - 1)/(K - 1) / (1 - eps K/(K - 1))^2 next to q = 1/K: the
# cancellation leaves a few ulps of 1 in the numerator, amplified by the squared denominator
# (at most ~1e3 at the eps the tests draw).
ATOL_ORACLE_DERIVATIVE = 1e-13

# d cp_lower / d alpha by jax.grad (implicit function theorem through the 1e-10-accurate
# root) against 1 / Beta.pdf from scipy: the root's relative error, times the pdf's
# conditioning (~10 at the cases tested).
RTOL_CP_GRADIENT = 1e-9

# Values the planner takes from the exact expectation sums (windowed binomial sums of bounds
# each accurate to RTOL_CP_REFERENCE), recomputed by the test: ~10 times that target.
RTOL_EXACT_EXPECTATION = 1e-9

# The first-order law's closed-form n against the exact n: the next-order term in 1/sqrt(n)
# makes the closed form a few percent off at the tested targets (observed < 3%).
RTOL_FIRST_ORDER_N = 0.05

# The sequential rule's stopping law from its recursion against an explicit enumeration of
# every vote path over two looks: a few ulps per path probability, summed over 16 paths.
ATOL_SEQUENTIAL_VS_ENUMERATION = 1e-15
RTOL_SEQUENTIAL_VS_ENUMERATION = 1e-14

# A plan under a point mass against the operating characteristics at that point: the same
# recursion with the plan's extra normalisation of the weights (a few ulps of 1).
ATOL_SEQUENTIAL_POINT_PLAN = 1e-14

# The tabulated Chebyshev coefficients of the beta-quantile expansion against its recursion:
# the tables were fitted to float64 precision of values of order 1 (a few tens of ulps).
ATOL_CHEBYSHEV_TABLE = 1e-14

# Fitted atom masses w0, w1 from 500 inputs: their binomial standard errors are at most
# sqrt(0.3 * 0.7 / 500) = 0.020, so 0.06 is three of them.
ATOL_FIT_ATOM_MASS = 0.06

# A sample mean compared with its target when every draw is equal (sd 0): float64 sums of a
# few thousand equal values, far below the Monte Carlo resolution of the test.
ATOL_CONSTANT_SAMPLE_MEAN = 1e-9

# Exact coverage as a sum of float64 binomial or multinomial pmf terms (scipy, each good to
# about 1e-15 relative), at most a few hundred of them: rounding is below 1e-13.
ATOL_PMF_SUM = 1e-12
RTOL_PMF_SUM = 1e-12

# Randomized Clopper-Pearson: the u-threshold of each count is found by 40 bisection steps
# (2^-40 ~ 9e-13 each; the pmf weights add to 1) on top of the bound's ~1e-12 accuracy.
ATOL_RANDOMIZED_COVERAGE = 1e-9

# Wilson against statsmodels: the same closed form, a few roundings apart.
ATOL_WILSON_VS_STATSMODELS = 1e-12

# The confidence sequence's crossing probability by dynamic programming: float64 sums over
# at most a few hundred states per step, rounding < 1e-12.
ATOL_CONFSEQ_DP = 1e-12

# Ends of the confidence sequence against mpmath: they are the outer ends of 110-step
# bisection brackets, and the float64 log M carries an absolute error ~1e-13, moving a root
# by ~1e-13 / |d log M / d log p0| relative.
RTOL_ENDS_VS_MPMATH = 1e-9

# How far inside C_n an outer bracket end may sit: the float64 log M is ~1e-13 off, which
# moves a root by ~1e-13 / |d log M / d log p0| (>= 1 at these ends) relative.
RTOL_OUTER_END = 1e-12


# Certified, futility and n_max fractions of the sequential rule: three float64 sums of the
# same recursion's probabilities, whose total is 1 up to the roundoff of some hundreds of
# terms (a few ulps each).
ATOL_SEQUENTIAL_FRACTIONS_TOTAL = 1e-12

# --- sampler

# sigma Phi^-1(p) at p = Phi(r / sigma) gives back r to a few ulps of the normal quantile and
# its inverse (about 1e-16 relative each); 1e-12 leaves a wide margin.
ATOL_RADIUS_ROUND_TRIP = 1e-12

# --- demo (tests/test_demo.py: numbers of report.json recomputed in the test process)

# The same code on the same inputs in another process: JSON keeps float64 exactly, so only a
# different order of the same operations (another XLA compilation) separates the two.
RTOL_REPORT_RECOMPUTED = 1e-9
ATOL_REPORT_RECOMPUTED = 1e-12

# The Pr(p_A) fit run again: a numerical maximiser from the same start, whose stopping rule
# leaves the parameters and log-likelihood within about 1e-8 relative of each other.
RTOL_FIT_REFIT = 1e-6
ATOL_FIT_REFIT = 1e-9

# The published-data comparison run again: bracketed searches over n and quadratures whose
# stopping rules agree to about 1e-9 relative between runs.
RTOL_PUBLISHED_RECOMPUTED = 1e-7
ATOL_PUBLISHED_RECOMPUTED = 1e-10

# The JAX-free scalar Clopper-Pearson path (SciPy's start, Newton-polished through Boost's
# incomplete beta) against the JAX path, both within a few 1e-13 of the root for n <= 1e8
# and alpha <= 1/2 (observed worst 5e-13 on a grid): 1e-12 relative.
RTOL_CP_SCALAR_VS_JAX = 1e-12
