"""FFT convolution, and the FFT helpers that the layers above share."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import scipy.fft


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
    >>> from probconv.conv import next_fast_len
    >>> next_fast_len(1000), next_fast_len(1025), next_fast_len(1)
    (1000, 1080, 1)
    """
    if n < 1:
        raise ValueError(f"`n` must be a positive integer; got {n!r}.")
    # scipy's table of 5-smooth (real) / 11-smooth (complex) numbers.
    return int(scipy.fft.next_fast_len(int(n), real=real))


def fft_nd(x, shape, axes, real: bool):
    """Forward transform of `x` zero-padded to `shape` along `axes`."""
    if real:
        return jnp.fft.rfftn(x, s=shape, axes=axes)
    return jnp.fft.fftn(x, s=shape, axes=axes)


def ifft_nd(X, shape, axes, real: bool):
    """Inverse of `fft_nd` (the real inverse needs the full `shape`)."""
    if real:
        return jnp.fft.irfftn(X, s=shape, axes=axes)
    return jnp.fft.ifftn(X, s=shape, axes=axes)


def circular_size(n1: int, n2: int, start: int, length: int) -> int:
    """Smallest circular length that keeps a window of a linear convolution.

    A circular convolution of length P folds full index j onto j mod P. The
    full convolution is supported on ``0 .. n1 + n2 - 2``; the window
    ``start .. start + length - 1`` is free of wrap-around once no other
    supported index aliases onto it, i.e. when
    ``P >= max(start + length, n1 + n2 - 1 - start)``.
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
    shape = tuple(
        next_fast_len(circular_size(n1, n2, s, n), real)
        for n1, n2, s, n in zip(na, nv, start, length)
    )
    y = ifft_nd(
        fft_nd(a, shape, axes, real) * fft_nd(v, shape, axes, real), shape, axes, real
    )
    return _take_window(y, shape, start, length)


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
