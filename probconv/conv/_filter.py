"""Boundary-aware correlation along one axis: scipy.ndimage's filters.

A filter correlates a signal extended past its ends by a boundary rule.
Padding the whole signal first costs a second pass over it (XLA writes the
padded concatenation out); for sums that take one pass over the data (a
short kernel's shifted copies, a boxcar's running sums) the interior is
correlated from the signal itself and only the few outputs that reach into
the extension are computed apart, from short padded ends, and written into
place. Long kernels go to the engine's FFT or overlap-add on the padded
signal, whose transforms pad anyway.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from .._checks import (
    check_choice,
    check_int,
    normalize_axes,
    per_axis,
    result_dtype,
)
from ._api import correlate
from ._args import as_input
from ._choose import SHIFT_MAX_TAPS, running_method
from ._pad import check_boundary, pad
from ._programs import bounded_jit
from ._running import valid_sums

FILTER_MODES = ("same", "full", "valid")
FILTER_METHODS = ("auto", "direct", "fft", "overlap_add")
RUNNING_METHODS = ("auto", "direct", "running")


def extension(w: int, n: int, origin: int, mode: str) -> tuple[int, int]:
    """Return the samples added before and after an axis of length `n`.

    For a window of `w` taps: ``mode='same'`` centres it at ``w // 2 +
    origin`` (scipy.ndimage's convention), ``'full'`` adds ``w - 1`` on each
    side, ``'valid'`` nothing.
    """
    mode = check_choice("mode", mode, FILTER_MODES)
    origin = check_int("origin", origin, minimum=None)
    if mode != "same" and origin != 0:
        raise ValueError(f"`origin` applies to mode='same' only; got {origin}.")
    if not -(w // 2) <= origin <= (w - 1) // 2:
        raise ValueError(
            f"`origin` must lie in [{-(w // 2)}, {(w - 1) // 2}] for a window of "
            f"{w} taps; got {origin}."
        )
    if mode == "valid" and n < w:
        raise ValueError(
            f"mode='valid' needs the axis (length {n}) to be at least as long as "
            f"the window ({w})."
        )
    if mode == "same":
        lo = w // 2 + origin
        return lo, w - 1 - lo
    if mode == "full":
        return w - 1, w - 1
    return 0, 0


def extended_valid(
    x: jax.Array,
    w: int,
    axis: int,
    lo: int,
    hi: int,
    boundary: str,
    cval,
    valid: Callable[[jax.Array], jax.Array],
    small: Callable[[jax.Array], jax.Array],
    one_pass: bool,
) -> jax.Array:
    """Apply `valid` to `x` extended by ``(lo, hi)`` along `axis` (`boundary`).

    `valid` computes the 'valid' sums of a window of `w` taps along `axis`;
    `small` the same for the short padded ends. With `one_pass` (a sum that
    reads the data once) and a boundary that copies samples, the ends are
    computed apart instead of padding all of `x`.
    """
    n = x.shape[axis]
    if lo == 0 and hi == 0:
        return valid(x)
    if not (one_pass and boundary != "constant" and n >= 2 * w):
        return valid(pad(x, [(lo, hi)], boundary, cval=cval, axes=axis))

    def take(a, b):
        return jax.lax.slice_in_dim(x, a, b, axis=axis)

    y = valid(x)
    pads = [(0, 0)] * x.ndim
    pads[axis] = (lo, hi)
    y = jnp.pad(y, pads)
    if lo:
        if boundary == "wrap":
            head = jnp.concatenate([take(n - lo, n), take(0, w - 1)], axis=axis)
        else:  # the other modes read at most w samples from this end
            head = pad(take(0, w), [(lo, 0)], boundary, axes=axis)
        head = jax.lax.slice_in_dim(head, 0, lo + w - 1, axis=axis)
        y = jax.lax.dynamic_update_slice_in_dim(y, small(head), 0, axis=axis)
    if hi:
        if boundary == "wrap":
            tail = jnp.concatenate([take(n - (w - 1), n), take(0, hi)], axis=axis)
        else:
            tail = pad(take(n - w, n), [(0, hi)], boundary, axes=axis)
            tail = jax.lax.slice_in_dim(tail, 1, w + hi, axis=axis)
        start = n + lo - w + 1
        y = jax.lax.dynamic_update_slice_in_dim(y, small(tail), start, axis=axis)
    return y


def _prepare(x, axis, boundary, cval):
    x = as_input(x, "input")
    if x.ndim == 0 or x.size == 0:
        raise ValueError(f"`input` must be a non-empty array; got shape {x.shape}.")
    (axis,) = normalize_axes("axis", axis, x.ndim)
    boundary = check_boundary(boundary, "boundary")
    return x, axis, boundary


def correlate1d(
    input: ArrayLike,
    weights: ArrayLike,
    axis: int = -1,
    *,
    boundary: str = "reflect",
    cval: ArrayLike = 0.0,
    origin: int = 0,
    mode: str = "same",
    method: str = "auto",
) -> jax.Array:
    r"""Correlate along one axis with a boundary rule, as scipy.ndimage.

    Like `scipy.ndimage.correlate1d` (``boundary`` is ndimage's ``mode``),
    with scipy.signal's output sizes in `mode` and the engine's methods. The
    other axes are batch axes.

    Parameters
    ----------
    input : array_like
        The signal; integers give floating results.
    weights : array_like
        The 1-D kernel, of any length (longer than the signal too).
    axis : int
        The axis filtered (default: the last).
    boundary : {'reflect', 'mirror', 'nearest', 'wrap', 'constant'}
        How the signal is extended past its ends (see `probconv.pad`):
        scipy.ndimage's names and results, for any kernel length.
    cval : scalar
        The fill value for ``boundary='constant'``.
    origin : int
        With ``mode='same'``, shifts the window: output ``i`` reads
        ``input[i - w // 2 - origin ...]``; between ``-(w // 2)`` and
        ``(w - 1) // 2``.
    mode : {'same', 'full', 'valid'}
        ``'same'`` (scipy.ndimage's output): the input's length; ``'full'``:
        ``n + w - 1`` outputs, every window that overlaps the signal;
        ``'valid'``: ``n - w + 1`` outputs, no boundary read.
    method : {'auto', 'direct', 'fft', 'overlap_add'}
        As in `probconv.convolve`; 'auto' picks by the engine's cost model.

    Returns
    -------
    jax.Array
        The filtered signal, of the promoted floating (or complex) dtype.

    Raises
    ------
    ValueError
        If `weights` is not a non-empty 1-D array, `input` is empty,
        `boundary`, `mode` or `method` is unknown, `origin` is out of range
        (or not 0 outside ``mode='same'``), `axis` is out of range, or
        ``mode='valid'`` gets a kernel longer than the signal.
    TypeError
        If `origin` is not an integer.

    See Also
    --------
    convolve1d, running_sum, probconv.correlate, scipy.ndimage.correlate1d

    Notes
    -----
    With :math:`\tilde x` the signal extended by `boundary` and
    :math:`l = \lfloor w / 2 \rfloor + \mathrm{origin}`,

    .. math:: y_i = \sum_{j=0}^{w-1} \overline{k_j}\, \tilde x_{i + j - l},

    (``'same'``; the conjugate as in scipy). A short kernel's sums (the
    direct method's shifted copies, up to 31 taps) are computed without
    padding the whole signal: the interior from the signal itself, the ends
    apart.

    Examples
    --------
    >>> import probconv
    >>> x = [1.0, 2.0, 4.0, 8.0]
    >>> probconv.conv.correlate1d(x, [1.0, 1.0, 1.0]).tolist()
    [4.0, 7.0, 14.0, 20.0]
    >>> probconv.conv.correlate1d(x, [1.0, 0.0, -1.0], boundary="wrap").tolist()
    [6.0, -3.0, -6.0, 3.0]
    >>> probconv.conv.correlate1d(x, [1.0, 1.0], mode="full").tolist()
    [2.0, 3.0, 6.0, 12.0, 16.0]
    """
    x, axis, boundary = _prepare(input, axis, boundary, cval)
    k = as_input(weights, "weights")
    if k.ndim != 1 or k.shape[0] == 0:
        raise ValueError(
            f"`weights` must be a non-empty 1-D array; got shape {k.shape}."
        )
    method = check_choice("method", method, FILTER_METHODS)
    lo, hi = extension(k.shape[0], x.shape[axis], origin, mode)
    return _correlate1d(x, k, cval, axis, lo, hi, boundary, method)


# One program per signature (shapes, dtypes and the static options), kept in
# the engine's bounded cache: an eager call compiles once instead of op by
# op (59 small programs and 2 s for a first `running_sum` with reflection),
# and the arrays and `cval` are traced, so new values compile nothing.
@bounded_jit(static_argnums=(3, 4, 5, 6, 7))
def _correlate1d(x, k, cval, axis, lo, hi, boundary, method):
    w = k.shape[0]
    dtype = result_dtype(x, k)
    x = x.astype(dtype)
    shape = [1] * x.ndim
    shape[axis] = w
    kb = k.astype(dtype).reshape(shape)

    def valid(xp):
        return correlate(xp, kb, "valid", axes=axis, method=method)

    def small(xp):
        return correlate(xp, kb, "valid", axes=axis, method="direct")

    one_pass = w <= SHIFT_MAX_TAPS and method in ("auto", "direct")
    return extended_valid(x, w, axis, lo, hi, boundary, cval, valid, small, one_pass)


def convolve1d(
    input: ArrayLike,
    weights: ArrayLike,
    axis: int = -1,
    *,
    boundary: str = "reflect",
    cval: ArrayLike = 0.0,
    origin: int = 0,
    mode: str = "same",
    method: str = "auto",
) -> jax.Array:
    r"""Convolve along one axis with a boundary rule, as scipy.ndimage.

    Like `scipy.ndimage.convolve1d`: `correlate1d` with the kernel reversed
    (and not conjugated), the origin mirrored as ndimage does.

    Parameters
    ----------
    input, weights, axis, boundary, cval, origin, mode, method
        As in `correlate1d`.

    Returns
    -------
    jax.Array
        The filtered signal.

    Raises
    ------
    ValueError, TypeError
        As `correlate1d`.

    See Also
    --------
    correlate1d, scipy.ndimage.convolve1d

    Notes
    -----
    .. math:: y_i = \sum_j k_j\, \tilde x_{i - j + c},

    with :math:`c = \lfloor w / 2 \rfloor + \mathrm{origin}` for ``'same'``.

    Examples
    --------
    >>> import probconv
    >>> probconv.conv.convolve1d([1.0, 2.0, 4.0, 8.0], [1.0, 0.0, -1.0]).tolist()
    [1.0, 3.0, 6.0, 4.0]
    """
    k = as_input(weights, "weights")
    if k.ndim != 1 or k.shape[0] == 0:
        raise ValueError(
            f"`weights` must be a non-empty 1-D array; got shape {k.shape}."
        )
    origin = check_int("origin", origin, minimum=None)
    flipped = -origin - (1 - k.shape[0] % 2) if mode == "same" else -origin
    kr = jnp.conj(jnp.flip(k)) if jnp.iscomplexobj(k) else jnp.flip(k)
    return correlate1d(
        input,
        kr,
        axis,
        boundary=boundary,
        cval=cval,
        origin=flipped,
        mode=mode,
        method=method,
    )


def running_sum(
    input: ArrayLike,
    size: int,
    axis: int = -1,
    *,
    weight: ArrayLike | None = None,
    boundary: str = "reflect",
    cval: ArrayLike = 0.0,
    origin: int = 0,
    mode: str = "same",
    method: str = "auto",
) -> jax.Array:
    r"""Sum every `size` consecutive samples along an axis (a boxcar).

    `correlate1d` with a kernel of ones, in O(n) whatever `size`: short
    windows are summed directly in one pass, long ones in blocks of `size`
    samples (van Herk, Gil and Werman's decomposition), whose rounding error
    is that of summing one window, not of a cumulative sum over the whole
    series. Integer inputs give exact integer sums, in their own dtype.

    Parameters
    ----------
    input : array_like
        The signal.
    size : int
        The window length, at least 1.
    weight : scalar, optional
        Every tap's weight: the sums times `weight` (`correlate1d` with
        `size` copies of `weight`; ``1 / size`` gives the moving mean). The
        product is taken with the sums, in the same pass; multiplying the
        result afterwards costs another pass over it.
    axis, boundary, cval, origin, mode
        As in `correlate1d`.
    method : {'auto', 'direct', 'running'}
        ``'direct'``: ``size`` adds per output; ``'running'``: the blocks;
        ``'auto'``: the cheaper by the engine's cost model.

    Returns
    -------
    jax.Array
        The window sums (times `weight`), of the promoted dtype of `input`
        and `weight`.

    Raises
    ------
    ValueError
        If `size` is less than 1, or as `correlate1d`.
    TypeError
        If `size` or `origin` is not an integer.

    See Also
    --------
    correlate1d, scipy.ndimage.uniform_filter1d

    Notes
    -----
    .. math:: y_i = c \sum_{j=0}^{w-1} \tilde x_{i + j - l}

    with :math:`c` the `weight` (1 by default).

    A window ``[b w + r, (b + 1) w + r)`` is the tail of block ``b`` plus
    the head of block ``b + 1``: every term sums at most ``w`` samples.

    Examples
    --------
    >>> import probconv
    >>> probconv.conv.running_sum([1, 2, 3, 4, 5], 2, mode="valid").tolist()
    [3, 5, 7, 9]
    >>> probconv.conv.running_sum([1.0, 2.0, 3.0], 3, boundary="nearest").tolist()
    [4.0, 6.0, 8.0]
    >>> probconv.conv.running_sum([1.0, 2.0, 4.0], 2, weight=0.5, mode="valid").tolist()
    [1.5, 3.0]
    """
    x, axis, boundary = _prepare(input, axis, boundary, cval)
    size = check_int("size", size, minimum=1)
    method = check_choice("method", method, RUNNING_METHODS)
    dtype = jnp.int32 if x.dtype == bool else x.dtype
    if weight is not None:
        if np.ndim(weight) != 0:
            raise ValueError(
                f"`weight` must be a scalar; got shape {np.shape(weight)}."
            )
        # JAX's promotion: a Python number keeps the input's dtype, an
        # integer weight keeps integer sums exact.
        dtype = jnp.result_type(dtype, weight)
    dtype = np.dtype(jax.dtypes.canonicalize_dtype(dtype))
    n = x.shape[axis]
    lo, hi = extension(size, n, origin, mode)
    backend = jax.default_backend()
    outputs = x.size // n * (n + lo + hi - size + 1)
    how = running_method(size, outputs, dtype, backend, method)
    # The ends apart: at most `size` outputs on each side of each row, priced
    # alone (a long window's ends by blocks, not `size` adds per output).
    edge = running_method(size, x.size // n * max(lo, hi, 1), dtype, backend, method)
    return _running_sum(x, weight, cval, size, axis, lo, hi, boundary, how, edge, dtype)


@bounded_jit(static_argnums=tuple(range(3, 11)))
def _running_sum(x, weight, cval, size, axis, lo, hi, boundary, how, edge, dtype):
    x = x.astype(dtype)
    if weight is not None:
        weight = jnp.asarray(weight, dtype)

    # The weight is applied inside `valid`, before the edges are put in
    # place (see `valid_sums`): then pad, sums and product are one pass.
    def valid(xp):
        return valid_sums(xp, size, axis, how, weight, SHIFT_MAX_TAPS)

    def small(xp):
        return valid_sums(xp, size, axis, edge, weight, SHIFT_MAX_TAPS)

    return extended_valid(x, size, axis, lo, hi, boundary, cval, valid, small, True)


def correlate_nd(
    input: ArrayLike,
    weights: ArrayLike,
    axes: int | Sequence[int] | None = None,
    *,
    boundary: str | Sequence[str] = "reflect",
    cval: ArrayLike = 0.0,
    origin: int | Sequence[int] = 0,
    mode: str = "same",
    method: str = "auto",
) -> jax.Array:
    r"""Correlate over several axes with a boundary rule, as scipy.ndimage.

    Like `scipy.ndimage.correlate` over `axes` (the others are batch axes),
    with `correlate1d`'s arguments; `boundary` and `origin` may give one
    value per axis. For a separable kernel, `correlate1d` along each axis in
    turn is cheaper.

    Parameters
    ----------
    input : array_like
        The array.
    weights : array_like
        The kernel, one dimension per axis in `axes`.
    axes : int or sequence of int, optional
        The axes filtered, in the order of the kernel's dimensions; by
        default the last ``weights.ndim`` axes.
    boundary : str or sequence of str
        As in `correlate1d`, one for all axes or one per axis.
    cval : scalar
        The fill value for ``boundary='constant'`` (corners too).
    origin : int or sequence of int
        As in `correlate1d`, one for all axes or one per axis.
    mode, method
        As in `correlate1d`.

    Returns
    -------
    jax.Array
        The filtered array.

    Raises
    ------
    ValueError
        If `weights` is empty or its dimensions do not match `axes`, a
        per-axis sequence has the wrong length, or as `correlate1d`.
    TypeError
        If an origin is not an integer.

    See Also
    --------
    correlate1d, scipy.ndimage.correlate

    Notes
    -----
    .. math:: y_{i} = \sum_{j} \overline{k_{j}}\, \tilde x_{i + j - l}

    with multi-indices :math:`i, j` and :math:`l_a = \lfloor w_a / 2
    \rfloor + \mathrm{origin}_a` on each axis (``'same'``).

    Examples
    --------
    >>> import probconv
    >>> x = [[1.0, 2.0], [3.0, 4.0]]
    >>> probconv.conv.correlate_nd(x, [[1.0, 1.0], [1.0, 1.0]]).tolist()
    [[4.0, 6.0], [8.0, 10.0]]
    """
    x = as_input(input, "input")
    k = as_input(weights, "weights")
    if k.ndim == 0 or k.size == 0:
        raise ValueError(f"`weights` must be a non-empty array; got shape {k.shape}.")
    if x.size == 0:
        raise ValueError(f"`input` must be a non-empty array; got shape {x.shape}.")
    if axes is None:
        if k.ndim > x.ndim:
            raise ValueError(
                f"`weights` has more dimensions ({k.ndim}) than `input` ({x.ndim})."
            )
        axes = tuple(range(x.ndim - k.ndim, x.ndim))
    ax = normalize_axes("axes", axes, x.ndim, sort=False)
    if len(ax) != k.ndim:
        raise ValueError(
            f"`weights` must have one dimension per axis in `axes` ({len(ax)}); "
            f"got shape {k.shape}."
        )
    bounds = per_axis("boundary", boundary, len(ax), entries=True)
    origins = per_axis("origin", origin, len(ax), entries=True)
    bounds = [check_boundary(b, "boundary") for b in bounds]
    method = check_choice("method", method, FILTER_METHODS)
    ext = tuple(
        extension(w, x.shape[a], o, mode) for a, w, o in zip(ax, k.shape, origins)
    )
    return _correlate_nd(x, k, cval, ax, ext, tuple(bounds), method)


@bounded_jit(static_argnums=(3, 4, 5, 6))
def _correlate_nd(x, k, cval, ax, ext, bounds, method):
    dtype = result_dtype(x, k)
    x = x.astype(dtype)
    for a, (lo, hi), b in zip(ax, ext, bounds):
        if lo or hi:
            x = pad(x, [(lo, hi)], b, cval=cval, axes=a)
    # The kernel laid along `axes`, in the array's axis order.
    order = np.argsort(ax)
    kb = jnp.transpose(k.astype(dtype), order)
    shape = [1] * x.ndim
    for a, w in zip(ax, k.shape):
        shape[a] = w
    kb = kb.reshape(shape)
    return correlate(x, kb, "valid", axes=tuple(sorted(ax)), method=method)
