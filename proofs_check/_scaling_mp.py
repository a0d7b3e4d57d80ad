"""The mpmath reference library of the scaling-law checks: laws of ``p`` as mpmath sees
them (:class:`MpDist`), the one-sided Clopper-Pearson bound with its abstention, the table of
radii, the exact expectations of the radius, Eq. (1) of Seferis, Kollias & Cheng (2024),
ECAI, as printed, and the first-order
constant ``K``. Nothing here calls rstheory: it is the independent side of each comparison.
All values are at mpmath's working precision."""

from __future__ import annotations

from collections.abc import Callable

import mpmath
import scipy.special

from proofs_check._binomial_mp import binomial_tail_ge, cp_root, pmf_vector
from proofs_check._normal_mp import phi_inverse_mp, phi_mp, z_mp

__all__ = [
    "MpDist",
    "constant_mp",
    "cp_lower_mp",
    "default_dists",
    "expectation_mp",
    "k_parts_mp",
    "k_pointwise_mp",
    "radius_table_mp",
    "shore_eq1_mp",
    "sup_k_mp",
]

SHORE_SCALE = "5.063"


class MpDist:
    """A law of ``p`` as mpmath sees it: atoms, uniform and Beta(a, b) parts.

    Args:
      atoms: ``((location, mass), ...)``.
      uniforms: ``((mass, low, high), ...)``: uniform on ``[low, high]``.
      betas: ``((mass, a, b), ...)``: Beta(a, b) on ``[0, 1]``, integers ``a, b >= 1``.
      name: label for the detail line.

    Example:
      >>> import mpmath
      >>> d = MpDist(uniforms=((1, 0.5, 1),), name="U[0.5,1]")
      >>> with mpmath.workdps(20):
      ...     m = d.moments(2)
      >>> [round(float(v), 12) for v in m]  # E[(1-p)^2], E[2p(1-p)], E[p^2]
      [0.083333333333, 0.333333333333, 0.583333333333]
    """

    def __init__(self, atoms=(), uniforms=(), betas=(), name: str = ""):
        self.atoms = tuple(atoms)
        self.uniforms = tuple(uniforms)
        self.betas = tuple(betas)
        self.name = name

    def moments(self, n: int) -> list:
        r"""``[E_p P[Bin(n, p) = k] for k = 0..n]`` in closed form, at the working precision.

        Atoms: the pmf itself. ``U[l, h]``: ``int_l^h C(n,k) p^k (1-p)^(n-k) dp =
        (P[Bin(n+1, l) <= k] - P[Bin(n+1, h) <= k]) / (n + 1)`` (the binomial-beta
        identity), divided by ``h - l``. Beta(a, b): ``C(n, k) B(k + a, n - k + b) / B(a, b)``
        (beta-binomial). Returns a list of ``n + 1`` mpmath numbers summing to 1.

        Example:
          >>> import mpmath
          >>> with mpmath.workdps(20):
          ...     m = MpDist(betas=((1, 8, 2),)).moments(1)  # P[K = 1] = E[p] = 0.8
          >>> [float(v) for v in m]
          [0.2, 0.8]
        """
        total = [mpmath.mpf(0)] * (n + 1)
        for loc, mass in self.atoms:
            pmf = pmf_vector(n, mpmath.mpf(loc))
            total = [t + mpmath.mpf(mass) * v for t, v in zip(total, pmf, strict=True)]
        for mass, low, high in self.uniforms:
            lo, hi = mpmath.mpf(low), mpmath.mpf(high)
            # P[Bin(n+1, x) <= k] for k = 0..n: cumulative sums of positive terms
            cdf_lo = _cumsum(pmf_vector(n + 1, lo))
            cdf_hi = _cumsum(pmf_vector(n + 1, hi))
            scale = mpmath.mpf(mass) / ((hi - lo) * (n + 1))
            total = [t + scale * (cdf_lo[k] - cdf_hi[k]) for k, t in enumerate(total)]
        for mass, a, b in self.betas:
            norm = mpmath.mpf(mass) / mpmath.beta(a, b)
            total = [
                t + norm * mpmath.binomial(n, k) * mpmath.beta(k + a, n - k + b)
                for k, t in enumerate(total)
            ]
        return total

    def quad(self, f: Callable):
        """``E[f(p)]`` with ``mpmath.quad`` (Gauss-Legendre) over each continuous part: the
        route the closed forms of :meth:`moments` are cross-checked with; ``f`` maps an mpmath
        number to one.

        Example:
          >>> import mpmath
          >>> d = MpDist(atoms=((1, 0.25),), uniforms=((0.75, 0.5, 1),))
          >>> with mpmath.workdps(20):
          ...     print(mpmath.nstr(d.quad(lambda p: p), 10))  # 0.25 + 0.75 * 0.75
          0.8125
        """
        total = mpmath.fsum(mpmath.mpf(m) * f(mpmath.mpf(x)) for x, m in self.atoms)
        for mass, low, high in self.uniforms:
            width = mpmath.mpf(high) - mpmath.mpf(low)
            total += mpmath.mpf(mass) / width * mpmath.quad(f, [low, high], method="gauss-legendre")
        for mass, a, b in self.betas:
            norm = mpmath.mpf(mass) / mpmath.beta(a, b)
            total += norm * mpmath.quad(
                lambda p, a=a, b=b: p ** (a - 1) * (1 - p) ** (b - 1) * f(p),
                [0, 1],
                method="gauss-legendre",
            )
        return total


def _cumsum(values: list) -> list:
    out, running = [], mpmath.mpf(0)
    for v in values:
        running += v
        out.append(running)
    return out


def default_dists():
    """The checked laws: ``[(rstheory distribution, MpDist), ...]``.

    PointMass(0.9), Uniform(0.5) on ``[0.5, 1]``, Beta(8, 2) and the mixture
    ``0.25 PointMass(1) + 0.75 Uniform(0.5)`` (an atom at 1: all votes on one class).

    Example:
      >>> [m.name for _, m in default_dists()]
      ['PointMass(0.9)', 'Uniform(0.5)', 'Beta(8,2)', '0.25 PointMass(1) + 0.75 Uniform(0.5)']
    """
    from rstheory.distributions import Beta, Mixture, PointMass, Uniform

    return [
        (PointMass(0.9), MpDist(atoms=((0.9, 1),), name="PointMass(0.9)")),
        (Uniform(0.5), MpDist(uniforms=((1, 0.5, 1),), name="Uniform(0.5)")),
        (Beta(8.0, 2.0), MpDist(betas=((1, 8, 2),), name="Beta(8,2)")),
        (
            Mixture([PointMass(1.0), Uniform(0.5)], [0.25, 0.75]),
            MpDist(
                atoms=((1, 0.25),),
                uniforms=((0.75, 0.5, 1),),
                name="0.25 PointMass(1) + 0.75 Uniform(0.5)",
            ),
        ),
    ]


def cp_lower_mp(k: int, n: int, alpha):
    """One-sided Clopper-Pearson lower bound at the working precision, or ``None`` when it
    is ``<= 1/2`` (abstain; decided exactly by ``P[Bin(n, 1/2) >= k] >= alpha``).

    :func:`proofs_check._binomial_mp.cp_root` (safeguarded Newton on the tail equation),
    started at scipy's float64 Beta quantile (two or three steps then reach ``dps``
    digits); ``L(n, n) = alpha^(1/n)``.

    Example:
      >>> import mpmath
      >>> with mpmath.workdps(30):
      ...     print(mpmath.nstr(cp_lower_mp(100, 100, 0.001), 6), cp_lower_mp(5, 10, 0.001))
      0.933254 None
    """
    a = mpmath.mpf(alpha)
    half = mpmath.mpf(1) / 2
    if k == 0 or binomial_tail_ge(k, n, half)[0] >= a:
        return None
    if k == n:
        return mpmath.exp(mpmath.log(a) / n)
    # start from scipy's float64 quantile of Beta(k, n - k + 1) (only a start: the root is
    # the one of the tail equation, to the working precision)
    start = float(scipy.special.betaincinv(k, n - k + 1, float(alpha)))
    return cp_root(k, n, a, "lower", start=start)[0]


def radius_table_mp(n: int, alpha, sigma) -> tuple[list, list]:
    """``([L(k, n) or None], [radius])`` for ``k = 0..n`` at the working precision
    (:func:`cp_lower_mp`; radius ``sigma Phi^-1(L)``, 0 on abstention).

    Example:
      >>> import mpmath
      >>> with mpmath.workdps(20):
      ...     lows, radius = radius_table_mp(10, 0.001, 1)
      >>> [k for k, lo in enumerate(lows) if lo is not None], mpmath.nstr(radius[10], 3)
      ([10], '0.00298')
    """
    lows = [cp_lower_mp(k, n, alpha) for k in range(n + 1)]
    s = mpmath.mpf(sigma)
    radius = [mpmath.mpf(0) if lo is None else s * phi_inverse_mp(lo) for lo in lows]
    return lows, radius


def expectation_mp(mp_dist: MpDist, n: int, alpha, sigma, radii=(), table=None, *, quad=False):
    """``(E[R_n], Pr[abstain], [Pr[R_n >= r] for r in radii])`` in mpmath.

    The full sum ``k = 0..n`` of ``E_p P[Bin(n, p) = k]`` times the mpmath radius
    ``sigma Phi^-1(L(k, n))`` (0 on abstention), and likewise for the indicators of
    abstention and of ``R >= r`` (``r = 0`` means certified, ``R > 0``). The expectation
    over ``p`` is :meth:`MpDist.moments` (closed form), or with ``quad=True``
    :meth:`MpDist.quad` of the sum (``mpmath.quad`` over ``p``). ``table`` is
    :func:`radius_table_mp`'s result, computed when left out.

    Example:
      >>> import mpmath
      >>> with mpmath.workdps(20):
      ...     r, ab, acc = expectation_mp(MpDist(atoms=((1, 1),)), 25, 0.001, 1, radii=(0,))
      >>> print(mpmath.nstr(r, 4), ab, acc[0])
      0.7017 0.0 1.0
    """
    lows, radius = radius_table_mp(n, alpha, sigma) if table is None else table
    abstain = [1 if lo is None else 0 for lo in lows]
    certified = [
        [
            1 if (lo is not None and (r == 0 or rad >= r)) else 0
            for lo, rad in zip(lows, radius, strict=True)
        ]
        for r in radii
    ]
    columns = [radius, abstain, *certified]
    if quad:
        cache: dict = {}

        def column_sum(col):
            def f(p):
                if p not in cache:
                    cache[p] = pmf_vector(n, p)
                return mpmath.fsum(w * c for w, c in zip(cache[p], col, strict=True) if c)

            return mp_dist.quad(f)

        values = [column_sum(col) for col in columns]
    else:
        m = mp_dist.moments(n)
        values = [mpmath.fsum(w * c for w, c in zip(m, col, strict=True) if c) for col in columns]
    mean_r, p_abstain, *acc = values
    return mean_r, p_abstain, acc


def shore_eq1_mp(p, n, alpha, sigma, exponent):
    """Eq. (1) of Seferis, Kollias & Cheng (2024), ECAI, as printed, at the working
    precision, with the given second exponent; returns ``(value, scale)``, ``scale`` the sum
    of the magnitudes of its terms.

    Example:
      >>> import mpmath
      >>> with mpmath.workdps(30):
      ...     v, _ = shore_eq1_mp(0.9, 1000, 0.001, 1, "-0.365")
      >>> print(mpmath.nstr(v, 5))
      1.1015
    """
    p, s = mpmath.mpf(p), mpmath.mpf(sigma)
    c = mpmath.mpf("0.135")
    z = z_mp(alpha, True)
    g = p ** mpmath.mpf("-0.365") * (1 - p) ** mpmath.mpf("0.5") + p ** mpmath.mpf("0.5") * (
        1 - p
    ) ** mpmath.mpf(exponent)
    a, b = p**c, (1 - p) ** c
    corr = c * z / mpmath.sqrt(n) * g
    scale = mpmath.mpf(SHORE_SCALE) * s
    return scale * (a - b - corr), scale * (a + b + abs(corr))


def k_parts_mp(p):
    p = mpmath.mpf(p)
    x = phi_inverse_mp(p)
    return mpmath.sqrt(p * (1 - p)) / phi_mp(x), x


def constant_mp(law):
    r"""``K = E[sqrt(p(1-p))/phi(Phi^-1(p))] / E[Phi^-1(p)]`` in mpmath, for an atom
    (a number) or ``U[low, high]`` (a pair, ``1/2 <= low < high <= 1``).

    For the uniform law the substitution ``p = Phi(x)`` (``dp = phi(x) dx``) removes both
    ``Phi^-1`` and the singularity at ``p = 1``:
    ``K = int_{x_a}^{x_b} sqrt(Phi(x) Phi(-x)) dx / (phi(x_a) - phi(x_b))``,
    ``x_a = Phi^-1(low)``, ``x_b = Phi^-1(high)`` (``+inf`` at 1), by ``mpmath.quad``.

    Example:
      >>> import mpmath
      >>> with mpmath.workdps(20):
      ...     print(mpmath.nstr(constant_mp((0.5, 1)), 5), mpmath.nstr(constant_mp(0.9), 4))
      2.0238 1.334
    """
    if not isinstance(law, tuple):
        return k_pointwise_mp(law)
    low, high = (mpmath.mpf(v) for v in law)
    xa = phi_inverse_mp(low)
    xb = mpmath.inf if high == 1 else phi_inverse_mp(high)
    num = mpmath.quad(lambda x: mpmath.sqrt(mpmath.ncdf(x) * mpmath.ncdf(-x)), [xa, xb])
    den = phi_mp(xa) - (0 if xb == mpmath.inf else phi_mp(xb))
    return num / den


def k_pointwise_mp(p):
    """``K(p) = sqrt(p(1-p)) / (phi(Phi^-1(p)) Phi^-1(p))`` at the working precision.

    Example:
      >>> import mpmath
      >>> with mpmath.workdps(20):
      ...     print(mpmath.nstr(k_pointwise_mp(0.9), 4))
      1.334
    """
    s, x = k_parts_mp(p)
    return s / x


def sup_k_mp(beta, p_max, grid: int = 64):
    """``sup K`` over ``[beta, p_max]`` in mpmath: the ends, the largest value on a uniform
    grid and, where that lies inside, a local maximum refined by ``mpmath.findroot`` on
    ``K'``. Returns ``(sup, argsup)``.

    Example:
      >>> import mpmath
      >>> with mpmath.workdps(20):
      ...     s, at = sup_k_mp(0.7, 0.99)
      >>> print(mpmath.nstr(s, 4), mpmath.nstr(at, 3))
      2.513 0.7
    """
    b, pm = mpmath.mpf(beta), mpmath.mpf(p_max)
    best = max(((k_pointwise_mp(b), b), (k_pointwise_mp(pm), pm)))
    if pm == b:
        return best
    pts = [b + (pm - b) * i / grid for i in range(grid + 1)]
    vals = [k_pointwise_mp(q) for q in pts]
    i = max(range(len(vals)), key=lambda j: vals[j])
    if 0 < i < grid and vals[i] > best[0]:
        at = mpmath.findroot(
            lambda q: mpmath.diff(k_pointwise_mp, q), (pts[i - 1], pts[i + 1]), solver="anderson"
        )
        best = max(best, (k_pointwise_mp(at), at))
    return best
