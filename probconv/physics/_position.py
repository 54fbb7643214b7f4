"""The law of a measured position: |psi|^2 through a detector's resolution."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from probconv.conv import convolve
from probconv.conv.internal import bounded_jit, split_axes

from .._checks import check_param, check_real, compute_dtype, concrete, real_dtype
from . import _lattice, _split


def position_probability(
    psi: ArrayLike,
    *,
    step: float,
    origin: ArrayLike = 0.0,
    resolution: ArrayLike | None = None,
):
    r"""Return the law of a particle's measured position, as a distribution.

    The Born rule :math:`|\psi|^2`, optionally convolved with a detector's
    Gaussian response, returned as a ``kind='density'`` `probconv.distributions`
    distribution, so that its `cdf`, `ppf`, `mean`, `var` and `sample`
    come with it.

    Parameters
    ----------
    psi : array_like
        Wave function, shape ``(..., n)``: the last axis is position on a
        regular grid, leading axes a batch. It need not be normalized.
    step : float
        Grid spacing, a positive Python number (static, as the
        distribution's step).
    origin : array_like
        Position of grid point 0 (differentiable).
    resolution : array_like, optional
        Standard deviation of the detector's Gaussian response (same units
        as `step`); none by default (a perfect detector).

    Returns
    -------
    probconv.distributions.Distribution
        ``kind='density'``: ``masses[..., k]`` is the probability of finding
        the particle in cell ``k`` (centred on ``origin + k * step``),
        never negative. The mass that the detector's blur moves off the grid
        is recorded in ``truncated``. The masses have the real dtype of
        `psi` (float32 for complex64, float64 for complex128; integers and
        booleans: the default float); float16 and bfloat16 are computed in
        float32 and rounded back.

    Raises
    ------
    ValueError
        If `step` is not positive, `resolution` is negative or not finite,
        or `psi` is empty, 0-dimensional, not finite or zero everywhere (in
        a batch element). Under `jax.jit` a negative `resolution`, or such
        a `psi`, gives NaN masses.
    TypeError
        If `step` is traced, `psi` is not numeric or `origin` is complex.

    See Also
    --------
    evolve_free, probconv.distributions.from_masses

    Notes
    -----
    .. math:: p_k = \frac{|\psi_k|^2}{\sum_j |\psi_j|^2}, \qquad
              \tilde p_k = \sum_j p_j \, g_{k - j}, \quad
              g_m \propto e^{-m^2 h^2 / 2 \sigma_d^2}

    with :math:`g` the detector response sampled on the grid and
    normalized over all the integers (as in `diffuse`), applied through
    `probconv.convolve` on the grid itself (a free boundary). The
    measured variance is the true one plus :math:`\sigma_d^2`. The sampled
    response is accurate for :math:`\sigma_d \gtrsim 2h`; a narrower
    response tends to no blur at all.

    A `psi` split over devices along its position axis gives masses split
    alike: with a concrete `resolution` the response is cut where each
    side's mass is below 1e-20 (as `diffuse` does) and applied by halo
    exchange, so no device holds the whole grid.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from probconv.physics import position_probability
    >>> x = jnp.linspace(-10, 10, 400, endpoint=False)
    >>> psi = jnp.exp(-((x - 1.0) ** 2) / 4)  # |psi|^2: N(1, 1)
    >>> P = position_probability(psi, step=0.05, origin=-10.0, resolution=0.5)
    >>> round(float(P.mean()), 10), round(float(P.var()), 10)
    (1.0, 1.25)
    """
    if isinstance(step, jax.core.Tracer):
        raise TypeError("`step` must be a Python number, not a traced value.")
    check_param("step", step, positive=True)
    if resolution is not None:
        check_param("resolution", resolution)
    if not isinstance(psi, jax.Array):
        arr = np.asarray(psi)
        if arr.dtype.kind not in "biufc":
            raise TypeError(f"`psi` must be a numeric array; got dtype {arr.dtype}.")
        psi = arr  # to the device with the program's arguments, not apart
    if psi.ndim == 0 or psi.size == 0:
        raise ValueError(
            f"`psi` must have a position axis and not be empty; got shape {psi.shape}."
        )
    check_real("origin", origin)
    out_dtype = real_dtype(psi, origin, 0.0 if resolution is None else resolution)
    dtype = compute_dtype(out_dtype)
    psi_dtype = jnp.dtype(compute_dtype(jnp.result_type(psi, dtype)))
    blur = resolution is not None
    r = _response_radius(psi, resolution, step) if blur else 0
    law, ok = _born(
        psi,
        jnp.asarray(resolution if blur else 0.0, dtype),
        jnp.asarray(origin),
        r=r,
        blur=blur,
        step=float(step),
        psi_dtype=psi_dtype,
        out_dtype=jnp.dtype(out_dtype),
    )
    ok = concrete(ok)
    if ok is not None and not ok.all():
        raise ValueError(
            "`psi` must be finite and not zero everywhere (in each batch element)."
        )
    return law


@bounded_jit(static_argnames=("r", "blur", "step", "psi_dtype", "out_dtype"))
def _born(psi, sigma, origin, r, blur, step, psi_dtype, out_dtype):
    """Return the law and whether `psi` gave finite masses (one program a signature).

    The values (`psi`, `sigma`, `origin`) are traced: a new resolution or
    origin reuses the program of its shapes and dtypes; the grid `step` is
    static, as the distribution's step is. The law is built inside the
    program, so that its checks cost no program of their own per shape; a
    `psi` that is zero everywhere or not finite gives NaN masses there and
    False in the flag.
    """
    from probconv.distributions import from_masses

    dtype = sigma.dtype
    dens = (jnp.abs(psi.astype(psi_dtype)) ** 2).astype(dtype)
    p = dens / jnp.sum(dens, axis=-1, keepdims=True)
    ok = jnp.all(jnp.isfinite(p), axis=-1)
    p = jnp.where(ok[..., None], p, 0.0)
    truncated = jnp.zeros(p.shape[:-1], dtype)
    if blur:
        s = (sigma / step) ** 2
        g = _lattice.gauss_values(s, jnp.zeros((), dtype), np.arange(-r, r + 1))
        g = g.reshape((1,) * (p.ndim - 1) + (2 * r + 1,))
        p = convolve(p, g, "same", axes=-1)
        p = jnp.maximum(p, 0.0)  # FFT rounding near zero
        truncated = jnp.maximum(1.0 - jnp.sum(p, axis=-1), 0.0)
    p = jnp.where(ok[..., None] & (sigma >= 0), p, jnp.nan)
    origin = jnp.broadcast_to(origin.astype(out_dtype), p.shape[:-1])
    law = from_masses(
        p.astype(out_dtype),
        origin=origin,
        step=step,
        kind="density",
        truncated=truncated.astype(out_dtype),
    )
    return law, ok


def _response_radius(psi, resolution, step) -> int:
    """Return the detector response's radius in cells.

    ``n - 1`` (all a window of ``n`` cells sees), or, for a wave function
    split over devices along its position axis and a concrete `resolution`,
    the radius past which the response's mass is below 1e-20 (as `diffuse`
    does along split axes), so that the blur runs by halo exchange.
    """
    n = psi.shape[-1]
    sigma = concrete(resolution)
    if psi.ndim - 1 not in split_axes(psi) or sigma is None:
        return n - 1
    s = (float(sigma) / float(step)) ** 2
    return min(n - 1, _split.tail_radius(s, 0.0, "gaussian"))
