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
    """Return the forward transform of `x` zero-padded to `shape` along `axes`.

    The engine's one entry to forward FFTs, for the layers that work in the
    Fourier domain by nature (generating functions, GCC, free evolution).

    Parameters
    ----------
    x : jax.Array
        The input.
    shape : tuple of int
        Transform lengths along `axes` (pad with `next_fast_len`).
    axes : tuple of int
        The transformed axes.
    real : bool
        Use a real transform (`x` must be real): the last axis keeps
        ``shape[-1] // 2 + 1`` frequencies.

    Returns
    -------
    jax.Array
        The complex transform.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from probconv.conv import fft_nd, ifft_nd
    >>> X = fft_nd(jnp.array([1.0, 2.0, 3.0]), (4,), (0,), True)
    >>> ifft_nd(X, (4,), (0,), True).round(12).tolist()
    [1.0, 2.0, 3.0, 0.0]
    """
    if real:
        return jnp.fft.rfftn(x, s=shape, axes=axes)
    return jnp.fft.fftn(x, s=shape, axes=axes)


def ifft_nd(X, shape, axes, real: bool):
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

    Returns
    -------
    jax.Array
        The inverse transform, of lengths `shape` along `axes`.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from probconv.conv import fft_nd, ifft_nd
    >>> x = jnp.array([1.0, 0.0, 2.0, 5.0])
    >>> ifft_nd(fft_nd(x, (4,), (0,), False), (4,), (0,), False).real.tolist()
    [1.0, 0.0, 2.0, 5.0]
    """
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
    >>> from probconv.conv import circular_size
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
