"""Boundary padding with scipy.ndimage's mode names."""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from .._checks import normalize_axes

# scipy.ndimage name -> numpy.pad name.  ndimage's "reflect" repeats the edge
# sample (d c b a | a b c d), which numpy calls "symmetric"; ndimage's
# "mirror" does not (d c b | a b c d), which numpy calls "reflect".
_NDIMAGE_TO_NUMPY = {
    "constant": "constant",
    "reflect": "symmetric",
    "mirror": "reflect",
    "nearest": "edge",
    "wrap": "wrap",
}
BOUNDARY_MODES = tuple(_NDIMAGE_TO_NUMPY)


def check_boundary(mode: str, name: str = "mode") -> str:
    """Return `mode` if it is one of scipy.ndimage's boundary names.

    Parameters
    ----------
    mode : str
        A boundary name: 'constant', 'reflect', 'mirror', 'nearest', 'wrap'.
    name : str
        The argument's name, for the error message.

    Returns
    -------
    str
        `mode`, unchanged.

    Raises
    ------
    ValueError
        If `mode` is not one of the names.

    Examples
    --------
    >>> from probconv.conv.internal import check_boundary
    >>> check_boundary("wrap")
    'wrap'
    """
    if not isinstance(mode, str) or mode not in _NDIMAGE_TO_NUMPY:
        choices = ", ".join(repr(m) for m in BOUNDARY_MODES)
        raise ValueError(f"`{name}` must be one of {choices}; got {mode!r}.")
    return mode


def pad(
    x: ArrayLike,
    pad_width: int | Sequence[int] | Sequence[tuple[int, int]],
    mode: str = "reflect",
    *,
    cval: ArrayLike = 0.0,
    axes: int | Sequence[int] | None = None,
) -> jax.Array:
    """Pad an array at its edges with scipy.ndimage's boundary conventions.

    Like `numpy.pad`, but the modes carry scipy.ndimage's names, so that the
    smoothing layer and `scipy.ndimage` filters agree at the edges.

    Parameters
    ----------
    x : array_like
        The array to pad.
    pad_width : int, sequence of int, or sequence of (int, int)
        How many samples to add before and after each padded axis: one int
        for every axis and both sides, one int per axis, or one
        ``(before, after)`` pair per axis.
    mode : {'reflect', 'mirror', 'nearest', 'wrap', 'constant'}
        How the edge is extended (for ``x = a b c d``):

        - ``'reflect'``: ``d c b a | a b c d | d c b a`` (numpy's
          "symmetric"; the edge sample is repeated),
        - ``'mirror'``: ``d c b | a b c d | c b a`` (numpy's "reflect"),
        - ``'nearest'``: ``a a a | a b c d | d d d`` (numpy's "edge"),
        - ``'wrap'``: ``b c d | a b c d | a b c`` (periodic),
        - ``'constant'``: ``k k k | a b c d | k k k`` with ``k = cval``.
    cval : scalar, optional
        The fill value for ``mode='constant'``.
    axes : int or sequence of int, optional
        The axes to pad; all axes by default.

    Returns
    -------
    jax.Array
        The padded array.

    Raises
    ------
    ValueError
        If `mode` is unknown, `axes` is out of range or repeated, a width is
        negative, or `pad_width` does not match the number of axes.

    Examples
    --------
    >>> import probconv
    >>> probconv.pad([1.0, 2.0, 3.0], 2, "reflect").tolist()
    [2.0, 1.0, 1.0, 2.0, 3.0, 3.0, 2.0]
    >>> probconv.pad([1.0, 2.0, 3.0], 2, "mirror").tolist()
    [3.0, 2.0, 1.0, 2.0, 3.0, 2.0, 1.0]
    """
    mode = check_boundary(mode)
    x = jnp.asarray(x)
    ax = normalize_axes("axes", axes, x.ndim)
    widths = _normalize_widths(pad_width, len(ax))
    full = [(0, 0)] * x.ndim
    for a, w in zip(ax, widths):
        full[a] = w
    if mode == "constant":
        return jnp.pad(x, full, mode="constant", constant_values=cval)
    if mode == "mirror":
        for a, (lo, hi) in zip(ax, widths):
            if x.shape[a] == 1 and (lo or hi):
                # A single sample mirrors onto itself.
                return pad(x, pad_width, "nearest", axes=axes)
    return jnp.pad(x, full, mode=_NDIMAGE_TO_NUMPY[mode])


def _normalize_widths(pad_width, n: int) -> list[tuple[int, int]]:
    arr = [pad_width] * n if isinstance(pad_width, int) else list(pad_width)
    if len(arr) != n:
        raise ValueError(
            f"`pad_width` must give one width or one (before, after) pair per "
            f"padded axis ({n}); got {pad_width!r}."
        )
    out = []
    for w in arr:
        lo, hi = (w, w) if isinstance(w, int) else tuple(w)
        if int(lo) != lo or int(hi) != hi or lo < 0 or hi < 0:
            raise ValueError(
                f"`pad_width` must hold non-negative integers; got {pad_width!r}."
            )
        out.append((int(lo), int(hi)))
    return out
