# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 2. Validate the theorems
#
# Three kinds of evidence that the certificates mean what they say:
#
# 1. the `proofs_check` report: each theorem behind `rstheory` derived with sympy and its
#    float64 numbers checked against mpmath;
# 2. Monte Carlo coverage: draw vote counts from known probabilities and count how often
#    the lower bound lands above the truth, for the plain Clopper-Pearson bound and for
#    the oracle-corrected bound;
# 3. the asymmetric counterexample: a symmetric-noise correction (or none) is not sound
#    when the oracle's errors are one-sided; the asymmetric correction is.
#
# The notebook draws samples and counts failures; the bounds all come from `rstheory`.
# `RSVLM_NOTEBOOK_SIZE=small` uses fewer replicates and the quicker theorem checks.

# %%
import os
import time

import matplotlib

if "ipykernel" not in matplotlib.get_backend().lower():
    matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import proofs_check
import rstheory
from rstheory import oracle

SMALL = os.environ.get("RSVLM_NOTEBOOK_SIZE", "full") == "small"
REPS = 4_000 if SMALL else 200_000  # Monte Carlo replicates per cell
DELTA = 0.001  # family-wise false-alarm level of the coverage test
SIGMA = 0.25
rng = np.random.default_rng(20250101)
started = time.perf_counter()
print(f"size: {'small' if SMALL else 'full'}; {REPS} replicates per cell")

# %% [markdown]
# ## 1. The proofs_check report
#
# At full size every registered theorem is checked with 50-digit mpmath (about a minute,
# the same as `python -m proofs_check`); the small size skips the five slowest and uses
# 30 digits.

# %%
SLOW = {
    "clopper_pearson.tail_inversion",
    "clopper_pearson.end_values",
    "scaling.exact_expectation",
    "scaling.first_order_law",
    "oracle.error_calibration",
}
names = [t.name for t in proofs_check.theorems() if not (SMALL and t.name in SLOW)]
reports = proofs_check.run_all(dps=30 if SMALL else 50, names=names)


def _err(r):
    return "-" if r is None or np.isnan(r.max_error) else f"{r.max_error:.1e}"


def _ok(r):
    return "-" if r is None else ("pass" if r.passed else "FAIL")


print(f"{'theorem':36s} {'symbolic':>8s} {'numeric':>8s} {'max err':>9s} {'tol':>7s}")
for rep in reports:
    tol = (
        "-"
        if rep.numeric is None or np.isnan(rep.numeric.tolerance)
        else f"{rep.numeric.tolerance:.0e}"
    )
    print(
        f"{rep.theorem.name:36s} {_ok(rep.symbolic):>8s} "
        f"{_ok(rep.numeric):>8s} {_err(rep.numeric):>9s} {tol:>7s}"
    )
print(f"\n{sum(r.passed for r in reports)} of {len(reports)} theorems pass")
assert all(r.passed for r in reports)

# %% [markdown]
# ## 2. Monte Carlo coverage of the Clopper-Pearson bound
#
# For each true probability `p`, sample size `n` and level `alpha`, draw `K ~ Bin(n, p)`
# `REPS` times and count the failures `cp_lower(K, n, alpha) > p`. The theorem says the
# failure probability `f` is at most `alpha` for every `p`.
#
# **When do we call a cell a violation, and how often would we do so wrongly?** The
# failure count `F` of a cell is `Bin(REPS, f)`. We flag the cell when the one-sided
# Clopper-Pearson lower bound on `f`, at level `DELTA / G` for `G` cells in all, exceeds
# `alpha`: `cp_lower(F, REPS, DELTA / G) > alpha`. If the theorem holds (`f <= alpha`),
# that lower bound exceeds `alpha`, hence `f`, with probability at most `DELTA / G`; by the
# union bound a correct implementation is flagged anywhere with probability at most
# `DELTA` = 0.001. A failure rate somewhat above `alpha` in a table is therefore not
# evidence of a bug by itself; only a flag is. The flags of this section and the next are
# computed together at the end of section 3.
#
# Every call below has `REPS` entries, so one compiled program serves them all (XLA
# compiles one program per padded batch size).

# %%
ps = [0.5, 0.8, 0.95, 0.99] if SMALL else [0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999]
ns = [10, 100, 1000] if SMALL else [10, 30, 100, 300, 1000, 10_000]
alphas = [0.05, 0.001]
cells = [(p, n, a) for a in alphas for n in ns for p in ps]
fails = []
for p, n, a in cells:
    k = rng.binomial(n, p, size=REPS)
    fails.append(int(np.count_nonzero(np.asarray(rstheory.cp_lower(k, n, alpha=a)) > p)))
print(f"{'alpha':>6s} {'n':>6s} {'p':>6s} {'failures':>9s} {'rate':>9s} {'rate/alpha':>10s}")
for (p, n, a), f in zip(cells, fails, strict=True):
    print(f"{a:6.3f} {n:6d} {p:6.3f} {f:9d} {f / REPS:9.2e} {f / REPS / a:10.3f}")

# %%
fig, ax = plt.subplots(figsize=(6.5, 4))
for a, marker in zip(alphas, "os", strict=True):
    for n in ns:
        rate = [
            f / REPS for (p, nn, aa), f in zip(cells, fails, strict=True) if nn == n and aa == a
        ]
        ax.plot(ps, np.maximum(rate, 0.5 / REPS), marker + "-", label=f"alpha = {a}, n = {n}")
    ax.axhline(a, color="k", ls=":", lw=0.8)
ax.set(
    yscale="log",
    xlabel="true probability p (dimensionless)",
    ylabel="failure rate P[cp_lower > p] (fraction of draws)",
    title=f"Monte Carlo coverage, {REPS} draws per point (0 failures drawn at 1/(2 REPS))",
)
ax.legend(fontsize=7, ncol=2)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## 3. Monte Carlo coverage of the oracle correction
#
# An oracle labels each answer wrongly with probability `eps`, the wrong label uniform
# over the other classes (two classes here). The votes measure
# `q = oracle.observed_probability(p, eps)`, not `p`; `rstheory.certify(..., oracle_error=eps)`
# turns the bound on `q` into one on `p`. Below 1/2 nothing is certified, so the cells of
# interest have `p > 1/2`, where the correction raises the bound (the uncorrected bound on
# `q` is valid but conservative there). The same flagging rule as above.

# %%
alpha = 0.001
ps_o = [0.6, 0.8, 0.95] if SMALL else [0.55, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99]
epss = [0.05, 0.2]
n_o = 200 if SMALL else 1000
rows = []
for eps in epss:
    for p in ps_o:
        q = float(oracle.observed_probability(p, eps=eps))
        k = rng.binomial(n_o, q, size=REPS)
        corrected = rstheory.certify(k, n_o, alpha=alpha, sigma=SIGMA, oracle_error=eps)
        plain = rstheory.certify(k, n_o, alpha=alpha, sigma=SIGMA)
        rows.append(
            (
                eps,
                p,
                q,
                int(np.count_nonzero(np.asarray(corrected.p_lower) > p)),
                int(np.count_nonzero(np.asarray(plain.p_lower) > p)),
                float(np.asarray(corrected.radius).mean()),
                float(np.asarray(plain.radius).mean()),
            )
        )
print(f"n = {n_o}, alpha = {alpha}, sigma = {SIGMA}")
print(
    f"{'eps':>5s} {'p':>5s} {'q':>7s} {'fail corr.':>10s} {'fail uncorr.':>12s} "
    f"{'mean R corr.':>12s} {'mean R uncorr.':>14s}"
)
for eps, p, q, fc, fu, rc, ru in rows:
    print(f"{eps:5.2f} {p:5.2f} {q:7.4f} {fc / REPS:10.2e} {fu / REPS:12.2e} {rc:12.4f} {ru:14.4f}")

# %% [markdown]
# The flags of sections 2 and 3 (`G` cells in all; one call):

# %%
all_fails = np.array(fails + [r[3] for r in rows])
all_alphas = np.array([c[2] for c in cells] + [alpha] * len(rows))
flags = np.asarray(rstheory.cp_lower(all_fails, REPS, alpha=DELTA / all_fails.size)) > all_alphas
print(
    f"cells flagged: {int(flags.sum())} of {all_fails.size} (a correct implementation is flagged "
    f"anywhere with probability <= {DELTA})"
)
assert not flags.any()

# %% [markdown]
# ## 4. The asymmetric counterexample
#
# A judge that never misses a true "A" (`eps_fn = 0`) but calls 20% of the other answers
# "A" (`eps_fp = 0.2`). At `p = 0.55` the votes measure
# `q = observed_probability_asymmetric(0.55, eps_fp=0.2, eps_fn=0) = 0.64 > p`. Its overall
# error rate is only `0.45 * 0.2 = 0.09`, yet a bound on `q` is no bound on `p`, and the
# symmetric correction with `eps = 0.09` moves the bound the wrong way. The sound bound
# uses the false-positive rate alone: `oracle.corrected_lower_bound(q_lower, eps_fp=...)`,
# and `rstheory.certify(..., oracle_error=oracle.estimate_rates(...))` when the rates are
# estimated from labelled answers (it then spends `alpha + alpha_eps`).
#
# The symbolic side is the `oracle.asymmetric_counterexample` theorem of `proofs_check`.

# %%
asym = next(r for r in reports if r.theorem.name == "oracle.asymmetric_counterexample")
print(asym.theorem.statement)
print("symbolic:", asym.symbolic.detail if asym.symbolic else "-")
print("numeric: ", asym.numeric.detail if asym.numeric else "-")

# %%
eps_fp, eps_fn, eps_overall = 0.2, 0.0, 0.09
alpha_eps, m_calib = 0.001, 500  # calibration: 500 labelled negatives and 500 positives
n_a = 1000
print(
    f"n = {n_a}, alpha = {alpha}, eps_fp = {eps_fp}, "
    f"eps_fn = {eps_fn}; failure rate P[p_lower > p] "
    f"and certified fraction, {REPS} draws"
)
print(
    f"{'p':>5s} {'q':>6s} | {'none':>8s} {'symm. 0.09':>10s} {'asym. known':>11s} "
    f"{'asym. estim.':>12s} | {'certified (asym. estim.)':>24s}"
)
for p in (0.55, 0.7, 0.9):
    q = float(oracle.observed_probability_asymmetric(p, eps_fp=eps_fp, eps_fn=eps_fn))
    k = rng.binomial(n_a, q, size=REPS)
    fp_count = rng.binomial(m_calib, eps_fp, size=REPS)
    fn_count = rng.binomial(m_calib, eps_fn, size=REPS)
    rates = oracle.estimate_rates(fp_count, m_calib, fn_count, m_calib, alpha=alpha_eps)
    est = rstheory.certify(k, n_a, alpha=alpha, sigma=SIGMA, oracle_error=rates)
    q_lower = np.asarray(rstheory.cp_lower(k, n_a, alpha=alpha))
    sym = np.asarray(
        rstheory.certify(k, n_a, alpha=alpha, sigma=SIGMA, oracle_error=eps_overall).p_lower
    )
    known = np.asarray(oracle.corrected_lower_bound(q_lower, eps_fp=eps_fp))
    est_p = np.asarray(est.p_lower)
    print(
        f"{p:5.2f} {q:6.3f} | {np.mean(q_lower > p):8.2e} {np.mean(sym > p):10.2e} "
        f"{np.mean(known > p):11.2e} {np.mean(est_p > p):12.2e} | "
        f"{1.0 - np.mean(np.asarray(est.abstained)):24.3f}"
    )
print(f"alpha spent by the estimated correction: {float(np.asarray(est.alpha_spent).max())}")
print(f"notebook run time: {time.perf_counter() - started:.1f} s")

# %% [markdown]
# At `p = 0.55` the uncorrected and the symmetric bounds fail nearly always: they certify
# inputs whose true majority answer is barely a majority as if it were 0.64 or 0.67. The
# asymmetric bounds fail at a rate at most `alpha` (plus `alpha_eps` when estimated), at
# the price of abstaining where the evidence is weak.
