"""Gauss-Jacobi quadrature on [-1, 1] with weights normalized to sum 1.

Used by :class:`rstheory.distributions.Beta` for its quadrature: the Jacobi weight
``(1 - x)^alpha (1 + x)^beta`` is the Beta density after a change of variable.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.linalg
import scipy.special

__all__ = ["gauss_jacobi", "gauss_jacobi_golub_welsch"]


def gauss_jacobi_golub_welsch(num: int, alpha: float, beta: float):
    """Nodes on [-1, 1] and normalized weights for (1 - x)^alpha (1 + x)^beta.

    Golub-Welsch on the monic Jacobi recurrence (the same coefficients as scipy's
    ``roots_jacobi``); the weights come from the eigenvectors, so they never form the total
    mass ``2^(alpha+beta+1) B(alpha+1, beta+1)``, which overflows for large parameters.
    """
    k = np.arange(num, dtype=np.float64)
    s = 2.0 * k + alpha + beta
    with np.errstate(divide="ignore", invalid="ignore"):
        diag = np.where(
            k == 0, (beta - alpha) / (2.0 + alpha + beta), (beta**2 - alpha**2) / (s * (s + 2.0))
        )
    kk = k[1:]
    s1 = 2.0 * kk + alpha + beta
    off = (2.0 / s1) * np.sqrt((kk + alpha) * (kk + beta) / (s1 + 1.0))
    off = off * np.where(
        kk == 1, 1.0, np.sqrt(kk * (kk + alpha + beta) / np.where(kk == 1, 1.0, s1 - 1.0))
    )
    x, v = scipy.linalg.eigh_tridiagonal(diag, off)
    w = v[0, :] ** 2
    return x, w / w.sum()


def gauss_jacobi(num: int, alpha: float, beta: float):
    """Gauss-Jacobi rule, scipy.special.roots_jacobi where its weights are finite."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        x, w = scipy.special.roots_jacobi(num, alpha, beta)
    if np.all(np.isfinite(x)) and np.all(np.isfinite(w)) and np.isfinite(w.sum()) and w.sum() > 0:
        return np.asarray(x, dtype=np.float64), np.asarray(w / w.sum(), dtype=np.float64)
    return gauss_jacobi_golub_welsch(num, alpha, beta)
