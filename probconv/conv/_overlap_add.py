"""Overlap-add convolution: a long input cut into blocks of a fast size."""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp

from ._cost import transform_work
from ._fft import _take_window
from ._transforms import fft_nd, ifft_nd, next_fast_len


@functools.lru_cache(maxsize=4096)
def block_length(n: int, k: int, count: int = 1) -> tuple[int, int]:
    """Block length L and transform length P for a signal of n, kernel of k.

    Minimizes the modelled transform time (`transform_work`) of `count`
    signals cut into ``ceil(n / L)`` blocks each, over fast lengths P with
    blocks ``L = P - k + 1 >= k - 1`` (so that each block's tail overlaps only
    the next block). Returns ``(n, fast(n + k - 1))``, a single block, when
    blocking does not pay.

    Examples
    --------
    >>> from probconv.conv._overlap_add import block_length
    >>> L, P = block_length(10**6, 301)  # depends on the number of cores
    >>> P - L, P < 10**4
    (300, True)
    >>> block_length(1000, 1000)  # a single block
    (1000, 2000)
    """
    whole = next_fast_len(n + k - 1)
    cost = 2 * transform_work(whole, count) + transform_work(whole, 1)
    best = (cost, n, whole)
    p = next_fast_len(max(2 * k - 1, 16))
    while p < whole:
        L = p - k + 1
        blocks = count * -(-n // L)
        # forward and inverse of every block, one kernel transform, and the
        # reshaping and overlap-adding (15 %)
        cost = (2 * transform_work(p, blocks) + transform_work(p, 1)) * 1.15
        if cost < best[0]:
            best = (cost, L, p)
        p = next_fast_len(p + 1)
    return best[1], best[2]


def convolve_window(a, v, start, length) -> jax.Array:
    """Entries ``start .. start+length`` of the full convolution, by blocks."""
    k = len(start)
    na, nv = a.shape[a.ndim - k :], v.shape[v.ndim - k :]
    if math.prod(nv) > math.prod(na):  # block the longer input
        a, v, na, nv = v, a, nv, na
    real = not (jnp.iscomplexobj(a) or jnp.iscomplexobj(v))
    nbatch = a.ndim - k
    count = math.prod(jnp.broadcast_shapes(a.shape[:nbatch], v.shape[: v.ndim - k]))
    Ls, Ps, nbs = [], [], []
    for n, m in zip(na, nv):
        L, P = block_length(n, m, count)
        Ls.append(L)
        Ps.append(P)
        nbs.append(-(-n // L))
    # x: (..., nb_1, L_1, ..., nb_k, L_k)
    x = jnp.pad(
        a, [(0, 0)] * nbatch + [(0, nb * L - n) for nb, L, n in zip(nbs, Ls, na)]
    )
    x = x.reshape(
        a.shape[:nbatch] + tuple(d for nb, L in zip(nbs, Ls) for d in (nb, L))
    )
    block_axes = tuple(nbatch + 2 * i + 1 for i in range(k))
    X = fft_nd(x, tuple(Ps), block_axes, real)
    H = fft_nd(v, tuple(Ps), tuple(range(-k, 0)), real)
    H = H.reshape(
        H.shape[: v.ndim - k] + tuple(d for h in H.shape[v.ndim - k :] for d in (1, h))
    )
    y = ifft_nd(X * H, tuple(Ps), block_axes, real)
    # Overlap-add, one axis at a time, from the last pair to the first.
    for i in reversed(range(k)):
        y = _overlap_add_axis(y, nbatch + 2 * i, Ls[i], nv[i])
    return _take_window(y, y.shape[y.ndim - k :], start, length)


def _overlap_add_axis(y, bax: int, L: int, m: int):
    """Merge axes (bax: blocks, bax+1: samples) of y into one output axis."""
    nb = y.shape[bax]
    M = L + m - 1
    y = jax.lax.slice_in_dim(y, 0, min(M, y.shape[bax + 1]), axis=bax + 1)
    if nb == 1:
        return y.reshape(y.shape[:bax] + (y.shape[bax + 1],) + y.shape[bax + 2 :])
    pad = [(0, 0)] * y.ndim
    pad[bax + 1] = (0, 2 * L - y.shape[bax + 1])
    y = jnp.pad(y, pad)
    head = jax.lax.slice_in_dim(y, 0, L, axis=bax + 1)
    tail = jax.lax.slice_in_dim(y, L, 2 * L, axis=bax + 1)
    p1 = [(0, 0)] * y.ndim
    p2 = [(0, 0)] * y.ndim
    p1[bax] = (0, 1)
    p2[bax] = (1, 0)
    out = jnp.pad(head, p1) + jnp.pad(tail, p2)
    return out.reshape(out.shape[:bax] + ((nb + 1) * L,) + out.shape[bax + 2 :])
