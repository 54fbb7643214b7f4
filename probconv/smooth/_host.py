"""Small eager calls on the CPU: scipy.ndimage and scipy.signal on the host.

An eager call of a jitted smoother costs 100-300 us before any arithmetic
(argument handling, dispatch, the program's own overhead on a small array),
and every new shape compiles a program. For an eager call with NumPy input on
the CPU whose options map exactly onto a SciPy routine, SciPy on the host is
the right tool: it costs what `scipy.ndimage.correlate1d` or
`scipy.signal.lfilter` cost and compiles nothing. The kernels are probconv's
own (normalized in float64, cached per signature), the sums are taken in
float64 (ndimage's line buffers are double) and rounded to the dtype the JAX
path returns, so the two routes agree to rounding.

Only data without NaN or infinity comes here (ndimage's running sums and
pandas' conventions for missing values differ from probconv's), only the
boundaries ndimage shares with probconv, and only inputs of at most
`HOST_MAX_POINTS` samples; everything else, and every traced input (under
`jit`, `vmap`, `grad`), takes the JAX path.
"""

from __future__ import annotations

import functools

import jax
import numpy as np
from scipy.ndimage import correlate1d as _correlate1d
from scipy.ndimage import uniform_filter1d as _uniform_filter1d
from scipy.signal import lfilter as _lfilter

from ..conv.internal import result_dtype

try:  # ndimage's C filters, without their Python wrappers' checks (2-3 us)
    from scipy.ndimage import _nd_image
    from scipy.ndimage._ni_support import _extend_mode_to_code
except ImportError:  # pragma: no cover - a SciPy that moved them
    _nd_image = None

# Eager calls on at most this many samples run on the host (ndimage's
# Gaussian filter and the jitted one cross near 10^5 samples on a CPU; below
# that the host route also never compiles).
HOST_MAX_POINTS = 1 << 16
# ... and a weighted (non-boxcar) filter only while its direct sums stay
# cheap: samples times taps (ndimage's correlate1d is O(n w)).
HOST_MAX_PRODUCTS = 1 << 22
# The boundary modes of probconv that scipy.ndimage has under the same name
# and meaning ('renormalize' is probconv's own).
NDIMAGE_MODES = ("reflect", "mirror", "nearest", "wrap", "constant")


def _dtypes(dtype: np.dtype) -> np.dtype | None:
    """Return the dtype the JAX path returns for NumPy input of `dtype`, or None.

    None for dtypes the host route leaves alone: complex, half precision,
    anything non-numeric. Cached per dtype and x64 setting (a process may
    turn x64 on and off, `jax.enable_x64`).
    """
    return _dtypes_for(dtype, jax.config.jax_enable_x64)


@functools.lru_cache(maxsize=64)
def _dtypes_for(dtype: np.dtype, x64: bool) -> np.dtype | None:
    if dtype.kind not in "biuf" or dtype.itemsize < 4 and dtype.kind == "f":
        return None
    # As jnp.asarray: float64 and int64 narrowed (silently) without x64.
    out = np.dtype(result_dtype(jax.dtypes.canonicalize_dtype(dtype)))
    return out if out in (np.dtype(np.float32), np.dtype(np.float64)) else None


def host_input(x, *, limit: int = HOST_MAX_POINTS):
    """Return ``(x as float64, result dtype)`` if `x` may take the host route.

    That is: a NumPy array (not a JAX array or tracer) of a real dtype, with
    at least one dimension, at most `limit` samples, all finite, and the
    default backend is the CPU. Otherwise None.
    """
    if type(x) is not np.ndarray or x.ndim == 0 or not 0 < x.size <= limit:
        return None
    out = _dtypes(x.dtype)
    if out is None or jax.default_backend() != "cpu":
        return None
    xf = x.astype(np.float64, copy=False)
    if np.count_nonzero(np.isfinite(xf)) != xf.size:  # (half of .all()'s cost)
        return None
    return xf, out


def filter_steps(kernels, axes, lefts, bounds) -> tuple:
    """Return the ndimage calls that correlate with one kernel per axis.

    Output sample ``i`` sums ``k[j] * x[i - left + j]`` along each axis in
    turn ('same'), as `smooth_axes`; a kernel given as an int ``w`` is a
    boxcar of ``w`` samples, averaged by `scipy.ndimage.uniform_filter1d` in
    O(n), the others (float64 arrays) by `scipy.ndimage.correlate1d`. Each
    step is ``(function, kernel, axis, mode, origin)``, the function being
    ndimage's C filter (with the mode's code) where the origin is in
    ndimage's range, else its Python wrapper (which raises ndimage's error);
    static, so cached with the caller's plan.
    """
    steps = []
    for k, ax, left, b in zip(kernels, axes, lefts, bounds):
        uniform = isinstance(k, int)
        w = k if uniform else k.shape[0]
        origin = left - w // 2  # ndimage's window starts w // 2 + origin back
        fn = _uniform_filter1d if uniform else _correlate1d
        mode = b
        # ndimage's own range of origins: -(w // 2) .. (w - 1) // 2.
        if _nd_image is not None and -(w // 2) <= origin <= (w - 1) // 2:
            # The C filter itself, called as its wrapper would call it
            # (float64 contiguous weights, the mode's code, axis >= 0).
            fn = _nd_image.uniform_filter1d if uniform else _nd_image.correlate1d
            if not uniform:
                k = np.ascontiguousarray(k, dtype=np.float64)
            mode = _extend_mode_to_code(b)
        steps.append((fn, k, ax, mode, origin))
    return tuple(steps)


def run_steps(x: np.ndarray, steps, cval: float, dtype) -> np.ndarray:
    """Apply `filter_steps` to `x` in float64; the last one is written in `dtype`.

    The sums are taken in float64 (ndimage's line buffers are double) and
    rounded once; the result never shares memory with `x`.
    """
    if len(steps) == 1:  # the common case, without the loop's bookkeeping
        fn, k, ax, b, origin = steps[0]
        out = np.empty(x.shape, dtype)
        fn(x, k, ax, out, b, cval, origin)
        return out
    if not steps:
        return x.astype(dtype)
    last = len(steps) - 1
    for i, (fn, k, ax, b, origin) in enumerate(steps):
        # An output array spares ndimage's own checks of the output dtype.
        out = np.empty(x.shape, dtype if i == last else np.float64)
        fn(x, k, ax, out, b, cval, origin)
        x = out
    return x


def ewma_host(x: np.ndarray, alpha: float, adjust: bool, min_periods: int, axis):
    """Return pandas' EWMA of a series without missing values, by `lfilter`.

    ``adjust=False``: ``y_0 = x_0``, ``y_t = (1 - a) y_{t-1} + a x_t``, an
    IIR filter started in the state that gives ``y_0 = x_0``.
    ``adjust=True``: ``s_t / w_t`` with ``s_t = f s_{t-1} + x_t`` (an IIR
    filter) and ``w_t = (1 - f^{t+1}) / a``, the weights' sum in closed form.
    """
    n = x.shape[axis]
    f = 1.0 - alpha
    shape = [1] * x.ndim
    shape[axis] = n
    if alpha == 1.0:
        y = x.copy()
    elif adjust:
        s = _lfilter([1.0], [1.0, -f], x, axis=axis)
        w = -np.expm1(np.arange(1, n + 1) * np.log1p(-alpha)) / alpha
        y = s / w.reshape(shape)
    else:
        zi = f * np.take(x, [0], axis=axis)
        y, _ = _lfilter([alpha], [1.0, -f], x, axis=axis, zi=zi)
    if min_periods > 1:
        head = [slice(None)] * x.ndim
        head[axis] = slice(0, min(min_periods - 1, n))
        y[tuple(head)] = np.nan
    return y
