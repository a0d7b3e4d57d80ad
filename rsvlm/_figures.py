"""The demo's figures (matplotlib, Agg backend): each function writes one PNG and returns its path.

Units: radii are L2 norms in [0, 1] pixel units; ``n`` is the number of samples per input;
probabilities and accuracies are fractions (unitless).
"""

from __future__ import annotations

import pathlib

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

RADIUS = "mean certified L2 radius ([0,1] pixel units)"
N_AXIS = "samples per input n"


def _save(fig, path) -> pathlib.Path:
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def inputs(image_paths, path) -> pathlib.Path:
    """The synthetic input images side by side."""
    from PIL import Image

    cols = min(len(image_paths), 8)
    rows = -(-len(image_paths) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(1.4 * cols + 0.6, 1.9 * rows), squeeze=False)
    for i, ax in enumerate(axes.flat):
        if i >= len(image_paths):
            ax.axis("off")
            continue
        with Image.open(image_paths[i]) as img:
            ax.imshow(np.asarray(img.convert("RGB")))
        ax.set_title(pathlib.Path(image_paths[i]).stem.replace("synthetic_", "#"), fontsize=8)
        ax.set_xlabel("x (pixels)", fontsize=7)
        ax.set_ylabel("y (pixels)", fontsize=7)
        ax.tick_params(labelsize=6)
    return _save(fig, path)


def histogram(k, n, dist, fit: dict, path) -> pathlib.Path:
    """Histogram of the plug-in ``k/n`` with the fitted density (continuous part) over it."""
    p_hat = np.asarray(k) / np.asarray(n)
    fig, ax = plt.subplots(figsize=(6.0, 3.8))
    ax.hist(
        p_hat,
        bins=np.linspace(0, 1, 21),
        density=True,
        alpha=0.5,
        label=f"collected k/n ({p_hat.size} inputs)",
    )
    grid = np.linspace(0.001, 0.999, 500)
    w_beta = 1.0 - fit["w0"] - fit["w1"]
    dens = (
        w_beta * np.asarray(dist.components[2].density(grid))
        if hasattr(dist, "components")
        else np.asarray(dist.density(grid))
    )
    ax.plot(grid, dens, "C3", lw=2, label=f"fit: {w_beta:.2f} Beta({fit['a']:.3g}, {fit['b']:.3g})")
    for x, w in ((0.0, fit["w0"]), (1.0, fit["w1"])):
        if w > 1e-3:
            ax.axvline(x, color="C3", ls=":", label=f"atom at {x:.0f}: mass {w:.3f}")
    ax.set_xlabel("top-class probability p_A (fraction of noisy samples)")
    ax.set_ylabel("density (per unit of p_A)")
    ax.set_xlim(0, 1)
    ax.legend(fontsize=8)
    ax.set_title("Pr(p_A) over the inputs", fontsize=10)
    return _save(fig, path)


def curves(c: dict, path) -> pathlib.Path:
    """Mean radius and certified accuracy against n: subsampled votes, exact, closed forms."""
    m = np.asarray(c["sizes"])
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11.0, 4.0))
    a1.errorbar(
        m,
        c["measured_radius"],
        yerr=c["measured_radius_sd"],
        fmt="o",
        ms=4,
        capsize=2,
        color="k",
        label=f"measured (subsampled, {c['repeats']} repeats, sd)",
    )
    a1.plot(m, c["exact_radius_fit"], "C3-", label="exact, fitted Pr(p_A)")
    a1.plot(m, c["exact_radius_empirical"], "C0--", label="exact, plug-in k/n")
    a1.plot(m, c["eq2_radius"], "C2:", label="P2 Eq. (2) from the largest n")
    a1.set_ylabel(RADIUS)
    a2.plot(m, c["measured_accuracy"], "ko", ms=4, label="measured (subsampled)")
    a2.plot(m, c["exact_accuracy_fit"], "C3-", label="exact, fitted Pr(p_A)")
    a2.plot(m, c["exact_accuracy_empirical"], "C0--", label="exact, plug-in k/n")
    a2.plot(m, c["eq3_accuracy"], "C2:", label="P2 Eq. (3) bound from the largest n")
    a2.set_ylabel(f"certified fraction at radius {c['at_radius']:g} (fraction of inputs)")
    a2.set_ylim(-0.02, 1.02)
    for ax in (a1, a2):
        ax.set_xscale("log")
        ax.set_xlabel(N_AXIS)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    return _save(fig, path)


def published(datasets: list[dict], path) -> pathlib.Path:
    """Published ACR against n: measured, exact from the largest run, from the pilot, Eq. (2)."""
    fig, axes = plt.subplots(1, len(datasets), figsize=(5.5 * len(datasets), 4.0), squeeze=False)
    for ax, d in zip(axes[0], datasets, strict=True):
        ref, pil = d["reference"], d["pilot"]
        ns = [r["n"] for r in pil]
        ax.plot(ns, [r["measured"] for r in pil], "ko", label="published (measured)")
        ax.plot(
            [r["n"] for r in ref],
            [r["predicted"] for r in ref],
            "C3-",
            label=f"exact from n = {d['reference_n']}",
        )
        ax.plot(
            ns, [r["fitted"] for r in pil], "C0--", label=f"exact from the n = {d['pilot_n']} fit"
        )
        ax.plot(
            [r["n"] for r in ref],
            [r["eq2"] for r in ref],
            "C2:",
            label=f"Eq. (2) from n = {d['reference_n']}",
        )
        ax.set_xscale("log")
        ax.set_xlabel(N_AXIS)
        ax.set_ylabel("ACR: average certified L2 radius ([0,1] pixel units)")
        ax.set_title(
            f"{d['dataset']} (sigma = {d['sigma']:g}, alpha = {d['alpha']:g})", fontsize=10
        )
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    return _save(fig, path)


def sigma_sweep(s: dict, path) -> pathlib.Path:
    """Certified accuracy against radius, one line per sigma (the sweep of the trained kind)."""
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for x in s["sigmas"]:
        ax.plot(s["radii"], x["certified_accuracy"], "o-", label=f"sigma = {x['sigma']}")
    ax.set_xlabel("radius r ([0,1] pixel units)")
    ax.set_ylabel("certified accuracy at r")
    ax.set_ylim(-0.02, 1.02)
    ax.legend()
    return _save(fig, path)
