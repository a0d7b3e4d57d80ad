r"""The anytime-valid pieces under optional stopping, checked exactly (enumeration, mpmath).

Registered theorems:

``confseq.betting_martingale``
  The betting capital of :func:`rstheory.bounds.betting_cs_lower` is a martingale under
  its own mean: for i.i.d. Bernoulli(``m``) outcomes ``E_m[K_t(m)] = 1`` at every ``t``
  (the bets are predictable). Checked by enumerating all ``2^T`` paths and summing
  ``K_t(m)`` (rstheory's float64 capital) with mpmath binomial path weights. A bet that
  peeked at the outcome it bets on breaks the identity at the first step. Then Ville's
  inequality for rstheory's bounds themselves: the exact probability, over the same
  paths, that the lower bound ever exceeds ``p`` up to ``T`` is ``<= alpha``.
``sequential.type_one_error``
  The sequential rule of :mod:`rstheory.sequential` certifies a radius ``r`` while
  ``p_A < p* = Phi(r / sigma)`` with probability ``<= alpha``, whatever the stopping. The
  certify probability is nondecreasing in ``p`` (a coupling: a larger ``p`` gives
  pointwise larger counts, which can only certify earlier and stop for futility later),
  so its supremum over ``p < p*`` is its value at ``p*``. That value and the futility
  probability and ``E[N]`` are computed here by a forward recursion in mpmath over
  rstheory's integer boundaries (independent of rstheory's numpy recursion, which must
  agree), and compared with ``alpha``. The same recursion on the naive rule, a fixed-n
  Clopper-Pearson bound re-checked after every batch, exceeds ``alpha``: that is what
  the check guards against.
"""

from __future__ import annotations

import itertools

import mpmath
import numpy as np

from proofs_check._binomial_mp import log_pmf
from proofs_check._registry import CheckResult, theorem
from rstheory import sequential
from rstheory._bounds_betting import log_capital

__all__ = [
    "check_betting_martingale",
    "check_betting_ville",
    "check_type_one_error",
    "stopping_law_mp",
]

T_PATHS = 12  # 4096 paths
BETTING_GRID = (0.05, 0.2, 0.5, 0.8, 0.95)
BETTING_ALPHA = 0.1
# float64 capital: each log step is accurate to ~1e-16, 12 steps and exp: ~1e-14 relative.
RTOL_MARTINGALE = 1e-12
RTOL_RECURSION = 1e-10
# (radius, sigma, alpha, batch_size, n_max)
SEQUENTIAL_RULES = (
    (0.25, 0.5, 0.05, 10, 200),
    (0.5, 0.5, 0.001, 25, 500),
    (0.1, 0.25, 0.01, 1, 60),
)


def _paths(T):
    return np.array(list(itertools.product((0.0, 1.0), repeat=T)))


def _weights(paths, m):
    """mpmath probability of each path under i.i.d. Bernoulli(m)."""
    m = mpmath.mpf(m)
    k = paths.sum(axis=1).astype(int)
    T = paths.shape[1]
    by_k = [m**j * (1 - m) ** (T - j) for j in range(T + 1)]
    return [by_k[j] for j in k]


def check_betting_martingale(
    dps: int = 50, *, T=T_PATHS, grid=BETTING_GRID, alpha=BETTING_ALPHA
) -> CheckResult:
    """``E_m[K_t(m)] = 1`` for ``t = 1..T`` and each ``m`` of ``grid`` (exact enumeration)."""
    import jax
    import jax.numpy as jnp

    paths = _paths(T)
    g = jnp.asarray(grid, dtype=jnp.float64)
    logk = np.asarray(
        jax.vmap(log_capital, in_axes=(0, None, None))(jnp.asarray(paths), jnp.float64(alpha), g)
    )  # (paths, T, G)
    worst, at = 0.0, ""
    with mpmath.workdps(dps):
        for j, m in enumerate(grid):
            w = _weights(paths, m)
            for t in range(T):
                mean = mpmath.fsum(
                    wi * mpmath.exp(mpmath.mpf(float(x)))
                    for wi, x in zip(w, logk[:, t, j], strict=True)
                )
                err = float(abs(mean - 1))
                if err > worst:
                    worst, at = err, f"m={m}, t={t + 1}"
    detail = (
        f"|E_m[K_t(m)] - 1| over {len(paths)} paths, t <= {T}, m in {list(grid)}: "
        f"worst {worst:.3g} at {at}"
    )
    return CheckResult(worst <= RTOL_MARTINGALE, worst, RTOL_MARTINGALE, detail)


def check_betting_ville(
    dps: int = 50, *, T=T_PATHS, ps=(0.1, 0.3, 0.55, 0.8), alpha=BETTING_ALPHA
) -> CheckResult:
    """``P_p[exists t <= T: lower_t > p] <= alpha`` for rstheory's betting bounds (enumeration)."""
    from rstheory.bounds import betting_cs_lower

    paths = _paths(T)
    lower = np.asarray(betting_cs_lower(paths, alpha=alpha, grid_size=200))  # (paths, T)
    worst, at = mpmath.mpf(0), None
    with mpmath.workdps(dps):
        for p in ps:
            w = _weights(paths, p)
            miss = (lower > p).any(axis=1)
            prob = mpmath.fsum(wi for wi, bad in zip(w, miss, strict=True) if bad)
            if prob >= worst:
                worst, at = prob, p
    detail = (
        f"max over p in {list(ps)} of P[lower_t > p for some t <= {T}] = {float(worst):.4g} "
        f"(alpha {alpha}) at p={at}"
    )
    return CheckResult(worst <= alpha, float(worst), alpha, detail)


@theorem(
    "confseq.betting_martingale",
    statement="The betting capital K_t(m) = prod (1 + lambda_i(m)(X_i - m)) with predictable bets "
    "is a martingale under mean m (E_m K_t(m) = 1), so by Ville's inequality the betting lower "
    "bound exceeds p at some t with probability <= alpha.",
    source="Waudby-Smith & Ramdas (2023), JRSS-B 86(1), Thm 3 and Eq. 26; Ville (1939)",
)
def _check_betting(dps: int = 50) -> CheckResult:
    """Both checks; the error reported is the martingale identity's (Ville's is in the detail)."""
    identity, ville = check_betting_martingale(dps), check_betting_ville(dps)
    return CheckResult(
        identity.passed and ville.passed,
        identity.max_error,
        identity.tolerance,
        f"{identity.detail}; {ville.detail}",
    )


def stopping_law_mp(p, bounds: sequential.Boundaries):
    """``(P[certify], P[futility], E[N])`` of the rule with ``bounds`` at true ``p`` (mpmath).

    Forward recursion over the count ``k`` with the full state vector (no band, no pruning):
    the law of ``k`` at each checkpoint among the paths still running.
    """
    p = mpmath.mpf(p)
    ns = [int(x) for x in bounds.checkpoints]
    alive = {0: mpmath.mpf(1)}
    cert = fut = expected = mpmath.mpf(0)
    prev = 0
    for j, n_j in enumerate(ns):
        m = n_j - prev
        prev = n_j
        pmf = [mpmath.exp(log_pmf(x, m, p)) for x in range(m + 1)]
        new: dict[int, mpmath.mpf] = {}
        for k, mass in alive.items():
            for x, q in enumerate(pmf):
                new[k + x] = new.get(k + x, mpmath.mpf(0)) + mass * q
        alive = {}
        for k, mass in new.items():
            if k >= bounds.k_certify[j]:
                cert += mass
                expected += n_j * mass
            elif k <= bounds.k_futile[j]:
                fut += mass
                expected += n_j * mass
            else:
                alive[k] = mass
    expected += ns[-1] * mpmath.fsum(alive.values())
    return cert, fut, expected


@theorem(
    "sequential.type_one_error",
    statement="The sequential rule (stop and certify when the beta-binomial confidence sequence's "
    "lower end reaches p* = Phi(r/sigma), stop for futility when its upper end falls below p*) "
    "certifies radius r while p_A < p* with probability <= alpha; re-checking a fixed-n "
    "Clopper-Pearson bound after every batch does not.",
    source="Ville's inequality for the Robbins (1970) mixture; monotone coupling in p",
)
def check_type_one_error(dps: int = 30, *, rules=SEQUENTIAL_RULES) -> CheckResult:
    """``P_{p*}[certify] <= alpha`` (mpmath recursion), rstheory's recursion agreeing to 1e-10,
    and the naive re-checked Clopper-Pearson rule above ``alpha`` on the first rule."""
    worst_ratio, worst_rel, at, lines = 0.0, 0.0, "", []
    naive_exceeds = False
    with mpmath.workdps(dps):
        for i, (r, s, a, bs, n_max) in enumerate(rules):
            b = sequential.boundaries(radius=r, sigma=s, alpha=a, batch_size=bs, n_max=n_max)
            cert, fut, en = stopping_law_mp(b.p_star, b)
            oc = sequential.operating_characteristics(np.array([b.p_star]), bounds=b)
            for _name, mine, ref in (
                ("certify", oc.certify[0], cert),
                ("futility", oc.futility[0], fut),
                ("E[N]", oc.expected_samples[0], en),
            ):
                rel = float(
                    abs(mpmath.mpf(float(mine)) - ref) / max(abs(ref), mpmath.mpf(10) ** -12)
                )
                worst_rel = max(worst_rel, rel)
            ratio = float(cert / a)
            if ratio >= worst_ratio:
                worst_ratio, at = ratio, f"r={r}, sigma={s}, alpha={a}, batch={bs}, n_max={n_max}"
            lines.append(f"P_p*[certify] = {float(cert):.3g} (alpha {a})")
            if i == 0:
                naive = sequential.boundaries(
                    radius=r, sigma=s, alpha=a, batch_size=bs, n_max=n_max, method="clopper_pearson"
                )
                naive_cert = stopping_law_mp(naive.p_star, naive)[0]
                naive_exceeds = naive_cert > a
                lines.append(f"naive CP re-checked every {bs}: {float(naive_cert):.3g} > alpha {a}")
    passed = worst_ratio <= 1.0 and worst_rel <= RTOL_RECURSION and naive_exceeds
    detail = (
        f"{'; '.join(lines)}; worst P/alpha = {worst_ratio:.3g} at {at}; rstheory's recursion "
        f"vs mpmath: worst relative {worst_rel:.3g} (tol {RTOL_RECURSION:g})"
    )
    return CheckResult(passed, worst_ratio, 1.0, detail)
