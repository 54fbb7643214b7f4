"""Argument checks of arrays and fields shared by the layers (static ones eagerly).

The physics and deconvolution packages check their fields here; the other
layers keep checks of their own for now (one convention across all of them
is the goal, see the Architecture page).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .conv.internal import normalize_axes as _engine_axes
from .conv.internal import result_dtype


def concrete(x) -> np.ndarray | None:
    """Return `x` as a NumPy array, or None when it is traced under a transform."""
    try:
        return np.asarray(x)
    except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError):
        return None


def is_real_dtype(dtype) -> bool:
    """Whether `dtype` is boolean, integer or real floating (half included)."""
    dt = jnp.dtype(dtype)
    return dt == jnp.bool_ or bool(
        jnp.issubdtype(dt, jnp.integer) or jnp.issubdtype(dt, jnp.floating)
    )


def compute_dtype(dtype) -> np.dtype:
    """Return the dtype computed in: float16 and bfloat16 widened to float32.

    XLA's FFTs take only float32 and float64, and half precision loses too
    much in sums and iterations; the functions compute in float32 and round
    the result back to the documented dtype.
    """
    dt = jnp.dtype(dtype)
    if jnp.issubdtype(dt, jnp.floating) and dt.itemsize < 4:
        return jnp.dtype(jnp.float32)
    return dt


def check_real(name: str, x):
    """Raise a TypeError if `x` (concrete or traced) is complex or not numeric."""
    dt = x.dtype if hasattr(x, "dtype") else np.asarray(x).dtype
    try:
        ok = is_real_dtype(dt)
    except TypeError:
        ok = False
    if not ok:
        raise TypeError(f"`{name}` must be real; got dtype {dt}.")


def check_param(name: str, x, *, positive: bool = False, finite: bool = True):
    """Raise if a concrete `x` is negative (or not positive), NaN or infinite."""
    v = concrete(x)
    if v is None:
        return
    try:
        real = is_real_dtype(v.dtype)
    except TypeError:
        real = False
    if not real:
        raise TypeError(f"`{name}` must be real; got {x!r}.")
    v = v.astype(np.float64)
    if np.any(np.isnan(v)) or (finite and not np.all(np.isfinite(v))):
        raise ValueError(f"`{name}` must be finite; got {x!r}.")
    if positive and np.any(v <= 0):
        raise ValueError(f"`{name}` must be positive; got {x!r}.")
    if not positive and np.any(v < 0):
        raise ValueError(f"`{name}` must be non-negative; got {x!r}.")


def check_finite(name: str, x):
    """Raise if a concrete `x` is not real and finite."""
    v = concrete(x)
    if v is None:
        return
    try:
        real = is_real_dtype(v.dtype)
    except TypeError:
        real = False
    if not real:
        raise TypeError(f"`{name}` must be real; got {x!r}.")
    if not np.all(np.isfinite(v.astype(np.float64))):
        raise ValueError(f"`{name}` must be finite; got {x!r}.")


def check_choice(name: str, value, choices: tuple[str, ...]) -> str:
    """Return `value` if it is one of `choices`, else raise a ValueError."""
    if not isinstance(value, str) or value not in choices:
        text = ", ".join(repr(c) for c in choices)
        raise ValueError(f"`{name}` must be one of {text}; got {value!r}.")
    return value


def normalize_axes(axes, ndim: int, name: str = "axes") -> tuple[int, ...]:
    """Sorted non-negative axes of an array of `ndim` dimensions (None: all)."""
    if axes is None and ndim == 0:
        raise ValueError(f"`{name}`: a 0-dimensional array has no axis.")
    return _engine_axes(axes, ndim, name)


def per_axis(name: str, x, k: int):
    """Broadcast a scalar or a length-`k` parameter to shape ``(k,)``."""
    shape = np.shape(x)
    if shape not in ((), (k,)):
        raise ValueError(
            f"`{name}` must be a scalar or hold one value per axis ({k}); "
            f"got shape {shape}."
        )
    return jnp.broadcast_to(jnp.asarray(x), (k,))


def as_field(u, name: str = "u") -> jax.Array:
    """Return `u` as a numeric, non-empty array of an inexact dtype."""
    if not isinstance(u, jax.Array):
        arr = np.asarray(u)
        if arr.dtype.kind not in "biufc":
            raise TypeError(f"`{name}` must be a numeric array; got dtype {arr.dtype}.")
        u = jnp.asarray(arr)
    if u.size == 0:
        raise ValueError(f"`{name}` must not be empty; got shape {u.shape}.")
    return u.astype(result_dtype(u))


def real_dtype(*xs):
    """Return the real floating dtype that `xs` promote to."""
    xs = [np.asarray(x) if isinstance(x, (list, tuple)) else x for x in xs]
    dt = result_dtype(*xs)
    return jnp.finfo(dt).dtype


def check_int(name: str, value, minimum: int) -> int:
    """Return `value` as a static Python integer, at least `minimum`."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"`{name}` must be an integer; got {value!r}.")
    if value < minimum:
        raise ValueError(f"`{name}` must be at least {minimum}; got {value!r}.")
    return int(value)
