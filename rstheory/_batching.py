"""Shape bucketing for the jitted entry points.

XLA compiles one program per input shape, and the solver's program takes seconds
to compile. Public functions therefore broadcast their (concrete) inputs, flatten
them, pad the flat length to the next power of two with a harmless fill value,
call the jitted core, and cut the result back: any batch of up to ``2**m`` elements
reuses one compiled program. Under a caller's ``jax.jit`` (tracer inputs) the core
is called directly on the broadcast arrays.
"""

from __future__ import annotations

import jax
import numpy as np

from rstheory import _jax  # noqa: F401  (float64 before any array)
from rstheory._validation import as_f64, is_traced

__all__ = ["call_bucketed"]


def call_bucketed(fn, args, fills):
    """Call ``fn(*args)`` on flattened, power-of-two padded float64 copies of ``args``.

    Args:
      fn: a jitted function of float64 arrays of equal shape returning a pytree of
        arrays of that shape.
      args: the array-likes (broadcastable).
      fills: one padding value per argument, inside the function's domain.

    Returns:
      ``fn``'s pytree with every leaf of the broadcast shape of ``args``.
    """
    if is_traced(*args):
        arrays = [as_f64(a) for a in args]
        return fn(*jax.numpy.broadcast_arrays(*arrays))
    host = [np.asarray(a, dtype=np.float64) for a in args]
    shape = np.broadcast_shapes(*(a.shape for a in host))
    size = int(np.prod(shape, dtype=np.int64))
    bucket = 1 << max(0, (size - 1).bit_length())
    padded = []
    for a, fill in zip(host, fills, strict=True):
        flat = np.full(bucket, fill, dtype=np.float64)
        flat[:size] = np.broadcast_to(a, shape).ravel()
        padded.append(flat)
    out = fn(*padded)
    return jax.tree_util.tree_map(lambda o: o[:size].reshape(shape), out)
