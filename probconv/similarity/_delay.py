"""Time-delay estimation from the peak of a (generalized) cross-correlation."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from .._checks import (
    check_axis,
    check_choice,
    check_int,
    check_nan_policy,
    check_number,
)
from ..conv import correlate, correlation_lags
from ..conv.internal import bounded_jit
from ._args import as_array, last_axis_pair, to_float
from ._detrend import check_detrend, check_window, detrended, tapered
from ._gcc import WEIGHTINGS, gcc_values
from ._missing import any_nan, pair_counts
from ._peak import SUBSAMPLE, peak_offset
from ._xcorr import overlap_windows

METHODS = ("xcorr", "gcc")


def estimate_delay(
    a: ArrayLike,
    b: ArrayLike,
    *,
    method: str = "xcorr",
    weighting: str = "phat",
    fs: float = 1.0,
    subsample: bool | str = True,
    max_delay: float | None = None,
    smooth: int = 1,
    detrend: str = "none",
    window=None,
    nan_policy: str = "propagate",
    axis: int = -1,
) -> jax.Array:
    r"""Estimate the delay of `b` relative to `a` from a correlation peak.

    Returns :math:`d` such that :math:`b(t) \approx a(t - d)`: positive when
    `b` lags `a`. Many pairs are estimated in one call: the axes other than
    `axis` broadcast (batch axes), and the result has their shape.

    Parameters
    ----------
    a, b : array_like
        The reference signal and the delayed one, along `axis`; they may
        differ in length.
    method : {'xcorr', 'gcc'}
        ``'xcorr'``: the peak of the plain cross-correlation (the engine's
        `correlate`, computing only the lags within `max_delay`). ``'gcc'``:
        the peak of the generalized cross-correlation with `weighting`
        (see `gcc`), which resists echoes and coloured noise.
    weighting : {'phat', 'scot', 'roth', 'none'}
        The GCC weighting (used with ``method='gcc'`` only).
    fs : float
        The sampling rate; the delay is returned in samples divided by `fs`
        (default 1: in samples).
    subsample : {True, False, 'sinc', 'parabolic'}
        Refine the integer peak: ``'sinc'`` (and ``True``) finds the maximum
        of the band-limited (sinc) interpolant of the correlation by Newton's
        method; ``'parabolic'`` fits a parabola through the peak and its two
        neighbours (cheaper, biased towards the nearest integer by up to a
        tenth of a sample for broadband signals); ``False`` returns the
        integer lag.
    max_delay : float, optional
        Search only delays with :math:`|d| \le` `max_delay` (in the units of
        ``1 / fs``).
    smooth : int
        Spectral smoothing for ``'scot'`` and ``'roth'`` (see `gcc`).
    detrend : {'none', 'constant', 'linear', 'difference'}
        Remove a trend from each signal first (scipy.signal.detrend's names,
        and differencing). Needed when the signals are not stationary: the
        correlation of a mean, a trend or a random walk is a broad hump over
        the overlap, peaking near lag 0 whatever the delay. ``'constant'``
        subtracts the mean, ``'linear'`` the least-squares line,
        ``'difference'`` correlates :math:`x_{t+1} - x_t` (right for random
        walks and other integrated series; it does not change the delay).
        Default ``'none'``, as before this option existed.
    window : str or tuple, optional
        A taper applied to each signal after detrending, as
        ``scipy.signal.get_window(window, n, fftbins=False)`` (e.g.
        ``'hann'``, ``('tukey', 0.25)``); it softens the jumps at the ends,
        which otherwise leak into every lag (above all with GCC-PHAT, which
        whitens them). Default None: no taper.
    nan_policy : {'propagate', 'omit', 'raise'}
        Missing values (NaN). ``'propagate'`` (default): NaN for a pair of
        signals that holds a NaN (it would enter the correlation at almost
        every lag). ``'omit'``: the trend is fitted to the values present,
        missing values then count as 0, and the correlation at lag
        :math:`k` is scaled by :math:`m_k / p_k` (:math:`p_k` of the
        :math:`m_k` overlapping pairs present; as `xcorr`), so that gaps do
        not pull the peak. ``'raise'``: a ValueError naming the input
        (where values are concrete; under `jax.jit`, as ``'propagate'``).
    axis : int
        The axis of the signals (default: the last).

    Returns
    -------
    jax.Array
        The delays, with the broadcast batch shape of the inputs, in their
        real floating dtype (float32 for half-precision inputs).

    Raises
    ------
    ValueError
        For an unknown `method`, `weighting`, `subsample`, `detrend`,
        `window` or `nan_policy`, a NaN with ``nan_policy='raise'``, a
        signal of one sample with ``detrend='difference'``, a non-positive
        `fs` or negative `max_delay`, `axis` out of range, batch axes that do
        not broadcast, or an empty input.
    TypeError
        For non-numeric inputs.

    See Also
    --------
    gcc, xcorr, probconv.correlate

    Notes
    -----
    The integer delay is the lag of the largest value of
    :math:`c_k = \sum_n b_{n+k} \overline{a_n}` (its magnitude for complex
    signals), which peaks at :math:`k = d` when :math:`b_n = a_{n-d}`. With
    ``'sinc'`` the correlation is interpolated as
    :math:`c(\tau) = \sum_{|j| \le 16} c_{k+j} \operatorname{sinc}(\tau - j)`
    around the peak :math:`k`, and six Newton steps on :math:`c'(\tau) = 0`
    start from the parabolic vertex
    :math:`\delta = \frac{c_{k-1} - c_{k+1}}{2(c_{k-1} - 2c_k + c_{k+1})}`;
    the refinement stays within one sample of the integer peak. The integer
    peak is not differentiable; the refinement is, so gradients flow through
    the correlation values around the peak. Half-precision signals are
    computed in float32, and the delay returned in float32 (a delay of
    thousands of samples needs more than float16's 11 bits).

    A random walk :math:`x` (``np.cumsum`` of noise) seen twice, five
    samples apart, is the case for `detrend`: its plain correlation peaks
    near lag 0 (the hump of the overlap); differencing turns it into white
    noise, whose correlation peaks at the delay.

    Examples
    --------
    >>> import numpy as np
    >>> from probconv.similarity import estimate_delay
    >>> rng = np.random.default_rng(0)
    >>> a = rng.standard_normal(256)
    >>> b = np.roll(a, 7)  # b(t) = a(t - 7)
    >>> round(float(estimate_delay(a, b)), 2)
    7.0
    >>> round(float(estimate_delay(a, b, subsample=False)), 2)
    7.0
    >>> round(float(estimate_delay(a, b, method="gcc", fs=1000.0)) * 1000, 2)
    7.0
    >>> x = np.cumsum(rng.standard_normal(5000))  # a random walk
    >>> x[::97] = np.nan
    >>> d = estimate_delay(x[:-5], x[5:], detrend="difference", nan_policy="omit")
    >>> round(float(d), 1)  # b(t) = x(t + 5) = a(t + 5): d = -5
    -5.0
    """
    method = check_choice("method", method, METHODS)
    weighting = check_choice("weighting", weighting, WEIGHTINGS)
    if subsample is True:
        subsample = "sinc"
    elif subsample is False or subsample is None:
        subsample = None
    elif not (isinstance(subsample, str) and subsample in SUBSAMPLE):
        raise ValueError(
            "`subsample` must be True, False, 'sinc' or 'parabolic'; "
            f"got {subsample!r}."
        )
    fs = check_number("fs", fs, low=0, low_open=True)
    smooth = check_int("smooth", smooth, minimum=1)
    if smooth % 2 == 0:
        raise ValueError(f"`smooth` must be an odd positive integer; got {smooth!r}.")
    maxlag = None
    if max_delay is not None:
        try:
            md = float(max_delay)
        except (TypeError, ValueError) as err:
            raise TypeError(
                f"`max_delay` must be a non-negative number; got {max_delay!r}."
            ) from err
        if not (math.isfinite(md) and md >= 0):
            raise ValueError(
                f"`max_delay` must be a finite non-negative number; got {max_delay!r}."
            )
        maxlag = int(math.floor(md * fs * (1 + 1e-12)))
    detrend = check_detrend(detrend)
    window = check_window(window)
    a = as_array(a, "a")
    b = as_array(b, "b")
    omit = check_nan_policy("nan_policy", nan_policy, {"a": a, "b": b}) == "omit"
    for name, v in (("a", a), ("b", b)):
        if detrend == "difference" and v.shape[check_axis("axis", axis, v.ndim)] < 2:
            raise ValueError(
                f"`{name}` must have at least 2 samples along `axis` with "
                f"detrend='difference'; got shape {v.shape}."
            )
    return _estimate(
        a,
        b,
        method,
        weighting,
        fs,
        subsample,
        maxlag,
        smooth,
        detrend,
        window,
        omit,
        int(axis),
    )


@bounded_jit(static_argnums=tuple(range(2, 12)))
def _estimate(
    a,
    b,
    method,
    weighting,
    fs,
    subsample,
    maxlag,
    smooth,
    detrend,
    window,
    omit,
    axis,
):
    a, b, _ = last_axis_pair(to_float(a), to_float(b), axis)
    if omit:
        a, pa = detrended(a, ~jnp.isnan(a), detrend)
        b, pb = detrended(b, ~jnp.isnan(b), detrend)
    else:
        missing = any_nan(a) | any_nan(b)
        a, _ = detrended(a, None, detrend)
        b, _ = detrended(b, None, detrend)
    a, b = tapered(a, window), tapered(b, window)
    na, nb = a.shape[-1], b.shape[-1]
    lags = correlation_lags(nb, na, "full", maxlag=maxlag)
    if method == "xcorr":
        c = correlate(b, a, "full", axes=-1, maxlag=maxlag)
    else:
        c = gcc_values(b, a, weighting, smooth, maxlag)
    if omit:
        # Scale each lag up to its full overlap: gaps must not pull the peak.
        m = overlap_windows(nb, na, lags)[-1]
        count = pair_counts(pb, pa, maxlag, jnp.real(c).dtype)
        c = c * jnp.where(count > 0, m / jnp.maximum(count, 1), 0)
    idx, offset = peak_offset(c, subsample)
    lag = jnp.asarray(lags)[idx].astype(offset.dtype) + offset
    delay = lag / jnp.asarray(fs, offset.dtype)
    return delay if omit else jnp.where(missing, jnp.nan, delay)
