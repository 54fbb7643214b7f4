"""The heat kernel, as a density and as a normalized discrete kernel."""

from __future__ import annotations

import functools
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from .._checks import (
    check_choice,
    check_int,
    check_param,
    check_real,
    compute_dtype,
    concrete,
    real_dtype,
)
from . import _lattice

KERNEL_KINDS = ("gaussian", "integrated", "lattice")


def heat_kernel(
    x: ArrayLike, D: ArrayLike, t: ArrayLike, *, ndim: int = 1
) -> jax.Array:
    r"""Evaluate the heat kernel: the density of a diffusing point source.

    The fundamental solution of :math:`\partial_t u = D \Delta u`, i.e. the
    normal density of mean 0 and variance :math:`2 D t` per axis.

    Parameters
    ----------
    x : array_like
        Positions. With ``ndim > 1`` the last axis holds the `ndim`
        coordinates of each point.
    D : array_like
        Diffusion coefficient(s), non-negative: a scalar, or with
        ``ndim > 1`` one per axis (anisotropic diffusion).
    t : array_like
        Time, positive. Broadcasts against the positions (after the
        coordinate axis is summed out).
    ndim : int
        Number of spatial dimensions (static).

    Returns
    -------
    jax.Array
        The density at each point, ``x.shape`` (or ``x.shape[:-1]``), in
        the floating dtype `x`, `D` and `t` promote to (integers and
        booleans: the default float; float16 and bfloat16 are computed in
        float32 and rounded back).

    Raises
    ------
    ValueError
        If `D` or `t` is negative or not finite, `ndim` is below 1, or the
        last axis of `x` does not hold `ndim` coordinates. Under `jax.jit`
        the value checks cannot run; a negative `D` or `t` gives NaN.
    TypeError
        If `ndim` is not an integer, or `x`, `D` or `t` is complex.

    See Also
    --------
    diffusion_kernel, diffuse

    Notes
    -----
    .. math:: G(x, t) = \prod_{i=1}^{d} \frac{1}{\sqrt{4 \pi D_i t}}
              \exp\!\Big(-\frac{x_i^2}{4 D_i t}\Big).

    At ``t = 0`` it is a Dirac delta: the result is ``inf`` at the origin
    and 0 elsewhere.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from probconv.physics import heat_kernel
    >>> float(heat_kernel(0.0, 0.25, 2.0))  # 1 / sqrt(2 pi)
    0.3989422804014327
    >>> heat_kernel(jnp.array([[0.0, 0.0]]), jnp.array([0.5, 0.5]), 1.0, ndim=2)
    Array([0.15915494], dtype=float64)
    """
    ndim = check_int("ndim", ndim, minimum=1)
    check_real("x", x)
    check_param("D", D)
    check_param("t", t)
    out_dtype = real_dtype(x, D, t)
    dtype = compute_dtype(out_dtype)
    x = jnp.asarray(x).astype(dtype)
    D = jnp.asarray(D, dtype)
    t = jnp.asarray(t, dtype)
    if ndim > 1:
        if x.ndim == 0 or x.shape[-1] != ndim:
            raise ValueError(
                f"`x` must hold {ndim} coordinates on its last axis (ndim={ndim}); "
                f"got shape {x.shape}."
            )
        if D.shape not in ((), (ndim,)):
            raise ValueError(
                f"`D` must be a scalar or hold one value per axis ({ndim}); "
                f"got shape {D.shape}."
            )
    var = 2.0 * D * t
    pos = var > 0
    safe = jnp.where(pos, var, 1.0)
    logp = -(x**2) / (2 * safe) - 0.5 * jnp.log(2 * np.pi * safe)
    logp = jnp.where(pos, logp, jnp.where(x == 0, jnp.inf, -jnp.inf))
    if ndim > 1:
        logp = jnp.sum(logp, axis=-1)
    out = jnp.exp(logp)
    return jnp.where(jnp.all(D >= 0) & (t >= 0), out, jnp.nan).astype(out_dtype)


def diffusion_kernel(
    step: ArrayLike,
    D: ArrayLike,
    t: ArrayLike,
    *,
    truncate: float = 4.0,
    radius: int | Sequence[int] | None = None,
    kind: str = "gaussian",
) -> jax.Array:
    r"""Return a normalized discrete diffusion kernel on a grid.

    Like the kernel of `scipy.ndimage.gaussian_filter` (``sigma =
    sqrt(2 D t) / step``), but with a choice of discretization, N-D with a
    diffusion coefficient per axis, and differentiable in `D` and `t`.

    Parameters
    ----------
    step : array_like
        Grid spacing, positive: a scalar or one per axis.
    D : array_like
        Diffusion coefficient, non-negative: a scalar or one per axis. The
        number of axes is the length of `D` or `step` (1 for scalars).
    t : array_like
        Elapsed time, non-negative.
    truncate : float
        Radius in standard deviations, as in scipy.ndimage:
        ``radius = int(truncate * sigma + 0.5)`` cells per axis.
    radius : int or sequence of int, optional
        The radius in cells, static. Required when `D` or `t` is traced
        (under `jax.jit`, `jax.grad` or `jax.vmap`), since the kernel's shape
        cannot depend on traced values.
    kind : {'gaussian', 'integrated', 'lattice'}
        ``'gaussian'``: the heat kernel sampled at the grid points (as
        scipy.ndimage). ``'integrated'``: the mass of each cell under the
        heat kernel centred on cell 0. ``'lattice'``: the discrete Gaussian
        :math:`e^{-s} I_m(s)`, exact for the lattice random walk and for the
        semi-discrete heat equation, and a true semigroup.

    Returns
    -------
    jax.Array
        The kernel, shape ``(2 r_1 + 1, ..., 2 r_d + 1)``, summing to 1, in
        the floating dtype `step`, `D` and `t` promote to (integers and
        booleans: the default float; float16 and bfloat16 are computed in
        float32 and rounded back, so the sum is 1 to their precision).

    Raises
    ------
    ValueError
        If `kind` is unknown, `step` is not positive, `D`, `t` or `truncate`
        is negative or not finite, `radius` is negative or of the wrong
        length, the shapes of `D` and `step` disagree, or `radius` is missing
        while `D` or `t` is traced.
    TypeError
        If `radius` does not hold integers, or `step`, `D` or `t` is complex.

    See Also
    --------
    heat_kernel, diffuse, scipy.ndimage.gaussian_filter

    Notes
    -----
    With :math:`s = 2 D t / h^2` (the variance in cells squared), the three
    kinds are, before normalization over the offsets :math:`|m| \le r`,

    .. math::
        K^{\mathrm{gauss}}_m = e^{-m^2 / 2 s}, \quad
        K^{\mathrm{int}}_m = \Phi\Big(\frac{m + 1/2}{\sqrt s}\Big)
                           - \Phi\Big(\frac{m - 1/2}{\sqrt s}\Big), \quad
        K^{\mathrm{lat}}_m = e^{-s} I_m(s),

    with :math:`\sum_m e^{-s} I_m(s) e^{i m \theta} = e^{-s(1 - \cos\theta)}`,
    so that :math:`K^{\mathrm{lat}}(s_1) * K^{\mathrm{lat}}(s_2) =
    K^{\mathrm{lat}}(s_1 + s_2)` exactly. The sampled Gaussian is not a
    semigroup: two passes of ``sigma = 0.8`` differ from one of
    ``sigma = 0.8 * sqrt(2)`` by 1.3e-3. The lattice values are computed
    by an inverse FFT (absolute error near ``eps``) or, for very wide
    kernels, by a recurrence from ``i0e`` and ``i1e``.

    Examples
    --------
    >>> from probconv.physics import diffusion_kernel
    >>> diffusion_kernel(1.0, 0.5, 1.0, radius=2, kind="lattice").round(5)
    Array([0.05088, 0.21184, 0.47456, 0.21184, 0.05088], dtype=float64)
    >>> diffusion_kernel(1.0, [0.5, 0.0], 1.0, radius=1).shape
    (3, 3)
    """
    kind = check_choice("kind", kind, KERNEL_KINDS)
    check_param("step", step, positive=True)
    check_param("D", D)
    check_param("t", t)
    check_param("truncate", truncate)
    shapes = {np.shape(step), np.shape(D)} - {()}
    if len(shapes) > 1 or any(len(sh) != 1 for sh in shapes):
        raise ValueError(
            "`D` and `step` must be scalars or 1-D with one value per axis, of "
            f"the same length; got shapes {np.shape(D)} and {np.shape(step)}."
        )
    k = shapes.pop()[0] if shapes else 1
    out_dtype = real_dtype(step, D, t)
    dtype = compute_dtype(out_dtype)
    step_a = jnp.broadcast_to(jnp.asarray(step, dtype), (k,))
    d_a = jnp.broadcast_to(jnp.asarray(D, dtype), (k,))
    t = jnp.asarray(t, dtype)
    s = 2.0 * d_a * t / step_a**2
    radii = _radii(radius, s, truncate, k)
    return _kernel(s, d_a, t, step_a, radii, kind).astype(out_dtype)


@functools.partial(jax.jit, static_argnames=("radii", "kind"))
def _kernel(s, d_a, t, step_a, radii, kind):
    kernel = None
    for i, r in enumerate(radii):
        m = np.arange(-r, r + 1)
        if kind == "lattice":
            k1 = _lattice.lattice_values(s[i], r)
        elif kind == "integrated":
            k1 = _lattice.integrated_values(s[i], m)
        else:
            k1 = _lattice.gauss_values(s[i], jnp.zeros((), s.dtype), m)
        k1 = jnp.maximum(k1, 0.0)  # exact values are positive; no round-off below 0
        k1 = k1 / jnp.sum(k1)
        kernel = k1 if kernel is None else kernel[..., None] * k1
    valid = jnp.all(d_a >= 0) & (t >= 0) & jnp.all(step_a > 0)
    return jnp.where(valid, kernel, jnp.nan)


def _radii(radius, s, truncate, k: int) -> tuple[int, ...]:
    if radius is not None:
        if isinstance(radius, (int, np.integer)):
            seq = [radius] * k
        elif isinstance(radius, (tuple, list)):
            seq = list(radius)
        else:
            raise TypeError(
                f"`radius` must be an integer or a sequence; got {radius!r}."
            )
        if len(seq) != k:
            raise ValueError(
                f"`radius` must be one integer or one per axis ({k}); got {radius!r}."
            )
        return tuple(check_int("radius", r, minimum=0) for r in seq)
    s_val = concrete(s)
    if s_val is None:
        raise ValueError(
            "`radius` must be given when `D`, `t` or `step` is traced (under "
            "jax.jit, grad or vmap), because the kernel's shape is static; got "
            "radius=None."
        )
    return tuple(int(truncate * float(np.sqrt(v)) + 0.5) for v in s_val)
