"""A kernel longer than a shard, one split axis: the transform class by class.

The whole-pass transform (`_split_fft.convolve_block`) holds on each device
the signal's spectrum, the kernel's and their product at once, each ``M /
p`` numbers (half spectra for real data), and the all-to-alls' buffers of
each: for a kernel as long as the signal that is more than the signal
itself per device. Here the spectrum's rows ``k1`` (of the ``M1`` rows by
``M2`` columns layout) are taken in residue classes instead (`classes`:
class ``c`` holds the rows ``c + G j``), a few classes in flight at a time:

1. the signal's rows are regrouped and transformed along the columns a
   chunk of columns at a time, into one array of ``G J M2 / p`` complex
   numbers per device, ordered by class (about ``M / (2 p)`` for a real
   layout: the one array of that size held throughout);
2. in each of ``G / p`` steps each device takes one whole class
   (``c = q G / p + t`` on the device of index ``q``): one all-to-all
   brings it the class's rows of every column, it transforms them along
   the rows, multiplies by the kernel's spectrum of that class (built on
   the device from the replicated kernel, the rows of each column folded
   and transformed by an ``M1 / G``-point FFT: `_kernel_class`, so the
   kernel's spectrum is never held whole, nor moved), transforms back,
   and a second all-to-all returns the rows in place;
3. the inverse along the columns and the output's regrouping go, as in 1,
   a chunk of columns at a time.

Per device this moves the signal's samples, ``2 G J M2 / p`` complex numbers
and the output's block (`_split_fft.transform_bytes`): less than the whole
passes, which move the kernel's spectrum too. The kernel's classes cost
each device ``G / p`` folds of all the kernel's rows (``G k / p``
multiply-adds in all, against the ``(M / p) log2 M1`` of its share of
the kernel's transforms before), and `classes` weighs the rows' padding
(``G J`` against ``M1 / 2 + 1``) against the classes' size.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from ._split_fft import Layout, _divisors, _int, _regroup, classes

COLUMN_CHUNKS = 8  # at most: the column chunks of steps 1 and 3


def _column_chunks(width: int) -> int:
    return max(d for d in _divisors(width) if d <= COLUMN_CHUNKS)


def _zeros(shape, dtype, like, names=()):
    """Zeros that vary over the mesh axes `like` varies over and `names`.

    The initial value of a loop's carry inside a `jax.shard_map`.
    """
    z = jnp.zeros(shape, dtype)
    aval = jax.typeof(like)
    mat = getattr(aval, "mat", None)  # (jax 0.10: the manual axis type)
    axes = set(mat.varying if mat is not None else getattr(aval, "vma", ()))
    axes |= set((names,) if isinstance(names, str) else names)
    axes = tuple(sorted(axes))
    return lax.pcast(z, axes, to="varying") if axes else z


def _phase(index, period: int, dtype, sign: int):
    """``exp(sign 2 pi i index / period)`` of integers, reduced exactly."""
    real = jnp.finfo(dtype).dtype
    angle = (index % period).astype(real) * (2 * np.pi / period)
    return jnp.exp(sign * 1j * angle).astype(dtype)


def _to_columns(x, lay: Layout, names, cdtype):
    """Step 1: the signal's column transforms, ``(..., G, J, cols/p)`` by class.

    The shard's rows are regrouped a chunk of this device's columns at a
    time (one all-to-all each), transformed along the rows (zeros past the
    data up to ``M1``), multiplied by the twiddle factors and written into
    one array whose rows are ordered by class.
    """
    p, cols = lay.shards, lay.cols
    width = cols // p
    g, j = classes(lay)
    chunks = _column_chunks(width)
    u = width // chunks
    lead = x.shape[:-1]
    rows_here = lay.size // cols
    a = x.reshape(lead + (rows_here, p, width))
    it = _int()
    q = lax.axis_index(names).astype(it)
    k1 = jnp.minimum(jnp.arange(g * j, dtype=it), lay.rows - 1)[:, None]
    pad = [(0, 0)] * len(lead)

    def body(i, out):
        b = lax.dynamic_slice_in_dim(a, i * u, u, axis=a.ndim - 1)
        b = jnp.moveaxis(b, -2, -3)  # (..., p, rows_here, u)
        b = _regroup(b, names, b.ndim - 3, b.ndim - 3)
        b = b.reshape(lead + (p * rows_here, u))  # every row of the data
        if lay.real:
            b = jnp.fft.rfft(b, n=lay.rows, axis=-2)
        else:
            b = jnp.fft.fft(b.astype(cdtype), n=lay.rows, axis=-2)
        b = jnp.pad(b, pad + [(0, g * j - b.shape[-2]), (0, 0)])
        n2 = q * width + i.astype(it) * u + jnp.arange(u, dtype=it)[None, :]
        b = b * _phase(k1 * n2, lay.length, cdtype, -1)
        b = jnp.moveaxis(b.reshape(lead + (j, g, u)), -2, -3)
        return lax.dynamic_update_slice_in_dim(out, b, i * u, axis=out.ndim - 1)

    return lax.fori_loop(0, chunks, body, _zeros(lead + (g, j, width), cdtype, x))


def _from_columns(a, lay: Layout, names, out_dtype):
    """Step 3: the inverse of `_to_columns` after the rows': this device's block.

    Each chunk of columns is put back in row order, multiplied by the
    conjugate twiddle factors, transformed back along the rows, and the
    output's rows regrouped (one all-to-all each) into the block.
    """
    p, cols = lay.shards, lay.cols
    width = cols // p
    g, j = classes(lay)
    held = lay.rows // 2 + 1 if lay.real else lay.rows
    chunks = _column_chunks(width)
    u = width // chunks
    lead = a.shape[:-3]
    out_rows = lay.block // cols
    it = _int()
    q = lax.axis_index(names).astype(it)
    k1 = jnp.arange(held, dtype=it)[:, None]
    dtype = jnp.finfo(a.dtype).dtype if lay.real else a.dtype

    def body(i, out):
        b = lax.dynamic_slice_in_dim(a, i * u, u, axis=a.ndim - 1)
        b = jnp.moveaxis(b, -3, -2).reshape(lead + (g * j, u))
        b = lax.slice_in_dim(b, 0, held, axis=b.ndim - 2)
        n2 = q * width + i.astype(it) * u + jnp.arange(u, dtype=it)[None, :]
        b = b * _phase(k1 * n2, lay.length, a.dtype, 1)
        if lay.real:
            b = jnp.fft.irfft(b, n=lay.rows, axis=-2)
        else:
            b = jnp.fft.ifft(b, axis=-2)
        b = lax.slice_in_dim(b, 0, p * out_rows, axis=b.ndim - 2)
        b = b.reshape(lead + (p, out_rows, u))
        b = _regroup(b, names, b.ndim - 3, b.ndim - 3)  # from each column block
        b = jnp.moveaxis(b, -3, -2)  # (..., out_rows, p, u)
        return lax.dynamic_update_slice_in_dim(out, b, i * u, axis=out.ndim - 1)

    out = _zeros(lead + (out_rows, p, width), dtype, a)
    out = lax.fori_loop(0, chunks, body, out)
    return out.reshape(lead + (lay.block,)).astype(out_dtype)


def _kernel_class(v, c, lay: Layout, names, cdtype, columns: bool):
    """Return the kernel's spectrum of class `c`: ``(..., J, cols)``.

    Rows ``k1 = c + G j`` of the length-``M1`` transform of every column
    come from one ``M1 / G``-point transform of the columns folded:
    ``y_m = sum_l v[m + l M1 / G] exp(-2 pi i (m + l M1 / G) c / M1)``;
    then the twiddle factors and the transforms along the rows. `v`: the
    replicated kernel, read a block of ``M1 / G`` rows at a time, or with
    `columns` its rows already laid out (``(..., ceil(k / cols), cols)``).
    `c` is a class this device takes (it varies over the mesh axes `names`).
    """
    g, j = classes(lay)
    span = lay.rows // g
    cols = lay.cols
    it = _int()
    c = c.astype(it)
    if columns:
        rows = v.shape[-2]
        whole = rows // span
        lead = v.shape[:-2]

        def read(i):
            return lax.dynamic_slice_in_dim(v, i * span, span, axis=v.ndim - 2)

        tail = lax.slice_in_dim(v, whole * span, rows, axis=v.ndim - 2)
    else:
        whole = v.shape[-1] // (span * cols)
        lead = v.shape[:-1]

        def read(i):
            b = lax.dynamic_slice_in_dim(v, i * span * cols, span * cols, v.ndim - 1)
            return b.reshape(lead + (span, cols))

        tail = lax.slice_in_dim(v, whole * span * cols, v.shape[-1], axis=v.ndim - 1)
        rest = tail.shape[-1]
        tail = jnp.pad(tail, [(0, 0)] * len(lead) + [(0, -rest % cols)])
        tail = tail.reshape(lead + (-(-rest // cols), cols))

    def fold(i, y):
        return y + read(i) * _phase(i.astype(it) * c, g, cdtype, -1)

    y = lax.fori_loop(0, whole, fold, _zeros(lead + (span, cols), cdtype, v, names))
    if tail.shape[-2]:
        pad = [(0, 0)] * len(lead) + [(0, span - tail.shape[-2]), (0, 0)]
        y = y + jnp.pad(tail, pad) * _phase(whole * c, g, cdtype, -1)
    m = jnp.arange(span, dtype=it)[:, None]
    y = jnp.fft.fft(y * _phase(m * c, lay.rows, cdtype, -1), axis=-2)
    keep = min(j, span)  # (..., M1 / G, cols): rows c + G j
    y = lax.slice_in_dim(y, 0, keep, axis=y.ndim - 2)
    y = jnp.pad(y, [(0, 0)] * len(lead) + [(0, j - keep), (0, 0)])
    k1 = jnp.minimum(c + g * jnp.arange(j, dtype=it), lay.rows - 1)
    n2 = jnp.arange(cols, dtype=it)
    y = y * _phase(k1[:, None] * n2[None, :], lay.length, cdtype, -1)
    return jnp.fft.fft(y, axis=-1)


def _shift_rows(lay: Layout, start: int, cdtype):
    """Return ``exp(2 pi i k start / M)`` (``k = k1 + M1 k2``) in two factors.

    One of the row (``(G, J)``, by class) and one of the column
    (``(cols,)``), from exact integer products on the host.
    """
    g, j = classes(lay)
    k1 = np.arange(g, dtype=np.int64)[:, None] + g * np.arange(j, dtype=np.int64)
    row = np.exp(2j * np.pi * ((k1 * start) % lay.length) / lay.length)
    k2 = np.arange(lay.cols, dtype=np.int64)
    col = np.exp(2j * np.pi * ((k2 * start) % lay.cols) / lay.cols)
    return jnp.asarray(row, cdtype), jnp.asarray(col, cdtype)


def convolve_block(x, v, lay: Layout, names, start: int, out_dtype, kernel_map=None):
    """Return this device's block of a window of ``x * v`` (last axis), by classes.

    As `_split_fft.convolve_block` of one layout (inside a `jax.shard_map`,
    `x` this device's shard, `v` the whole kernel, replicated; the window
    a circular shift by `start`), for layouts with `classes`. `kernel_map`
    maps the kernel's rows (``(..., ceil(k / cols), cols)``, all columns)
    before they are folded: the other axes' transforms, applied once.
    """
    cdtype = jnp.result_type(x.dtype, v.dtype, jnp.complex64)
    g, j = classes(lay)
    p = lay.shards
    steps = g // p
    if kernel_map is not None:
        k = v.shape[-1]
        v = jnp.pad(v, [(0, 0)] * (v.ndim - 1) + [(0, -k % lay.cols)])
        v = kernel_map(v.reshape(v.shape[:-1] + (-1, lay.cols)))
        lead = jnp.broadcast_shapes(x.shape[:-1], v.shape[:-2])
    else:
        lead = jnp.broadcast_shapes(x.shape[:-1], v.shape[:-1])
    x = jnp.broadcast_to(x, lead + x.shape[-1:])
    a = _to_columns(x, lay, names, cdtype)
    width = lay.cols // p
    a = a.reshape(lead + (p, steps, j, width))  # class d G / p + t: [d, t]
    shift = _shift_rows(lay, start, cdtype) if start else None
    q = lax.axis_index(names)

    def body(t, a):
        b = lax.dynamic_index_in_dim(a, t, a.ndim - 3, False)  # (..., p, J, w)
        b = _regroup(b, names, b.ndim - 3, b.ndim - 3)  # from each column block
        b = jnp.moveaxis(b, -3, -2).reshape(lead + (j, lay.cols))
        c = q * steps + t
        s = jnp.fft.fft(b, axis=-1) * _kernel_class(
            v, c, lay, names, cdtype, kernel_map is not None
        )
        if shift is not None:
            s = s * lax.dynamic_index_in_dim(shift[0], c, 0, False)[:, None]
            s = s * shift[1]
        b = jnp.fft.ifft(s, axis=-1).reshape(lead + (j, p, width))
        b = jnp.moveaxis(b, -2, -3)
        b = _regroup(b, names, b.ndim - 3, b.ndim - 3)  # back to each column block
        return lax.dynamic_update_index_in_dim(a, b.astype(a.dtype), t, a.ndim - 3)

    a = lax.fori_loop(0, steps, body, a)
    a = a.reshape(lead + (g, j, width))
    return _from_columns(a, lay, names, out_dtype)
