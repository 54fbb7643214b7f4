"""Laws whose grid is split over devices.

`iid_sum` of a lattice law whose masses are split along the grid keeps them
split: one FFT distributed over the devices (the engine's
`conv.internal.spectral_block`, the four-step transform of its long
kernels), the spectrum raised to the power ``n`` on each device's rows of
it, one inverse, the round-off clipped with sums taken across the devices.
The result (``n (size - 1) + 1`` points, padded with zero masses to a
whole number of the transform's rows per device) is split like the law.
`compound` of a lattice severity stays split the same way
(`_compound_split`). Relative accuracy, density laws and laws whose blocks
admit no such layout join the grid first (one all-gather of its masses,
replicated on the devices of that mesh axis; batch axes stay split), and
their result is replicated along the grid too. Without this,
JAX refuses the call on meshes of `Explicit` axes (an uneven result length
cannot be split).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
from jax.sharding import PartitionSpec as P

from ..conv.internal import spectral_block, split_layout, split_of
from ._base import Distribution
from ._grid import make
from ._lattice_ops import _clip_to_total, iid_truncated
from ._queries import joined_grid


def whole_grid(d: Distribution) -> Distribution:
    """Return `d` with its masses replicated along the grid if they are split.

    Batch axes keep their layout. Laws on one device, and laws split along
    batch axes only, are returned as they are.
    """
    masses = joined_grid(d.masses)
    return d if masses is d.masses else dataclasses.replace(d, masses=masses)


def iid_sum_split(x: Distribution, n: int) -> Distribution | None:
    """`iid_sum` of a lattice law split along its grid, kept split.

    None where the law is not split along the grid, not a lattice, ``n <
    2``, or its blocks admit no layout of the distributed transform (the
    caller then joins the grid).
    """
    split = split_of(x.masses)
    if x.kind != "lattice" or n < 2 or split is None or split.counts[-1] == 1:
        return None
    shards, axis = split.counts[-1], x.masses.ndim - 1
    size = x.masses.shape[-1] // shards
    out = n * (x.masses.shape[-1] - 1) + 1
    block = -(-out // shards)
    lay = split_layout(shards, size, block, out - shards * size + 1, True)
    if lay is None:
        return None
    names = split.names(axis)

    def body(m):
        y = spectral_block(m, lay, names, lambda f, rows: f**n, m.dtype)
        # Past the sum's last point the transform leaves round-off only.
        first = jax.lax.axis_index(names) * lay.block
        y = jnp.where(first + jnp.arange(lay.block) < out, y, 0.0)
        return _clip_to_total(y, axis_names=names)

    spec = P(*split.spec)
    masses = jax.shard_map(body, mesh=split.mesh, in_specs=spec, out_specs=spec)(
        x.masses
    )
    return make(masses, n * x.origin, iid_truncated(x, n), x.step, x.kind)
