"""convolve and correlate: checks, modes, axes, dispatch to a method."""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.typing import ArrayLike

from . import _choose, _direct, _fft, _overlap_add
from ._lags import _check_maxlag

MODES = ("full", "same", "valid")
METHODS = ("auto", "direct", "fft", "overlap_add")
_PRECISIONS = {
    None: lax.Precision.HIGHEST,
    "highest": lax.Precision.HIGHEST,
    "high": lax.Precision.HIGH,
    "default": lax.Precision.DEFAULT,
    "fastest": lax.Precision.DEFAULT,
}


def _check_mode(mode) -> str:
    if not isinstance(mode, str) or mode not in MODES:
        raise ValueError(f"`mode` must be 'full', 'same' or 'valid'; got {mode!r}.")
    return mode


def _check_method(method) -> str:
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(
            "`method` must be 'auto', 'direct', 'fft' or 'overlap_add'; "
            f"got {method!r}."
        )
    return method


def _check_precision(precision) -> lax.Precision:
    if isinstance(precision, lax.Precision):
        return precision
    if isinstance(precision, str) or precision is None:
        key = precision.lower() if isinstance(precision, str) else None
        if key in _PRECISIONS:
            return _PRECISIONS[key]
    raise ValueError(
        "`precision` must be None, 'highest', 'high', 'default' or a "
        f"jax.lax.Precision; got {precision!r}."
    )


def normalize_axes(
    axes, ndim: int, name: str = "axes", *, sort: bool = True
) -> tuple[int, ...]:
    """Return the axes named by `axes` as non-negative integers.

    The one axis check of probconv: the engine and the layers above call it
    so that every function words its errors alike.

    Parameters
    ----------
    axes : int, sequence of int, or None
        The axes; None means all of them.
    ndim : int
        The number of dimensions of the array.
    name : str
        The argument's name, for error messages.
    sort : bool
        Return the axes sorted (default) or in the order given.

    Returns
    -------
    tuple of int
        The axes, each in ``0 .. ndim - 1``.

    Raises
    ------
    TypeError
        If `axes` is not an integer or a sequence of integers.
    ValueError
        If an axis is out of range, repeated, or none is named.

    Examples
    --------
    >>> from probconv.conv import normalize_axes
    >>> normalize_axes(-1, 3), normalize_axes((2, 0), 3, sort=False)
    ((2,), (2, 0))
    """
    if axes is None:
        return tuple(range(ndim))
    if isinstance(axes, (int, np.integer)):
        seq = [axes]
    else:
        try:
            seq = list(axes)
        except TypeError:
            raise TypeError(f"`{name}` must hold integers; got {axes!r}.") from None
    out = []
    for a in seq:
        if isinstance(a, bool) or not isinstance(a, (int, np.integer)):
            raise TypeError(f"`{name}` must hold integers; got {axes!r}.")
        if not -ndim <= a < ndim:
            raise ValueError(
                f"`{name}` entry {a} is out of range for an array of {ndim} "
                f"dimension(s); got {name}={axes!r}."
            )
        out.append(int(a) % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"`{name}` must not repeat an axis; got {axes!r}.")
    if not out:
        raise ValueError(f"`{name}` must name at least one axis; got {axes!r}.")
    return tuple(sorted(out)) if sort else tuple(out)


_normalize_axes = normalize_axes


def _as_array(x, name: str) -> jax.Array:
    """Convert a user's input to a floating or complex jax array."""
    if isinstance(x, jax.Array):
        arr = x
    else:
        try:
            np_arr = np.asarray(x)
        except (TypeError, ValueError) as err:
            raise TypeError(f"`{name}` must be array-like and numeric.") from err
        if np_arr.dtype.kind not in "biufc":
            raise TypeError(
                f"`{name}` must be a numeric array; got dtype {np_arr.dtype}."
            )
        arr = jnp.asarray(np_arr)
    if not (
        jnp.issubdtype(arr.dtype, jnp.number) or jnp.issubdtype(arr.dtype, jnp.bool_)
    ):
        raise TypeError(f"`{name}` must be a numeric array; got dtype {arr.dtype}.")
    if arr.size == 0:
        raise ValueError(f"`{name}` must not be empty; got shape {arr.shape}.")
    return arr


def result_dtype(*arrays) -> np.dtype:
    """Return the floating (or complex) dtype that convolving these yields.

    JAX's promotion of the inputs, with integers and booleans promoted to the
    default floating type (float32, or float64 when x64 is enabled).

    Parameters
    ----------
    *arrays : array_like or dtype
        The inputs, or their dtypes.

    Returns
    -------
    numpy.dtype
        A floating or complex dtype.

    Examples
    --------
    >>> import numpy as np
    >>> from probconv.conv import result_dtype
    >>> result_dtype(np.float32, np.complex64)
    dtype('complex64')
    >>> result_dtype(np.int32, np.int32)  # doctests run with x64 enabled
    dtype('float64')
    """
    dt = jnp.result_type(*arrays)
    if not jnp.issubdtype(dt, jnp.inexact):
        dt = jnp.result_type(dt, jnp.float32)  # int -> float32, or float64 in x64
        if not jnp.issubdtype(dt, jnp.inexact):
            dt = jnp.dtype(jnp.float32)
        dt = jnp.promote_types(dt, jax.dtypes.canonicalize_dtype(jnp.float64))
    return jnp.dtype(dt)


class Plan(NamedTuple):
    """What a convolution computes, decided from static shapes alone.

    Both inputs are laid out with the convolved axes last; ``start[i]`` and
    ``length[i]`` give the window of the full convolution kept along each.
    """

    conv_axes: tuple[int, ...]
    shape1: tuple[int, ...]
    shape2: tuple[int, ...]
    batch: tuple[int, ...]
    start: tuple[int, ...]
    length: tuple[int, ...]
    dtype: np.dtype
    batched: tuple[bool, bool] = (False, False)  # does each input have a batch?


def _plan(in1, in2, mode: str, axes, maxlag: int | None = None) -> Plan:
    if in1.ndim != in2.ndim:
        raise ValueError(
            "`in1` and `in2` must have the same number of dimensions; got "
            f"shapes {in1.shape} and {in2.shape}."
        )
    ax = _normalize_axes(axes, in1.ndim) if in1.ndim else ()
    batch = []
    for d in range(in1.ndim):
        if d in ax:
            continue
        s1, s2 = in1.shape[d], in2.shape[d]
        if s1 != s2 and 1 not in (s1, s2):
            raise ValueError(
                f"Axis {d} is not convolved, so its sizes must match or one "
                f"must be 1 (batch broadcasting); got shapes {in1.shape} and "
                f"{in2.shape} with axes={axes!r}."
            )
        batch.append(max(s1, s2))
    n1 = tuple(in1.shape[d] for d in ax)
    n2 = tuple(in2.shape[d] for d in ax)
    if maxlag is not None:
        # correlate's lags -m..m sit at full indices n2-1-m .. n2-1+m.
        start = tuple(b - 1 - maxlag for b in n2)
        length = (2 * maxlag + 1,) * len(ax)
    elif mode == "full":
        start = (0,) * len(ax)
        length = tuple(a + b - 1 for a, b in zip(n1, n2))
    elif mode == "same":
        start = tuple((b - 1) // 2 for b in n2)
        length = n1
    else:
        if not (
            all(a >= b for a, b in zip(n1, n2)) or all(b >= a for a, b in zip(n1, n2))
        ):
            raise ValueError(
                "For 'valid' mode one input must be at least as large as the "
                "other along every convolved axis; got shapes "
                f"{in1.shape} and {in2.shape} with axes={axes!r}."
            )
        start = tuple(min(a, b) - 1 for a, b in zip(n1, n2))
        length = tuple(abs(a - b) + 1 for a, b in zip(n1, n2))
    return Plan(
        ax,
        n1,
        n2,
        tuple(batch),
        start,
        length,
        result_dtype(in1.dtype, in2.dtype),
        (
            math.prod(in1.shape[d] for d in range(in1.ndim) if d not in ax) > 1,
            math.prod(in2.shape[d] for d in range(in2.ndim) if d not in ax) > 1,
        ),
    )


def _to_canonical(x, ax):
    """Move the convolved axes `ax` to the end."""
    k = len(ax)
    return jnp.moveaxis(x, ax, tuple(range(x.ndim - k, x.ndim)))


def _from_canonical(y, ax):
    k = len(ax)
    return jnp.moveaxis(y, tuple(range(y.ndim - k, y.ndim)), ax)


@functools.partial(jax.jit, static_argnames=("plan", "method", "precision"))
def _execute(in1, in2, plan: Plan, method: str, precision) -> jax.Array:
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
            "direct": _direct.convolve_window,
            "fft": _fft.convolve_window,
            "overlap_add": _overlap_add.convolve_window,
        }[method]
        kwargs = {"precision": precision} if method == "direct" else {}
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
    y = y.astype(plan.dtype)
    return _from_canonical(y, plan.conv_axes)


def _prepare(in1, in2, mode, method, axes, precision, maxlag=None):
    method = _check_method(method)
    prec = _check_precision(precision)
    a = _as_array(in1, "in1")
    v = _as_array(in2, "in2")
    mode = _check_mode(mode)
    if a.ndim == 0 or v.ndim == 0:
        if a.ndim != v.ndim:
            raise ValueError(
                "`in1` and `in2` must have the same number of dimensions; got "
                f"shapes {a.shape} and {v.shape}."
            )
        return a, v, None, method, prec
    plan = _plan(a, v, mode, axes, maxlag)
    if method == "auto":
        method = _choose.choose(plan, jax.default_backend())
    return a, v, plan, method, prec


def convolve(
    in1: ArrayLike,
    in2: ArrayLike,
    mode: str = "full",
    *,
    method: str = "auto",
    axes: int | Sequence[int] | None = None,
    precision: str | lax.Precision | None = None,
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

    Returns
    -------
    jax.Array
        The convolution, with dtype following the inputs (JAX promotion).

    Raises
    ------
    ValueError
        For an unknown `mode`, `method` or `precision`; empty inputs; a rank
        mismatch; `axes` out of range, repeated or empty; batch axes that do
        not broadcast; or ``'valid'`` where neither input covers the other.
    TypeError
        For non-numeric inputs or non-integer `axes`.

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

    ``method='auto'`` sees the shapes of one call. Under `jax.vmap` with both
    inputs mapped, a direct method that chose one XLA convolution (1-D
    kernels of more than 31 taps, or several axes) becomes a grouped
    convolution that XLA:CPU runs very slowly; pass ``method='fft'`` there,
    or give the batch as a leading axis instead of mapping (then 'auto'
    accounts for it). Shorter 1-D kernels are summed as shifted copies on a
    CPU, which batch well either way.

    Examples
    --------
    >>> import probconv
    >>> probconv.convolve([1, 2, 3], [0, 1, 0.5], method="direct").tolist()
    [0.0, 1.0, 2.5, 4.0, 1.5]
    >>> probconv.convolve([1, 2, 3], [0, 1, 0.5], "same", method="direct").tolist()
    [1.0, 2.5, 4.0]
    """
    a, v, plan, method, prec = _prepare(in1, in2, mode, method, axes, precision)
    if plan is None:
        return (a * v).astype(result_dtype(a, v))
    return _execute(a, v, plan, method, prec)


def correlate(
    in1: ArrayLike,
    in2: ArrayLike,
    mode: str = "full",
    *,
    method: str = "auto",
    axes: int | Sequence[int] | None = None,
    maxlag: int | None = None,
    precision: str | lax.Precision | None = None,
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

    Returns
    -------
    jax.Array
        The cross-correlation; `correlation_lags` gives the lag of each
        entry along an axis.

    Raises
    ------
    ValueError, TypeError
        As `convolve`, and for a negative or non-integer `maxlag`.

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
        maxlag = _check_maxlag(maxlag)
    a = _as_array(in1, "in1")
    v = _as_array(in2, "in2")
    if jnp.iscomplexobj(v):
        v = jnp.conj(v)
    if v.ndim:
        ax = _normalize_axes(axes, v.ndim) if v.ndim == a.ndim else axes
        if v.ndim == a.ndim:
            v = jnp.flip(v, ax)
    a, v, plan, method, prec = _prepare(a, v, mode, method, axes, precision, maxlag)
    if plan is None:
        return (a * v).astype(result_dtype(a, v))
    return _execute(a, v, plan, method, prec)


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
    a = in1 if isinstance(in1, jax.ShapeDtypeStruct) else _as_array(in1, "in1")
    v = in2 if isinstance(in2, jax.ShapeDtypeStruct) else _as_array(in2, "in2")
    mode = _check_mode(mode)
    if a.ndim == 0 and v.ndim == 0:
        return "direct"
    plan = _plan(a, v, mode, axes)
    return _choose.choose(plan, jax.default_backend())
