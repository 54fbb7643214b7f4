r"""Relatively accurate convolution of non-negative vectors, in log space (aFFT-C).

A plain FFT convolution of non-negative ``p`` and ``q`` has an absolute
error near :math:`\epsilon \log_2 L \, \|p\|_2 \|q\|_2`: entries many
orders of magnitude below the largest are noise. Tilting both by
:math:`e^{\theta k}` tilts their convolution the same way, so each tilt
resolves the entries near the peak of :math:`(p * q)_k e^{\theta k}`; a
handful of tilts, spaced evenly in the arc length of the output's cumulant
generating function, resolves every entry. Inputs and output are logs, so
nothing underflows (entries far below the smallest float are fine).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from .._checks import concrete
from ..conv.internal import bounded_jit, fft_nd, ifft_nd, spectral_length
from . import _tilt
from ._params import as_real_array

NOISE = 4.0  # FFT round-off, in units of eps * log2(L) * |p|_2 |q|_2
_GRID = 32  # slope quantiles in the plan's grid (plus half as many uniform)
_BLOCKS = 512  # blocks whose slopes give the quantiles
_COARSE = 1024  # blocks for the moments inside the slopes' range
_OUTER = 8  # grid points out to each end tilt
_END = 2.0  # end tilts: the hull's last slope plus this many nats per step
_MAX_TRACED = 64  # tilts under jit when the plan cannot see the values
_FIXES_TRACED = 32  # entries recomputed directly under jit
_FIXES_FIRST = 4  # entries recomputed directly with the tilted transforms
_FIRST_MAX = 4096  # ... where at most this many entries are kept
_DIRECT = 1 << 16  # n * m up to which everything is summed directly
_TARGET = {8: 5e-9, 4: 5e-4}  # estimates above this get a direct fix
_FIX_WORK = 1 << 24  # at most this many terms in the direct fixes
_WHOLE = 1 << 16  # the plan's moment tables swept beyond this many weights
_BATCHED = 1 << 19  # tilts times transform length above which tilts go one by one


def _noise(n_out: int, dtype) -> float:
    """Typical FFT round-off of a tilted convolution, relative to its peak."""
    return 4.0 * _tilt.eps(dtype) * math.log2(n_out + 1)


def _ends(la: jax.Array):
    """First/last finite index and the concave hull's first/last slopes."""
    n = la.shape[-1]
    i = jnp.arange(n, dtype=la.dtype)
    fin = jnp.isfinite(la)
    lo = jnp.argmax(fin)
    hi = n - 1 - jnp.argmax(fin[::-1])
    d_hi = (la[hi] - la) / jnp.where(i < hi, hi - i, 1.0)
    d_lo = (la - la[lo]) / jnp.where(i > lo, i - lo, 1.0)
    s_end = jnp.min(jnp.where(fin & (i < hi), d_hi, jnp.inf))
    s_start = jnp.max(jnp.where(fin & (i > lo), d_lo, -jnp.inf))
    return lo, hi, s_start, s_end


def _block_slopes(la: jax.Array, blocks: int) -> jax.Array:
    """Minus the slopes of `la` summed in blocks (log-sum-exp), per index.

    Block sums average away entry-to-entry noise, so these slopes follow
    the trend that decides where tilts are needed.
    """
    n = la.shape[-1]
    b = max(1, n // blocks)
    r = n // b
    lc = _tilt.lse(la[: r * b].reshape(r, b), -1)
    d = -(lc[1:] - lc[:-1]) / b
    return d


def pair_grid(la: jax.Array, lb: jax.Array):
    """Tilt-plan grid for ``exp(la) * exp(lb)``: ``(theta, arc, mean_a, mean_b)``.

    The grid holds quantiles of the block-averaged slopes of both inputs
    (where the tilted output moves fastest), a uniform grid over their
    range, and points out to the end tilts, which put the tilted output's
    mass on its first and last entries (from the concave hulls' first and
    last slopes).
    """
    dt = la.dtype
    _, _, s0a, s1a = _ends(la)
    _, _, s0b, s1b = _ends(lb)
    s_start = jnp.maximum(s0a, s0b)
    s_end = jnp.minimum(s1a, s1b)
    t_lo = jnp.where(jnp.isfinite(s_start), -s_start - _END, 0.0)
    t_hi = jnp.where(jnp.isfinite(s_end), -s_end + _END, 0.0)
    t_hi = jnp.maximum(t_hi, t_lo)
    d = jnp.concatenate([_block_slopes(la, _BLOCKS), _block_slopes(lb, _BLOCKS)])
    d = jnp.where(jnp.isfinite(d), jnp.clip(d, t_lo, t_hi), t_lo)
    d = jnp.sort(d)
    q = d[jnp.linspace(0, d.shape[0] - 1, _GRID).astype(jnp.int32)]
    c_lo, c_hi = q[0], q[-1]
    u = jnp.linspace(0.0, 1.0, _GRID // 2, dtype=dt)
    v = jnp.linspace(0.0, 1.0, _OUTER + 2, dtype=dt)[1:-1] ** 2
    inner = jnp.sort(jnp.concatenate([q, c_lo + (c_hi - c_lo) * u]))
    outer = jnp.concatenate(
        [c_lo + (t_lo - c_lo) * v, c_hi + (t_hi - c_hi) * v, jnp.stack([t_lo, t_hi])]
    )
    # Inside the slopes' range the tilted laws are wide: block sums give
    # their moments (planning needs no more); beyond it, exact moments.
    ka_i, ma_i, va_i = _coarse_moments(la, inner)
    kb_i, mb_i, vb_i = _coarse_moments(lb, inner)
    ia = jnp.arange(la.shape[-1], dtype=dt)
    ib = jnp.arange(lb.shape[-1], dtype=dt)
    ka_o, ma_o, va_o = _tilt.tilted_moments(la, ia, outer, _WHOLE)
    kb_o, mb_o, vb_o = _tilt.tilted_moments(lb, ib, outer, _WHOLE)
    grid = jnp.concatenate([inner, outer])
    order = jnp.argsort(grid)
    grid = grid[order]
    ma = jnp.concatenate([ma_i, ma_o])[order]
    mb = jnp.concatenate([mb_i, mb_o])[order]
    var = jnp.concatenate([va_i + vb_i, va_o + vb_o])[order]
    # K_a + K_b, an upper bound (see `_coarse_moments`); the weights'
    # float32 rounding (below 2^-23 relative) lowers it by less than 1e-6.
    cgf = jnp.concatenate([ka_i + kb_i, ka_o + kb_o])[order] + 1e-6
    return grid, _tilt.arc_length(grid, var), ma, mb, cgf


def _coarse_moments(la: jax.Array, theta: jax.Array):
    """Tilted log-MGF, means and variances from block sums of `la` (long vectors).

    Blocks of ``b`` entries become one entry at the block's centre, plus
    the variance ``(b^2 - 1) / 12`` of a position spread over the block.
    The log-MGF is an upper bound where ``theta >= 0``: each block's
    entries are counted at its last position (``theta (b - 1) / 2`` more).
    """
    n = la.shape[-1]
    b = max(1, n // _COARSE)
    if b == 1:
        j = jnp.arange(n, dtype=la.dtype)
        return _tilt.tilted_moments(la, j, theta, _WHOLE)
    r = -(-n // b)
    pad = jnp.pad(la, (0, r * b - n), constant_values=-jnp.inf)
    lc = _tilt.lse(pad.reshape(r, b), -1)
    jc = jnp.arange(r, dtype=la.dtype) * b + (b - 1) / 2
    k, mean, var = _tilt.tilted_moments(lc, jc, theta, _WHOLE)
    return k + jnp.abs(theta) * (b - 1) / 2, mean, var + (b * b - 1) / 12.0


def _worst(rel: jax.Array, count: int) -> jax.Array:
    """Return the indices of the `count` largest entries of 1-D `rel`, largest first.

    A few passes of `argmax` where `count` is small: XLA's CPU `top_k`
    sorts, 0.24 ms for 2,074 entries against 0.06 ms for four passes.
    """
    rel = jax.lax.stop_gradient(rel)
    if count > 8:
        return jax.lax.top_k(rel, count)[1]
    picked = []
    for _ in range(count):
        i = jnp.argmax(rel)
        picked.append(i)
        rel = rel.at[i].set(-jnp.inf)
    return jnp.stack(picked)


def direct_entries(la: jax.Array, lb: jax.Array, ks: jax.Array) -> jax.Array:
    """``log sum_j exp(la_j + lb_{k-j})`` for the entries `ks` (direct sums)."""
    if la.shape[-1] > lb.shape[-1]:
        la, lb = lb, la
    n, m = la.shape[-1], lb.shape[-1]
    j = jnp.arange(n)
    idx = ks[:, None] - j[None, :]
    ok = (idx >= 0) & (idx < m)
    terms = jnp.where(ok, la[None, :] + lb[jnp.clip(idx, 0, m - 1)], -jnp.inf)
    return _tilt.lse(terms, -1)


def pair_core(la, lb, grid, ga, gb, thetas, fixes: int, keep: int | None = None):
    """Log of ``exp(la) * exp(lb)`` and log relative error estimates (unbatched).

    `grid`, `ga`, `gb` are the plan's grid and tilted means (to centre the
    tilts); `fixes` entries with the largest error estimates among the
    first `keep` (all by default) are then recomputed by direct summation
    in log space. With `keep`, only the first `keep` entries are returned
    (and chosen between tilts: the rest of a caller's grid is not read).
    """
    dt = la.dtype
    ep = _tilt.eps(dt)
    n, m = la.shape[-1], lb.shape[-1]
    n_out = n + m - 1
    thetas = jax.lax.stop_gradient(thetas)
    ca = _tilt.snap(jnp.interp(thetas, grid, ga), 2, n_out)
    cb = _tilt.snap(jnp.interp(thetas, grid, gb), 2, n_out)
    ia, ib = jnp.arange(n, dtype=dt), jnp.arange(m, dtype=dt)
    length = spectral_length(n_out)

    def one(tc):
        th, c_a, c_b = tc
        ta, big_a, _ = _tilt.tilt_rows(la, ia, th, c_a, total=False)
        tb, big_b, _ = _tilt.tilt_rows(lb, ib, th, c_b, total=False)
        z = ifft_nd(
            fft_nd(ta, (length,), (-1,), True, ordered=False)
            * fft_nd(tb, (length,), (-1,), True, ordered=False),
            (length,),
            (-1,),
            True,
            ordered=False,
        )[:, :n_out].astype(dt)
        norm = jnp.sqrt(jnp.sum(ta * ta, -1) * jnp.sum(tb * tb, -1))
        # The tilted output's mean, from the normalized rows themselves: the
        # plan's means, interpolated between its grid points, can be
        # thousands of entries off where the tilted law moves fast (two
        # slowly decaying rows of 12,000: the entries were given tilts whose
        # mass lay far from them, and read noise).
        mean = ta @ ia + tb @ ib
        neg = jnp.maximum(jnp.max(-z, -1), 0.0)
        return z, big_a, big_b, norm, neg, jax.lax.stop_gradient(mean)

    if thetas.shape[0] * length > _BATCHED:
        # One tilt at a time: on a CPU, a batch of long transforms in one
        # program spills out of the caches (16 tilts of 64,000 points: 11.2
        # ms batched, 7.5 ms one by one; of 200,000: 61 and 26 ms).
        z, big_a, big_b, norm, neg, mean = jax.tree.map(
            lambda v: v[:, 0],
            jax.lax.map(lambda tc: one([v[None] for v in tc]), (thetas, ca, cb)),
        )
    else:
        z, big_a, big_b, norm, neg, mean = one((thetas, ca, cb))
    noise = jnp.maximum(NOISE * ep * math.log2(length + 1) * norm, 2.0 * neg)
    centers = ca + cb
    k = jnp.arange(n_out if keep is None else min(keep, n_out))
    # (The means grow with the tilt; the running maximum keeps them sorted
    # through their rounding.)
    near = jnp.searchsorted(jax.lax.cummax(mean), k.astype(dt))
    tc = jnp.clip(near[None, :] + jnp.arange(-2, 2)[:, None], 0, thetas.shape[0] - 1)
    zv = z[tc, k[None, :]]
    shift = big_a[tc] + big_b[tc] - thetas[tc] * (k[None, :] - centers[tc])
    val = _tilt.safe_log(zv) + shift
    # Each candidate's relative error in linear terms (one logarithm per
    # entry, of the chosen one): the transform's noise over the entry,
    # plus the rounding of the shift and of the exponential's argument.
    rel = noise[tc] / jnp.where(zv > 0, zv, 0.0) + 8.0 * ep * (
        jnp.abs(val) + jnp.abs(shift) + 1.0
    )
    rel = jax.lax.stop_gradient(jnp.where(jnp.isnan(rel), jnp.inf, rel))
    pick = jnp.argmin(rel, 0)
    pick = jnp.where(jnp.all(jnp.isinf(rel), 0), jnp.argmax(val, 0), pick)
    out = _tilt.pick_at(val, pick)
    rel = _tilt.pick_at(rel, pick)
    # An estimate of 1 or more: no tilt resolved the entry (its value is the
    # transform's noise times the tilt's shift, which can be thousands of
    # nats): unresolved, and never above what any non-negative vectors
    # allow, sum(p) max(q) (long heavy tails with too few tilts read +3e4).
    sg = jax.lax.stop_gradient
    cap = sg(jnp.minimum(_tilt.lse(la) + jnp.max(lb), _tilt.lse(lb) + jnp.max(la)))
    rel = jnp.where((rel >= 1.0) | (out > cap), jnp.inf, _tilt.safe_log(rel))
    out = jnp.minimum(out, cap)
    lo_a, hi_a, _, _ = _ends(jax.lax.stop_gradient(la))
    lo_b, hi_b, _, _ = _ends(jax.lax.stop_gradient(lb))
    inside = (k >= lo_a + lo_b) & (k <= hi_a + hi_b)
    rel = jnp.where(inside, rel, -jnp.inf)
    if fixes:
        worst = _worst(rel, fixes)
        exact = direct_entries(la, lb, worst)
        rel_d = jnp.where(
            jnp.isfinite(exact), math.log(2.0 * ep * min(n, m) + ep), -jnp.inf
        )
        out = out.at[worst].set(exact)
        rel = rel.at[worst].set(rel_d)
    return jnp.where(inside, out, -jnp.inf), rel


@bounded_jit
def _grid_batched(la, lb):
    # Row by row: the plan's moment tables of a whole batch at once would
    # spill out of the caches (see `_tilt.tilted_moments`).
    return jax.lax.map(lambda ab: pair_grid(*ab), (la, lb))


@bounded_jit(static_argnames=("dt", "batch"))
def _flat_grid(la, lb, dt, batch):
    """`_flat_pair` and `_grid_batched` in one program: rows and their plan."""
    fa, fb = _flat_pair(la, lb, dt, batch)
    plan = _grid_batched(jax.lax.stop_gradient(fa), jax.lax.stop_gradient(fb))
    return (fa, fb, *plan)


def pair_plan(la: jax.Array, lb: jax.Array):
    """Plan ``exp(la) * exp(lb)`` for `log_pair`: the rows and their tilts.

    One program. Returns ``(fa, fb, grid, arc, mean_a, mean_b, cgf)``: the
    inputs broadcast and flattened to rows, and per row the plan's tilt
    grid, arc length, tilted means and an upper bound on the sum's
    cumulant generating function :math:`K_a + K_b` at the grid's tilts
    (for a Chernoff bound). None where ``n m`` is small
    enough that `log_pair` sums directly (it plans nothing there).
    """
    if la.shape[-1] * lb.shape[-1] <= _DIRECT:
        return None
    dt = jnp.result_type(la.dtype, lb.dtype)
    batch = jnp.broadcast_shapes(la.shape[:-1], lb.shape[:-1])
    return _flat_grid(la, lb, dt=dt, batch=batch)


def flat_tilts(la: jax.Array, lb: jax.Array, grid: jax.Array) -> jax.Array:
    """Return the tilts that flatten each input's bulk: its blocks' median decay.

    An exponential tail ``e^{-r k}`` tilted by exactly ``r`` is flat, and
    so is the convolution of two of them (a ramp): one FFT then resolves
    every entry of the tail to round-off. Tilts spaced by the arc length
    miss that value by up to half their spacing, and the ramp then falls
    by ``|theta - r| k``: tens of orders over a long grid (unbatched;
    clipped to the plan's grid, its midpoint where a block slope is never
    finite).
    """

    def decay(lx):
        d = _block_slopes(lx, _BLOCKS)
        d = jnp.where(jnp.isfinite(d), d, jnp.nan)
        r = jnp.nanmedian(d)
        mid = 0.5 * (grid[0] + grid[-1])
        return jnp.clip(jnp.where(jnp.isnan(r), mid, r), grid[0], grid[-1])

    return jnp.stack([decay(la), decay(lb)])


@bounded_jit(static_argnames=("count", "fixes", "keep"))
def _core_batched(la, lb, grid, arc, ga, gb, count, fixes, keep=None):
    def tilts(a, b, g, c):
        spaced = _tilt.place(g, c, count)
        return jnp.sort(jnp.concatenate([spaced, flat_tilts(a, b, g)]))

    thetas = jax.vmap(tilts)(la, lb, grid, arc)
    return jax.vmap(lambda *a: pair_core(*a, fixes, keep))(la, lb, grid, ga, gb, thetas)


@bounded_jit(static_argnames=("fixes", "keep", "shape"))
def _fix_first(la, lb, out, rel, terms, fixes, keep, shape):
    """`_first`, `_fix_batched` and `_first` to `shape`, in one program."""
    out, rel = _fix_batched(la, lb, *_first(out, rel, keep), terms, fixes)
    return _first(out, rel, keep, shape)


@bounded_jit(static_argnames=("fixes",))
def _fix_batched(la, lb, out, rel, terms, fixes):
    """Recompute the `fixes` worst entries directly (`terms`: at most per sum)."""

    def one(a, b, o, r):
        worst = _worst(r, fixes)
        exact = direct_entries(a, b, worst)
        ep = _tilt.eps(a.dtype)
        bound = jnp.log(2.0 * ep * terms + ep).astype(a.dtype)
        rel_d = jnp.where(jnp.isfinite(exact), bound, -jnp.inf)
        return o.at[worst].set(exact), r.at[worst].set(rel_d)

    return jax.vmap(one)(la, lb, out, rel)


@bounded_jit(static_argnames=("dt", "batch"))
def _flat_pair(la, lb, dt, batch):
    """Both inputs in dtype `dt`, broadcast to `batch` and flattened to rows."""
    n, m = la.shape[-1], lb.shape[-1]
    fa = jnp.broadcast_to(la.astype(dt), batch + (n,)).reshape(-1, n)
    fb = jnp.broadcast_to(lb.astype(dt), batch + (m,)).reshape(-1, m)
    return fa, fb


@bounded_jit(static_argnames=("keep", "shape"))
def _first(out, rel, keep, shape=None):
    """Return the first `keep` entries of each row of both (shaped `shape`)."""
    out, rel = out[:, :keep], rel[:, :keep]
    if shape is not None:
        out, rel = out.reshape(shape), rel.reshape(shape)
    return out, rel


@bounded_jit(static_argnames=("keep", "dt", "batch"))
def _direct_pair(la, lb, terms, keep, dt, batch):
    """`log_pair` of small inputs, summed directly in log space (one program).

    `terms` (traced) bounds the terms of each sum: the shorter input's true
    length (inputs padded with ``-inf`` add none).
    """
    fa, fb = _flat_pair(la, lb, dt, batch)
    ep = _tilt.eps(dt)
    ks = jnp.arange(keep)
    out = jax.vmap(lambda a, b: direct_entries(a, b, ks))(fa, fb)
    bound = jnp.log(2.0 * ep * terms + ep).astype(out.dtype)
    rel = jnp.where(jnp.isfinite(out), bound, -jnp.inf)
    return out.reshape(batch + (keep,)), rel.reshape(batch + (keep,))


def log_pair(
    la: jax.Array,
    lb: jax.Array,
    keep: int | None = None,
    span: int | None = None,
    terms: int | None = None,
    plan=None,
    target: float | None = None,
):
    """Batched relative-accuracy log-convolution of the last axes.

    Leading axes broadcast. Returns ``(log_out, log_rel_err)``. Small
    problems (``n m <= 2**16``) are summed directly in log space; larger
    ones use tilted FFTs, then recompute directly the entries that no tilt
    resolved (those below the log-concave hull of the output, which no
    exponential tilt can lift to the top). With `keep`, only the first
    `keep` entries are returned (a caller whose grid ends there): the
    direct fixes go to them alone (the entries past a sum's float range
    are the worst resolved, and would take every fix). `span`, where the
    inputs were padded with ``-inf`` to buckets, is the true output's length:
    the number of tilts is planned for the bucket (the arc length scaled by
    ``sqrt(n_out / span)``, as it grows with the output's spread), so that
    every size of a bucket shares one program; `terms`, the shorter
    input's true length there, bounds the terms of a direct sum in its
    error estimate (the padding adds none). `plan`, from `pair_plan` of
    the same inputs, saves planning again. `target`, where a caller needs
    less than the default relative accuracy (``1e-10`` in float64), spaces
    the tilts for it (fewer) and fixes directly the entries estimated above
    50 times it.
    """
    dt = jnp.result_type(la.dtype, lb.dtype)
    batch = jnp.broadcast_shapes(la.shape[:-1], lb.shape[:-1])
    n, m = la.shape[-1], lb.shape[-1]
    n_out = n + m - 1
    keep = n_out if keep is None else max(1, min(int(keep), n_out))
    shape = batch + (keep,)
    if n * m <= _DIRECT:
        terms = np.float64(min(n, m) if terms is None else terms)
        return _direct_pair(la, lb, terms, keep=keep, dt=dt, batch=batch)
    # Few programs, each a dispatch and a wait: the rows and their plan in
    # one, the fixes and the cut to `keep` in another.
    if plan is None:
        plan = _flat_grid(la, lb, dt=dt, batch=batch)
    fa, fb, grid, arc, ga, gb, _ = plan
    total = concrete(arc)
    if total is not None:
        total = total[:, -1]
        spread = float(np.max(total)) * math.sqrt(n_out / (span or n_out))
        count = _tilt.count_tilts(spread, dt, _noise(n_out, dt), target=target)
        # On short grids the few worst entries are fixed in the same
        # program (no second program, no second wait where that is all that
        # is needed); on long ones choosing them costs more (a top-k).
        first = min(keep, _FIXES_FIRST) if keep <= _FIRST_MAX else 0
        fix_above = math.log(max(_TARGET[dt.itemsize], 50.0 * (target or 0.0)))
        whole = _core_batched(fa, fb, grid, arc, ga, gb, count, first, keep)
        cr = concrete(whole[1])
        if cr is not None:
            bad = int(np.max(np.sum(cr > fix_above, -1)))
            if bad:
                cap = max(1, _FIX_WORK // min(n, m))
                fixes = min(keep, 1 << (bad - 1).bit_length(), cap)
                small = np.float64(min(n, m) if terms is None else terms)
                return _fix_first(fa, fb, *whole, small, fixes, keep=keep, shape=shape)
        return _first(*whole, keep=keep, shape=shape)
    else:
        rule = math.pi * math.sqrt(n_out)
        count = min(_tilt.count_tilts(rule, dt, _noise(n_out, dt)), _MAX_TRACED)
        fixes = min(keep, _FIXES_TRACED)
        out, rel = _core_batched(
            fa, fb, grid, arc, ga, gb, count, fixes, None if keep == n_out else keep
        )
        out, rel = out[:, :keep], rel[:, :keep]
    return out.reshape(shape), rel.reshape(shape)


def _as_log(x, name: str) -> jax.Array:
    if isinstance(x, str) or x is None:
        raise TypeError(f"`{name}` must be a real array; got {type(x).__name__}.")
    arr = as_real_array(x, name)
    if arr.ndim == 0 or arr.shape[-1] == 0:
        raise ValueError(
            f"`{name}` must have at least one entry on its last axis; got shape "
            f"{arr.shape}."
        )
    v = concrete(arr)
    if v is not None and (np.isnan(v).any() or np.isposinf(v).any()):
        bad = v[np.isnan(v) | np.isposinf(v)][:3].tolist()
        raise ValueError(
            f"`{name}` must hold logs of non-negative numbers (finite or -inf); "
            f"got values such as {bad}."
        )
    return arr


def logconvolve(log_in1: ArrayLike, log_in2: ArrayLike, *, return_error: bool = False):
    r"""Log of the full convolution of two non-negative vectors given by their logs.

    Like ``log(scipy.signal.convolve(exp(log_in1), exp(log_in2)))``, but every
    entry keeps a small *relative* error, however far below the largest it
    lies, and nothing underflows: entries of :math:`10^{-1000}` are as
    accurate as entries near 1. Cost: a handful of FFT convolutions (one per
    exponential tilt), against one for a plain FFT.

    Parameters
    ----------
    log_in1, log_in2 : array_like
        Logs of non-negative entries (``-inf`` for zeros), shapes
        ``(..., n)`` and ``(..., m)``: the last axes are convolved, leading
        axes broadcast (batches). Differentiable.
    return_error : bool
        Also return the log of each entry's estimated relative error.

    Returns
    -------
    log_out : jax.Array
        Shape ``(..., n + m - 1)``: :math:`\log (p * q)_k` (``-inf`` outside
        the supports' sum).
    log_rel_err : jax.Array
        Only with `return_error`: the log of the estimated relative error of
        each entry (an estimate from the FFT's round-off model and the
        negative round-off actually seen, not a rigorous bound; ``+inf``
        where no tilt resolved the entry, e.g. an exact zero inside the
        supports).

    Raises
    ------
    TypeError
        For complex or non-numeric input.
    ValueError
        For empty input, or NaN or ``+inf`` values (where concrete).

    Notes
    -----
    With :math:`p_j = e^{a_j}`, :math:`q_j = e^{b_j}` and tilts
    :math:`\theta_t`,

    .. math:: (p * q)_k = e^{-\theta_t k} \sum_j p_j e^{\theta_t j}\,
              q_{k-j} e^{\theta_t (k-j)},

    each sum computed by one FFT convolution of the normalized tilted
    vectors, whose absolute error is about
    :math:`\epsilon \log_2 L \|p_\theta\|_2 \|q_\theta\|_2`. Each entry takes
    the tilt with the smallest estimated relative error (after Wilson and
    Keich's aFFT-C). The tilts are placed evenly in the arc length
    :math:`\int \sqrt{K''(\theta)}\,d\theta` of the output's log moment
    generating function :math:`K`, so the number of tilts grows with the
    square root of the output's spread in log space. Where the inputs are
    concrete the count is taken from the data; under `jax.jit` it comes
    from the shapes (:math:`\pi \sqrt{n + m}` arc length, at most 64 tilts),
    and the error estimate shows any entry it leaves unresolved.

    See Also
    --------
    probconv.conv.convolve : the plain convolution (``method='direct'`` is
        also relatively accurate for non-negative inputs, at ``O(n m)``).

    Examples
    --------
    >>> import numpy as np
    >>> from probconv.distributions import logconvolve
    >>> p = np.log([1.0, 1e-200, 1e-300])
    >>> out = logconvolve(p, p)
    >>> [round(float(v / np.log(10)), 6) for v in out]
    [0.0, -199.69897, -299.69897, -499.69897, -600.0]
    """
    if not isinstance(return_error, (bool, np.bool_)):
        raise TypeError(f"`return_error` must be True or False; got {return_error!r}.")
    a = _as_log(log_in1, "log_in1")
    b = _as_log(log_in2, "log_in2")
    out, rel = log_pair(a, b)
    return (out, rel) if return_error else out
