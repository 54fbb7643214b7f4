"""gaussian_smooth: scipy.ndimage's Gaussian filter, derivatives included."""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike, DTypeLike

from probconv.conv.internal import METHODS, bounded_jit

from .._checks import (
    NAN_POLICIES,
    check_choice,
    check_int,
    check_nan_policy,
    concrete,
    normalize_axes,
    per_axis,
)
from ._args import (
    as_inexact,
    check_boundaries,
    check_origins,
    check_scale,
    output_dtype,
)
from ._filter import smooth_axes, unit_weights
from ._host import (
    NDIMAGE_MODES,
    filter_plan,
    filter_steps,
    run_filter,
    store_plan,
    typed_key,
)


@bounded_jit(static_argnums=(1, 2, 3))
def gaussian_kernel(sigma, order: int, radius: int, dtype) -> jax.Array:
    r"""Return the kernel of `scipy.ndimage.gaussian_filter1d` (grad in sigma).

    Samples :math:`\phi(x) = e^{-x^2 / 2\sigma^2}` at ``x = -radius..radius``,
    normalizes them to sum to one, and for ``order > 0`` multiplies by the
    polynomial :math:`q` with :math:`\phi^{(m)} = q \phi`
    (:math:`q_{m+1} = q_m' - x q_m / \sigma^2`). Returned in the order of
    `scipy.ndimage.convolve1d` (i.e. for a convolution).
    """
    x = jnp.arange(-radius, radius + 1, dtype=dtype)
    s2 = jnp.asarray(sigma, dtype) ** 2
    phi = jnp.exp(-0.5 * x * x / s2)
    phi = phi / jnp.sum(phi)
    if order == 0:
        return phi
    # Coefficients of q, lowest degree first.
    q = [jnp.ones((), dtype)]
    for _ in range(order):
        deriv = [i * q[i] for i in range(1, len(q))]
        times_x = [jnp.zeros((), dtype)] + [-c / s2 for c in q]
        q = [
            (deriv[i] if i < len(deriv) else 0.0) + times_x[i]
            for i in range(len(times_x))
        ]
    poly = jnp.zeros_like(x)
    for c in reversed(q):
        poly = poly * x + c
    return phi * poly


def gaussian_kernel_np(sigma: float, order: int, radius: int) -> np.ndarray:
    """`gaussian_kernel` in float64 with NumPy, for a concrete `sigma`."""
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    s2 = float(sigma) ** 2
    phi = np.exp(-0.5 * x * x / s2)
    phi = phi / phi.sum()
    if order == 0:
        return phi
    q = np.zeros(order + 1)
    q[0] = 1.0
    deriv = np.diag(np.arange(1, order + 1), -1).T  # coefficients of q'
    for _ in range(order):
        q = deriv @ q + np.concatenate([[0.0], -q[:-1] / s2])
    return phi * np.polynomial.polynomial.polyval(x, q)


def _per_axis_args(origin, sigma, order, radius, truncate, k: int):
    """Check the per-axis arguments; return one origin, sigma, order, radius each."""
    entries = [
        per_axis(name, v, k, entries=True, per="smoothed axis")
        for name, v in (
            ("origin", origin),
            ("sigma", sigma),
            ("order", order),
            ("radius", radius),
        )
    ]
    entries[2] = tuple(check_int("order", o, minimum=0) for o in entries[2])
    check_scale("truncate", truncate)
    return entries


def _radius(sigma, truncate, radius, name_axis: str) -> int:
    if radius is not None:
        return check_int("radius", radius, minimum=0)
    s = concrete(sigma)
    if s is None:
        raise TypeError(
            "`sigma` is traced (under jit or vmap), so the kernel's length "
            "cannot follow it: pass a static `radius` too, e.g. "
            f"radius=int(truncate * sigma + 0.5){name_axis}."
        )
    return int(float(truncate) * float(s) + 0.5)


def gaussian_smooth(
    x: ArrayLike,
    sigma: ArrayLike | Sequence,
    *,
    axis: int | Sequence[int] | None = -1,
    order: int | Sequence[int] = 0,
    truncate: float = 4.0,
    radius: int | Sequence[int] | None = None,
    boundary: str | Sequence[str] = "reflect",
    cval: float = 0.0,
    nan_policy: str = "propagate",
    method: str = "auto",
    origin: int | Sequence[int] = 0,
    output: DTypeLike | None = None,
) -> jax.Array:
    r"""Gaussian smoothing or derivative along one or more axes.

    Like `scipy.ndimage.gaussian_filter1d` (one axis) and
    `scipy.ndimage.gaussian_filter` (several), with the same kernel,
    truncation and boundary modes, plus NaN-aware smoothing and
    renormalized edges; differentiable in the data and in `sigma`.

    Parameters
    ----------
    x : array_like
        The data, real or complex; integers become floating, and float16 or
        bfloat16 are computed in float32 and returned in their own dtype.
    sigma : float or sequence of float
        Standard deviation of the Gaussian in samples, one for all axes or
        one per axis in `axis`. Positive (a concrete sigma of zero leaves
        its axis untouched, as in scipy). Differentiable; under a transform
        that traces it, give `radius`.
    axis : int, sequence of int or None
        The axis or axes smoothed (default the last; None: all, as
        `scipy.ndimage.gaussian_filter`).
    order : int or sequence of int
        0 smooths; ``m > 0`` convolves with the m-th derivative of the
        Gaussian (one order for all axes or one per axis).
    truncate : float
        The kernel reaches ``radius = int(truncate * sigma + 0.5)`` samples
        each side (scipy's rule).
    radius : int or sequence of int, optional
        The kernel's radius, overriding `truncate`; needed when `sigma` is
        traced, since array shapes must be static.
    boundary : str or sequence of str
        scipy.ndimage's edge modes (``'reflect'``, ``'mirror'``,
        ``'nearest'``, ``'wrap'``, ``'constant'``), or ``'renormalize'``
        (samples outside count as missing; order 0 only); one for all axes
        or one per axis in `axis` (ndimage's ``mode=[...]``).
    cval : float
        The fill value for ``boundary='constant'``.
    nan_policy : {'propagate', 'omit', 'raise'}
        As in `moving_average`; ``'omit'`` needs order 0.
    method : {'auto', 'direct', 'fft', 'overlap_add'}
        The engine's convolution method.
    origin : int or sequence of int
        Shift of the kernel, in scipy.ndimage's convention (``origin`` of
        `scipy.ndimage.correlate1d` with this kernel; ndimage's Gaussian
        filters themselves have none): positive values move it to the
        left, ``-radius <= origin <= radius``; one for all axes or one per
        axis.
    output : dtype, optional
        The dtype of the result, as ndimage's ``output=`` (a dtype only).
        See `moving_average`.

    Returns
    -------
    jax.Array
        The filtered data, with the shape of `x`: dtype `output`, else the
        floating or complex dtype of `x` (the default float for integers).

    Raises
    ------
    ValueError
        For a non-positive or non-finite `sigma`, a negative `order`, a bad
        `boundary` or `nan_policy`, NaN-aware options with ``order > 0``,
        per-axis parameters of the wrong length, or an `origin` out of
        range.
    TypeError
        For a traced `sigma` without `radius`, non-integer `order` or
        `origin`, non-numeric `x`, or an `output` that is not a dtype (or is
        real for complex `x`).

    See Also
    --------
    moving_average, scipy.ndimage.gaussian_filter1d,
    scipy.ndimage.gaussian_filter

    Notes
    -----
    Along each axis, with :math:`r` the radius and :math:`g_j \propto
    e^{-j^2/2\sigma^2}` normalized to :math:`\sum_{|j| \le r} g_j = 1`,

    .. math:: y_i = \sum_{j=-r}^{r} g^{(m)}_j \, x_{i-j},

    where :math:`g^{(m)}_j = q_m(j)\, g_j` and :math:`q_m` is the polynomial
    with :math:`\frac{d^m}{dx^m} e^{-x^2/2\sigma^2} = q_m(x)
    e^{-x^2/2\sigma^2}`. Several axes apply one after another (separable).
    Truncation at 4 standard deviations drops about :math:`6 \times
    10^{-5}` of the continuous Gaussian's mass; the discrete kernel is
    renormalized (in float64), so a constant stays constant: exactly, in
    float32 too, for the modes that extend a constant by itself (all but
    ``'constant'``).

    Examples
    --------
    >>> import numpy as np
    >>> from probconv.smooth import gaussian_smooth
    >>> x = np.array([0.0, 0.0, 1.0, 0.0, 0.0])
    >>> gaussian_smooth(x, 1.0).round(4).tolist()
    [0.0584, 0.2421, 0.3989, 0.2421, 0.0584]
    >>> gaussian_smooth(np.arange(6.0) ** 2, 1.0, order=1).round(4).tolist()
    [0.6361, 2.1504, 4.0087, 5.8362, 6.3434, 3.0017]
    >>> gaussian_smooth(x, 1.0, origin=1, output=np.float32).round(4).tolist()
    [0.0584, 0.0584, 0.2421, 0.3989, 0.2421]
    """
    if type(x) is np.ndarray and output is None:
        options = (axis, order, truncate, radius, boundary, cval, nan_policy, method)
        y = _on_host(x, sigma, options, origin)
        if y is not None:
            return y
    x, result = as_inexact(x, "x")
    compute, result = output_dtype(output, result, x.dtype)
    x = x.astype(compute)
    check_nan_policy("nan_policy", nan_policy, {"x": x})
    axes = normalize_axes("axis", axis, x.ndim, sort=False, purpose="to smooth")
    k = len(axes)
    bounds = check_boundaries(boundary, k)
    origins, sigmas, orders, radii = _per_axis_args(
        origin, sigma, order, radius, truncate, k
    )
    if (nan_policy == "omit" or boundary == "renormalize") and any(orders):
        raise ValueError(
            "nan_policy='omit' and boundary='renormalize' renormalize the "
            "weights, which only makes sense for smoothing (order=0); got "
            f"order={order!r}."
        )
    kernels, use_axes, lefts, use_bounds = [], [], [], []
    for ax, s, o, r, b, org in zip(axes, sigmas, orders, radii, bounds, origins):
        check_scale("sigma", s, allow_zero=True)
        # A NumPy kernel only for a sigma that is not differentiated: the
        # tracer of an eager jax.grad has a value, but a kernel built from it
        # in NumPy would drop the gradient.
        sv = None if isinstance(s, jax.core.Tracer) else concrete(s)
        if sv is not None and float(sv) <= 1e-15:
            continue  # scipy.ndimage skips such axes
        rad = _radius(s, truncate, r, "" if k == 1 else f" for axis {ax}")
        (org,) = check_origins(org, (2 * rad + 1,))
        if sv is not None:  # static: built in float64, rounded to sum to one
            kern = gaussian_kernel_np(float(sv), o, rad)
            kern = (
                unit_weights(kern, x.dtype)
                if o == 0
                else kern.astype(jnp.finfo(x.dtype).dtype)
            )
        else:
            kern = gaussian_kernel(s, o, rad, jnp.finfo(x.dtype).dtype)
        # ndimage correlates with the reversed kernel (a convolution).
        kernels.append(kern[::-1])
        use_axes.append(ax)
        lefts.append(rad + org)
        use_bounds.append(b)
    if not kernels:
        return x.astype(result)
    y = smooth_axes(
        x,
        kernels,
        use_axes,
        lefts,
        boundary=tuple(use_bounds),
        cval=cval,
        mode="same",
        nan_policy=nan_policy,
        normalize=False,
        method=method,
        unit_sum=not any(orders),
    )
    return y.astype(result)


def _host_plan(
    sigma,
    ndim,
    axis,
    order,
    truncate,
    radius,
    boundary,
    cval,
    nan_policy,
    method,
    origin,
):
    """Return the static part of a host call, or None without an ndimage match.

    ``(steps, taps)``: the ndimage calls (`filter_steps`) and the kernels'
    total length. The kernels are `gaussian_kernel_np`'s, in float64,
    reversed for a correlation, as the JAX path builds them. Raises where
    the JAX path raises; returns None where the options have no exact
    ndimage equivalent.
    """
    check_choice("nan_policy", nan_policy, NAN_POLICIES)
    check_choice("method", method, METHODS)
    axes = normalize_axes("axis", axis, ndim, sort=False, purpose="to smooth")
    k = len(axes)
    bounds = check_boundaries(boundary, k)
    if any(b not in NDIMAGE_MODES for b in bounds) or not np.isfinite(cval):
        return None
    origins, sigmas, orders, radii = _per_axis_args(
        origin, sigma, order, radius, truncate, k
    )
    if nan_policy == "omit" and any(orders):
        return None
    kernels, use_axes, lefts, use_bounds = [], [], [], []
    for ax, s, o, r, b, org in zip(axes, sigmas, orders, radii, bounds, origins):
        check_scale("sigma", s, allow_zero=True)
        if float(s) <= 1e-15:
            continue  # scipy.ndimage skips such axes
        rad = _radius(s, truncate, r, "")
        (org,) = check_origins(org, (2 * rad + 1,))
        kernels.append(gaussian_kernel_np(float(s), o, rad)[::-1].copy())
        use_axes.append(ax)
        lefts.append(rad + org)
        use_bounds.append(b)
    steps = filter_steps(kernels, use_axes, lefts, use_bounds)
    return steps, sum(k.shape[0] for k in kernels)


# Host plans by input dtype, dimensions, x64 setting and options.
_PLANS: dict = {}


def _build(dtype, ndim, x64, sigma, *options):
    """Return `filter_plan` for these options, or None (the JAX path).

    `options` are `_host_plan`'s after `ndim`.
    """
    try:
        static = _host_plan(sigma, ndim, *options)
        if static is None:
            return None
        steps, taps = static
        return filter_plan(dtype, x64, steps, taps, options[5], None)
    except (ValueError, TypeError, OverflowError):
        return None  # the JAX path raises the user's error


def _on_host(x, sigma, options: tuple, origin):
    """`gaussian_smooth` of a small finite NumPy array by ndimage, or None.

    `options` are `_host_plan`'s from `axis` to `method`. One plan per input
    dtype, dimensions, x64 setting and options, looked up directly for the
    common types (a float sigma, truncate and fill value, an int axis,
    order and origin, one boundary name, no radius), else by `typed_key`.
    """
    x64 = jax.config.jax_enable_x64
    axis, order, truncate, radius, boundary, cval = options[:6]
    if (
        type(sigma) is float
        and type(axis) is int
        and type(order) is int
        and type(truncate) is float
        and radius is None
        and type(boundary) is str
        and type(cval) is float
        and type(origin) is int
    ):
        key = (x.dtype, x.ndim, x64, sigma, *options, origin)
    else:
        try:
            key = (x.dtype, x.ndim, x64, *map(typed_key, (sigma, *options, origin)))
        except TypeError:  # an unhashable option
            return None
    try:
        plan = _PLANS.get(key)
    except TypeError:  # an unhashable option
        return None
    if plan is None:
        plan = _build(x.dtype, x.ndim, x64, sigma, *options, origin)
        plan = store_plan(_PLANS, key, plan)
    return run_filter(x, plan) if plan else None
