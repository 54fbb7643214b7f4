"""Fields of the physics and deconvolution functions, under the engine's rules.

The conversions that follow the engine's dtype and axis conventions
(`probconv.conv.internal.result_dtype` and `normalize_axes`); the checks
themselves live in the leaf `probconv._checks`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .conv.internal import normalize_axes as _engine_axes
from .conv.internal import result_dtype


def normalize_axes(axes, ndim: int, name: str = "axes") -> tuple[int, ...]:
    """Sorted non-negative axes of an array of `ndim` dimensions (None: all)."""
    if axes is None and ndim == 0:
        raise ValueError(f"`{name}`: a 0-dimensional array has no axis.")
    return _engine_axes(axes, ndim, name)


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
