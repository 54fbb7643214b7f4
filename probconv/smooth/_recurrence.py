"""First-order linear recurrences along the last axis, without Python loops.

``h_t = a_t h_{t-1} + c_t`` (``h_{-1} = 0``) is an IIR filter. Two solvers:

- `constant`: ``a_t = f`` for all t. Blocks of ``B`` samples are solved at
  once by a triangular matrix product (``L[j, r] = f^{r - j}``); the value
  entering each block obeys the same recurrence with factor ``f^B`` over the
  blocks, solved recursively, and is added back times ``f^{r+1}``. O(n B)
  multiply-adds at matrix-multiply speed, no sequential loop, depth
  ``log_B n``.
- `general`: any ``a_t``, by `jax.lax.associative_scan` on the affine maps
  ``h -> a h + c`` (O(n) work, O(log n) depth).

Both are exact rearrangements of the sequential sum, so the error is of the
order of the sequential recursion's.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

BLOCK = 32


def _powers(f: jax.Array, n: int) -> jax.Array:
    """``[f^0, f^1, ..., f^(n-1)]``, differentiable everywhere (also at 0)."""
    return jnp.cumprod(
        jnp.concatenate([jnp.ones((1,), f.dtype), jnp.full((n - 1,), f)])
    )


def _solve_block(f, c):
    """Solve within one block of ``c.shape[-1] <= BLOCK`` samples."""
    n = c.shape[-1]
    pw = _powers(f, n)
    j = jnp.arange(n)
    lag = j[None, :] - j[:, None]
    tri = jnp.where(lag >= 0, pw[jnp.clip(lag, 0, n - 1)], 0.0)
    return jnp.matmul(c, tri, precision=lax.Precision.HIGHEST)


def constant(f: jax.Array, c: jax.Array) -> jax.Array:
    """Solve ``h_t = f h_{t-1} + c_t`` along the last axis of `c`."""
    n = c.shape[-1]
    if n <= BLOCK:
        return _solve_block(f, c)
    nb = -(-n // BLOCK)
    lead = c.shape[:-1]
    c2 = jnp.pad(c, [(0, 0)] * len(lead) + [(0, nb * BLOCK - n)])
    c2 = c2.reshape(*lead, nb, BLOCK)
    local = _solve_block(f, c2)
    pw = _powers(f, BLOCK + 1)
    # Values leaving each block, then entering: g_b = f^B g_{b-1} + e_b.
    g = constant(pw[BLOCK], local[..., -1])
    g_in = jnp.pad(g[..., :-1], [(0, 0)] * len(lead) + [(1, 0)])
    out = local + g_in[..., None] * pw[1:]
    return out.reshape(*lead, nb * BLOCK)[..., :n]


def general(a: jax.Array, c: jax.Array) -> jax.Array:
    """Solve ``h_t = a_t h_{t-1} + c_t`` along the last axis."""

    def compose(left, right):
        a1, c1 = left
        a2, c2 = right
        return a1 * a2, a2 * c1 + c2

    return lax.associative_scan(compose, (a, c), axis=a.ndim - 1)[1]
