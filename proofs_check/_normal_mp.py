"""The standard normal at mpmath's working precision and in sympy: ``Phi^-1``, the density
``phi`` and the one- and two-sided ``z`` of a level ``alpha`` (mpmath), and ``Phi^-1`` and
``phi`` as sympy expressions (``Phi^-1(q) = sqrt(2) erfinv(2q - 1)``)."""

from __future__ import annotations

import mpmath
import sympy as sp

__all__ = ["phi_inv_sym", "phi_inverse_mp", "phi_mp", "phi_sym", "z_mp"]


def phi_inverse_mp(p) -> mpmath.mpf:
    """``Phi^-1(p) = sqrt(2) erfinv(2p - 1)`` at the working precision, ``p`` taken exactly.

    Example:
      >>> import mpmath
      >>> with mpmath.workdps(30):
      ...     print(mpmath.nstr(phi_inverse_mp(0.975), 10))
      1.959963985
    """
    p = mpmath.mpf(p)
    return mpmath.sqrt(2) * mpmath.erfinv(2 * p - 1)


def phi_mp(x):
    """The standard normal density at ``x``, at the working precision."""
    return mpmath.exp(-x * x / 2) / mpmath.sqrt(2 * mpmath.pi)


def z_mp(alpha, two_sided: bool):
    """``Phi^-1(1 - alpha)`` or ``Phi^-1(1 - alpha/2)`` at the working precision."""
    a = mpmath.mpf(alpha)
    return phi_inverse_mp(1 - a / 2 if two_sided else 1 - a)


def phi_inv_sym(q):
    """``Phi^-1(q)`` as a sympy expression."""
    return sp.sqrt(2) * sp.erfinv(2 * q - 1)


def phi_sym(x):
    """The standard normal density at ``x`` as a sympy expression."""
    return sp.exp(-(x**2) / 2) / sp.sqrt(2 * sp.pi)
