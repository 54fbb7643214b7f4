"""diffuse: the heat equation solved by one convolution, with boundaries."""

from __future__ import annotations

import functools
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.typing import ArrayLike

from probconv.conv import convolve
from probconv.conv.internal import bounded_jit, fft_nd, ifft_nd, split_axes

from .._checks import (
    as_field,
    check_choice,
    check_finite,
    check_param,
    compute_dtype,
    concrete,
    normalize_axes,
    per_axis,
    real_dtype,
)
from . import _lattice, _split

BOUNDARIES = ("free", "periodic", "reflect", "absorb")
DIFFUSE_KINDS = ("gaussian", "lattice")


def diffuse(
    u: ArrayLike,
    D: ArrayLike,
    t: ArrayLike,
    *,
    step: ArrayLike = 1.0,
    axes: int | Sequence[int] | None = None,
    boundary: str | Sequence[str] = "free",
    kind: str = "gaussian",
    drift: ArrayLike | None = None,
    full_output: bool = False,
) -> jax.Array | tuple[jax.Array, jax.Array]:
    r"""Evolve a concentration by the diffusion (heat) equation for a time `t`.

    One convolution with the heat kernel, for any `t` (no time stepping):
    the result at time `t` is exact for the chosen kernel whatever the
    kernel's width, including kernels much wider than the domain.

    Parameters
    ----------
    u : array_like
        The concentration on a regular grid (cell centres), real or complex.
        Axes not in `axes` are batch axes.
    D : array_like
        Diffusion coefficient, non-negative: a scalar or one per diffused
        axis (anisotropic diffusion).
    t : array_like
        Elapsed time, non-negative scalar.
    step : array_like
        Grid spacing, positive: a scalar or one per diffused axis.
    axes : int or sequence of int, optional
        The axes that diffuse (default: all).
    boundary : {'free', 'periodic', 'reflect', 'absorb'} or sequence
        One for all diffused axes, or one per axis. ``'free'``: open space,
        the grid is a window and mass leaves through its edges.
        ``'periodic'``: a torus. ``'reflect'``: reflecting walls (Neumann,
        zero flux) at the outer cell faces; mass is conserved.
        ``'absorb'``: absorbing walls (Dirichlet, zero concentration) at the
        outer cell faces; mass is lost.
    kind : {'gaussian', 'lattice'}
        ``'gaussian'``: the continuous heat equation, through the heat
        kernel sampled at the grid points (spectrally accurate for a field
        and kernel that the grid resolves). ``'lattice'``: the semi-discrete
        heat equation :math:`\dot u_k = D (u_{k+1} - 2 u_k + u_{k-1})/h^2`,
        solved exactly by the discrete Gaussian at every `t`.
    drift : array_like, optional
        Advection velocity (a scalar or one per diffused axis): the kernel is
        shifted by ``drift * t``. Only with ``kind='gaussian'`` and the
        ``'free'`` or ``'periodic'`` boundaries.
    full_output : bool
        Also return the mass that left the domain.

    Returns
    -------
    u_t : jax.Array
        The concentration at time `t`, shape and dtype of `u` (floating):
        integers and booleans give the default float; float16 and bfloat16
        are computed in float32 and rounded back to their dtype. Never
        negative where `u` is real and non-negative (per batch element):
        see Notes.
    lost : jax.Array
        Only with ``full_output=True``: ``(sum(u) - sum(u_t)) * prod(step)``
        over the diffused axes, one value per batch element: zero to
        rounding for ``'periodic'`` and ``'reflect'``, the outflow for
        ``'absorb'`` and ``'free'``.

    Raises
    ------
    ValueError
        For an unknown `boundary` or `kind`; `drift` with ``kind='lattice'``
        or with a reflecting or absorbing axis; `D`, `t` or `step` negative
        (`step` not positive) or not finite, or with a length other than the
        number of diffused axes; bad `axes`; an empty `u`. Under `jax.jit`
        the value checks cannot run, and invalid values give NaN.
    TypeError
        For a non-numeric `u` or non-integer `axes`.

    See Also
    --------
    diffusion_kernel, heat_kernel, scipy.ndimage.gaussian_filter

    Notes
    -----
    Along each axis, with :math:`s = 2 D t / h^2` and :math:`a = v t / h`,
    the result is :math:`u_k(t) = \sum_j u_j K_{k-j}` with the kernel of
    the infinite lattice

    .. math::
        K_m \propto e^{-(m - a)^2 / 2 s} \ (\text{gaussian}), \qquad
        K_m = e^{-s} I_m(s) \ (\text{lattice}), \qquad \sum_m K_m = 1,

    and the boundaries realized by the method of images, with all the
    images summed (the kernel folded), so that any `t` is exact:
    ``'periodic'`` multiplies the DFT of `u` by the kernel's transform
    :math:`\hat K(\theta) = \sum_m K_m e^{-i m \theta}` (a circular
    convolution with the folded kernel); ``'reflect'`` and ``'absorb'`` do
    the same on the even (cosine series) or odd (sine series) extension of
    `u` to twice its length, i.e. images at the cell faces
    :math:`-h/2` and :math:`n h - h/2` with sign :math:`+1` or
    :math:`-1`; ``'free'`` convolves, through `probconv.convolve`, with
    the exact kernel on the offsets :math:`|m| \le n - 1`, which is all a
    window of `n` cells ever sees. Axes are independent (the kernel is
    separable), so an N-D field costs one transform per axis group.

    Narrow kernels: where `D`, `t`, `step` and `drift` are concrete (eager
    calls, or values closed over under `jax.jit`) and the kernel's radius
    ``R``, past which each side holds less than 1e-20 of its mass, is
    small (``2 R + 1`` at most a quarter of the axis), a free, reflecting
    or absorbing axis is instead convolved with the kernel on
    :math:`|m| \le R`, the field extended by ``R`` cells of its first
    images at each end (zeros, the mirror image, or the negated mirror
    image): the same result to the dropped tail, ``4e-20 * max|u|``,
    below the float's resolution, at a cost that grows with ``R`` instead
    of the doubled axis's FFT (4096 x 4096 cells at ``sqrt(2 D t) = 4``,
    reflecting: 0.33 s against 1.0 s by the transform and 0.51 s for
    `scipy.ndimage.gaussian_filter` cut at 4 sigma). A traced `D`, `t` or
    `step` takes the transforms; a periodic axis always does (its one FFT
    of `n` points costs less).

    Non-negativity: every kernel above, images included (the absorbing
    one is the sampled Dirichlet heat kernel, positive inside the domain),
    is non-negative, so the exact result of a non-negative `u` is
    non-negative; the FFT's round-off is not (values near ``-eps * max(u)``
    where the true density is far smaller). For each batch element whose
    `u` is real and non-negative, the result is clipped at 0, and for
    ``'periodic'`` and ``'reflect'`` (on every diffused axis), which
    conserve mass, rescaled so that its sum equals ``sum(u)`` to rounding;
    ``'free'`` and ``'absorb'`` lose mass and are not rescaled. A signed or
    complex `u` is returned unclipped. The check is by value: on the host
    for a NumPy input, and by `jnp.where` in the compiled program for a JAX
    array (under `jax.jit` too).

    A field split over devices (a `jax.sharding.NamedSharding` on a mesh
    of `Explicit` axes, eagerly or under `jax.jit`; eagerly on a mesh of
    `Auto` axes) along a diffused axis stays split: along that axis the
    kernel is cut at the radius ``R`` past which each side's mass is below
    1e-20 (about :math:`9.7 \sqrt{s} + |a|` cells, rounded up to a bucket)
    and applied shard by shard, each device receiving the ``R`` samples on
    either side from its neighbours (`probconv.conv.internal.halo_map`) and
    the images at the field's ends; the result equals the unsplit one to
    rounding (the cut tail is below ``4e-20 * max|u|``). The halo keeps the
    engine's rule: at most one shard from each side, and less than the
    whole axis (``R <= n/p`` and ``n/p + 2R < n``; for ``'reflect'`` and
    ``'absorb'``, ``R < n/p``). Past it, a ``'periodic'`` axis (also with
    `D`, `t`, `step` or `drift` traced) goes by the engine's distributed
    transform of one period, the spectral product above class by class,
    a ``'reflect'`` or ``'absorb'`` one (also with `D`, `t` or `step`
    traced, and where its halo would take a local FFT) by the same
    transform of its even or odd extension's product, taken by ``n``
    points in Makhoul's order (an even or odd number of cells), and a
    ``'free'`` one with ``R <= n`` by that of ``n + R`` points or more
    (zeros past the field), and with ``R > n`` or `D`, `t`, `step` or
    `drift` traced (either kind) by the mean of the even and odd
    extensions' transforms with the window's cut kernel (the same layout,
    exact at any width; with `drift` their sine parts too, four
    transforms instead of two); no device holds the axis. Shards that no
    multiple of the device count divides (odd shards on three or four
    devices) take these transforms on a cyclic layout (the cells in the
    cyclic order by all-to-alls, a piece at a time, a transform per device
    and one across the devices), free space there by the window (the cut
    kernel's transform by a quadrature, of the shifted kernel with
    `drift`); without 64-bit integers too (the phases' indices reduced
    exactly in 32 bits). Elsewhere (shards of unequal lengths; without
    64-bit integers, a free axis of ``2^29`` cells or more) that axis is
    gathered instead (one all-gather of the field), diffused whole and
    split again like `u`. A halo's block that the cost model would convolve by a
    transform goes in pieces.

    For ``kind='gaussian'`` the sampled kernel equals the continuous heat
    equation's solution up to aliasing of order
    :math:`e^{-\pi^2 s / 2}` (1e-19 at ``s = 9``, i.e. a kernel of three
    cells standard deviation): below about one cell it tends to the
    identity instead. ``kind='lattice'`` is exact at every `t` for the
    semi-discrete equation, non-negative, and a semigroup; it differs from
    the continuous equation by :math:`O(h^2)`.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from probconv.physics import diffuse
    >>> u = jnp.zeros(8).at[0].set(1.0)
    >>> diffuse(u, 0.5, 1.0, boundary="reflect", kind="lattice").sum()
    Array(1., dtype=float64)
    >>> v, lost = diffuse(u, 0.5, 1.0, boundary="absorb", full_output=True)
    >>> round(float(lost), 6)
    0.601058
    """
    boundary_seq = _boundaries(boundary)
    kind = check_choice("kind", kind, DIFFUSE_KINDS)
    host = None if isinstance(u, jax.Array) else np.asarray(u)
    u = as_field(u)
    u, auto = _split.explicit(u)
    ax = normalize_axes("axes", axes, u.ndim)
    clip = _clip_rule(host, u, ax)
    k = len(ax)
    if len(boundary_seq) == 1:
        boundary_seq = boundary_seq * k
    if len(boundary_seq) != k:
        raise ValueError(
            f"`boundary` must be one name or one per diffused axis ({k}); "
            f"got {boundary!r}."
        )
    if drift is not None:
        if kind != "gaussian":
            raise ValueError(f"`drift` requires kind='gaussian'; got kind={kind!r}.")
        if any(b in ("reflect", "absorb") for b in boundary_seq):
            raise ValueError(
                "`drift` is only supported with the 'free' and 'periodic' "
                f"boundaries (images of a drifting kernel are not exact); got "
                f"boundary={boundary!r}."
            )
        check_finite("drift", drift)
    check_param("D", D)
    check_param("t", t)
    check_param("step", step, positive=True)
    out_dtype = u.dtype
    u = u.astype(compute_dtype(u.dtype))
    dtype = compute_dtype(real_dtype(u, D, t, step))
    d_a = per_axis("D", jnp.asarray(D, dtype), k)
    h = per_axis("step", jnp.asarray(step, dtype), k)
    if np.ndim(t) != 0:
        raise ValueError(f"`t` must be a scalar; got shape {np.shape(t)}.")
    radii = _halo_radii(u, ax, boundary_seq, kind, D, t, step, drift)
    narrow = _narrow_radii(u, ax, boundary_seq, kind, D, t, step, drift)
    t = jnp.asarray(t, dtype)
    v = None
    if drift is not None:
        v = per_axis("drift", jnp.asarray(drift, dtype), k)
    out = _diffuse(
        u,
        d_a,
        t,
        h,
        v,
        ax,
        tuple(boundary_seq),
        kind,
        bool(full_output),
        out_dtype,
        clip,
        radii,
        narrow,
    )
    return out if auto is None else jax.tree.map(lambda y: _split.on_mesh(y, auto), out)


def _halo_radii(u, ax, boundaries, kind, D, t, step, drift):
    """Return the static routes of the diffused axes split over devices.

    None when no diffused axis is split; else one per diffused axis
    (`_split.radii`): a halo radius, a distributed transform, or None for
    an axis not split or to be gathered (a free axis whose radius is
    unknown because a parameter is traced, or too wide for a halo or a
    transform).
    """
    split = split_axes(u)
    if not any(a in split for a in ax):
        return None
    k = len(ax)
    moves = drift is not None
    values = [concrete(x) for x in (D, t, step, 0.0 if drift is None else drift)]
    if any(x is None for x in values):  # traced: periodic, walls by transform
        return _split.radii(u, ax, boundaries, kind, None, None, split, moves)
    d_h, t_h, h_h, v_h = (
        np.broadcast_to(np.asarray(x, np.float64), (k,)) for x in values
    )
    s = 2.0 * d_h * t_h / h_h**2
    shift = v_h * t_h / h_h
    return _split.radii(u, ax, boundaries, kind, s, shift, split, moves)


def _clip_rule(host, u, ax) -> str:
    """How to keep a non-negative field's result non-negative (static).

    ``'clip'`` when every batch element of `u` is known (on the host) to be
    non-negative, ``'raw'`` when none is or `u` is complex, else ``'where'``:
    the choice is made per batch element by value, inside the jitted program
    (for JAX arrays, whose check would cost a device-to-host transfer, and
    for traced ones).
    """
    if jnp.iscomplexobj(u):
        return "raw"
    if host is None:
        return "where"
    nonneg = np.all(host >= 0, axis=ax)
    if np.all(nonneg):
        return "clip"
    return "raw" if not np.any(nonneg) else "where"


@bounded_jit(
    static_argnames=(
        "ax",
        "boundaries",
        "kind",
        "full_output",
        "out_dtype",
        "clip",
        "radii",
        "narrow",
    ),
)
def _diffuse(
    u, d_a, t, h, v, ax, boundaries, kind, full_output, out_dtype, clip, radii, narrow
):
    s = 2.0 * d_a * t / h**2
    shift = None if v is None else v * t / h
    out = u
    # Axes split over devices: the kernel on |m| <= R by halo exchange, or
    # by the distributed transform (`_split.radii`).
    split = split_axes(u)  # {} under jit on a mesh of Auto axes (see `_split`)
    halo = tuple(
        r if a in split else None for a, r in zip(ax, radii or (None,) * len(ax))
    )
    for i, (a, b) in enumerate(zip(ax, boundaries)):
        a_i = None if shift is None else shift[i]
        if isinstance(halo[i], tuple):  # (TRANSFORM, period): past the halo's rule
            real = not jnp.iscomplexobj(out)
            if halo[i][0] == _split.WINDOW:  # free space, any width
                lay = _split.mirror_layout(out.shape[a], split[a], real)
                nodes = halo[i][2] if len(halo[i]) > 2 else None  # (a known s)
                out = _split.diffuse_window(out, a, lay, s[i], a_i, kind, nodes)
            elif b in _split.MIRRORS:  # the even or odd extension's transform
                lay = _split.mirror_layout(out.shape[a], split[a], real)
                out = _split.diffuse_mirror(out, a, lay, s[i], kind, b)
            else:
                lay = _split.spectral_layout(out.shape[a], split[a], real, halo[i][1])
                out = _split.diffuse_spectral(out, a, lay, s[i], a_i, kind)
        elif halo[i] is not None:
            k1 = _kernel_values(s[i], a_i, kind, halo[i])
            out = _split.diffuse_axis(out, a, k1, halo[i], b, split[a])
    rest = [i for i in range(len(ax)) if halo[i] is None]
    gathered = tuple(ax[i] for i in rest if ax[i] in split)
    if gathered:  # whole on every device, then split again below
        out = _split.gather(out, gathered)
    if rest:
        whole = functools.partial(
            _whole_axes,
            rest=tuple(rest),
            ax=ax,
            boundaries=boundaries,
            kind=kind,
            narrow=narrow,
        )
        if split_axes(out):  # each device its block: those axes are whole in it
            out = _split.per_block(whole, out, (s, shift))
        else:
            out = whole(out, (s, shift))
    if gathered:
        out = _split.split_like(out, u)
    out = out.astype(u.dtype)
    if clip != "raw":
        conserving = all(b in ("periodic", "reflect") for b in boundaries)
        kept = _clip(out, u, ax, conserving)
        if clip == "where":
            kept = jnp.where(jnp.all(u >= 0, axis=ax, keepdims=True), kept, out)
        out = kept
    valid = jnp.all(d_a >= 0) & (t >= 0) & jnp.all(h > 0)
    out = jnp.where(valid, out, jnp.nan)
    if not full_output:
        return out.astype(out_dtype)
    cell = jnp.prod(h)
    lost = (jnp.sum(u, axis=ax) - jnp.sum(out, axis=ax)) * cell
    return out.astype(out_dtype), lost.astype(out_dtype)


def _whole_axes(u, params, *, rest, ax, boundaries, kind, narrow=None):
    """Diffuse `u` along the diffused axes ``ax[i]`` for ``i`` in `rest`.

    Each of them whole in `u`: those with a narrow kernel (`narrow[i]`, a
    static radius) by the kernel on ``|m| <= R`` and the field's first
    images at its ends (`_narrow_axis`); the other free ones by one engine
    convolution each with the exact window kernel, the rest by one FFT over
    all of them of the (even/odd) extension.
    """
    s, shift = params
    narrow = narrow or (None,) * len(ax)
    for i in rest:
        a = ax[i]
        a_i = None if shift is None else shift[i]
        if narrow[i] is not None:
            k1 = _kernel_values(s[i], a_i, kind, narrow[i])
            u = _narrow_axis(u, a, k1, narrow[i], boundaries[i])
            continue
        if boundaries[i] != "free":
            continue
        n = u.shape[a]
        k1 = _kernel_values(s[i], a_i, kind, n - 1)
        shape = [1] * u.ndim
        shape[a] = 2 * n - 1
        u = convolve(u, k1.reshape(shape), "same", axes=a)
    fax = [
        (i, ax[i], boundaries[i])
        for i in rest
        if boundaries[i] != "free" and narrow[i] is None
    ]
    if fax:
        u = _spectral(u, fax, s, shift, kind)
    return u


# A kernel is narrow (convolved on its offsets |m| <= R, with the field's
# first images padded at its ends) where 2 R + 1 is at most this share of
# the axis: 4096^2 cells at sigma 4 (R = 48), reflect, 0.32 s against 1.15 s
# by the extension's FFT (scipy.ndimage.gaussian_filter, cut at 4 sigma:
# 0.54 s); at sigma 32 (R = 384), 0.8 s against 1.4 s.
_NARROW_SHARE = 4


def _narrow_radii(u, ax, boundaries, kind, D, t, step, drift):
    """Return per diffused axis the radius of a narrow kernel, or None (static).

    The radius past which each side of the kernel holds less than 1e-20 of
    its mass (`_split.tail_radius`; the dropped tail is below ``4e-20 *
    max|u|``, under the float's resolution), where `D`, `t`, `step` and
    `drift` are concrete and ``2 R + 1`` is at most the axis over
    `_NARROW_SHARE` (so one image on each side is all the boundary adds).
    Traced parameters (under `jax.jit` or `jax.grad`) take the transform
    route: its cost does not depend on the kernel's width.
    """
    k = len(ax)
    values = [concrete(x) for x in (D, t, step, 0.0 if drift is None else drift)]
    if any(x is None for x in values):
        return None
    d_h, t_h, h_h, v_h = (
        np.broadcast_to(np.asarray(x, np.float64), (k,)) for x in values
    )
    bad = [not np.all(np.isfinite(x)) for x in (d_h, t_h, h_h, v_h)]
    if any(bad) or np.any(d_h < 0) or t_h[0] < 0 or np.any(h_h <= 0):
        return None  # (the result is NaN: `_diffuse` says so)
    out = []
    for i, a in enumerate(ax):
        if boundaries[i] == "periodic":  # one FFT of the axis, no extension
            out.append(None)
            continue
        s = 2.0 * d_h[i] * t_h[i] / h_h[i] ** 2
        r = _split.tail_radius(s, v_h[i] * t_h[i] / h_h[i], kind)
        out.append(r if _NARROW_SHARE * (2 * r + 1) <= u.shape[a] else None)
    return tuple(out) if any(r is not None for r in out) else None


def _narrow_axis(u, a: int, k1, r: int, boundary: str):
    """Diffuse along axis `a` by the kernel `k1` on ``-r .. r`` (``r < n``).

    The field is extended by ``r`` cells on each side with its first
    images, zeros (``'free'``), the other end (``'periodic'``), the mirror
    image about the outer cell face (``'reflect'``) or that image negated
    (``'absorb'``), and convolved by the engine (``'valid'``: the cost
    model picks direct sums, overlap-add or one FFT).
    """
    shape = [1] * u.ndim
    shape[a] = 2 * r + 1
    k1 = k1.reshape(shape).astype(u.dtype)
    if boundary == "free":
        return convolve(u, k1, "same", axes=a)
    n = u.shape[a]
    if boundary == "periodic":
        lo = lax.slice_in_dim(u, n - r, n, axis=a)
        hi = lax.slice_in_dim(u, 0, r, axis=a)
    else:
        lo = jnp.flip(lax.slice_in_dim(u, 0, r, axis=a), a)
        hi = jnp.flip(lax.slice_in_dim(u, n - r, n, axis=a), a)
        if boundary == "absorb":
            lo, hi = -lo, -hi
    # (Concatenated, not `jnp.pad`: XLA fused the pad's reversed slices into
    # the convolution's reads, 0.6 s against 0.32 s on 4096^2 cells.)
    return convolve(jnp.concatenate([lo, u, hi], axis=a), k1, "valid", axes=a)


def _kernel_values(s, shift, kind: str, r: int):
    """Return the kernel of the infinite lattice at the offsets ``-r .. r``."""
    if kind == "lattice":
        return _lattice.lattice_values(s, r)
    zero = jnp.zeros((), s.dtype) if shift is None else shift
    return _lattice.gauss_values(s, zero, np.arange(-r, r + 1))


def _clip(out, u, ax, conserving: bool):
    """Clip round-off below 0; rescale to the conserved mass where there is one."""
    kept = jnp.maximum(out, 0.0)
    if conserving:
        total = jnp.sum(u, axis=ax, keepdims=True)
        now = jnp.sum(kept, axis=ax, keepdims=True)
        pos = now > 0
        kept = kept * jnp.where(pos, total / jnp.where(pos, now, 1.0), 1.0)
    return kept


def _boundaries(boundary) -> list[str]:
    seq = [boundary] if isinstance(boundary, str) else list(boundary)
    if not seq:
        raise ValueError(f"`boundary` must not be empty; got {boundary!r}.")
    return [check_choice("boundary", b, BOUNDARIES) for b in seq]


def _spectral(u, fax, s, shift, kind: str):
    """Multiply the transform of the extended field by the kernel's transform.

    A spectral method, not a correlation of an extended field: the even
    (``'reflect'``) or odd (``'absorb'``) extension of `u` to twice its
    length is one period of its cosine or sine series, on which the heat
    kernel with all its images acts as the product of transforms, exact for
    a kernel of any width at the cost of one FFT of that period. The engine's
    boundary filters (`probconv.conv.correlate1d`) would need the kernel cut
    and an extension as wide as it, and have no odd reflection; so the
    period is built here, once per axis, by one flip.
    """
    sizes = {a: u.shape[a] for _, a, _ in fax}
    for _, a, b in fax:
        if b != "periodic":  # the mirror image about the outer cell face
            image = jnp.flip(u, a)
            u = jnp.concatenate([u, image if b == "reflect" else -image], axis=a)
    axes = tuple(a for _, a, _ in fax)
    shape = tuple(u.shape[a] for a in axes)
    real = not jnp.iscomplexobj(u)
    spec = fft_nd(u, shape, axes, real)
    mult = None
    for j, (i, a, _) in enumerate(fax):
        length = shape[j]
        last = real and j == len(fax) - 1
        freq = np.fft.rfftfreq(length) if last else np.fft.fftfreq(length)
        theta = 2.0 * np.pi * freq
        if kind == "lattice":
            m1 = _lattice.lattice_dtft(s[i], theta)
        else:
            m1 = _lattice.gauss_dtft(s[i], None if shift is None else shift[i], theta)
        bshape = [1] * u.ndim
        bshape[a] = m1.shape[0]
        m1 = m1.reshape(bshape)
        mult = m1 if mult is None else mult * m1
    out = ifft_nd(spec * mult, shape, axes, real)
    for a in axes:
        out = jax.lax.slice_in_dim(out, 0, sizes[a], axis=a)
    return out
