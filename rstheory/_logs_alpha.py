r"""The certificate level of a log, inferred from its printed radii (:mod:`rstheory._logs`).

A run at level ``alpha`` prints ``r = sigma Phi^-1(cp_lower(k, n, alpha))`` for an integer
``k`` (Cohen, Rosenfeld & Kolter 2019, Section 3.2, CERTIFY), so at the wrong level some
printed radii are reproduced by no count within their rounding (:func:`count_interval`).
The largest radius is the sharpest witness: ``k = n`` caps it at
``sigma Phi^-1(alpha^(1/n))``, which grows as ``alpha`` grows. :func:`fit_alpha` counts,
for each candidate level, the certified inputs that no count reproduces, and chooses the
candidate with the fewest; a tie (the radii cannot tell the levels apart) keeps the stated
level when it is among the tied, else the smallest tied level (the most conservative).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rstheory import _jax  # noqa: F401  (float64 before any array)
from rstheory._logs_counts import CountInterval, count_interval, half_width

__all__ = ["ALPHA_CANDIDATES", "AlphaFit", "fit_alpha", "recover_interval"]

# Levels tried by alpha="infer": the ones randomized-smoothing papers use.
ALPHA_CANDIDATES = (0.1, 0.05, 0.01, 0.001)
# Largest |cp_lower(k) - pA| of a full-precision pA that counts as reproduced.
EXACT_TOL = 1e-9


class AlphaFit(NamedTuple):
    """Result of :func:`fit_alpha`.

    Attributes:
      alpha: the chosen level.
      stated: the level the file or the caller stated (Cohen et al.'s 0.001 when neither).
      candidates: the levels tried.
      inconsistent: per candidate, the certified inputs whose printed radius (or ``pA``) no
        count reproduces at that level.
      tied: the candidates with the fewest inconsistent inputs (more than one: the radii
        do not single out a level).
      certified: the certified inputs, the evidence.
    """

    alpha: float
    stated: float
    candidates: tuple[float, ...]
    inconsistent: tuple[int, ...]
    tied: tuple[float, ...]
    certified: int


def recover_interval(radius, radius_text, p_lower, *, n, alpha, sigma) -> CountInterval:
    """Counts of one log at one level: exact from a full-precision ``p_lower`` (the 2024
    CSV's ``pA``), else the interval of the printed radii (:func:`count_interval`).
    Shapes ``(m,)``; a ``pA`` is consistent when some ``cp_lower(k, n, alpha)`` lies within
    ``1e-9`` of it."""
    if p_lower is not None:
        from rstheory._published import recover_counts

        k, mismatch = recover_counts(p_lower, n, alpha=alpha)
        return CountInterval(k, k, k, ~(mismatch > EXACT_TOL))
    return count_interval(
        radius, n=n, alpha=alpha, sigma=float(sigma), half_width=half_width(radius_text)
    )


def fit_alpha(
    radius, radius_text, p_lower=None, *, n, sigma, stated=0.001, candidates=ALPHA_CANDIDATES
) -> AlphaFit:
    """The level among ``candidates`` whose bound reproduces the most printed radii (module
    docstring). ``radius`` ``(m,)`` floats (0 on abstention), ``radius_text`` the same as
    printed, ``p_lower`` the full-precision bounds when the file holds them.

    Example (the largest radius 1.96 of this log exceeds ``0.5 Phi^-1(0.001^(1/n))``):
      >>> from rstheory import analyze
      >>> fit = analyze.read_log("data/cohen2019/certify/imagenet/resnet50/noise_0.50/"
      ...                        "test/sigma_0.50", n=100_000, alpha="infer").alpha_fit
      >>> fit.alpha, fit.stated, dict(zip(fit.candidates, fit.inconsistent))[0.001]
      (0.01, 0.001, 95)
    """
    radius = np.asarray(radius, dtype=np.float64)
    cert = radius > 0
    bad = []
    for a in candidates:
        ci = recover_interval(radius, radius_text, p_lower, n=n, alpha=a, sigma=sigma)
        bad.append(int((~ci.consistent[cert]).sum()))
    tied = tuple(a for a, b in zip(candidates, bad, strict=True) if b == min(bad))
    chosen = stated if any(abs(a - stated) <= 1e-12 * stated for a in tied) else min(tied)
    return AlphaFit(
        float(chosen),
        float(stated),
        tuple(float(a) for a in candidates),
        tuple(bad),
        tuple(float(a) for a in tied),
        int(cert.sum()),
    )
