"""Linear binning of weighted samples onto a regular grid, and KDE kernels."""

from __future__ import annotations

import itertools
import math

import jax
import jax.numpy as jnp


def linear_bin(samples, weights, origins, steps, sizes) -> jax.Array:
    r"""Spread each sample's weight onto the grid points around it.

    Along each axis a sample at :math:`u = (x - o)/h` gives :math:`1 -
    (u - \lfloor u \rfloor)` of its weight to point :math:`\lfloor u
    \rfloor` and the rest to the next (in d dimensions, the product over
    axes to the :math:`2^d` corners). Weight landing off the grid is
    dropped. ``samples`` has shape ``(n, d)``; the result has shape `sizes`.

    One scatter-add of each sample's :math:`2^d` corner weights as a block
    at its cell, then a shifted sum of the corner planes: a scatter costs per
    index, so this is about 1.9x faster than scattering every corner apart
    (10^6 samples on 4096 points: 3.1 ms against 5.9; on 256 x 256: 19 ms
    against 30).
    """
    n, d = samples.shape
    cells = tuple(m + 1 for m in sizes)  # cell j + 1: j = -1 .. m - 1
    flat = jnp.zeros((n,), jnp.int32)
    inside = jnp.ones((n,), bool)
    parts = []
    for axis in range(d):
        u = (samples[:, axis] - origins[axis]) / steps[axis]
        j = jnp.floor(u)
        frac = u - j
        j = j.astype(jnp.int32)
        inside = inside & (j >= -1) & (j < sizes[axis])
        flat = flat + (j + 1) * math.prod(cells[axis + 1 :])
        parts.append(jnp.stack([1.0 - frac, frac], axis=-1))
    corners = weights
    for part in parts:  # (n, 2, ..., 2): the product over axes
        corners = corners[..., None] * part.reshape(
            (n,) + (1,) * (corners.ndim - 1) + (2,)
        )
    flat = jnp.where(inside, flat, math.prod(cells))
    acc = jnp.zeros((math.prod(cells),) + (2,) * d, weights.dtype)
    acc = acc.at[flat].add(corners, mode="drop").reshape(cells + (2,) * d)
    counts = jnp.zeros(sizes, weights.dtype)
    for offset in itertools.product((0, 1), repeat=d):
        # corner `offset` of cell j + 1 lands on grid point j + offset
        window = tuple(slice(1 - o, 1 - o + m) for o, m in zip(offset, sizes))
        counts = counts + acc[window + offset]
    return counts


# name: (profile on |u| < support, variance of the unit kernel, support)
# Each kernel is scaled so that `bandwidth` is its standard deviation
# (KDEpy's convention).
KERNELS = {
    "gaussian": (
        lambda u: jnp.exp(-0.5 * u * u) / math.sqrt(2 * math.pi),
        1.0,
        math.inf,
    ),
    "epanechnikov": (lambda u: 0.75 * (1 - u * u), 1 / 5, 1.0),
    "tophat": (lambda u: 0.5 * jnp.ones_like(u), 1 / 3, 1.0),
    "triangular": (lambda u: 1 - jnp.abs(u), 1 / 6, 1.0),
    "biweight": (lambda u: 15 / 16 * (1 - u * u) ** 2, 1 / 7, 1.0),
    "triweight": (lambda u: 35 / 32 * (1 - u * u) ** 3, 1 / 9, 1.0),
    "cosine": (
        lambda u: math.pi / 4 * jnp.cos(math.pi / 2 * u),
        1 - 8 / math.pi**2,
        1.0,
    ),
}


def kernel_1d(name: str, t, bandwidth) -> jax.Array:
    """Evaluate the kernel of standard deviation `bandwidth` at offsets `t`."""
    profile, var, support = KERNELS[name]
    scale = bandwidth / math.sqrt(var)
    u = t / scale
    if math.isinf(support):
        return profile(u) / scale
    inside = jnp.abs(u) < support
    return jnp.where(inside, profile(jnp.where(inside, u, 0.0)), 0.0) / scale


def gaussian_2d(t1, t2, cov) -> jax.Array:
    """Evaluate the bivariate normal density of covariance `cov` at (t1, t2)."""
    det = cov[0, 0] * cov[1, 1] - cov[0, 1] * cov[1, 0]
    inv00, inv11 = cov[1, 1] / det, cov[0, 0] / det
    inv01 = -cov[0, 1] / det
    q = inv00 * t1 * t1 + 2 * inv01 * t1 * t2 + inv11 * t2 * t2
    return jnp.exp(-0.5 * q) / (2 * math.pi * jnp.sqrt(det))
