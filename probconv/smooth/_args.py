"""The smoothing functions' own arguments: inputs, output dtypes, boundaries.

The generic checks (integers, choices, axes, NaN policies, ranges) live in
the leaf `probconv._checks`; what is here is smoothing's vocabulary.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .._checks import (
    check_choice,
    check_int,
    check_range,
    check_real,
    concrete,
    per_axis,
    result_dtype,
)
from ..conv.internal import BOUNDARY_MODES

# The engine's boundary modes, plus edges treated as missing values.
BOUNDARIES = (*BOUNDARY_MODES, "renormalize")
OUTPUT_MODES = ("same", "valid", "full")


# Half precision is computed in float32 and the result cast back: sums of a
# window's products in float16 would lose most digits (and the engine's cost
# model has no figures for 2-byte types).
_HALF = (np.dtype(jnp.float16), np.dtype(jnp.bfloat16))


def as_inexact(x, name: str = "x", *, complex_ok: bool = True):
    """Return `x` in the dtype to compute in, and the dtype of the result.

    Integers and booleans give the default floating dtype; float16 and
    bfloat16 are computed in float32 and the result cast back; complex input
    stays complex where `complex_ok` (a clear TypeError otherwise).
    """
    if not isinstance(x, jax.Array):
        try:
            arr = np.asarray(x)
        except (TypeError, ValueError) as err:
            raise TypeError(f"`{name}` must be a numeric array.") from err
        kinds = "biufc" if complex_ok else "biuf"
        if arr.dtype.kind not in kinds and arr.dtype not in _HALF:
            what = "numeric" if complex_ok else "real numeric"
            raise TypeError(f"`{name}` must be a {what} array; got dtype {arr.dtype}.")
        x = jnp.asarray(arr)
    elif not (jnp.issubdtype(x.dtype, jnp.number) or x.dtype == jnp.bool_) or (
        not complex_ok and jnp.issubdtype(x.dtype, jnp.complexfloating)
    ):
        what = "numeric" if complex_ok else "real numeric"
        raise TypeError(f"`{name}` must be a {what} array; got dtype {x.dtype}.")
    if x.size == 0:
        raise ValueError(f"`{name}` must not be empty; got shape {x.shape}.")
    out = np.dtype(result_dtype(x))
    compute = np.dtype(jnp.float32) if out in _HALF else out
    return x.astype(compute), out


def output_dtype(output, result: np.dtype, compute: np.dtype):
    """Check `output` (a dtype, like scipy.ndimage's ``output=``).

    Returns ``(dtype to compute in, dtype of the result)``: the result in
    `output`'s dtype (floats truncated toward zero for an integer dtype, as
    ndimage does), computed in the wider of `compute` and `output` (float32
    at least).
    """
    if output is None:
        return compute, result
    if isinstance(output, (np.ndarray, jax.Array)):
        raise TypeError(
            "`output` takes a dtype (JAX arrays are immutable, so there is no "
            f"array to write into); got an array of shape {np.shape(output)}."
        )
    try:
        dt = np.dtype(output)
    except TypeError as err:
        raise TypeError(f"`output` must be a dtype; got {output!r}.") from err
    if dt.kind not in "biufc" and dt not in _HALF:
        raise TypeError(f"`output` must be a numeric dtype; got {dt}.")
    if np.dtype(compute).kind == "c" and dt.kind != "c":
        raise TypeError(
            f"`output` must be complex for complex input; got {dt} (scipy.ndimage "
            "promotes it with a warning; pass a complex dtype)."
        )
    if dt.kind in "fc" and dt not in _HALF:
        compute = np.dtype(jnp.promote_types(compute, dt))
    return compute, dt


def check_boundaries(boundary, k: int, choices: tuple[str, ...] = BOUNDARIES):
    """Return one boundary mode per smoothed axis (a name, or one per axis)."""
    if isinstance(boundary, str):
        check_choice("boundary", boundary, choices)
        return (boundary,) * k
    if not isinstance(boundary, (list, tuple)) or len(boundary) != k:
        raise ValueError(
            "`boundary` must be a mode name or a sequence of one per smoothed "
            f"axis ({k}); got {boundary!r}."
        )
    for b in boundary:
        check_choice("boundary", b, choices)
    return tuple(boundary)


def check_origins(origin, sizes) -> tuple[int, ...]:
    """Return one origin per axis, in scipy.ndimage's range for each window."""
    origins = per_axis("origin", origin, len(sizes), entries=True, per="smoothed axis")
    out = []
    for o, w in zip(origins, sizes):
        o = check_int("origin", o, minimum=None)
        if not -(w // 2) <= o <= (w - 1) // 2:
            raise ValueError(
                f"`origin` must satisfy -(w // 2) <= origin <= (w - 1) // 2 for a "
                f"window of w = {w} samples; got {o}."
            )
        out.append(o)
    return tuple(out)


def check_scale(name: str, value, *, allow_zero: bool = False) -> None:
    """Raise if `value` is not real, or where known, not finite and positive.

    With `allow_zero`, non-negative. A traced `value` is checked for its
    dtype only; the smoothing functions document NaN out for a bad one.
    """
    check_real(name, value)
    v = concrete(value)
    if v is not None:
        check_range(name, v.astype(np.float64), low=0, low_open=not allow_zero)
