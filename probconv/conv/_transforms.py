"""The engine's transforms: fast lengths, and FFTs with their layout rules.

`fft_nd` and `ifft_nd` are the one entry to forward and inverse FFTs for the
engine and the layers; `next_fast_len`, `spectral_length` and
`circular_size` give their lengths. A layout-free pair (``ordered=False``)
of a long 1-D transform runs on a CPU as a 2-D transform through the
prime-factor mapping of `_pfa`.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import scipy.fft

from . import _pfa


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
    if _pfa.uses_pfa(n, jax.default_backend()):
        a, b = _pfa.pfa_factors(n)
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
    return (a, n // a) if _pfa.pfa_fits(a, n // a) else None


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
        spec = fft_nd(_pfa.pfa_in(x, a, b), (a, b), (-2, -1), real)
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
        return _pfa.pfa_out(y, a, b, 0, a * b)
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
