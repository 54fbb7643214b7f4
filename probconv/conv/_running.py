"""Running (sliding-window) sums: direct sums, or O(n) blocks.

Short windows are summed directly (``w`` shifted copies added in one fused
loop, or ``lax.reduce_window`` past the fusion limit); long ones in O(n),
without the cancellation of prefix sums, as below. Integer inputs are summed
exactly.

A boxcar is the one kernel whose convolution costs O(n) whatever its length:
the window sums. The textbook way, differences of one cumulative sum
``S[i + w] - S[i]``, loses ``eps * |S|`` to cancellation, and ``|S|`` grows
with the whole series: on 10^7 float32 samples that is a relative error near
1e-3. Here the series is cut into blocks of exactly ``w`` samples (van Herk,
Gil and Werman's decomposition). A window ``[b w + r, (b + 1) w + r)`` is the
tail of block ``b`` plus the head of block ``b + 1``:

.. math:: s_{bw+r} = T_b - E_{b,r} + E_{b+1,r},

with :math:`T_b` the total of block :math:`b` and :math:`E_{b,r}` the sum of
its first :math:`r` samples. Every term is a sum over at most ``w`` samples,
so the error is that of summing one window, independent of the series'
length. The prefix sums inside a block are two small triangular matrix
products (groups of 16 samples, then the groups of a block), which XLA runs
at matrix-multiply speed on every backend.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

_GROUP = 16


def _exclusive_prefix(y: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Exclusive prefix sums along the last axis, and the totals."""
    w = y.shape[-1]
    s = min(_GROUP, w)
    groups = -(-w // s)
    lead = y.shape[:-1]
    yp = jnp.pad(y, [(0, 0)] * len(lead) + [(0, groups * s - w)])
    yg = yp.reshape(*lead, groups, s)
    tri_s = jnp.triu(jnp.ones((s, s), y.dtype), 1)  # [j, r] = 1 if j < r
    inner = jnp.matmul(yg, tri_s, precision=lax.Precision.HIGHEST)
    totals = yg.sum(-1)
    tri_g = jnp.triu(jnp.ones((groups, groups), y.dtype), 1)
    outer = jnp.matmul(totals, tri_g, precision=lax.Precision.HIGHEST)
    excl = (inner + outer[..., None]).reshape(*lead, groups * s)[..., :w]
    return excl, totals.sum(-1)


def block_sums(x: jax.Array, w: int, axis: int) -> jax.Array:
    """Sum every run of `w` consecutive samples along `axis` ('valid'), in O(n)."""
    x = jnp.moveaxis(x, axis, -1)
    m = x.shape[-1]
    n_out = m - w + 1
    nb = -(-n_out // w) + 1
    lead = x.shape[:-1]
    xp = jnp.pad(x, [(0, 0)] * len(lead) + [(0, nb * w - m)])
    blocks = xp.reshape(*lead, nb, w)
    excl, tot = _exclusive_prefix(blocks)
    out = tot[..., :-1, None] - excl[..., :-1, :] + excl[..., 1:, :]
    out = out.reshape(*lead, (nb - 1) * w)[..., :n_out]
    return jnp.moveaxis(out, -1, axis)


def reduce_sums(x: jax.Array, w: int, axis: int) -> jax.Array:
    """Sum every run of `w` consecutive samples along `axis` directly ('valid')."""
    dims = tuple(w if d == axis % x.ndim else 1 for d in range(x.ndim))
    zero = np.zeros((), x.dtype)
    return lax.reduce_window(x, zero, lax.add, dims, (1,) * x.ndim, "VALID")


def prefix_sums(x: jax.Array, w: int, axis: int) -> jax.Array:
    """Window sums as differences of one cumulative sum (exact for integers)."""
    axis = axis % x.ndim
    n = x.shape[axis]
    pads = [(0, 0)] * x.ndim
    pads[axis] = (1, 0)
    c = jnp.pad(jnp.cumsum(x, axis=axis), pads)
    hi = lax.slice_in_dim(c, w, n + 1, axis=axis)
    return hi - lax.slice_in_dim(c, 0, n + 1 - w, axis=axis)


def shifted_sums(x: jax.Array, w: int, axis: int) -> jax.Array:
    """Sum every run of `w` consecutive samples: `w` shifted copies added.

    Elementwise, so XLA fuses the adds with what consumes them (a product by
    a weight, the pad that makes room for the edges): one pass over the
    output, where ``lax.reduce_window`` is a loop of its own and its result
    is copied again (10^7 samples by 21 taps: 54 ms against 100 ms).
    """
    n = x.shape[axis] - w + 1
    return sum(lax.slice_in_dim(x, i, i + n, axis=axis) for i in range(w))


def valid_sums(
    x: jax.Array, w: int, axis: int, how: str, weight=None, shift_max: int = 0
) -> jax.Array:
    """Window sums ('valid') by `how`: 'direct', 'blocks' or 'prefix'.

    Directly, windows of at most `shift_max` taps are shifted copies (fused),
    longer ones ``lax.reduce_window``. With a `weight`, the sums are
    multiplied by it here, before any edge is put in place: a product after
    the edges were written into the output was fused back into the shifted
    copies by XLA:CPU at 35x their time (10^7 samples by 21 taps: 3.5 s).
    """
    if w == 1:
        y = x
    elif how == "direct":
        y = shifted_sums(x, w, axis) if w <= shift_max else reduce_sums(x, w, axis)
    elif how == "prefix":
        y = prefix_sums(x, w, axis)
    else:
        y = block_sums(x, w, axis)
    return y if weight is None else y * weight
