"""FFT convolution: a window of the full convolution by one transform pair."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from . import _pfa
from ._transforms import circular_size, fft_nd, ifft_nd, next_fast_len

# Transforms run as one batch when each padded input has at most this many
# elements: above it, the copy into the stacked buffer costs more than the
# second thread saves (2-core CPU, float64: -19 % at 2e5 points, -15 % at
# 1e6, +12 % at 2e6).
_STACK_MAX = 1_500_000
# A batch of more transform points than this goes a few rows at a time on a
# CPU (`by_rows`), in chunks of at most `_ROWS_CHUNK` points.
_ROWS_MIN = 1 << 19
_ROWS_CHUNK = 1 << 17


def pfa_convolve_window(x, v, start: int, length: int, factors, real: bool):
    """Return a window of a circular convolution by 2-D transforms.

    Entries ``start .. start+length`` of the circular convolution of period
    ``a * b`` along the last axes, by 2-D transforms of ``factors = (a, b)``.
    `a` and `b` must be coprime and ``a * b`` at least `circular_size` of the
    window (`pfa_factors` gives the fastest pair); leading axes broadcast.
    """
    a, b = factors
    # Each 2-D transform already runs on every core; stacking the two inputs
    # into one batch only adds a copy (1e4 to 1e6 points: 5-30 % slower).
    spec = fft_nd(_pfa.pfa_in(x, a, b), (a, b), (-2, -1), real)
    spec = spec * fft_nd(_pfa.pfa_in(v, a, b), (a, b), (-2, -1), real)
    return _pfa.pfa_out(ifft_nd(spec, (a, b), (-2, -1), real), a, b, start, length)


def convolve_window(a, v, start, length, stack: bool = True) -> jax.Array:
    """Entries ``start .. start+length`` of the full convolution, by one FFT.

    The convolved axes are last; leading axes broadcast. Real inputs use real
    transforms; the transform lengths are the shortest fast lengths that the
    requested window allows (a 'valid' convolution needs only ``n1``).
    Without `stack`, the two inputs are never transformed as one batch
    (`stacks`): the stack holds both padded inputs and both spectra at once.
    A long batch on a CPU goes a few rows at a time (`by_rows`).
    """
    k = len(start)
    rows = by_rows(a, v, k, lambda x, y: convolve_window(x, y, start, length, stack))
    if rows is not None:
        return rows
    axes = tuple(range(-k, 0))
    na, nv = a.shape[a.ndim - k :], v.shape[v.ndim - k :]
    real = not (jnp.iscomplexobj(a) or jnp.iscomplexobj(v))
    if k == 1:
        period = circular_size(na[0], nv[0], start[0], length[0])
        if _pfa.uses_pfa(period, jax.default_backend()):
            factors = _pfa.pfa_factors(period)
            return pfa_convolve_window(a, v, start[0], length[0], factors, real)
    shape = tuple(
        next_fast_len(circular_size(n1, n2, s, n), real)
        for n1, n2, s, n in zip(na, nv, start, length)
    )
    y = ifft_nd(_transform_product(a, v, shape, axes, real, stack), shape, axes, real)
    return _take_window(y, shape, start, length)


def by_rows(a, v, k: int, fn):
    """``fn(a, v)`` a few rows of the batch at a time, or None (static rule).

    On a CPU with one device, a batch of long transforms in one program
    spills out of the caches: 64 rows of 20,000 points convolved with 64
    others took 63 ms as one batch, 27 ms four rows at a time; 18 rows of
    10^5, 76 ms against 26 ms one at a time. So where the batch holds more
    than `_ROWS_MIN` transform points, the rows go by `jax.lax.map` in
    chunks of at most `_ROWS_CHUNK` points (one row at least). Not on other
    backends (their batched transforms are fast), nor with several devices
    (a loop over a batch split over devices would gather it). The last `k`
    axes are convolved; an input without batch axes is shared by the rows.
    """
    if jax.default_backend() != "cpu" or jax.device_count() != 1:
        return None
    ba, bv = a.shape[: a.ndim - k], v.shape[: v.ndim - k]
    batch = jnp.broadcast_shapes(ba, bv)
    rows = math.prod(batch)
    sizes = zip(a.shape[a.ndim - k :], v.shape[v.ndim - k :])
    points = math.prod(x + y for x, y in sizes)
    if rows < 2 or rows * points <= _ROWS_MIN:
        return None
    chunk = max(1, _ROWS_CHUNK // points)

    def flat(x, b):
        return jnp.broadcast_to(x, batch + x.shape[len(b) :]).reshape(
            (rows,) + x.shape[len(b) :]
        )

    if math.prod(bv) == 1:
        core = v.reshape(v.shape[v.ndim - k :])
        out = jax.lax.map(lambda x: fn(x, core), flat(a, ba), batch_size=chunk)
    elif math.prod(ba) == 1:
        core = a.reshape(a.shape[a.ndim - k :])
        out = jax.lax.map(lambda y: fn(core, y), flat(v, bv), batch_size=chunk)
    else:
        both = (flat(a, ba), flat(v, bv))
        out = jax.lax.map(lambda xy: fn(*xy), both, batch_size=chunk)
    return out.reshape(batch + out.shape[1:])


def stacks(batch1, batch2, shape) -> bool:
    """Whether `convolve_window` transforms both inputs as one batch."""
    return tuple(batch1) == tuple(batch2) and math.prod(batch1 + shape) <= _STACK_MAX


def _transform_product(a, v, shape, axes, real, stack=True):
    """Multiply the transforms of `a` and `v`, zero-padded to `shape`.

    When both have the same leading (batch) shape, the two forward transforms
    run as one batched transform: XLA spreads a batch over its threads, so
    on a 2-core CPU the pair costs about 1.2x one transform instead of 2x.
    """
    k = len(axes)
    if stack and stacks(a.shape[: a.ndim - k], v.shape[: v.ndim - k], shape):

        def padded(x):  # zero-padded or cut to `shape`, as rfftn(s=shape) does
            x = x[(...,) + tuple(slice(0, p) for p in shape)]
            pads = [(0, 0)] * (x.ndim - k) + [
                (0, p - n) for p, n in zip(shape, x.shape[x.ndim - k :])
            ]
            return jnp.pad(x, pads)

        both = fft_nd(jnp.stack([padded(a), padded(v)]), shape, axes, real)
        return both[0] * both[1]
    return fft_nd(a, shape, axes, real) * fft_nd(v, shape, axes, real)


def _take_window(y, shape, start, length):
    """Slice a window out of a circular result (indices taken mod P)."""
    k = len(start)
    for i, (p, s, n) in enumerate(zip(shape, start, length)):
        ax = y.ndim - k + i
        s = s % p
        if s + n <= p:
            y = jax.lax.slice_in_dim(y, s, s + n, axis=ax)
        else:
            idx = np.arange(s, s + n) % p
            y = jnp.take(y, idx, axis=ax)
    return y
