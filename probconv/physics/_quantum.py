"""The free quantum particle: propagator, exact evolution, split-operator steps."""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from probconv.conv.internal import fft_nd, ifft_nd, split_axes

from .._checks import (
    as_field,
    check_finite,
    check_int,
    check_param,
    check_real,
    compute_dtype,
    normalize_axes,
    per_axis,
    real_dtype,
)
from . import _split


def free_particle_propagator(
    x: ArrayLike,
    t: ArrayLike,
    *,
    mass: ArrayLike = 1.0,
    hbar: ArrayLike = 1.0,
    ndim: int = 1,
) -> jax.Array:
    r"""Evaluate the free-particle propagator :math:`K(x, t)`.

    The kernel of the free Schrodinger equation
    :math:`i \hbar \partial_t \psi = -\frac{\hbar^2}{2m} \Delta \psi`:
    :math:`\psi(x, t) = \int K(x - y, t) \psi(y, 0) \, dy`. It is the heat
    kernel at the imaginary diffusion coefficient :math:`D = i\hbar/2m`.

    Parameters
    ----------
    x : array_like
        Displacements. With ``ndim > 1`` the last axis holds the `ndim`
        coordinates.
    t : array_like
        Time, non-zero (negative times propagate backwards).
    mass, hbar : array_like
        The particle's mass and the reduced Planck constant, positive.
    ndim : int
        Number of spatial dimensions (static).

    Returns
    -------
    jax.Array
        Complex values, ``x.shape`` (or ``x.shape[:-1]``): complex64 for
        float16, bfloat16 and float32 inputs (JAX has no half-precision
        complex type; half precision is computed in float32), complex128
        for float64, integers and booleans.

    Raises
    ------
    ValueError
        If `mass` or `hbar` is not positive or `t` is not finite, `ndim` is
        below 1, or `x` lacks the coordinate axis. Under `jax.jit` a
        non-positive `mass` or `hbar` gives NaN.
    TypeError
        If `ndim` is not an integer, or `x`, `t`, `mass` or `hbar` is
        complex.

    See Also
    --------
    evolve_free, heat_kernel

    Notes
    -----
    .. math:: K(x, t) = \Big(\frac{m}{2 \pi i \hbar t}\Big)^{d/2}
              \exp\!\Big(\frac{i m |x|^2}{2 \hbar t}\Big),

    with the principal square root (:math:`i^{-1/2} = e^{-i\pi/4}` for
    :math:`t > 0`). Its modulus is constant in `x`: the kernel is not
    integrable, and a grid cannot sample it once the phase turns faster
    than once per cell (:math:`|x| > \pi \hbar t / (m h)`), which is why
    `evolve_free` works in Fourier space instead.

    Examples
    --------
    >>> from probconv.physics import free_particle_propagator
    >>> complex(free_particle_propagator(0.0, 1.0 / (2 * 3.141592653589793)))
    (0.7071067811865476-0.7071067811865475j)
    """
    ndim = check_int("ndim", ndim, minimum=1)
    check_real("x", x)
    check_finite("t", t)
    check_param("mass", mass, positive=True)
    check_param("hbar", hbar, positive=True)
    dtype = compute_dtype(real_dtype(x, t, mass, hbar))
    x = jnp.asarray(x).astype(dtype)
    t, mass, hbar = (jnp.asarray(v, dtype) for v in (t, mass, hbar))
    if ndim > 1 and (x.ndim == 0 or x.shape[-1] != ndim):
        raise ValueError(
            f"`x` must hold {ndim} coordinates on its last axis (ndim={ndim}); "
            f"got shape {x.shape}."
        )
    r2 = jnp.sum(x**2, axis=-1) if ndim > 1 else x**2
    ctype = jnp.result_type(dtype, jnp.complex64)
    amp = jnp.sqrt((mass / (2j * np.pi * hbar * t)).astype(ctype)) ** ndim
    out = amp * jnp.exp(1j * mass * r2 / (2 * hbar * t))
    return jnp.where((mass > 0) & (hbar > 0), out, jnp.nan)


def _kinetic_phase(shape, axes, step, dt, mass, hbar, dtype):
    """``exp(-i hbar k^2 dt / 2m)`` on the FFT grid of `axes` (broadcastable)."""
    phase = None
    for j, a in enumerate(axes):
        k = 2.0 * np.pi * np.fft.fftfreq(shape[a])
        kk = jnp.asarray(k, dtype) / step[j]
        bshape = [1] * len(shape)
        bshape[a] = shape[a]
        term = (kk**2).reshape(bshape)
        phase = term if phase is None else phase + term
    return jnp.exp(-1j * hbar * dt / (2.0 * mass) * phase)


def _prepare(psi, step, mass, hbar, axes, t):
    check_param("step", step, positive=True)
    check_param("mass", mass, positive=True)
    check_param("hbar", hbar, positive=True)
    check_finite("t", t)
    if np.ndim(t) != 0:
        raise ValueError(f"`t` must be a scalar; got shape {np.shape(t)}.")
    psi = as_field(psi, "psi")
    dtype = compute_dtype(real_dtype(psi, step, mass, hbar, t))
    ctype = jnp.result_type(dtype, jnp.complex64)
    psi = psi.astype(ctype)
    ax = normalize_axes("axes", axes, psi.ndim)
    h = per_axis("step", jnp.asarray(step, dtype), len(ax))
    consts = [jnp.asarray(v, dtype) for v in (mass, hbar, t)]
    valid = jnp.all(h > 0) & (consts[0] > 0) & (consts[1] > 0)
    return psi, ax, h, consts, valid, dtype


def evolve_free(
    psi: ArrayLike,
    t: ArrayLike,
    *,
    step: ArrayLike,
    mass: ArrayLike = 1.0,
    hbar: ArrayLike = 1.0,
    axes: int | Sequence[int] | None = None,
) -> jax.Array:
    r"""Evolve a wave function as a free particle for a time `t`, exactly.

    The convolution of :math:`\psi` with `free_particle_propagator`,
    carried out in Fourier space, where it multiplies each plane wave by
    its exact kinetic phase (no time stepping, any `t`).

    Parameters
    ----------
    psi : array_like
        The wave function on a regular grid (a periodic box), complex or
        real; axes not in `axes` are batch axes.
    t : array_like
        Elapsed time (scalar; negative evolves backwards).
    step : array_like
        Grid spacing, positive: a scalar or one per evolved axis.
    mass, hbar : array_like
        Mass and reduced Planck constant, positive.
    axes : int or sequence of int, optional
        The spatial axes (default: all).

    Returns
    -------
    jax.Array
        :math:`\psi(t)`, complex, same shape: the dtype of a complex `psi`;
        complex64 for float16, bfloat16 and float32 (JAX has no
        half-precision complex type; half precision is computed in
        float32); complex128 for float64, integers and booleans.

    Raises
    ------
    ValueError
        If `step`, `mass` or `hbar` is not positive, `t` is not a finite
        scalar, `axes` is bad, or `psi` is empty. Under `jax.jit` the value
        checks cannot run, and invalid values give NaN.
    TypeError
        For a non-numeric `psi` or non-integer `axes`.

    See Also
    --------
    free_particle_propagator, evolve_split, position_probability

    Notes
    -----
    With the grid's wave numbers :math:`k_j = 2\pi j/(n h)`,
    :math:`|k_j| \le \pi/h`,

    .. math:: \psi(t) = \mathcal F^{-1}\big[e^{-i \hbar |k|^2 t / 2m}
              \, \mathcal F[\psi(0)]\big].

    This is exact (to rounding; the norm is kept to about 1e-15 in
    float64) for the trigonometric interpolant of `psi` on the periodic
    box of length ``n * step``. It is the free evolution on the line when
    (i) `psi` is band-limited: its momentum content lies inside
    :math:`|k| < \pi/h` (a Gaussian packet of width :math:`\sigma_0` and
    momentum :math:`p_0` needs :math:`h \ll \sigma_0` and
    :math:`|p_0|/\hbar + 6/\sigma_0 < \pi/h`), and (ii) the packet stays
    away from the box's edges for the whole time (otherwise it wraps
    around): size the box for the spread
    :math:`\sigma(t) = \sigma_0 \sqrt{1 + (\hbar t / 2 m \sigma_0^2)^2}`
    and the drift :math:`p_0 t / m`.

    A wave function split over devices (a `jax.sharding.NamedSharding`;
    eagerly on a mesh of `Auto` axes too) along one evolved axis stays
    split and is never gathered: that axis goes by the engine's
    distributed transform of one period (all-to-all transposes, class by
    class), each device computing the phase of its own rows of the
    spectrum; the evolved axes held whole are transformed on each device's
    block. Split along several evolved axes, each goes that way in turn.
    Where a split axis admits no layout of exactly ``n`` points (shards
    with no divisor that is a multiple of the shard count, or only odd row
    counts), XLA lays out the global transforms instead (it gathers those
    axes) and the result is split like `psi`. `evolve_split` goes the same
    way at every step.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from probconv.physics import evolve_free
    >>> x = jnp.linspace(-20, 20, 256, endpoint=False)
    >>> psi = jnp.exp(-(x**2) / 4 + 2j * x) / (2 * jnp.pi) ** 0.25
    >>> psi_t = evolve_free(psi, 1.5, step=x[1] - x[0])
    >>> float(jnp.sum(jnp.abs(psi_t) ** 2 * (x[1] - x[0]))).__round__(12)
    1.0
    >>> float(jnp.sum(x * jnp.abs(psi_t) ** 2 * (x[1] - x[0]))).__round__(6)
    3.0
    """
    psi, auto = _split.explicit(as_field(psi, "psi"))
    psi, ax, h, (mass, hbar, t), valid, dtype = _prepare(psi, step, mass, hbar, axes, t)
    lays = _split_layouts(psi, ax)
    if lays is None:
        shape = tuple(psi.shape[a] for a in ax)
        phase = _kinetic_phase(psi.shape, ax, h, t, mass, hbar, dtype)
        out = ifft_nd(fft_nd(psi, shape, ax, False) * phase, shape, ax, False)
    else:
        out = _evolve_split_axes(psi, ax, lays, h, (t, mass, hbar), dtype)
    out = jnp.where(valid, out, jnp.nan)
    return out if auto is None else _split.on_mesh(out, auto)


def _split_layouts(psi, ax):
    """Return the transform layouts of the evolved axes split, or None.

    ``{axis: layout}`` of exactly one period (`_split.spectral_layout`)
    for each evolved axis of `psi` split over devices; None where none is
    split, or one of them has no such layout: then XLA lays out the
    global transforms.
    """
    split = split_axes(psi)
    lays = {
        a: _split.spectral_layout(psi.shape[a], split[a], False, psi.shape[a])
        for a in ax
        if a in split
    }
    if not lays or any(lay is None for lay in lays.values()):
        return None
    return lays


def _evolve_split_axes(psi, ax, lays, h, consts, dtype):
    """`evolve_free` of `psi` split along the evolved axes in `lays`.

    The kinetic phase is a product over the axes: the evolved axes held
    whole are evolved on each device's block (`_split.per_block`), then
    each split one in turn by the engine's distributed transform of one
    period (`_split.spectral_axis`), its phase computed on each device for
    its own rows of the spectrum: no device holds a split axis.
    """
    t, mass, hbar = consts
    rest = tuple(a for a in ax if a not in lays)
    if rest:
        hr = jnp.stack([h[i] for i, a in enumerate(ax) if a not in lays])

        def whole(block, params):
            hr, t, mass, hbar = params
            shape = tuple(block.shape[a] for a in rest)
            phase = _kinetic_phase(block.shape, rest, hr, t, mass, hbar, dtype)
            spec = fft_nd(block, shape, rest, False) * phase
            return ifft_nd(spec, shape, rest, False)

        psi = _split.per_block(whole, psi, (hr, t, mass, hbar))

    def multiplier(theta, params):  # exp(-i hbar k^2 t / 2m), k = theta / h
        h, t, mass, hbar = params
        return jnp.exp(-1j * hbar * t / (2.0 * mass) * (theta / h) ** 2)

    for i, a in enumerate(ax):
        if a in lays:
            params = (h[i], t, mass, hbar)
            psi = _split.spectral_axis(psi, a, lays[a], multiplier, params)
    return psi


def evolve_split(
    psi: ArrayLike,
    potential: ArrayLike,
    t: ArrayLike,
    *,
    step: ArrayLike,
    steps: int,
    mass: ArrayLike = 1.0,
    hbar: ArrayLike = 1.0,
    axes: int | Sequence[int] | None = None,
) -> jax.Array:
    r"""Evolve a wave function in a potential by split-operator (Strang) steps.

    Each step is a half kick by the potential, an exact free evolution
    (as `evolve_free`), and another half kick; the time loop is a
    `jax.lax.fori_loop`, so the function is jit-compiled once for any `t`.

    Parameters
    ----------
    psi : array_like
        The wave function on a regular periodic grid.
    potential : array_like
        The potential energy :math:`V(x)` on the same grid (broadcasts
        against `psi`; real).
    t : array_like
        Total time (scalar).
    step : array_like
        Grid spacing, positive: a scalar or one per evolved axis.
    steps : int
        Number of time steps (static, at least 1).
    mass, hbar : array_like
        Mass and reduced Planck constant, positive.
    axes : int or sequence of int, optional
        The spatial axes (default: all).

    Returns
    -------
    jax.Array
        :math:`\psi(t)`, complex, same shape as `psi`, of the dtype
        `evolve_free` gives for `psi` (the potential is cast to its
        precision).

    Raises
    ------
    ValueError
        As `evolve_free`, and for `steps` below 1 or a `potential` that does
        not broadcast to `psi`.
    TypeError
        As `evolve_free`, and for a non-integer `steps` or a complex
        `potential`.

    See Also
    --------
    evolve_free

    Notes
    -----
    With :math:`\Delta t = t / N`,

    .. math:: \psi(t) \approx \Big(e^{-i V \Delta t / 2\hbar}\,
              e^{-i T \Delta t / \hbar}\, e^{-i V \Delta t / 2\hbar}\Big)^N
              \psi(0), \qquad T = -\frac{\hbar^2}{2m}\Delta.

    What is exact and what is not: every factor is unitary, so the norm is
    conserved to rounding whatever :math:`\Delta t`; the kinetic factor is
    exact (as `evolve_free`, with the same band-limit and box
    assumptions); a zero potential gives exactly `evolve_free`. The
    splitting error is :math:`O(\Delta t^2)` globally, from the commutator
    :math:`[T, V]`; halving :math:`\Delta t` divides it by four.

    On a wave function split over devices, every step's kinetic factor
    goes as `evolve_free`'s (the split axes by the engine's distributed
    transform, never gathered, where they have a layout of one period) and
    the potential's factors pointwise: the result is split like `psi`.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from probconv.physics import evolve_split
    >>> x = jnp.linspace(-10, 10, 128, endpoint=False)
    >>> ground = jnp.exp(-(x**2) / 2) / jnp.pi**0.25  # oscillator, omega = 1
    >>> out = evolve_split(ground, x**2 / 2, 2.0, step=x[1] - x[0], steps=100)
    >>> bool(jnp.allclose(jnp.abs(out), ground, atol=1e-4))
    True
    """
    steps = check_int("steps", steps, minimum=1)
    psi, auto = _split.explicit(as_field(psi, "psi"))
    psi, ax, h, (mass, hbar, t), valid, dtype = _prepare(psi, step, mass, hbar, axes, t)
    check_real("potential", potential)
    pot = jnp.asarray(potential)
    try:
        fits = np.broadcast_shapes(pot.shape, psi.shape) == psi.shape
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(
            f"`potential` must broadcast to the shape of `psi`; got shapes "
            f"{pot.shape} and {psi.shape}."
        )
    pot = pot.astype(dtype)
    if split_axes(psi) and pot.shape == psi.shape:  # its phases split alike
        pot = _split.split_like(pot, psi)
    shape = tuple(psi.shape[a] for a in ax)
    dt = t / steps
    half = jnp.exp(-0.5j * dt / hbar * pot)
    lays = _split_layouts(psi, ax)
    if lays is None:
        kinetic = _kinetic_phase(psi.shape, ax, h, dt, mass, hbar, dtype)

        def free(p):
            return ifft_nd(fft_nd(p, shape, ax, False) * kinetic, shape, ax, False)
    else:

        def free(p):  # split axes by the distributed transform (`evolve_free`)
            return _evolve_split_axes(p, ax, lays, h, (dt, mass, hbar), dtype)

    def body(_, p):  # (half * half, held, would be one more field in scratch)
        return free(half * (half * p))

    out = half * psi
    out = jax.lax.fori_loop(0, steps - 1, body, free(out))
    out = jnp.where(valid, half * out, jnp.nan)
    return out if auto is None else _split.on_mesh(out, auto)
