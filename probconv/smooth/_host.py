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
import math

import jax
import numpy as np
from scipy.linalg import blas as _blas
from scipy.ndimage import correlate1d as _correlate1d
from scipy.ndimage import uniform_filter1d as _uniform_filter1d
from scipy.signal import lfilter as _lfilter

from ..conv.internal import from_host, result_dtype

try:  # ndimage's C filters, without their Python wrappers' checks (2-3 us)
    from scipy.ndimage import _nd_image
    from scipy.ndimage._ni_support import _extend_mode_to_code
except ImportError:  # pragma: no cover - a SciPy that moved them
    _nd_image = None

try:  # lfilter's C filter, without its wrapper's checks (3-5 us)
    from scipy.signal._sigtools import _linear_filter
except ImportError:  # pragma: no cover - a SciPy that moved it
    _linear_filter = None

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
# Host plans kept per smoother (the oldest dropped first).
PLAN_CACHE_SIZE = 256


@functools.lru_cache(maxsize=64)
def _dtypes_for(dtype: np.dtype, x64: bool) -> np.dtype | None:
    """Return the dtype the JAX path returns for NumPy input of `dtype`, or None.

    None for dtypes the host route leaves alone: complex, half precision,
    anything non-numeric or not in the machine's byte order. Cached per
    dtype and x64 setting (a process may turn x64 on and off,
    `jax.enable_x64`).
    """
    if (
        dtype.kind not in "biuf"
        or dtype.itemsize < 4
        and dtype.kind == "f"
        or not dtype.isnative
    ):
        return None
    # As jnp.asarray: float64 and int64 narrowed (silently) without x64.
    out = np.dtype(result_dtype(jax.dtypes.canonicalize_dtype(dtype)))
    return out if out in (np.dtype(np.float32), np.dtype(np.float64)) else None


def _count_finite(x: np.ndarray) -> bool:
    return np.count_nonzero(np.isfinite(x)) == x.size  # (half of .all()'s cost)


def _finite_by(dot):
    """Return an exact finiteness check of arrays by the BLAS dot product `dot`."""

    def finite(x: np.ndarray) -> bool:
        if x.ndim == 1 or x.flags.c_contiguous:
            v = x if x.ndim == 1 else x.reshape(-1)
            if math.isfinite(dot(v, v)):
                return True
        return _count_finite(x)

    return finite


# The sum of squares ``x . x`` is finite only if every entry is: an infinity
# or a NaN makes it infinite or NaN. Entries beyond the square root of the
# dtype's largest value may overflow it; then they are counted. SciPy's BLAS
# wrappers (unlike NumPy's dot, which also costs more) leave NumPy's
# floating-point error state alone: no overflow warning, none raised under
# ``np.seterr(all='raise')``. 0.65 us against 2.7 us for counting
# ``np.isfinite`` at 1,000 samples (timeit, load 6).
_FINITE = {
    np.dtype(np.float64): _finite_by(_blas.ddot),
    np.dtype(np.float32): _finite_by(_blas.sdot),
}


def finite_check(dtype: np.dtype):
    """Return the exact finiteness check for arrays of `dtype` (None: integers)."""
    if dtype.kind != "f":
        return None
    return _FINITE.get(dtype, _count_finite)


def all_finite(x: np.ndarray) -> bool:
    """Whether every entry of a real array is finite (exactly)."""
    check = finite_check(x.dtype)
    return check is None or check(x)


def typed_key(value):
    """Return an option as a cache key that tells types apart.

    ``3``, ``3.0``, ``True`` and ``3 + 0j`` are equal with one hash, but the
    options' checks accept some and reject others: a plan cached for one
    must not answer for another. Lists and tuples are keyed element by
    element; a small real NumPy array by its dtype, shape and bytes.
    Anything else unhashable raises TypeError (the caller takes the JAX
    path).
    """
    t = type(value)
    if t is list or t is tuple:
        return t, tuple(typed_key(v) for v in value)
    if t is np.ndarray:
        if value.dtype.kind not in "biuf" or value.size > 64:
            raise TypeError("not a key")
        return t, value.dtype.str, value.shape, value.tobytes()
    return t, value


def store_plan(cache: dict, key, plan):
    """Store `plan` under `key` and return it; None is stored as ``()``.

    The callers look plans up with ``cache.get(key)``: None is a miss, and
    the empty tuple (false) a cached answer "the JAX path". The cache keeps
    `PLAN_CACHE_SIZE` plans, the oldest dropped first.
    """
    if plan is None:
        plan = ()
    if len(cache) >= PLAN_CACHE_SIZE:
        try:
            del cache[next(iter(cache))]
        except (KeyError, RuntimeError, StopIteration):  # another thread's
            pass
    cache[key] = plan
    return plan


def input_plan(dtype: np.dtype, x64: bool) -> tuple | None:
    """Return how input of `dtype` takes the host route, or None.

    ``(result dtype, cast, check)``: the dtype the JAX path returns, whether
    the input is cast to float64 first, and its `finite_check` (None for
    integers and booleans, always finite). None where the dtype or the
    default backend (not the CPU) rules the host route out; the backend is
    fixed once JAX has started, so it is asked once per plan.
    """
    result = _dtypes_for(dtype, x64)
    if result is None or jax.default_backend() != "cpu":
        return None
    return result, dtype != np.float64, finite_check(dtype)


def filter_plan(dtype: np.dtype, x64: bool, steps, taps: int, cval, crop):
    """Return the per-input part of a host filter call, or None.

    ``(limit, steps, cval, crop, *input_plan)``: `limit` is the most
    samples taken (`HOST_MAX_POINTS`, and `HOST_MAX_PRODUCTS` over the
    weighted windows' `taps`), and `crop` ``((axis, window length), ...)``
    keeps mode 'valid''s outputs (None for 'same').
    """
    given = input_plan(dtype, x64)
    if given is None:
        return None
    limit = HOST_MAX_POINTS
    if taps:
        limit = min(limit, HOST_MAX_PRODUCTS // taps)
    return limit, steps, float(cval), crop, *given


def run_filter(x: np.ndarray, plan) -> jax.Array | None:
    """Return `filter_plan`'s steps applied to `x`, or None for the JAX path.

    None where `x` holds more samples than the plan's limit, or a NaN or an
    infinity, or is shorter than a window in mode 'valid'.
    """
    limit, steps, cval, crop, result, cast, check = plan
    if not 0 < x.size <= limit or check is not None and not check(x):
        return None
    if cast:
        x = x.astype(np.float64)
    if crop is None:
        if len(steps) == 1:  # (run_steps' common case, one call fewer)
            fn, k, ax, b, origin = steps[0]
            out = np.empty(x.shape, result)
            fn(x, k, ax, out, b, cval, origin)
            return from_host(out)
        return from_host(run_steps(x, steps, cval, result))
    index = [slice(None)] * x.ndim
    for a, w in crop:
        n = x.shape[a]
        if n < w:
            return None
        index[a] = slice(w // 2, w // 2 + n - w + 1)
    return from_host(run_steps(x, steps, cval, result)[tuple(index)])


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


@functools.lru_cache(maxsize=8)
def _ewm_weights(n: int, alpha: float) -> np.ndarray:
    """Return ``w_t = (1 - (1 - alpha)^(t+1)) / alpha``, t < n (read-only).

    Cached: `expm1` costs as much as the filter itself (60 us of 10,000
    samples); 8 lengths of at most `HOST_MAX_POINTS` hold at most 4 MiB.
    """
    w = -np.expm1(np.arange(1, n + 1) * np.log1p(-alpha)) / alpha
    w.flags.writeable = False
    return w


def _iir(b, a, x: np.ndarray, axis: int, zi=None):
    """`scipy.signal.lfilter` of float64 `x`, `b` and `a` (``len(a) > 1``)."""
    if _linear_filter is None:  # pragma: no cover - a SciPy that moved it
        return _lfilter(b, a, x, axis=axis, zi=zi)
    if zi is None:
        return _linear_filter(b, a, x, axis)
    return _linear_filter(b, a, x, axis, zi)


def ewma_host(x: np.ndarray, alpha: float, adjust: bool, min_periods: int, axis):
    """Return pandas' EWMA of a series without missing values, by `lfilter`.

    ``adjust=False``: ``y_0 = x_0``, ``y_t = (1 - a) y_{t-1} + a x_t``, an
    IIR filter started in the state that gives ``y_0 = x_0``.
    ``adjust=True``: ``s_t / w_t`` with ``s_t = f s_{t-1} + x_t`` (an IIR
    filter) and ``w_t = (1 - f^{t+1}) / a``, the weights' sum in closed form.
    The result is a new float64 array.
    """
    n = x.shape[axis]
    f = 1.0 - alpha
    shape = [1] * x.ndim
    shape[axis] = n
    if alpha == 1.0:
        y = x.copy()
    elif adjust:
        s = _iir(np.ones(1), np.array([1.0, -f]), x, axis)
        y = np.divide(s, _ewm_weights(n, alpha).reshape(shape), out=s)
    else:
        zi = f * np.take(x, [0], axis=axis)
        y, _ = _iir(np.array([alpha]), np.array([1.0, -f]), x, axis, zi)
    if min_periods > 1:
        head = [slice(None)] * x.ndim
        head[axis] = slice(0, min(min_periods - 1, n))
        y[tuple(head)] = np.nan
    return y


def ewma_run(x: np.ndarray, plan) -> jax.Array | None:
    """Return `ewma_host` of `x` by the ewma plan, or None for the JAX path.

    None where `x` holds more than `HOST_MAX_POINTS` samples, a NaN or an
    infinity.
    """
    alpha, adjust, min_periods, axis, result, cast, check = plan
    if not 0 < x.size <= HOST_MAX_POINTS or check is not None and not check(x):
        return None
    if cast:
        x = x.astype(np.float64)
    y = ewma_host(x, alpha, adjust, min_periods, axis)
    return from_host(y.astype(result, copy=False))
