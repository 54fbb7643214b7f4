r"""Exponential tilting: log-space helpers, placing tilts, keeping the best estimate.

For non-negative masses :math:`p_k` and a real :math:`\theta`, the tilted
masses :math:`p_k e^{\theta k}` convolve like the masses themselves,
:math:`(p e^{\theta\cdot}) * (q e^{\theta\cdot}) = (p * q)\, e^{\theta\cdot}`.
A convolution computed by FFT has an absolute error near ``eps`` times its
largest entry, so it resolves the entries within a few orders of magnitude of
the tilted peak. The relative-accuracy methods of `probconv.distributions` therefore
compute a handful of tilted results and keep, for every grid point, the one
whose estimated relative error is smallest.

This module holds what those methods share: a log-sum-exp that is safe for
empty (all ``-inf``) rows under `jax.grad`, the moments of tilted laws, the
placement of tilts evenly along the arc length
:math:`s(\theta) = \int \sqrt{K''(\theta)}\, d\theta` of the cumulant
generating function (so that neighbouring tilts' accurate windows overlap by
the same amount everywhere), and the per-point choice between candidates.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from .._checks import concrete

# Where tilts go: a point midway between two tilts sits about SPACING / 2
# standard deviations from both, at e^(-SPACING^2 / 8) of their peaks, so
# its relative error is the method's round-off (relative to the tilted
# peak) times e^(SPACING^2 / 8). The spacing is chosen to keep that below
# TARGET, two orders of magnitude inside the documented accuracy (1e-8 in
# float64, 1e-3 in float32).
TARGET = {8: 1e-10, 4: 1e-4}


def spacing(dtype, noise: float | None = None, target: float | None = None) -> float:
    """Arc-length distance between neighbouring tilts.

    `noise` is the method's round-off relative to the tilted peak (default
    ``100 eps``); the spacing keeps points midway between tilts at
    ``TARGET`` relative error (or `target`, where a caller needs less).
    """
    ep = eps(dtype)
    noise = 100 * ep if noise is None else max(noise, 4 * ep)
    aim = TARGET[jnp.dtype(dtype).itemsize]
    room = math.log(max(aim, target or aim) / noise)
    return 2.0 * math.sqrt(2.0 * max(room, 0.5))


def eps(dtype) -> float:
    """Machine epsilon of `dtype` (a Python float)."""
    return float(jnp.finfo(dtype).eps)


def lse(a: jax.Array, axis: int = -1) -> jax.Array:
    """``log(sum(exp(a), axis))``: ``-inf`` for empty rows, safe gradients.

    The maximum is not differentiated (the result does not depend on it),
    and rows whose entries are all ``-inf`` give ``-inf`` with zero
    gradient instead of NaN.
    """
    m = lax.stop_gradient(jnp.max(a, axis=axis, keepdims=True))
    m = jnp.where(jnp.isfinite(m), m, 0.0)
    s = jnp.sum(jnp.exp(a - m), axis=axis, keepdims=True)
    pos = s > 0
    out = jnp.where(pos, jnp.log(jnp.where(pos, s, 1.0)) + m, -jnp.inf)
    return jnp.squeeze(out, axis)


def safe_log(x: jax.Array) -> jax.Array:
    """``log(x)`` for ``x > 0`` and ``-inf`` elsewhere, with finite gradients."""
    pos = x > 0
    return jnp.where(pos, jnp.log(jnp.where(pos, x, 1.0)), -jnp.inf)


def log_add(a: jax.Array, b: jax.Array) -> jax.Array:
    """``log(exp(a) + exp(b))`` to an absolute error near ``eps``: for error estimates.

    ``max + log(1 + exp(-|a - b|))``: the logarithm of ``1 + x`` instead of
    ``log1p(x)`` gives up the relative accuracy of a result near 0, which a
    log error estimate does not need (it moves the estimate by a relative
    ``eps``). XLA's CPU ``log1p`` ran five times slower fused with a select:
    ``jnp.logaddexp`` of 50,001 float32 error estimates under a `jnp.where`
    took 0.45 ms, this 0.08 ms. ``-inf`` and ``inf`` behave as in
    ``jnp.logaddexp``; NaN propagates.
    """
    m = jnp.maximum(a, b)
    fin = jnp.isfinite(m)
    d = jnp.where(fin, -jnp.abs(a - b), 0.0)
    return jnp.where(fin, m + jnp.log(1.0 + jnp.exp(d)), m)


def logcumsumexp(a: jax.Array, reverse: bool = False) -> jax.Array:
    """Cumulative log-sum-exp along the last axis (from the right if `reverse`).

    Computed with a running maximum by an associative scan, so no partial
    sum underflows or overflows whatever the range of `a`.
    """
    if reverse:
        return jnp.flip(logcumsumexp(jnp.flip(a, -1)), -1)
    return lax.cumlogsumexp(a, axis=a.ndim - 1)


def tilted_moments(la: jax.Array, j: jax.Array, theta: jax.Array, whole: int = 1 << 20):
    r"""Log-MGF, mean and variance of the laws ``exp(la) e^{theta j}``.

    `la` has shape ``(m,)`` (log-masses on positions `j`), `theta` shape
    ``(g,)``; returns three arrays of shape ``(g,)``:
    :math:`K(\theta) = \log \sum_j e^{la_j + \theta j}`, and the mean and
    variance of the normalized tilted law. For planning only: the weights
    are exponentiated in float32 (relative accuracy 1e-7 is plenty, and
    float32 exponentials are several times faster on CPUs), and tables of
    more than `whole` weights are swept a few tilts at a time so the work
    stays in cache (a program holding two tables of 7,000 points by 96
    tilts, a pair's plan, ran five times slower whole: 41 ms against 8).
    """
    # Positions from the middle of `j` (an argmax per tilt to centre them
    # on the peak took as long as the rest of a pair's plan).
    mid = 0.5 * (j[0] + j[-1])
    d = j - mid

    def one(th):
        a = la + th * j
        top = jnp.max(a)
        top = jnp.where(jnp.isfinite(top), top, 0.0)
        w = jnp.exp((a - top).astype(jnp.float32)).astype(la.dtype)
        s = jnp.sum(w)
        s1 = jnp.sum(w * d)
        s2 = jnp.sum(w * d * d)
        ok = s > 0
        s = jnp.where(ok, s, 1.0)
        mu = s1 / s
        k = jnp.where(ok, jnp.log(s), -jnp.inf) + top
        return k, mu + mid, jnp.maximum(s2 / s - mu * mu, 0.0)

    if la.shape[-1] * theta.shape[-1] <= whole:
        return jax.vmap(one)(theta)
    return jax.lax.map(one, theta, batch_size=4)


def snap(c: jax.Array, scale: int, size: int) -> jax.Array:
    """Round tilt centres `c` (in ``[0, size)``) so ``scale * c`` is exact.

    Un-tilting an ``scale``-fold sum uses ``k - scale * c``; with `c` a
    multiple of a power of two short enough, that difference is exact, so
    the float32 result does not lose ``eps * scale * size`` to it. (Any
    centre is valid: it only shifts the exponent of the tilt.)
    """
    mant = jnp.finfo(c.dtype).nmant + 1
    q = mant - int(math.ceil(math.log2(scale * size + 2))) - 1
    step = 2.0**-q
    return jnp.round(c / step) * step


def _two_sum(a, b):
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def log_total(rows: jax.Array) -> jax.Array:
    """``log(sum(rows, -1))`` for rows summing to about 1, to a few ulps.

    Summed pairwise with error-free transformations (TwoSum), so the result
    is accurate far beyond the dtype: what an `n`-fold sum of a tilted law
    multiplies by `n` must not carry `n` times its rounding.
    """
    hi = rows
    lo = jnp.zeros_like(rows)
    while hi.shape[-1] > 1:
        if hi.shape[-1] % 2:
            pad = [(0, 0)] * (hi.ndim - 1) + [(0, 1)]
            hi, lo = jnp.pad(hi, pad), jnp.pad(lo, pad)
        s, e = _two_sum(hi[..., 0::2], hi[..., 1::2])
        lo = lo[..., 0::2] + lo[..., 1::2] + e
        hi = s
    hi, lo = hi[..., 0], lo[..., 0]
    return jnp.log1p((hi - 1.0) + lo)


def tilt_rows(la, j, thetas, c, x=None, total=True):
    """Tilt and normalize: rows ``exp(la + theta (j - c) - A)``, shape ``(T, m)``.

    Returns the rows, the log-normalizers `A` and the log of the rows'
    actual totals (``log_total``; near ``eps``), which the caller removes
    so that the rounding of `A` does not bias long sums (zeros unless
    `total`: a single convolution does not amplify it). Where the linear
    masses `x` are given and positive they are used as they are (``x e^{...}``
    instead of ``e^{log x + ...}``), which keeps float32 inputs exact.
    """
    a = la[None, :] + thetas[:, None] * (j[None, :] - c[:, None])
    top = jax.lax.stop_gradient(jnp.max(a, -1))
    top = jnp.where(jnp.isfinite(top), top, 0.0)
    e = jnp.exp(a - top[:, None])
    s = jnp.sum(e, -1)
    ok = s > 0
    s_safe = jnp.where(ok, s, 1.0)
    big = jnp.where(ok, jnp.log(s_safe) + top, -jnp.inf)
    big_safe = jnp.where(ok, big, 0.0)
    if x is None:
        # The exponentials once: ``e / s`` is ``exp(a - big)`` to rounding.
        rows = e * (1.0 / s_safe)[:, None]
    else:
        tilt = jnp.exp(thetas[:, None] * (j[None, :] - c[:, None]) - big_safe[:, None])
        rows = jnp.where(
            x[None, :] > 0, x[None, :] * tilt, jnp.exp(a - big_safe[:, None])
        )
    if not total:
        return rows, big, jnp.zeros_like(big)
    return rows, big, jnp.where(ok, log_total(jax.lax.stop_gradient(rows)), 0.0)


def bisect(fn, target: jax.Array, lo: jax.Array, hi: jax.Array, steps: int = 80):
    """Solve ``fn(theta) = target`` for increasing `fn` by bisection.

    Vectorized over `target` (and `lo`, `hi`, which broadcast with it).
    """
    lo, hi = jnp.broadcast_arrays(lo, hi)
    lo = jnp.broadcast_to(lo, target.shape)
    hi = jnp.broadcast_to(hi, target.shape)

    def body(_, bounds):
        a, b = bounds
        mid = 0.5 * (a + b)
        below = fn(mid) < target
        return jnp.where(below, mid, a), jnp.where(below, b, mid)

    a, b = lax.fori_loop(0, steps, body, (lo, hi))
    return 0.5 * (a + b)


def arc_length(theta: jax.Array, var: jax.Array) -> jax.Array:
    r"""Cumulative :math:`\int \sqrt{K''}\, d\theta` on a sorted grid (trapezoid)."""
    d = jnp.sqrt(jnp.maximum(var, 0.0))
    seg = 0.5 * (d[1:] + d[:-1]) * jnp.diff(theta)
    return jnp.concatenate([jnp.zeros((1,), theta.dtype), jnp.cumsum(seg)])


def place(theta: jax.Array, arc: jax.Array, count: int) -> jax.Array:
    """`count` tilts evenly spaced in arc length along the grid `theta`."""
    if count == 1:
        return theta[:1] * 0.5 + theta[-1:] * 0.5
    targets = jnp.linspace(0.0, 1.0, count, dtype=theta.dtype) * arc[-1]
    return jnp.interp(targets, arc, theta)


def count_tilts(
    total_arc: float, dtype, noise=None, minimum: int = 2, target=None
) -> int:
    """Return how many tilts keep neighbours `spacing(dtype, noise, target)` apart.

    Rounded up to one of a few sizes per octave (2, 3, 4, 5, 6, 7, 8, 10,
    12, 14, 16, 20, ...), so that distributions of similar spread share a
    compiled plan instead of each compiling its own.
    """
    if not math.isfinite(total_arc):
        total_arc = 0.0
    t = max(minimum, int(math.ceil(total_arc / spacing(dtype, noise, target))) + 1)
    if t <= 8:
        return t
    step = 1 << max(0, t.bit_length() - 3)
    return -(-t // step) * step


def best_of(log_value: jax.Array, log_abs_err: jax.Array, axis: int = 0):
    """Per point, the candidate with the smallest estimated relative error.

    Parameters are log-values and logs of absolute error estimates of the
    same shape; candidates lie along `axis`. Returns the chosen log-values
    and their log relative errors (``+inf`` where no candidate resolved the
    point: its value is then the largest candidate, and not to be trusted).
    """
    k, rel = best_index(log_value, log_abs_err, axis)
    return pick_at(log_value, k, axis), pick_at(rel, k, axis)


def best_index(log_value: jax.Array, log_abs_err: jax.Array, axis: int = 0):
    """`best_of`'s choice: the candidates' indices and all log relative errors."""
    rel = jnp.where(jnp.isfinite(log_value), log_abs_err - log_value, jnp.inf)
    rel = jnp.where(jnp.isnan(rel), jnp.inf, rel)
    k = jnp.argmin(rel, axis=axis)
    fallback = jnp.argmax(log_value, axis=axis)
    return jnp.where(jnp.all(jnp.isinf(rel), axis=axis), fallback, k), rel


def pick_at(a: jax.Array, k: jax.Array, axis: int = 0):
    """Entries of `a` at indices `k` along `axis` (`best_index`'s choice)."""
    at = jnp.take_along_axis(a, jnp.expand_dims(k, axis), axis=axis)
    return jnp.squeeze(at, axis)


# -- supports of sums: which points a sum of laws can reach ----------------


def sumset(a, b, length: int):
    """Return the indicator of ``{i + j : a_i = b_j = 1}`` on ``a``'s grid.

    A convolution of 0/1 rows by FFT (`b` None: ``a`` with itself): its
    entries are counts, at most the grid's length ``m``, and its round-off
    (some ``eps * m * log2(m)``) stays below the threshold 1/2, so the
    indicator is exact (in float32 for grids up to some 1e5 points).
    """
    n = a.shape[-1]
    fa = jnp.fft.rfft(a, length)
    fb = fa if b is None else jnp.fft.rfft(b, length)
    return (jnp.fft.irfft(fa * fb, length)[:n] > 0.5).astype(a.dtype)


def n_fold(a, n, length: int):
    """Return the indicator of the `n`-fold sumset of ``a`` (`n` traced).

    By doubling, over the bits of `n` (a loop of as many steps). On a grid
    of ``m`` points, `n` is capped at ``m``: a sumset of more summands
    holds no new point below ``m`` (a point is a sum of fewer than ``m``
    non-zero summands, and zero is in ``a`` or no such sum is below ``m``).
    """
    n = jnp.minimum(n, a.shape[-1]).astype(jnp.int32)
    one = jnp.zeros_like(a).at[0].set(1.0)

    def step(carry):
        i, acc, base = carry
        acc = jnp.where((n >> i) & 1, sumset(acc, base, length), acc)
        return i + 1, acc, sumset(base, None, length)

    return lax.while_loop(lambda c: (n >> c[0]) > 0, step, (0, one, a))[1]


def closure(b, length: int):
    """Return the indicator of every sum of elements of ``b`` (0 in ``b``).

    Squaring ``b`` until its sumset holds ``m`` summands (``m`` points):
    with zero in ``b``, the ``2^i``-fold sumsets grow to that set.
    """
    m = b.shape[-1]

    def body(_, c):
        return sumset(c, None, length)

    return lax.fori_loop(0, max(m - 1, 1).bit_length(), body, b)


def gapless(lx, first: int | None = None) -> bool:
    """Whether every row of `lx` is finite on one run ``lo..hi`` only.

    With `first`, also ``lo <= first``. Checked on the host where `lx` is
    known; False where it is traced (under `jax.jit`): the caller then
    computes the support by `sumset`s.
    """
    host = concrete(lax.stop_gradient(lx))
    if host is None:
        return False
    fin = np.isfinite(np.asarray(host)).reshape(-1, host.shape[-1])
    if not fin.any(-1).all():
        return False
    lo = np.argmax(fin, -1)
    hi = fin.shape[-1] - 1 - np.argmax(fin[:, ::-1], -1)
    ok = np.all(fin.sum(-1) == hi - lo + 1)
    return bool(ok and (first is None or np.all(lo <= first)))
