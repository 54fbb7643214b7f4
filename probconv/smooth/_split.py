"""Samples split over devices: reductions across shards, an exact quantile.

A kernel density estimate reads its samples only through sums (weights'
totals, moments), extremes (the grid's range), binned counts on a shared
grid and, for Silverman's rule, two quantiles. Each of these is computed on
every device's own samples and combined across devices (`lax.psum`,
`lax.pmin`, `lax.pmax` of a scalar or of a grid-sized array), inside one
`jax.shard_map`; the samples themselves never leave their device. With no
mesh axes (``axes == ()``) every function here is the one-device reduction.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jax import lax
from jax.sharding import AxisType, Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from ..conv.internal import split_of
from ._binning import linear_bin


def sample_axes(*arrays) -> tuple:
    """Return the mesh and axis names splitting the sample axis, or (None, ()).

    The sample axis is each array's axis 0; the first array split along it
    over more than one device decides (the engine's `split_of`: concrete
    arrays by their `NamedSharding`, traced ones by the sharding in their
    type, which JAX records for meshes of `Explicit` axes; inside a
    `shard_map` arrays are local).
    """
    for a in arrays:
        if a is None or not isinstance(a, jax.Array) or a.ndim == 0:
            continue
        split = split_of(a)
        if split is not None and split.counts[0] > 1:
            return split.mesh, split.names(0)
    return None, ()


def explicit(x, mesh):
    """Return concrete `x` on the same devices with `Explicit` axes.

    A mesh of `Auto` axes hides an array's layout from the trace of a jitted
    function; relabelled `Explicit` (no data moves) the split program sees
    it. Returns ``(x, None)`` where nothing is to be done, else ``(x on the
    Explicit mesh, the original mesh)``.
    """
    sharding = getattr(x, "sharding", None)
    if (
        mesh is None
        or isinstance(x, jax.core.Tracer)
        or not isinstance(mesh, Mesh)
        or type(sharding) is not NamedSharding
        or sharding.mesh != mesh
        or all(t != AxisType.Auto for t in mesh.axis_types)
    ):
        return x, None
    seen = Mesh(
        mesh.devices,
        mesh.axis_names,
        axis_types=(AxisType.Explicit,) * len(mesh.axis_names),
    )
    return jax.device_put(x, NamedSharding(seen, x.sharding.spec)), mesh


def prepare(x, w, mesh):
    """Lay split samples `x` and weights `w` out alike, before the program.

    A mesh of `Auto` axes is relabelled `Explicit` (`explicit`); concrete
    arrays are placed split along axis 0 (a replicated or one-device
    partner is sliced, nothing is gathered). Returns ``(x, w, mesh to
    return the results on, or None)``.
    """
    x, user = explicit(x, mesh)
    w, w_user = explicit(w, mesh)
    mesh, names = sample_axes(x, w)
    if not isinstance(x, jax.core.Tracer):
        x = jax.device_put(x, NamedSharding(mesh, P(names, *(None,) * (x.ndim - 1))))
    if w is not None and not isinstance(w, jax.core.Tracer):
        w = jax.device_put(w, NamedSharding(mesh, P(names)))
    return x, w, user or w_user


def on_mesh(y, mesh):
    """Return the concrete `y` replicated on `mesh` (None: as it is)."""
    if mesh is None:
        return y
    return jax.device_put(y, NamedSharding(mesh, P()))


def split_call(body, x, w, replicated, n_out):
    """Run ``body(x, w, replicated)`` per shard of the samples' axis 0.

    `x` (samples on axis 0) and `w` (weights or None) are split alike over
    the mesh that splits either; `replicated` (a dict of small arrays) is
    the same on every device. The body returns ``n_out`` replicated results
    and then the weights, split like the samples.
    """
    mesh, names = sample_axes(x, w)
    split = P(names, *(None,) * (x.ndim - 1))
    x = jax.sharding.reshard(x, NamedSharding(mesh, split))
    if w is not None:
        w = jnp.asarray(w, x.dtype)
        w = jax.sharding.reshard(w, NamedSharding(mesh, P(names)))

    def local(x, w, rep):
        return body(x, w, rep, names)

    return jax.shard_map(
        local,
        mesh=mesh,
        in_specs=(split, P(names), P()),
        out_specs=(*(P(),) * n_out, P(names)),
    )(x, w, replicated)


def total(v, axes: tuple) -> jax.Array:
    """Sum over axis 0 (the samples), on every device together."""
    s = jnp.sum(v, axis=0) if jnp.ndim(v) else v
    return lax.psum(s, axes) if axes else s


def lowest(v, axes: tuple) -> jax.Array:
    """Minimum over axis 0, on every device together."""
    return _extreme(v, axes, jnp.min, lax.pmin)


def highest(v, axes: tuple) -> jax.Array:
    """Maximum over axis 0, on every device together."""
    return _extreme(v, axes, jnp.max, lax.pmax)


def _extreme(v, axes, local, across):
    """`local` over axis 0, then `across` devices (`lax.pmin`, `lax.pmax`)."""
    if not axes or not jnp.ndim(v):
        s = local(v, axis=0) if jnp.ndim(v) else v
        return across(s, axes) if axes else s
    if not jnp.issubdtype(v.dtype, jnp.floating):
        return across(local(v, axis=0), axes)
    return _extreme_floats(v, axes, local, across)


@functools.partial(jax.custom_jvp, nondiff_argnums=(1, 2, 3))
def _extreme_floats(v, axes, local, across):
    return across(local(v, axis=0), axes)


@_extreme_floats.defjvp
def _extreme_jvp(axes, local, across, primals, tangents):
    # `lax.pmin` and `lax.pmax` have no derivative: that of the one-device
    # reduction, the mean of the tangents of the samples attaining it.
    (v,), (dv,) = primals, tangents
    best = across(local(v, axis=0), axes)
    at = v == best
    num = lax.psum(jnp.sum(jnp.where(at, dv, 0), axis=0), axes)
    return best, num / lax.psum(jnp.sum(at, axis=0), axes).astype(v.dtype)


# Samples binned at a time on one device: one scatter-add over all of
# them holds about 2.5 times the samples in scratch and runs 3-5 times
# slower past 10**6 samples (its accumulator and indices leave the cache);
# chunks of 65,536 keep the scratch to the grid and a chunk. 10**7 samples
# on 4,096 points: 160-230 ms whole, 42-44 ms in chunks; 10**6 on 256 x
# 256: 34 ms, 18 ms (2026-12-03, load 3.3). Smaller chunks lose in 2-D,
# where each adds the whole grid (4,096: 77 ms).
_CHUNK = 1 << 16


def binned(samples, weights, origins, steps, sizes, axes: tuple) -> jax.Array:
    """`linear_bin` of every device's samples on one grid, summed over devices.

    Samples are binned a chunk at a time (`fold`), so that a device's
    scratch is the grid and a chunk, not a multiple of its samples: chunks
    of 4,096 when split over devices (the scratch per device the tests
    bound), of `_CHUNK` on one device.
    """
    if not axes and samples.shape[0] <= _CHUNK:
        return linear_bin(samples, weights, origins, steps, sizes)

    def add(counts, _, xs, ws):
        return counts + linear_bin(xs, ws, origins, steps, sizes)

    init = jnp.zeros(sizes, weights.dtype)
    if not axes:
        return fold(add, init, samples, weights, (), chunk=_CHUNK)
    return lax.psum(fold(add, init, samples, weights, axes), axes)


def fold(fn, init, x, w, axes: tuple, chunk: int = 4096):
    """Fold ``fn(acc, index, x_chunk, w_chunk)`` over chunks of axis 0.

    A loop over whole chunks, then the rest: XLA on CPU gives every masked
    or elementwise reduction over a whole array a temporary of that array's
    size, a chunk at a time keeps it to the chunk's.
    """
    n = x.shape[0]
    c = min(chunk, n)
    full = n // c
    if axes:  # the accumulator differs from device to device
        init = jax.tree.map(lambda a: lax.pcast(a, axes, to="varying"), init)

    def body(i, acc):
        s = i * c
        xs = lax.dynamic_slice_in_dim(x, s, c)
        ws = lax.dynamic_slice_in_dim(w, s, c)
        return fn(acc, s + jnp.arange(c), xs, ws)

    acc = lax.fori_loop(0, full, body, init)
    if n > full * c:
        acc = fn(acc, full * c + jnp.arange(n - full * c), x[full * c :], w[full * c :])
    return acc


def shard_count(axes: tuple) -> int:
    """Return the number of devices along `axes` (1 with none)."""
    return lax.axis_size(axes) if axes else 1


def _keys(x):
    """Unsigned integers in the order of the floats `x` (-0.0 just below 0.0)."""
    bits = 8 * x.dtype.itemsize
    u = jnp.dtype(f"uint{bits}")
    b = lax.bitcast_convert_type(x, u)
    top = jnp.asarray(1 << (bits - 1), u)
    return jnp.where(b >= top, ~b, b | top)


def _value(key, dtype):
    """Return the float whose key (`_keys`) is `key`."""
    top = jnp.asarray(1 << (8 * jnp.dtype(dtype).itemsize - 1), key.dtype)
    return lax.bitcast_convert_type(jnp.where(key >= top, key ^ top, ~key), dtype)


def split_quantile(x, w, q, axes: tuple) -> jax.Array:
    """Quantiles `q` of 1-D samples `x` (weights `w`) split over `axes`.

    The definition is the one-device `_weighted_quantile`'s: the samples in
    increasing order (ties in the order of their index) at positions
    ``(C_i - w_i) / (C_n - w_n)`` (``C`` the cumulative weights, ``w_n`` the
    weight of the last sample in that order), linearly interpolated; for
    equal weights numpy's 'linear' rule, ``i / (n - 1)``. Nothing is sorted
    and nothing gathered: a target ``t = q (C_n - w_n)`` lies in the step of
    sample ``i`` where ``C_i - w_i <= t < C_i``, and ``x_i`` is the smallest
    sample whose weight up to and including it exceeds ``t``. It is found
    exactly by bisection on the floats' bit patterns read as ordered
    integers (64 steps in float64, 32 in float32), each step one pass over
    every device's samples (a chunk at a time, `fold`) and a `psum` of one
    number. Then ``x_i + (t - C_i + w_i) / w_i (x_{i+1} - x_i)``, with
    ``x_{i+1}`` the smallest sample above ``x_i`` and ``w_i`` the weight of
    the last sample tied with it.
    """
    n, dtype = x.shape[0], x.dtype
    start = lax.axis_index(axes) * n if axes else 0
    levels = jnp.ravel(jnp.asarray(q, dtype))
    kdt = _keys(jnp.zeros((), dtype)).dtype
    most = jnp.asarray(jnp.iinfo(kdt).max, kdt)
    zeros = jnp.zeros(levels.shape, w.dtype)
    itype = jnp.int64 if jax.config.jax_enable_x64 else jnp.int32
    none = jnp.full(levels.shape, -1, itype)

    def sum_(v):  # over devices (the chunks are summed by `fold`)
        return lax.psum(v, axes) if axes else v

    def max_(v):
        return lax.pmax(v, axes) if axes else v

    def min_(v):
        return lax.pmin(v, axes) if axes else v

    def last_of(acc, index, keys, ws, key):
        # The last sample (by index) whose key is `key`: (index, weight),
        # one per level; `keys` a chunk's, against the levels' `key`.
        idx, wt = acc
        at = keys[:, None] == key
        i = jnp.max(jnp.where(at, index[:, None], -1), axis=0)
        here = jnp.sum(jnp.where(index[:, None] == i, ws[:, None], 0), axis=0)
        later = i > idx
        return jnp.where(later, i, idx).astype(itype), jnp.where(later, here, wt)

    def across(idx, wt):  # the last over all devices
        return sum_(jnp.where(idx == max_(idx), wt, 0))

    def first(acc, _, xs, ws):
        kmin, kmax, tot = acc
        keys = _keys(xs)
        return (
            jnp.minimum(kmin, jnp.min(keys)),
            jnp.maximum(kmax, jnp.max(keys)),
            tot + jnp.sum(ws),
        )

    init = (most, jnp.zeros((), kdt), jnp.zeros((), w.dtype))
    kmin, kmax, tot = fold(first, init, x, w, axes)
    kmin, kmax, tot = min_(kmin), max_(kmax), sum_(tot)
    kmaxes = jnp.broadcast_to(kmax, levels.shape)
    idx, wt = fold(
        lambda acc, i, xs, ws: last_of(acc, start + i, _keys(xs), ws, kmaxes),
        (none, zeros),
        x,
        w,
        axes,
    )
    t = levels * (tot - across(idx, wt))  # the targets

    def below(key):  # the weight of the samples at or below each key
        def add(acc, _, xs, ws):
            at = _keys(xs)[:, None] <= key
            return acc + jnp.sum(jnp.where(at, ws[:, None], 0), axis=0)

        # Only compared: no derivative (nothing kept per step for jax.grad).
        x0, w0 = lax.stop_gradient(x), lax.stop_gradient(w)
        return sum_(fold(add, zeros, x0, w0, axes))

    def step(_, lohi):
        lo, hi = lohi
        mid = lo + (hi - lo) // 2
        over = below(mid) > t
        return jnp.where(over, lo, mid), jnp.where(over, mid, hi)

    lo = jnp.broadcast_to(kmin - 1, levels.shape)
    _, hi = lax.fori_loop(0, 8 * dtype.itemsize, step, (lo, kmaxes))

    def after(acc, i, xs, ws):
        # The next key above `hi`, the last sample at it, the weight up to it.
        up, last, c = acc
        keys = _keys(xs)[:, None]
        up = jnp.minimum(up, jnp.min(jnp.where(keys > hi, keys, most), axis=0))
        last = last_of(last, start + i, keys[:, 0], ws, hi)
        return up, last, c + jnp.sum(jnp.where(keys <= hi, ws[:, None], 0), axis=0)

    init = (jnp.full(levels.shape, most), (none, zeros), zeros)
    up, (idx, wt), c = fold(after, init, x, w, axes)
    up, wi, c = min_(up), across(idx, wt), sum_(c)
    up = jnp.where(up == most, hi, up)

    def traced(key):
        # The samples of key `key`, exactly, with the derivative of the
        # samples tied at each (their mean): a key carries no derivative.
        def add(acc, _, xs, ws):
            at = _keys(xs)[:, None] == key
            sx = acc[0] + jnp.sum(jnp.where(at, xs[:, None], 0), axis=0)
            return sx, acc[1] + jnp.sum(at, axis=0)

        init = (jnp.zeros(key.shape, dtype), jnp.zeros(key.shape, dtype))
        sx, count = fold(add, init, x, w, axes)
        sx, count = sum_(sx), sum_(count)
        return _value(key, dtype) + (sx - lax.stop_gradient(sx)) / count

    xi, nxt = traced(hi), traced(up)
    frac = jnp.clip((t - c + wi) / jnp.where(wi > 0, wi, 1), 0, 1)
    return (xi + frac * (nxt - xi)).reshape(jnp.shape(q))
