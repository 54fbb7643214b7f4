"""Linear binning of weighted samples onto a regular grid, and KDE kernels."""

from __future__ import annotations

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
    """
    n, d = samples.shape
    flat_size = math.prod(sizes)
    idx = jnp.zeros((n,), jnp.int32)
    inside = jnp.ones((n,), bool)
    corners = [(idx, inside, weights)]
    for axis in range(d):
        u = (samples[:, axis] - origins[axis]) / steps[axis]
        j = jnp.floor(u)
        frac = u - j
        j = j.astype(jnp.int32)
        stride = math.prod(sizes[axis + 1 :])
        new = []
        for base, ok, wt in corners:
            for off, part in ((0, 1.0 - frac), (1, frac)):
                jj = j + off
                good = ok & (jj >= 0) & (jj < sizes[axis])
                new.append((base + jj * stride, good, wt * part))
        corners = new
    flat_idx = jnp.concatenate([jnp.where(ok, b, flat_size) for b, ok, _ in corners])
    vals = jnp.concatenate([wt for _, _, wt in corners])
    counts = jnp.zeros((flat_size,), weights.dtype).at[flat_idx].add(vals, mode="drop")
    return counts.reshape(sizes)


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
