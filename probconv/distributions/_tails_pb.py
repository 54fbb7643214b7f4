r"""Relatively accurate Poisson binomial laws: a product tree of tilted laws.

The law of :math:`S = \sum_i B_i`, :math:`B_i \sim` Bernoulli(:math:`p_i`),
tilted by :math:`\theta`, is the Poisson binomial law of the tilted
probabilities :math:`p_i' = \sigma(\mathrm{logit}\, p_i + \theta)`. The
bottom levels of the product tree (groups of up to 256 trials) are summed
directly in log space, once, for all tilts: direct sums of non-negative terms
keep their relative accuracy. Above them, each tilt's normalized group laws
are convolved in a few stages, each multiplying the transforms of several
laws on a circle about as long as the window it keeps (batched FFTs through
the engine), and each point keeps the estimate of the tilt that resolves it
best.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from .._checks import concrete
from ..conv.internal import bounded_jit, fft_nd, ifft_nd, next_fast_len
from . import _tilt

NOISE = 16.0  # FFT round-off per level, in units of eps * log2(size) * peak
# Trials per group summed directly in log space, shared by every tilt: the
# levels below cost O(n * 256) log-sum-exps once, where each would cost a
# full-width FFT level per tilt (at 10**4 trials and 80 tilts, groups of 256
# instead of 32 take the core from 160-180 ms to 117-130 ms).
_GROUP = 256
_CHUNK = 1 << 17  # tilted group entries per pass of the product trees
_GRID = 64


def log_direct(a: jax.Array, b: jax.Array) -> jax.Array:
    """Log-space full convolution of columns ``(L, ...)`` and ``(L, ...)``.

    ``out[k] = log sum_j exp(a[j] + b[k - j])`` along the first axis, the
    others a batch (the pairs of a level): the terms of each output gathered
    into ``(2 L - 1, L, ...)`` (``-inf`` where ``k - j`` leaves the column),
    then reduced by log-sum-exp along the second axis. ``O(L^2)`` work,
    relative error a few ulps per entry. The batch sits on the last,
    contiguous axis, so the exponentials run across the pairs in vector
    lanes however short the columns: the groups of 10**4 trials took 3.5 ms
    instead of 4.2 ms with the pairs leading (and a skewed grid of the outer
    sum, reduced along its columns, took twice as long).
    """
    n = a.shape[0]
    kj = np.arange(2 * n - 1)[:, None] - np.arange(n)[None, :]
    ok = (kj >= 0) & (kj < n)
    terms = a[None] + jnp.take(b, np.where(ok, kj, 0), axis=0)
    ok = ok.reshape(ok.shape + (1,) * (a.ndim - 1))
    return _tilt.lse(jnp.where(ok, terms, -jnp.inf), 1)


def _logits(p: jax.Array) -> jax.Array:
    """``logit(p)``, ``-inf`` at 0 and ``inf`` at 1, safe gradients."""
    inner = (p > 0) & (p < 1)
    q = jnp.where(inner, p, 0.5)
    out = jnp.log(q) - jnp.log1p(-q)
    return jnp.where(inner, out, jnp.where(p <= 0, -jnp.inf, jnp.inf))


def _low_end(lg: jax.Array, fin: jax.Array, steps: int = 8) -> jax.Array:
    """Return the tilt at which the trials of finite logit `lg` sum to 1/2 on average.

    Solves ``log sum sigmoid(lg + t) = log(1/2)`` by Newton's method from
    ``log(1/2) - logsumexp(lg)``, its root for ``sigmoid(x) = e^x``, below
    the true root (``sigmoid(x) < e^x``); where one trial dominates the
    function is ``log sigmoid``, concave, and the steps climb to the root
    from below. Eight steps take the benchmark's ends to round-off; the
    ends only place the grid of tilts (this replaced 48 bisection steps).
    """
    x = jnp.where(fin, lg, -jnp.inf)
    t = math.log(0.5) - _tilt.lse(x, -1)
    t = jnp.where(jnp.isfinite(t), t, 0.0)

    def body(_, t):
        s = jnp.where(fin, jax.nn.sigmoid(jnp.where(fin, lg, 0.0) + t), 0.0)
        tot = jnp.sum(s)
        slope = jnp.sum(s * (1.0 - s))
        ok = (tot > 0) & (slope > 0)
        step = (math.log(0.5) - jnp.log(jnp.where(ok, tot, 1.0))) * tot
        return t + jnp.where(ok, step / jnp.where(ok, slope, 1.0), 0.0)

    return jax.lax.fori_loop(0, steps, body, t)


def pb_grid(p: jax.Array):
    """Tilt-plan grid of one Poisson binomial: ``(theta, arc)``."""
    dt = p.dtype
    n = p.shape[-1]
    lg = _logits(p)
    fin = jnp.isfinite(lg)
    big = jnp.max(jnp.where(fin, jnp.abs(lg), 0.0)) + math.log(n + 1.0) + 40.0
    # The ends: the tilted means at ones + 1/2 and n - zeros - 1/2 (the
    # support's ends, half a trial inside), solved in closed form refined by
    # Newton (`_low_end`; the upper end is the lower end of the failures).
    some = jnp.any(fin)
    t_lo = jnp.where(some, jnp.clip(_low_end(lg, fin), -big, big), big)
    t_hi = jnp.where(some, jnp.clip(-_low_end(-lg, fin), -big, big), -big)
    t_hi = jnp.maximum(t_hi, t_lo)
    u = jnp.linspace(0.0, 1.0, _GRID, dtype=dt)
    # Quantiles of the logits from a sample of at most 1,024 trials (they
    # only add grid points where the variance changes; sorting all 10**4
    # took 2 ms).
    stride = max(1, n // 1024)
    d = jnp.sort(jnp.where(fin, jnp.clip(-lg, t_lo, t_hi), t_lo)[::stride])
    q = d[jnp.linspace(0, d.shape[0] - 1, min(d.shape[0], _GRID)).astype(jnp.int32)]
    grid = jnp.sort(jnp.concatenate([t_lo + (t_hi - t_lo) * u, q]))
    # The variances in float32 (they only place the tilts, as
    # `_tilt.tilted_moments` does; float32 exponentials run about three times
    # as fast): 128 x 10**4 sigmoids took 2-3 ms in float64.
    z = (jnp.where(fin, lg, 0.0)[None, :] + grid[:, None]).astype(jnp.float32)
    s = jax.nn.sigmoid(z)
    var = jnp.sum(jnp.where(fin[None, :], s * (1 - s), 0.0), -1).astype(dt)
    return grid, _tilt.arc_length(grid, var)


def _groups(p: jax.Array):
    """Log-laws of groups of trials, ``(groups, size + 1)``, summed directly."""
    n = p.shape[-1]
    size = min(1 << max(0, (n - 1).bit_length()), _GROUP)
    width = -(-n // size) * size  # whole groups; trials of p = 0 fill the last
    pp = jnp.pad(p, (0, width - n))
    pos = pp > 0
    lp = jnp.where(pos, jnp.log(jnp.where(pos, pp, 1.0)), -jnp.inf)
    neg = pp < 1
    lq = jnp.where(neg, jnp.log1p(-jnp.where(neg, pp, 0.0)), -jnp.inf)
    m = jnp.stack([lq, lp])  # (2, width): the trials along the last axis
    while m.shape[0] < size + 1:
        m = log_direct(m[:, 0::2], m[:, 1::2])
    return m.T, size


def pb_core(p: jax.Array, thetas: jax.Array):
    """Log-masses of one Poisson binomial and their log relative errors."""
    n = p.shape[-1]
    thetas = jax.lax.stop_gradient(thetas)
    groups, size = _groups(p)

    def tilted_tree(th):
        rows, lognorm, c, mean = _tilted(groups, th)
        y, start, c, mean, levels = _tree(rows, c, mean, size, n)
        return (y, start, c, mean, lognorm), levels

    per_tilt = groups.shape[0] * groups.shape[1]
    chunk = max(1, _CHUNK // per_tilt)
    if chunk >= thetas.shape[0]:
        (y, start, c, mean, lognorm), levels = tilted_tree(thetas)
    else:
        # A few tilts at a time: the tilted groups of every tilt at once
        # spill out of the CPU's caches (10**4 trials, 56 tilts of 40
        # groups: the whole call 10.5-14 -> 9.0 ms in chunks of 12 tilts).
        g, w = groups.shape
        levels = sum(stage[0] for stage in _stages(g, w, size, n, groups.dtype))
        y, start, c, mean, lognorm = jax.lax.map(
            lambda th: tilted_tree(th[None])[0], thetas, batch_size=chunk
        )
        y, start, c, mean, lognorm = (
            v.reshape((thetas.shape[0],) + v.shape[2:])
            for v in (y, start, c, mean, lognorm)
        )
    out, rel = _choose(y, start, c, mean, lognorm, thetas, levels, n)
    pg = jax.lax.stop_gradient(p)
    kk = jnp.arange(n + 1)
    inside = (kk >= jnp.sum(pg >= 1)) & (kk <= n - jnp.sum(pg <= 0))
    return jnp.where(inside, out, -jnp.inf), jnp.where(inside, rel, -jnp.inf)


def _tilted(groups: jax.Array, thetas: jax.Array):
    """Each group law tilted by each theta: rows ``(T, g, size + 1)``.

    Returns the rows, the log of what their product was divided by (per
    tilt), and each row's centre (its mode) and mean. The centre is an
    integer, so the centres' sums and the un-tilting ``k - C`` are exact in
    any dtype; the means (read from the same exponentials) place the
    windows. (Sums of tilted probabilities for the centres took 80 x 10**4
    sigmoids at 10**4 trials.) Each row is scaled by a power of two near its
    total, which is exact: the rows are exactly ``exp(a - top - k2 log 2)``,
    with no normalization error to correct (a division by the total and its
    error-free sum, `_tilt.log_total`, took a tenth of the time).
    """
    dt = groups.dtype
    k = jnp.arange(groups.shape[-1], dtype=dt)
    mode = jax.lax.stop_gradient(_modes(groups, thetas)).astype(dt)  # (T, g)
    a = groups[None] + thetas[:, None, None] * (k - mode[:, :, None])
    top = jax.lax.stop_gradient(jnp.max(a, -1, keepdims=True))
    top = jnp.where(jnp.isfinite(top), top, 0.0)
    e = jnp.exp(a - top)
    tot = jax.lax.stop_gradient(jnp.sum(e, -1, keepdims=True))
    mean = jax.lax.stop_gradient(jnp.sum(e * k, -1) / tot[..., 0])
    k2 = jnp.round(jnp.log2(tot))
    # The power of two built exactly on the small array, then multiplied in
    # (exact): `jnp.ldexp` on every entry took 7.5 ms of 80 x 40 x 257.
    rows = e * jnp.ldexp(jnp.ones_like(k2), -k2.astype(jnp.int32))
    lognorm = jnp.sum((top + k2 * math.log(2.0))[..., 0], -1)
    return rows, lognorm, mode, mean


def _modes(groups: jax.Array, thetas: jax.Array) -> jax.Array:
    """Mode of each group law tilted by each theta, ``(T, g)`` integers.

    The log-laws are concave (Poisson binomial laws are log-concave), so the
    tilted law's mode is the number of slopes ``G[k + 1] - G[k]`` above
    ``-theta``: a binary search per group instead of an argmax over every
    tilted entry. Any integer centre is valid (rounding in the slopes can
    only move it by one); it only centres the exponents.
    """
    size = groups.shape[-1]
    fin = jnp.isfinite(groups)
    lo = jnp.argmax(fin, -1)  # first point of each group's support
    d = jnp.where(
        fin[:, 1:],
        groups[:, 1:] - jnp.where(fin[:, :-1], groups[:, :-1], 0.0),
        -jnp.inf,
    )
    below = jnp.arange(size - 1)[None, :] < lo[:, None]
    d = jnp.where(below, jnp.inf, d)
    # Decreasing slopes: search the ascending negated ones.
    count = jax.vmap(lambda row: jnp.searchsorted(-row, thetas, side="left"))(d)
    return count.T


def _tree(rows: jax.Array, c: jax.Array, mean: jax.Array, size: int, n: int):
    """Convolve each tilt's rows ``(T, g, w)`` into one law, in windowed stages.

    Each stage (`_stages`) multiplies the transforms of ``2**m`` rows at
    once on a circle of about the window's length and keeps the window
    around the tilted mean. Returns the tilted laws ``(T, w)``, their
    windows' starts, the sums of the centres `c` and of the means, and the
    number of levels (pairings) the stages span.
    """
    start = jnp.zeros(c.shape, jnp.int32)  # window offsets within each subset
    plan = _stages(rows.shape[-2], rows.shape[-1], size, n, rows.dtype)
    for m, trials, w2, length in plan:
        rows, start, c, mean = _stage(rows, start, c, mean, m, trials, w2, length)
    levels = sum(p[0] for p in plan)
    return rows[:, 0, :], start[:, 0], c[:, 0], mean[:, 0], levels


def _stages(g: int, w: int, size: int, n: int, dtype):
    """Plan the tree statically: ``(m, trials, window, circle)`` per stage.

    Stage after stage, ``2**m`` rows of a level are combined at once (their
    transforms multiplied), which skips the inverse and forward transforms
    of the levels in between; the circle must hold the window of the
    combined trials, so combining many levels makes every transform long.
    The split of the levels into stages minimizes the transforms' work,
    ``(rows in + rows out) N log N`` per stage. (At 10**4 trials: six
    levels as two stages of three, circles of 625 and 1,728 points: the
    tree took 40 % less work than six pairings.)
    """
    top = max(0, (g - 1).bit_length())
    rows = [-(-g // (1 << i)) for i in range(top + 1)]
    width, trials = [w], [size]
    for i in range(1, top + 1):  # the window kept at each level
        t = size << i
        width.append(min(2 * width[-1] - 1, window(t, n, dtype)))
        trials.append(t)

    def stage(i, j):  # levels i -> j in one stage
        full = (1 << (j - i)) * (width[i] - 1) + 1
        w2 = min(full, width[j])
        length = next_fast_len(max(w2, width[i]))
        return (rows[i] + rows[j]) * length * math.log2(length), w2, length

    best = {0: (0.0, [])}
    for j in range(1, top + 1):
        best[j] = min(
            (best[i][0] + stage(i, j)[0], best[i][1] + [(i, j)]) for i in range(j)
        )
    plan = []
    for i, j in best[top][1]:
        _, w2, length = stage(i, j)
        plan.append((j - i, trials[j], w2, length))
    return plan


def _stage(rows, start, c, mean, m: int, trials: int, w2: int, length: int):
    """Combine consecutive ``2**m`` rows of ``(T, R, w)``; keep `w2` entries.

    The rows' transforms on a circle of `length` points (at least `w2`) are
    multiplied; rows past `R` (to a multiple of ``2**m``) are point masses
    at 0, whose transforms are ones. The entries of the linear convolution
    that wrap onto the window are those the window drops, whose mass
    `window` bounds below what a tilt resolves; they land on the kept
    entries instead of vanishing, an error of the same size.
    """
    q = 1 << m
    t, r, w = rows.shape
    r2 = -(-r // q) * q
    f = fft_nd(rows, (length,), (-1,), True)
    if r2 > r:
        f = jnp.concatenate([f, jnp.ones((t, r2 - r, f.shape[-1]), f.dtype)], 1)
        start, c, mean = (jnp.pad(v, [(0, 0), (0, r2 - r)]) for v in (start, c, mean))
    f = jnp.prod(f.reshape(t, r2 // q, q, -1), 2)
    y = ifft_nd(f, (length,), (-1,), True)
    start, c, mean = (v.reshape(t, r2 // q, q).sum(-1) for v in (start, c, mean))
    full = q * (w - 1) + 1
    want = jnp.round(mean).astype(jnp.int32) - w2 // 2
    want = jnp.clip(want, 0, trials + 1 - w2)
    off = jnp.clip(want - start, 0, full - w2)
    idx = (off[..., None] + jnp.arange(w2)) % length  # the window, around the circle
    z = jnp.take_along_axis(y, idx, -1)
    # No rescaling: each stage's round-off of the total (about eps) is
    # independent of the others, not amplified as in repeated squaring.
    return jnp.where(z > 0, z, 0.0), start + off, c, mean


def _choose(y, start, centers, mean, lognorm, thetas, levels: int, n: int):
    """Per point ``0..n``, the estimate of the tilt that resolves it best."""
    dt = y.dtype
    ep = _tilt.eps(dt)
    w = y.shape[-1]
    peak = jnp.max(y, -1)
    nu = NOISE * ep * max(1, levels) * math.log2(w + 1)
    log_noise = _tilt.safe_log(nu * peak)
    kk = jnp.arange(n + 1)
    near = jnp.searchsorted(mean, kk.astype(dt))
    tc = jnp.clip(near[None, :] + jnp.arange(-2, 2)[:, None], 0, thetas.shape[0] - 1)
    pos = kk[None, :] - start[tc]
    inwin = (pos >= 0) & (pos < w)
    yv = jnp.take_along_axis(y[tc], jnp.clip(pos, 0, w - 1)[..., None], -1)[..., 0]
    yv = jnp.where(inwin, yv, 0.0)
    shift = lognorm[tc] - thetas[tc] * (kk[None, :] - centers[tc])
    val = _tilt.safe_log(yv) + shift
    arith = jnp.log(8.0 * ep * (jnp.abs(val) + jnp.abs(shift) + 1.0)) + val
    err = _tilt.log_add(log_noise[tc] + shift, arith)
    return _tilt.best_of(val, err, axis=0)


@bounded_jit
def _grid_batched(p):
    return jax.vmap(pb_grid)(p)


@bounded_jit(static_argnames=("count",))
def _core_batched(p, grid, arc, count):
    thetas = jax.vmap(lambda gr, a: _tilt.place(gr, a, count))(grid, arc)
    return jax.vmap(pb_core)(p, thetas)


def window(trials: int, n: int, dtype) -> int:
    """Window kept of the tilted law of `trials` trials (a static length).

    The variance of a Bernoulli is at most 1/4 whatever the tilt, so
    Bernstein's inequality with that variance bounds the mass beyond the
    window: below ``eps`` times the smallest value a tilt is used for.
    """
    sp = _tilt.spacing(dtype)
    sigma = math.sqrt(trials) / 2
    depth = math.log(2 / _tilt.eps(dtype)) + sp * sp / 2 + math.log(2.5 * sigma + 2)
    depth += math.log(n + 1)
    b = depth / 3
    t = b + math.sqrt(b * b + 2 * sigma * sigma * depth)
    return min(trials + 1, 2 * int(math.ceil(t)) + 1)


def _noise(n: int, dtype) -> float:
    levels = max(1, (max(n, 1) - 1).bit_length() - int(math.log2(_GROUP)))
    return 4.0 * _tilt.eps(dtype) * levels * math.log2(n + 2)


@bounded_jit(static_argnames=("clip",))
def _rows(p, clip):
    """`p` as rows (clipped to [0, 1] with `clip`)."""
    flat = p.reshape(-1, p.shape[-1])
    return jnp.clip(flat, 0.0, 1.0) if clip else flat


@bounded_jit(static_argnames=("batch",))
def _unrows(out, rel, batch):
    return out.reshape(batch + out.shape[-1:]), rel.reshape(batch + rel.shape[-1:])


def log_poisson_binomial(p: jax.Array, clip: bool = False, trials: int | None = None):
    """Relative-accuracy log-masses of Poisson binomial laws (rows of `p`).

    Returns ``(log_masses, log_rel_err)`` of shape ``p.shape[:-1] + (n+1,)``.
    With `clip`, the probabilities are clipped to [0, 1] first. A new shape
    compiles four programs (issue 14). `trials`, where `p` was padded with
    zeros to a bucket, is the true number of trials: the number of tilts is
    planned for the bucket (the arc length, which grows like the square root
    of the trials, scaled by ``sqrt(n / trials)``), so that every size of a
    bucket shares one program.
    """
    dt = p.dtype
    n = p.shape[-1]
    batch = p.shape[:-1]
    flat = _rows(p, clip=bool(clip))
    grid, arc = _grid_batched(jax.lax.stop_gradient(flat))
    total = concrete(arc)
    if total is not None:
        total = total[:, -1]
        spread = float(np.max(total)) * math.sqrt(n / (trials or n))
        count = _tilt.count_tilts(spread, dt, _noise(n, dt))
    else:
        # Traced: the arc length of n identical trials is pi sqrt(n); allow
        # twice that for spread probabilities.
        count = _tilt.count_tilts(2 * math.pi * math.sqrt(n), dt, _noise(n, dt))
    out, rel = _core_batched(flat, grid, arc, count)
    return _unrows(out, rel, batch=batch)
