"""Argument checks shared by the smoothing functions (static ones eagerly)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ..conv import BOUNDARY_MODES, result_dtype
from ..conv import normalize_axes as _engine_axes

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


def as_float(x, name: str = "x") -> jax.Array:
    """Return `x` as a real, non-empty floating jax array."""
    if not isinstance(x, jax.Array):
        try:
            arr = np.asarray(x)
        except (TypeError, ValueError) as err:
            raise TypeError(f"`{name}` must be a real numeric array.") from err
        if arr.dtype.kind not in "biuf":
            raise TypeError(
                f"`{name}` must be a real numeric array; got dtype {arr.dtype}."
            )
        x = jnp.asarray(arr)
    elif not (
        jnp.issubdtype(x.dtype, jnp.integer)
        or jnp.issubdtype(x.dtype, jnp.floating)
        or x.dtype == jnp.bool_
    ):
        raise TypeError(f"`{name}` must be a real numeric array; got dtype {x.dtype}.")
    if x.size == 0:
        raise ValueError(f"`{name}` must not be empty; got shape {x.shape}.")
    return x.astype(result_dtype(x))


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
    return _engine_axes(axes, ndim, name, sort=False)


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
