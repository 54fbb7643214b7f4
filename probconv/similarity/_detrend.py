"""Detrending and tapering before delay estimation, aware of missing values."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import scipy.signal

from .._checks import check_choice
from ._missing import demeaned

DETRENDS = ("none", "constant", "linear", "difference")


def check_detrend(detrend) -> str:
    """Return a `detrend` name, or raise listing the choices."""
    return check_choice("detrend", detrend, DETRENDS)


def check_window(window):
    """Return `window` as a hashable scipy.signal.get_window spec, or None."""
    if window is None:
        return None
    spec = tuple(window) if isinstance(window, list) else window
    try:
        hash(spec)
        scipy.signal.get_window(spec, 8, fftbins=False)
    except (TypeError, ValueError) as err:
        raise ValueError(
            "`window` must be None or a window that scipy.signal.get_window "
            f"accepts, such as 'hann' or ('tukey', 0.25); got {window!r}."
        ) from err
    return spec


@functools.lru_cache(maxsize=64)
def _taper(window, n: int) -> np.ndarray:
    return scipy.signal.get_window(window, n, fftbins=False)


def detrended(x, present, detrend: str):
    """Remove a trend along the last axis; return the series and its mask.

    With a mask `present` (``nan_policy='omit'``), the trend is fitted to the
    values present and missing values come out as 0; without one, NaN
    spreads as the arithmetic makes it. ``'difference'`` returns one value
    fewer: ``x[t + 1] - x[t]``, present where both are.
    """
    if detrend == "difference":
        d = x[..., 1:] - x[..., :-1]
        if present is None:
            return d, None
        p = present[..., 1:] & present[..., :-1]
        return jnp.where(p, d, 0), p
    if detrend == "none":
        return (x, None) if present is None else (jnp.where(present, x, 0), present)
    xc = demeaned(x, present)
    if detrend == "linear":
        t = jnp.arange(x.shape[-1], dtype=x.dtype)
        tc = demeaned(jnp.broadcast_to(t, x.shape), present)
        den = jnp.sum(tc * tc, axis=-1, keepdims=True)
        slope = jnp.sum(tc * xc, axis=-1, keepdims=True) / jnp.where(den > 0, den, 1)
        xc = xc - slope * tc
    return xc, present


def tapered(x, window) -> jax.Array:
    """Multiply `x` by the window `window` along its last axis (None: as is)."""
    if window is None:
        return x
    return x * jnp.asarray(_taper(window, x.shape[-1]), x.dtype)
