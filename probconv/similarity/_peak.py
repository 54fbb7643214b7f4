"""The peak of a correlation, with parabolic or sinc sub-sample refinement."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

SUBSAMPLE = (None, "parabolic", "sinc")
# Half-width (in samples) of the sinc interpolation around the peak, and the
# Newton steps taken from the parabolic estimate.
SINC_HALF_WIDTH = 16
SINC_NEWTON_STEPS = 6


def _neighbours(c, idx, offsets):
    """Return ``c[..., idx + j]`` for the offsets `j`, and 0 outside the array."""
    n = c.shape[-1]
    pos = idx[..., None] + offsets
    inside = (pos >= 0) & (pos < n)
    vals = jnp.take_along_axis(c, jnp.clip(pos, 0, n - 1), axis=-1)
    return jnp.where(inside, vals, 0)


def parabolic_offset(c, idx) -> jax.Array:
    r"""Return the vertex of the parabola through the peak and its neighbours.

    .. math:: \delta = \frac{c_{-1} - c_{+1}}{2 (c_{-1} - 2 c_0 + c_{+1})},

    clipped to [-1/2, 1/2]; 0 at the ends of `c` or where the three points
    do not bend downwards.
    """
    n = c.shape[-1]
    y = _neighbours(c, idx, jnp.arange(-1, 2))
    ym, y0, yp = y[..., 0], y[..., 1], y[..., 2]
    curv = ym - 2 * y0 + yp
    ok = (idx > 0) & (idx < n - 1) & (curv < 0)
    delta = 0.5 * (ym - yp) / jnp.where(ok, curv, -1)
    return jnp.where(ok, jnp.clip(delta, -0.5, 0.5), 0)


def _sinc_derivatives(u):
    r"""Return the first two derivatives of :math:`\operatorname{sinc}(u)`.

    In closed form away from 0 and by their Maclaurin series near it
    (:math:`|\pi u| < 1/2`, terms to :math:`x^{10}`, truncation below
    :math:`10^{-10}`): the closed forms cancel catastrophically for small
    :math:`u` (in float32 the second derivative at :math:`u = 10^{-6}` is off
    by :math:`10^4`), which is where a sharp correlation peak puts Newton's
    iterate.
    """
    pi = jnp.asarray(np.pi, u.dtype)
    x = pi * u
    small = jnp.abs(x) < 0.5
    xs = jnp.where(small, 1, x)  # keeps the unused branch finite (gradients)
    sin, cos = jnp.sin(xs), jnp.cos(xs)
    d1 = (xs * cos - sin) / xs**2
    d2 = ((2 - xs**2) * sin - 2 * xs * cos) / xs**3
    x2 = jnp.where(small, x, 0) ** 2
    s1 = jnp.zeros_like(x)
    s2 = jnp.zeros_like(x)
    for k in range(5, 0, -1):  # Horner, from the highest term down
        c = (-1) ** k / math.factorial(2 * k + 1)
        s1 = s1 * x2 + 2 * k * c
        s2 = s2 * x2 + 2 * k * (2 * k - 1) * c
    # s1 holds sum_k 2k c_k x^(2k-2): times x gives the first derivative.
    s1 = s1 * jnp.where(small, x, 0)
    return (
        pi * jnp.where(small, s1, d1),
        pi**2 * jnp.where(small, s2, d2),
    )


def sinc_offset(c, idx) -> jax.Array:
    r"""Return the maximum of the band-limited (sinc) interpolant near the peak.

    The correlation is interpolated as
    :math:`c(\tau) = \sum_{|j| \le J} c_{i+j} \operatorname{sinc}(\tau - j)`
    with :math:`J` = `SINC_HALF_WIDTH`, and Newton's method on
    :math:`c'(\tau) = 0` starts from the parabolic estimate. The offset stays
    within one sample of the integer peak.
    """
    offsets = jnp.arange(-SINC_HALF_WIDTH, SINC_HALF_WIDTH + 1)
    w = _neighbours(c, idx, offsets).astype(jnp.real(c).dtype)
    j = offsets.astype(w.dtype)

    def step(t, _):
        d1, d2 = _sinc_derivatives(t[..., None] - j)
        g = jnp.sum(w * d1, axis=-1)
        h = jnp.sum(w * d2, axis=-1)
        ok = h < 0
        t_new = jnp.clip(t - g / jnp.where(ok, h, -1), -1, 1)
        return jnp.where(ok, t_new, t), None

    t0 = parabolic_offset(c, idx).astype(w.dtype)
    t, _ = jax.lax.scan(step, t0, None, length=SINC_NEWTON_STEPS)
    return t


def peak_offset(c, subsample) -> tuple[jax.Array, jax.Array]:
    """Return the index of the largest entry of `c` (last axis) and its refinement.

    Complex correlations are ranked by magnitude. Returns the integer index
    and the fractional offset (0 without sub-sample refinement).
    """
    if jnp.iscomplexobj(c):
        c = jnp.abs(c)
    idx = jnp.argmax(c, axis=-1)
    if subsample in (False, None):
        return idx, jnp.zeros(idx.shape, c.dtype)
    if subsample == "parabolic":
        return idx, parabolic_offset(c, idx)
    return idx, sinc_offset(c, idx)
