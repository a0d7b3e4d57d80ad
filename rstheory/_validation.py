"""Input validation at the Python boundary.

Policy (one rule for the whole package):

* Public functions of :mod:`rstheory` check their arguments eagerly, on the
  concrete values, *before* anything is traced or compiled. A bad value raises
  :class:`ValueError` whose message names the argument and its allowed range.
* When a public function is itself called under a user's ``jax.jit`` (its
  arguments are tracers), values cannot be inspected: the checks that need
  values are skipped and the numerical core returns NaN for out-of-domain
  entries. Shapes are still checked at trace time.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "is_traced",
    "check_counts",
    "check_alpha",
    "check_sigma",
    "check_probability",
    "as_f64",
]


def is_traced(*xs) -> bool:
    """True when any argument is a JAX tracer (values unknown at this point)."""
    return any(isinstance(x, jax.core.Tracer) for x in xs)


def _show(v) -> str:
    """A value as Python prints it (``990``, not numpy 2's ``np.int64(990)``)."""
    return repr(np.asarray(v).item())


def _as_numpy(name: str, x) -> np.ndarray:
    try:
        arr = np.asarray(x)
    except Exception as err:  # pragma: no cover - numpy raises many kinds
        raise ValueError(f"{name} must be numeric array-like, got {type(x).__name__}") from err
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"{name} must be numeric, got dtype {arr.dtype}")
    if np.iscomplexobj(arr):
        raise ValueError(f"{name} must be real, got dtype {arr.dtype}")
    return arr


def _check_integer(name: str, arr: np.ndarray) -> np.ndarray:
    if np.issubdtype(arr.dtype, np.floating):
        if np.isnan(arr).any():
            raise ValueError(f"{name} must not be NaN")
        if not np.isfinite(arr).all() or (arr != np.round(arr)).any():
            bad = arr[(~np.isfinite(arr)) | (arr != np.round(arr))].ravel()[0]
            raise ValueError(f"{name} must be integer-valued, got {_show(bad)}")
    return arr


def check_counts(k, n, *, k_name: str = "k", n_name: str = "n") -> None:
    """Validate vote counts: integers with ``0 <= k <= n`` and ``n >= 1``.

    Raises:
      ValueError: naming the argument and its allowed range.
    """
    if is_traced(k, n):
        return
    ka = _check_integer(k_name, _as_numpy(k_name, k))
    na = _check_integer(n_name, _as_numpy(n_name, n))
    if (na < 1).any():
        raise ValueError(f"{n_name} must be an integer >= 1, got {_show(na[na < 1].ravel()[0])}")
    if (ka < 0).any():
        raise ValueError(f"{k_name} must be an integer in [0, {n_name}], got {_show(ka[ka < 0].ravel()[0])}")
    try:
        over = ka > na
    except ValueError as err:
        raise ValueError(
            f"{k_name} and {n_name} must broadcast, got shapes {ka.shape} and {na.shape}"
        ) from err
    if over.any():
        kb, nb = np.broadcast_arrays(ka, na)
        i = np.flatnonzero(over)[0]  # over has the broadcast shape of kb, nb
        raise ValueError(
            f"{k_name} must be an integer in [0, {n_name}], got {k_name}={_show(kb.ravel()[i])} "
            f"> {n_name}={_show(nb.ravel()[i])}"
        )


def check_alpha(alpha, *, name: str = "alpha", high: float = 1.0) -> None:
    """Validate a significance level: real, not NaN, ``0 < alpha < high``."""
    if is_traced(alpha):
        return
    a = _as_numpy(name, alpha)
    if np.isnan(a).any():
        raise ValueError(f"{name} must not be NaN; allowed range is (0, {high:g})")
    bad = (a <= 0) | (a >= high)
    if bad.any():
        raise ValueError(f"{name} must lie in the open interval (0, {high:g}), got {_show(a[bad].ravel()[0])}")


def check_sigma(sigma, *, name: str = "sigma") -> None:
    """Validate a noise level: finite and ``> 0``."""
    if is_traced(sigma):
        return
    s = _as_numpy(name, sigma)
    if np.isnan(s).any():
        raise ValueError(f"{name} must not be NaN; allowed range is (0, inf)")
    bad = (s <= 0) | ~np.isfinite(s)
    if bad.any():
        raise ValueError(f"{name} must be finite and > 0, got {_show(s[bad].ravel()[0])}")


def check_probability(p, *, name: str) -> None:
    """Validate a probability: not NaN, in the closed interval [0, 1]."""
    if is_traced(p):
        return
    a = _as_numpy(name, p)
    if np.isnan(a).any():
        raise ValueError(f"{name} must not be NaN; allowed range is [0, 1]")
    bad = (a < 0) | (a > 1)
    if bad.any():
        raise ValueError(f"{name} must lie in [0, 1], got {_show(a[bad].ravel()[0])}")


def as_f64(x) -> jax.Array:
    """Convert to a float64 JAX array (requires ``jax_enable_x64``)."""
    return jnp.asarray(x, dtype=jnp.float64)

