"""A distributed transform for shards of any length: the cyclic layout.

The engine's distributed transform
(`probconv.conv.internal.spectral_block`) lays ``M = M1 M2`` points out as
rows of ``M2`` samples, ``M2`` a multiple of the device count ``p`` that
divides a shard: a shard of ``b`` cells needs ``p`` to divide ``b``, and
``M`` to be a multiple of ``2 p``. A field of ``n = p b`` cells with ``b``
odd (or ``b = 2 mod 4`` on four devices) has no such layout of ``n``
points, nor of ``2 n``. The same four steps go with ``M2 = p`` and ``M1 =
B`` instead, where nothing has to divide ``b``: the cells go to the cyclic
order first (device ``d`` the cells ``j = d + p r``, all-to-alls of
``ceil(b / p) + 1`` cells per pair of devices, unequal counts padded, a
piece of them at a time), each device transforms its ``B`` points (a real
transform for a real field), and a second all-to-all hands each device
``ceil(H / p)`` of the ``H`` frequencies ``k2`` (``H = B // 2 + 1`` for a
real field) of every device's transform, whose ``p``-point transforms
across devices give the spectrum ``X[k2 + B k1]``, all ``k1``. The inverse
retraces the steps. The second all-to-all and its inverse go piece by piece
of the rows, each piece written back in place: the spectrum is held once,
not three times (the exchange's input, its slices and its outputs); the
cells' exchanges too, each device holding its shard and its points (two
shards) and a piece.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

# The spectrum goes across the devices and to the map in at most this many
# pieces of rows, one after the other: a map's intermediates (the 25 terms of
# a traced Gaussian's transform, say) and an exchange's buffers are then those
# of a piece (exchanged whole, the spectrum's all-to-alls held 3 spectra: 0.98
# of the field on 3 x 1,001 cells, reflecting walls; 0.70 in pieces).
_PIECES = 8

# The cells go to the cyclic order and back in at most this many pieces of
# rows: each device then holds its shard and its points (two shards) and a
# piece in flight (whole, the exchange held three shards and more: the window
# on 3 x 1,001 cells 1.14 of the field in scratch; 0.92 in 8 pieces, 0.88 in
# 16, the walls 0.81 and 0.77 against 0.71 whole, 32 no fewer).
_CELL_PIECES = 16


class CyclicLayout(NamedTuple):
    """The cyclic layout of a split axis's transform (`cyclic_block`)."""

    shards: int  # p: devices along the split axis
    size: int  # b: cells per shard (n = p b)
    rows: int  # B = M1: points of each device's transform (B = b here)
    real: bool  # a real field: frequencies k2 < B // 2 + 1 only

    @property
    def cols(self) -> int:
        """``M2 = p``: the spectrum's entry ``[j, c]`` is ``X[k2_j + B c]``."""
        return self.shards

    @property
    def length(self) -> int:
        """``M = p B``: the transform's points (zeros past the field's ``n``)."""
        return self.rows * self.shards


def cyclic_layout(n: int, shards: int, real: bool, period: int) -> CyclicLayout | None:
    """Return the cyclic layout of a transform of `period` points, or None.

    One period of the field, ``M = n`` (a circular convolution of that
    period; a longer transform of a zero-padded field is the engine's
    where it has one, else free space goes by the window). None for
    another `period`, where `n` does not divide over the shards, or for
    ``M >= 2^31`` without 64-bit integers.
    """
    if n % shards or period != n:
        return None
    if n >= 2**31 and not jax.config.jax_enable_x64:
        return None
    return CyclicLayout(shards, n // shards, n // shards, real)


def _spectrum_rows(lay: CyclicLayout) -> tuple[int, int]:
    """Return ``(H, rows)``: frequencies ``k2`` held, and per device (padded).

    ``rows`` is a multiple of the pieces the map goes in (`_PIECES`).
    """
    held = lay.rows // 2 + 1 if lay.real else lay.rows
    rows = -(-held // lay.shards)
    pieces = min(_PIECES, rows)
    return held, -(-rows // pieces) * pieces


def bytes_received(lay: CyclicLayout, itemsize: int) -> int:
    """Bytes one device receives in one `cyclic_block`, for `itemsize` inputs.

    Four exchanges (each in pieces, each all-to-all keeping ``1 / p`` of
    its own): the cells to the cyclic order and back (``p W`` of the
    field's type, ``W >= ceil(b / p) + 1`` rows: `_cell_pieces`), the
    spectrum's ``p rows`` complex entries there and back.
    """
    p = lay.shards
    pieces, width = _cell_pieces(lay)
    words = 1 if lay.real else 2
    _, rows = _spectrum_rows(lay)
    total = 2 * p * pieces * width * words + 2 * p * rows * 2
    return int(total * (p - 1) // p * itemsize)


def _int():
    return jnp.int64 if jax.config.jax_enable_x64 else jnp.int32


def _cell_pieces(lay: CyclicLayout) -> tuple[int, int]:
    """Return ``(pieces, width)``: the cells' exchange in pieces of rows.

    ``w = ceil(b / p) + 1`` rows of ``p`` cells go to and from the cyclic
    order in at most `_CELL_PIECES` pieces of ``width`` rows each
    (``pieces width >= w``, the fewest rows past ``w``: zeros).
    """
    w = -(-lay.size // lay.shards) + 1
    width = -(-w // min(_CELL_PIECES, w))
    return -(-w // width), width  # (fewest padded rows for that width)


def _cells_span(lay: CyclicLayout) -> int:
    """Return the points that shard ``p - 1``'s ``W`` rows reach (at least ``B``)."""
    pieces, width = _cell_pieces(lay)
    return max(lay.rows, (lay.shards - 1) * lay.size // lay.shards + pieces * width)


def _to_cyclic(x, lay: CyclicLayout, names, q):
    """Return this device's ``B`` points ``x[d + p r]`` (zeros past the field).

    `x` is device ``q``'s shard of ``b`` cells (last axis), cells ``j = q
    b + i``. Shifted by ``o = q b mod p`` into ``W`` rows of ``p`` (``W >=
    ceil(b / p) + 1``), column ``d`` holds its cells ``j = d mod p``, those
    of rows ``floor(q b / p) + s`` of device ``d``'s order (zeros around
    them); the columns go across the devices by all-to-alls of a piece of
    rows at a time (`_cell_pieces`), and each device adds what the ``p``
    shards sent at their rows, in place. Slices and pads only, no index
    arrays, nor a carry that starts as zeros (XLA shares a broadcast of
    zeros among the loops that start from one of its shape, made before
    any of them: held at once); the exchange's buffers are those of a piece
    (whole, its input, slices and outputs held three shards at once: 1.14
    of the field on 3 x 1,001 cells).
    """
    p, b, big = lay.shards, lay.size, lay.rows
    pieces, width = _cell_pieces(lay)
    lead, axis = x.shape[:-1], x.ndim - 1
    span = _cells_span(lay)
    # Row s of the shifted shard is x[p s - o ...]: x with p zeros before it.
    buf = jnp.pad(x, [(0, 0)] * axis + [(p, p * pieces * width - b)])
    shift = p - (q * b) % p

    def exchange(g):  # [t, s]: shard t's rows floor(t b / p) + g width + s
        part = lax.dynamic_slice_in_dim(buf, g * width * p + shift, width * p, axis)
        send = jnp.swapaxes(part.reshape(lead + (width, p)), -1, -2)  # [d, s]
        return lax.all_to_all(send, names, axis, axis, tiled=True)

    def row(got, t):
        return lax.index_in_dim(got, t, axis, keepdims=False)

    def placed(got, t):  # shard t's rows of the first piece, zeros around them
        start = t * b // p
        pad = [(0, 0)] * axis + [(start, span - start - width)]
        return jnp.pad(row(got, t), pad)

    first = exchange(0)
    y = sum(placed(first, t) for t in range(p))

    def piece(g, y):
        got = exchange(g)
        for t in range(p):
            at = t * b // p + g * width
            add = lax.dynamic_slice_in_dim(y, at, width, axis) + row(got, t)
            y = lax.dynamic_update_slice_in_dim(y, add, at, axis)
        return y

    y = lax.fori_loop(1, pieces, piece, y)
    return lax.slice_in_dim(y, 0, big, axis=axis)


def _from_cyclic(y, lay: CyclicLayout, names, q):
    """Return device ``q``'s ``b`` cells from its points (`_to_cyclic` undone).

    `y` holds this device's ``B`` points ``j = q + p r``; shard ``t`` gets
    its rows ``floor(t b / p) + s`` (``s < W``, zeros past ``B``), as
    `_to_cyclic` sent them, a piece of rows at a time, written in place
    into an array that starts as the first piece padded.
    """
    p, b, big = lay.shards, lay.size, lay.rows
    pieces, width = _cell_pieces(lay)
    lead, axis = y.shape[:-1], y.ndim - 1
    y = jnp.pad(y, [(0, 0)] * axis + [(0, _cells_span(lay) - big)])

    def exchange(g):  # [d, s] as the shifted shard's width rows from g width
        at = g * width
        parts = [
            lax.dynamic_slice_in_dim(y, t * b // p + at, width, axis) for t in range(p)
        ]
        send = jnp.stack(parts, axis=-2)  # [t, s]
        got = lax.all_to_all(send, names, axis, axis, tiled=True)  # [d, s]
        return jnp.swapaxes(got, -1, -2).reshape(lead + (width * p,))

    size = width * p
    buf = jnp.pad(exchange(0), [(0, 0)] * axis + [(0, (pieces - 1) * size)])

    def piece(g, buf):
        return lax.dynamic_update_slice_in_dim(buf, exchange(g), g * size, axis)

    buf = lax.fori_loop(1, pieces, piece, buf)
    return lax.dynamic_slice_in_dim(buf, (q * b) % p, b, axis)


def cyclic_block(x, lay: CyclicLayout, names, fn, out_dtype):
    """Return this device's block of ``ifft(fn(fft(x)))`` along the last axis.

    As `probconv.conv.internal.spectral_block` (inside `jax.shard_map`, `x`
    this device's shard of ``b`` cells of a field split in order over the
    mesh axes `names`, zeros past it up to ``M = lay.length`` points;
    ``fn(s, rows)`` maps the spectrum entry by entry, ``s[..., j, c] =
    X[rows[j] + B c]``, and must keep a real field's symmetry), on the
    cyclic layout: `fn` receives ``ceil(H / p)`` rows ``k2`` of every
    column per device, in `_PIECES` pieces one after the other (each
    exchanged across the devices, mapped and exchanged back); rows past
    ``H`` are padding, dropped whatever `fn` gives them. Returns the
    block's ``b`` outputs.
    """
    p, big = lay.shards, lay.rows
    it = _int()
    cdtype = jnp.result_type(x.dtype, jnp.complex64)
    rdtype = jnp.finfo(cdtype).dtype
    q = lax.axis_index(names).astype(it)
    y = _to_cyclic(x, lay, names, q)
    if lay.real:
        f = jnp.fft.rfft(y, axis=-1).astype(cdtype)
    else:
        f = jnp.fft.fft(y.astype(cdtype), axis=-1)
    held, rows = _spectrum_rows(lay)
    pieces = min(_PIECES, rows)
    f = jnp.pad(f, [(0, 0)] * (f.ndim - 1) + [(0, p * rows - held)])
    f = f.reshape(f.shape[:-1] + (p, rows))  # [d, r]: k2 = d rows + r, to device d
    width = rows // pieces

    def piece(g, f):  # rows k2 of the piece: across devices, mapped, and back
        # (each piece's exchange in turn, written back in place: the spectrum
        # and a piece held, not the spectrum three times over)
        part = lax.dynamic_slice_in_dim(f, g * width, width, f.ndim - 1)
        part = lax.all_to_all(part, names, f.ndim - 2, f.ndim - 2, tiled=True)
        rows_g = q * rows + g * width + jnp.arange(width, dtype=it)  # [d, k2]
        index = (jnp.arange(p, dtype=it)[:, None] * rows_g) % lay.length
        twiddle = jnp.exp(-1j * (2 * np.pi / lay.length) * index.astype(rdtype))
        twiddle = twiddle.astype(cdtype)
        s = jnp.swapaxes(jnp.fft.fft(part * twiddle, axis=-2), -1, -2)
        s = jnp.broadcast_to(fn(s, rows_g), s.shape).astype(cdtype)  # X[k2 + B k1]
        s = jnp.fft.ifft(jnp.swapaxes(s, -1, -2), axis=-2) * jnp.conj(twiddle)
        s = lax.all_to_all(s, names, s.ndim - 2, s.ndim - 2, tiled=True)
        return lax.dynamic_update_slice_in_dim(f, s, g * width, f.ndim - 1)

    s = lax.fori_loop(0, pieces, piece, f)
    s = s.reshape(s.shape[:-2] + (p * rows,))[..., :held]
    if lay.real:
        y = jnp.fft.irfft(s, n=big, axis=-1)
    else:
        y = jnp.fft.ifft(s, axis=-1)
        if not jnp.issubdtype(out_dtype, jnp.complexfloating):
            y = y.real
    return _from_cyclic(y, lay, names, q).astype(out_dtype)
