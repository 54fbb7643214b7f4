"""Time-delay estimation from the peak of a (generalized) cross-correlation."""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from ..conv import correlate, correlation_lags
from ._checks import (
    as_array,
    check_axis,
    check_choice,
    check_int,
    check_positive,
    last_axis_pair,
    to_float,
)
from ._gcc import WEIGHTINGS, gcc_values
from ._peak import SUBSAMPLE, peak_offset

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
    axis : int
        The axis of the signals (default: the last).

    Returns
    -------
    jax.Array
        The delays, with the broadcast batch shape of the inputs.

    Raises
    ------
    ValueError
        For an unknown `method`, `weighting` or `subsample`, a non-positive
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
    the correlation values around the peak.

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
    """
    method = check_choice(method, "method", METHODS)
    weighting = check_choice(weighting, "weighting", WEIGHTINGS)
    if subsample is True:
        subsample = "sinc"
    elif subsample is False or subsample is None:
        subsample = None
    elif not (isinstance(subsample, str) and subsample in SUBSAMPLE):
        raise ValueError(
            "`subsample` must be True, False, 'sinc' or 'parabolic'; "
            f"got {subsample!r}."
        )
    fs = check_positive(fs, "fs")
    smooth = check_int(smooth, "smooth", low=1)
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
    a = as_array(a, "a")
    b = as_array(b, "b")
    check_axis(axis, a.ndim)
    check_axis(axis, b.ndim)
    return _estimate(a, b, method, weighting, fs, subsample, maxlag, smooth, int(axis))


@functools.partial(jax.jit, static_argnums=tuple(range(2, 9)))
def _estimate(a, b, method, weighting, fs, subsample, maxlag, smooth, axis):
    a, b, _ = last_axis_pair(to_float(a), to_float(b), axis)
    na, nb = a.shape[-1], b.shape[-1]
    if method == "xcorr":
        c = correlate(b, a, "full", axes=-1, maxlag=maxlag)
        lags = correlation_lags(nb, na, "full", maxlag=maxlag)
    else:
        c = gcc_values(b, a, weighting, smooth, maxlag)
        lags = correlation_lags(nb, na, "full", maxlag=maxlag)
    idx, offset = peak_offset(c, subsample)
    lag = jnp.asarray(lags)[idx].astype(offset.dtype) + offset
    return lag / jnp.asarray(fs, offset.dtype)
