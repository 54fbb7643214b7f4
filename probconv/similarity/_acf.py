"""Autocorrelation and cross-correlation functions, as in statsmodels."""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import scipy.special
from jax.typing import ArrayLike

from ..conv import correlate
from ._checks import (
    as_array,
    check_axis,
    check_int,
    check_method,
    last_axis_pair,
    to_float,
)


def _check_alpha(alpha) -> float | None:
    if alpha is None:
        return None
    try:
        out = float(alpha)
    except (TypeError, ValueError) as err:
        raise TypeError(f"`alpha` must be a number in (0, 1); got {alpha!r}.") from err
    if not 0 < out < 1:
        raise ValueError(f"`alpha` must lie strictly between 0 and 1; got {alpha!r}.")
    return out


def _z(alpha: float) -> float:
    """Return the standard normal quantile ``1 - alpha / 2``."""
    return float(scipy.special.ndtri(1 - alpha / 2))


def _demeaned(x) -> jax.Array:
    """``x`` minus its mean along the last axis (two passes, see mean_shift)."""
    m = jnp.mean(x, axis=-1, keepdims=True)
    xc = x - m
    return xc - jnp.mean(xc, axis=-1, keepdims=True)


def acf(
    x: ArrayLike,
    nlags: int | None = None,
    *,
    adjusted: bool = False,
    demean: bool = True,
    alpha: float | None = None,
    bartlett_confint: bool = True,
    axis: int = -1,
    method: str = "auto",
):
    r"""Autocorrelation function of a series.

    Like `statsmodels.tsa.stattools.acf` (same defaults, same values with
    ``fft`` on or off), but batched along the other axes, differentiable, and
    computing only the lags asked for (one engine correlation with
    ``maxlag=nlags``).

    Parameters
    ----------
    x : array_like
        The series, along `axis`; other axes are batch axes.
    nlags : int, optional
        The largest lag, at most ``n - 1``; default
        ``min(int(10 * log10(n)), n - 1)`` (statsmodels' default).
    adjusted : bool
        Divide the lag-:math:`k` autocovariance by :math:`n - k` instead of
        :math:`n`.
    demean : bool
        Subtract the mean first (statsmodels' ``acovf(demean=...)``; its
        ``acf`` always demeans).
    alpha : float, optional
        If given, also return ``1 - alpha`` confidence intervals (Bartlett's
        formula, or :math:`1/\sqrt{n}` with ``bartlett_confint=False``).
    bartlett_confint : bool
        Use Bartlett's formula for the intervals' standard errors.
    axis : int
        The axis of the series (default: the last).
    method : {'auto', 'direct', 'fft', 'overlap_add'}
        How the engine computes the lag products (see `probconv.correlate`).

    Returns
    -------
    acf : jax.Array
        The autocorrelations at lags ``0 .. nlags`` (``nlags + 1`` entries
        along `axis`).
    confint : jax.Array
        Only with `alpha`: the intervals, shaped like `acf` with a last axis
        of 2 (lower, upper), centred on `acf` as in statsmodels.

    Raises
    ------
    ValueError
        If `nlags` is negative or at least ``n``, `alpha` is not in (0, 1),
        `axis` is out of range or `x` is empty.
    TypeError
        If `x` is not real and numeric, or `nlags` or `axis` is not an
        integer.

    See Also
    --------
    ccf, xcorr, statsmodels.tsa.stattools.acf

    Notes
    -----
    With :math:`y = x - \bar x` (or :math:`x` when ``demean=False``),

    .. math::

        \hat\gamma_k = \frac{1}{d_k} \sum_{t=0}^{n-1-k} y_{t+k} y_t, \qquad
        \hat\rho_k = \hat\gamma_k / \hat\gamma_0,

    with :math:`d_k = n` (or :math:`n - k` when adjusted). Bartlett's standard
    error at lag :math:`k \ge 1` is
    :math:`\sqrt{(1 + 2 \sum_{j=1}^{k-1} \hat\rho_j^2) / n}` (0 at lag 0),
    and the interval is :math:`\hat\rho_k \pm z_{1-\alpha/2}` times it. The
    mean is subtracted in two passes, so an offset such as ``1e8`` costs no
    accuracy. A constant series has :math:`\hat\gamma_0 = 0` and gives NaN,
    as in statsmodels. The FFT path's error is about
    :math:`\epsilon \sum_t y_t^2` on every lag, i.e. about
    :math:`\epsilon` on every :math:`\hat\rho_k`.

    Examples
    --------
    >>> from probconv.similarity import acf
    >>> acf([1.0, 3.0, 2.0, 5.0, 4.0], nlags=2).round(4).tolist()
    [1.0, 0.0, 0.1]
    >>> rho, ci = acf([1.0, 3.0, 2.0, 5.0, 4.0], nlags=2, alpha=0.05)
    >>> ci.round(4).tolist()
    [[1.0, 1.0], [-0.8765, 0.8765], [-0.7765, 0.9765]]
    """
    x = as_array(x, "x", allow_complex=False)
    method = check_method(method)
    ax = check_axis(axis, x.ndim)
    n = x.shape[ax]
    if nlags is None:
        nlags = min(int(10 * np.log10(n)), n - 1)
    nlags = check_int(nlags, "nlags", low=0, high=n - 1)
    alpha = _check_alpha(alpha)
    return _acf(
        x,
        nlags,
        bool(adjusted),
        bool(demean),
        alpha,
        bool(bartlett_confint),
        ax,
        method,
    )


@functools.partial(jax.jit, static_argnums=(1, 2, 3, 4, 5, 6, 7))
def _acf(x, nlags, adjusted, demean, alpha, bartlett_confint, ax, method):
    n = x.shape[ax]
    y = jnp.moveaxis(to_float(x), ax, -1)
    if demean:
        y = _demeaned(y)
    c = correlate(y, y, "full", axes=-1, maxlag=nlags, method=method)[..., nlags:]
    if adjusted:
        c = c / jnp.asarray(n - np.arange(nlags + 1), c.dtype)
    rho = c / c[..., :1]
    if alpha is None:
        return jnp.moveaxis(rho, -1, ax)
    if bartlett_confint:
        cum = jnp.cumsum(rho[..., 1:-1] ** 2, axis=-1)
        var = (
            jnp.concatenate(
                [
                    jnp.zeros_like(rho[..., :1]),
                    jnp.ones_like(rho[..., :1]),
                    1 + 2 * cum,
                ],
                axis=-1,
            )[..., : nlags + 1]
            / n
        )
    else:
        var = jnp.full_like(rho, 1.0 / n)
    # sqrt is not differentiable at lag 0's zero variance: keep it out.
    pos = var > 0
    half = _z(alpha) * jnp.where(pos, jnp.sqrt(jnp.where(pos, var, 1)), 0)
    ci = jnp.stack([rho - half, rho + half], axis=-1)
    return jnp.moveaxis(rho, -1, ax), jnp.moveaxis(ci, -2, ax)


def ccf(
    x: ArrayLike,
    y: ArrayLike,
    nlags: int | None = None,
    *,
    adjusted: bool = True,
    alpha: float | None = None,
    axis: int = -1,
    method: str = "auto",
):
    r"""Cross-correlation function of two series.

    Like `statsmodels.tsa.stattools.ccf` (same values with ``fft`` on or
    off), but batched along the other axes, differentiable, and computing
    only the lags asked for.

    Parameters
    ----------
    x, y : array_like
        The series, along `axis`; they may differ in length. Other axes
        broadcast (batch axes).
    nlags : int, optional
        The *number* of lags returned, lags ``0 .. nlags - 1`` (statsmodels'
        convention for `ccf`; `acf` returns ``nlags + 1``). Default: ``n``,
        the length of `x`; at most ``n``.
    adjusted : bool
        Divide the lag-:math:`k` cross-covariance by the number of
        overlapping pairs :math:`\min(n - k, n_y)` instead of :math:`n`.
    alpha : float, optional
        If given, also return ``1 - alpha`` confidence intervals
        :math:`\hat\rho_k \pm z_{1-\alpha/2} / \sqrt{n}`.
    axis : int
        The axis of the series (default: the last).
    method : {'auto', 'direct', 'fft', 'overlap_add'}
        How the engine computes the lag products (see `probconv.correlate`).

    Returns
    -------
    ccf : jax.Array
        The cross-correlations at lags ``0 .. nlags - 1``, along `axis`.
    confint : jax.Array
        Only with `alpha`: the intervals, with a last axis of 2.

    Raises
    ------
    ValueError
        If `nlags` is not between 1 and ``n``, `alpha` is not in (0, 1),
        `axis` is out of range, batch axes do not broadcast, or an input is
        empty.
    TypeError
        If an input is not real and numeric, or `nlags` or `axis` is not an
        integer.

    See Also
    --------
    acf, xcorr, statsmodels.tsa.stattools.ccf

    Notes
    -----
    With :math:`u = x - \bar x`, :math:`v = y - \bar y` and population
    standard deviations :math:`s_x, s_y`,

    .. math::

        \hat\rho_k = \frac{1}{d_k \, s_x s_y}
                     \sum_{t} u_{t+k} \, v_t, \qquad k = 0, 1, \dots,

    the correlation of :math:`x_{t+k}` with :math:`y_t` (so a peak at
    :math:`k > 0` means `x` lags `y`). The means are subtracted in two
    passes; a constant series gives NaN, as in statsmodels.

    Examples
    --------
    >>> from probconv.similarity import ccf
    >>> x = [1.0, 3.0, 2.0, 5.0, 4.0]
    >>> y = [2.0, 1.0, 4.0, 3.0, 6.0]
    >>> ccf(x, y, nlags=3).round(4).tolist()
    [0.3288, 0.3699, -0.3288]
    """
    x = as_array(x, "x", allow_complex=False)
    y = as_array(y, "y", allow_complex=False)
    method = check_method(method)
    n = x.shape[check_axis(axis, x.ndim)]
    check_axis(axis, y.ndim)
    if nlags is None:
        nlags = n
    nlags = check_int(nlags, "nlags", low=1, high=n)
    alpha = _check_alpha(alpha)
    return _ccf(x, y, nlags, bool(adjusted), alpha, int(axis), method)


@functools.partial(jax.jit, static_argnums=(2, 3, 4, 5, 6))
def _ccf(x, y, nlags, adjusted, alpha, axis, method):
    xx, yy, _ = last_axis_pair(to_float(x), to_float(y), axis)
    n, ny = xx.shape[-1], yy.shape[-1]
    u, v = _demeaned(xx), _demeaned(yy)
    c = correlate(u, v, "full", axes=-1, maxlag=nlags - 1, method=method)
    c = c[..., nlags - 1 :]
    k = np.arange(nlags)
    d = np.minimum(n - k, ny) if adjusted else np.full(nlags, n)
    sx = jnp.sqrt(jnp.mean(u**2, axis=-1, keepdims=True))
    sy = jnp.sqrt(jnp.mean(v**2, axis=-1, keepdims=True))
    rho = c / jnp.asarray(d, c.dtype) / (sx * sy)
    if alpha is None:
        return jnp.moveaxis(rho, -1, axis)
    half = _z(alpha) / math.sqrt(n)
    ci = jnp.stack([rho - half, rho + half], axis=-1)
    pos = axis % rho.ndim
    return jnp.moveaxis(rho, -1, pos), jnp.moveaxis(ci, -2, pos)
