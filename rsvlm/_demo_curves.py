"""The demo's fit and curves: the fit of Pr(p_A) to the collected counts (:func:`step_fit`)
and mean radius and certified accuracy against n by subsampling the collected votes
(:func:`step_curves`), with their report sections (:func:`render`).

The measured curve subsamples each input's ``n`` estimation labels without replacement to
``m`` (:func:`subsample_counts`, nested subsamples) and certifies each subsample with
:func:`rstheory.certify`; the exact curves are :func:`rstheory.scaling.expected_radius`
and :func:`rstheory.scaling.certified_accuracy` under the fitted law
(:func:`fitted_distribution`) and under the plug-in ``k/n``; the closed forms are P2's
Eq. (2) and Eq. (3) scaled from the largest ``n``.

Example (the subsampling rule, without a model):
  >>> import numpy as np
  >>> from rsvlm._demo_curves import size_grid, subsample_counts
  >>> subsample_counts(np.array([0, 0, 1, 0]), top=0, sizes=[4], repeats=2, seed=0).tolist()
  [[3, 3]]
  >>> size_grid(64)
  [8, 10, 13, 16, 20, 25, 32, 40, 51, 64]
"""

from __future__ import annotations

import pathlib

import numpy as np

__all__ = [
    "fitted_distribution",
    "render",
    "size_grid",
    "step_curves",
    "step_fit",
    "subsample_counts",
]


def size_grid(n: int) -> list[int]:
    """Sizes for the curves: about 10 log-spaced integers from ``min(8, n)`` up to ``n``.

    >>> size_grid(64)
    [8, 10, 13, 16, 20, 25, 32, 40, 51, 64]
    """
    return sorted({round(float(x)) for x in np.geomspace(min(8, n), n, 10)})


def step_fit(rows_path: str) -> dict:
    """Maximum-likelihood atoms-plus-Beta fit of Pr(p_A) to the collected ``(k, n)``."""
    from rstheory import distributions
    from sampler.run import load_counts

    k, n = load_counts(rows_path)
    res = distributions.fit(k, n)
    return {
        "k": k.tolist(),
        "n": n.tolist(),
        "a": res.a,
        "b": res.b,
        "w0": res.w0,
        "w1": res.w1,
        "log_likelihood": res.log_likelihood,
        "converged": res.converged,
        "mean": float(res.distribution.mean()),
    }


def fitted_distribution(fit: dict):
    """The fitted law from the numbers of :func:`step_fit` (as read back from the JSON)."""
    from rstheory import distributions as d

    return d.Mixture(
        [d.PointMass(0.0), d.PointMass(1.0), d.Beta(fit["a"], fit["b"])],
        [fit["w0"], fit["w1"], 1.0 - fit["w0"] - fit["w1"]],
    )


def subsample_counts(labels, *, top: int, sizes, repeats: int, seed: int) -> np.ndarray:
    """Votes for ``top`` among ``m`` labels drawn without replacement; shape ``(sizes, repeats)``.

    The same permutation serves every size (nested subsamples), one per repeat.
    """
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    hits = np.stack([labels[rng.permutation(labels.size)] == top for _ in range(repeats)])
    cum = np.cumsum(hits, axis=1)  # (repeats, n)
    return np.stack([cum[:, m - 1] for m in sizes]).astype(np.int64)


def step_curves(rows: list[dict], fit: dict, cfg) -> dict:
    """Measured (subsampled) mean radius and certified accuracy against m, and predictions."""
    import rstheory
    from rstheory import distributions, scaling

    ok = [r for r in rows if r["status"] == "ok"]
    grid = size_grid(min(r["n"] for r in ok))
    counts = np.stack(
        [
            subsample_counts(
                r["estimation_labels"],
                top=r["top_class"],
                sizes=grid,
                repeats=cfg.repeats,
                seed=cfg.seed + i,
            )
            for i, r in enumerate(ok)
        ],
        axis=1,
    )  # (grid, inputs, repeats)
    m = np.broadcast_to(np.array(grid)[:, None, None], counts.shape)
    cert = rstheory.certify(counts.reshape(-1), m.reshape(-1), alpha=cfg.alpha, sigma=cfg.sigma)
    radius = np.asarray(cert.radius).reshape(counts.shape)
    certified = ~np.asarray(cert.abstained).reshape(counts.shape) & (radius >= cfg.at_radius)
    per_repeat = radius.mean(axis=1)  # (grid, repeats): the mean over inputs of one subsample
    k, n = np.array(fit["k"]), np.array(fit["n"])
    laws = {"fit": fitted_distribution(fit), "empirical": distributions.Empirical.from_counts(k, n)}
    kw = dict(alpha=cfg.alpha, sigma=cfg.sigma)
    out = {
        "sizes": grid,
        "repeats": cfg.repeats,
        "at_radius": cfg.at_radius,
        "measured_radius": radius.mean(axis=(1, 2)).tolist(),
        "measured_radius_sd": per_repeat.std(axis=1).tolist(),
        "measured_accuracy": certified.mean(axis=(1, 2)).tolist(),
    }
    for name, law in laws.items():
        out[f"exact_radius_{name}"] = np.asarray(scaling.expected_radius(law, grid, **kw)).tolist()
        acc = scaling.certified_accuracy(law, grid, radius=cfg.at_radius, **kw)
        out[f"exact_accuracy_{name}"] = np.asarray(acc).tolist()
    r2 = np.asarray(scaling.average_radius_ratio(np.array(grid), alpha=cfg.alpha))
    out["eq2_radius"] = (out["measured_radius"][-1] * r2 / r2[-1]).tolist()
    d3 = np.asarray(scaling.accuracy_drop_bound(np.array(grid), alpha=cfg.alpha))
    out["eq3_accuracy"] = np.clip(out["measured_accuracy"][-1] + d3[-1] - d3, 0, 1).tolist()
    return out


def render(res: dict, out: pathlib.Path) -> list[str]:
    """The report's Markdown lines of the fit and of the curves (empty where not run)."""
    from rsvlm import _figures
    from rsvlm._report import _figure, table

    cfg = res["config"]
    md: list[str] = []
    if "fit" in res:
        f = res["fit"]
        md += [
            "## Pr(p_A): the fitted model",
            "",
            "Maximum likelihood (`rstheory.distributions.fit`, binomial likelihood) of "
            "w0 delta_0 + w1 delta_1 + (1 - w0 - w1) Beta(a, b) to the collected (k, n).",
            "",
        ]
        md += [
            table(
                ["a", "b", "w0", "w1", "log-likelihood", "mean p_A", "converged"],
                [
                    [
                        f["a"],
                        f["b"],
                        f["w0"],
                        f["w1"],
                        f["log_likelihood"],
                        f["mean"],
                        f["converged"],
                    ]
                ],
            ),
            "",
        ]
        md += _figure(
            res,
            "pa_histogram",
            _figures.histogram,
            f["k"],
            f["n"],
            fitted_distribution(f),
            f,
            out=out,
            title="Pr(p_A) with the fit",
        )
    if "curves" in res:
        c = res["curves"]
        md += [
            "## Mean radius and certified accuracy against n",
            "",
            f"Measured: each input's {cfg['n']} estimation labels subsampled without "
            f"replacement to m (nested subsamples, {c['repeats']} repeats, seed "
            f"{cfg['seed']}), certified by `rstheory.certify` at each m. The points at "
            "different m reuse the same votes, so they are dependent (not independent runs), "
            "and the point at the largest m is the collected run itself. 'Certified' means "
            f"not abstained with radius >= {c['at_radius']:g} (the top class is the smoothed "
            "model's own; there is no ground truth). Exact: `scaling.expected_radius` and "
            "`scaling.certified_accuracy` under the fit and under the plug-in k/n; closed "
            "forms: P2's Eq. (2) and Eq. (3) scaled from the largest n.",
            "",
        ]
        md += [
            table(
                [
                    "m",
                    "radius measured",
                    "sd",
                    "exact (fit)",
                    "exact (k/n)",
                    "Eq. (2)",
                    "certified measured",
                    "exact (fit)",
                    "exact (k/n)",
                    "Eq. (3)",
                ],
                list(
                    zip(
                        c["sizes"],
                        c["measured_radius"],
                        c["measured_radius_sd"],
                        c["exact_radius_fit"],
                        c["exact_radius_empirical"],
                        c["eq2_radius"],
                        c["measured_accuracy"],
                        c["exact_accuracy_fit"],
                        c["exact_accuracy_empirical"],
                        c["eq3_accuracy"],
                        strict=True,
                    )
                ),
            ),
            "",
        ]
        md += _figure(res, "curves", _figures.curves, c, out=out, title="radius and accuracy vs n")
    return md
