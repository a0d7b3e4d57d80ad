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
# # 1. Predict the n you need
#
# How many Monte Carlo samples per input does a randomized-smoothing certificate need?
# This notebook answers with the planner of `rstheory.planning` and puts the closed forms
# of `rstheory.scaling` beside the exact expectations:
#
# 1. the planner: the smallest `n` whose exact expected mean radius reaches a fraction of
#    the infinite-sample radius, with the first-order closed-form estimate beside it;
# 2. closed forms against exact: Seferis et al.'s (2024) Eq. (2), `1 - 1.64 z / sqrt(n)`, and the
# first-order
#    law `1 - K z / sqrt(n)` against the exact ratio `E[R_n] / E[R_inf]`;
# 3. the cap: `n` samples never certify more than `sigma * Phi^-1(alpha ** (1/n))`;
# 4. where the approximations fail: small `n`, `p` near 1/2 and `p` near 1.
#
# Every number comes from the packages; the notebook only calls, prints and plots.
# `RSVLM_NOTEBOOK_SIZE=small` shrinks the grids (the test suite runs it that way).

# %%
import os
import time

import matplotlib

if "ipykernel" not in matplotlib.get_backend().lower():
    matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from rstheory import distributions, planning, scaling

SMALL = os.environ.get("RSVLM_NOTEBOOK_SIZE", "full") == "small"
ALPHA, SIGMA = 0.001, 0.5
started = time.perf_counter()
print(f"size: {'small' if SMALL else 'full'}; alpha = {ALPHA}, sigma = {SIGMA}")

# %% [markdown]
# ## Models of Pr(p_A)
#
# The answer depends on how the top-class probabilities `p_A` are spread over the
# dataset. Three models: `Beta(8, 2)` (mean 0.8), `U[0.5, 1]` (Seferis et al.'s (2024) reading of
# its
# constant) and a mixture with 20% of the inputs at `p_A = 1` (inputs the model never
# gets wrong under noise, common for VLM refusals).

# %%
laws = {
    "Beta(8, 2)": distributions.Beta(8.0, 2.0),
    "U[0.5, 1]": distributions.Uniform(0.5, 1.0),
    "0.2 at 1 + 0.8 Beta(8, 2)": distributions.Mixture(
        [distributions.PointMass(1.0), distributions.Beta(8.0, 2.0)], [0.2, 0.8]
    ),
}
for name, law in laws.items():
    print(
        f"{name:28s} mean p_A = {float(law.mean()):.4f}   "
        f"first-order constant K = {float(scaling.first_order_constant(law)):.4f}"
    )

# %% [markdown]
# `K` is `nan` for the mixture: an atom at `p = 1` has an infinite `Phi^-1(p)`, the
# central-limit step behind the closed form fails there, and only the exact route (and
# the cap) says anything.
#
# ## 1. The planner
#
# `planning.required_samples` searches the integers for the smallest `n` with
# `E[R_n] >= t E[R_inf]`, evaluating the exact expectation (binomial counts,
# Clopper-Pearson bound; no normal approximation). `closed_form_n` solves the first-order
# law for `n`; with an atom at 1 the infinite-sample radius is infinite, so the mixture is
# planned against a finite reference `n` instead.

# %%
targets = [0.8, 0.9] if SMALL else [0.7, 0.8, 0.9, 0.95]
print(
    f"{'law':28s} {'t':>5s} {'reference':>9s} "
    f"{'n (exact)':>10s} {'closed form':>12s} {'rel. diff':>9s}"
)
for name, law in laws.items():
    ref = 10**5 if "at 1" in name else None
    for t in targets:
        plan = planning.required_samples(
            law, alpha=ALPHA, sigma=SIGMA, target_ratio=t, reference_n=ref
        )
        rel = "-" if np.isnan(plan.closed_form_n) else f"{plan.closed_form_n / plan.n - 1.0:+.1%}"
        print(
            f"{name:28s} {t:5.2f} {'inf' if ref is None else ref:>9} {plan.n:10d} "
            f"{plan.closed_form_n:12.1f} {rel:>9s}"
        )

# %% [markdown]
# The same planner takes the other two kinds of target: a mean radius in pixel units,
# and a certified accuracy at a radius.

# %%
law = laws["Beta(8, 2)"]
p_r = planning.required_samples(law, alpha=ALPHA, sigma=SIGMA, target_radius=0.4)
p_a = planning.required_samples(law, alpha=ALPHA, sigma=SIGMA, target_accuracy=0.6, at_radius=0.25)
print(
    f"E[R_n] >= 0.4:                n = {p_r.n} (achieved "
    f"{p_r.achieved:.4f}; closed form {p_r.closed_form_n:.0f})"
)
print(f"certified accuracy at 0.25 >= 0.6: n = {p_a.n} (achieved {p_a.achieved:.4f})")

# %% [markdown]
# ## 2. Closed forms against exact
#
# `scaling.compare_closed_form` returns, per law and `n`, the exact ratio
# `E[R_n] / E[R_inf]`, Eq. (2) as printed (two-sided `z = Phi^-1(1 - alpha/2)`, constant
# 1.64 for every law) and the first-order law (one-sided `z`, the law's own `K`).

# %%
ns = (
    np.array([25, 100, 1000, 10**4])
    if SMALL
    else np.unique(np.round(np.logspace(np.log10(20), 6, 25)).astype(int))
)
finite = {k: v for k, v in laws.items() if "at 1" not in k}
rows = scaling.compare_closed_form(list(finite.values()), ns, alpha=ALPHA, sigma=SIGMA)
names = list(finite)
print(
    f"{'law':12s} {'n':>8s} {'exact':>8s} {'Eq. (2)':>8s} "
    f"{'error':>8s} {'1st order':>9s} {'error':>8s}"
)
for r in rows:
    if SMALL or r.n in (25, 50, 100, 251, 1000, 10000, 100000, 1000000) or r.n == ns[0]:
        print(
            f"{names[r.dist_index]:12s} {r.n:8d} {r.exact_ratio:8.4f} {r.eq2_ratio:8.4f} "
            f"{r.eq2_error:+8.4f} {r.first_order_ratio:9.4f} {r.first_order_error:+8.4f}"
        )

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
for d, name in enumerate(names):
    mine = [r for r in rows if r.dist_index == d]
    n_d = [r.n for r in mine]
    axes[0].plot(n_d, [r.exact_ratio for r in mine], "o-", label=f"{name}: exact")
    axes[0].plot(n_d, [r.first_order_ratio for r in mine], "--", label=f"{name}: first order")
    axes[1].plot(n_d, [abs(r.eq2_error) for r in mine], "s:", label=f"{name}: |Eq. (2) - exact|")
    axes[1].plot(
        n_d, [abs(r.first_order_error) for r in mine], "o-", label=f"{name}: |first order - exact|"
    )
axes[0].plot(ns, [r.eq2_ratio for r in rows if r.dist_index == 0], "k:", label="Eq. (2) (any law)")
axes[0].set(
    xscale="log",
    ylim=(0, 1.02),
    xlabel="samples per input n",
    ylabel="mean-radius ratio E[R_n] / E[R_inf] (dimensionless)",
    title="Ratio to the infinite-sample radius",
)
axes[1].set(
    xscale="log",
    yscale="log",
    xlabel="samples per input n",
    ylabel="absolute error of the ratio (dimensionless)",
    title="Error of the closed forms",
)
axes[0].legend(fontsize=7)
axes[1].legend(fontsize=7)
fig.tight_layout()
plt.show()

# %% [markdown]
# The first-order error falls like `1/n`; Eq. (2)'s does not vanish, because its constant
# 1.64 is the same for every law and its `z` is two-sided while the bound is one-sided.
#
# ## 3. The cap
#
# With all `n` votes for the top class the Clopper-Pearson bound is `alpha ** (1/n)`, so no
# input, however robust, is certified beyond `sigma * Phi^-1(alpha ** (1/n))`. It grows
# like `sigma * sqrt(2 log n)`: slowly. For the mixture with an atom at `p = 1` the
# exact mean radius keeps growing with `n` along the cap.

# %%
n_grid = np.unique(np.round(np.logspace(1, 6 if not SMALL else 4, 12 if SMALL else 40)).astype(int))
fig, ax = plt.subplots(figsize=(6.5, 4))
for sigma in (0.25, 0.5, 1.0):
    ax.plot(
        n_grid,
        np.asarray(scaling.radius_cap(n_grid, alpha=ALPHA, sigma=sigma)),
        label=f"cap, sigma = {sigma}",
    )
for name, law in laws.items():
    ax.plot(
        n_grid,
        np.asarray(scaling.expected_radius(law, n_grid, alpha=ALPHA, sigma=SIGMA)),
        "--",
        label=f"E[R_n], {name}, sigma = {SIGMA}",
    )
ax.set(
    xscale="log",
    xlabel="samples per input n",
    ylabel="L2 radius ([0,1] pixel units)",
    title=f"Radius cap and exact mean radius, alpha = {ALPHA}",
)
ax.legend(fontsize=7)
fig.tight_layout()
plt.show()
for n in (100, 1000, 10**4, 10**5):
    print(
        f"n = {n:>6d}: cap = {float(scaling.radius_cap(n, alpha=ALPHA, sigma=SIGMA)):.4f} "
        f"(sigma = {SIGMA})"
    )

# %% [markdown]
# ## 4. Where the approximations fail
#
# Point laws `p_A = p` show the failures one input at a time: the exact mean radius
# `E[R_n]` of `PointMass(p)`, the first-order radius and Seferis et al.'s (2024) Eq. (1) (Shore's
# approximation of `Phi^-1`, with the corrected exponent) at a small and a large `n`.
#
# * `p` near 1/2: the exact certificate abstains most of the time, so `E[R_n]` is close to
#   0, while the closed forms go negative (they know nothing of abstention).
# * `p` near 1: the closed forms break down (`Phi^-1(p)` is unbounded and the correction
#   term divides by `phi(Phi^-1(p))`, which goes to 0: at small `n` they plunge far below
#   zero), while the exact radius climbs to the cap.
# * small `n`: the `1/sqrt(n)` expansion is not small; Eq. (2) goes negative at `n = 25`.

# %%
ps = (
    [0.55, 0.7, 0.9, 0.99, 0.999]
    if SMALL
    else [0.51, 0.55, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999, 0.9999]
)
for n in (25, 10**4):
    cap = float(scaling.radius_cap(n, alpha=ALPHA, sigma=SIGMA))
    print(f"n = {n}, cap = {cap:.4f}")
    print(f"{'p':>7s} {'exact E[R_n]':>12s} {'1st order':>10s} {'Eq. (1)':>9s}")
    for p in ps:
        exact = float(
            scaling.expected_radius(distributions.PointMass(p), n, alpha=ALPHA, sigma=SIGMA)
        )
        fo = float(scaling.first_order_radius(p, n, alpha=ALPHA, sigma=SIGMA))
        eq1 = float(scaling.shore_radius(p, n, alpha=ALPHA, sigma=SIGMA))
        print(f"{p:7.4f} {exact:12.4f} {fo:10.4f} {eq1:9.4f}")
    print(f"Eq. (2) ratio at n = {n}: {float(scaling.average_radius_ratio(n, alpha=ALPHA)):+.4f}\n")

# %%
p_grid = np.linspace(0.51, 0.9995, 25 if SMALL else 120)
fig, ax = plt.subplots(figsize=(6.5, 4))
for n, style in ((100, "-"), (10**4, "--")):
    exact = [
        float(
            scaling.expected_radius(distributions.PointMass(float(p)), n, alpha=ALPHA, sigma=SIGMA)
        )
        for p in p_grid
    ]
    ax.plot(p_grid, exact, "k" + style, label=f"exact, n = {n}")
    ax.plot(
        p_grid,
        np.asarray(scaling.first_order_radius(p_grid, n, alpha=ALPHA, sigma=SIGMA)),
        "C0" + style,
        label=f"first order, n = {n}",
    )
    ax.plot(
        p_grid,
        np.asarray(scaling.shore_radius(p_grid, n, alpha=ALPHA, sigma=SIGMA)),
        "C1" + style,
        label=f"Eq. (1), n = {n}",
    )
    ax.axhline(
        float(scaling.radius_cap(n, alpha=ALPHA, sigma=SIGMA)),
        color="grey",
        ls=style,
        lw=0.8,
        label=f"cap, n = {n}",
    )
ax.set(
    ylim=(-0.6, 2.2),
    xlabel="true top-class probability p_A (dimensionless)",
    ylabel="L2 radius ([0,1] pixel units)",
    title=f"Point laws, sigma = {SIGMA}, alpha = {ALPHA}",
)
ax.legend(fontsize=7, ncol=2)
fig.tight_layout()
plt.show()
print(f"notebook run time: {time.perf_counter() - started:.1f} s")
