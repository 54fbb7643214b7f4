"""A kernel longer than a shard: the distributed transform class by class.

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

Several split axes: the first goes by classes; the others' whole passes
(`_split_fft._spectra`, `_split_fft._inverse_blocks`) run on each chunk of
its columns in 1 and 3, and on each class of the kernel in 2 (real and
imaginary parts of the fold apart where the last axis's transform is
real). Convolved axes held whole (`kernel_map`, one split axis): their
transforms map each class of the kernel in 2, the same way.

A map of the spectrum without a kernel (`spectral_block`: powers,
generating functions, a pair's cross spectrum) goes the same way, the map
applied to each class in 2, given the class's global row indices; with no
kernel's classes to build, ``G`` need not divide ``M1``
(`classes(..., kernel=False)`), so that ``G J`` pads the rows held less.

Each loop starts from its first piece rather than from zeros
(`_side_by_side`): XLA shares one broadcast of zeros among the loops of a
program, each loop then copies it, and the broadcast stays alive.

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

from . import _split_fft
from ._split_fft import (
    Layout,
    _as_tuples,
    _columns_to_rows,
    _divisors,
    _int,
    _inverse_blocks,
    _kernel_columns,
    _pair,
    _regroup,
    _shift,
    _spectra,
    classes,
)

# At most: the column chunks of steps 1 and 3. Each chunk in flight holds
# a few arrays of 1 / COLUMN_CHUNKS of the spectrum; with 8 they weighed 0.07
# of the result each in the compound test (280 x 256 layout on four devices).
COLUMN_CHUNKS = 16


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


def _side_by_side(piece, count: int, axis: int):
    """Return the pieces ``piece(i)``, ``i < count``, side by side along `axis`.

    One loop writes each piece in place into one array, which starts as the
    first piece padded, not as zeros: a broadcast of zeros is shared by
    every loop of a program that starts from one of that shape, and each
    loop then copies it and the broadcast is kept (two spectral blocks in
    one program held over twice as much scratch as one).
    """
    first = piece(jnp.int32(0))
    axis %= first.ndim
    u = first.shape[axis]
    pad = [(0, 0)] * first.ndim
    pad[axis] = (0, (count - 1) * u)
    return lax.fori_loop(
        1,
        count,
        lambda i, out: lax.dynamic_update_slice_in_dim(out, piece(i), i * u, axis),
        jnp.pad(first, pad),
    )


def _flat(names) -> tuple[str, ...]:
    """Return the mesh axis names of several split axes in one tuple."""
    out = ()
    for n in names:
        out += (n,) if isinstance(n, str) else tuple(n)
    return out


def _phase(index, period: int, dtype, sign: int):
    """``exp(sign 2 pi i index / period)`` of integers, reduced exactly."""
    real = jnp.finfo(dtype).dtype
    angle = (index % period).astype(real) * (2 * np.pi / period)
    return jnp.exp(sign * 1j * angle).astype(dtype)


def _inner(lays) -> int:
    """Trailing dims of the other split axes' spectra (``2`` each, `_pair`)."""
    return 2 * (len(lays) - 1)


def _pairs_shape(lays) -> tuple[int, ...]:
    """Their shape on one device: ``(..., rows_j / p_j, cols_j, ...)``, last first."""
    shape = ()
    for lay in reversed(lays[1:]):
        shape += (lay.spectral_rows // lay.shards, lay.cols)
    return shape


def _to_columns(x, lays, names, cdtype, gj):
    """Step 1: the signal's column transforms, ``(..., pairs, G, J, cols/p)``.

    The shard's rows along the first split axis are regrouped a chunk of
    this device's columns at a time (one all-to-all each), after the other
    split axes' whole transforms of that chunk (`_split_fft._spectra`: their
    spectra, ``pairs``, join the batch), transformed along the rows (zeros
    past the data up to ``M1``), multiplied by the twiddle factors and
    written into one array whose rows are ordered by class (`gj`: ``(G,
    J)``, `classes`).
    """
    lay, m = lays[0], len(lays)
    p, cols = lay.shards, lay.cols
    width = cols // p
    g, j = gj
    chunks = _column_chunks(width)
    u = width // chunks
    lead = x.shape[:-m]
    nl = len(lead)
    rows_here = lay.size // cols
    a = x.reshape(lead + (rows_here, p, width) + x.shape[nl + 1 :])
    it = _int()
    q = lax.axis_index(names[0]).astype(it)
    k1 = jnp.minimum(jnp.arange(g * j, dtype=it), lay.rows - 1)[:, None]
    batch = lead + _pairs_shape(lays)
    pad = [(0, 0)] * len(batch)

    def piece(i):
        b = lax.dynamic_slice_in_dim(a, i * u, u, axis=nl + 2)
        if m > 1:
            b = _spectra(b, lays[1:], names[1:], cdtype)
        b = jnp.moveaxis(b, (nl, nl + 1, nl + 2), (-2, -3, -1))  # (.., p, rows, u)
        b = _regroup(b, names[0], b.ndim - 3, b.ndim - 3)
        b = b.reshape(batch + (p * rows_here, u))  # every row of the data
        if lay.real:
            b = jnp.fft.rfft(b, n=lay.rows, axis=-2)
        else:
            b = jnp.fft.fft(b.astype(cdtype), n=lay.rows, axis=-2)
        b = jnp.pad(b, pad + [(0, g * j - b.shape[-2]), (0, 0)])
        n2 = q * width + i.astype(it) * u + jnp.arange(u, dtype=it)[None, :]
        b = b * _phase(k1 * n2, lay.length, cdtype, -1)
        return jnp.moveaxis(b.reshape(batch + (j, g, u)), -2, -3)

    return _side_by_side(piece, chunks, -1)


def _from_columns(a, lays, names, out_dtype):
    """Step 3: the inverse of `_to_columns` after the rows': this device's block.

    Each chunk of columns is put back in row order, multiplied by the
    conjugate twiddle factors, transformed back along the rows, the
    output's rows regrouped (one all-to-all each), and the other split
    axes transformed back (`_split_fft._inverse_blocks`). The classes
    ``(G, J)`` are read from the shape of `a`.
    """
    lay, m = lays[0], len(lays)
    p, cols = lay.shards, lay.cols
    width = cols // p
    g, j = a.shape[-3:-1]
    held = lay.rows // 2 + 1 if lay.real else lay.rows
    chunks = _column_chunks(width)
    u = width // chunks
    nl = a.ndim - 3 - _inner(lays)
    lead = a.shape[:nl]
    batch = a.shape[:-3]
    out_rows = lay.block // cols
    it = _int()
    q = lax.axis_index(names[0]).astype(it)
    k1 = jnp.arange(held, dtype=it)[:, None]
    real = lays[-1].real
    cdtype = a.dtype
    dtype = jnp.finfo(cdtype).dtype if real else cdtype
    blocks = tuple(other.block for other in lays[1:])

    def piece(i):
        b = lax.dynamic_slice_in_dim(a, i * u, u, axis=a.ndim - 1)
        b = jnp.moveaxis(b, -3, -2).reshape(batch + (g * j, u))
        b = lax.slice_in_dim(b, 0, held, axis=b.ndim - 2)
        n2 = q * width + i.astype(it) * u + jnp.arange(u, dtype=it)[None, :]
        b = b * _phase(k1 * n2, lay.length, cdtype, 1)
        if lay.real:
            b = jnp.fft.irfft(b, n=lay.rows, axis=-2)
        else:
            b = jnp.fft.ifft(b, axis=-2)
        b = lax.slice_in_dim(b, 0, p * out_rows, axis=b.ndim - 2)
        b = b.reshape(batch + (p, out_rows, u))
        b = _regroup(b, names[0], b.ndim - 3, b.ndim - 3)  # from each column block
        b = jnp.moveaxis(b, (-2, -3, -1), (nl, nl + 1, nl + 2))  # (.., rows, p, u, ..)
        if m > 1:
            b = _inverse_blocks(b, lays[1:], names[1:], cdtype)
            b = b.real if real else b
        return b.astype(dtype)

    out = _side_by_side(piece, chunks, nl + 2)
    out = out.reshape(lead + (lay.block,) + blocks)
    if jnp.issubdtype(out.dtype, jnp.complexfloating) and not jnp.issubdtype(
        out_dtype, jnp.complexfloating
    ):
        out = out.real
    return out.astype(out_dtype)


def _inner_columns(b, lays, names):
    """Read this device's columns along the other split axes (`_kernel_columns`)."""
    mm = len(lays) - 1
    for jj in reversed(range(mm)):
        b = jnp.moveaxis(b, -2 * (mm - 1 - jj) - 1, -1)
        b = _kernel_columns(b, lays[1 + jj], names[1 + jj])
    return b


def _inner_transforms(b, lays, names, cdtype):
    """Transform the other split axes' columns (as `kernel_spectrum` does)."""
    mm = len(lays) - 1
    for jj in reversed(range(mm)):
        pair = _pair(jj)
        b = jnp.moveaxis(b, pair, (-2, -1))
        b = _columns_to_rows(b, lays[1 + jj], names[1 + jj], cdtype)
        b = jnp.moveaxis(b, (-2, -1), pair)
    return b


def _kernel_class(v, c, lays, names, cdtype, kernel_map=None):
    """Return the kernel's spectrum of class `c`: ``(..., pairs, J, cols)``.

    Rows ``k1 = c + G j`` of the length-``M1`` transform of every column
    (the first split axis) come from one ``M1 / G``-point transform of the
    columns folded: ``y_m = sum_l v[m + l M1 / G] exp(-2 pi i (m + l M1 /
    G) c / M1)``; then the other axes' transforms (`kernel_map`, for axes
    held whole, and the other split axes' passes; of the fold's real and
    imaginary parts apart where the data are real: the transforms are real
    ones, and linear), the twiddle factors and the transforms along the
    rows. `v` is the replicated kernel, read a block of ``M1 / G`` rows at
    a time (of the other split axes, this device's columns). `c` is a
    class this device takes (it varies over the mesh axes `names[0]`).
    """
    lay, m = lays[0], len(lays)
    g, j = classes(lay)
    span = lay.rows // g
    cols = lay.cols
    it = _int()
    c = c.astype(it)
    ax = v.ndim - m
    k = v.shape[ax]
    whole = k // (span * cols)
    rest_shape = v.shape[ax + 1 :]

    def read(i):
        b = lax.dynamic_slice_in_dim(v, i * span * cols, span * cols, ax)
        b = b.reshape(v.shape[:ax] + (span, cols) + rest_shape)
        return _inner_columns(b, lays, names)

    tail = lax.slice_in_dim(v, whole * span * cols, k, axis=ax)
    rest = tail.shape[ax]
    tail = jnp.pad(tail, [(0, 0)] * ax + [(0, -rest % cols)] + [(0, 0)] * (m - 1))
    tail = tail.reshape(v.shape[:ax] + (-(-rest // cols), cols) + rest_shape)
    tail = _inner_columns(tail, lays, names)
    y = None  # a kernel shorter than one block of rows: its tail alone
    if whole:
        shape = jax.eval_shape(read, jnp.int32(0)).shape
        y = lax.fori_loop(
            0,
            whole,
            lambda i, y: y + read(i) * _phase(i.astype(it) * c, g, cdtype, -1),
            _zeros(shape, cdtype, v, _flat(names)),
        )
    if tail.shape[ax]:
        pad = [(0, 0)] * tail.ndim
        pad[ax] = (0, span - tail.shape[ax])
        last = jnp.pad(tail, pad) * _phase(whole * c, g, cdtype, -1)
        y = last if y is None else y + last
    trail = (1,) * (2 * m - 2)
    m1 = jnp.arange(span, dtype=it).reshape((span, 1) + trail)
    y = jnp.fft.fft(y * _phase(m1 * c, lay.rows, cdtype, -1), axis=ax)
    keep = min(j, span)  # (..., M1 / G, cols, ...): rows c + G j
    y = lax.slice_in_dim(y, 0, keep, axis=ax)
    pad = [(0, 0)] * y.ndim
    pad[ax] = (0, j - keep)
    y = jnp.pad(y, pad)

    def transforms(b):
        if kernel_map is not None:
            b = kernel_map(b)
        return _inner_transforms(b, lays, names, cdtype) if m > 1 else b

    if kernel_map is not None or m > 1:
        if not jnp.issubdtype(v.dtype, jnp.complexfloating):  # real transforms
            y = transforms(y.real) + 1j * transforms(y.imag)
        else:
            y = transforms(y)
        ax = y.ndim - 2 * m  # (the other axes' transforms may add some)
    k1 = jnp.minimum(c + g * jnp.arange(j, dtype=it), lay.rows - 1)
    n2 = jnp.arange(cols, dtype=it)
    f = _phase(k1[:, None] * n2[None, :], lay.length, cdtype, -1)
    y = jnp.fft.fft(y * f.reshape(f.shape + trail), axis=ax + 1)
    return jnp.moveaxis(y, (ax, ax + 1), (-2, -1))


def _shift_rows(lay: Layout, start: int, cdtype, gj):
    """Return ``exp(2 pi i k start / M)`` (``k = k1 + M1 k2``) in two factors.

    One of the row (``(G, J)``, by class: `gj`) and one of the column
    (``(cols,)``), from exact integer products on the host.
    """
    g, j = gj
    k1 = np.arange(g, dtype=np.int64)[:, None] + g * np.arange(j, dtype=np.int64)
    row = np.exp(2j * np.pi * ((k1 * start) % lay.length) / lay.length)
    k2 = np.arange(lay.cols, dtype=np.int64)
    col = np.exp(2j * np.pi * ((k2 * start) % lay.cols) / lay.cols)
    return jnp.asarray(row, cdtype), jnp.asarray(col, cdtype)


def convolve_block(x, v, lay, names, start, out_dtype, kernel_map=None):
    """Return this device's block of a window of ``x * v`` (trailing axes), by classes.

    As `_split_fft.convolve_block` (inside a `jax.shard_map`, `x` this
    device's shard, `v` the whole kernel, replicated; the window a circular
    shift by `start`), for a first layout with `classes`: one layout, mesh
    axis names and start, or tuples of them (several trailing axes, each
    split over its own mesh axes; the first by classes, the others by whole
    passes chunk by chunk). `kernel_map` (one split axis only) maps the
    kernel's classes, ``(..., J, cols)`` folded from its rows, before their
    transforms along the rows: the transforms of the convolved axes held
    whole.
    """
    lays, names, starts = _as_tuples(lay, names, start)
    m = len(lays)
    lay, name = lays[0], names[0]
    cdtype = jnp.result_type(x.dtype, v.dtype, jnp.complex64)
    g, j = classes(lay)
    p = lay.shards
    steps = g // p
    lead_v = v.shape[: v.ndim - m]
    if kernel_map is not None:  # the shape it gives the kernel's other axes
        probe = jax.ShapeDtypeStruct(lead_v + (1, lay.cols), v.dtype)
        lead_v = jax.eval_shape(kernel_map, probe).shape[:-2]
    lead = jnp.broadcast_shapes(x.shape[: x.ndim - m], lead_v)
    x = jnp.broadcast_to(x, lead + x.shape[x.ndim - m :])
    a = _to_columns(x, lays, names, cdtype, (g, j))
    batch = a.shape[:-3]
    width = lay.cols // p
    a = a.reshape(batch + (p, steps, j, width))  # class d G / p + t: [d, t]
    shift = _shift_rows(lay, starts[0], cdtype, (g, j)) if starts[0] else None
    others = [
        (i, _shift(lays[i], names[i], starts[i], cdtype))
        for i in range(1, m)
        if starts[i]
    ]
    q = lax.axis_index(name)

    def body(t, a):
        b = lax.dynamic_index_in_dim(a, t, a.ndim - 3, False)  # (..., p, J, w)
        b = _regroup(b, name, b.ndim - 3, b.ndim - 3)  # from each column block
        b = jnp.moveaxis(b, -3, -2).reshape(batch + (j, lay.cols))
        c = q * steps + t
        s = jnp.fft.fft(b, axis=-1) * _kernel_class(
            v, c, lays, names, cdtype, kernel_map
        )
        if shift is not None:
            s = s * lax.dynamic_index_in_dim(shift[0], c, 0, False)[:, None]
            s = s * shift[1]
        for i, f in others:
            s = s * f.reshape(f.shape + (1,) * (2 * i))
        b = jnp.fft.ifft(s, axis=-1).reshape(batch + (j, p, width))
        b = jnp.moveaxis(b, -2, -3)
        b = _regroup(b, name, b.ndim - 3, b.ndim - 3)  # back to each column block
        return lax.dynamic_update_index_in_dim(a, b.astype(a.dtype), t, a.ndim - 3)

    a = lax.fori_loop(0, steps, body, a)
    a = a.reshape(batch + (g, j, width))
    return _from_columns(a, lays, names, out_dtype)


def spectral_block(x, lay, names, fn, out_dtype, start=0, cdtype=None):
    """Return this device's block of ``ifft(fn(fft(x)))`` (trailing axes), by classes.

    As `_split_fft.spectral_block` (same arguments; ``fn(s, rows)`` maps
    the spectrum entry by entry, `rows` the global indices ``k1`` of the
    first split axis's rows of `s`, along its axis -2), class by class
    where the first layout has `classes`: `fn` then receives one class at
    a time, ``(..., pairs, J, cols)`` with ``rows = c + G j``, and the
    spectrum is held once, ordered by class (`_to_columns`), a class in
    flight at a time. Where `fn` changes the batch axes (reduces a stack
    of series, say), its output goes to a second array of its own shape.
    Elsewhere (no `classes`) the whole passes of `_split_fft`.
    """
    lays, names, starts = _as_tuples(lay, names, start)
    if classes(lays[0]) is None:
        return _split_fft.spectral_block(
            x, lays, names, fn, out_dtype, start=starts, cdtype=cdtype
        )
    lay, name = lays[0], names[0]
    cdtype = cdtype or jnp.result_type(x.dtype, jnp.complex64)
    g, j = classes(lay, kernel=False)
    p = lay.shards
    steps = g // p
    width = lay.cols // p
    it = _int()
    a = _to_columns(x, lays, names, cdtype, (g, j))
    batch = a.shape[:-3]
    a = a.reshape(batch + (p, steps, j, width))  # class d G / p + t: [d, t]
    probe = jax.eval_shape(
        fn,
        jax.ShapeDtypeStruct(batch + (j, lay.cols), cdtype),
        jax.ShapeDtypeStruct((j,), it),
    )
    out_batch = probe.shape[:-2]
    odtype = jnp.result_type(probe.dtype, cdtype)
    in_place = out_batch == batch and odtype == cdtype
    shift = _shift_rows(lay, starts[0], cdtype, (g, j)) if starts[0] else None
    others = [
        (i, _shift(lays[i], names[i], starts[i], cdtype))
        for i in range(1, len(lays))
        if starts[i]
    ]
    q = lax.axis_index(name).astype(it)

    def piece(t, a):  # class t of each device's G / p, (..., p, 1, J, w)
        b = lax.dynamic_index_in_dim(a, t, a.ndim - 3, False)
        b = _regroup(b, name, b.ndim - 3, b.ndim - 3)  # from each column block
        b = jnp.moveaxis(b, -3, -2).reshape(batch + (j, lay.cols))
        c = q * steps + t.astype(it)
        s = fn(jnp.fft.fft(b, axis=-1), c + g * jnp.arange(j, dtype=it))
        s = jnp.broadcast_to(s, out_batch + (j, lay.cols)).astype(odtype)
        if shift is not None:
            s = s * lax.dynamic_index_in_dim(shift[0], c, 0, False)[:, None]
            s = s * shift[1]
        for i, f in others:
            s = s * f.reshape(f.shape + (1,) * (2 * i))
        b = jnp.fft.ifft(s, axis=-1).reshape(out_batch + (j, p, width))
        b = jnp.moveaxis(b, -2, -3)
        b = _regroup(b, name, b.ndim - 3, b.ndim - 3)  # back to each column block
        return jnp.expand_dims(b.astype(odtype), -3)

    if in_place:  # each class back into its place
        a = lax.fori_loop(
            0,
            steps,
            lambda t, a: lax.dynamic_update_slice_in_dim(a, piece(t, a), t, a.ndim - 3),
            a,
        )
    else:  # into an array of fn's shape (a is read only)
        a = _side_by_side(lambda t: piece(t, a), steps, -3)
    a = a.reshape(out_batch + (g, j, width))
    return _from_columns(a, lays, names, out_dtype)
