r"""Running sums over windows, exact tests for constant windows, Pearson.

Every normalized correlation in this package is a Pearson coefficient of two
windows, assembled from window sums:

.. math::

    r = \frac{S_{ab} - S_a \overline{S_b} / m}
             {\sqrt{(S_{aa} - |S_a|^2 / m)(S_{bb} - |S_b|^2 / m)}}.

The callers subtract a shift near each input's mean first (`mean_shift`), so
the sums of squares do not cancel catastrophically for data such as
``1e8 + noise``. Windows whose values are all equal are found exactly, by
counting changes between neighbours with integer running sums, and get the
coefficient 0 instead of rounding noise.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

from ..conv import running_sum


def window_sum(x, w: int, axis: int) -> jax.Array:
    """Sum `w` consecutive entries along `axis` ('valid' windows).

    The engine's `running_sum`: the result has ``n - w + 1`` entries along
    `axis`; integer inputs give exact integer sums.
    """
    return running_sum(x, w, axis, mode="valid")


def prefix_sum(x, axis: int) -> jax.Array:
    """Cumulative sums along `axis` with a leading zero (``n + 1`` entries)."""
    c = jnp.cumsum(x, axis=axis)
    pad = [(0, 0)] * x.ndim
    pad[axis % x.ndim] = (1, 0)
    return jnp.pad(c, pad)


def box_sum(x, window: tuple[int, ...]) -> jax.Array:
    """Sum over every box of shape `window` lying inside `x` (separable)."""
    for axis, w in enumerate(window):
        if w > 1:
            x = window_sum(x, w, axis)
    return x


def changes(x, axis: int) -> jax.Array:
    """1 where an entry differs from its predecessor along `axis`, else 0.

    The result is one shorter than `x` along `axis`; comparisons are exact.
    """
    n = x.shape[axis]
    hi = lax.slice_in_dim(x, 1, n, axis=axis)
    lo = lax.slice_in_dim(x, 0, n - 1, axis=axis)
    return (hi != lo).astype(jnp.int32)


def constant_boxes(x, window: tuple[int, ...]) -> jax.Array:
    """Return True for every box of shape `window` in `x` that is constant.

    A box is constant exactly when no two neighbours inside it differ along
    any axis; the count of such differences is an integer box sum, so the
    test is exact whatever the rounding of the floating-point sums.
    """
    total = None
    for axis, w in enumerate(window):
        if w == 1:
            continue
        inner = tuple(v - 1 if d == axis else v for d, v in enumerate(window))
        count = box_sum(changes(x, axis), inner)
        total = count if total is None else total + count
    out_shape = tuple(n - w + 1 for n, w in zip(x.shape, window))
    if total is None:
        return jnp.ones(out_shape, bool)
    return total == 0


def pearson(sab, sa, sb, saa, sbb, m, zero_a, zero_b, err_a, err_b) -> jax.Array:
    """Return Pearson coefficients from window sums, 0 where a variance vanishes.

    Parameters are the window sums of the (shifted) inputs, the window sizes
    `m`, masks of windows known to be constant, and the scales of the
    rounding errors of the sums of squares (`err_a`, `err_b`: the window sum
    of squares itself for direct sums, the two prefix sums for differences of
    prefix sums). A window variance below ``16 eps`` times that scale is not
    resolved by the sums and counts as zero. The magnitude is clipped to 1.
    """
    va, zero_a = window_variance(sa, saa, m, zero_a, err_a)
    vb, zero_b = window_variance(sb, sbb, m, zero_b, err_b)
    return coefficient(sab, sa, sb, va, vb, m, zero_a | zero_b)


def window_variance(sa, saa, m, zero, err):
    """Return a window's sum of squared deviations, and where it counts as 0.

    `pearson`'s first step for one input (see there), for callers that
    form the sums one input at a time and keep only what `coefficient`
    needs.
    """
    dtype = jnp.real(saa).dtype
    eps = jnp.finfo(dtype).eps
    mm = jnp.maximum(m, 1).astype(dtype)
    va = saa - jnp.abs(sa) ** 2 / mm
    return va, zero | (va <= 16 * eps * err) | (m < 2)


def coefficient(sab, sa, sb, va, vb, m, zero) -> jax.Array:
    """Return `pearson`'s coefficients from the cross sum and the variances."""
    return correlation(covariance(sab, sa, sb, m), va, vb, zero)


def covariance(sab, sa, sb, m):
    """Return a window pair's sum of products of deviations (`pearson`)."""
    mm = jnp.maximum(m, 1).astype(jnp.real(sab).dtype)
    return sab - sa * jnp.conj(sb) / mm


def correlation(cov, va, vb, zero) -> jax.Array:
    """Return `pearson`'s coefficient from the covariance and the variances."""
    den = jnp.where(zero, 1, va * vb)
    r = jnp.where(zero, 0, cov * lax.rsqrt(den))
    if jnp.iscomplexobj(r):
        return r / jnp.maximum(jnp.abs(r), 1)
    return jnp.clip(r, -1, 1)
