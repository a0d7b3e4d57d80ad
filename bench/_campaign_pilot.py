"""The sequential rule's prior of ``bench/bench_campaign.py``, chosen on a pilot of other images.

The measured inputs are square crops of matplotlib's Grace Hopper photograph. The prior of
the sequential rule's confidence sequence is chosen before they are certified, from a
pilot on images disjoint from them (:func:`pilot_inputs`): square crops of the photographs
bundled with scikit-learn (``china.jpg`` and ``flower.jpg``, 427 x 640), or, when those
are not installed, crops of the Grace Hopper photograph that overlap none of the measured
crops (the bench's 32 measured crops cover 97% of it and leave no 32-pixel square: then no
pilot, and the rule's default prior, which depends on ``p*`` alone). The rule
(:func:`choose_prior`):

1. certify the pilot crops with the bench's fixed rule (``n0`` and ``n``) and keep the
   estimation counts ``k_i`` of the ``ok`` rows;
2. fit ``Pr(p_A)`` to them by maximum likelihood, atoms at 0 and 1 plus a Beta part
   (:func:`rstheory.distributions.fit`, binomial noise modelled);
3. for each candidate prior (:data:`CANDIDATES`: the rule's default
   :func:`rstheory.sequential.default_prior` ``(p*)`` and ``Beta(a, 1)``,
   ``a`` in 1, 2, 4, 8, 16), :func:`rstheory.sequential.compare_fixed` under the fitted
   law gives the smallest ``n_max`` that matches the fixed rule's certified fraction and
   the exact expected samples ``E[N]`` there;
4. keep the candidate with the least ``E[N]`` among those that match (ties: the first in
   :data:`CANDIDATES`); when none matches, the one with the largest certified fraction.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import NamedTuple

import numpy as np
from PIL import Image

from rstheory import distributions, sequential
from sampler.run import Input, read_rows, run

# Photographs bundled with installed packages, other than matplotlib's Grace Hopper:
# (package, path inside it).
PHOTOS = (("sklearn", "datasets/images/china.jpg"), ("sklearn", "datasets/images/flower.jpg"))
# The candidate priors besides the rule's default: Beta(a, 1), mean a / (a + 1).
CANDIDATES = ((1.0, 1.0), (2.0, 1.0), (4.0, 1.0), (8.0, 1.0), (16.0, 1.0))


class PriorChoice(NamedTuple):
    """Result of :func:`choose_prior`.

    Attributes:
      prior: ``(a, b)`` of the chosen prior.
      fit: :class:`rstheory.distributions.FitResult` of the pilot counts.
      table: one dict per candidate: ``prior``, ``default`` (whether it is the rule's
        default), ``matched``, ``n_max``, ``expected_samples``, ``certified_fraction``,
        ``fixed_certified_fraction`` (all under the fitted law).
    """

    prior: tuple[float, float]
    fit: distributions.FitResult
    table: list[dict]


def square_rects(height: int, width: int, count: int, *, seed: int, low: int = 150):
    """``count`` squares ``(y, x, side)`` in a ``height x width`` image: side uniform in
    ``[low, min(height, width) - 1]``, then the corner uniform where the square fits."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        side = int(rng.integers(low, min(height, width)))
        y, x = int(rng.integers(0, height - side + 1)), int(rng.integers(0, width - side + 1))
        out.append((y, x, side))
    return out


def overlaps(a, b) -> bool:
    """Whether the squares ``a`` and ``b`` (``(y, x, side)``) share a pixel."""
    (ya, xa, sa), (yb, xb, sb) = a, b
    return ya < yb + sb and yb < ya + sa and xa < xb + sb and xb < xa + sa


def photos() -> list[tuple[str, np.ndarray]]:
    """``(name, uint8 (H, W, 3))`` of each photograph of :data:`PHOTOS` that is installed."""
    out = []
    for package, rel in PHOTOS:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            continue
        path = Path(next(iter(spec.submodule_search_locations))) / rel
        if path.is_file():
            with Image.open(path) as img:
                out.append((f"{package}/{rel}", np.array(img.convert("RGB"), dtype=np.uint8)))
    return out


def pilot_inputs(folder: Path, count: int, measured, grace_hopper: np.ndarray | None):
    """Pilot crops written to ``folder`` and a line saying where they come from.

    ``count`` square crops (side 150 to the photo's shorter side) shared in turn among the
    photographs of :func:`photos`; without them, up to ``count`` crops of ``grace_hopper``
    (side 32 or more, 10,000 tries) that overlap none of the ``measured`` squares. Fewer
    than 2 crops: ``[]`` (no pilot).
    """
    found = photos()
    crops = []
    if found:
        for j, (name, image) in enumerate(found):
            share = len(range(j, count, len(found)))
            for y, x, side in square_rects(*image.shape[:2], share, seed=100 + j):
                crops.append((image[y : y + side, x : x + side], name))
        source = f"{count} crops of {', '.join(n for n, _ in found)} (other photographs)"
    elif grace_hopper is not None:
        h, w = grace_hopper.shape[:2]
        taken = []
        for rect in square_rects(h, w, 10_000, seed=100, low=32):
            if len(taken) == count:
                break
            if not any(overlaps(rect, m) for m in [*measured, *taken]):
                taken.append(rect)
        crops = [(grace_hopper[y : y + s, x : x + s], "grace_hopper.jpg") for y, x, s in taken]
        source = (
            f"{len(crops)} crops of grace_hopper.jpg overlapping none of the measured crops "
            "(no other photograph installed)"
        )
    else:
        source = "no photograph installed"
    if len(crops) < 2:
        return [], source + ": too few for a pilot"
    out = []
    for i, (crop, _) in enumerate(crops):
        path = folder / f"pilot-{i}.png"
        Image.fromarray(crop).save(path)
        out.append(Input(f"pilot-{i}", path, None))
    return out, source


def choose_prior(k, n: int, *, radius, sigma, alpha, batch_size) -> PriorChoice:
    """The prior of :data:`CANDIDATES` (and the default) with the least exact ``E[N]``
    under the law fitted to the pilot counts ``k`` (out of ``n``), among those whose
    sequential rule matches the fixed-``n`` certified fraction (module docstring)."""
    fitted = distributions.fit(np.asarray(k), n)
    p_star = sequential.target_probability(radius=radius, sigma=sigma)
    default = tuple(float(v) for v in sequential.default_prior(p_star))
    table = []
    for prior in (default, *CANDIDATES):
        c = sequential.compare_fixed(
            fitted.distribution,
            radius=radius,
            sigma=sigma,
            alpha=alpha,
            batch_size=batch_size,
            n=n,
            prior=prior,
        )
        table.append(
            dict(
                prior=prior,
                default=prior == default and not table,
                matched=bool(c.matched),
                n_max=int(c.n_max),
                expected_samples=float(c.expected_samples),
                certified_fraction=float(c.certified_fraction),
                fixed_certified_fraction=float(c.fixed_certified_fraction),
            )
        )
    if any(t["matched"] for t in table):
        best = min((t for t in table if t["matched"]), key=lambda t: t["expected_samples"])
    else:
        best = max(table, key=lambda t: t["certified_fraction"])
    return PriorChoice(prior=best["prior"], fit=fitted, table=table)


def pilot_prior(model, pilot, folder: Path, cfg, *, radius, batch_size, in_flight) -> dict:
    """Certify ``pilot`` with the fixed ``cfg`` (one campaign into ``folder``), print and
    return the :func:`choose_prior` choice: ``prior`` (None without a pilot: the rule's
    default), ``counts``, ``fit`` and ``table``."""
    if not pilot:
        print("  no pilot: the rule's default prior")
        return dict(prior=None, counts=[], fit=None, table=[])
    out = folder / "pilot.jsonl"
    kw = dict(oracle_name="bench", model_name="bench", progress=False)
    run(model, pilot, out, config=cfg, oracle=None, in_flight=in_flight, **kw)
    ks = [r["k"] for r in read_rows(out) if r["status"] == "ok"]
    choice = choose_prior(
        ks, cfg.n, radius=radius, sigma=cfg.sigma, alpha=cfg.alpha, batch_size=batch_size
    )
    f = choice.fit
    print(
        f"  pilot counts (k of n = {cfg.n}): {sorted(ks)}\n"
        f"  fitted Pr(p_A): w0 {f.w0:.3f}, w1 {f.w1:.3f}, Beta({f.a:.3g}, {f.b:.3g}) "
        f"(mean {float(f.distribution.mean()):.3f})"
    )
    for t in choice.table:
        a, b = t["prior"]
        mark = " <- chosen" if t["prior"] == choice.prior else ""
        print(
            f"  prior Beta({a:.3g}, {b:.3g}){' (default)' if t['default'] else ''}: "
            f"matched {t['matched']}, n_max {t['n_max']}, E[N] {t['expected_samples']:.1f} "
            f"(fixed n {cfg.n}), certified {t['certified_fraction']:.3f} "
            f"(fixed {t['fixed_certified_fraction']:.3f}){mark}"
        )
    fit = dict(a=f.a, b=f.b, w0=f.w0, w1=f.w1, mean=float(f.distribution.mean()))
    return dict(prior=list(choice.prior), counts=ks, fit=fit, table=choice.table)
