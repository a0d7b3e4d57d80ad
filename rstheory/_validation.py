"""Input validation at the Python boundary.

Policy (one rule for the whole package):

* Public functions of :mod:`rstheory` check their arguments eagerly, on the
  concrete values, *before* anything is traced or compiled. A bad value raises
  :class:`ValueError` whose message names the argument and its allowed range.
* When a public function is itself called under a user's ``jax.jit`` (its
  arguments are tracers), values cannot be inspected: the checks that need
  values are skipped and the numerical core returns NaN for out-of-domain
  entries. Shapes are still checked at trace time.

The checks need only NumPy: this module imports no JAX (:func:`as_f64` imports it when
called), so a command that refuses a bad argument answers before JAX loads.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import jax

__all__ = [
    "MAX_COUNT",
    "MAX_COUNT_NOTE",
    "as_f64",
    "check_alpha",
    "check_broadcast",
    "check_choice",
    "check_counts",
    "check_in_range",
    "check_int",
    "check_integers",
    "check_pilot_counts",
    "check_prior",
    "check_probability",
    "check_real",
    "check_sample_sizes",
    "check_sigma",
    "check_top_two",
    "is_traced",
]


# The largest count (``k`` or ``n``) the bounds take: the solver holds counts in float64 and
# forms ``n - k + 1`` and ``n + 1``, exact integers up to 2**53, so n + 1 <= 2**53.
MAX_COUNT = 2**53 - 1
MAX_COUNT_NOTE = f" (at most 2**53 - 1 = {MAX_COUNT}, the largest count float64 holds exactly)"


def is_traced(*xs) -> bool:
    """True when any argument is a JAX tracer (values unknown at this point).

    Without JAX imported nothing can be a tracer, so this never imports it."""
    jax = sys.modules.get("jax")
    if jax is None:
        return False
    return any(isinstance(x, jax.core.Tracer) for x in xs)


def show_value(v) -> str:
    """A value as Python prints it (``990``, not numpy 2's ``np.int64(990)``)."""
    return repr(np.asarray(v).item())


def as_numpy(name: str, x) -> np.ndarray:
    try:
        arr = np.asarray(x)
    except Exception as err:  # pragma: no cover - numpy raises many kinds
        raise ValueError(f"{name} must be numeric array-like, got {type(x).__name__}") from err
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"{name} must be numeric, got dtype {arr.dtype}")
    if np.iscomplexobj(arr):
        raise ValueError(f"{name} must be real, got dtype {arr.dtype}")
    return arr


def check_integer_valued(name: str, arr: np.ndarray) -> np.ndarray:
    if np.issubdtype(arr.dtype, np.floating):
        if np.isnan(arr).any():
            raise ValueError(f"{name} must not be NaN")
        if not np.isfinite(arr).all() or (arr != np.round(arr)).any():
            bad = arr[(~np.isfinite(arr)) | (arr != np.round(arr))].ravel()[0]
            raise ValueError(f"{name} must be integer-valued, got {show_value(bad)}")
    return arr


def _as_counts(name: str, x, allowed: str) -> np.ndarray:
    """``x`` as a numpy array of integer-valued numbers; ``allowed`` is the message's range."""
    arr = np.asarray(x)
    if arr.dtype == object and all(type(v) is int for v in arr.ravel()):
        # Python integers beyond int64 (10**20): numpy keeps them as objects
        bad = [v for v in arr.ravel() if not 0 <= v <= MAX_COUNT]
        if bad:
            raise ValueError(f"{name} must be {allowed}{MAX_COUNT_NOTE}, got {bad[0]}")
        return arr.astype(np.int64)
    return check_integer_valued(name, as_numpy(name, x))


def check_counts(k, n, *, k_name: str = "k", n_name: str = "n") -> None:
    """Validate vote counts: integers with ``0 <= k <= n`` and ``1 <= n <= MAX_COUNT``.

    :data:`MAX_COUNT` is ``2**53 - 1``: the bounds hold counts in float64, where
    ``n - k + 1`` and ``n + 1`` are exact up to there.

    Raises:
      ValueError: naming the argument and its allowed range.

    Example:
      >>> check_counts(10, 10**20)  # doctest: +ELLIPSIS
      Traceback (most recent call last):
      ...
      ValueError: n must be an integer >= 1 (at most 2**53 - 1 = 9007199254740991, ...), got 10...0
    """
    if is_traced(k, n):
        check_broadcast(**{k_name: k, n_name: n})
        return
    ka = _as_counts(k_name, k, f"an integer in [0, {n_name}]")
    na = _as_counts(n_name, n, "an integer >= 1")
    check_broadcast(**{k_name: ka, n_name: na})
    if (na < 1).any() or (na > MAX_COUNT).any():
        bad = na[(na < 1) | (na > MAX_COUNT)].ravel()[0]
        note = MAX_COUNT_NOTE if bad > MAX_COUNT else ""
        raise ValueError(f"{n_name} must be an integer >= 1{note}, got {show_value(bad)}")
    if (ka < 0).any():
        raise ValueError(
            f"{k_name} must be an integer in [0, {n_name}], got {show_value(ka[ka < 0].ravel()[0])}"
        )
    over = ka > na
    if over.any():
        kb, nb = np.broadcast_arrays(ka, na)
        i = np.flatnonzero(over)[0]  # over has the broadcast shape of kb, nb
        raise ValueError(
            f"{k_name} must be an integer in [0, {n_name}], got "
            f"{k_name}={show_value(kb.ravel()[i])} "
            f"> {n_name}={show_value(nb.ravel()[i])}"
        )


def check_broadcast(**arrays) -> tuple[int, ...]:
    """The broadcast shape of the named arrays (``None`` skipped), or a ValueError naming them.

    Shapes are known under ``jax.jit`` too, so this check runs on tracers as well.

    Example:
      >>> check_broadcast(k=[1, 2], n=10, sigma=[0.25, 0.5, 1.0])  # doctest: +ELLIPSIS
      Traceback (most recent call last):
      ...
      ValueError: sigma of shape (3,) does not broadcast with k (2,) (k, n and sigma must ...)
    """
    shapes = {name: np.shape(x) for name, x in arrays.items() if x is not None}
    so_far: tuple[int, ...] = ()
    for i, (name, shape) in enumerate(shapes.items()):
        try:
            so_far = np.broadcast_shapes(so_far, shape)
        except ValueError:
            before = [f"{m} {s}" for m, s in list(shapes.items())[:i] if s != ()]
            raise ValueError(
                f"{name} of shape {shape} does not broadcast with {_and(before)} "
                f"({_and(list(shapes))} must broadcast together)"
            ) from None
    return so_far


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def check_alpha(alpha, *, name: str = "alpha", high: float = 1.0) -> None:
    """Validate a significance level: real, not NaN, ``0 < alpha < high``."""
    if is_traced(alpha):
        return
    a = as_numpy(name, alpha)
    if np.isnan(a).any():
        raise ValueError(f"{name} must not be NaN; allowed range is (0, {high:g})")
    bad = (a <= 0) | (a >= high)
    if bad.any():
        raise ValueError(
            f"{name} must lie in the open interval (0, {high:g}), got "
            f"{show_value(a[bad].ravel()[0])}"
        )


def check_sigma(sigma, *, name: str = "sigma") -> None:
    """Validate a noise level: finite and ``> 0``."""
    if is_traced(sigma):
        return
    s = as_numpy(name, sigma)
    if np.isnan(s).any():
        raise ValueError(f"{name} must not be NaN; allowed range is (0, inf)")
    bad = (s <= 0) | ~np.isfinite(s)
    if bad.any():
        raise ValueError(f"{name} must be finite and > 0, got {show_value(s[bad].ravel()[0])}")


def _range(low: float, high: float, low_open: bool, high_open: bool) -> str:
    left = "(" if low_open or np.isinf(low) else "["
    right = ")" if high_open or np.isinf(high) else "]"
    return f"{left}{low:g}, {high:g}{right}"


def _outside(a, low: float, high: float, low_open: bool, high_open: bool):
    """Where ``a`` (an array or a float, no NaN) lies outside the range."""
    return ((a <= low) if low_open else (a < low)) | ((a >= high) if high_open else (a > high))


def check_in_range(
    x,
    *,
    name: str,
    low: float = -np.inf,
    high: float = np.inf,
    low_open: bool = False,
    high_open: bool = False,
) -> None:
    """Validate an array of reals: no NaN, every entry in the range (each end open or not)."""
    if is_traced(x):
        return
    a = as_numpy(name, x).astype(np.float64)
    rng = _range(low, high, low_open, high_open)
    if np.isnan(a).any():
        raise ValueError(f"{name} must not be NaN; allowed range is {rng}")
    bad = _outside(a, low, high, low_open, high_open)
    if bad.any():
        raise ValueError(f"{name} must lie in {rng}, got {show_value(a[bad].ravel()[0])}")


def check_probability(p, *, name: str) -> None:
    """Validate a probability: not NaN, in the closed interval [0, 1]."""
    check_in_range(p, name=name, low=0.0, high=1.0)


def check_integers(x, *, name: str, low: int = 1) -> np.ndarray:
    """Validate an array of integer-valued numbers ``>= low``; returns it as numpy."""
    if is_traced(x):
        return x
    a = check_integer_valued(name, as_numpy(name, x))
    if (a < low).any():
        raise ValueError(
            f"{name} must be an integer >= {low}, got {show_value(a[a < low].ravel()[0])}"
        )
    return a


def check_sample_sizes(n, *, name: str = "n") -> np.ndarray:
    """Validate sample sizes (integers ``>= 1``, a scalar or 1-D); a 1-D int64 array."""
    arr = check_integers(n, name=name, low=1)
    if arr.ndim > 1:
        raise ValueError(f"{name} must be a scalar or a 1-D array, got shape {arr.shape}")
    return np.atleast_1d(arr).astype(np.float64).astype(np.int64)


def as_f64(x) -> jax.Array:
    """Convert to a float64 JAX array (``jax_enable_x64`` is on: :mod:`rstheory._jax`)."""
    from rstheory._jax import jax

    return jax.numpy.asarray(x, dtype=jax.numpy.float64)


# --------------------------------------------------------------------------- scalars
# One rule for scalar parameters across the project (``sampler`` uses these too): an
# integer parameter takes a Python or numpy integer, or an integer-valued float such as
# ``1000.0``; it refuses bools, NaN, infinities, non-integer values and arrays. A real
# parameter takes any finite real scalar in its range. Messages name the argument and
# its allowed range.


def _scalar(name: str, x) -> float:
    if isinstance(x, (bool, np.bool_)):
        raise ValueError(f"{name} must be a number, got {x!r}")
    arr = as_numpy(name, x)
    if arr.ndim != 0:
        raise ValueError(f"{name} must be a scalar, got shape {arr.shape}")
    return float(arr)


def _int_range(low: int | None, high: int | None) -> str:
    if high is None:
        return "an integer" if low is None else f"an integer >= {low}"
    if low is None:
        return f"an integer <= {high}"
    return f"an integer in [{low}, {high}]"


def check_int(x, *, name: str, low: int | None = 1, high: int | None = None) -> int:
    """``x`` as an ``int`` after checking it is integer-valued and in ``[low, high]``.

    Example:
      >>> check_int(1000.0, name="n")
      1000
      >>> check_int(0, name="n")
      Traceback (most recent call last):
      ...
      ValueError: n must be an integer >= 1, got 0

    Integers are taken exactly (a seed such as ``2**63 - 1`` is not rounded through a
    float); only float inputs go through ``float``.
    """
    want = _int_range(low, high)
    if isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_)):
        i = int(x)
    else:
        try:
            v = _scalar(name, x)
        except ValueError:
            raise ValueError(f"{name} must be {want}, got {x!r}") from None
        if not np.isfinite(v) or v != np.floor(v):
            raise ValueError(f"{name} must be {want}, got {x!r}")
        i = int(v)
    if (low is not None and i < low) or (high is not None and i > high):
        raise ValueError(f"{name} must be {want}, got {i}")
    return i


def check_real(
    x,
    *,
    name: str,
    low: float = -np.inf,
    high: float = np.inf,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """``x`` as a ``float`` after checking it is a finite real scalar in the range.

    The range is ``[low, high]``, each end open when ``low_open`` / ``high_open``.

    Example:
      >>> check_real(0.25, name="sigma", low=0.0, low_open=True)
      0.25
      >>> check_real(0.0, name="sigma", low=0.0, low_open=True)
      Traceback (most recent call last):
      ...
      ValueError: sigma must lie in (0, inf), got 0.0
    """
    rng = _range(low, high, low_open, high_open)
    v = _scalar(name, x)
    if np.isnan(v):
        raise ValueError(f"{name} must not be NaN; allowed range is {rng}")
    if _outside(v, low, high, low_open, high_open) or not np.isfinite(v):
        raise ValueError(f"{name} must lie in {rng}, got {show_value(v)}")
    return v


def check_choice(x, *, name: str, choices) -> str:
    """``x`` after checking it is one of ``choices`` (strings); the message lists them.

    Example:
      >>> check_choice("wilson", name="method", choices=("clopper_pearson",))
      Traceback (most recent call last):
      ...
      ValueError: method must be one of ('clopper_pearson',), got 'wilson'
    """
    choices = tuple(choices)
    if not isinstance(x, str) or x not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {x!r}")
    return x


def check_prior(prior, *, name: str = "prior") -> tuple[float, float]:
    """A beta prior ``(a, b)``: a pair of finite numbers ``> 0``, returned as floats."""
    try:
        a, b = (float(v) for v in prior)
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"{name} must be a pair (a, b) of positive numbers, got {prior!r}"
        ) from err
    if not (np.isfinite(a) and np.isfinite(b) and a > 0 and b > 0):
        raise ValueError(f"{name} must be a pair (a, b) of finite numbers > 0, got {prior!r}")
    return a, b


def check_pilot_counts(
    k, n, *, min_inputs: int, caller: str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Pilot vote counts: integer arrays, ``k`` 1-D with ``min_inputs`` entries or more, ``n``
    a scalar or of ``k``'s shape, ``0 <= k <= n``; returned as int64 arrays of one shape.

    Shapes and sizes are checked before dtypes: numpy reads an empty list as an empty float
    array, so ``[]`` is reported as no counts, not as a float dtype. ``caller`` (a function
    name) is named in the message about too few counts.

    Example:
      >>> check_pilot_counts([], [], min_inputs=2, caller="fit")
      Traceback (most recent call last):
      ...
      ValueError: k and n must hold at least 2 count pairs (k_i, n_i) for fit, one per input; got 0
    """
    ka, na = as_numpy("k", k), as_numpy("n", n)
    if ka.ndim != 1:
        raise ValueError(f"k must be a 1-D array (one count per input), got shape {ka.shape}")
    if ka.size < min_inputs:
        pairs = "count pair" if min_inputs == 1 else "count pairs"
        used = f" for {caller}" if caller else ""
        raise ValueError(
            f"k and n must hold at least {min_inputs} {pairs} (k_i, n_i){used}, one per input; "
            f"got {ka.size}"
        )
    if na.ndim != 0 and na.shape != ka.shape:
        raise ValueError(f"n must be a scalar or have the shape of k {ka.shape}, got {na.shape}")
    for name, arr in (("k", ka), ("n", na)):
        if not (np.issubdtype(arr.dtype, np.integer)):
            raise ValueError(f"{name} must be an integer array, got dtype {arr.dtype}")
    if na.ndim == 0:
        na = np.full(ka.shape, na)
    check_counts(ka, na)
    return ka.astype(np.int64), na.astype(np.int64)


def check_top_two(p_a, p_b, *, a_name: str = "p_a", b_name: str = "p_b"):
    """Class probabilities of the top two classes: each in [0, 1], ``p_b <= p_a`` and
    ``p_a + p_b <= 1`` (up to ``1e-12``); returned as float64 numpy arrays.

    Example:
      >>> check_top_two(0.4, 0.5)
      Traceback (most recent call last):
      ...
      ValueError: p_b must be <= p_a (p_a is the top class), got p_a=0.4, p_b=0.5
    """
    check_probability(p_a, name=a_name)
    check_probability(p_b, name=b_name)
    a = np.asarray(p_a, dtype=np.float64)
    b = np.asarray(p_b, dtype=np.float64)
    check_broadcast(**{a_name: a, b_name: b})
    ab, bb = np.broadcast_arrays(a, b)
    bad = bb > ab
    if bad.any():
        i = np.flatnonzero(bad)[0]
        raise ValueError(
            f"{b_name} must be <= {a_name} ({a_name} is the top class), got "
            f"{a_name}={show_value(ab.ravel()[i])}, {b_name}={show_value(bb.ravel()[i])}"
        )
    over = ab + bb > 1.0 + 1e-12
    if over.any():
        i = np.flatnonzero(over)[0]
        raise ValueError(
            f"{a_name} + {b_name} must be <= 1, got "
            f"{a_name}={show_value(ab.ravel()[i])}, {b_name}={show_value(bb.ravel()[i])}"
        )
    return a, b
