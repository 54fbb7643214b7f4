"""Mixtures of discrete and continuous components: mixed laws."""

from __future__ import annotations

from collections.abc import Sequence

import jax.numpy as jnp

from ._base import Distribution
from ._continuous import Continuous, make_continuous, parts
from ._density_ops import _to_density_step
from ._grid import make
from ._lattice_ops import _common_step
from ._lattice_ops import mix_masses as _mixture


def mix_continuous(weights, dists: Sequence[Distribution]) -> Continuous:
    r"""Mixture whose components may mix lattices and densities.

    Lattice components become point masses inside the cells of a density
    (cell masses stay exact); the atoms and the jump corrections of the
    components are mixed alongside, so that sums of the mixed law keep
    their accuracy. `mixture` routes here (after checking `dists`) when a
    density is mixed with a lattice or a component is a `Continuous`.
    """
    h = _common_step(dists)
    dists = [_to_density_step(d, h) for d in dists]
    plain, atoms, jumps = [], [], []
    any_a = any_j = False
    for d in dists:
        a, j = parts(d)
        plain.append(make(d.masses, d.origin, d.truncated, h, "density"))
        any_a |= a is not None
        any_j |= j is not None
        zero = jnp.zeros_like(d.masses)
        atoms.append(make(zero if a is None else a, d.origin, 0.0, h, "density"))
        jumps.append(make(zero if j is None else j, d.origin, 0.0, h, "density"))
    out = _mixture(weights, plain)
    mix_a = _mixture(weights, atoms).masses if any_a else None
    mix_j = _mixture(weights, jumps).masses if any_j else None
    return make_continuous(out.masses, out.origin, out.truncated, h, mix_a, mix_j)
