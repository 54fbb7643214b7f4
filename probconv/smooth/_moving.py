"""moving_average: boxcar, named windows or any weights, along any axes."""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
import scipy.signal
from jax.typing import ArrayLike, DTypeLike

from .._checks import (
    NAN_POLICIES,
    check_choice,
    check_int,
    check_nan_policy,
    concrete,
    normalize_axes,
)
from ..conv.internal import METHODS
from ._args import (
    OUTPUT_MODES,
    as_inexact,
    check_boundaries,
    check_origins,
    output_dtype,
)
from ._filter import smooth_axes
from ._host import (
    NDIMAGE_MODES,
    filter_plan,
    filter_steps,
    run_filter,
    store_plan,
    typed_key,
)


def _named_window(spec: tuple, name: str) -> np.ndarray:
    """``(name, *params, length)`` -> symmetric scipy.signal.get_window."""
    if len(spec) < 2:
        raise ValueError(
            f"`{name}` as a named window must be (name, *params, length), e.g. "
            f"('hann', 11) or ('gaussian', 2.0, 11); got {spec!r}."
        )
    length = check_int(f"{name} length", spec[-1], minimum=1)
    wspec = spec[0] if len(spec) == 2 else tuple(spec[:-1])
    try:
        # Symmetric windows (fftbins=False), as pandas' rolling(win_type=...).
        return np.asarray(scipy.signal.get_window(wspec, length, fftbins=False))
    except (ValueError, TypeError) as err:
        raise ValueError(
            f"`{name}` names a window scipy.signal.get_window does not know: "
            f"{spec!r} ({err})."
        ) from err


def _window_kernels(window, k: int) -> tuple[list, list[bool]]:
    """One 1-D kernel per axis from `window`, and whether each is a boxcar."""
    if isinstance(window, tuple) and window and isinstance(window[0], str):
        per = [window] * k
    elif isinstance(window, (list, tuple)):
        if len(window) != k:
            raise ValueError(
                "`window` must be one window for all axes or one per smoothed "
                f"axis ({k}); got {window!r}."
            )
        per = list(window)
    else:
        per = [window] * k
    kernels, uniform = [], []
    for w in per:
        if isinstance(w, tuple) and w and isinstance(w[0], str):
            kernels.append(_named_window(w, "window"))
            uniform.append(False)
        else:
            n = check_int("window", w, minimum=1)
            kernels.append(np.ones(n))
            uniform.append(True)
    return kernels, uniform


def moving_average(
    x: ArrayLike,
    window: int | tuple | Sequence | None = None,
    *,
    weights: ArrayLike | None = None,
    axis: int | Sequence[int] = -1,
    boundary: str | Sequence[str] = "reflect",
    cval: float = 0.0,
    nan_policy: str = "propagate",
    mode: str = "same",
    method: str = "auto",
    origin: int | Sequence[int] = 0,
    output: DTypeLike | None = None,
) -> jax.Array:
    r"""Centred weighted moving average, NaN-aware, along one or more axes.

    Like ``pandas.Series.rolling(window, center=True, win_type=...).mean()``
    and `scipy.ndimage.uniform_filter1d`, but with the engine's boundary
    modes, normalized convolution around missing values, any weights, several
    axes at once, and `jax.jit`, `jax.vmap` and `jax.grad` support.

    Parameters
    ----------
    x : array_like
        The data, real or complex; integers become floating, and float16 or
        bfloat16 are computed in float32 and returned in their own dtype.
    window : int, tuple or sequence, optional
        An int ``w``: a boxcar of ``w`` samples (summed in O(n) whatever
        ``w``). A tuple ``(name, *params, length)``: the symmetric window
        ``scipy.signal.get_window((name, *params), length, fftbins=False)``,
        as pandas' ``win_type`` uses, e.g. ``('triang', 5)``, ``('hann', 11)``
        or ``('gaussian', 2.0, 11)`` (standard deviation 2 samples). With
        several axes, one window for all or a list with one per axis.
    weights : array_like, optional
        Any kernel instead of `window`: 1-D (the same weights along every
        axis in `axis`, a separable product) or with one dimension per axis
        in `axis`. Differentiable. Weights apply to the window in order
        (``weights[0]`` to its first sample), as in pandas and
        `scipy.ndimage.correlate1d`.
    axis : int or sequence of int
        The axis or axes smoothed (default the last). Other axes are batch
        axes.
    boundary : str or sequence of str
        How the data is extended past its edges: scipy.ndimage's modes
        ``'reflect'``, ``'mirror'``, ``'nearest'``, ``'wrap'``,
        ``'constant'`` (see `probconv.pad`), or ``'renormalize'``: samples
        outside count as missing and the weights are renormalized over those
        inside (pandas' ``min_periods=1``). One mode for all axes, or a
        sequence with one per axis in `axis` (ndimage's ``mode=[...]``).
    cval : float
        The fill value for ``boundary='constant'``. NaN with
        ``nan_policy='omit'`` is the same as ``'renormalize'``.
    nan_policy : {'propagate', 'omit', 'raise'}
        ``'propagate'``: a NaN spreads to every window that holds it.
        ``'omit'``: the weights are renormalized over the values present
        (normalized convolution), so a missing value fills in from its
        neighbours; a window with nothing present is NaN. ``'raise'``: a
        `ValueError` if `x` holds a NaN (under `jax.jit`, where values are
        unknown, it acts as ``'propagate'``).
    mode : {'same', 'valid', 'full'}
        Output positions: ``'same'`` one per sample (centred windows);
        ``'valid'`` only windows inside the data (``n - w + 1``);
        ``'full'`` every window that meets the data (``n + w - 1``).
    method : {'auto', 'direct', 'fft', 'overlap_add'}
        The engine's method for kernels other than a long boxcar.
    origin : int or sequence of int
        Shift of the window, as scipy.ndimage's ``origin``: output ``i``
        uses the window starting ``w // 2 + origin`` samples before ``i``
        (positive values move the window to the left), with ``-(w // 2) <=
        origin <= (w - 1) // 2``; one for all axes or one per axis. Only with
        ``mode='same'``.
    output : dtype, optional
        The dtype of the result (scipy.ndimage's ``output=``, a dtype only:
        JAX arrays cannot be written into). Computed in the wider of it and
        the input's dtype; an integer dtype truncates toward zero, as
        ndimage does. Complex input needs a complex `output`.

    Returns
    -------
    jax.Array
        The moving average: dtype `output`, else the floating or complex
        dtype of `x` (the default float for integers).

    Raises
    ------
    ValueError
        For a bad `window`, `boundary`, `nan_policy` or `mode`; weights and a
        window both or neither given; weights of the wrong shape or summing
        to zero; an axis shorter than the window with ``mode='valid'``; a
        NaN with ``nan_policy='raise'``; an `origin` out of range, or
        non-zero with ``mode`` other than ``'same'``.
    TypeError
        For non-numeric `x`, non-integer axes, lengths or origins, or an
        `output` that is not a dtype (or is real for complex `x`).

    See Also
    --------
    gaussian_smooth, ewma, savgol, pandas.Series.rolling,
    scipy.ndimage.uniform_filter1d, astropy.convolution.convolve

    Notes
    -----
    With weights :math:`k_j`, a window starting :math:`l = \lfloor w/2
    \rfloor` samples before the output sample, and :math:`m_i = 1` where
    :math:`x_i` is present (0 where NaN is omitted or outside the data
    with ``'renormalize'``),

    .. math:: y_i = \frac{\sum_j k_j m_{i-l+j} x_{i-l+j}}{\sum_j k_j m_{i-l+j}}.

    With nothing missing the denominator is :math:`\sum_j k_j`. A boxcar of
    16 samples or more is summed block by block in O(n) with an error of one
    window's summation (see the smoothing guide), not the
    :math:`\epsilon \sum_{i<n} |x_i|` of differenced cumulative sums. A
    window whose present weights sum to less than :math:`100\,\epsilon` of
    the total is NaN.

    Static weights are normalized in float64 on the host; in float32 and
    narrower the sum is taken about a reference sample of each row
    (:math:`r + \sum_j k_j (x_j - r)`), so a constant row stays exactly
    constant in every mode but ``'constant'``, NaNs omitted or not.

    Examples
    --------
    >>> import numpy as np
    >>> from probconv.smooth import moving_average
    >>> x = np.array([1.0, 2.0, 4.0, 8.0, 16.0])
    >>> moving_average(x, 3).round(4).tolist()
    [1.3333, 2.3333, 4.6667, 9.3333, 13.3333]
    >>> moving_average(x, 3, boundary="renormalize").round(4).tolist()
    [1.5, 2.3333, 4.6667, 9.3333, 12.0]
    >>> y = np.array([1.0, np.nan, 3.0, 4.0])
    >>> moving_average(y, 3, nan_policy="omit", boundary="renormalize").tolist()
    [1.0, 2.0, 3.5, 3.5]
    >>> moving_average(x, ("triang", 3), mode="valid").tolist()
    [2.25, 4.5, 9.0]

    scipy.ndimage's options: a shifted window, a mode per axis, the output
    dtype.

    >>> moving_average(x, 3, origin=1).round(4).tolist()
    [1.3333, 1.3333, 2.3333, 4.6667, 9.3333]
    >>> e = np.eye(3)
    >>> moving_average(e, 3, axis=(0, 1), boundary=["wrap", "constant"])[0].tolist()
    [0.2222, 0.3333, 0.2222]
    >>> moving_average(x, 3, output=np.int32).tolist()
    [1, 2, 4, 9, 13]

    Complex data (as ndimage), and half precision computed in float32:

    >>> moving_average(np.array([1j, 2.0, 3j]), 3, boundary="wrap").tolist()
    [(0.6667+1.3333j), (0.6667+1.3333j), (0.6667+1.3333j)]
    >>> moving_average(x.astype(np.float16), 3).dtype
    dtype('float16')
    """
    if type(x) is np.ndarray and output is None:
        y = _on_host(
            x, window, weights, axis, boundary, cval, nan_policy, mode, method, origin
        )
        if y is not None:
            return y
    check_choice("mode", mode, OUTPUT_MODES)
    x, result = as_inexact(x, "x")
    compute, result = output_dtype(output, result, x.dtype)
    x = x.astype(compute)
    check_nan_policy("nan_policy", nan_policy, {"x": x})
    axes = normalize_axes("axis", axis, x.ndim, sort=False, purpose="to smooth")
    bounds = check_boundaries(boundary, len(axes))
    if (window is None) == (weights is None):
        raise ValueError(
            "Give exactly one of `window` and `weights`; got "
            f"window={window!r} and weights={'None' if weights is None else '...'}."
        )
    if weights is not None:
        w = jnp.asarray(weights)
        if w.ndim == 1:
            kernels, uniform = [w] * len(axes), [False] * len(axes)
        elif w.ndim == len(axes):
            kernels, uniform = [w], [False]
        else:
            raise ValueError(
                "`weights` must be 1-D or have one dimension per smoothed axis "
                f"({len(axes)}); got shape {w.shape}."
            )
        if w.size == 0:
            raise ValueError("`weights` must not be empty.")
        wv = concrete(w)
        if wv is not None and (
            not np.all(np.isfinite(wv)) or np.isclose(wv.sum(), 0.0, atol=0)
        ):
            raise ValueError(
                "`weights` must be finite with a non-zero sum (they are "
                f"normalized by it); got sum {wv.sum()!r}."
            )
        shape = w.shape if w.ndim > 1 else (w.shape[0],) * len(axes)
    else:
        kernels, uniform = _window_kernels(window, len(axes))
        shape = tuple(k.shape[0] for k in kernels)
    origins = check_origins(origin, shape)
    if mode != "same" and any(origins):
        raise ValueError(
            f"`origin` shifts the windows of mode='same' only; got origin="
            f"{origin!r} with mode={mode!r}."
        )
    lefts = [n // 2 + o for n, o in zip(shape, origins)]
    y = smooth_axes(
        x,
        kernels,
        axes,
        lefts,
        boundary=bounds,
        cval=cval,
        mode=mode,
        nan_policy=nan_policy,
        normalize=True,
        uniform=uniform,
        method=method,
    )
    return y.astype(result)


def _host_plan(window, ndim, axis, boundary, cval, nan_policy, mode, method, origin):
    """Return the static part of a host call, or None without an ndimage match.

    ``(steps, taps, crop)``: the ndimage calls (`filter_steps`), the taps of
    the weighted (non-boxcar) windows, and the window lengths along the
    smoothed axes for mode 'valid' (None for 'same'). A boxcar is an int, a
    named window its float64 weights summing to one. Raises where the JAX
    path raises.
    """
    check_choice("mode", mode, OUTPUT_MODES)
    check_choice("nan_policy", nan_policy, NAN_POLICIES)
    check_choice("method", method, METHODS)
    axes = normalize_axes("axis", axis, ndim, sort=False, purpose="to smooth")
    bounds = check_boundaries(boundary, len(axes))
    if mode == "full" or any(b not in NDIMAGE_MODES for b in bounds):
        return None
    if not np.isfinite(float(cval)):  # a NaN fill: missing values with 'omit'
        return None
    if isinstance(window, np.ndarray):  # 1-D weights, normalized by the caller
        kernels, uniform = [window] * len(axes), [False] * len(axes)
    else:
        kernels, uniform = _window_kernels(window, len(axes))
    shape = tuple(k.shape[0] for k in kernels)
    origins = check_origins(origin, shape)
    if mode != "same" and any(origins):
        return None
    kernels = [k.shape[0] if uni else k / k.sum() for k, uni in zip(kernels, uniform)]
    lefts = [n // 2 + o for n, o in zip(shape, origins)]
    steps = filter_steps(kernels, axes, lefts, bounds)
    taps = sum(n for n, uni in zip(shape, uniform) if not uni)
    crop = tuple(zip(axes, shape)) if mode == "valid" else None
    return steps, taps, crop


# Host plans by input dtype, dimensions, x64 setting and options.
_PLANS: dict = {}


def _build(dtype, ndim, x64, window, weights, *options):
    """Return `filter_plan` for these options, or None (the JAX path).

    `options` are `_host_plan`'s after `ndim`; `weights` 1-D real NumPy
    weights or None.
    """
    try:
        if weights is not None:
            w = weights.astype(np.float64)
            if w.size == 0 or not np.isfinite(w).all() or w.sum() == 0:
                return None
            window = w
        static = _host_plan(window, ndim, *options)
        if static is None:
            return None
        steps, taps, crop = static
        return filter_plan(dtype, x64, steps, taps, options[2], crop)
    except (ValueError, TypeError, OverflowError):
        return None  # the JAX path raises the user's error


def _on_host(
    x, window, weights, axis, boundary, cval, nan_policy, mode, method, origin
):
    """`moving_average` of a small finite NumPy array by scipy.ndimage, or None.

    One plan per input dtype, dimensions, x64 setting and options, looked
    up directly for the common types (an int window, axis and origin, one
    boundary name, a float fill value), else by `typed_key`; 1-D NumPy
    weights are planned on each call (an array is no key).
    """
    x64 = jax.config.jax_enable_x64
    if (
        weights is None
        and type(window) is int
        and type(axis) is int
        and type(boundary) is str
        and type(cval) is float
        and type(origin) is int
    ):
        key = (
            x.dtype,
            x.ndim,
            x64,
            window,
            axis,
            boundary,
            cval,
            nan_policy,
            mode,
            method,
            origin,
        )
    elif weights is None:
        options = (window, axis, boundary, cval, nan_policy, mode, method, origin)
        try:
            key = (x.dtype, x.ndim, x64, *map(typed_key, options))
        except TypeError:  # an unhashable option
            return None
    elif (
        window is None
        and type(weights) is np.ndarray
        and weights.ndim == 1
        and weights.dtype.kind in "biuf"
    ):
        options = (axis, boundary, cval, nan_policy, mode, method, origin)
        plan = _build(x.dtype, x.ndim, x64, None, weights, *options)
        return run_filter(x, plan) if plan else None
    else:
        return None
    try:
        plan = _PLANS.get(key)
    except TypeError:  # an unhashable option
        return None
    if plan is None:
        options = (axis, boundary, cval, nan_policy, mode, method, origin)
        plan = _build(x.dtype, x.ndim, x64, window, None, *options)
        plan = store_plan(_PLANS, key, plan)
    return run_filter(x, plan) if plan else None
