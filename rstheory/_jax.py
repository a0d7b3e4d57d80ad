"""JAX in float64: every module of :mod:`rstheory` that computes imports JAX through here.

Importing this module imports JAX and turns on ``jax_enable_x64``: tail probabilities
such as ``alpha = 1e-10`` at ``n = 1e6`` are not representable to the needed accuracy in
float32. Each module of the package that uses JAX imports it (before it makes any array),
so the switch is on whichever module a user imports first, while ``import rstheory`` alone
imports no JAX at all (its public names load on first use; see :mod:`rstheory`).
"""

import jax

jax.config.update("jax_enable_x64", True)
