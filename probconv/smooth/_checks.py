"""Argument checks shared by the smoothing functions (static ones eagerly)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ..conv.internal import BOUNDARY_MODES, result_dtype
from ..conv.internal import normalize_axes as _engine_axes

NAN_POLICIES = ("propagate", "omit", "raise")
# The engine's boundary modes, plus edges treated as missing values.
BOUNDARIES = (*BOUNDARY_MODES, "renormalize")
OUTPUT_MODES = ("same", "valid", "full")


def concrete(x) -> np.ndarray | None:
    """Return `x` as a NumPy array, or None when it is traced under a transform."""
    try:
        return np.asarray(x)
    except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError):
        return None


def check_choice(name: str, value, choices: tuple[str, ...]) -> str:
    """Return `value` if it is one of `choices`, else raise a ValueError."""
    if not isinstance(value, str) or value not in choices:
        text = ", ".join(repr(c) for c in choices)
        raise ValueError(f"`{name}` must be one of {text}; got {value!r}.")
    return value


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


def check_int(name: str, value, minimum: int) -> int:
    """Return `value` as an int if it is an integer ``>= minimum``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"`{name}` must be an integer; got {value!r}.")
    if value < minimum:
        raise ValueError(f"`{name}` must be an integer >= {minimum}; got {value!r}.")
    return int(value)


def normalize_axes(axes, ndim: int, name: str = "axis") -> tuple[int, ...]:
    """Non-negative axes, in the order given (None: all axes)."""
    if ndim == 0:
        raise ValueError(f"`{name}`: a 0-dimensional array has no axis to smooth.")
    return _engine_axes(name, axes, ndim, sort=False)


def per_axis(name: str, value, k: int) -> tuple:
    """Return a scalar or a length-`k` sequence as a tuple of `k` entries."""
    if isinstance(value, (list, tuple)):
        if len(value) != k:
            raise ValueError(
                f"`{name}` must be a scalar or hold one entry per smoothed axis "
                f"({k}); got {value!r}."
            )
        return tuple(value)
    if np.ndim(value) == 1 and not isinstance(value, str):
        if np.shape(value)[0] != k:
            raise ValueError(
                f"`{name}` must be a scalar or hold one entry per smoothed axis "
                f"({k}); got shape {np.shape(value)}."
            )
        return tuple(value[i] for i in range(k))
    return (value,) * k


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
    origins = per_axis("origin", origin, len(sizes))
    out = []
    for o, w in zip(origins, sizes):
        o = check_int("origin", o, -(10**18))
        if not -(w // 2) <= o <= (w - 1) // 2:
            raise ValueError(
                f"`origin` must satisfy -(w // 2) <= origin <= (w - 1) // 2 for a "
                f"window of w = {w} samples; got {o}."
            )
        out.append(o)
    return tuple(out)


def check_positive(name: str, value, *, allow_zero: bool = False) -> None:
    """Raise if a concrete `value` is not finite and positive (or non-negative)."""
    v = concrete(value)
    if v is None:
        return
    if v.dtype.kind not in "biuf":
        raise TypeError(f"`{name}` must be a real number; got {value!r}.")
    bad = ~np.isfinite(v) | ((v < 0) if allow_zero else (v <= 0))
    if np.any(bad):
        what = "non-negative" if allow_zero else "positive"
        raise ValueError(f"`{name}` must be finite and {what}; got {value!r}.")


def check_nan_policy(nan_policy: str, x: jax.Array) -> str:
    """Validate `nan_policy`; with 'raise', raise on a concrete NaN in `x`."""
    check_choice("nan_policy", nan_policy, NAN_POLICIES)
    if nan_policy == "raise":
        v = concrete(x)
        if v is not None and np.isnan(v).any():
            raise ValueError(
                "`x` contains NaN and nan_policy='raise'; use nan_policy='omit' "
                "to smooth over missing values or 'propagate' to keep them."
            )
    return nan_policy
