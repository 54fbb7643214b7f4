"""Signals split over devices along their own axes: halo exchange per shard.

An input whose `jax.sharding.NamedSharding` splits a convolved axis over
several devices is convolved shard by shard inside `jax.shard_map`: each
device receives from its neighbours (`lax.ppermute`) the samples its window
of the output reads beyond its own shard, the halo (``K - 1`` samples for a
kernel of ``K`` taps, from as many neighbours as that spans), and runs the
method the cost model picks for its own block. Kernels that reach further
go by the distributed transform along that axis (`_split_fft`; class by
class where it can, `_split_chunked`); each split axis takes the route
`route` prices (bytes received and flops), a halo only while it stays
within two shards and leaves each device less than the whole signal (its
samples, and for a halo wider than a shard its block's transforms). The
same bodies (`block_body`) run inside a user's own shard map, told the
split by ``axis_name`` (`_manual`).

Output rule. Along a split axis the output is cut into as many equal blocks
as the input has shards, block ``p`` on the device that holds shard ``p``.
Its length is that of the unsharded result; where that length is a multiple
of the number of shards (always in mode ``'same'``) the result is split like
the input. JAX has no uneven shardings, so otherwise the blocks are computed
split, padded to a multiple, and the result (not the input) is joined along
that axis: replicated there, which the documentation says.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.sharding import AxisType, NamedSharding
from jax.sharding import PartitionSpec as P

from .._checks import normalize_axes
from . import _choose, _split_chunked, _split_fft
from ._cost import shape_work
from ._pad import check_boundary
from ._pad import pad as _pad
from ._plan import Plan, Prepared, make_plan
from ._transforms import circular_size, next_fast_len


class Split(NamedTuple):
    """How an array is laid out over a mesh: its spec and shard counts."""

    mesh: object  # jax.sharding.Mesh, or an AbstractMesh under jit
    spec: tuple  # one PartitionSpec entry per axis (None where not split)
    counts: tuple[int, ...]  # shards per axis (1 where not split)

    def names(self, d: int) -> tuple[str, ...]:
        e = self.spec[d]
        if e is None:
            return ()
        return (e,) if isinstance(e, str) else tuple(e)


_Tracer = jax.core.Tracer


def _sharding(x):
    if isinstance(x, _Tracer):
        return jax.typeof(x).sharding
    return getattr(x, "sharding", None)


def split_of(x) -> Split | None:
    """Return how `x` is laid over a mesh, or None if no axis names a mesh axis.

    Reads the `NamedSharding` of a concrete array, or under `jax.jit` the
    sharding in the array's type (visible for meshes of `Explicit` axes, the
    default of `jax.make_mesh`). Arrays inside a `shard_map` (manual axes)
    are local blocks: None.
    """
    if isinstance(x, np.ndarray):
        return None
    s = _sharding(x)
    if type(s) is not NamedSharding:  # single-device arrays: the common case
        return None
    mesh = s.mesh
    if not mesh.shape or AxisType.Manual in tuple(mesh.axis_types):
        return None
    spec, counts = [], []
    for d in range(x.ndim):
        e = s.spec[d] if d < len(s.spec) else None
        if e is None or e is P.UNCONSTRAINED:
            spec.append(None)
            counts.append(1)
            continue
        names = (e,) if isinstance(e, str) else tuple(e)
        spec.append(e)
        counts.append(math.prod(mesh.shape[n] for n in names))
    if all(e is None for e in spec):
        return None
    return Split(mesh, tuple(spec), tuple(counts))


def split_axes(x) -> dict[int, int]:
    """Return the axes along which an array is split over devices.

    Parameters
    ----------
    x : array_like
        An array; a `jax.Array` with a `jax.sharding.NamedSharding`, or a
        traced one under `jax.jit` whose type carries its sharding (meshes
        of `Explicit` axes, the default of `jax.make_mesh`).

    Returns
    -------
    dict
        ``{axis: number of shards}`` for each axis split over more than one
        device; empty for NumPy arrays, single-device and replicated arrays.

    Examples
    --------
    >>> import numpy as np
    >>> from probconv.conv.internal import split_axes
    >>> split_axes(np.ones(8))
    {}
    """
    split = split_of(x)
    if split is None:
        return {}
    return {d: c for d, c in enumerate(split.counts) if c > 1}


def _explicit(split: Split, names) -> bool:
    types = dict(zip(split.mesh.axis_names, split.mesh.axis_types))
    return any(types[n] == AxisType.Explicit for n in names)


def receive(piece, names, n: int, s: int, cyclic: bool = False):
    """Return, on device ``p``, the `piece` of device ``p - s``.

    For use inside a `jax.shard_map` over the mesh axes `names` (``n``
    devices along them): one `lax.ppermute`. Past the ends of the signal
    the piece is zeros, unless `cyclic`.
    """
    if cyclic:
        perm = [(i, (i + s) % n) for i in range(n)]
    else:
        perm = [(i, i + s) for i in range(n) if 0 <= i + s < n]
    if not perm:
        return jnp.zeros_like(piece)
    return lax.ppermute(piece, names, perm)


def halo(x, d: int, names, n: int, before: int, after: int, cyclic: bool = False):
    """Return the `before` samples preceding this shard, `after` following it.

    For use inside a `jax.shard_map` whose block `x` is split along axis `d`
    over the mesh axes `names` (``n`` devices along them). Returns two
    lists of pieces (to concatenate before and after the block), taken from
    as many neighbours as they span, one `ppermute` each; zeros past the
    ends of the signal unless `cyclic`.
    """
    size = x.shape[d]
    left, right = [], []
    s, need = 1, before
    while need > 0:
        take = min(need, size)
        piece = lax.slice_in_dim(x, size - take, size, axis=d)
        left.insert(0, receive(piece, names, n, s, cyclic))
        need, s = need - take, s + 1
    s, need = 1, after
    while need > 0:
        take = min(need, size)
        piece = lax.slice_in_dim(x, 0, take, axis=d)
        right.append(receive(piece, names, n, -s, cyclic))
        need, s = need - take, s + 1
    return left, right


class _Axis(NamedTuple):
    """The block geometry of one split convolved axis."""

    axis: int  # the axis of the arrays
    index: int  # its place among the convolved axes
    shards: int
    block: int  # output samples per shard
    step: int  # block - shard: how far block p starts from shard p, per p
    before: int  # halo samples from the preceding shards
    after: int  # and from the following ones


def _geometry(plan: Plan, split: Split) -> tuple[_Axis, ...]:
    out = []
    for i, d in enumerate(plan.conv_axes):
        n = split.counts[d]
        if n == 1:
            continue
        size, k = plan.shape1[i] // n, plan.shape2[i]
        start, length = plan.start[i], plan.length[i]
        block = -(-length // n)
        step = block - size
        # Shard p (samples p*size ...) computes full-convolution entries
        # start + p*block ... which read input samples from
        # start + p*block - (k - 1) on.
        first = start - (k - 1) + min(0, (n - 1) * step)
        last = start + block + max(0, (n - 1) * step)
        out.append(_Axis(d, i, n, block, step, max(0, -first), max(0, last - size)))
    return tuple(out)


def _local_plan(plan: Plan, geometry, shape1, shape2) -> Plan:
    """Return the plan of one shard: 'valid' along split axes, else as given."""
    local = make_plan(shape1, shape2, plan.out_dtype, "full", plan.conv_axes)
    start, length = list(plan.start), list(plan.length)
    for g in geometry:
        start[g.index] = plan.shape2[g.index] - 1
        length[g.index] = g.block
    return local._replace(start=tuple(start), length=tuple(length))


def _specs(split: Split, plan: Plan, shape1, shape2):
    """in_specs of both inputs and out_specs, from the first input's split."""
    nd = len(shape1)
    vspec, ospec = [], []
    for d in range(nd):
        e = split.spec[d]
        if d in plan.conv_axes:
            vspec.append(None)
            ospec.append(e)
        else:  # a batch axis: split alike where the sizes agree
            same = shape2[d] == shape1[d]
            vspec.append(e if same else None)
            ospec.append(e if shape1[d] >= shape2[d] else None)
    return P(*split.spec), P(*vspec), P(*ospec)


def _join(y, split: Split, plan: Plan, geometry, ospec):
    """Cut padded blocks back to the result's length (see the output rule)."""
    spec = list(ospec)
    index = [slice(None)] * y.ndim
    for g in geometry:
        if g.block * g.shards != plan.length[g.index]:
            if _explicit(split, split.names(g.axis)):
                spec[g.axis] = None
                y = jax.sharding.reshard(y, NamedSharding(split.mesh, P(*spec)))
            index[g.axis] = slice(0, plan.length[g.index])
    return y[tuple(index)]


# Seconds per byte a device receives, for pricing the halo against the
# distributed transform. Measured with four simulated CPU devices on the
# 2-core development machine (`docs/performance.md`, "Signals split over
# devices"): an all-to-all of 2, 8 and 32 MB per device cost 0.5, 1.3 and
# 3.4 ns a byte received beyond a local copy; a collective-permute is
# nearly free there (the runtime hands the buffer over). One price per byte
# received serves both, as on a real interconnect (NVLink: about 1e-11 s,
# a host network: 1e-10 s and more); the simulated figure is the cautious
# one, so the transform must save flops or memory to be taken.
BYTE_SECONDS = 1.0e-9


class Route(NamedTuple):
    """How a split convolution runs: which split axes by transform, the price."""

    transform: tuple[_Axis, ...]  # by the distributed transform (in axis order)
    layouts: tuple  # their `_split_fft.Layout`s
    halo: tuple[_Axis, ...]  # by halo exchange
    bytes: int  # received per device and call (the model)
    seconds: float  # the price: flops and bytes
    over: int  # memory rules its halos break (`_over`; 0 for a route within)


def _over_memory(plan: Plan, g: _Axis) -> bool:
    """Whether a halo along `g` would bring a device more than two shards.

    Each device then holds more of the signal than three shards' worth
    along the axis, up to all of it: the memory limit of the halo.
    """
    return g.before + g.after > 2 * (plan.shape1[g.index] // g.shards)


def _over(plan: Plan, geometry, halo_axes, shape1, x_ext) -> int:
    """Count how a route's halos break the memory limit.

    Each halo axis that reaches past two shards counts one (`_over_memory`),
    and so does a block that, extended by the halos, holds as much of the
    signal as there is along the split axes (`x_ext`: the extents each
    device holds): no device may hold the whole signal.
    """
    if not halo_axes:
        return 0
    over = sum(_over_memory(plan, g) for g in halo_axes)
    whole = math.prod(shape1[g.axis] for g in geometry)
    return over + (math.prod(x_ext[g.axis] for g in geometry) >= whole)


def _over_scratch(
    plan: Plan, local: Plan, method: str, halo_axes, shape1, x_ext
) -> int:
    """One where a halo wider than a shard leaves the block's transforms too big.

    Kernels longer than a shard go by halo only while the block's local
    transforms hold less than the whole signal: an FFT (or overlap-add) of
    ``L`` points holds about three arrays of them at its peak (the padded
    block, the block's and the kernel's spectra, their product), so
    ``3 L`` must stay below the signal's samples. Measured (four devices,
    float64): 20,001 taps on shards of 16,384, a transform of 38,880
    points, 1.78 signals of scratch per device; a 132 x 104 block of a
    256 x 192 field, 0.90 (``3 L / N``: 1.78 and 0.89).
    """
    if method == "direct":
        return 0
    wide = any(
        plan.shape2[g.index] - 1 > plan.shape1[g.index] // g.shards for g in halo_axes
    )
    if not wide:
        return 0
    real = not jnp.issubdtype(plan.dtype, jnp.complexfloating)
    points = math.prod(
        next_fast_len(circular_size(n1, n2, s, n), real=real)
        for n1, n2, s, n in zip(local.shape1, local.shape2, local.start, local.length)
    )
    rows = math.prod(e for d, e in enumerate(x_ext) if d not in plan.conv_axes)
    return int(3 * points * rows >= math.prod(shape1))


# The most pieces a device's block goes in (`_in_pieces`), one after another,
# and the fewest points of its transform for which they pay: below that the
# program's other buffers outweigh the block's transforms (3 rows of 2,088
# samples per device, a 2,100-point transform: 0.613 of the signal whole,
# 0.618 in two pieces).
MAX_PIECES = 8
MIN_PIECES_POINTS = 1 << 14


def _transform_points(local: Plan) -> int:
    """Points of one transform of a block's FFT convolution (`local`)."""
    real = not jnp.issubdtype(local.dtype, jnp.complexfloating)
    return math.prod(
        next_fast_len(circular_size(n1, n2, s, n), real=real)
        for n1, n2, s, n in zip(local.shape1, local.shape2, local.start, local.length)
    )


def _in_pieces(plan: Plan, local: Plan, method: str, geometry, ext, shape1):
    """Return ``(axis, count)`` where a block's FFT goes in pieces, else None.

    A block convolved by one FFT holds about three arrays of its transform's
    ``L`` points at the peak (the padded block, the spectra, their
    product: `_over_scratch`), and by overlap-add as many of its segments'
    transforms, which cover at least as many points. Where ``3 L`` reaches
    the signal's size (a signal split in two: 1.2 to 1.65 signals of
    scratch per device measured, 2^16 samples by 301 and 3001 taps), the
    block's outputs go instead in equal pieces along the split axis of the
    longest block, one after the other, each the 'valid' convolution of
    its ``width + K - 1`` samples: the fewest pieces whose transforms
    (``3 L`` of a piece) and the whole block's output, written into as they
    go, stay below the signal's size. At most `MAX_PIECES`, none shorter
    than the kernel (no piece reads more than twice what it writes): where
    no count keeps below the signal, the most that these rules allow.
    Blocks whose transform has fewer than `MIN_PIECES_POINTS` stay whole.
    `ext` is the shape of the block extended by its halos, `shape1` the
    signal's.
    """
    if method == "direct" or not geometry:
        return None
    whole = math.prod(shape1)
    batch = math.prod(n for d, n in enumerate(ext) if d not in plan.conv_axes)
    points = _transform_points(local)
    if 3 * points * batch < whole or points < MIN_PIECES_POINTS:
        return None
    g = max(geometry, key=lambda h: h.block)
    k = plan.shape2[g.index]
    out = batch * math.prod(local.length)  # the block's outputs
    counts = [
        c
        for c in range(2, MAX_PIECES + 1)
        if g.block % c == 0 and g.block // c >= k - 1
    ]
    if not counts:
        return None
    for c in counts:
        shape = list(local.shape1)
        shape[g.index] = g.block // c + k - 1
        length = list(local.length)
        length[g.index] = g.block // c
        part = local._replace(shape1=tuple(shape), length=tuple(length))
        if 3 * _transform_points(part) * batch + out < whole:
            return g, c
    return g, counts[-1]


def _halo_received(size: int, n: int, before: int, after: int) -> int:
    """Return the samples per row a device receives by `halo`.

    Zeros past the ends of the signal come from no device: not counted.
    """
    got = 0
    for need in (before, after):
        s = 1
        while need > 0:
            take = min(need, size)
            got += take if s < n else 0
            need, s = need - take, s + 1
    return got


def _local_extents(split: Split, shape) -> list[int]:
    return [m // c for m, c in zip(shape, split.counts)]


def _route_of(
    prepared: Prepared, split: Split, geometry, shape1, shape2, chosen
) -> Route | None:
    """Price one route: the split axes in `chosen` by transform, the rest by halo.

    None where a transformed axis has no layout, or where whole rows would
    cut an output that the halo keeps split.
    """
    plan = prepared.plan
    backend = jax.default_backend()
    costs = _choose.COSTS.get(backend, _choose.COSTS["cpu"])
    cplx = jnp.issubdtype(plan.dtype, jnp.complexfloating)
    item = plan.dtype.itemsize // (2 if cplx else 1)
    transform = tuple(g for g in geometry if g.axis in chosen)
    halo_axes = tuple(g for g in geometry if g.axis not in chosen)
    x_ext = _local_extents(split, shape1)
    v_ext = list(shape2)
    vsplit = _specs(split, plan, shape1, shape2)[1]
    for d, e in enumerate(vsplit):
        if e is not None:
            v_ext[d] //= split.counts[d]
    received = 0
    for g in halo_axes:  # the halo, axis after axis, of the extended block
        k = plan.shape2[g.index]
        rows = math.prod(x_ext) // x_ext[g.axis]
        received += rows * _halo_received(x_ext[g.axis], g.shards, g.before, g.after)
        x_ext[g.axis] = g.block + k - 1
    halo_bytes = received * plan.dtype.itemsize
    if not transform:
        local = _local_plan(plan, geometry, tuple(x_ext), tuple(v_ext))
        est = _choose.estimate(local, backend)
        method = min(est, key=est.get) if prepared.auto else prepared.method
        seconds = est[method] + BYTE_SECONDS * halo_bytes
        over = _over(plan, geometry, halo_axes, shape1, x_ext)
        over += _over_scratch(plan, local, method, halo_axes, shape1, x_ext)
        return Route((), (), halo_axes, halo_bytes, seconds, over)
    real = len(transform) == len(plan.conv_axes) and not cplx
    lays = []
    for j, g in enumerate(transform):
        size = plan.shape1[g.index] // g.shards
        last = j == len(transform) - 1
        k = plan.shape2[g.index]
        period = circular_size(
            plan.shape1[g.index], k, plan.start[g.index], plan.length[g.index]
        )
        lay = _split_fft.layout(g.shards, size, g.block, k, real and last, period)
        if lay is None:
            return None
        if lay.block != g.block and g.block * g.shards == plan.length[g.index]:
            return None  # whole rows would cut a result that the halo keeps split
        lays.append(lay)
    # Per device: the local axes' transforms (whole or extended by the halo)
    # and the distributed ones, for the signal, the kernel and the product.
    shape, batch_x, batch_v, batch_o, spread = [], 1, 1, 1, 1
    for i, d in enumerate(plan.conv_axes):
        g = next((g for g in transform if g.axis == d), None)
        if g is not None:
            lay = lays[transform.index(g)]
            shape.append(lay.length)
            spread *= g.shards
            continue
        h = next((h for h in halo_axes if h.axis == d), None)
        n1, k = x_ext[d], plan.shape2[i]
        start, length = (k - 1, h.block) if h else (plan.start[i], plan.length[i])
        shape.append(next_fast_len(circular_size(n1, k, start, length), real=False))
    for d in range(len(shape1)):
        if d not in plan.conv_axes:
            batch_x *= x_ext[d]
            batch_v *= v_ext[d]
            batch_o *= max(x_ext[d], v_ext[d])
    work = sum(shape_work(shape, b) for b in (batch_x, batch_v, batch_o)) / spread
    # The transforms' work, and the fixed cost of a call that the halo's
    # local method pays too (`_choose.estimate`): tiny blocks go by halo.
    flops = costs["fft"][item] * work * (2 if cplx else 1) + costs["call"]["fft"]
    local = [n for i, n in enumerate(shape) if plan.conv_axes[i] not in chosen]
    if local and not cplx:  # the last local axis by a real transform
        local[-1] = local[-1] // 2 + 1
    lead = math.prod(local)
    t_bytes = _split_fft.transform_bytes(
        lays, item, batch_x * lead, batch_v * lead, kernel_map=bool(local)
    )
    total = halo_bytes + t_bytes
    over = _over(plan, geometry, halo_axes, shape1, x_ext)
    return Route(
        transform, tuple(lays), halo_axes, total, flops + BYTE_SECONDS * total, over
    )


def route(prepared: Prepared, split: Split, shape1, shape2) -> Route:
    """Return the route of a split convolution: halo or transform per split axis.

    Each split convolved axis goes by halo exchange or by the distributed
    transform; of the combinations that exist (a transform needs a layout,
    `_split_fft.layout`), those whose halos stay within the memory limit
    (two shards, less than the whole signal: `_over`) come first, then the
    cheapest by flops
    (the cost model's FFT and direct prices of each device's work) and
    bytes received (`BYTE_SECONDS` each). A method named by the caller other
    than 'fft' takes the transform only where the memory limit asks.
    """
    plan = prepared.plan
    geometry = _geometry(plan, split)
    free = prepared.auto or prepared.method == "fft"
    best, key = None, None
    for chosen in itertools.product((False, True), repeat=len(geometry)):
        axes = {g.axis for g, c in zip(geometry, chosen) if c}
        r = _route_of(prepared, split, geometry, shape1, shape2, axes)
        if r is None:
            continue
        k = (r.over, 0 if free else len(axes), r.seconds)
        if key is None or k < key:
            best, key = r, k
    return best


def _transform_body(prepared: Prepared, split: Split, r: Route, x, v):
    """One device's block: halos along `r.halo`, transforms along `r.transform`.

    Convolved axes held on the device (whole, or extended by their halo) are
    transformed there; the split ones by `_split_fft.convolve_block`, one
    after the other.
    """
    plan = prepared.plan
    if prepared.conj:
        v = jnp.conj(v)
    if prepared.flip:
        v = jnp.flip(v, prepared.flip)
    x, v = x.astype(plan.dtype), v.astype(plan.dtype)
    x = _halo_blocks(x, plan, split, r.halo)
    complex_dtype = jnp.result_type(plan.dtype, jnp.complex64)
    taxes = [g.axis for g in r.transform]
    trailing = list(range(x.ndim - len(taxes), x.ndim))
    rest = [d for d in range(x.ndim) if d not in taxes]
    windows = []  # local convolved axes: (place once the split ones are last, ...)
    for i, ax in enumerate(plan.conv_axes):
        if ax in taxes:
            continue
        k = plan.shape2[i]
        h = next((h for h in r.halo if h.axis == ax), None)
        start, length = (k - 1, h.block) if h else (plan.start[i], plan.length[i])
        n = next_fast_len(circular_size(x.shape[ax], k, start, length), real=False)
        windows.append((rest.index(ax), n, start, length))

    # Real data: the last local axis by a real transform, first (and its
    # inverse last), so that the distributed passes move half spectra.
    real = not jnp.issubdtype(plan.dtype, jnp.complexfloating)

    def local_transforms(a):  # the kernel's: after its columns are read
        for i, (d, n, _, _) in enumerate(reversed(windows)):
            if real and i == 0:
                a = jnp.fft.rfft(a, n=n, axis=d)
            else:
                a = jnp.fft.fft(a.astype(complex_dtype), n=n, axis=d)
        return a

    lays = r.layouts
    names = tuple(split.names(g.axis) for g in r.transform)
    starts = tuple(plan.start[g.index] for g in r.transform)
    block = _split_fft.convolve_block
    if _split_fft.by_classes(lays, bool(windows)):
        block = _split_chunked.convolve_block
    y = block(
        local_transforms(jnp.moveaxis(x, taxes, trailing)),
        jnp.moveaxis(v, taxes, trailing),
        lays,
        names,
        starts,
        complex_dtype if windows else plan.out_dtype,
        kernel_map=local_transforms if windows else None,
    )
    for i, (d, n, start, length) in enumerate(windows):
        if real and i == len(windows) - 1:
            y = jnp.fft.irfft(y, n=n, axis=d)
        else:
            y = jnp.fft.ifft(y, axis=d)
        y = lax.slice_in_dim(y, start, start + length, axis=d)
    y = jnp.moveaxis(y, trailing, taxes)
    if not jnp.issubdtype(plan.out_dtype, jnp.complexfloating):
        y = y.real
    return y.astype(plan.out_dtype)


def _halo_blocks(x, plan: Plan, split: Split, geometry):
    """Extend `x` by its halo along each axis of `geometry`, cut to the block's reach.

    Along each, the block ``p`` reads ``block + K - 1`` input samples.
    """
    for g in geometry:
        names = split.names(g.axis)
        k = plan.shape2[g.index]
        left, right = halo(x, g.axis, names, g.shards, g.before, g.after, False)
        ext = jnp.concatenate([*left, x, *right], axis=g.axis)
        offset = g.before + plan.start[g.index] - (k - 1)
        if g.step:
            offset = offset + lax.axis_index(names) * g.step
        x = lax.dynamic_slice_in_dim(ext, offset, g.block + k - 1, axis=g.axis)
    return x


def block_body(
    prepared: Prepared, split: Split, shape1, shape2, execute: Callable
) -> tuple[Callable, tuple[_Axis, ...]]:
    """Return the body that computes one device's block, and its geometry.

    `body(x, v)` runs inside a shard map over the mesh axes that `split`
    names (`jax.shard_map` here, or a user's: `_manual`): `x` is the
    device's shard of an input of `shape1`, `v` the whole kernel of
    `shape2`. It takes the route `route` prices: halos and the method the
    cost model picks for the extended block, or the distributed transform
    along some split axes. The geometry gives each split axis's output
    block (whole rows of the transform where it goes by one).
    """
    plan = prepared.plan
    geometry = _geometry(plan, split)
    backend = jax.default_backend()

    def body(x, v):
        if prepared.conj:
            v = jnp.conj(v)
        if prepared.flip:
            v = jnp.flip(v, prepared.flip)
        x = _halo_blocks(x, plan, split, geometry)
        local = _local_plan(plan, geometry, x.shape, v.shape)
        method = _choose.choose(local, backend) if prepared.auto else prepared.method
        # Unstacked transforms: a stack of the block and the kernel holds
        # both padded inputs and both spectra at once (a 2-D field's block
        # on a 2 x 2 mesh: 1.2 times the field per device, 0.9 unstacked);
        # the devices keep the cores busy already.
        cut = _in_pieces(plan, local, method, geometry, x.shape, shape1)
        if cut is None:
            return execute(x, v, local, method, prepared.precision, stack=False)
        g, count = cut
        width, k = g.block // count, plan.shape2[g.index]
        parts = tuple(h._replace(block=width) if h is g else h for h in geometry)

        def piece(i):  # outputs i * width onwards along g's axis
            part = lax.dynamic_slice_in_dim(x, i * width, width + k - 1, g.axis)
            lp = _local_plan(plan, parts, part.shape, v.shape)
            return execute(part, v, lp, method, prepared.precision, stack=False)

        return _split_chunked._side_by_side(piece, count, g.axis)

    r = route(prepared, split, shape1, shape2)
    if r.transform:  # blocks of whole rows: the result may be cut after
        blocks = {g.axis: lay.block for g, lay in zip(r.transform, r.layouts)}
        geometry = tuple(
            g._replace(block=blocks.get(g.axis, g.block)) for g in geometry
        )
        r = r._replace(
            transform=tuple(g._replace(block=blocks[g.axis]) for g in r.transform)
        )
        body = functools.partial(_transform_body, prepared, split, r)
    return body, geometry


@functools.lru_cache(maxsize=256)
def _program(prepared: Prepared, split: Split, shape1, shape2, execute: Callable):
    plan = prepared.plan
    xspec, vspec, ospec = _specs(split, plan, shape1, shape2)
    body, geometry = block_body(prepared, split, shape1, shape2, execute)
    mapped = jax.shard_map(
        body, mesh=split.mesh, in_specs=(xspec, vspec), out_specs=ospec
    )

    def run(a, v):
        if _explicit(split, [n for d in range(a.ndim) for n in split.names(d)]):
            v = jax.sharding.reshard(jnp.asarray(v), NamedSharding(split.mesh, vspec))
        return _join(mapped(a, v), split, plan, geometry, ospec)

    return jax.jit(run)


def convolve_split(a, v, prepared: Prepared, split: Split, execute: Callable):
    """Run a prepared convolution whose first input is split along its axes.

    `execute(x, v, plan, method, precision, stack=...)` is the engine's
    single-device convolution, run on each shard's block.
    """
    program = _program(
        prepared._replace(seconds=0.0), split, tuple(a.shape), tuple(v.shape), execute
    )
    return program(a, v)


def halo_map(
    fn: Callable,
    x: jax.Array,
    axis: int,
    before: int,
    after: int,
    *,
    boundary: str = "constant",
    cval=0.0,
) -> jax.Array:
    """Apply a sliding-window function to each shard of a split array.

    `fn` receives the shard extended by ``before`` samples of the signal
    that precede it along `axis` and ``after`` that follow it (from the
    neighbouring devices; past the signal's ends, extended as `pad` does
    with `boundary`), and must return an array of the shard's own shape:
    the outputs of its windows. The result is split like `x`. On an array
    not split along `axis`, ``fn(pad(x, (before, after), boundary))``.

    Parameters
    ----------
    fn : callable
        Maps an extended block to the block's outputs (same shape as the
        block). Traced once, on one shard's shape.
    x : jax.Array
        The data, split over devices along `axis` or not.
    axis : int
        The axis the windows slide along.
    before, after : int
        The samples each window reads before and after its output sample.
    boundary : str
        scipy.ndimage's boundary mode: 'constant', 'reflect', 'mirror',
        'nearest' or 'wrap' (see `pad`).
    cval : float
        The fill value of the 'constant' mode.

    Returns
    -------
    jax.Array
        ``fn`` applied along the whole signal, split like `x`.

    Raises
    ------
    ValueError
        For a bad `boundary` or negative widths; for a boundary that copies
        samples ('reflect', 'mirror', 'nearest') wider than one shard; or if
        `fn` changes the shape of a block.

    Notes
    -----
    Each device sends ``before + after`` samples per row along `axis` (one
    `lax.ppermute` per neighbour spanned) and holds ``n / p + before +
    after`` of them, for ``n`` samples over ``p`` devices.

    Examples
    --------
    >>> import numpy as np
    >>> from probconv.conv.internal import halo_map
    >>> halo_map(lambda e: e[:-2] + e[2:], np.arange(4.0), 0, 1, 1).tolist()
    [1.0, 2.0, 4.0, 2.0]
    """
    check_boundary(boundary, "boundary")
    (axis,) = normalize_axes("axis", axis, jnp.ndim(x))
    if before < 0 or after < 0:
        raise ValueError(
            f"`before` and `after` must be non-negative; got {before!r}, {after!r}."
        )
    split = split_of(x)
    if split is None or split.spec[axis] is None:
        return fn(_pad(x, [(before, after)], boundary, cval=cval, axes=axis))
    n = split.counts[axis]
    size = x.shape[axis] // n
    copies = boundary in ("reflect", "mirror", "nearest")
    if copies and max(before, after) >= size:
        raise ValueError(
            f"A {boundary!r} boundary needs the windows ({before} + {after} "
            f"samples beyond each output) to fit in one shard ({size} samples "
            f"along axis {axis})."
        )
    names = split.names(axis)
    spec = P(*split.spec)

    def body(block):
        cyclic = boundary == "wrap"
        left, right = halo(block, axis, names, n, before, after, cyclic)
        if not cyclic and (before or after):
            # The first and last shards extend the signal by `boundary`.
            p = lax.axis_index(names)
            if before:
                core = jnp.concatenate([block, *right], axis=axis)
                head = _pad(core, [(before, 0)], boundary, cval=cval, axes=axis)
                head = lax.slice_in_dim(head, 0, before, axis=axis)
                left = [jnp.where(p == 0, head, jnp.concatenate(left, axis=axis))]
            if after:
                core = jnp.concatenate([*left, block], axis=axis)
                tail = _pad(core, [(0, after)], boundary, cval=cval, axes=axis)
                m = tail.shape[axis]
                tail = lax.slice_in_dim(tail, m - after, m, axis=axis)
                right = [jnp.where(p == n - 1, tail, jnp.concatenate(right, axis=axis))]
        y = fn(jnp.concatenate([*left, block, *right], axis=axis))
        if y.shape != block.shape:
            raise ValueError(
                f"`fn` must map an extended block to the block's shape "
                f"{block.shape}; got {y.shape}."
            )
        return y

    return jax.shard_map(body, mesh=split.mesh, in_specs=spec, out_specs=spec)(x)


def split_scan(
    x: jax.Array,
    axis: int,
    local: Callable,
    combine: Callable,
    finish: Callable,
    initial,
) -> jax.Array:
    """Run a scan along an axis split over devices, carrying across shards.

    A two-pass carry: each shard summarizes its block (``local(block)``, a
    pytree of small arrays: the sums or the map that a recurrence applies
    across the block); the summaries of all shards are gathered (one
    `lax.all_gather` of ``p`` summaries, never the data); each shard folds
    those of the shards before it, in order, into the state entering it
    (``state = combine(state, summary)`` from `initial`, a loop over at most
    ``p - 1`` summaries); and ``finish(block, state)`` computes the block's
    outputs from that state. The result is split like `x`. On an array not
    split along `axis`: ``finish(x, initial)``.

    Parameters
    ----------
    x : jax.Array
        The data.
    axis : int
        The axis scanned.
    local : callable
        ``block -> summary``.
    combine : callable
        ``(state entering a shard, its summary) -> state leaving it``.
    finish : callable
        ``(block, state entering it) -> outputs`` of the block's shape.
    initial : pytree
        The state entering the first shard.

    Returns
    -------
    jax.Array
        The scan's outputs, split like `x`.

    Examples
    --------
    A cumulative sum:

    >>> import numpy as np
    >>> from probconv.conv.internal import split_scan
    >>> split_scan(np.arange(4.0), 0, lambda b: b.sum(), lambda a, b: a + b,
    ...            lambda b, e: e + b.cumsum(), 0.0).tolist()
    [0.0, 1.0, 3.0, 6.0]
    """
    (axis,) = normalize_axes("axis", axis, jnp.ndim(x))
    split = split_of(x)
    if split is None or split.spec[axis] is None:
        return finish(jnp.asarray(x), initial)
    n = split.counts[axis]
    names = split.names(axis)
    spec = P(*split.spec)

    def body(block):
        summaries = lax.all_gather(local(block), names, axis=0, tiled=False)
        entering = [initial]
        for q in range(n - 1):
            here = jax.tree.map(lambda s, q=q: s[q], summaries)
            entering.append(combine(entering[-1], here))
        p = lax.axis_index(names)
        enter = jax.tree.map(
            lambda *e: jnp.stack(jnp.broadcast_arrays(*e))[p], *entering
        )
        return finish(block, enter)

    return jax.shard_map(body, mesh=split.mesh, in_specs=spec, out_specs=spec)(x)
