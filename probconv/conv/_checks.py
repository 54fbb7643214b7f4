"""Argument checks shared by the engine's public functions.

A leaf module: it imports nothing from the package, so `_api`, `_lags` and
`_pad` all read their checks from here and none imports another for them.
"""

from __future__ import annotations

import jax
import numpy as np
from jax import lax

MODES = ("full", "same", "valid")
METHODS = ("auto", "direct", "fft", "overlap_add")
PRECISIONS = {
    None: lax.Precision.HIGHEST,
    "highest": lax.Precision.HIGHEST,
    "high": lax.Precision.HIGH,
    "default": lax.Precision.DEFAULT,
    "fastest": lax.Precision.DEFAULT,
}


def check_mode(mode) -> str:
    if not isinstance(mode, str) or mode not in MODES:
        raise ValueError(f"`mode` must be 'full', 'same' or 'valid'; got {mode!r}.")
    return mode


def check_method(method) -> str:
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(
            "`method` must be 'auto', 'direct', 'fft' or 'overlap_add'; "
            f"got {method!r}."
        )
    return method


def check_precision(precision) -> lax.Precision:
    if isinstance(precision, lax.Precision):
        return precision
    if isinstance(precision, str) or precision is None:
        key = precision.lower() if isinstance(precision, str) else None
        if key in PRECISIONS:
            return PRECISIONS[key]
    raise ValueError(
        "`precision` must be None, 'highest', 'high', 'default' or a "
        f"jax.lax.Precision; got {precision!r}."
    )


def check_maxlag(maxlag) -> int:
    if (
        isinstance(maxlag, bool)
        or not isinstance(maxlag, (int, np.integer))
        or maxlag < 0
    ):
        raise ValueError(f"`maxlag` must be a non-negative integer; got {maxlag!r}.")
    return int(maxlag)


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
    >>> from probconv.conv.internal import normalize_axes
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


def as_input(x, name: str):
    """Return a user's input as a NumPy array or a JAX array (or tracer).

    NumPy arrays stay on the host, so that an eager call can pad them to a
    bucket size or hand them to a host computation without a device round
    trip; everything else array-like becomes a NumPy array first.
    """
    if isinstance(x, (jax.Array, np.ndarray)):
        arr = x
    else:
        try:
            arr = np.asarray(x)
        except (TypeError, ValueError) as err:
            raise TypeError(f"`{name}` must be array-like and numeric.") from err
    dt = np.dtype(arr.dtype)
    if dt.kind not in "biufc" and dt.name != "bfloat16":
        raise TypeError(f"`{name}` must be a numeric array; got dtype {dt}.")
    if arr.size == 0:
        raise ValueError(f"`{name}` must not be empty; got shape {arr.shape}.")
    return arr
