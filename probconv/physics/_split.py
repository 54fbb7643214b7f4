"""Diffusion along axes split over devices: a truncated heat kernel by halo.

A field split over devices along a diffused axis (a `jax.sharding.NamedSharding`
seen by the engine's `split_axes`) cannot take the FFT route of `diffuse`'s
periodic, reflecting and absorbing boundaries, nor the free boundary's kernel
as wide as the axis, without bringing the whole axis to every device. The heat
kernel decays like a Gaussian, though: past a radius `tail_radius` its mass is
below 1e-20, so along a split axis `diffuse` convolves with the kernel on the
offsets ``|m| <= R`` only, each shard extended by the ``R`` samples its
neighbours hold (`conv.internal.halo_map`) and, at the ends of the field, by
the boundary's images:

- ``'free'``: zeros (the window sees nothing beyond the grid);
- ``'periodic'``: the other end of the field (``'wrap'``), as many periods as
  the kernel spans;
- ``'reflect'``: the mirror image about the outer cell face (``'reflect'``);
- ``'absorb'``: the same image with its sign flipped (the odd extension).

This is the method of images of the unsplit `diffuse` with the images summed
in space instead of in the kernel's transform; the two agree to the dropped
tail, ``4e-20 * max|u|``. Where the extended shard would hold more than the
whole axis (a kernel wider than the split allows, see `halo_radius`), or
where the radius is unknown because `D`, `t`, `step` or `drift` is traced,
the axis is gathered instead (`gather`): the ordinary program runs on it, and
the result is split again like the input. The axes a split field holds whole
are diffused on each device's block (`per_block`), and a field on a mesh of
`Auto` axes is seen through the same devices marked `Explicit` (`explicit`).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from jax import lax
from jax.sharding import AxisType, Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from probconv.conv import convolve
from probconv.conv.internal import halo_map

# -ln(1e-20): the kernel's mass beyond the radius, per side, is below e^-_TAIL.
_TAIL = 46.0
# Radii are rounded up to 8 * 2^k or 12 * 2^k cells, so that an eager loop
# over many times compiles a few programs (the extra taps are exact values).
_BUCKET_MIN = 8

HALO_BOUNDARY = {
    "free": "constant",
    "periodic": "wrap",
    "reflect": "reflect",
    "absorb": "reflect",
}


def tail_radius(s: float, shift: float, kind: str) -> int:
    r"""Return a radius in cells past which the heat kernel's mass is below 1e-20.

    For variance `s` (cells squared), centre shifted by `shift` cells, per
    side: the sampled Gaussian (normalized over the integers) is
    sub-Gaussian, its tail beyond ``m`` below :math:`2 e^{-m^2 / 2 s}`; the
    lattice kernel :math:`e^{-s} I_m(s)`, the law of a walk whose moment
    generating function is :math:`e^{s (\cosh\theta - 1)}`, has Chernoff's
    bound :math:`\exp(s (\sqrt{1 + (m/s)^2} - 1) - m\,\mathrm{asinh}(m/s))`.
    The smallest ``m`` whose bound is below :math:`e^{-46}/2`, plus
    ``|shift| + 1``, rounded up to a bucket.
    """
    s = max(float(s), 0.0)
    goal = _TAIL + math.log(4.0)
    if kind == "lattice" and s > 0:
        lo, hi = 0.0, goal / 3 + math.sqrt((goal / 3) ** 2 + 2 * goal * s)

        def log_bound(m):
            q = m / s
            return s * (math.sqrt(1.0 + q * q) - 1.0) - m * math.asinh(q)

        for _ in range(60):  # bisection; `hi` is Bernstein's (looser) radius
            mid = 0.5 * (lo + hi)
            lo, hi = (lo, mid) if log_bound(mid) <= -goal else (mid, hi)
        m = hi
    else:
        m = math.sqrt(2.0 * s * goal)
    return _bucket(math.ceil(m + abs(float(shift))) + 1)


def _bucket(r: int) -> int:
    size = _BUCKET_MIN
    while True:
        for b in (size, 3 * size // 2):
            if b >= r:
                return b
        size *= 2


def halo_radius(radius: int | None, boundary: str, n: int, shards: int) -> int | None:
    """Return the halo of a split axis of `n` cells over `shards` (None: gather).

    By halo where the extended shard holds at most the whole axis (``n/p +
    2 R <= n``) and, for the boundaries that copy the field's own samples
    ('reflect', 'absorb'), where ``R`` is below one shard; a free axis never
    needs more than ``n - 1``. None for an unknown radius.
    """
    if radius is None:
        return None
    size = n // shards
    if boundary == "free":
        radius = min(radius, n - 1)
    if size + 2 * radius > n:
        return None
    if boundary in ("reflect", "absorb") and radius >= size:
        return None
    return radius


def _layout(x) -> tuple[object, tuple]:
    """Return the mesh and the spec (one entry per axis) of a split array."""
    sharding = jax.typeof(x).sharding
    spec = tuple(sharding.spec) + (None,) * (x.ndim - len(sharding.spec))
    return sharding.mesh, spec


def diffuse_axis(u, axis: int, kernel, radius: int, boundary: str, shards: int):
    """Convolve `u` along its split `axis` with `kernel` (offsets -R..R), by halo.

    `kernel` holds the ``2 R + 1`` values of the heat kernel at offsets
    ``-R .. R``; `u` is split over `shards` devices along `axis`, and so is
    the result.
    """
    shape = [1] * u.ndim
    shape[axis] = 2 * radius + 1
    kernel = kernel.reshape(shape)
    _, spec = _layout(u)
    entry = spec[axis]
    names = (entry,) if isinstance(entry, str) else tuple(entry)

    def block(ext):
        if boundary == "absorb" and radius:
            # The reflected images past the field's ends change sign: the odd
            # reflection is not one of the engine's boundaries, so the halo
            # brings the 'reflect' images and the end shards negate them here
            # (their R samples only, not the field).
            p = lax.axis_index(names)
            m = ext.shape[axis]
            left = lax.slice_in_dim(ext, 0, radius, axis=axis)
            mid = lax.slice_in_dim(ext, radius, m - radius, axis=axis)
            right = lax.slice_in_dim(ext, m - radius, m, axis=axis)
            left = jnp.where(p == 0, -left, left)
            right = jnp.where(p == shards - 1, -right, right)
            ext = jnp.concatenate([left, mid, right], axis=axis)
        return convolve(ext, kernel, "valid", axes=axis)

    return halo_map(
        block, u, axis, radius, radius, boundary=HALO_BOUNDARY[boundary], cval=0.0
    )


def gather(u, axes):
    """Return `u` with `axes` whole on every device (the others stay split)."""
    mesh, spec = _layout(u)
    spec = tuple(None if d in axes else e for d, e in enumerate(spec))
    return jax.sharding.reshard(u, NamedSharding(mesh, P(*spec)))


def per_block(fn, u, params):
    """Return ``fn(block, params)`` on each device's block of `u`, split like `u`.

    For work along axes that `u` does not split: inside `jax.shard_map`
    each device transforms its own block (XLA would otherwise gather the
    batch of an FFT). `params` (a pytree of arrays) is the same on all.
    """
    mesh, spec = _layout(u)
    return jax.shard_map(fn, mesh=mesh, in_specs=(P(*spec), P()), out_specs=P(*spec))(
        u, params
    )


def explicit(u):
    """Return `u` on a mesh of `Explicit` axes, and its own mesh if that is Auto.

    A concrete array split over a mesh of `Auto` axes hides its layout from
    the trace of a jitted function; the same devices with `Explicit` axes
    show it, so an eager call on it runs the split program. ``(u, None)``
    for any other array.
    """
    sharding = getattr(u, "sharding", None)
    if isinstance(u, jax.core.Tracer) or type(sharding) is not NamedSharding:
        return u, None
    mesh = sharding.mesh
    if not mesh.shape or any(t != AxisType.Auto for t in mesh.axis_types):
        return u, None
    if all(e is None for e in sharding.spec):
        return u, None
    seen = Mesh(
        mesh.devices,
        mesh.axis_names,
        axis_types=(AxisType.Explicit,) * len(mesh.axis_names),
    )
    return jax.device_put(u, NamedSharding(seen, sharding.spec)), mesh


def on_mesh(y, mesh):
    """Return the concrete `y` laid out alike on `mesh` (the same devices)."""
    return jax.device_put(y, NamedSharding(mesh, y.sharding.spec))


def split_like(y, like):
    """Return `y` laid out over the devices as `like` is."""
    mesh, spec = _layout(like)
    return jax.sharding.reshard(y, NamedSharding(mesh, P(*spec)))


def radii(u, ax, boundaries, kind, s, shift, split) -> tuple[int | None, ...]:
    """Return the halo radius of each diffused axis (None: not split, gathered).

    `s` and `shift` are the kernels' variances and shifts in cells (NumPy,
    one per diffused axis), or None where traced; `split` maps split axes to
    their shard counts.
    """
    out = []
    for i, (a, b) in enumerate(zip(ax, boundaries)):
        if a not in split or s is None:
            out.append(None)
            continue
        r = tail_radius(s[i], 0.0 if shift is None else shift[i], kind)
        out.append(halo_radius(r, b, u.shape[a], split[a]))
    return tuple(out)
