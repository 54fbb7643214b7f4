"""savgol: the Savitzky-Golay filter of scipy.signal, in every edge mode."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import scipy.signal
from jax.typing import ArrayLike

from probconv.conv.internal import (
    BOUNDARY_MODES,
    bounded_jit,
    halo_map,
    split_axes,
    split_of,
)

from .._checks import check_choice, check_int, normalize_axes
from ._args import as_inexact, check_scale
from ._filter import smooth_axes

SAVGOL_MODES = ("interp", *BOUNDARY_MODES)


def _edge_matrices(window_length: int, polyorder: int, deriv: int):
    """Least-squares fit of the first/last window, evaluated at the edges.

    Returns ``(left, right)``, each ``(window_length // 2, window_length)``:
    ``left @ x[:w]`` is the `deriv`-th derivative (per unit sample) of the
    degree-`polyorder` least-squares polynomial through ``x[:w]``, at the
    first ``w // 2`` positions; ``right`` likewise at the last ones.
    """
    w, half = window_length, window_length // 2
    t = np.arange(w, dtype=float)
    vander = np.vander(t, polyorder + 1, increasing=True)
    fit = np.linalg.pinv(vander)  # (polyorder + 1, w): coefficients from data

    def at(pos):
        d = np.zeros((len(pos), polyorder + 1))
        for k in range(deriv, polyorder + 1):
            d[:, k] = math.perm(k, deriv) * pos ** (k - deriv)
        return d @ fit

    return at(t[:half]), at(t[w - half :])


def savgol(
    x: ArrayLike,
    window_length: int,
    polyorder: int,
    *,
    deriv: int = 0,
    delta: ArrayLike = 1.0,
    axis: int = -1,
    mode: str = "interp",
    cval: float = 0.0,
) -> jax.Array:
    r"""Savitzky-Golay filter: local least-squares polynomial smoothing.

    Like `scipy.signal.savgol_filter`, with the same coefficients and edge
    modes, but jit-compiled, batched over the other axes and differentiable
    in the data and in `delta`.

    Parameters
    ----------
    x : array_like
        The data, real or complex (as scipy); integers become floating, and
        float16 or bfloat16 are computed in float32 and returned in their
        own dtype.
    window_length : int
        The number of samples in each fit, at least ``polyorder + 1``
        (odd or even, as scipy).
    polyorder : int
        Degree of the fitted polynomial, ``0 <= polyorder < window_length``.
    deriv : int
        Order of the derivative returned (0: the smoothed values).
    delta : float
        The sample spacing, used for ``deriv > 0``.
    axis : int
        The axis filtered.
    mode : {'interp', 'mirror', 'constant', 'nearest', 'wrap', 'reflect'}
        ``'interp'`` (scipy's default) fits one polynomial to the first and
        to the last `window_length` samples and evaluates it at the edge
        samples, and needs ``window_length <= x.shape[axis]``. The others
        extend the data as scipy.ndimage does.
    cval : float
        The fill value for ``mode='constant'``.

    Returns
    -------
    jax.Array
        The filtered data, with the shape of `x` and its floating or complex
        dtype (the default float for integers).

    Raises
    ------
    ValueError
        For ``polyorder >= window_length``, a negative `deriv`, a bad
        `mode`, a non-positive `delta`, or ``mode='interp'`` with a window
        longer than the data, or, along an axis split over devices, with
        half a window or more per shard (``window_length // 2 >= n / p``).
    TypeError
        For non-integer lengths, orders or axis, or non-numeric `x`.

    See Also
    --------
    gaussian_smooth, moving_average, scipy.signal.savgol_filter,
    scipy.signal.savgol_coeffs

    Notes
    -----
    The coefficients :math:`c_j` are the row of :math:`(V^T V)^{-1} V^T`
    (with :math:`V_{jk} = j^k` over the window's offsets) that gives the
    `deriv`-th derivative at the window's centre, times
    :math:`m!/\delta^m` for ``deriv = m``:

    .. math:: y_i = \sum_{j} c_j \, x_{i + j},

    exact for polynomials of degree up to `polyorder`. The coefficients and
    the edge fits are computed once in float64 with NumPy, at trace time.

    Along an axis split over devices (a `jax.sharding.NamedSharding`) every
    mode keeps the output split like `x`: each shard receives the
    ``window_length - 1`` samples its windows read from its neighbours (the
    other smoothers' halo exchange) and, with ``'interp'``, the first shard
    evaluates the fit of the first window at its first ``window_length //
    2`` samples, the last shard that of the last window at its last ones
    (each window within the shard and its halo, so shards of more than
    half a window). Nothing else is exchanged and the result equals the
    unsplit one to rounding.

    Examples
    --------
    >>> import numpy as np
    >>> from probconv.smooth import savgol
    >>> x = np.array([2.0, 2.0, 5.0, 2.0, 1.0, 0.0, 1.0, 4.0, 9.0])
    >>> savgol(x, 5, 2).round(5).tolist()
    [1.65714, 3.17143, 3.54286, 2.85714, 0.65714, 0.17143, 1.0, 4.0, 9.0]
    >>> savgol(x, 5, 2, mode="nearest").round(5).tolist()
    [1.74286, 3.02857, 3.54286, 2.85714, 0.65714, 0.17143, 1.0, 4.6, 7.97143]
    """
    window_length = check_int("window_length", window_length, minimum=1)
    polyorder = check_int("polyorder", polyorder, minimum=0)
    deriv = check_int("deriv", deriv, minimum=0)
    check_choice("mode", mode, SAVGOL_MODES)
    if polyorder >= window_length:
        raise ValueError(
            f"`polyorder` must be less than `window_length`; got polyorder="
            f"{polyorder} and window_length={window_length}."
        )
    check_scale("delta", delta)
    x, result = as_inexact(x, "x")
    (ax,) = normalize_axes("axis", axis, x.ndim, sort=False, purpose="to smooth")
    n = x.shape[ax]
    split = mode == "interp" and window_length > 1 and ax in split_axes(x)
    if split and window_length // 2 >= n // split_axes(x)[ax]:
        raise ValueError(
            "mode='interp' along an axis split over devices fits the first "
            "and last windows on the first and last shards, which must hold "
            f"more than half a window; got window_length={window_length} and "
            f"shards of {n // split_axes(x)[ax]} samples along axis {ax}. Use "
            "fewer devices along it, another mode, or gather the axis first."
        )
    if mode == "interp" and window_length > n:
        raise ValueError(
            "mode='interp' needs `window_length` <= the length of the filtered "
            f"axis; got window_length={window_length} and length {n}. Use "
            "another mode for short data."
        )
    scale = jnp.asarray(delta, x.dtype) ** (-deriv) if deriv else 1.0
    coeffs = scipy.signal.savgol_coeffs(window_length, polyorder, deriv=deriv)
    # convolve1d(x, c) is a correlation with c reversed, its centre at
    # (w - 1) // 2; savgol_coeffs' default use='conv' is meant for that.
    kern = jnp.asarray(coeffs[::-1].copy(), x.dtype) * scale
    if split:
        left, right = _edge_matrices(window_length, polyorder, deriv)
        lm = jnp.asarray(left, x.dtype) * scale
        rm = jnp.asarray(right, x.dtype) * scale
        return _interp_split(x, kern, lm, rm, ax).astype(result)
    y = smooth_axes(
        x,
        [kern],
        (ax,),
        ((window_length - 1) // 2,),
        boundary="constant" if mode == "interp" else mode,
        cval=cval,
        mode="same",
        nan_policy="propagate",
        normalize=False,
    )
    if mode != "interp" or window_length < 2:
        return y.astype(result)
    left, right = _edge_matrices(window_length, polyorder, deriv)
    lm = jnp.asarray(left, x.dtype) * scale
    rm = jnp.asarray(right, x.dtype) * scale
    return _interp_edges(x, y, lm, rm, ax).astype(result)


@bounded_jit(static_argnums=4)
def _interp_edges(x, y, lm, rm, ax: int):
    """Overwrite the edges of `y` with the polynomial fits of `x`'s ends."""
    half, wl = lm.shape
    n = x.shape[ax]
    xm = jnp.moveaxis(x, ax, -1)
    ym = jnp.moveaxis(y, ax, -1)
    hi = jax.lax.Precision.HIGHEST
    ym = ym.at[..., :half].set(jnp.matmul(xm[..., :wl], lm.T, precision=hi))
    ym = ym.at[..., n - half :].set(jnp.matmul(xm[..., n - wl :], rm.T, precision=hi))
    return jnp.moveaxis(ym, -1, ax)


def _interp_split(x, kern, lm, rm, ax: int):
    """``mode='interp'`` along an axis of `x` split over devices.

    One halo exchange (`halo_map`, the ``window_length - 1`` samples that
    the windows of a shard read beyond it): each shard filters its block
    (the interior windows), and the first and last shards, whose extended
    blocks hold the first and last windows of the axis, put the edge fits
    in place of their first and last ``window_length // 2`` outputs.
    """
    half, wl = lm.shape
    split = split_of(x)
    names, shards = split.names(ax), split.counts[ax]
    size = x.shape[ax] // shards
    before = (wl - 1) // 2
    after = wl - 1 - before
    hi = jax.lax.Precision.HIGHEST

    def block(ext):
        y = smooth_axes(
            ext,
            [kern],
            (ax,),
            (before,),
            boundary="constant",
            cval=0.0,
            mode="same",
            nan_policy="propagate",
            normalize=False,
        )
        y = jax.lax.slice_in_dim(y, before, before + size, axis=ax)
        ym = jnp.moveaxis(y, ax, -1)
        em = jnp.moveaxis(ext, ax, -1)
        m = em.shape[-1]
        head = jnp.matmul(em[..., before : before + wl], lm.T, precision=hi)
        tail = jnp.matmul(em[..., m - after - wl : m - after], rm.T, precision=hi)
        p = jax.lax.axis_index(names)
        # In place: only the edges' outputs are chosen, not the whole block
        # (one after the other: on two shards of under a window they meet).
        head = jnp.where(p == 0, head, ym[..., :half])
        ym = jax.lax.dynamic_update_slice_in_dim(ym, head, 0, -1)
        tail = jnp.where(p == shards - 1, tail, ym[..., size - half :])
        ym = jax.lax.dynamic_update_slice_in_dim(ym, tail, size - half, -1)
        return jnp.moveaxis(ym, -1, ax)

    return halo_map(block, x, ax, before, after, boundary="constant")
