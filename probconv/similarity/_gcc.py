"""Generalized cross-correlation (Knapp and Carter): PHAT, SCOT, Roth."""

from __future__ import annotations

import jax.numpy as jnp
from jax.typing import ArrayLike

from .._checks import check_axis, check_choice, check_int, check_nan_policy
from ..conv import correlation_lags, running_sum
from ..conv.internal import (
    bounded_jit,
    circular_size,
    fft_nd,
    ifft_nd,
    next_fast_len,
)
from ._args import as_array, half_dtype, last_axis_pair, restore, to_float
from ._missing import pair_counts
from ._xcorr import XcorrResult, overlap_windows

WEIGHTINGS = ("phat", "scot", "roth", "none")


def _smoothed(p, smooth: int):
    """Average a power spectrum over `smooth` bins (ends reflected)."""
    if smooth == 1:
        return p
    return running_sum(p, smooth, -1, weight=1.0 / smooth, boundary="reflect")


def gcc_values(a, b, weighting: str, smooth: int, maxlag: int | None = None):
    """Weighted cross-correlation of `a` and `b` (last axis).

    Returns the values at lags ``-(nb - 1) .. na - 1`` as `correlate`, or at
    ``-maxlag .. maxlag`` (0 where the signals do not overlap).
    """
    na, nb = a.shape[-1], b.shape[-1]
    real = not (jnp.iscomplexobj(a) or jnp.iscomplexobj(b))
    need = na + nb - 1
    if maxlag is not None:
        # Lags -maxlag..maxlag sit at full indices nb-1-maxlag .. nb-1+maxlag.
        window = circular_size(na, nb, nb - 1 - maxlag, 2 * maxlag + 1)
        need = min(need, window)
    size = next_fast_len(need, real)
    fa = fft_nd(a, (size,), (-1,), real)
    fb = fft_nd(b, (size,), (-1,), real)
    cross = fa * jnp.conj(fb)
    if weighting != "none":
        if weighting == "phat":
            den = jnp.abs(cross)
        else:
            pb = _smoothed(jnp.abs(fb) ** 2, smooth)
            if weighting == "scot":
                den = jnp.sqrt(_smoothed(jnp.abs(fa) ** 2, smooth) * pb)
            else:
                den = pb
        # Bins with (almost) no power get weight 1 / (eps * max) instead of
        # an infinite one: they stay negligible instead of becoming NaN.
        eps = jnp.finfo(den.dtype).eps
        floor = eps * jnp.max(den, axis=-1, keepdims=True)
        den = jnp.maximum(den, jnp.where(floor > 0, floor, 1))
        cross = cross / den
    r = ifft_nd(cross, (size,), (-1,), real)
    # Lag k sits at circular index k mod size; size >= na + nb - 1, so the
    # negative lags are the tail and the others the head, without overlap.
    lo, hi = -(nb - 1), na - 1
    if maxlag is not None:
        lo, hi = max(lo, -maxlag), min(hi, maxlag)
    parts = []
    if lo < 0:
        parts.append(r[..., size + lo :])
    parts.append(r[..., : hi + 1])
    out = jnp.concatenate(parts, axis=-1) if len(parts) > 1 else parts[0]
    if maxlag is not None:
        pads = [(0, 0)] * (out.ndim - 1) + [(lo + maxlag, maxlag - hi)]
        out = jnp.pad(out, pads)
    return out


def gcc(
    a: ArrayLike,
    b: ArrayLike,
    *,
    weighting: str = "phat",
    maxlag: int | None = None,
    smooth: int = 1,
    nan_policy: str = "propagate",
    axis: int = -1,
) -> XcorrResult:
    r"""Generalized cross-correlation of two signals (GCC-PHAT, SCOT, Roth).

    The cross-correlation with every frequency reweighted, after Knapp and
    Carter (1976), with the lag convention of `xcorr` and
    `probconv.correlate`: the peak of ``gcc(a, b)`` sits at lag ``-d`` when
    ``b(t) = a(t - d)``. scipy has no GCC (scipy issue 4948).

    Parameters
    ----------
    a, b : array_like
        The signals, along `axis`; they may differ in length. Other axes
        broadcast (batch axes).
    weighting : {'phat', 'scot', 'roth', 'none'}
        The frequency weighting :math:`\psi(f)` (see Notes). ``'phat'`` (the
        phase transform) whitens the cross-spectrum, which sharpens the peak
        and suppresses echoes and coloured noise; ``'none'`` gives the plain
        cross-correlation through the FFT.
    maxlag : int, optional
        Return only the lags ``-maxlag .. maxlag`` (0 where the signals do
        not overlap).
    smooth : int
        Odd number of frequency bins over which the auto-spectra of
        ``'scot'`` and ``'roth'`` are averaged (1: raw periodograms). With raw
        periodograms SCOT coincides with PHAT, since
        :math:`|G_{ab}| = \sqrt{G_{aa} G_{bb}}` for a single frame.
    nan_policy : {'propagate', 'omit', 'raise'}
        Missing values (NaN). ``'propagate'`` (default): a NaN spreads to
        every lag through the transforms, so a pair holding one gives NaN
        throughout. ``'omit'``: missing values count as 0 and lag :math:`k`
        is scaled by :math:`m_k / p_k` (:math:`p_k` of its :math:`m_k`
        overlapping pairs present; NaN where none is), as in `xcorr`; the
        weighting sees the zero-filled spectra, so this is an approximation
        good for scattered gaps. ``'raise'``: a ValueError naming the input
        (where values are concrete; under `jax.jit`, as ``'propagate'``).
    axis : int
        The axis of the signals (default: the last).

    Returns
    -------
    XcorrResult
        ``(lags, values)``, as `xcorr`.

    Raises
    ------
    ValueError
        For an unknown `weighting` or `nan_policy`, a NaN with
        ``nan_policy='raise'``, a negative `maxlag`, an even or
        non-positive `smooth`, `axis` out of range, batch axes that do not
        broadcast, or an empty input.
    TypeError
        For non-numeric inputs, or non-integer `maxlag`, `smooth` or `axis`.

    See Also
    --------
    estimate_delay, xcorr

    Notes
    -----
    With :math:`A, B` the discrete Fourier transforms of the inputs
    zero-padded to a fast length :math:`P` (the engine's `next_fast_len`),
    :math:`G_{ab} = A \overline{B}`,

    .. math::

        r_k = \frac{1}{P} \sum_f \psi(f) \, G_{ab}(f) \, e^{2\pi i f k / P},

    with :math:`\psi = 1/|G_{ab}|` (PHAT),
    :math:`1/\sqrt{\hat G_{aa} \hat G_{bb}}` (SCOT), :math:`1/\hat G_{bb}`
    (Roth) or 1 (none), where :math:`\hat G` are the
    (optionally smoothed) auto-spectra :math:`|A|^2, |B|^2`. Roth divides by
    the spectrum of `b`, the reference: :math:`r` then estimates the impulse
    response that takes `b` to `a`. A denominator below
    :math:`\epsilon \max_f` of itself is raised to that floor, so empty
    frequency bins contribute nothing instead of NaN. The length is
    :math:`P \ge n_a + n_b - 1`, or with ``maxlag = M`` only
    :math:`P \ge \max(n_a, n_b) + M` (the engine's `circular_size`): enough
    to keep the lags returned free of wrap-around, and up to twice cheaper.
    The weighting then acts on a coarser frequency grid, so weighted values
    with and without `maxlag` differ slightly (the plain correlation,
    ``weighting='none'``, does not). Half-precision inputs are computed in
    float32 and returned in their own dtype.

    Examples
    --------
    >>> import numpy as np
    >>> from probconv.similarity import gcc
    >>> a = np.random.default_rng(0).standard_normal(64)
    >>> b = np.roll(a, 5)  # b(t) = a(t - 5)
    >>> lags, r = gcc(a, b, maxlag=8)
    >>> int(lags[np.argmax(r)])
    -5
    """
    weighting = check_choice("weighting", weighting, WEIGHTINGS)
    if maxlag is not None:
        maxlag = check_int("maxlag", maxlag)
    smooth = check_int("smooth", smooth, minimum=1)
    if smooth % 2 == 0:
        raise ValueError(f"`smooth` must be an odd positive integer; got {smooth!r}.")
    a = as_array(a, "a")
    b = as_array(b, "b")
    omit = check_nan_policy("nan_policy", nan_policy, {"a": a, "b": b}) == "omit"
    na = a.shape[check_axis("axis", axis, a.ndim)]
    nb = b.shape[check_axis("axis", axis, b.ndim)]
    lags = correlation_lags(na, nb, "full", maxlag=maxlag)
    values = _gcc(a, b, weighting, maxlag, smooth, omit, int(axis))
    return XcorrResult(lags, values)


@bounded_jit(static_argnums=(2, 3, 4, 5, 6))
def _gcc(a, b, weighting, maxlag, smooth, omit, axis):
    half = half_dtype(a, b)
    a, b, _ = last_axis_pair(to_float(a), to_float(b), axis)
    if not omit:
        values = gcc_values(a, b, weighting, smooth, maxlag)
        return restore(jnp.moveaxis(values, -1, axis), half)
    pa, pb = ~jnp.isnan(a), ~jnp.isnan(b)
    values = gcc_values(
        jnp.where(pa, a, 0), jnp.where(pb, b, 0), weighting, smooth, maxlag
    )
    na, nb = a.shape[-1], b.shape[-1]
    m = overlap_windows(na, nb, correlation_lags(na, nb, "full", maxlag=maxlag))[-1]
    count = pair_counts(pa, pb, maxlag, jnp.real(values).dtype)
    scale = jnp.where(count > 0, m / jnp.maximum(count, 1), jnp.nan)
    values = jnp.where(m > 0, values * scale, 0)
    return restore(jnp.moveaxis(values, -1, axis), half)
