"""The similarity functions' inputs: arrays, dtypes, axes and shifts.

The generic checks (integers, choices, axes, NaN policies) live in the leaf
`probconv._checks`; what is here converts and aligns the arrays the
similarity functions take.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from .._checks import check_axis, compute_dtype, result_dtype


def as_array(x, name: str, *, allow_complex: bool = True) -> jax.Array:
    """Return `x` as a non-empty numeric jax array (cast later by `to_float`)."""
    if not isinstance(x, jax.Array):
        try:
            np_arr = np.asarray(x)
        except (TypeError, ValueError) as err:
            raise TypeError(f"`{name}` must be array-like and numeric.") from err
        if np_arr.dtype.kind not in "biufc":
            raise TypeError(
                f"`{name}` must be a numeric array; got dtype {np_arr.dtype}."
            )
        x = jnp.asarray(np_arr)
    if not (jnp.issubdtype(x.dtype, jnp.number) or x.dtype == jnp.bool_):
        raise TypeError(f"`{name}` must be a numeric array; got dtype {x.dtype}.")
    if not allow_complex and jnp.issubdtype(x.dtype, jnp.complexfloating):
        raise TypeError(f"`{name}` must be real; got dtype {x.dtype}.")
    if x.ndim == 0:
        raise ValueError(f"`{name}` must have at least one dimension; got a scalar.")
    if x.size == 0:
        raise ValueError(f"`{name}` must not be empty; got shape {x.shape}.")
    return x


def to_float(x) -> jax.Array:
    """Cast to the dtype the computation runs in.

    Integers and booleans become the engine's floating dtype; half precision
    (float16, bfloat16) becomes float32, since running sums, FFTs and
    variances in 11 or 8 significant bits are not worth returning.
    """
    return x.astype(compute_dtype(result_dtype(x.dtype)))


def half_dtype(*arrays) -> np.dtype | None:
    """Return the half-precision dtype the inputs promote to, or None.

    Functions compute such inputs in float32 (`to_float`) and cast their
    results back to this dtype.
    """
    dt = np.dtype(jnp.result_type(*(a.dtype for a in arrays)))
    return dt if jnp.issubdtype(dt, jnp.floating) and compute_dtype(dt) != dt else None


def restore(out, dtype):
    """Cast a result back to the inputs' half precision (no-op for None)."""
    return out if dtype is None else out.astype(dtype)


def last_axis_pair(a, b, axis: int):
    """Move `axis` of `a` and `b` last and align their other (batch) axes.

    Returns the two arrays with the same number of dimensions (size-1 axes
    prepended where needed, not broadcast, so that an unbatched input is not
    copied), each with its own length along the last axis, and the batch
    shape that they broadcast to.
    """
    a = jnp.moveaxis(a, check_axis("axis", axis, a.ndim), -1)
    b = jnp.moveaxis(b, check_axis("axis", axis, b.ndim), -1)
    nd = max(a.ndim, b.ndim)
    a = a.reshape((1,) * (nd - a.ndim) + a.shape)
    b = b.reshape((1,) * (nd - b.ndim) + b.shape)
    try:
        batch = np.broadcast_shapes(a.shape[:-1], b.shape[:-1])
    except ValueError as err:
        raise ValueError(
            "The axes of the two inputs other than `axis` must broadcast; got "
            f"shapes {a.shape[:-1]} and {b.shape[:-1]} (with `axis` moved last)."
        ) from err
    return a, b, tuple(batch)


def mean_shift(x, axis=-1, where=None, ops=None) -> jax.Array:
    """Return a shift close to the mean of `x`, with gradients stopped.

    Two passes (the mean, then the mean of what is left) so that data such as
    ``1e8 + noise`` are centred to within rounding of the noise. Functions
    that are invariant to shifting their input subtract it before forming
    sums of squares, which then cannot cancel catastrophically. With `ops`
    (`_split.WHOLE`, or a device's `_split.Shards`) the sums run along the
    last axis through it, over a series split over devices.
    """
    x = jax.lax.stop_gradient(x)
    if ops is not None:
        if where is None:
            w = 1.0 / ops.length(x)
            m = ops.sum(x * w)
            return m + ops.sum((x - m) * w)
        count = jnp.maximum(ops.sum(where.astype(jnp.int32)), 1)
        m = ops.sum(jnp.where(where, x, 0)) / count
        return m + ops.sum(jnp.where(where, x - m, 0)) / count
    if where is None:
        # Sums of pre-scaled terms, not sums scaled afterwards: XLA copies a
        # cheap scaling into every fusion that subtracts the shift, and may
        # contract it there with the subtraction (one rounding instead of
        # two), differently from fusion to fusion; for data like 1e8 + noise
        # the shifts then differ by an ulp of 1e8 between consumers, and
        # cross sums and window sums disagree by 1e-8. A reduction's result
        # is computed once.
        axes = range(x.ndim) if axis is None else np.atleast_1d(axis).tolist()
        w = 1.0 / max(math.prod(x.shape[a] for a in axes), 1)
        m = jnp.sum(x * w, axis=axis, keepdims=True)
        return m + jnp.sum((x - m) * w, axis=axis, keepdims=True)
    count = jnp.maximum(jnp.sum(where, axis=axis, keepdims=True), 1)
    xz = jnp.where(where, x, 0)
    m = jnp.sum(xz, axis=axis, keepdims=True) / count
    return m + jnp.sum(jnp.where(where, x - m, 0), axis=axis, keepdims=True) / count
