"""Laws whose grid is split over devices, for operations without a split form.

`iid_sum` and `compound` transform a law's whole grid at once (one FFT of
its masses, a power or a generating function, one inverse FFT). The engine
keeps a signal split over devices when it is convolved with a replicated
kernel, or transformed across the devices inside its own convolutions, but
it has no split power or split generating function of a transform. Their
results are also longer than the law they start from (``n (size - 1) + 1``
points for ``n`` copies). So a law whose masses are split along the grid
is joined along it first (one all-gather of its masses, replicated on the
devices of that mesh axis; batch axes stay split), and the result is
replicated along the grid too. Without this, JAX refuses the call on
meshes of `Explicit` axes (an uneven result length cannot be split).
"""

from __future__ import annotations

import dataclasses

import jax
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from ..conv.internal import split_of
from ._base import Distribution


def whole_grid(d: Distribution) -> Distribution:
    """Return `d` with its masses replicated along the grid if they are split.

    Batch axes keep their layout. Laws on one device, and laws split along
    batch axes only, are returned as they are.
    """
    split = split_of(d.masses)
    if split is None or split.counts[-1] == 1:
        return d
    layout = NamedSharding(split.mesh, P(*split.spec[:-1], None))
    if isinstance(d.masses, jax.core.Tracer):
        masses = jax.sharding.reshard(d.masses, layout)
    else:
        masses = jax.device_put(d.masses, layout)
    return dataclasses.replace(d, masses=masses)
