"""Lagged sums of series split over devices along their time axis.

Two routes (`spread` picks one from how far the lags reach).

The halo. A lagged correlation with lags ``lo .. hi`` needs, on the device
that holds samples ``p s .. (p + 1) s - 1`` of `v`, the samples of `u` from
``p s + lo`` to ``(p + 1) s - 1 + hi``: its own block and a halo of
``-lo`` samples before and ``hi`` after, from its neighbours
(`lax.ppermute`, one per neighbour spanned; zeros past the series' ends).
Each device sums the products ``u[t + k] conj(v[t])`` of its own `t`, so
every product is counted once, and a `lax.psum` of the ``hi - lo + 1``
partial sums gives the lags, the same on every device of the series (the
lag axis is replicated: it is short). Means, variances and counts are
`lax.psum`s of per-shard sums (`Shards`).

The transform. Lags that reach further are one circular correlation of the
zero-padded series by the engine's distributed transform
(`spectral_block`), each device receiving its own block of the lags
(`Spread`): per-lag quantities are computed on that block, cumulative sums
along the lags carry the blocks' totals, and the result is split along the
lags where the blocks tile them, else joined (`over_time`).

`Whole` does the same on a series held whole (the engine's `correlate` and
plain sums), so that each function's arithmetic is written once, for all.
The engine's `conv.internal.halo_map` maps a function over a split array
and returns it split; here the halo is taken inside a `shard_map` that also
reduces over the devices, with the engine's `halo` and `receive` (the same
`lax.ppermute` exchange) and its reading of the layout (`split_of`).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.sharding import AxisType, NamedSharding
from jax.sharding import PartitionSpec as P

from ..conv import choose_method, correlate
from ..conv.internal import (
    SplitLayout,
    halo,
    receive,
    spectral_block,
    split_of,
)
from ..conv.internal import (
    split_layout as transform_layout,
)


def _names(entry) -> tuple[str, ...]:
    if entry is None:
        return ()
    return (entry,) if isinstance(entry, str) else tuple(entry)


class Layout(NamedTuple):
    """How the inputs of a lagged correlation lie over a mesh (static).

    `specs` are the inputs' specs with the time axis moved last and leading
    axes added to a common number of dimensions; `out` is the spec of an
    output with the lag axis last (batch axes as the inputs, lags replicated).
    """

    mesh: object
    time: tuple[str, ...]  # the mesh axes the time axis is split over
    shards: int
    specs: tuple  # one PartitionSpec per input
    out: P

    def explicit(self) -> bool:
        types = dict(zip(self.mesh.axis_names, self.mesh.axis_types))
        return any(
            types[n] == AxisType.Explicit for e in self.specs[0] for n in _names(e)
        ) or any(types[n] == AxisType.Explicit for n in self.time)


def split_layout(arrays, axes, what: str = "series") -> Layout | None:
    """Return the `Layout` of inputs of which one is split along its time axis.

    `axes` are the inputs' time axes (normalized). None when no input is
    split along its time axis. The inputs must then have the same length
    along it (ValueError otherwise).
    """
    found = [split_of(x) for x in arrays]
    split = [f is not None and f.spec[a] is not None for f, a in zip(found, axes)]
    first = next((i for i, s in enumerate(split) if s), None)
    if first is None:
        return None
    mesh, spec0 = found[first].mesh, found[first].spec
    time = _names(spec0[axes[first]])
    lengths = [x.shape[a] for x, a in zip(arrays, axes)]
    if len(set(lengths)) > 1:
        raise ValueError(
            f"The {what} split over devices along `axis` must have the same "
            f"length along it; got lengths {lengths}. Join the shorter one "
            "(jax.sharding.reshard to a replicated spec) or pad it."
        )
    nd = max(x.ndim for x in arrays)
    moved = []  # (shape, spec) with time last, ndim aligned
    for x, a, f in zip(arrays, axes, found):
        spec = list(f.spec) if f is not None and f.mesh == mesh else [None] * x.ndim
        shape = list(x.shape)
        spec.append(spec.pop(a))
        shape.append(shape.pop(a))
        pad = nd - x.ndim
        moved.append(([1] * pad + shape, [None] * pad + spec))
    try:
        batch = np.broadcast_shapes(*(tuple(s[:-1]) for s, _ in moved))
    except ValueError:
        return None  # the callers' own check names the shapes
    entries, used = [], set(time)
    for d, size in enumerate(batch):
        entry = next(
            (e[d] for s, e in moved if s[d] == size and e[d] is not None), None
        )
        if entry is not None and (size == 1 or set(_names(entry)) & used):
            entry = None  # a mesh axis splits one axis of the inputs at most
        used.update(_names(entry))
        entries.append(entry)
    specs = tuple(
        P(*[e if s[d] == batch[d] else None for d, e in enumerate(entries)], time)
        for s, _ in moved
    )
    shards = math.prod(mesh.shape[n] for n in time)
    return Layout(mesh, time, shards, specs, P(*entries, None))


class Whole:
    """Sums and lagged sums along the last axis of series held whole."""

    shards = 1

    @staticmethod
    def length(x) -> int:
        return x.shape[-1]

    @staticmethod
    def sum(x):
        return jnp.sum(x, axis=-1, keepdims=True)

    @staticmethod
    def lagged(u, v, maxlag, method, nonneg=False):
        """``correlate(u, v, 'full', maxlag=maxlag)``; lags from 0 if `nonneg`."""
        c = correlate(u, v, "full", axes=-1, maxlag=maxlag, method=method)
        return c[..., maxlag:] if nonneg else c

    @staticmethod
    def lags(lo: int, hi: int):
        """Return the lags ``lo .. hi`` held here: all of them (NumPy, static)."""
        return np.arange(lo, hi + 1)

    @staticmethod
    def first(c):
        """Return the first lag of `c` (last axis), kept as an axis of one."""
        return c[..., :1]

    @staticmethod
    def cumsum(c, exclusive: bool = False):
        """Cumulative sums along the lags (last axis); `exclusive`: of those before."""
        s = jnp.cumsum(c, axis=-1)
        if not exclusive:
            return s
        pad = [(0, 0)] * (c.ndim - 1) + [(1, 0)]
        return jnp.pad(s[..., :-1], pad)

    @staticmethod
    def ends(x, h: int):
        """Return the first and the last `h` samples."""
        return x[..., :h], x[..., x.shape[-1] - h :]

    @staticmethod
    def changes(x):
        """Count the neighbours that differ (``x[t] != x[t - 1]``), per series."""
        return Whole.sum((x[..., 1:] != x[..., :-1]).astype(jnp.int32))

    @staticmethod
    def after(done, *xs):
        """Return `xs` unchanged (`Spread.after` orders the transforms)."""
        return xs[0] if len(xs) == 1 else xs


WHOLE = Whole()


class Shards(NamedTuple):
    """The same on one device's block of a series split over `names`."""

    names: tuple[str, ...]
    shards: int

    def length(self, x) -> int:
        return x.shape[-1] * self.shards

    def sum(self, x):
        return lax.psum(jnp.sum(x, axis=-1, keepdims=True), self.names)

    def lagged(self, u, v, maxlag, method, nonneg=False):
        """Return the lags of `Whole.lagged`, as psums of per-shard sums.

        Each device extends its block of `u` by the halo its lags reach
        and sums ``u[t + k] conj(v[t])`` over its own ``t`` (the engine's
        'valid' correlation of the extended block with `v`'s block).
        """
        n = self.length(u)
        hi = n - 1 if maxlag is None else maxlag
        lo = 0 if nonneg else -hi
        # Lags beyond n - 1 have no pairs: zeros.
        top, bottom = min(hi, n - 1), max(lo, -(n - 1))
        before, after = max(0, -bottom), max(0, top)
        left, right = halo(u, u.ndim - 1, self.names, self.shards, before, after)
        ext = jnp.concatenate([*left, u, *right], axis=-1)
        c = _halo_sums(ext, v, method)
        c = c[..., before + bottom : before + top + 1]
        c = lax.psum(c, self.names)
        pad = [(0, 0)] * (c.ndim - 1) + [(bottom - lo, hi - top)]
        return jnp.pad(c, pad) if bottom != lo or top != hi else c

    lags = staticmethod(Whole.lags)
    first = staticmethod(Whole.first)
    cumsum = staticmethod(Whole.cumsum)

    @staticmethod
    def after(done, *xs):
        """Return `xs` as values computed after `done` (as `Spread.after`).

        A call of several lagged sums by halos (pair counts, the six of
        Pearson's with NaN omitted) would otherwise hold each one's FFT
        buffers side by side (1.21 of the inputs measured for Pearson with
        NaN omitted at 1,024 lags, four devices; 0.69 in turn).
        """
        return Spread.after(done, *xs)

    def ends(self, x, h: int):
        """Return the first and last `h` samples of the series, on every device."""
        size = x.shape[-1]
        p = lax.axis_index(self.names)

        def pick(start):
            idx = start + jnp.arange(h) - p * size
            ok = (idx >= 0) & (idx < size)
            vals = jnp.take(x, jnp.clip(idx, 0, size - 1), axis=-1)
            return lax.psum(jnp.where(ok, vals, jnp.zeros_like(vals)), self.names)

        return pick(0), pick(self.length(x) - h)

    def changes(self, x):
        p = lax.axis_index(self.names)
        prev = receive(x[..., -1:], self.names, self.shards, 1)
        edge = (p > 0) & (x[..., :1] != prev)
        inner = jnp.sum(
            (x[..., 1:] != x[..., :-1]).astype(jnp.int32), -1, keepdims=True
        )
        return lax.psum(inner + edge.astype(jnp.int32), self.names)


def _halo_sums(ext, v, method):
    """Return ``correlate(ext, v, 'valid')`` along the last axis, for the halo.

    With ``method='auto'``, where the engine would take the FFT for the
    rows together but sums of products for one row (rows of both inputs,
    such as a batch split over a 2 x 2 mesh with time: XLA's grouped
    convolution of the rows is slow, so the engine transforms them all at
    once), the rows go one at a time by sums of products, the engine's
    own choice for one row: the FFT held the padded rows and their
    spectra side by side, four blocks of the inputs (1.055 of the inputs
    per device for `acf` at 20 lags on a 2 x 2 mesh, 0.75 row by row).
    """
    if method == "auto" and ext.ndim > 1:
        batch = np.broadcast_shapes(ext.shape[:-1], v.shape[:-1])
        rows = math.prod(batch)
        both = math.prod(ext.shape[:-1]) > 1 and math.prod(v.shape[:-1]) > 1
        one = [jax.ShapeDtypeStruct(x.shape[-1:], x.dtype) for x in (ext, v)]
        if (
            both
            and choose_method(ext, v, "valid", axes=-1) == "fft"
            and choose_method(*one, "valid") == "direct"
        ):
            a = jnp.broadcast_to(ext, (*batch, ext.shape[-1])).reshape(rows, -1)
            b = jnp.broadcast_to(v, (*batch, v.shape[-1])).reshape(rows, -1)
            c = lax.map(lambda r: correlate(*r, "valid", method="direct"), (a, b))
            return c.reshape(*batch, c.shape[-1])
    return correlate(ext, v, "valid", axes=-1, method=method)


# How far, in shards, the halo of a lagged sum may reach before the lags
# take the distributed transform (see `spread`): where the transform's
# scratch per device falls below the halo's, measured with four devices
# under the suite's compiler settings (docs/performance.md, "Lagged
# correlations"; the transforms one at a time, `Spread.after`): an
# autocorrelation (one series' transform) from a quarter of a shard on;
# two series (`ccf`, `xcorr`) from half a shard on (`xcorr` at 8192 lags
# each side, a shard of halo: 1.11 of the inputs by the halo, 0.74 by the
# transform; with NaN omitted, its halos one at a time, `Shards.after`,
# the same: 0.69 / 0.74 at 4096 lags, 0.98 / 0.72 at 8192); Pearson's
# from three eighths (at 8192 lags: 1.52 by the halo, 0.92 by the
# transform); Pearson's with NaN omitted (seven lagged sums) from a
# quarter, where its `Spread` block goes by chunks of windows instead of
# transforms (`_xcorr._chunked_pearson_omit`; at 1024, 2048, 4096 lags
# 0.52 / 0.50, 0.62 / 0.50, 0.88 / 0.52 by the halo / the chunks: the
# halo kept where it is about as small, as it is faster).
HALO_SHARDS = 0.25
HALO_SHARDS_PAIR = 0.5
HALO_SHARDS_OMIT = 0.25  # Pearson's with NaN omitted
HALO_SHARDS_PEARSON = 0.375


class Spread(NamedTuple):
    """One device's block of the lags, by the distributed transform.

    Lags that reach past a shard are not summed from halos: the lagged sums
    ``c_k = sum_t u[t + k] conj(v[t])`` for ``k = lo .. hi`` are one
    circular correlation of the zero-padded series, ``ifft(U conj(V))`` of
    length ``M >= n + max(hi, -lo)`` (no wrap-around onto the lags wanted),
    computed by the engine's distributed transform (`spectral_block`) over
    the devices that hold the series. Device ``q`` receives its block of
    lags, ``lo + q * block`` onwards (`lags`), and everything per lag
    (divisors, pair counts, cumulative sums) is computed on that block; the
    sums over the series are psums as in `Shards`.
    """

    names: tuple[str, ...]
    shards: int
    lo: int
    hi: int
    lay: SplitLayout

    length = Shards.length
    sum = Shards.sum
    ends = Shards.ends
    changes = Shards.changes

    @staticmethod
    def after(done, *xs):
        """Return `xs` as values computed after `done`, unchanged.

        Two distributed transforms of one program do not depend on each
        other, and the compiler may run them side by side, each holding
        its spectrum. The inputs of the second, passed through here with
        the first's result, wait for it, so that one spectrum is held at a
        time. The wait is a data dependency: `xs` plus a zero formed from
        an entry of `done` (``0 * clip(nan_to_num(.))``, exactly 0, which
        the compiler cannot fold since ``0 * x`` is not 0 for every
        float); an `optimization_barrier` would not do, as XLA's CPU
        pipeline removes barriers before it schedules.
        """
        t = jnp.real(jnp.ravel(done)[0]).astype(jnp.float32)
        zero = lax.stop_gradient(0 * jnp.clip(jnp.nan_to_num(t), -1, 1))
        out = tuple(
            x | (zero != 0) if x.dtype == jnp.bool_ else x + zero.astype(x.dtype)
            for x in xs
        )
        return out[0] if len(out) == 1 else out

    def raw_lags(self):
        q = lax.axis_index(self.names)
        return self.lo + q * self.lay.block + jnp.arange(self.lay.block)

    def lags(self, lo: int, hi: int):
        """Return this device's lags; the padding after `hi` repeats `hi`."""
        if (lo, hi) != (self.lo, self.hi):
            raise AssertionError(f"lags {lo}..{hi}, laid out {self.lo}..{self.hi}")
        return jnp.minimum(self.raw_lags(), self.hi)

    def first(self, c):
        """Return the value at lag `lo` (on device 0) on every device."""
        k = self.raw_lags()
        return lax.psum(
            jnp.sum(jnp.where(k == self.lo, c, 0), axis=-1, keepdims=True), self.names
        )

    def cumsum(self, c, exclusive: bool = False):
        """Cumulative sums along the lags split over the devices.

        Each device sums its block and adds the totals of the blocks
        before it: one psum of ``p`` totals per row (no gather).
        """
        q = lax.axis_index(self.names)
        local = jnp.cumsum(c, axis=-1)
        slots = jnp.arange(self.shards)
        total = local[..., -1:]
        totals = lax.psum(jnp.where(slots == q, total, 0), self.names)
        before = jnp.sum(jnp.where(slots < q, totals, 0), axis=-1, keepdims=True)
        if exclusive:
            local = local - c
        return local + before

    def lagged(self, u, v, maxlag, method, nonneg=False):
        """Return this device's block of `Whole.lagged`'s lags (`method` unused)."""
        n = self.length(u)
        hi = n - 1 if maxlag is None else maxlag
        self.lags(0 if nonneg else -hi, hi)  # the lags this block was laid for
        dtype = jnp.result_type(u.dtype, v.dtype)
        if u is v:  # an autocorrelation: one series, |U|^2
            x, fn = u, (lambda s, rows: s * jnp.conj(s))
        else:
            x = jnp.stack(jnp.broadcast_arrays(u, v))
            fn = lambda s, rows: s[0] * jnp.conj(s[1])  # noqa: E731
        start = self.lo % self.lay.length
        c = spectral_block(x.astype(dtype), self.lay, self.names, fn, dtype, start)
        k = self.raw_lags()
        # Lags past n - 1 have no pairs; the padding past `hi` is cut later.
        return jnp.where((jnp.abs(k) < n) & (k <= self.hi), c, 0)

    def window_sums(self, x, first, skip=None):
        """Return this device's block of the lagged sums of series with ones.

        `x` stacks series along its first axis; for series ``i`` the sums
        are ``sum_t x[t + k] 1[t]`` where ``first[i]``, else
        ``sum_t 1[t + k] conj(x[t])``: the sums of each lag's window of
        `x`. ``skip[i]``: the ones start at sample 1 (for counts of
        changes between neighbours). One transform of the stack, the
        spectrum of the ones formed on each device in closed form (a
        Dirichlet kernel, `_ones_spectrum`), none of it moved.
        """
        n = self.length(x)
        skip = (False,) * len(first) if skip is None else skip
        self.lags(self.lo, self.hi)
        dtype = x.dtype
        cdtype = jnp.result_type(dtype, jnp.complex64)
        lay = self.lay
        on = np.array(first).reshape((-1,) + (1,) * x.ndim)
        less = np.array(skip, float).reshape(on.shape)

        def fn(s, rows):
            w = _ones_spectrum(lay, n, rows, cdtype) - less.astype(cdtype)
            return jnp.where(on, s * jnp.conj(w), w * jnp.conj(s))

        start = self.lo % lay.length
        c = spectral_block(x, lay, self.names, fn, dtype, start)
        k = self.raw_lags()
        return jnp.where((jnp.abs(k) < n) & (k <= self.hi), c, 0)

    def take(self, x, index, owners):
        """Return ``x[..., index(q)]`` of the whole series `x` on each device ``q``.

        `x` is split (this device's block); ``index(q)`` gives, for any
        device ``q`` (traced), indices of the whole series (-1: 0);
        `owners` (static) the offsets ``(j // size - q) % shards`` of the
        devices that hold them. For each offset, every device picks what
        its block holds of the indices of the device that offset before
        it and sends them there (one cyclic `lax.ppermute` of the picks,
        zeros where it holds none); each index is held by one device, so
        the received picks add up to the values. Only index-sized pieces
        move: no block of the series.
        """
        size = x.shape[-1]
        p = lax.axis_index(self.names)
        out = None
        for d in owners:
            q = (p - d) % self.shards  # the device these picks go to
            j = index(q)
            mine = (j >= 0) & (j // size == p)
            local = jnp.take(x, jnp.clip(j - p * size, 0, size - 1), axis=-1)
            picks = jnp.where(mine, local, jnp.zeros_like(local))
            if d:
                picks = receive(picks, self.names, self.shards, -d, cyclic=True)
            out = picks if out is None else out + picks
        return out

    def shifts(self, starts, length: int, size: int) -> tuple[int, ...]:
        """Return the cyclic shifts that `shifted` needs for windows at `starts`.

        A window of `length` samples from ``p size + start`` on device
        ``p`` meets the blocks ``d = floor((start + j) / size)`` after its
        own; each such ``d`` within the series is one shift ``d mod
        shards`` (static).
        """
        out = set()
        for start in starts:
            first, last = start // size, (start + length - 1) // size
            for d in range(max(first, 1 - self.shards), min(last, self.shards - 1) + 1):
                out.add(d % self.shards)
        return tuple(sorted(out))

    def shifted(self, x, start, length: int, shifts):
        """Return ``x[p size + start + j]``, ``j < length``, on each device ``p``.

        `x` is split (this device's block of ``size`` samples); `start` is
        the same on every device (traced); samples outside the series are
        0. For each cyclic shift ``c`` of `shifts` (`shifts`, static),
        every device ``p`` cuts from its block what device ``r = (p - c)
        mod shards`` needs (the samples ``j`` with ``r size + start + j``
        in the block, at offset ``d = p - r`` blocks) and sends it there
        (one `lax.ppermute` of a window); each sample is held by one
        device, so the received pieces add up to the window. The pieces
        are gathers at clipped indices: a dynamic slice of the block
        padded by a window each side held the padded block, and XLA
        rewrote that slice so that a start before the padding was not
        clamped (wrong samples, seen with four devices).
        """
        size = x.shape[-1]
        p = lax.axis_index(self.names)
        out = None
        for c in shifts:
            d = p - (p - c) % self.shards  # blocks from the receiver to here
            idx = start - d * size + jnp.arange(length)
            y = x if out is None else self.after(out, x)  # a piece at a time
            piece = jnp.take(y, jnp.clip(idx, 0, size - 1), axis=-1)
            piece = jnp.where((idx >= 0) & (idx < size), piece, 0)
            if c:
                piece = receive(piece, self.names, self.shards, -c, cyclic=True)
            out = piece if out is None else out + piece
        return out

    @staticmethod
    def valid(ext, v, method):
        """Return ``correlate(ext, v, 'valid')`` of this device's pieces."""
        return _halo_sums(ext, v, method)

    def index(self, x):
        """Return the index in the whole series of each sample of this block."""
        size = x.shape[-1]
        return lax.axis_index(self.names) * size + jnp.arange(size)

    def previous(self, x):
        """Return the sample before each one of this block (0 before the first)."""
        prev = receive(x[..., -1:], self.names, self.shards, 1)
        return jnp.concatenate([prev, x[..., :-1]], axis=-1)


def _ones_spectrum(lay: SplitLayout, n: int, rows, cdtype):
    """Return the transform of ``n`` ones at the rows `rows` and every column.

    ``W_f = sum_{t < n} e^{-2 pi i f t / M} = e^{-i pi f (n - 1) / M}
    sin(pi f n / M) / sin(pi f / M)`` (``n`` at ``f = 0``), with ``f = k1 +
    M1 k2``, ``k1`` the row (`rows`, axis -2 of the result) and ``k2`` the
    column: each factor the product of a row's and a column's, from exact
    integer products on the host (as the engine's phase ramps), so that
    the phases are exact to rounding at any length. Shaped ``rows.shape +
    (cols,)``.
    """
    m, m1, m2 = lay.length, lay.rows, lay.cols
    k1 = np.arange(m1).astype(object)  # Python integers: exact products
    k2 = np.arange(m2).astype(object)

    def phase(a):  # e^{-i pi a / M}
        return np.exp(-1j * np.pi * (a % (2 * m)).astype(float) / m)

    rows = jnp.asarray(rows) % m1
    out = []
    for mult in (n - 1, n, 1):
        r = jnp.asarray(phase(k1 * mult), cdtype)
        c = jnp.asarray(phase(m1 * k2 * mult), cdtype)
        out.append(jnp.take(r, rows, axis=0)[..., None] * c)
    shift, top, bottom = out
    zero = (rows == 0)[..., None] & (np.arange(m2) == 0)
    ratio = jnp.imag(top) / jnp.where(zero, 1, jnp.imag(bottom))
    return jnp.where(zero, n, shift * ratio)


def spread(
    layout: Layout | None,
    lo: int,
    hi: int,
    length: int,
    real: bool,
    halo_shards: float = HALO_SHARDS,
):
    """Return the `Spread` of lags ``lo .. hi`` when they take the transform.

    The rule: while the halo of a device (``-lo`` samples before its shard
    and ``hi`` after, within the series) is at most `halo_shards` shards,
    halo exchange (None; `HALO_SHARDS` and its neighbours say why). Beyond,
    the distributed transform, where the engine has a layout for it
    (`transform_layout`; else None, the halo: correct, but each device
    holds its shard and halo). `length` is the series' length, `real`
    whether both are real.
    """
    if layout is None:
        return None
    size = length // layout.shards
    top, bottom = min(hi, length - 1), max(lo, -(length - 1))
    if max(0, top) + max(0, -bottom) <= halo_shards * size:
        return None
    count = hi - lo + 1
    period = length + max(top, -bottom, 0)
    lay = transform_layout(
        layout.shards, size, -(-count // layout.shards), length, real, period
    )
    if lay is None:
        return None
    return Spread(layout.time, layout.shards, lo, hi, lay)


def over_time(
    core,
    layout: Layout | None,
    arrays,
    trailing,
    lags=None,
    whole=(),
    halo_shards: float = HALO_SHARDS,
):
    """Run ``core(*arrays, ops)`` on whole series, or on each device's blocks.

    `arrays` have their time axis last and a common number of dimensions;
    `core` returns a tuple of outputs with the lag axis last, output ``i``
    with ``trailing[i]`` more axes after it, each with the lags ``lo ..
    hi`` of `lags` (static). Split (a `layout`), it runs inside
    `jax.shard_map`: with `Shards` operations, replicated along the lags
    (lags within `halo_shards`), or with `Spread` ones (`spread`), split
    along the lags like the series along time where the blocks tile the
    lags exactly (their count a multiple of the devices, and of the
    transform's columns per block), else joined; the outputs `whole` (their
    indices) joined always. Batch axes are split like the inputs'.
    """
    if layout is None:
        return tuple(core(*arrays, WHOLE))
    ops = Shards(layout.time, layout.shards)
    if lags is not None:
        real = all(not jnp.issubdtype(a.dtype, jnp.complexfloating) for a in arrays)
        length = arrays[0].shape[-1]
        ops = spread(layout, *lags, length, real, halo_shards) or ops
    if layout.explicit():
        arrays = [
            jax.sharding.reshard(a, NamedSharding(layout.mesh, s))
            for a, s in zip(arrays, layout.specs)
        ]

    def body(*blocks):
        return tuple(core(*blocks, ops))

    time = layout.time[0] if len(layout.time) == 1 else layout.time
    lag = time if isinstance(ops, Spread) else None
    out_specs = tuple(P(*layout.out[:-1], lag, *([None] * t)) for t in trailing)
    mapped = jax.shard_map(
        body, mesh=layout.mesh, in_specs=tuple(layout.specs), out_specs=out_specs
    )
    out = mapped(*arrays)
    if not isinstance(ops, Spread):
        return out
    count = ops.hi - ops.lo + 1
    exact = ops.lay.block * ops.shards == count
    joined = []  # no uneven shardings: the padded blocks are joined, then cut
    for i, (y, t, spec) in enumerate(zip(out, trailing, out_specs)):
        if exact and i not in whole:
            joined.append(y)
            continue
        if layout.explicit():
            entries = list(spec)
            entries[y.ndim - t - 1] = None
            y = jax.sharding.reshard(y, NamedSharding(layout.mesh, P(*entries)))
        joined.append(lax.slice_in_dim(y, 0, count, axis=y.ndim - t - 1))
    return tuple(joined)
