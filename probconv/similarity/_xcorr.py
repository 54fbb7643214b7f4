"""Cross-correlation with lags and the usual normalizations."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.typing import ArrayLike

from .._checks import check_axis, check_choice, check_int, check_nan_policy
from ..conv import correlation_lags
from ..conv.internal import METHODS, bounded_jit
from ._args import as_array, half_dtype, last_axis_pair, mean_shift, restore, to_float
from ._missing import pair_counts
from ._split import (
    HALO_SHARDS_OMIT,
    HALO_SHARDS_PAIR,
    HALO_SHARDS_PEARSON,
    WHOLE,
    Spread,
    over_time,
    split_layout,
)
from ._windows import (
    changes,
    correlation,
    covariance,
    pearson,
    prefix_sum,
    window_variance,
)

NORMALIZATIONS = (None, "none", "biased", "unbiased", "coeff", "pearson")


class XcorrResult(NamedTuple):
    """Lags and values of a cross-correlation, as returned by `xcorr`.

    Attributes
    ----------
    lags : numpy.ndarray
        The integer lag of each entry (static: it depends only on shapes).
    values : jax.Array
        The correlation at each lag, along the correlated axis.
    """

    lags: np.ndarray
    values: jax.Array


def overlap_windows(na: int, nb: int, lags: np.ndarray):
    """Index windows of `a` and `b` that overlap at each lag.

    At lag ``k`` the sum ``sum_n a[n + k] conj(b[n])`` runs over
    ``a[lo_a:hi_a]`` and ``b[lo_b:hi_b]``, both of length ``m``; ``m`` is 0
    where the inputs do not overlap.
    """
    lo_a = np.clip(lags, 0, na)
    hi_a = np.clip(np.minimum(na, nb + lags), 0, na)
    hi_a = np.maximum(hi_a, lo_a)
    m = hi_a - lo_a
    lo_b = np.clip(-lags, 0, nb)
    lo_b = np.where(m > 0, lo_b, 0)
    return lo_a, hi_a, lo_b, lo_b + m, m


def overlap_count(na: int, nb: int, lags):
    """Return `overlap_windows`' `m` for NumPy or JAX `lags` (a device's block)."""
    xp = np if isinstance(lags, np.ndarray) else jnp
    lo_a = xp.clip(lags, 0, na)
    hi_a = xp.clip(xp.minimum(na, nb + lags), 0, na)
    return xp.maximum(hi_a - lo_a, 0)


def _window_stats(x, lo, hi):
    """Return sums, sums of squares and constancy of ``x[..., lo:hi]`` per lag."""
    shift = mean_shift(x)
    xc = x - shift
    p1 = prefix_sum(xc, -1)
    p2 = prefix_sum(jnp.abs(xc) ** 2, -1)
    s1 = p1[..., hi] - p1[..., lo]
    s2 = p2[..., hi] - p2[..., lo]
    # Changes between neighbours inside [lo, hi) are those at lo+1 .. hi-1.
    ch = prefix_sum(jnp.pad(changes(x, -1), [(0, 0)] * (x.ndim - 1) + [(1, 0)]), -1)
    inner = ch[..., hi] - ch[..., np.minimum(lo + 1, hi)]
    # s2 is a difference of prefix sums: its rounding error scales with them.
    return xc, s1, s2, inner == 0, p2[..., hi] + p2[..., lo]


def _split_window_stats(x, lo, hi, ops):
    """`_window_stats` of a series split over devices (`ops`, a `Shards`).

    The windows of a lagged correlation leave out at most the first and
    the last few samples: each window sum is the series' total less a sum
    over its first ``lo`` and last ``n - hi`` samples, which every device
    receives (`Shards.ends`); the changes between neighbours likewise.
    """
    n = ops.length(x)
    t = n - hi
    h = int(min(n, max(lo.max(), t.max()) + 1))
    shift = mean_shift(x, ops=ops)
    xc = x - shift
    head, tail = ops.ends(x, h)
    hc, tc = head - shift, jnp.flip(tail - shift, -1)
    h1, h2 = prefix_sum(hc, -1), prefix_sum(jnp.abs(hc) ** 2, -1)
    t1, t2 = prefix_sum(tc, -1), prefix_sum(jnp.abs(tc) ** 2, -1)
    s1 = ops.sum(xc) - h1[..., lo] - t1[..., t]
    total2 = ops.sum(jnp.abs(xc) ** 2)
    s2 = total2 - h2[..., lo] - t2[..., t]
    # Changes at positions lo + 1 .. hi - 1: all, less those at 1 .. lo and
    # at hi .. n - 1.
    ch_head = prefix_sum(
        jnp.pad(changes(head, -1), [(0, 0)] * (x.ndim - 1) + [(1, 0)]), -1
    )
    ch_tail = prefix_sum(jnp.flip(changes(tail, -1), -1), -1)
    inner = ops.changes(x) - ch_tail[..., t] - ch_head[..., np.minimum(lo + 1, hi)]
    return xc, s1, s2, inner == 0, total2 - t2[..., t] + h2[..., lo]


def _zero_filled(x):
    """`x` with NaN read as 0 (the split Pearson routes' zero-filled inputs)."""
    return jnp.where(jnp.isnan(x), 0, x)


def _cross_sums(a, b, maxlag, ops):
    """Return the mean shifts, the sums' error scales and the lagged cross sums.

    Of the zero-filled series, each less its shift, by the transform: what
    both split Pearson routes (`_spread_pearson`, `_gathered_pearson`)
    start from. The error scales are the sums of squares of the shifted
    series: each window sum, a correlation, errs by about eps times them.
    """
    shift_a = mean_shift(_zero_filled(a), ops=ops)
    shift_b = mean_shift(_zero_filled(b), ops=ops)
    err_a = ops.sum(jnp.abs(_zero_filled(a) - shift_a) ** 2)
    err_b = ops.sum(jnp.abs(_zero_filled(b) - shift_b) ** 2)
    sab = ops.lagged(
        _zero_filled(a) - shift_a, _zero_filled(b) - shift_b, maxlag, "fft"
    )
    return shift_a, shift_b, err_a, err_b, sab


def _spread_pearson(a, b, maxlag, m, ops):
    """Pearson coefficients on a `Spread` block of lags, one transform at a time.

    The cross sums first (a pair's transform), then for each input three
    transforms against ones (`Spread.window_sums`, the ones' spectrum in
    closed form): the window sums, the sums of squares, and the windows'
    constancy, counted exactly as the changes between neighbours
    (rounded): ``ca[t] = a[t] != a[t - 1]`` against ones from the second
    sample on, so that the change entering each window is left out. Each
    transform waits for the one before (`Spread.after`), its input formed
    then from `a` or `b` (NaN read as 0, as the caller's zero-filled
    inputs), and what the coefficient needs is reduced as soon as it can
    be (the covariance once both window sums are known, the variances):
    one spectrum held at a time, no copy of a series, at most four blocks
    of the lags kept.
    """
    dtype = jnp.real(a).dtype
    zero_filled = _zero_filled
    shift_a, shift_b, err_a, err_b, sab = _cross_sums(a, b, maxlag, ops)

    def sums(x, done, form, first, skip=False):
        y = form(zero_filled(ops.after(done, x)))
        s = ops.window_sums(y[None], (first,), (skip,))[0]
        return s if first else jnp.conj(s)

    def steps(y):  # y[t] != y[t - 1], 0 at the series' first sample
        prev = ops.previous(y[..., :1])
        first = (y[..., :1] != prev) & (lax.axis_index(ops.names) > 0)
        return jnp.concatenate([first, y[..., 1:] != y[..., :-1]], -1).astype(dtype)

    def constant(x, done, first):
        return jnp.round(jnp.real(sums(x, done, steps, first, True))) == 0

    sa = sums(a, sab, lambda y: y - shift_a, True)
    saa = jnp.real(sums(a, sa, lambda y: jnp.abs(y - shift_a) ** 2, True))
    va, zero = window_variance(sa, saa, m, False, err_a)
    zero = zero | constant(a, va, True)
    sb = sums(b, zero, lambda y: y - shift_b, False)
    cov = covariance(sab, sa, sb, m)
    sbb = jnp.real(sums(b, cov, lambda y: jnp.abs(y - shift_b) ** 2, False))
    vb, zero = window_variance(sb, sbb, m, zero, err_b)
    zero = zero | constant(b, vb, False)
    return correlation(cov, va, vb, zero)


def _window_index(k, n: int, sign: int, skip: int):
    """Where each lag's window of a series (`a`: `sign` 1, `b`: -1) ends.

    Series of one length ``n``: the window at lag ``k`` is a suffix
    ``[kk, n)`` where ``kk = sign k >= 0``, else a prefix ``[0, n + kk)``.
    Returns the index ``j`` of the inclusive prefix sums (-1: none) and
    whether the window is a suffix: its sum is then the total less the
    prefix sum at ``j``, else the prefix sum at ``j``. `skip` (1 for the
    changes between neighbours, which leave out a window's first sample):
    a suffix less one more sample. NumPy or JAX `k`.
    """
    xp = np if isinstance(k, np.ndarray) else jnp
    kk = sign * k
    suffix = kk >= 0
    j = xp.where(suffix, kk - 1 + skip, n + kk - 1)
    return xp.clip(j, -1, n - 1), suffix


def _gathered_pearson(a, b, maxlag, ops):
    """Pearson coefficients on a `Spread` block of lags, the windows by prefix sums.

    For a device with more lags than samples (``2 maxlag + 1`` near the
    series' length), where `_spread_pearson` keeps blocks of lags that
    outweigh the samples: the cross sums by the transform, and each
    window's sums (of the values, of their squares, of the changes between
    neighbours, counted exactly in integers) from the series' prefix sums
    at the window's end (`_window_index`: the inputs have one length, so
    each window is a prefix or a suffix), picked by the devices that hold
    them and sent to the device of the lag (`Spread.take`), in place of
    six transforms. The lags go a chunk of at most an eighth of a shard at
    a time (`lax.fori_loop`, the result written over the cross sums), each
    forming its prefix sums again from the inputs, one row at a time
    (`Spread.after`), and nothing formed from the inputs is held through
    the transform (4,096 samples, 6,001 lags, four devices: 0.97 of the
    inputs; 1.78 by `_spread_pearson`; 1.01 to 1.70 by 8 to 3 chunks per
    device, 1.24 with the centred series formed once before the chunks).
    """
    zero_filled = _zero_filled
    shift_a, shift_b, err_a, err_b, sab = _cross_sums(a, b, maxlag, ops)
    n, size, block = ops.length(a), a.shape[-1], ops.lay.block
    chunks = min(-(-8 * block // size), block)
    width = -(-block // chunks)

    def lags(q, start):  # device q's lags from `start` on (past `hi`: `hi`)
        xp = np if isinstance(q, int) else jnp
        return xp.minimum(ops.lo + q * block + start + xp.arange(width), ops.hi)

    # The offsets of the devices that hold each device's window ends (static).
    owners = set()
    for q in range(ops.shards):
        for start in range(0, chunks * width, width):
            for sign, skip in ((1, 0), (1, 1), (-1, 0), (-1, 1)):
                j, _ = _window_index(lags(q, start), n, sign, skip)
                owners.update(((j[j >= 0] // size - q) % ops.shards).tolist())
    owners = tuple(sorted(owners))

    def window(row, start, sign, skip):
        got = ops.take(
            ops.cumsum(row),
            lambda q: _window_index(lags(q, start), n, sign, skip)[0],
            owners,
        )
        _, suffix = _window_index(lags(lax.axis_index(ops.names), start), n, sign, 0)
        return jnp.where(suffix, ops.sum(row) - got, got)

    def steps(x):  # x[t] != x[t - 1], False at the series' first sample
        prev = ops.previous(x[..., :1])
        first = (x[..., :1] != prev) & (lax.axis_index(ops.names) > 0)
        return jnp.concatenate([first, x[..., 1:] != x[..., :-1]], -1)

    # Formed after the transform, which would otherwise hold them.
    changed_a, changed_b = (steps(zero_filled(x)) for x in ops.after(sab, a, b))

    def stats(x, shift, changed, start, sign, m, zero, err, done):
        # One series-sized row at a time, each formed after the last's sums.
        s1 = window(zero_filled(ops.after(done, x)) - shift, start, sign, 0)
        y = zero_filled(ops.after(s1, x)) - shift
        s2 = jnp.real(window(jnp.abs(y) ** 2, start, sign, 0))
        v, zero = window_variance(s1, s2, m, zero, err)
        inner = window(ops.after(v, changed).astype(jnp.int32), start, sign, 1)
        return s1, v, zero | (inner == 0)

    def chunk(i, c):
        start = i * width
        m = overlap_count(n, n, lags(lax.axis_index(ops.names), start))
        part = lax.dynamic_slice_in_dim(c, start, width, -1)
        sa, va, zero = stats(a, shift_a, changed_a, start, 1, m, m < 0, err_a, part)
        sb, vb, zero = stats(b, shift_b, changed_b, start, -1, m, zero, err_b, va)
        r = correlation(covariance(part, sa, sb, m), va, vb, zero)
        return lax.dynamic_update_slice_in_dim(c, r.astype(c.dtype), start, -1)

    # The block of cross sums becomes the result's, a chunk at a time.
    pad = chunks * width - block
    c = jnp.pad(sab, [(0, 0)] * (sab.ndim - 1) + [(0, pad)]) if pad else sab
    c = lax.fori_loop(0, chunks, chunk, c)
    return c[..., :block] if pad else c


def _xcorr_pearson(a, b, maxlag, lags, method, ops=WHOLE):
    na, nb = ops.length(a), ops.length(b)
    lo_a, hi_a, lo_b, hi_b, m = overlap_windows(na, nb, lags)
    if ops is WHOLE:
        ac, sa, saa, const_a, err_a = _window_stats(a, lo_a, hi_a)
        bc, sb, sbb, const_b, err_b = _window_stats(b, lo_b, hi_b)
    else:
        ac, sa, saa, const_a, err_a = _split_window_stats(a, lo_a, hi_a, ops)
        bc, sb, sbb, const_b, err_b = _split_window_stats(b, lo_b, hi_b, ops)
    sab = ops.lagged(ac, bc, maxlag, method)
    return pearson(sab, sa, sb, saa, sbb, m, const_a, const_b, err_a, err_b)


def _omit_terms(dtype):
    """Return the series of Pearson's sums over pairs present, from ``(x0, present)``.

    The centred values (0 where missing), the mask of values present, and
    the squared centred values: each of the six sums correlates two of them.
    """

    def centred(x0, present):
        return x0

    def mask(x0, present):
        return present.astype(dtype)

    def square(x0, present):
        return jnp.abs(x0) ** 2

    return centred, mask, square


def _omit_shifts(a, b, pa, pb, ops):
    """Return the shifts near the means of the values present, and error scales.

    The sums are correlations, each erring by about eps times the sums of
    squares of the shifted values present (`err_a`, `err_b`).
    """
    split = None if ops is WHOLE else ops
    shift_a = mean_shift(a, where=pa, ops=split)
    shift_b = mean_shift(b, where=pb, ops=split)
    err_a = ops.sum(jnp.abs(jnp.where(pa, a - shift_a, 0)) ** 2)
    err_b = ops.sum(jnp.abs(jnp.where(pb, b - shift_b, 0)) ** 2)
    return shift_a, shift_b, err_a, err_b


def _xcorr_pearson_omit(a, b, maxlag, method, ops=WHOLE):
    """Pearson coefficients over the pairs present at each lag (6 correlations).

    One correlation after the other (`Shards.after`: split, by halos, one
    FFT's buffers held at a time; lags past the halo's reach go by
    `_chunked_pearson_omit`), the inputs of each formed from `a` and `b`
    when it starts, and the sums reduced as soon as they can be (the
    covariance, the variances).
    """
    dtype = jnp.real(a).dtype
    pa, pb = ~jnp.isnan(a), ~jnp.isnan(b)
    shift_a, shift_b, err_a, err_b = _omit_shifts(a, b, pa, pb, ops)

    def corr(done, u, v):
        # u(a, pa) against v(b, pb), computed after `done`
        a_, b_ = ops.after(done, a, b)
        pa_, pb_ = ~jnp.isnan(a_), ~jnp.isnan(b_)
        a0 = jnp.where(pa_, a_ - shift_a, 0)
        b0 = jnp.where(pb_, b_ - shift_b, 0)
        return ops.lagged(u(a0, pa_), v(b0, pb_), maxlag, method)

    centred, mask, square = _omit_terms(dtype)
    # The first lagged sum after the sums over the series: XLA would form
    # their terms (series long) first and hold them through it (split over
    # four devices, 4,096 lags by the transform: 1.12 of the inputs, 0.81).
    count = pair_counts(*ops.after(err_a + err_b, pa, pb), maxlag, dtype, method, ops)
    sa = corr(count, centred, mask)
    sb = jnp.conj(corr(sa, mask, centred))
    cov = covariance(corr(sb, centred, centred), sa, sb, count)
    saa = jnp.real(corr(cov, square, mask))
    va, zero = window_variance(sa, saa, count, False, err_a)
    sbb = jnp.real(corr(va, mask, square))
    vb, zero = window_variance(sb, sbb, count, zero, err_b)
    return correlation(cov, va, vb, zero)


def _chunked_pearson_omit(a, b, maxlag, method, ops):
    """Pearson coefficients over the pairs present, on a `Spread` block, by chunks.

    Lags that reach past a quarter of a shard (the halo's reach, `spread`).
    The six lagged sums are of masked series (pairs present), not windows
    of one, so no prefix sum gives them; by six transforms one at a time
    each device held a transform's input and spectrum and up to four
    blocks of lags (1.06 of the inputs at 16,384 lags each side of 65,536
    samples, four devices). Here the lags go a chunk of at most a third
    of a shard at a time, every device's blocks in turn (`lax.fori_loop`).
    For the lags ``k0 .. k0 + w - 1`` each device sums over its own
    samples ``t`` of `b` in two halves (``t0 .. t0 + h - 1``): it receives
    the window of `a` from ``t0 + k0`` on, ``h + w - 1`` samples
    (`Spread.shifted`: the pieces from the devices that hold them), and
    its six sums are 'valid' correlations of the window with the half of
    `b` (as the halo route's), one after the other; they are added over
    the halves and the devices (`lax.psum`), and the device whose lags
    they are keeps the coefficients. Each device holds a window, a half
    and a chunk's sums: 0.55 of the inputs in that case (0.44 with
    chunks and pieces of a quarter of a shard, but 1.5 to 2 times the
    time). The cost is time: each device correlates its samples with the
    windows of every lag (about ``s / w + 2`` times a shard's
    correlations per block of lags, ``s`` samples a shard), where the
    transform did it once.
    """
    dtype = jnp.real(a).dtype
    n, size, block = ops.length(a), a.shape[-1], ops.lay.block
    chunks = min(-(-3 * block // size), block)
    width = -(-block // chunks)
    pieces = 2 if size % 2 == 0 else 1
    h = size // pieces
    length = h + width - 1
    starts = [
        ops.lo + q * block + i * width + j * h
        for q in range(ops.shards)
        for i in range(chunks)
        for j in range(pieces)
    ]
    shifts = ops.shifts(starts, length, size)
    pa, pb = ~jnp.isnan(a), ~jnp.isnan(b)
    shift_a, shift_b, err_a, err_b = _omit_shifts(a, b, pa, pb, ops)
    here = lax.axis_index(ops.names)

    centred, mask, square = _omit_terms(dtype)
    # The six sums: (of the window of a, of the piece of b).
    terms = (
        (mask, mask),
        (centred, mask),
        (mask, centred),
        (centred, centred),
        (square, mask),
        (mask, square),
    )

    def piece_sums(j, acc, k0):
        t0 = j * h
        ea = ops.shifted(ops.after(acc[-1], a), k0 + t0, length, shifts)
        g = here * size + k0 + t0 + jnp.arange(length)
        yb = lax.dynamic_slice_in_dim(b, t0, h, -1)
        out, done = [], acc[-1]
        for (u, v), s in zip(terms, acc):
            e, y = ops.after(done, ea, yb)
            pe, py = ~jnp.isnan(e) & (g >= 0) & (g < n), ~jnp.isnan(y)
            e0 = jnp.where(pe, e - shift_a, 0)
            y0 = jnp.where(py, y - shift_b, 0)
            done = s + ops.valid(u(e0, pe), v(y0, py), method)
            out.append(done)
        return tuple(out)

    def step(t, out):
        owner, i = t // chunks, t % chunks
        k0 = ops.lo + owner * block + i * width
        zero = jnp.zeros_like(out[..., :width])
        acc = (ops.after(out, zero),) * len(terms)
        acc = lax.fori_loop(0, pieces, lambda j, acc: piece_sums(j, acc, k0), acc)
        count, sa, sb, sab, saa, sbb = (lax.psum(s, ops.names) for s in acc)
        count = jnp.round(jnp.real(count))
        cov = covariance(sab, sa, jnp.conj(sb), count)
        va, zero = window_variance(sa, jnp.real(saa), count, False, err_a)
        vb, zero = window_variance(jnp.conj(sb), jnp.real(sbb), count, zero, err_b)
        r = correlation(cov, va, vb, zero).astype(out.dtype)
        kept = lax.dynamic_slice_in_dim(out, i * width, width, -1)
        r = jnp.where(owner == here, r, kept)
        return lax.dynamic_update_slice_in_dim(out, r, i * width, -1)

    # Zeros that vary over the devices as the inputs do (the loop's carry).
    first = jnp.zeros_like(a[..., :1] * b[..., :1])
    shape = first.shape[:-1] + (chunks * width,)
    out = lax.fori_loop(0, ops.shards * chunks, step, jnp.broadcast_to(first, shape))
    return out[..., :block]


def _touched(pa, pb, maxlag, m, dtype, method, ops):
    """Return True at the lags where a pair holds a missing value.

    A lag's pairs hold one where its fewer pairs are present than overlap
    (the masks' correlation, `pair_counts`); by the transform (`Spread`),
    where a NaN lies in either input's window instead, which is the same
    (each value of a window is in one pair): two transforms of one series
    against ones (`Spread.window_sums`), one after the other, in place of
    the masks' pair.
    """
    if not isinstance(ops, Spread):
        return pair_counts(pa, pb, maxlag, dtype, method, ops) < m
    in_a = ops.window_sums((~pa).astype(dtype)[None], (True,))[0]
    pb = ops.after(in_a, pb)
    in_b = ops.window_sums((~pb).astype(dtype)[None], (False,))[0]
    return (jnp.round(in_a) > 0) | (jnp.round(in_b) > 0)


def xcorr(
    a: ArrayLike,
    b: ArrayLike,
    *,
    normalize: str | None = None,
    maxlag: int | None = None,
    nan_policy: str = "propagate",
    axis: int = -1,
    method: str = "auto",
) -> XcorrResult:
    r"""Cross-correlate two sequences, with lags and a normalization.

    Like MATLAB's ``xcorr`` (and `numpy.correlate` in ``'full'`` mode), but
    batched along the other axes, differentiable, and with a Pearson
    normalization that is exact at every lag: ``normalize='coeff'`` gives the
    correlation coefficient of the parts of `a` and `b` that overlap at each
    lag, always in :math:`[-1, 1]`.

    Parameters
    ----------
    a, b : array_like
        The sequences, along `axis`; they may have different lengths. Their
        other axes broadcast (batch axes).
    normalize : {None, 'none', 'biased', 'unbiased', 'coeff', 'pearson'}
        ``None`` or ``'none'``: the raw sums :math:`c_k`. ``'biased'``:
        :math:`c_k / N` with :math:`N = \max(n_a, n_b)` (MATLAB's, which pads
        the shorter input with zeros). ``'unbiased'``: :math:`c_k / m_k`, with
        :math:`m_k` the number of overlapping terms (0 where there are none).
        ``'coeff'`` or ``'pearson'``: the Pearson coefficient :math:`r_k` of
        the overlapping parts (see Notes). Unlike MATLAB's ``'coeff'``, each
        lag is centred and scaled by its own overlapping parts.
    maxlag : int, optional
        Compute only the lags ``-maxlag .. maxlag`` (through
        ``probconv.correlate(..., maxlag=maxlag)``, cheaper than all lags).
        Lags where the inputs do not overlap give 0.
    nan_policy : {'propagate', 'omit', 'raise'}
        Missing values (NaN). ``'propagate'``: NaN at exactly the lags where
        a NaN meets a value of the other input (the other lags are exact).
        ``'omit'``: sums over the pairs present; at lag :math:`k`, with
        :math:`p_k` pairs present out of :math:`m_k`, the raw and
        ``'biased'`` values are scaled by :math:`m_k / p_k` (the smoothing
        layer's normalized convolution), ``'unbiased'`` divides by
        :math:`p_k`, and the Pearson coefficient is that of the pairs
        present; a lag whose pairs are all missing gives NaN (0 for
        Pearson, as for a single pair). ``'raise'``: a ValueError naming the
        input (where values are concrete: under `jax.jit` it acts as
        ``'propagate'``).
    axis : int
        The axis along which to correlate (default: the last).
    method : {'auto', 'direct', 'fft', 'overlap_add'}
        How the engine computes the sums :math:`c_k` (see
        `probconv.correlate`).

    Returns
    -------
    XcorrResult
        ``(lags, values)``: the lags as a NumPy integer array (static;
        ``-(n_b - 1) .. n_a - 1``, or ``-maxlag .. maxlag``), and the values,
        with the lag axis where `axis` was.

    Raises
    ------
    ValueError
        For an unknown `normalize` or `nan_policy`, a NaN with
        ``nan_policy='raise'``, a negative `maxlag`, `axis` out of range,
        batch axes that do not broadcast, an empty input, or inputs of
        different lengths of which one is split over devices along `axis`.
    TypeError
        For non-numeric inputs or a non-integer `maxlag` or `axis`.

    See Also
    --------
    probconv.correlate, probconv.correlation_lags, ccf, sliding_pearson

    Notes
    -----
    At lag :math:`k` the raw correlation is
    :math:`c_k = \sum_n a_{n+k} \overline{b_n}`, summed over the :math:`m_k`
    indices where both terms exist. The Pearson normalization is

    .. math::

        r_k = \frac{\sum_n (a_{n+k} - \bar a_k)\overline{(b_n - \bar b_k)}}
                   {\sqrt{\sum_n |a_{n+k} - \bar a_k|^2
                          \sum_n |b_n - \bar b_k|^2}},

    with :math:`\bar a_k, \bar b_k` the means of the overlapping parts. It is
    computed from running sums (prefix sums over each input) and one engine
    correlation, after subtracting from each input a shift near its mean:
    :math:`r_k` does not change under such a shift, and the sums of squares
    then do not cancel catastrophically (``1e8 + noise`` in float64 is as
    accurate as the noise alone). Where either overlapping part is constant
    (found exactly, by counting changes between neighbours), has fewer than
    two terms, or has a variance below rounding (16 machine epsilons of the
    prefix sums of squares it is the difference of), :math:`r_k` is defined
    as 0, never NaN;
    the magnitude is clipped to 1. With ``nan_policy='omit'`` the Pearson
    sums come from six engine correlations (of the inputs, their squares and
    the masks of values present) instead of running sums; constant stretches
    are then found only through the variance test, with the scale of the
    whole input's sum of squares. Half-precision inputs are computed in
    float32 and returned in their own dtype.

    Inputs split over devices along `axis` (a `jax.sharding.NamedSharding`)
    stay split: while ``2 maxlag`` is at most half a shard (Pearson: three
    eighths; Pearson with ``nan_policy='omit'``: a quarter), each device
    receives `maxlag` samples from each neighbour and sums its own lag
    products (and, for Pearson, every device receives the first and last
    ``maxlag + 1`` samples); the lags are psums, returned replicated.
    Longer lags, and all lags, are computed by the engine's distributed
    transform, one transform at a time, each device computing a block of
    the lags; their count ``2 maxlag + 1`` is odd, and JAX's shardings
    cut an axis into equal blocks, so on an even number of devices no
    layout tiles them: the blocks are joined at the end (an all-gather of
    the result only). Pearson with ``nan_policy='omit'`` takes no
    transform there: the lags go in chunks, each device correlating its
    samples with windows of `a` received from the devices that hold them
    (less memory than the transform, more time). Batch axes stay split as
    in the inputs. `a` and `b` must then have the same length. See the
    guide's "Signals split over devices".

    Examples
    --------
    >>> from probconv.similarity import xcorr
    >>> lags, c = xcorr([1.0, 2.0, 3.0], [0.0, 1.0, 0.5])
    >>> lags.tolist(), c.round(6).tolist()
    ([-2, -1, 0, 1, 2], [0.5, 2.0, 3.5, 3.0, 0.0])
    >>> lags, r = xcorr([1.0, 2.0, 4.0, 3.0], [1.0, 2.0, 3.0], normalize="coeff")
    >>> r.round(4).tolist()
    [0.0, 1.0, 0.982, 0.5, -1.0, 0.0]
    >>> nan = float("nan")
    >>> xcorr([1.0, nan, 3.0], [0.0, 1.0, 0.5]).values.tolist()
    [0.5, nan, nan, nan, 0.0]
    >>> xcorr([1.0, nan, 3.0], [0.0, 1.0, 0.5], nan_policy="omit").values.tolist()
    [0.5, 2.0, 2.25, 6.0, 0.0]
    """
    normalize = check_choice("normalize", normalize, NORMALIZATIONS)
    method = check_choice("method", method, METHODS)
    if maxlag is not None:
        maxlag = check_int("maxlag", maxlag)
    a = as_array(a, "a")
    b = as_array(b, "b")
    omit = check_nan_policy("nan_policy", nan_policy, {"a": a, "b": b}) == "omit"
    na = a.shape[check_axis("axis", axis, a.ndim)]
    nb = b.shape[check_axis("axis", axis, b.ndim)]
    lags = correlation_lags(na, nb, "full", maxlag=maxlag)
    layout = split_layout(
        [a, b], [axis % a.ndim, axis % b.ndim], "sequences `a` and `b`"
    )
    values = _xcorr(a, b, normalize, maxlag, omit, int(axis), method, layout)
    return XcorrResult(lags, values)


@bounded_jit(
    static_argnames=("normalize", "maxlag", "omit", "axis", "method", "layout")
)
def _xcorr(a, b, normalize, maxlag, omit, axis, method, layout) -> jax.Array:
    half = half_dtype(a, b)
    a, b, _ = last_axis_pair(to_float(a), to_float(b), axis)

    def core(a, b, ops):
        na, nb = ops.length(a), ops.length(b)
        lags = ops.lags(*bounds)
        m = overlap_count(na, nb, lags)
        pa, pb = ~jnp.isnan(a), ~jnp.isnan(b)
        rdtype = jnp.real(a[..., :1] * b[..., :1]).dtype
        if omit and normalize in ("coeff", "pearson"):
            if isinstance(ops, Spread):
                return (_chunked_pearson_omit(a, b, maxlag, method, ops),)
            return (_xcorr_pearson_omit(a, b, maxlag, method, ops),)
        if omit:
            count = pair_counts(pa, pb, maxlag, rdtype, method, ops)
            # Split by the transform: one spectrum held at a time.
            a, b = ops.after(count, a, b)
            a0, b0 = jnp.where(pa, a, 0), jnp.where(pb, b, 0)
            values = ops.lagged(a0, b0, maxlag, method)
            full = {"biased": m / max(na, nb), "unbiased": 0 * m + 1}.get(normalize, m)
            scale = jnp.where(count > 0, full / jnp.maximum(count, 1), jnp.nan)
            return (jnp.where(m > 0, values * scale.astype(rdtype), 0),)
        # 'propagate': computed on zero-filled inputs, then NaN exactly where
        # a NaN takes part (one more correlation, only if there is a NaN).
        a0, b0 = jnp.where(pa, a, 0), jnp.where(pb, b, 0)
        if normalize in ("coeff", "pearson") and isinstance(ops, Spread):
            more = ops.lay.block > a.shape[-1]  # more lags than samples
            values = (
                _gathered_pearson(a, b, maxlag, ops)
                if more
                else _spread_pearson(a, b, maxlag, m, ops)
            )
        elif normalize in ("coeff", "pearson"):
            values = _xcorr_pearson(a0, b0, maxlag, lags, method, ops)
        else:
            values = ops.lagged(a0, b0, maxlag, method)
            if normalize == "biased":
                values = values / max(na, nb)
            elif normalize == "unbiased":
                xp = np if isinstance(m, np.ndarray) else jnp
                w = xp.where(m > 0, 1.0 / xp.maximum(m, 1), 0.0)
                values = values * jnp.asarray(w, rdtype)
        shape = jnp.broadcast_shapes(pa.shape[:-1], pb.shape[:-1]) + m.shape
        # Split, the devices that exchange halos must take the same branch:
        # whether any of them holds a NaN (a psum of their counts).
        nan = ops.sum(jnp.reshape(jnp.sum(~pa) + jnp.sum(~pb), (1,)))
        pa, pb = ops.after(values, pa, pb)  # the counts' transform after
        touched = jax.lax.cond(
            jnp.any(nan > 0),
            lambda: _touched(pa, pb, maxlag, m, rdtype, method, ops),
            # typed like the counts: varying over the devices as `m` does
            lambda: jnp.broadcast_to(jnp.asarray(m) < 0, shape) & (nan < 0),
        )
        return (jnp.where(touched, jnp.nan, values),)

    na, nb = a.shape[-1], b.shape[-1]
    bounds = (-(nb - 1), na - 1) if maxlag is None else (-maxlag, maxlag)
    pearson = normalize in ("coeff", "pearson")
    reach = HALO_SHARDS_PEARSON if pearson else HALO_SHARDS_PAIR
    reach = HALO_SHARDS_OMIT if omit and pearson else reach
    (values,) = over_time(core, layout, [a, b], [0], bounds, halo_shards=reach)
    return restore(jnp.moveaxis(values, -1, axis), half)
