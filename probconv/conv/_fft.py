"""FFT convolution, and the FFT helpers that the layers above share."""

from __future__ import annotations

import functools
import math
import os

import jax
import jax.numpy as jnp
import numpy as np
import scipy.fft

# Transforms run as one batch when each padded input has at most this many
# elements: above it, the copy into the stacked buffer costs more than the
# second thread saves (2-core CPU, float64: -19 % at 2e5 points, -15 % at
# 1e6, +12 % at 2e6).
_STACK_MAX = 1_500_000

# Cost model of XLA's CPU FFT, relative to one transform of n log2 n. Measured
# with `python benchmarks/calibrate.py --fft` on the 2-core machine: a batch
# of transforms runs on all cores and amortizes the per-call setup (8
# transforms of 16384-131072 points cost 0.4x of 8 run alone); transforms
# beyond 2**18 points leave the cache and slow down per point.
_FFT_BATCH_GAIN = 0.5  # parallel speed-up per doubling of the batch ...
_FFT_BATCH_CAP = 1.2  # ... up to this many times the number of cores
_FFT_CACHE_POINTS = 1 << 18
_FFT_CACHE_SLOPE = 0.35  # extra cost per doubling beyond _FFT_CACHE_POINTS


# Long 1-D transforms on the CPU run as 2-D transforms of A x B points (the
# Good-Thomas prime-factor mapping, A a power of two, B odd): XLA's 2-D FFT
# works in the cache and on every core where its 1-D FFT of A*B points does
# neither. A circular convolution of period A*B is unchanged by the mapping
# j -> (j mod A, j mod B) (the Chinese remainder theorem), so the spectra need
# no twiddle factors and no reordering, only one gather in and one out.
# Measured on the 2-core machine, float64, N = K, against one transform of
# the plain fast length: 2e4 points 0.77x the time, 2e5 0.55x, 2e6 0.6x; at
# 1e4 points 1.15x, hence _PFA_MIN_POINTS.
_PFA_MIN_POINTS = 16384
_PFA_MIN_FACTORS = (16, 81)  # least A (power of two) and least B (odd)
_PFA_MAX_FACTOR = 46340  # A*A and B*B stay within int32 indices
# A gather, in work units per point of each transform, and its growth per
# doubling beyond _FFT_CACHE_POINTS: fitted (within 10 %) to the times of 11
# convolutions of 2e4 .. 4e6 points, float64 (`benchmarks/calibrate.py --pfa`).
_PFA_GATHER_WORK = 4.7
_PFA_GATHER_SLOPE = 0.74


@functools.lru_cache(maxsize=4096)
def pfa_factors(n: int) -> tuple[int, int] | None:
    """Coprime factors ``(A, B)`` of the shortest prime-factor period ``>= n``.

    `A` is a power of two and `B` odd and 5-smooth; the period ``A * B`` is a
    5-smooth number, like the lengths of `next_fast_len`. Returns None when
    `n` is too short for the mapping to pay.

    Examples
    --------
    >>> from probconv.conv._fft import pfa_factors
    >>> pfa_factors(1_999_999)
    (128, 15625)
    >>> pfa_factors(1000) is None
    True
    """
    if n < _PFA_MIN_POINTS:
        return None
    best = None
    three = 1
    while three <= 4 * n:
        b = three
        while b <= 4 * n:
            a = max(_PFA_MIN_FACTORS[0], 1 << max(0, math.ceil(math.log2(n / b))))
            while a * b < n:
                a *= 2
            if _pfa_fits(a, b) and (best is None or a * b < best[0] * best[1]):
                best = (a, b)
            b *= 5
        three *= 3
    return best


def _pfa_fits(a: int, b: int) -> bool:
    """Whether ``a x b`` (a power of two by an odd number) may run as 2-D."""
    amin, bmin = _PFA_MIN_FACTORS
    return (
        a * b >= _PFA_MIN_POINTS
        and amin <= a <= _PFA_MAX_FACTOR
        and bmin <= b <= _PFA_MAX_FACTOR
        and a * b < 2**30  # indices stay within int32 (see _pfa_in)
    )


def pfa_work(n: int, count: int = 1) -> float:
    """Relative time of the prime-factor form of `count` real transforms of >= `n`.

    In the units of `transform_work`: the 2-D transform's two passes (the
    second one complex) and the gather of the points.
    """
    a, b = pfa_factors(n)
    passes = transform_work(b, count * a) + 2 * transform_work(a, count * (b // 2 + 1))
    beyond = max(0.0, math.log2(a * b / _FFT_CACHE_POINTS))
    return (
        passes + _PFA_GATHER_WORK * (1.0 + _PFA_GATHER_SLOPE * beyond) * count * a * b
    )


def uses_pfa(n: int, backend: str) -> bool:
    """Whether a 1-D convolution of circular period >= n uses `pfa_factors`."""
    return backend == "cpu" and pfa_factors(n) is not None


def _pfa_in(x, a: int, b: int):
    """Map the last axis of `x` (length <= a*b, zero beyond) onto (a, b).

    Entry ``[j mod a, j mod b]`` of the result is ``x[j]``.
    """
    # j = (r * b * (b^-1 mod a) + s * a * (a^-1 mod b)) mod ab, reduced so
    # that every product stays below a*a or b*b.
    r = jax.lax.broadcasted_iota(jnp.int32, (a, b), 0)
    s = jax.lax.broadcasted_iota(jnp.int32, (a, b), 1)
    j = b * (r * pow(b, -1, a) % a) + a * (s * pow(a, -1, b) % b)
    j = jnp.where(j >= a * b, j - a * b, j)
    y = jnp.take(x, j.reshape(-1), axis=-1, mode="fill", fill_value=0)
    return y.reshape(x.shape[:-1] + (a, b))


def _pfa_out(y, a: int, b: int, start: int, length: int):
    """Entries ``start .. start+length`` (mod a*b) of the 1-D sequence of `y`."""
    k = (start % (a * b)) + jax.lax.iota(jnp.int32, length)
    k = jnp.where(k >= a * b, k - a * b, k)
    flat = y.reshape(y.shape[:-2] + (a * b,))
    return jnp.take(flat, (k % a) * b + k % b, axis=-1, mode="clip")


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
    spec = fft_nd(_pfa_in(x, a, b), (a, b), (-2, -1), real)
    spec = spec * fft_nd(_pfa_in(v, a, b), (a, b), (-2, -1), real)
    return _pfa_out(ifft_nd(spec, (a, b), (-2, -1), real), a, b, start, length)


@functools.lru_cache(maxsize=4096)
def next_fast_len(n: int, real: bool = True) -> int:
    """Return the smallest length ``>= n`` that the FFT handles quickly.

    Parameters
    ----------
    n : int
        The minimal length.
    real : bool
        Whether the transform is real (5-smooth lengths) or complex
        (11-smooth lengths).

    Returns
    -------
    int
        A length whose prime factors are small.

    Examples
    --------
    >>> from probconv.conv.internal import next_fast_len
    >>> next_fast_len(1000), next_fast_len(1025), next_fast_len(1)
    (1000, 1080, 1)
    """
    if n < 1:
        raise ValueError(f"`n` must be a positive integer; got {n!r}.")
    # scipy's table of 5-smooth (real) / 11-smooth (complex) numbers.
    return int(scipy.fft.next_fast_len(int(n), real=real))


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@functools.lru_cache(maxsize=4096)
def transform_work(n: int, count: int = 1) -> float:
    """Relative time of `count` real transforms of `n` points run as one batch.

    The unit of the cost model in `method="auto"`: ``n log2 n`` per
    transform, less the speed-up of a batch spread over the cores, more for
    transforms too long for the cache.

    Examples
    --------
    >>> from probconv.conv._fft import transform_work
    >>> transform_work(4096, 8) < 8 * transform_work(4096, 1)
    True
    """
    nlogn = n * math.log2(max(n, 2))
    cache = 1.0 + _FFT_CACHE_SLOPE * max(0.0, math.log2(n / _FFT_CACHE_POINTS))
    speedup = min(1.0 + _FFT_BATCH_GAIN * math.log2(count), _FFT_BATCH_CAP * _cores())
    return count * nlogn * cache / max(speedup, 1.0)


def shape_work(shape, count: int = 1) -> float:
    """`transform_work` of `count` real transforms of `shape`, axis by axis.

    A transform of several axes is a batch of 1-D transforms along each
    (the last axis real, the others complex on half of it), so each pass is
    priced as a batch that fits the cache, not as one transform of
    ``prod(shape)`` points.

    Examples
    --------
    >>> from probconv.conv._fft import shape_work, transform_work
    >>> shape_work((4096,)) == transform_work(4096)
    True
    >>> shape_work((512, 512)) < transform_work(512 * 512)
    True
    """
    shape = tuple(int(n) for n in shape)
    *lead, last = shape
    work = transform_work(last, count * math.prod(lead))
    half = last // 2 + 1
    for i, n in enumerate(lead):
        others = math.prod(lead[:i] + lead[i + 1 :]) * half
        work += 2 * transform_work(n, count * others)
    return work


def spectral_length(n: int, real: bool = True) -> int:
    """Return the fastest period ``>= n`` for a layout-free transform pair.

    For computations that only multiply or map spectra entry by entry (powers,
    generating functions, products), made with ``fft_nd(..., ordered=False)``
    and undone by ``ifft_nd(..., ordered=False)``. On a CPU, long periods
    split into two coprime factors and run as 2-D transforms (see the engine
    guide); elsewhere this is `next_fast_len`.

    Parameters
    ----------
    n : int
        The minimal period.
    real : bool
        Whether the transforms are real.

    Returns
    -------
    int
        A period at least `n`.

    Examples
    --------
    >>> from probconv.conv.internal import spectral_length
    >>> spectral_length(1000)
    1000
    """
    n = int(n)
    if uses_pfa(n, jax.default_backend()):
        a, b = pfa_factors(n)
        return a * b
    return next_fast_len(n, real)


def _layout_split(x_ndim: int, shape, axes, ordered: bool):
    """Return the 2-D split of a layout-free 1-D transform, or None."""
    if ordered or len(shape) != 1 or len(axes) != 1:
        return None
    if axes[0] not in (-1, x_ndim - 1) or jax.default_backend() != "cpu":
        return None
    n = int(shape[0])
    a = n & -n
    return (a, n // a) if _pfa_fits(a, n // a) else None


def fft_nd(x, shape, axes, real: bool, *, ordered: bool = True):
    """Return the forward transform of `x` zero-padded to `shape` along `axes`.

    The engine's one entry to forward FFTs, for the layers that work in the
    Fourier domain by nature (generating functions, GCC, free evolution).

    Parameters
    ----------
    x : jax.Array
        The input.
    shape : tuple of int
        Transform lengths along `axes` (pad with `next_fast_len`, or with
        `spectral_length` when `ordered` is False).
    axes : tuple of int
        The transformed axes.
    real : bool
        Use a real transform (`x` must be real): the last axis keeps
        ``shape[-1] // 2 + 1`` frequencies.
    ordered : bool
        False allows the frequencies of a 1-D transform along the last axis
        in another order, and in another number for a real transform (each
        frequency or its conjugate's twin once, so that entrywise maps of
        real-coefficient functions commute with `ifft_nd`). Only for
        computations that treat the spectrum entry by entry; `ifft_nd` with
        ``ordered=False`` undoes it. On a CPU, long periods then run as 2-D
        transforms (see `spectral_length`).

    Returns
    -------
    jax.Array
        The complex transform.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from probconv.conv.internal import fft_nd, ifft_nd
    >>> X = fft_nd(jnp.array([1.0, 2.0, 3.0]), (4,), (0,), True)
    >>> ifft_nd(X, (4,), (0,), True).round(12).tolist()
    [1.0, 2.0, 3.0, 0.0]

    A power of a spectrum in any order: three dice (faces 1..6 at indices
    0..5) total 10 pips with probability 27/216:

    >>> die = jnp.ones(6) / 6
    >>> P = fft_nd(die, (16,), (-1,), True, ordered=False) ** 3
    >>> float(ifft_nd(P, (16,), (-1,), True, ordered=False)[7].round(6))
    0.125
    """
    split = _layout_split(x.ndim, shape, axes, ordered)
    if split is not None:
        a, b = split
        spec = fft_nd(_pfa_in(x, a, b), (a, b), (-2, -1), real)
        return spec.reshape(spec.shape[:-2] + (-1,))
    if real:
        return jnp.fft.rfftn(x, s=shape, axes=axes)
    return jnp.fft.fftn(x, s=shape, axes=axes)


def ifft_nd(X, shape, axes, real: bool, *, ordered: bool = True):
    """Return the inverse of `fft_nd` (the real inverse needs the full `shape`).

    Parameters
    ----------
    X : jax.Array
        A transform made by `fft_nd`.
    shape : tuple of int
        The transform lengths along `axes` given to `fft_nd`.
    axes : tuple of int
        The transformed axes.
    real : bool
        Whether `X` is a real transform (the result is then real).
    ordered : bool
        As given to `fft_nd`.

    Returns
    -------
    jax.Array
        The inverse transform, of lengths `shape` along `axes`.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from probconv.conv.internal import fft_nd, ifft_nd
    >>> x = jnp.array([1.0, 0.0, 2.0, 5.0])
    >>> ifft_nd(fft_nd(x, (4,), (0,), False), (4,), (0,), False).real.tolist()
    [1.0, 0.0, 2.0, 5.0]
    """
    split = _layout_split(X.ndim, shape, axes, ordered)
    if split is not None:
        a, b = split
        X = X.reshape(X.shape[:-1] + (a, -1))
        y = ifft_nd(X, (a, b), (-2, -1), real)
        return _pfa_out(y, a, b, 0, a * b)
    if real:
        return jnp.fft.irfftn(X, s=shape, axes=axes)
    return jnp.fft.ifftn(X, s=shape, axes=axes)


def circular_size(n1: int, n2: int, start: int, length: int) -> int:
    """Return the shortest circular length that keeps a window of a convolution.

    A circular convolution of length P folds full index j onto j mod P. The
    full convolution is supported on ``0 .. n1 + n2 - 2``; the window
    ``start .. start + length - 1`` is free of wrap-around once no other
    supported index aliases onto it, i.e. when
    ``P >= max(start + length, n1 + n2 - 1 - start)``.

    Parameters
    ----------
    n1, n2 : int
        Lengths of the two inputs.
    start, length : int
        The window of the full convolution (indices ``0 .. n1 + n2 - 2``)
        that must come out free of wrap-around.

    Returns
    -------
    int
        The minimal period (round it up with `next_fast_len`).

    Examples
    --------
    >>> from probconv.conv.internal import circular_size
    >>> circular_size(1000, 10, 0, 1009)  # 'full'
    1009
    >>> circular_size(1000, 10, 9, 991)  # 'valid' needs only the longer input
    1000
    """
    return max(start + length, n1 + n2 - 1 - start)


def convolve_window(a, v, start, length) -> jax.Array:
    """Entries ``start .. start+length`` of the full convolution, by one FFT.

    The convolved axes are last; leading axes broadcast. Real inputs use real
    transforms; the transform lengths are the shortest fast lengths that the
    requested window allows (a 'valid' convolution needs only ``n1``).
    """
    k = len(start)
    axes = tuple(range(-k, 0))
    na, nv = a.shape[a.ndim - k :], v.shape[v.ndim - k :]
    real = not (jnp.iscomplexobj(a) or jnp.iscomplexobj(v))
    if k == 1:
        period = circular_size(na[0], nv[0], start[0], length[0])
        if uses_pfa(period, jax.default_backend()):
            factors = pfa_factors(period)
            return pfa_convolve_window(a, v, start[0], length[0], factors, real)
    shape = tuple(
        next_fast_len(circular_size(n1, n2, s, n), real)
        for n1, n2, s, n in zip(na, nv, start, length)
    )
    y = ifft_nd(_transform_product(a, v, shape, axes, real), shape, axes, real)
    return _take_window(y, shape, start, length)


def stacks(batch1, batch2, shape) -> bool:
    """Whether `convolve_window` transforms both inputs as one batch."""
    return tuple(batch1) == tuple(batch2) and math.prod(batch1 + shape) <= _STACK_MAX


def _transform_product(a, v, shape, axes, real):
    """Multiply the transforms of `a` and `v`, zero-padded to `shape`.

    When both have the same leading (batch) shape, the two forward transforms
    run as one batched transform: XLA spreads a batch over its threads, so
    on a 2-core CPU the pair costs about 1.2x one transform instead of 2x.
    """
    k = len(axes)
    if stacks(a.shape[: a.ndim - k], v.shape[: v.ndim - k], shape):

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
