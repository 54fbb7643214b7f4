"""Kernels longer than a shard: one transform distributed over the devices.

A halo costs each device the kernel's reach in samples from its neighbours;
once the kernel is longer than a shard, that is more than the shard itself,
and a kernel as long as the signal would bring the whole signal to every
device. Here the convolution is computed instead by one FFT of the padded
signal, distributed over the devices that hold it (the "four-step"
transform): a length ``M = M1 * M2`` is laid out as ``M1`` rows of ``M2``
samples, so that each shard is a whole number of rows. Along the rows
(``M1`` points, across devices) and along the columns (``M2`` points, on
one device) the transforms are local once an all-to-all has regrouped the
array; a twiddle factor joins the two. The kernel's transform (a replicated
input: each device reads its own columns of it) and the inverse follow the
same steps, the window of the result is a phase ramp in the spectrum (a
circular shift), and the output comes back in the shards' own layout. Per
device: ``5 * M / p`` complex numbers received over the call, and a few
arrays of ``M / p`` complex numbers held. Convolutions go instead class by
class where `by_classes` says so (`_split_chunked`: the spectrum held
once, the kernel's never whole nor moved), and so does a map of the
spectrum without a kernel wherever the layout has `classes`
(`_split_chunked.spectral_block`); `spectral_block` here is its whole
passes.

A field split along several axes is transformed along each in turn, the
other axes of each pass (samples, or spectra already computed) a batch:
``M`` and ``p`` are then the products over the split axes, and each
all-to-all runs among the devices of one mesh axis (`transform_bytes`).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from ._transforms import next_fast_len


class Layout(NamedTuple):
    """The rows-by-columns layout of the distributed transform of one axis."""

    shards: int  # devices along the split axis
    size: int  # input samples per shard
    block: int  # output samples per shard (a multiple of `cols`)
    kernel: int  # kernel taps along the axis
    rows: int  # M1: rows of the transform (even)
    cols: int  # M2: samples per row, a multiple of `shards` dividing `size`
    real: bool  # real inputs: only rows 0..M1/2 of the spectrum are kept

    @property
    def length(self) -> int:
        return self.rows * self.cols

    @property
    def spectral_rows(self) -> int:
        """Rows of the spectrum held, padded to a multiple of the shards."""
        held = self.rows // 2 + 1 if self.real else self.rows
        return -(-held // self.shards) * self.shards


def _smooth(n: int) -> bool:
    for f in (2, 3, 5, 7):
        while n % f == 0:
            n //= f
    return n == 1


def _divisors(n: int) -> list[int]:
    small = [d for d in range(1, math.isqrt(n) + 1) if n % d == 0]
    return sorted(set(small + [n // d for d in small]))


def layout(
    shards: int,
    size: int,
    block: int,
    kernel: int,
    real: bool,
    period: int | None = None,
) -> Layout | None:
    """Return the transform's layout for one split axis, or None if none fits.

    The columns must divide a shard and be a multiple of the device count
    (so that each device holds whole rows before and after, and an equal
    slice of the columns in between); of those, ones that also divide the
    output's block come first (otherwise the block is rounded up to whole
    rows and the result cut afterwards), then small prime factors, then the
    nearest to the square root of the transform's length. The rows cover
    the full convolution (``shards * size + kernel - 1`` samples), or the
    `period` of a circular convolution that keeps the window wanted free of
    wrap-around (`circular_size`: about ``1.5 n`` for 'same' and a kernel
    as long as the signal), and the output's blocks, and are even, and a
    multiple of the device count where that count has no prime factor past
    11 (then the spectrum has `classes`: the transform goes by classes,
    `_split_chunked`; 1050 rows become 1056 on four devices). Without
    64-bit integers (x64 off) a transform of ``2**31`` points or more has
    no layout: its twiddle indices would not fit.
    """
    total = shards * size + kernel - 1 if period is None else period
    cands = [c for c in _divisors(size) if c % shards == 0]
    if not cands:
        return None
    target = math.sqrt(total)
    cands.sort(
        key=lambda c: (block % c != 0, not _smooth(c), abs(math.log(c / target)))
    )
    cols = cands[0]
    block = -(-block // cols) * cols
    need = max(-(-total // cols), shards * (block // cols))
    # Even rows, and a multiple of the device count where that count is a
    # fast length itself (so that the spectrum has `classes`).
    step = math.lcm(2, shards) if next_fast_len(shards, real=False) == shards else 2
    rows = next_fast_len(need, real=False)
    while rows % step:
        rows = next_fast_len(rows + 1, real=False)
    if rows * cols >= 2**31 and not jax.config.jax_enable_x64:
        return None
    return Layout(shards, size, block, kernel, rows, cols, real)


# Classes of the chunked convolution (`_split_chunked`): at most this many
# steps of each device, and the memory they weigh against the rows' padding.
STEPS = 16


def classes(lay: Layout, kernel: bool = True) -> tuple[int, int] | None:
    """Return ``(G, J)``: the spectrum's rows as ``G`` classes of ``J`` rows.

    Class ``c`` holds the rows ``k1 = c + G j`` (``j < J``) of the
    spectrum, ``G J`` covering the rows held (``M1 / 2 + 1`` of a real
    layout, else ``M1``). ``G`` is a multiple of the shards (each device
    takes whole classes, ``G / p`` of them), and, for a convolution
    (`kernel`), divides ``M1`` (a class of the kernel's rows is one ``M1 /
    G``-point transform). Of those, the one that holds the least: the
    signal's ``G J`` rows plus four classes in flight on each device (``4
    J p`` rows), the smaller classes of two alike, and at most `STEPS`
    classes on each device (each one two all-to-alls: with more, their
    latency would tell). None where no multiple of the shards divides
    ``M1`` (the whole passes then: `convolve_block`; `spectral_block`
    too). A map of the spectrum alone (`_split_chunked.spectral_block`,
    ``kernel=False``) takes any multiple of the shards, by the same rule,
    of those whose ``G J`` is at most a convolution's (no more rows held
    nor moved): its classes may pad the rows held less (``M1 = 280`` on
    four devices: 141 rows held, ``G J`` = 144 rather than 168).
    """
    p = lay.shards
    held = lay.rows // 2 + 1 if lay.real else lay.rows
    cands = _divisors(lay.rows) if kernel else range(p, STEPS * p + 1, p)
    cands = [g for g in cands if g % p == 0 and g // p <= STEPS]
    if not kernel:
        base = classes(lay)
        if base is None:
            return None
        cands = [g for g in cands if g * -(-held // g) <= math.prod(base)]
    best, key = None, None
    for g in cands:
        j = -(-held // g)
        k = (g * j + 4 * j * p, -g)
        if key is None or k < key:
            best, key = (g, j), k
    return best


def by_classes(lays, kernel_map: bool = False) -> bool:
    """Whether a convolution along the split axes of `lays` goes by classes.

    Where the first axis's layout has `classes`, and, with other axes'
    transforms mapping the kernel (`kernel_map`), along one split axis.
    """
    lays = tuple(lays)
    return classes(lays[0]) is not None and (len(lays) == 1 or not kernel_map)


def bytes_received(lay: Layout, itemsize: int, kernel: bool = True) -> int:
    """Bytes one device receives in one call, for inputs of `itemsize` bytes.

    The signal's regrouping moves its own samples (real or complex); two
    all-to-alls move the spectrum's rows held (the signal's, and the
    inverse's first), one the output's rows; each keeps ``1 / p`` of its
    own. A convolution (`kernel`) by the whole passes moves the kernel's
    spectrum too; by classes (`by_classes`) it moves ``G J`` rows of the
    signal's there and back and none of the kernel's. `spectral_block`
    alone (``kernel=False``): the same ``G J`` rows where the layout has
    `classes` (`_split_chunked.spectral_block`). `transform_bytes` of one
    axis.
    """
    return transform_bytes((lay,), itemsize, kernel_batch=1 if kernel else None)


def transform_bytes(
    lays,
    itemsize: int,
    batch: int = 1,
    kernel_batch: int | None = 1,
    kernel_map: bool = False,
) -> int:
    """Bytes one device receives in one call of `convolve_block`.

    `lays` are the layouts of the split axes in order (the last one alone
    may be real); `batch` the elements per device of the signal's other
    axes (after any local transforms), `kernel_batch` those of the
    kernel's (None: no kernel, `spectral_block`). Per axis ``j`` each
    all-to-all moves a batch made of the axes before it in their current
    state (samples, kernel columns, output blocks) and the spectra of the
    axes after it (transformed first): the signal's samples and its
    spectrum, the kernel's spectrum, the inverse's spectrum and its
    output; each keeps ``1 / p_j`` of its own.

    A convolution goes by classes where `by_classes` says so (`kernel_map`:
    other axes' transforms map the kernel; `_split_chunked`): along the
    first axis ``G J`` rows of the spectrum and none of the kernel's (each
    device builds its classes of it), and along each other axis the
    kernel's columns come from its classes (``G J cols / p`` of the first
    axis, all of them; twice, real and imaginary parts, where the last
    layout is real). `_split_chunked.spectral_block` goes by classes
    wherever the first layout has `classes` (``G J`` rows along it).
    """
    lays = tuple(lays)
    spec = [lay.spectral_rows * (lay.cols // lay.shards) for lay in lays]
    taps = [-(-lay.kernel // lay.cols) * (lay.cols // lay.shards) for lay in lays]
    parts = [1] * len(lays)  # the kernel's passes along each axis
    if by_classes(lays, kernel_map and kernel_batch is not None):
        first = lays[0]
        rows = math.prod(classes(first, kernel=kernel_batch is not None))
        spec[0] = taps[0] = rows * (first.cols // first.shards)
        parts = [0] + [2 if lays[-1].real else 1] * (len(lays) - 1)
    total = 0.0
    for j, lay in enumerate(lays):
        words = 1 if lay.real else 2
        after = math.prod(spec[j + 1 :])
        signal = batch * math.prod(q.size for q in lays[:j]) * after
        out = batch * math.prod(q.block for q in lays[:j]) * after
        moved = signal * (lay.size * words + 2 * spec[j])
        moved += out * (2 * spec[j] + lay.block * words)
        if kernel_batch is not None:
            kernel = kernel_batch * math.prod(taps[:j]) * after * 2 * spec[j]
            moved += parts[j] * kernel
        total += moved * (lay.shards - 1) / lay.shards
    return int(round(total * itemsize))


def _angle(index, lay: Layout, dtype):
    """``2 pi index / M`` for an integer `index` in ``[0, M)``."""
    real = jnp.finfo(dtype).dtype
    return (2 * np.pi / lay.length) * index.astype(real)


def _int():
    """Return an integer dtype that holds ``k1 * n2 < M`` exactly.

    Without 64-bit types `layout` keeps ``M < 2**31``.
    """
    return jnp.int64 if jax.config.jax_enable_x64 else jnp.int32


def _regroup(a, names, split: int, concat: int):
    return lax.all_to_all(a, names, split, concat, tiled=True)


def _twiddle(lay: Layout, names, cdtype, sign: int):
    """``exp(sign 2 pi i k1 n2 / M)``: all rows held, this device's columns."""
    width = lay.cols // lay.shards
    it = _int()
    k1 = jnp.arange(lay.spectral_rows, dtype=it)[:, None]
    n2 = lax.axis_index(names).astype(it) * width + jnp.arange(width, dtype=it)[None, :]
    return jnp.exp(sign * 1j * _angle(k1 * n2, lay, cdtype)).astype(cdtype)


def _columns_to_rows(a, lay: Layout, names, cdtype):
    """Transform ``(..., rows, cols/p)`` column slices: along rows, then twiddle.

    The rows (at most ``M1``) are padded with zeros to ``M1``. Returns
    ``(..., spectral_rows/p, cols)``: this device's rows ``k1`` of the
    spectrum ``X[k1 + M1 * k2]``, all ``k2``.
    """
    pad = [(0, 0)] * (a.ndim - 2) + [(0, lay.rows - a.shape[-2]), (0, 0)]
    a = jnp.pad(a, pad)
    if lay.real:
        a = jnp.fft.rfft(a, axis=-2)
    else:
        a = jnp.fft.fft(a.astype(cdtype), axis=-2)
    pad = [(0, 0)] * (a.ndim - 2) + [(0, lay.spectral_rows - a.shape[-2]), (0, 0)]
    a = jnp.pad(a, pad) * _twiddle(lay, names, cdtype, -1)
    a = _regroup(a, names, a.ndim - 2, a.ndim - 1)
    return jnp.fft.fft(a, axis=-1)


def _signal_spectrum(x, lay: Layout, names, cdtype):
    rows_here = lay.size // lay.cols
    a = x.reshape(x.shape[:-1] + (rows_here, lay.cols))
    a = _regroup(a, names, a.ndim - 1, a.ndim - 2)  # (..., rows of data, cols/p)
    return _columns_to_rows(a, lay, names, cdtype)


def _kernel_columns(v, lay: Layout, names):
    """Return this device's ``cols / p`` columns of the kernel's rows.

    The kernel is replicated; each device reads its columns of the whole
    rows directly (no padded copy of the kernel) and of the last, partial
    row: ``(..., ceil(k / cols), cols / p)``, nothing moved.
    """
    k = v.shape[-1]
    whole, rest = divmod(k, lay.cols)
    width = lay.cols // lay.shards
    first = lax.axis_index(names) * width
    parts = []
    if whole:
        a = lax.slice_in_dim(v, 0, whole * lay.cols, axis=v.ndim - 1)
        a = a.reshape(v.shape[:-1] + (whole, lay.cols))
        parts.append(lax.dynamic_slice_in_dim(a, first, width, axis=-1))
    if rest:
        tail = lax.slice_in_dim(v, whole * lay.cols, k, axis=v.ndim - 1)
        tail = jnp.pad(tail, [(0, 0)] * (v.ndim - 1) + [(0, lay.cols - rest)])
        tail = tail.reshape(v.shape[:-1] + (1, lay.cols))
        parts.append(lax.dynamic_slice_in_dim(tail, first, width, axis=-1))
    return jnp.concatenate(parts, axis=-2) if len(parts) > 1 else parts[0]


def _inverse(s, lay: Layout, names, cdtype):
    """Inverse of the spectrum rows ``(..., spectral_rows/p, cols)``: the block."""
    p = lay.shards
    a = jnp.fft.ifft(s, axis=-1)
    a = _regroup(a, names, a.ndim - 1, a.ndim - 2)  # (..., spectral_rows, cols/p)
    a = a * _twiddle(lay, names, cdtype, 1)
    if lay.real:
        a = lax.slice_in_dim(a, 0, lay.rows // 2 + 1, axis=a.ndim - 2)
        a = jnp.fft.irfft(a, n=lay.rows, axis=-2)
    else:
        a = jnp.fft.ifft(a, axis=-2)
    out_rows = lay.block // lay.cols
    a = lax.slice_in_dim(a, 0, p * out_rows, axis=a.ndim - 2)
    a = _regroup(a, names, a.ndim - 2, a.ndim - 1)  # (..., out_rows, cols)
    return a.reshape(a.shape[:-2] + (lay.block,))


def _shift(lay: Layout, names, start: int, cdtype):
    """Return this device's rows of ``exp(2 pi i k start / M)``, ``k = k1 + M1 k2``.

    A circular shift by `start`; the factor splits into one of the row and
    one of the column, tabulated on the host (exact modular products).
    """
    rows = lay.spectral_rows // lay.shards
    k1 = np.arange(lay.spectral_rows, dtype=np.int64)
    row = np.exp(2j * np.pi * ((k1 * start) % lay.length) / lay.length)
    k2 = np.arange(lay.cols, dtype=np.int64)
    col = np.exp(2j * np.pi * ((k2 * start) % lay.cols) / lay.cols)
    row = lax.dynamic_slice_in_dim(
        jnp.asarray(row, cdtype), lax.axis_index(names) * rows, rows
    )
    return row[:, None] * jnp.asarray(col, cdtype)[None, :]


def _pair(j: int) -> tuple[int, int]:
    """Where the spectrum's (rows, columns) of trailing axis `j` sit.

    The last split axis is transformed first, so its pair comes first:
    ``(..., pair m-1, ..., pair 1, pair 0)``.
    """
    return (-2 * j - 2, -2 * j - 1)


def _spectra(x, lays, names, cdtype):
    """Return the spectrum of the trailing ``len(lays)`` axes (`_pair` layout)."""
    m = len(lays)
    for j in reversed(range(m)):
        x = jnp.moveaxis(x, -2 * (m - 1 - j) - 1, -1)
        x = _signal_spectrum(x, lays[j], names[j], cdtype)
    return x


def _inverse_blocks(s, lays, names, cdtype):
    """Inverse of the pairs' layout: ``(..., block 0, ..., block m-1)``."""
    m = len(lays)
    for j in range(m):
        s = _inverse(s, lays[j], names[j], cdtype)
        s = jnp.moveaxis(s, -1, -2 * (m - 1 - j) - 1)
    return s


def _shifted(s, lays, names, starts, cdtype):
    for j, (lay, start) in enumerate(zip(lays, starts)):
        if start:
            f = _shift(lay, names[j], start, cdtype)
            s = s * f.reshape(f.shape + (1,) * (2 * j))
    return s


def _as_tuples(lay, names, start):
    if isinstance(lay, Layout):
        return (lay,), (names,), (start,)
    return tuple(lay), tuple(names), tuple(start)


def spectral_block(x, lay: Layout, names, fn, out_dtype, start: int = 0, cdtype=None):
    """Return this device's block of ``ifft(fn(fft(x)))`` (last axis), whole passes.

    Inside a `jax.shard_map`: `x` is this device's shard (``lay.size``
    samples along the last axis of a signal split in order over the mesh
    axes `names`), padded with zeros to the transform's length ``M``.
    ``fn(s, rows)`` maps the spectrum entry by entry: `s` holds this
    device's rows of it, ``X[k1 + M1 k2]`` (rows along axis -2, all ``k2``
    along axis -1), and `rows` (an integer vector along axis -2 of `s`)
    their global indices ``k1``; rows past those held (padding) are
    dropped whatever `fn` gives them. `fn` must keep the symmetry of a
    real signal's spectrum where the layout is real (powers and generating
    functions do), and may reduce or broadcast the batch axes before the
    last two. Returns ``lay.block`` samples: outputs ``start + q * block``
    onwards on the device of index ``q`` (the window a circular shift by
    `start`). Tuples of layouts, mesh axis names and starts: several
    trailing axes, each split over its own mesh axes (see
    `convolve_block`); `fn` then receives the spectrum in `_pair`'s layout,
    `rows` those of the first axis. `_split_chunked.spectral_block` goes
    class by class where it can, this one otherwise.
    """
    cdtype = cdtype or jnp.result_type(x.dtype, jnp.complex64)
    lays, names, starts = _as_tuples(lay, names, start)
    held = lays[0].spectral_rows // lays[0].shards
    it = _int()
    rows = lax.axis_index(names[0]).astype(it) * held + jnp.arange(held, dtype=it)
    spectrum = _shifted(
        fn(_spectra(x, lays, names, cdtype), rows), lays, names, starts, cdtype
    )
    y = _inverse_blocks(spectrum, lays, names, cdtype)
    if not lays[-1].real and not jnp.issubdtype(out_dtype, jnp.complexfloating):
        y = y.real
    return y.astype(out_dtype)


def kernel_spectrum(v, lays, names, cdtype, kernel_map=None):
    """Return the spectrum of a replicated kernel, laid out as `_spectra`.

    Each device reads its columns along every split axis first (nothing
    moved, ``1 / p`` of the kernel held), then transforms axis by axis, the
    last one first (real where its layout is). `kernel_map` maps the
    columns read before they are transformed (the leading axes' own
    transforms: each device maps only its share of the kernel).
    """
    m = len(lays)
    for j in reversed(range(m)):
        v = jnp.moveaxis(v, -2 * (m - 1 - j) - 1, -1)
        v = _kernel_columns(v, lays[j], names[j])
    if kernel_map is not None:
        v = kernel_map(v)
    for j in reversed(range(m)):
        pair = _pair(j)
        v = jnp.moveaxis(v, pair, (-2, -1))
        v = _columns_to_rows(v, lays[j], names[j], cdtype)
        v = jnp.moveaxis(v, (-2, -1), pair)
    return v


def convolve_block(x, v, lay, names, start, out_dtype, kernel_map=None):
    """Return this device's block of a window of ``x * v`` (trailing axes).

    As `spectral_block`, the spectrum multiplied by that of `v`, the whole
    kernel (``lay.kernel`` taps, replicated). Leading axes broadcast. With
    tuples of layouts, mesh axis names and starts, the trailing axes are
    each split over their own mesh axes and transformed one after the
    other (the last one first, real where its layout is), the others of
    each pass acting as a batch. `kernel_map`: see `kernel_spectrum`.
    """
    lays, names, starts = _as_tuples(lay, names, start)
    cdtype = jnp.result_type(x.dtype, v.dtype, jnp.complex64)
    sv = kernel_spectrum(v, lays, names, cdtype, kernel_map)
    return spectral_block(
        x, lays, names, lambda s, rows: s * sv, out_dtype, start=starts, cdtype=cdtype
    )
