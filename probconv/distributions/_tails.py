r"""Relatively accurate sums of iid lattice variables (sisFFT-like).

The law of :math:`S = X_1 + \dots + X_n` is computed once per exponential
tilt :math:`\theta`. The tilted law of `X`, :math:`x_j e^{\theta (j - c)} /
e^{A}` (normalized, centred near its mean :math:`c`), is folded onto a short
circle of length `P`, transformed and raised to a power :math:`p_0 \le n`;
longer sums continue by squaring (times `X` for the 1 bits of `n`) in the
time domain, each stage keeping a window around the tilted mean and rescaled
to its known total (an FFT power's round-off grows like ``p eps``, and
squaring doubles a relative error of the total). The tilted law of `S` is
concentrated within a few standard deviations of :math:`n c`, so windows much
shorter than the support of `S` lose nothing there (Bernstein's inequality
bounds the mass beyond them). Un-tilting,

.. math:: \log P(S = k) = \log P_\theta(S = k) - \theta (k - n c)
          + n (A + \delta),

with :math:`\delta` the log of the tilted rows' actual total (summed with
error-free transformations), keeps every grid point's log-mass with the
FFT's round-off relative to the tilted peak. The tilts are spaced evenly in
arc length (see `_tilt`), and each point keeps the estimate of the tilt whose
error estimate is smallest.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .._checks import concrete
from ..conv import bucket_length
from ..conv.internal import bounded_jit, fft_nd, ifft_nd, spectral_length
from . import _tilt

# Round-off of the tilted law, relative to its peak: NOISE * eps times
# (p0 sqrt(sigma / P) + log2 P) for the first Fourier power, plus
# NOISE * eps * log2(L) per squaring stage; the estimate takes the larger of
# this model and twice the most negative output (pure round-off). The tests
# check it against exact laws in float32 and float64.
NOISE = 16.0
RHO = 1.0  # growth of the relative round-off per squaring stage (rescaled)
_GRID = 96  # grid points for the tilt plan (plus the X-slopes)


def _support(lx: jax.Array):
    """First and last positions with positive mass (traced ints)."""
    fin = jnp.isfinite(lx)
    m = lx.shape[-1]
    lo = jnp.argmax(fin)
    hi = m - 1 - jnp.argmax(fin[::-1])
    return lo, hi


def iid_grid(lx: jax.Array, n, n_out):
    """Tilt-plan grid of one law: ``(theta, arc, var)`` on a sorted grid.

    `var` is the variance of the tilted `X`; `arc` the cumulative arc length
    of :math:`n K_X` (whose tilted variance is ``n * var``). The tilts only
    reach the first `n_out` points of the sum (all ``n (m - 1) + 1`` of
    them, or fewer). `n` and `n_out` may be traced.
    """
    dt = lx.dtype
    m = lx.shape[-1]
    n = jnp.asarray(n, dt)
    j = jnp.arange(m, dtype=dt)
    lo, hi = _support(lx)
    fin = jnp.isfinite(lx)
    top = jnp.max(jnp.where(fin, lx, -jnp.inf))
    bot = jnp.min(jnp.where(fin, lx, jnp.inf))
    bound = (top - bot) + jnp.log(n * m + 1.0) + 40.0

    def mean(th):
        return _tilt.tilted_moments(lx, j, th)[1]

    top = jnp.minimum(hi - 0.5 / n, (n_out - 1.0) / n)
    tgt = jnp.stack([lo + 0.5 / n, top]).astype(dt)
    ends = _tilt.bisect(mean, tgt, -bound, bound)
    t_lo, t_hi = ends[0], ends[1]
    u = jnp.linspace(0.0, 1.0, _GRID, dtype=dt)
    uniform = t_lo + (t_hi - t_lo) * u
    # Where the tilted law moves fastest: minus the slopes of log x.
    d = -(lx[1:] - lx[:-1])
    ok = jnp.isfinite(d)
    slopes = jnp.where(ok, jnp.clip(d, t_lo, t_hi), t_lo)
    if slopes.shape[0] > _GRID:
        slopes = jnp.sort(slopes)[:: max(1, slopes.shape[0] // _GRID)]
    grid = jnp.sort(jnp.concatenate([uniform, slopes]))
    _, _, var = _tilt.tilted_moments(lx, j, grid)
    arc = _tilt.arc_length(grid, n * var)
    return grid, arc, var


# Largest power taken in one Fourier step: the round-off of F**n grows like
# n * eps relative to the peak, so longer sums continue by squaring in the
# time domain (each squaring adds round-off near eps, not n * eps).
_POWER = {8: 16384, 4: 16}


class IidPlan(NamedTuple):
    """Static plan of a tilted iid sum (shapes only; hashable).

    A plan made for a bucket's size `n` serves every smaller count of
    summands that takes one Fourier power (no `bits`): the count is then
    traced (see `iid_core`), and the windows, made for `n`, hold its sum.
    """

    n: int
    m: int
    p0: int  # first power, by one Fourier power of length l0
    l0: int
    bits: tuple[int, ...]  # then per bit: square, and times X if the bit is 1
    windows: tuple[int, ...]  # window kept after the first and each later stage
    n_out: int = 0  # points of the sum returned (0: all, n (m - 1) + 1)


def _bernstein_depth(sigma: float, width: float, depth: float) -> float:
    """Distance beyond which Bernstein's bound is below ``e^-depth``."""
    b = width * depth / 3.0
    return b + math.sqrt(b * b + 2.0 * sigma * sigma * depth)


def iid_plan(n: int, m: int, sigma: float, width: float, dtype) -> IidPlan:
    """Stages and window lengths for the `n`-fold sum of a law on ``m`` points.

    `sigma` bounds the standard deviation of every tilted summand and
    `width` the range of its support. A window keeps the points within
    Bernstein's distance of the tilted mean (the mass beyond is below
    ``eps`` times the smallest value a tilt is used for); the final window
    keeps ``spacing`` standard deviations each side, where points are used.
    """
    ep = _tilt.eps(dtype)
    sp = _tilt.spacing(dtype)
    big = _POWER[8 if ep < 1e-10 else 4]
    k = 0
    while (n >> k) > big:
        k += 1
    p0 = n >> k
    bits = tuple((n >> i) & 1 for i in range(k - 1, -1, -1))
    sig_n = math.sqrt(n) * sigma
    depth = math.log(2.0 / ep) + sp * sp / 2 + math.log(2.5 * sig_n + 2) + math.log(n)
    sizes = [p0]
    for b in bits:
        sizes.append(2 * sizes[-1] + b)
    windows = []
    for i, s in enumerate(sizes):
        full = s * (m - 1) + 1
        if i == len(sizes) - 1:
            half = sp * sig_n + 2.0
        else:
            half = _bernstein_depth(math.sqrt(s) * sigma, width, depth)
        windows.append(min(full, 2 * int(math.ceil(half)) + 1))
    full0 = p0 * (m - 1) + 1
    reach = windows[0] / 2 + _bernstein_depth(math.sqrt(p0) * sigma, width, depth)
    l0 = spectral_length(max(windows[0], int(math.ceil(reach)) + 2))
    if l0 >= spectral_length(full0):
        l0 = spectral_length(full0)
    return IidPlan(n, m, p0, l0, bits, tuple(windows))


def _noise(n: int, dtype) -> float:
    """Typical round-off of the tilted n-fold law, relative to its peak."""
    ep = _tilt.eps(dtype)
    p0 = n >> max(0, (n // _POWER[jnp.dtype(dtype).itemsize]).bit_length())
    stages = max(0, n.bit_length() - p0.bit_length())
    return ep * (0.5 * p0 + 20.0 * (stages + 1))


def _fold(x: jax.Array, length: int) -> jax.Array:
    """Sum the entries of the last axis that agree modulo `length`."""
    m = x.shape[-1]
    if m <= length:
        return x
    r = -(-m // length)
    x = jnp.pad(x, [(0, 0)] * (x.ndim - 1) + [(0, r * length - m)])
    return x.reshape(x.shape[:-1] + (r, length)).sum(-2)


def _renormalize(win: jax.Array) -> jax.Array:
    """Scale each row to total 1 (its exact total is known: 1).

    An FFT's round-off shifts the total of its output by about ``eps``, and
    squaring doubles relative errors: left alone, the totals of a long
    chain of squarings drift by ``n eps``. The windows hold all but a
    negligible part of the mass, so rescaling them to their known total
    removes the drift.
    """
    scale = jnp.exp(-_tilt.log_total(jax.lax.stop_gradient(win)))
    return win * scale[:, None]


def _slice_rows(z: jax.Array, start: jax.Array, size: int) -> jax.Array:
    """Row ``i`` of the result is ``z[i, start[i] : start[i] + size]``."""
    return jax.vmap(lambda row, s: jax.lax.dynamic_slice(row, (s,), (size,)))(z, start)


def _power(f: jax.Array, p: jax.Array, most: int) -> jax.Array:
    """``f ** p`` for a traced integer ``0 < p <= most``, by repeated squaring.

    The same multiplications as `jax.lax.integer_pow` for a static power
    (a squaring per bit, a product per 1 bit), so the same round-off; a
    traced power in ``f ** p`` would take ``exp(p log f)`` instead.
    """
    out = jnp.ones_like(f)
    for bit in range(most.bit_length()):
        if bit:
            f = f * f
        out = jnp.where((p >> bit) & 1, out * f, out)
    return out


def iid_core(
    lx: jax.Array, thetas: jax.Array, plan: IidPlan, x=None, n=None, window=False
):
    """Log-masses of the `n`-fold sum, and their log relative error estimates.

    Unbatched: `lx` has shape ``(m,)`` (log-masses of X on ``0..m-1``),
    `thetas` shape ``(T,)`` sorted. Returns two arrays of
    ``plan.n (m - 1) + 1`` points (or ``plan.n_out``). `n`, where given, is
    the traced number of summands (at most ``plan.n``, for a plan of one
    Fourier power); the points past its sum's support are ``-inf``, and so
    are the points no sum reaches (in the gaps of a lattice with zero
    masses: the `n`-fold sumset of X's support). `window`: X's support is
    known to have no gaps (`_tilt.gapless`), so the sum's is
    ``n lo..n hi``, and no sumset is computed.
    """
    dt = lx.dtype
    ep = _tilt.eps(dt)
    m = plan.m
    n_out = plan.n_out or plan.n * (m - 1) + 1
    j = jnp.arange(m, dtype=dt)
    thetas = jax.lax.stop_gradient(thetas)
    _, c, var = _tilt.tilted_moments(jax.lax.stop_gradient(lx), j, thetas)
    c = _tilt.snap(c, plan.n, m)
    xt, big_a, corr = _tilt.tilt_rows(lx, j, thetas, c, x)
    # First stage: the p0-fold tilted law on a circle of length l0.
    l0 = plan.l0
    f = fft_nd(_fold(xt, l0), (l0,), (-1,), True, ordered=False)
    if n is None:
        n, p0 = plan.n, plan.p0
        power = f**p0
    else:
        p0 = n
        power = _power(f, jnp.asarray(n, jnp.int32), plan.p0)
    y = ifft_nd(power, (l0,), (-1,), True, ordered=False).astype(dt)
    sig0 = jnp.sqrt(p0 * var)
    nu = ep * (NOISE * p0 * jnp.sqrt((sig0 + 1.0) / l0) + NOISE * math.log2(l0 + 1))
    s = p0
    w = plan.windows[0]
    start = jnp.round(s * c).astype(jnp.int32) - w // 2
    # (a window longer than a traced sum's support starts at 0)
    start = jnp.maximum(jnp.minimum(start, s * (m - 1) + 1 - w), 0)
    idx = (start[:, None] + jnp.arange(w)[None, :]) % l0
    win = jnp.take_along_axis(y, idx, axis=1)
    win = _renormalize(win)
    # Later stages: square (times X for a 1 bit), keep a window.
    for i, bit in enumerate(plan.bits):
        s2 = 2 * s + bit
        size = 2 * w - 1 + bit * (m - 1)
        length = spectral_length(size)
        g = fft_nd(win, (length,), (-1,), True, ordered=False)
        g = g * g
        if bit:
            g = g * fft_nd(xt, (length,), (-1,), True, ordered=False)
        z = ifft_nd(g, (length,), (-1,), True, ordered=False)
        z = z[:, :size].astype(dt)
        w2 = plan.windows[i + 1]
        want = jnp.round(s2 * c).astype(jnp.int32) - w2 // 2
        want = jnp.clip(want, 0, s2 * (m - 1) + 1 - w2)
        off = jnp.clip(want - 2 * start, 0, size - w2)
        win = _renormalize(_slice_rows(z, off, w2))
        start = 2 * start + off
        nu = RHO * nu + NOISE * ep * math.log2(length)
        s, w = s2, w2
    peak = jnp.max(win, -1)
    neg = jnp.maximum(jnp.max(-win, -1), 0.0)
    log_noise = _tilt.safe_log(jnp.maximum(nu * peak, 2.0 * neg))
    centers = n * c
    k = jnp.arange(n_out)
    near = jnp.searchsorted(centers, k.astype(dt))
    tc = jnp.clip(near[None, :] + jnp.arange(-2, 2)[:, None], 0, thetas.shape[0] - 1)
    pos = k[None, :] - start[tc]
    ok = (pos >= 0) & (pos < w)
    yv = jnp.take_along_axis(win[tc], jnp.clip(pos, 0, w - 1)[..., None], -1)[..., 0]
    lv = jnp.where(ok, _tilt.safe_log(yv), -jnp.inf)
    shift = -thetas[tc] * (k[None, :] - centers[tc]) + n * (big_a + corr)[tc]
    # Rounding of the un-tilting arithmetic: a few ulps of each log term.
    val = lv + shift
    arith = jnp.log(8.0 * ep * (jnp.abs(val) + jnp.abs(shift) + 1.0)) + val
    err = _tilt.log_add(log_noise[tc] + shift, arith)
    out, rel = _tilt.best_of(val, err, axis=0)
    if window:
        lo, hi = _support(jax.lax.stop_gradient(lx))
        inside = (k >= n * lo) & (k <= n * hi)
    else:
        a = jnp.isfinite(jax.lax.stop_gradient(lx)).astype(dt)
        a = jnp.zeros(n_out, dt).at[: min(m, n_out)].set(a[:n_out])
        inside = _tilt.n_fold(a, n, spectral_length(2 * n_out)) > 0.5
    return jnp.where(inside, out, -jnp.inf), jnp.where(inside, rel, -jnp.inf)


@bounded_jit(static_argnames=("plan", "window"))
def _iid_batched(lx, thetas, plan, x, n=None, window=False):
    batch = lx.shape[:-1]
    flat = lx.reshape((-1, lx.shape[-1]))
    th = thetas.reshape((-1, thetas.shape[-1]))
    if x is None:
        out, rel = jax.vmap(lambda a, b: iid_core(a, b, plan, None, n, window))(
            flat, th
        )
    else:
        xf = x.reshape(flat.shape)
        out, rel = jax.vmap(lambda a, b, c: iid_core(a, b, plan, c, n, window))(
            flat, th, xf
        )
    return out.reshape(batch + out.shape[-1:]), rel.reshape(batch + rel.shape[-1:])


@bounded_jit
def _iid_plan_batched(lx, n, n_out):
    """Per row the tilt grid, its arc lengths, and what sizes the plan.

    ``(grid, arc, total arc, largest tilted variance, support span)``: one
    program, so that planning on concrete values compiles nothing else
    (`n` and `n_out` are traced: one program serves every count).
    """
    flat = lx.reshape((-1, lx.shape[-1]))
    grid, arc, var = jax.vmap(lambda a: iid_grid(a, n, n_out))(flat)
    los, his = jax.vmap(_support)(flat)
    return grid, arc, arc[..., -1], jnp.max(var, -1), his - los


@bounded_jit(static_argnames=("count", "batch"))
def _place_batched(grid, arc, count, batch):
    """`count` tilts per row (see `_tilt.place`), shaped ``batch + (count,)``."""
    thetas = jax.vmap(lambda g, a: _tilt.place(g, a, count))(grid, arc)
    return thetas.reshape(batch + (count,))


def log_iid_sum(
    lx: jax.Array,
    n: int,
    x: jax.Array | None = None,
    n_out: int = 0,
    bucket: int | None = None,
):
    """Relative-accuracy log-masses of the `n`-fold sum of each row of `lx`.

    Returns ``(log_masses, log_rel_err)``, each of shape
    ``batch + (n (m - 1) + 1,)``, or ``batch + (n_out,)``: the first
    `n_out` points only (the tilts then cover those, which costs less for a
    long law whose sum leaves the float range early). `x`, the same masses
    in linear form where the caller has them, keeps float32 inputs exact.
    The plan (number of tilts, window and FFT lengths) comes from the values
    where they are concrete, else from the shapes alone.

    With `bucket` (at least `n`), the programs are those of a
    `bucket`-fold sum, with `n` traced, where that sum takes one Fourier
    power: every count of a bucket shares them (issue 14). The arrays then
    have the bucket's length (``bucket (m - 1) + 1``, or `n_out` rounded up
    to a bucket length), ``-inf`` past the `n`-fold sum's points.
    """
    dt = lx.dtype
    m = lx.shape[-1]
    batch = lx.shape[:-1]
    if m == 1 or n == 1:
        out = n * lx if m == 1 else lx
        rel = jnp.where(jnp.isfinite(out), math.log(n * _tilt.eps(dt)), -jnp.inf)
        return out, rel
    full = n * (m - 1) + 1
    n_out = n_out if 0 < n_out < full else 0
    nb = n if bucket is None or bucket < n else bucket
    if iid_plan(nb, 2, 0.5, 1.0, dt).bits:
        nb = n  # (a sum that squares has a plan of its own count)
    grid, arc, total, vmax, spans = _iid_plan_batched(
        jax.lax.stop_gradient(lx), np.int32(n), np.int32(n_out or full)
    )
    total, vmax, spans = concrete(total), concrete(vmax), concrete(spans)
    if total is not None and vmax is not None and spans is not None:
        # The arc length grows like sqrt(n): planned for the bucket's count.
        spread = float(np.max(total)) * math.sqrt(nb / n)
        count = _tilt.count_tilts(spread, dt, _noise(nb, dt))
        sigma = math.sqrt(float(np.max(vmax)))
        width = float(np.max(spans))
    else:
        # Traced values: bounds from the shapes alone. Bhatia-Davis bounds
        # the variance by ((m-1)/2)^2; the arc length of K_X is taken as
        # 3 pi, three times a Bernoulli's and above a fair die's (5.5).
        sigma = (m - 1) / 2.0
        width = float(m - 1)
        count = _tilt.count_tilts(3 * math.pi * math.sqrt(nb), dt, _noise(nb, dt))
    plan = iid_plan(nb, m, max(sigma, 1e-3), max(width, 1.0), dt)
    thetas = _place_batched(grid, arc, count=count, batch=batch)
    window = _tilt.gapless(lx)  # else the sum's support by sumsets
    if nb == n:
        return _iid_batched(lx, thetas, plan._replace(n_out=n_out), x, None, window)
    points = nb * (m - 1) + 1
    if n_out:
        points = min(bucket_length(n_out - 1) + 1, points)
    plan = plan._replace(n_out=0 if points == nb * (m - 1) + 1 else points)
    return _iid_batched(lx, thetas, plan, x, np.int32(n), window)
