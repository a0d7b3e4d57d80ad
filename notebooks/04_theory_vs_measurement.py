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
# # 4. Theory against measurement
#
# The exact expectations of `rstheory.scaling` predict what a certification campaign will
# measure at a sample size it has not run. Two tests:
#
# 1. **The tiny LLaVA** (`sampler.tiny`, random weights, built offline): a pilot at small
#    `n` on a handful of noisy images, its counts fitted by `distributions.fit`, the mean
#    certified radius predicted at a larger `n` and then measured there.
# 2. **Published certifications** (CIFAR-10 ResNet-110 and ImageNet ResNet-50 of the 2024
#    "100x sample efficiency" paper, `rstheory.published`): the largest run predicts every
#    smaller one, the `n = 100` run predicts the largest, and the planner's `n` is set
#    against the `n` the published runs bracket. This part needs the data folder
#    (`$RSVLM_DATA_DIR` or the checkout's `data/`); without it, it is skipped with a message.
#
# Errors are prediction minus measurement. `RSVLM_NOTEBOOK_SIZE=small` uses a few inputs,
# small `n`, and one published dataset.

# %%
import os
import tempfile
import time

import matplotlib

if "ipykernel" not in matplotlib.get_backend().lower():
    matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch

from rstheory import distributions, published, scaling
from sampler import certify, oracles, tiny
from sampler.models import VLM, DecodingConfig

SMALL = os.environ.get("RSVLM_NOTEBOOK_SIZE", "full") == "small"
started = time.perf_counter()
print(f"size: {'small' if SMALL else 'full'}")

# %% [markdown]
# ## 1. The tiny LLaVA: pilot counts, prediction, measurement
#
# A LLaVA 1.5 with random weights answers with sampled decoding; `RefusalJudge` labels
# each answer "refusal" or "compliance" (the random vocabulary contains refusal phrases, so
# both occur). Each input is certified twice with fresh noise: at `N_PILOT` and at
# `N_BIG` samples (`n0` selection samples choose the class, as in CERTIFY). The
# pilot's counts `k` of the selected class are fitted by a beta law with atoms at 0 and 1
# through the binomial likelihood, and the exact expected mean radius at `N_BIG` is
# predicted from the fit (and, for comparison, from the plug-in `k / n`). Sigma is in
# [0, 1] pixel units at the model's input resolution.

# %%
INPUTS = 6 if SMALL else 40
N0, N_PILOT, N_BIG = (8, 16, 64) if SMALL else (16, 100, 1000)
SIGMA, ALPHA = 0.25, 0.001
workdir = tempfile.mkdtemp(prefix="tiny-llava-")
path = tiny.build_tiny_llava(workdir)
vlm = VLM.from_pretrained(
    path, decoding=DecodingConfig(max_new_tokens=4, do_sample=True, temperature=1.0)
)
judge = oracles.RefusalJudge()
images = torch.rand(INPUTS, 3, 32, 32, generator=torch.Generator().manual_seed(0))
prompt = "what is shown in the picture?"

pilot, big = [], []
for i, image in enumerate(images):
    for n, seed, store in ((N_PILOT, i, pilot), (N_BIG, 10_000 + i, big)):
        store.append(
            certify.certify(
                vlm,
                image,
                prompt,
                oracle=judge,
                config=certify.CertifyConfig(
                    n0=N0, n=n, sigma=SIGMA, alpha=ALPHA, seed=seed, batch_size=64
                ),
            )
        )
print(f"{INPUTS} inputs, n0 = {N0}; pilot n = {N_PILOT}, measured n = {N_BIG}")
print(
    f"{'input':>5s} {'class':>10s} {'k pilot':>8s} "
    f"{'R pilot':>8s} {'class':>10s} {'k big':>6s} {'R big':>7s}"
)
for i, (a, b) in enumerate(zip(pilot, big, strict=True)):
    print(
        f"{i:5d} {a.class_names[a.top_class]:>10s} {a.k:8d} {float(a.certificate.radius):8.4f} "
        f"{b.class_names[b.top_class]:>10s} {b.k:6d} {float(b.certificate.radius):7.4f}"
    )

# %%
k_pilot = np.array([r.k for r in pilot])
fitted = distributions.fit(k_pilot, N_PILOT)
plug_in = distributions.Empirical.from_counts(k_pilot, np.full(INPUTS, N_PILOT))
measured = {
    N_PILOT: float(np.mean([float(r.certificate.radius) for r in pilot])),
    N_BIG: float(np.mean([float(r.certificate.radius) for r in big])),
}
pred_fit = np.asarray(
    scaling.expected_radius(fitted.distribution, [N_PILOT, N_BIG], alpha=ALPHA, sigma=SIGMA)
)
pred_plug = np.asarray(scaling.expected_radius(plug_in, [N_PILOT, N_BIG], alpha=ALPHA, sigma=SIGMA))
cap = np.asarray(scaling.radius_cap([N_PILOT, N_BIG], alpha=ALPHA, sigma=SIGMA))
print(
    f"fit: a = {fitted.a:.3g}, b = {fitted.b:.3g}, w0 = {fitted.w0:.3f}, w1 = {fitted.w1:.3f}, "
    f"converged = {fitted.converged}"
)
print(
    f"{'n':>6s} {'cap':>7s} {'measured':>9s} {'fit':>8s} "
    f"{'error':>8s} {'plug-in':>8s} {'error':>8s}"
)
for j, n in enumerate((N_PILOT, N_BIG)):
    print(
        f"{n:6d} {cap[j]:7.4f} {measured[n]:9.4f} "
        f"{pred_fit[j]:8.4f} {pred_fit[j] - measured[n]:+8.4f} "
        f"{pred_plug[j]:8.4f} {pred_plug[j] - measured[n]:+8.4f}"
    )

# %% [markdown]
# The random-weight model answers almost alike on every input, so the fit puts all inputs
# near one `p` (a very concentrated beta at its parameter bound, where the optimizer may
# report `converged = False`); the prediction is still the exact expectation under it.
# With so few inputs the measured mean radius has a sampling error of the order of the
# differences in the table; the published data below test the same route on 500 inputs.
#
# ## 2. Published CIFAR-10 and ImageNet certifications

# %%
runs = published.available()
if not runs:
    print(
        f"no published certifications under {published.data_dir()}: set $RSVLM_DATA_DIR "
        "(or run from a checkout, whose data/ holds p2-certifications/) to run this part; skipped."
    )
    datasets = []
else:
    datasets = sorted({d for d, _ in runs})
    if SMALL:
        datasets = datasets[:1]
    print("published runs:", ", ".join(f"{d} n={n}" for d, n in runs))
ratios = (0.5,) if SMALL else (0.5, 0.6, 0.7, 0.8)
checks = {d: published.check_published(d, target_ratios=ratios) for d in datasets}

# %% [markdown]
# **From the largest run down.** Each input's true-class probability is its count over
# `n_ref` (0 when wrong or abstained); the exact expectation predicts every smaller run.
# `sd` is the binomial sampling sd of the measured ACR (average certified radius over
# correct predictions, pixel units). Eq. (2) scales the reference ACR by
# `r(n) / r(n_ref)`.

# %%
for d, chk in checks.items():
    print(
        f"{d}: reference n = {chk.reference_n}, ACR = "
        f"{chk.reference_acr:.4f}, sigma = {chk.sigma}, "
        f"alpha = {chk.alpha}; count recovery mismatch {chk.count_mismatch:.1e}"
    )
    print(
        f"{'n':>6s} {'measured':>9s} {'exact':>8s} {'error':>8s} "
        f"{'err/sd':>7s} {'Eq. (2)':>8s} {'error':>8s}"
    )
    for r in chk.reference:
        print(
            f"{r.n:6d} {r.measured:9.4f} {r.predicted:8.4f} {r.predicted - r.measured:+8.4f} "
            f"{(r.predicted - r.measured) / r.sd:+7.2f} {r.eq2:8.4f} {r.eq2 - r.measured:+8.4f}"
        )
    errs = np.array([[r.predicted - r.measured, r.eq2 - r.measured] for r in chk.reference])
    print(
        f"mean absolute error: exact {np.mean(np.abs(errs[:, 0])):.4f}, "
        f"Eq. (2) {np.mean(np.abs(errs[:, 1])):.4f}\n"
    )

# %% [markdown]
# **From the `n = 100` pilot up**, the direction a user needs: the pilot's counts fitted by
# `distributions.fit`, against the plug-in `k / n` and Eq. (2) scaled from the pilot's
# ACR. Relative errors in parentheses.

# %%
for d, chk in checks.items():
    f = chk.pilot_fit
    print(
        f"{d}: pilot n = {chk.pilot_n}; fit a = {f.a:.3g}, "
        f"b = {f.b:.3g}, w0 = {f.w0:.3f}, w1 = {f.w1:.3f}"
    )
    print(f"{'n':>7s} {'measured':>9s} {'fit':>18s} {'plug-in':>18s} {'Eq. (2)':>18s}")
    for r in chk.pilot:
        cols = [f"{v:.4f} ({v / r.measured - 1:+.1%})" for v in (r.fitted, r.plug_in, r.eq2)]
        print(f"{r.n:7d} {r.measured:9.4f} " + " ".join(f"{c:>18s}" for c in cols))
    print()

# %% [markdown]
# **The planner against the closed form**: the smallest `n` with `ACR_n >= t ACR_ref`.
# "Measured" interpolates the published ACR ratios linearly in `log n` between the two
# bracketing sizes (`nan` where none bracket it).

# %%
for d, chk in checks.items():
    print(f"{d}:")
    print(f"{'t':>5s} {'measured n':>11s} {'planner':>8s} {'from pilot':>11s} {'Eq. (2)':>8s}")
    for r in chk.plan:
        print(
            f"{r.target_ratio:5.2f} {r.measured:11.0f} "
            f"{r.planner:8d} {r.planner_from_pilot:11d} {r.eq2:8.0f}"
        )
    print()

# %%
if checks:
    fig, axes = plt.subplots(1, len(checks), figsize=(5.5 * len(checks), 4), squeeze=False)
    for ax, (d, chk) in zip(axes[0], checks.items(), strict=True):
        ns = [r.n for r in chk.pilot]
        ax.plot(ns, [r.measured for r in chk.pilot], "ko", label="measured (published)")
        ax.plot(
            [r.n for r in chk.reference],
            [r.predicted for r in chk.reference],
            "C0s-",
            label=f"exact, from n = {chk.reference_n}",
        )
        ax.plot(
            ns,
            [r.fitted for r in chk.pilot],
            "C1^--",
            label=f"exact, fit of the n = {chk.pilot_n} pilot",
        )
        ax.plot(
            [r.n for r in chk.reference],
            [r.eq2 for r in chk.reference],
            "C3x:",
            label=f"Eq. (2), from n = {chk.reference_n}",
        )
        ax.set(
            xscale="log",
            xlabel="samples per input n",
            ylabel="ACR, L2 radius ([0,1] pixel units)",
            title=f"{d}, sigma = {chk.sigma}, alpha = {chk.alpha}",
        )
        ax.legend(fontsize=7)
    fig.tight_layout()
    plt.show()
print(f"notebook run time: {time.perf_counter() - started:.1f} s")
