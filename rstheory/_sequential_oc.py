"""Exact operating characteristics of the sequential rule of :mod:`rstheory._sequential`.

For a true ``p`` the stopping time of the rule has an exactly computable law: a forward
recursion over the vote count between checkpoints (see :func:`operating_characteristics`).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.signal
import scipy.special
import scipy.stats

from rstheory._deprecation import keyword_only
from rstheory._sequential import (
    Boundaries,
)
from rstheory._validation import (
    check_probability,
)

__all__ = [
    "OperatingCharacteristics",
    "operating_characteristics",
]

# Nodes whose running mass falls below this leave the recursion (mass counted as undecided).
_PRUNE = 1e-15
# Convolutions with a batch pmf longer than this use the FFT; shorter ones are direct sums.
_DIRECT_MAX = 48


# ------------------------------------------------------------------------ exact recursion


class _Run(NamedTuple):
    certify: np.ndarray  # (P,) per node
    futility: np.ndarray  # (P,)
    undecided: np.ndarray  # (P,) reaching the last checkpoint undecided
    expected: np.ndarray  # (P,) E[samples] with n_max = the last checkpoint
    certify_at: np.ndarray  # (J,) weighted mass certifying at each checkpoint
    futility_at: np.ndarray  # (J,)


def _convolve(alive: np.ndarray, pmf: np.ndarray) -> np.ndarray:
    """Row-wise full convolution of ``(P, W)`` with ``(P, m + 1)``, shape ``(P, W + m)``."""
    m1 = pmf.shape[1]
    if m1 <= _DIRECT_MAX or alive.shape[1] <= 2:
        out = np.zeros((alive.shape[0], alive.shape[1] + m1 - 1))
        w = alive.shape[1]
        for x in range(m1):
            out[:, x : x + w] += alive * pmf[:, x : x + 1]
        return out
    out = scipy.signal.fftconvolve(alive, pmf, axes=1)
    np.maximum(out, 0.0, out=out)  # FFT round-off (~1e-17) must not give negative mass
    return out


def stopping_law(p: np.ndarray, w: np.ndarray, b: Boundaries) -> _Run:
    """Forward recursion of the stopping law for all nodes ``p`` (weights ``w``) at once."""
    ns, k_cert, k_fut = b.checkpoints, b.k_certify, b.k_futile
    P, J = p.size, ns.size
    cert, fut = np.zeros(P), np.zeros(P)
    expected = np.zeros(P)
    cert_at, fut_at = np.zeros(J), np.zeros(J)
    active = np.arange(P)  # nodes still in the recursion
    alive = np.ones((P, 1))  # running mass on k = lo, lo + 1, ... (start: k = 0 at n = 0)
    lo = 0
    prev = 0
    pmf_cache: dict[int, np.ndarray] = {}
    for j in range(J):
        m = int(ns[j] - prev)
        prev = int(ns[j])
        if m not in pmf_cache:
            pmf_cache[m] = scipy.stats.binom.pmf(np.arange(m + 1)[None, :], m, p[:, None])
        new = _convolve(alive, pmf_cache[m][active])
        ks = lo + np.arange(new.shape[1])  # counts of the columns
        c_cols = ks >= k_cert[j]
        f_cols = ks <= k_fut[j]
        c = new[:, c_cols].sum(axis=1)
        f = new[:, f_cols].sum(axis=1)
        cert[active] += c
        fut[active] += f
        expected[active] += ns[j] * (c + f)
        cert_at[j] = w[active] @ c
        fut_at[j] = w[active] @ f
        keep = ~(c_cols | f_cols)
        if not keep.any():  # no count continues: everything has stopped
            alive = np.zeros((active.size, 0))
            active = active[:0]
            break
        first = int(np.argmax(keep))
        last = int(keep.size - np.argmax(keep[::-1]))
        alive = new[:, first:last]
        lo = int(ks[first])
        mass = alive.sum(axis=1)
        stay = mass > _PRUNE
        if not stay.all():
            gone = active[~stay]
            expected[gone] += ns[-1] * mass[~stay]
            active, alive = active[stay], alive[stay]
        if active.size == 0:
            break
    undecided = np.clip(1.0 - cert - fut, 0.0, 1.0)
    if active.size:
        expected[active] += ns[-1] * alive.sum(axis=1)
    return _Run(cert, fut, undecided, expected, cert_at, fut_at)


class OperatingCharacteristics(NamedTuple):
    """Result of :func:`operating_characteristics`: the exact law of the rule for each ``p``.

    Attributes (float64, the shape of ``p``):
      expected_samples: ``E[N]``, the expected estimation samples (stopping checkpoint).
      certify: ``P[certify radius >= r]``.
      futility: ``P[stop for futility]``.
      undecided: ``P[reach n_max with neither]``; ``certify + futility + undecided = 1``.
      boundaries: the :class:`Boundaries` used.
    """

    expected_samples: np.ndarray
    certify: np.ndarray
    futility: np.ndarray
    undecided: np.ndarray
    boundaries: Boundaries


@keyword_only("bounds")
def operating_characteristics(p, *, bounds: Boundaries) -> OperatingCharacteristics:
    r"""Exact stopping law of the sequential rule when the true probability is ``p``.

    Forward recursion over the vote count (module docstring): with ``a_j(k)`` the
    probability of being still running at ``n_j`` with ``k`` votes,

    .. math::
        \tilde a_j(k) = \sum_x a_{j-1}(k - x)\,\binom{m_j}{x} p^x (1-p)^{m_j - x},\quad
        m_j = n_j - n_{j-1},

    ``P[certify at j] = sum_{k >= k^cert_j} ã_j(k)``, ``P[futile at j] = sum_{k <= k^fut_j}
    ã_j(k)``, and ``a_j`` is ``ã_j`` on the band between. ``E[N] = sum_j n_j P[stop at j]``
    (reaching ``n_max`` counts as a stop at ``n_max``).

    Args:
      p: true probability(ies) in ``[0, 1]``, any shape.
      bounds: from :func:`boundaries` (any method: the same recursion evaluates the naive
        Clopper-Pearson rule).

    Returns:
      :class:`OperatingCharacteristics`, arrays of the shape of ``p``.

    Example:
      >>> from rstheory.sequential import boundaries, operating_characteristics
      >>> b = boundaries(radius=0.5, sigma=0.5, alpha=0.001, batch_size=50, n_max=2000)
      >>> oc = operating_characteristics([0.5, 0.99], bounds=b)
      >>> [round(float(x), 1) for x in oc.expected_samples]
      [62.0, 104.0]
      >>> [round(float(x), 4) for x in oc.certify]
      [0.0, 1.0]
    """
    check_probability(p, name="p")
    arr = np.asarray(p, dtype=np.float64)
    if not isinstance(bounds, Boundaries):
        raise ValueError(
            "bounds must be a Boundaries from rstheory.sequential.boundaries, got "
            f"{type(bounds).__name__}"
        )
    flat = arr.reshape(-1)
    run = stopping_law(flat, np.full(flat.size, 1.0 / max(flat.size, 1)), bounds)
    shape = arr.shape
    return OperatingCharacteristics(
        run.expected.reshape(shape),
        run.certify.reshape(shape),
        run.futility.reshape(shape),
        run.undecided.reshape(shape),
        bounds,
    )
