r"""PREDICT's rates by exact enumeration at mpmath's working precision.

Cohen, Rosenfeld & Kolter (2019), Sec. 3.2, Algorithm PREDICT: from ``n`` samples with
class counts ``x = (x_1, ..., x_K) ~ Multinomial(n; p)``, take the top count ``t`` and the
second-largest ``s``; return the class of ``t`` when the two-sided binomial test of ``t``
against ``Bin(t + s, 1/2)`` passes at level ``alpha``, otherwise abstain (a tie at the top
has p-value 1). Here the decision comes from a *rule*, ``(t, s) -> returns``, tabulated once
for every ``t >= s``, ``t + s <= n``, and the probability of each outcome is the
multinomial mass

.. math:: P[x] = \frac{n!}{\prod_c x_c!} \prod_c p_c^{x_c},

summed over all ``binom(n + K - 1, K - 1)`` count vectors (exact up to the working
precision; no float64 anywhere). The reference p-value is the exact sum of binomial
coefficients, :func:`exact_p_value`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import NamedTuple

import mpmath
import numpy as np

from proofs_check._binomial_mp import binomial_tail_ge, pmf_vector

__all__ = [
    "EXACT_M_MAX",
    "Rates",
    "compositions",
    "decide_rule",
    "enumerate_rates",
    "exact_p_value",
    "majority_rule",
    "mp_prob",
    "rule_tables",
    "two_class_rates",
]

# Up to this many trials the p-value is a sum of integers; above, mpmath's summed tail.
EXACT_M_MAX = 400


class Rates(NamedTuple):
    """Exact PREDICT rates for one ``(p, n)``: mpmath numbers summing to 1.

    Attributes:
      abstain: ``P[abstain]``; correct: ``P[return class 0]``; wrong: ``P[return another]``.
    """

    abstain: mpmath.mpf
    correct: mpmath.mpf
    wrong: mpmath.mpf


def mp_prob(q) -> mpmath.mpf:
    """A probability given as a :class:`fractions.Fraction`, int or str, at working precision."""
    f = Fraction(q)
    return mpmath.mpf(f.numerator) / f.denominator


def exact_p_value(n_a: int, n_b: int) -> mpmath.mpf:
    r"""The two-sided binomial p-value of ``n_a`` against ``Bin(m, 1/2)``, ``m = n_a + n_b``.

    The sum of ``P[X = j]`` over every ``j`` no more likely than ``n_a`` (the definition of
    :func:`scipy.stats.binomtest`); by the symmetry ``C(m, j) = C(m, m - j)`` these are
    ``j >= max(n_a, n_b)`` and ``j <= min(n_a, n_b)``. Exact integers up to
    :data:`EXACT_M_MAX` trials, mpmath's summed tail above.

    Example:
      >>> float(exact_p_value(10, 0)), float(exact_p_value(3, 3))
      (0.001953125, 1.0)
    """
    n_a, n_b = int(n_a), int(n_b)
    m, hi, lo = n_a + n_b, max(n_a, n_b), min(n_a, n_b)
    if hi == lo:
        return mpmath.mpf(1)
    if m <= EXACT_M_MAX:
        total = sum(math.comb(m, j) for j in range(hi, m + 1))
        total += sum(math.comb(m, j) for j in range(lo + 1))
        return mpmath.mpf(total) / mpmath.mpf(2) ** m
    return 2 * binomial_tail_ge(hi, m, mpmath.mpf(1) / 2)[0]


def decide_rule(decide, *, alpha: float) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """The rule ``(t, s) -> returns`` of a ``decide(n_a, n_b, *, alpha)`` like rstheory's."""

    def rule(t, s):
        return ~np.asarray(decide(t, s, alpha=alpha).abstain, dtype=bool)

    return rule


def majority_rule(t, s):
    """A plain majority vote: return the top class whenever it is unique (no test)."""
    return np.asarray(t) > np.asarray(s)


def rule_tables(rule, *, n_full: int, two_class_n=()) -> tuple[np.ndarray, dict]:
    """Every decision the enumerations need, from *one* vectorized call of ``rule``.

    Returns:
      ``(table, two_class)``: ``table[t, s]`` whether ``rule`` returns the top class at
      counts ``(t, s)``, bool ``(n_full + 1, n_full + 1)``, filled for ``t >= s`` and
      ``t + s <= n_full`` (False elsewhere); ``two_class[n][j]`` the same at
      ``(max(j, n - j), min(j, n - j))``, bool ``(n + 1,)``, for each ``n`` of
      ``two_class_n``. (One call: a jitted rule compiles once per array shape.)
    """
    t, s = np.meshgrid(np.arange(n_full + 1), np.arange(n_full + 1), indexing="ij")
    keep = (t >= s) & (t + s <= n_full)
    tops, seconds = [t[keep]], [s[keep]]
    for n in two_class_n:
        j = np.arange(n + 1)
        tops.append(np.maximum(j, n - j))
        seconds.append(np.minimum(j, n - j))
    sizes = np.cumsum([x.size for x in tops])[:-1]
    out = np.asarray(
        rule(np.concatenate(tops).astype(np.int64), np.concatenate(seconds).astype(np.int64)),
        dtype=bool,
    )
    parts = np.split(out, sizes)
    table = np.zeros((n_full + 1, n_full + 1), dtype=bool)
    table[keep] = parts[0]
    return table, dict(zip(two_class_n, parts[1:], strict=True))


def compositions(n: int, k: int):
    """Every ``k``-tuple of non-negative integers summing to ``n``."""
    if k == 1:
        yield (n,)
        return
    for first in range(n + 1):
        for rest in compositions(n - first, k - 1):
            yield (first, *rest)


def enumerate_rates(probs: Sequence, n: int, table: np.ndarray) -> Rates:
    """Exact rates for class probabilities ``probs`` (class 0 is "A") by full enumeration.

    Args:
      probs: mpmath probabilities summing to 1, ``(K,)``.
      n: number of samples.
      table: :func:`rule_tables`' ``table`` of the rule, for this ``n`` or a larger one.

    A rule that returns at a tie for the top count could return either class; such an
    outcome counts as wrong (the worst case).
    """
    k = len(probs)
    fact = [mpmath.mpf(1)]
    for j in range(1, n + 1):
        fact.append(fact[-1] * j)
    powers = [[p**j for j in range(n + 1)] for p in probs]
    abstain = correct = wrong = mpmath.mpf(0)
    for x in compositions(n, k):
        mass = fact[n]
        for c, xc in enumerate(x):
            mass *= powers[c][xc] / fact[xc]
        order = sorted(range(k), key=lambda c: -x[c])
        top, second = x[order[0]], x[order[1]]
        if not table[top, second]:
            abstain += mass
        elif order[0] == 0 and top > second:
            correct += mass
        else:
            wrong += mass
    return Rates(abstain, correct, wrong)


def two_class_rates(p_a, n: int, returns: np.ndarray, *, pmf=None) -> Rates:
    r"""Exact rates with two classes (``p_B = 1 - p_A``): a sum over ``n_A ~ Bin(n, p_A)``.

    ``returns[j]`` says whether the rule returns the top class at counts
    ``(max(j, n - j), min(j, n - j))``, bool ``(n + 1,)``; ``O(n)`` terms, so ``n`` of
    ``10^5`` is cheap. A return at a tie (``2 j = n``) counts as wrong, as in
    :func:`enumerate_rates`. ``pmf``: :func:`~proofs_check._binomial_mp.pmf_vector` of
    ``(n, p_a)`` when already computed.
    """
    pmf = pmf_vector(n, p_a) if pmf is None else pmf
    abstain = correct = wrong = mpmath.mpf(0)
    for j, mass in enumerate(pmf):
        if not returns[j]:
            abstain += mass
        elif 2 * j > n:
            correct += mass
        else:
            wrong += mass
    return Rates(abstain, correct, wrong)
