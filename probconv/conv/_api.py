"""convolve and correlate: a cached plan, then the cheapest route to run it."""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.typing import ArrayLike

from .._checks import check_choice, check_int, result_dtype
from . import _choose, _direct, _fft, _host, _manual, _overlap_add, _sharded
from ._args import METHODS, MODES, as_input
from ._plan import (
    SMALL_POINTS,
    Plan,
    Prepared,
    bucket_length,
    bucket_plan,
    plan_of,
    prepare,
    resolve,
)
from ._programs import PROGRAMS


def _to_canonical(x, ax):
    """Move the convolved axes `ax` to the end."""
    k = len(ax)
    return jnp.moveaxis(x, ax, tuple(range(x.ndim - k, x.ndim)))


def _from_canonical(y, ax):
    k = len(ax)
    return jnp.moveaxis(y, tuple(range(y.ndim - k, y.ndim)), ax)


def _execute(
    in1, in2, plan: Plan, method: str, precision, auto=False, stack=True
) -> jax.Array:
    """Run a plan's window by `method` on one device (`stack`: `_fft.stacks`)."""
    a = _to_canonical(in1.astype(plan.dtype), plan.conv_axes)
    v = _to_canonical(in2.astype(plan.dtype), plan.conv_axes)
    # Clip the requested window to the full convolution's extent; what lies
    # outside it is zero and is padded back afterwards.
    full = [x + y - 1 for x, y in zip(plan.shape1, plan.shape2)]
    lo = [max(s, 0) for s in plan.start]
    hi = [min(s + n, f) for s, n, f in zip(plan.start, plan.length, full)]
    inner_len = tuple(max(h - lo_, 0) for lo_, h in zip(lo, hi))
    if all(n > 0 for n in inner_len):
        fn = {
            "direct": _direct.direct_window,
            "fft": _fft.convolve_window,
            "overlap_add": _overlap_add.convolve_window,
        }[method]
        kwargs = {"precision": precision, "auto": auto} if method == "direct" else {}
        if method == "fft":
            kwargs = {"stack": stack}
        y = fn(a, v, tuple(lo), inner_len, **kwargs)
        pads = [(0, 0)] * (y.ndim - len(lo)) + [
            (l_ - s, s + n - h) for l_, h, s, n in zip(lo, hi, plan.start, plan.length)
        ]
        if any(p != (0, 0) for p in pads):
            y = jnp.pad(y, pads)
    else:
        bshape = jnp.broadcast_shapes(
            a.shape[: a.ndim - len(lo)], v.shape[: v.ndim - len(lo)]
        )
        y = jnp.zeros(bshape + plan.length, plan.dtype)
    y = y.astype(plan.out_dtype)
    return _from_canonical(y, plan.conv_axes)


def _program(prepared: Prepared):
    """Return the jitted program of a prepared call, from the bounded cache."""

    def build():
        plan, method, prec = prepared.plan, resolve(prepared), prepared.precision
        flip, conj, auto = prepared.flip, prepared.conj, prepared.auto

        def run(a, v):
            if conj:
                v = jnp.conj(v)
            if flip:
                v = jnp.flip(v, flip)
            return _execute(a, v, plan, method, prec, auto)

        return jax.jit(run)

    return PROGRAMS.get(prepared._replace(seconds=0.0), build)


def _hashable_axes(axes):
    if axes is None or isinstance(axes, (int, np.integer)):
        return axes
    try:
        return tuple(axes)
    except TypeError:
        return axes  # normalize_axes raises the user's error


def _pad_to_bucket(x: np.ndarray, axes) -> np.ndarray:
    shape = list(x.shape)
    for ax in axes:
        shape[ax] = bucket_length(shape[ax])
    if tuple(shape) == x.shape:
        return x
    out = np.zeros(shape, x.dtype)
    out[tuple(slice(0, n) for n in x.shape)] = x
    return out


def _bucketed(a: np.ndarray, v: np.ndarray, prepared: Prepared) -> jax.Array:
    """Run a concrete call on inputs zero-padded to bucket lengths.

    Zero samples appended to either input leave every entry of the true full
    convolution unchanged (exactly, for direct sums; to the method's rounding
    for transforms), so one compiled program serves every length in a
    bucket. Reversal and conjugation (correlate) happen before the padding.
    """
    plan = prepared.plan
    if prepared.conj:
        v = np.conj(v)
    if prepared.flip:
        v = np.flip(v, prepared.flip)
    a = _pad_to_bucket(a, plan.conv_axes)
    v = _pad_to_bucket(v, plan.conv_axes)
    padded = Prepared(
        bucket_plan(plan), resolve(prepared), prepared.precision, (), False, False
    )
    y = _program(padded)(a, v)
    if plan.start == padded.plan.start and plan.length == padded.plan.length:
        return y
    return _host.to_device(_host.take_window(np.asarray(y), plan))


def _eager_1d(a: np.ndarray, v: np.ndarray, mode, method, correlate: bool):
    """Run the common eager call on the host without a plan, or return None.

    Two non-empty 1-D NumPy arrays whose result is real, valid `mode` and
    `method` strings, no `axes`, `precision` or `maxlag`, on the CPU, priced
    under the host bound as `prepare` prices them: the same route, method
    and numbers as the planned call, without its per-signature work (about
    30 us, which a loop over new sizes pays on every call). Anything else
    returns None and takes the planned route, which raises the user's
    errors.
    """
    if a.ndim != 1 or v.ndim != 1 or not (a.shape[0] and v.shape[0]):
        return None
    if mode.__class__ is not str or mode not in MODES:
        return None
    if method.__class__ is not str or method not in METHODS:
        return None
    dtypes = _host.real_dtypes(a.dtype, v.dtype, jax.config.jax_enable_x64)
    if dtypes is None:
        return None
    target = _host.cpu_target()
    if target is None:
        return None
    dtype, out_dtype = dtypes
    n1, n2 = a.shape[0], v.shape[0]
    if mode == "full":
        start, length = 0, n1 + n2 - 1
    elif mode == "same":
        start, length = (n2 - 1) // 2, n1
    else:
        start, length = min(n1, n2) - 1, abs(n1 - n2) + 1
    if n1 + n2 - 1 <= SMALL_POINTS:
        price = 0.0
    elif method in ("auto", "direct"):
        costs = _choose.direct_costs((n1,), (n2,), (length,), 1, False, dtype, "cpu")
        price = min(costs.values())
    else:
        return None
    if not price < _host.HOST_MAX_SECONDS:
        return None
    a = a.astype(dtype, copy=False)
    v = v.astype(dtype, copy=False)
    if correlate:
        v = v[::-1]
    y = _host.convolve_1d(a, v, method)
    if length != y.shape[0]:
        y = y[start : start + length]
    return _host.from_host(y.astype(out_dtype, copy=False), target)


def _dispatch(
    in1, in2, mode, method, axes, precision, maxlag, correlate, axis_name=None
):
    """Plan a call (cached per signature) and run it by the cheapest route."""
    if axis_name is not None:
        if maxlag is not None:
            raise ValueError(
                "`maxlag` and `axis_name` cannot be combined: the lags "
                "-maxlag..maxlag are one short window, not a signal split "
                "over devices. Correlate with mode='same' (or 'full') and "
                "take the lags, or correlate outside the shard map."
            )
        a = as_input(in1, "in1")
        v = as_input(in2, "in2")
        return _manual.convolve_block(
            a, v, mode, method, axes, precision, correlate, axis_name, _execute
        )
    if (
        type(in1) is np.ndarray
        and type(in2) is np.ndarray
        and axes is None
        and precision is None
        and maxlag is None
    ):
        y = _eager_1d(in1, in2, mode, method, correlate)
        if y is not None:
            return y
    a = as_input(in1, "in1")
    v = as_input(in2, "in2")
    prepared = prepare(
        a.shape,
        np.dtype(a.dtype),
        v.shape,
        np.dtype(v.dtype),
        mode,
        method,
        _hashable_axes(axes),
        precision,
        maxlag,
        correlate,
    )
    plan = prepared.plan
    if plan is None:  # 0-d inputs: a product
        vv = jnp.conj(v) if prepared.conj else v
        return (jnp.asarray(a) * vv).astype(result_dtype(a.dtype, v.dtype))
    if isinstance(a, np.ndarray) and isinstance(v, np.ndarray):
        # An eager call from NumPy code: small ones on the host, the others
        # on inputs padded to a bucket, so that new lengths seldom compile.
        if jax.default_backend() == "cpu" and _host.fits(plan, prepared.seconds):
            return _host.from_host(_host.convolve(a, v, prepared))
        if np.isfinite(a).all() and np.isfinite(v).all():
            return _bucketed(a, v, prepared)
    elif maxlag is None:
        # A signal split over devices along a convolved axis stays split;
        # one split along batch axes only runs each device's rows in a
        # shard map too (XLA would gather every row before a transform).
        split = _sharded.split_of(a)
        if split is not None:
            return _sharded.convolve_split(a, v, prepared, split, _execute)
    return _program(prepared)(a, v)


def convolve(
    in1: ArrayLike,
    in2: ArrayLike,
    mode: str = "full",
    *,
    method: str = "auto",
    axes: int | Sequence[int] | None = None,
    precision: str | lax.Precision | None = None,
    axis_name: str | tuple[str, ...] | dict | None = None,
) -> jax.Array:
    r"""Convolve two N-dimensional arrays.

    Like `scipy.signal.convolve` (with the `axes` of
    `scipy.signal.fftconvolve`), but jit-compiled, differentiable and
    batched: the axes not convolved broadcast against each other.

    Parameters
    ----------
    in1, in2 : array_like
        The inputs, with the same number of dimensions. Lists, NumPy and JAX
        arrays are accepted; integer and boolean inputs give floating results.
    mode : {'full', 'same', 'valid'}
        ``'full'``: the whole convolution, ``n1 + n2 - 1`` samples per axis.
        ``'same'``: the size of `in1`, centred on the full output.
        ``'valid'``: only the samples that do not depend on zero padding; one
        input must be at least as large as the other along every axis.
    method : {'auto', 'direct', 'fft', 'overlap_add'}
        ``'direct'`` sums products (``lax.conv_general_dilated``), exact up to
        rounding. ``'fft'`` multiplies transforms padded to a fast length
        (real transforms for real inputs). ``'overlap_add'`` cuts a long
        input into blocks of a fast size. ``'auto'`` picks the cheapest by a
        cost model of the current backend (see `choose_method`); the choice
        is made at trace time from static shapes.
    axes : int or sequence of int, optional
        The axes to convolve (default: all). Along the other axes the inputs
        must have equal sizes or size 1, and they broadcast (batch axes).
    precision : {None, 'highest', 'high', 'default'} or jax.lax.Precision
        Arithmetic precision of the direct method on accelerators. ``None``
        means ``'highest'``: full float32 even on GPUs (no TF32) and TPUs (no
        bf16 passes). ``'default'`` is XLA's faster, coarser default.
    axis_name : str, tuple of str or dict, optional
        Inside a `jax.shard_map` only: `in1` is this device's block of a
        signal split along its convolved axis, in device order
        (``jax.lax.axis_index(axis_name)``, equal blocks), over this manual
        mesh axis (a tuple: several mesh axes together, as in
        `jax.lax.psum`); a dict ``{axis: name}`` maps each split convolved
        axis of `in1` to its mesh axes. `in2` must be whole, the same on
        every device. The result is this device's block of the result of
        the whole signal, split the same way, computed by a halo exchange
        (`jax.lax.ppermute`) or, for kernels that reach past two blocks, a
        distributed FFT (all-to-alls), as the cost model prices them.
        Modes ``'full'`` and ``'valid'`` need a result whose length along
        each split axis is a multiple of its devices. Outside a shard map,
        pass an array whose `NamedSharding` splits the axis instead: the
        engine keeps it split without this argument.

    Returns
    -------
    jax.Array
        The convolution, with dtype following the inputs (JAX promotion);
        with `axis_name`, this device's block of it.

    Raises
    ------
    ValueError
        For an unknown `mode`, `method` or `precision`; empty inputs; a rank
        mismatch; `axes` out of range, repeated or empty; batch axes that do
        not broadcast; or ``'valid'`` where neither input covers the other.
        With `axis_name`: outside a shard map, a name that is not one of
        its manual axes, an axis not convolved, or a ``'full'`` or
        ``'valid'`` result that does not split into equal blocks.
    TypeError
        For non-numeric inputs, non-integer `axes`, or an `axis_name` that
        is not a name, a tuple of names or a dict of them.

    See Also
    --------
    correlate, choose_method, scipy.signal.convolve, scipy.signal.fftconvolve

    Notes
    -----
    Along each convolved axis,

    .. math:: (a * v)_k = \sum_j a_j v_{k-j}, \qquad k = 0, \dots, n_1 + n_2 - 2.

    The direct method's error is a few ulps of :math:`\sum_j |a_j v_{k-j}|`.
    The FFT and overlap-add methods' error is near
    :math:`\epsilon \, \|a\|_2 \|v\|_2` on *every* entry, so entries much
    smaller than the largest lose relative accuracy (see the accuracy guide
    and `probconv.distributions` for tail-accurate sums of probabilities).

    ``method='auto'`` also sees the batch that `jax.vmap` adds, even around
    a jitted call: with both inputs mapped, the direct method plans again
    with the mapped axis explicit (shifted copies of a short 1-D kernel on
    a CPU, or the FFT where XLA's grouped convolution would cost more).
    An explicit ``method='direct'`` stays direct.

    Examples
    --------
    >>> import probconv
    >>> probconv.convolve([1, 2, 3], [0, 1, 0.5], method="direct").tolist()
    [0.0, 1.0, 2.5, 4.0, 1.5]
    >>> probconv.convolve([1, 2, 3], [0, 1, 0.5], "same", method="direct").tolist()
    [1.0, 2.5, 4.0]

    Inside a `jax.shard_map`, each device holding a block of the signal:

    >>> import jax, numpy as np
    >>> from jax.sharding import NamedSharding, PartitionSpec as P
    >>> mesh = jax.make_mesh((jax.device_count(),), ("t",))
    >>> x = jax.device_put(np.arange(8.0), NamedSharding(mesh, P("t")))
    >>> block = lambda b: probconv.convolve(b, np.ones(3), "same", axis_name="t")
    >>> f = jax.shard_map(block, mesh=mesh, in_specs=P("t"), out_specs=P("t"))
    >>> f(x).round(6).tolist()
    [1.0, 3.0, 6.0, 9.0, 12.0, 15.0, 18.0, 13.0]
    """
    return _dispatch(in1, in2, mode, method, axes, precision, None, False, axis_name)


def correlate(
    in1: ArrayLike,
    in2: ArrayLike,
    mode: str = "full",
    *,
    method: str = "auto",
    axes: int | Sequence[int] | None = None,
    maxlag: int | None = None,
    precision: str | lax.Precision | None = None,
    axis_name: str | tuple[str, ...] | dict | None = None,
) -> jax.Array:
    r"""Cross-correlate two N-dimensional arrays.

    Like `scipy.signal.correlate`: the convolution of `in1` with the
    conjugated, reversed `in2`, with the same modes, methods, `axes` and batch
    broadcasting as `convolve`.

    Parameters
    ----------
    in1, in2 : array_like
        The inputs, with the same number of dimensions.
    mode : {'full', 'same', 'valid'}
        As in `convolve`; ignored when `maxlag` is given.
    method : {'auto', 'direct', 'fft', 'overlap_add'}
        As in `convolve`.
    axes : int or sequence of int, optional
        The axes to correlate (default: all); the others broadcast.
    maxlag : int, optional
        Compute only the lags ``-maxlag, ..., maxlag`` along every correlated
        axis (``2 * maxlag + 1`` entries, zero where the inputs do not
        overlap). Cheaper than the full output: the direct method sums only
        those lags and the FFT method uses a circular transform just long
        enough to keep them free of wrap-around.
    precision : {None, 'highest', 'high', 'default'} or jax.lax.Precision
        As in `convolve`.
    axis_name : str, tuple of str or dict, optional
        As in `convolve`: inside a `jax.shard_map`, `in1` is this device's
        block of a signal split over these manual mesh axes, and the result
        this device's block of the correlation.

    Returns
    -------
    jax.Array
        The cross-correlation; `correlation_lags` gives the lag of each
        entry along an axis.

    Raises
    ------
    ValueError, TypeError
        As `convolve`, for a negative or non-integer `maxlag`, and for
        `maxlag` with `axis_name`.

    See Also
    --------
    convolve, correlation_lags, scipy.signal.correlate

    Notes
    -----
    Along each correlated axis, at lag :math:`k`,

    .. math:: c_k = \sum_n a_{n+k} \, \overline{v_n}.

    Examples
    --------
    >>> import probconv
    >>> probconv.correlate([1, 2, 3], [0, 1, 0.5], method="direct").tolist()
    [0.5, 2.0, 3.5, 3.0, 0.0]
    >>> probconv.correlate([1, 2, 3, 4, 5], [1, 1], maxlag=1).round(6).tolist()
    [1.0, 3.0, 5.0]
    """
    if maxlag is not None:
        maxlag = check_int("maxlag", maxlag)
    return _dispatch(in1, in2, mode, method, axes, precision, maxlag, True, axis_name)


def choose_method(
    in1: ArrayLike,
    in2: ArrayLike,
    mode: str = "full",
    *,
    axes: int | Sequence[int] | None = None,
) -> str:
    """Return the method that ``convolve(..., method='auto')`` would use.

    Like `scipy.signal.choose_conv_method`, but decided from shapes, dtype
    and backend alone, by a cost model calibrated by measurement (see the
    performance guide); nothing is timed at call time, so the choice is free
    under `jax.jit`. Abstract arrays such as `jax.ShapeDtypeStruct` are
    accepted.

    Parameters
    ----------
    in1, in2 : array_like or jax.ShapeDtypeStruct
        The inputs (only shapes and dtypes are read).
    mode : {'full', 'same', 'valid'}
        As in `convolve`.
    axes : int or sequence of int, optional
        As in `convolve`.

    Returns
    -------
    str
        ``'direct'``, ``'fft'`` or ``'overlap_add'``.

    Examples
    --------
    >>> import numpy as np, probconv
    >>> probconv.choose_method(np.ones(100), np.ones(3))
    'direct'
    >>> probconv.choose_method(np.ones(100_000), np.ones(100_000))
    'fft'
    """
    a = in1 if isinstance(in1, jax.ShapeDtypeStruct) else as_input(in1, "in1")
    v = in2 if isinstance(in2, jax.ShapeDtypeStruct) else as_input(in2, "in2")
    mode = check_choice("mode", mode, MODES)
    if a.ndim == 0 and v.ndim == 0:
        return "direct"
    plan = plan_of(a, v, mode, axes)
    return _choose.choose(plan, jax.default_backend())
