"""The figure of ``rstheory plan --plot PATH``: the exact mean radius and certified fraction
against n, with P2's Eq. (2) and the radius cap beside them (matplotlib, imported here only)."""

from __future__ import annotations

__all__ = ["plot_plan"]


def plot_plan(dist, args, result) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from rstheory import scaling
    from rstheory._exact import exact_for

    ns = np.unique(np.round(np.logspace(1, 5, 17)).astype(int))
    exact = exact_for(
        dist,
        np.append(ns, 10**6),
        alpha=args.alpha,
        sigma=args.sigma,
        radii=(result["accuracy_radius"],),
    )
    radius, accuracy, big = exact.radius[0, :-1], exact.accuracy[0, :-1, 0], exact.radius[0, -1]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    ax1.semilogx(ns, radius, "o-", label="exact E[R_n]")
    ax1.semilogx(
        ns,
        big * np.asarray(scaling.average_radius_ratio(ns, alpha=args.alpha)),
        "--",
        label="Eq. 2 x E[R_1e6]",
    )
    ax1.semilogx(
        ns,
        np.asarray(scaling.radius_cap(ns, alpha=args.alpha, sigma=args.sigma)),
        ":",
        label="cap sigma Phi^-1(alpha^(1/n))",
    )
    ax1.axvline(result["n"], color="k", lw=0.8, label=f"planned n = {result['n']}")
    ax1.set_xlabel("samples per input n")
    ax1.set_ylabel("mean certified radius (L2, pixel units)")
    ax1.legend(fontsize=8)
    ax2.semilogx(ns, accuracy, "o-")
    ax2.set_xlabel("samples per input n")
    ax2.set_ylabel(f"certified fraction at radius {result['accuracy_radius']:g}")
    fig.suptitle(f"alpha = {args.alpha:g}, sigma = {args.sigma:g}")
    fig.tight_layout()
    fig.savefig(args.plot, dpi=100)
    plt.close(fig)
