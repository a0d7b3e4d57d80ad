"""The figure of ``rstheory analyze --plot PATH``: certified accuracy against radius, one step
curve per log (matplotlib, imported here only)."""

from __future__ import annotations

__all__ = ["plot_curves"]


def plot_curves(logs, labels, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from rstheory import analyze

    fig, ax = plt.subplots(figsize=(6, 4))
    for log, label in zip(logs, labels, strict=True):
        c = analyze.curve(log)
        ax.step(c.radius, c.accuracy, where="pre", label=f"sigma = {label}")
    ax.set_xlabel("radius (L2, [0, 1]-pixel units)")
    ax.set_ylabel("certified accuracy")
    ax.set_ylim(0, 1)
    ax.set_xlim(left=0)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
