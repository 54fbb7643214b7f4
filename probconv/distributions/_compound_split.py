"""Compound sums of a lattice severity whose grid is split over devices.

`compound(N, X)` evaluates the frequency's generating function on the
tilted transform of the severity (`_pgf._transform`). With the masses of
`X` split along the grid, the same steps run across the devices, none of
which holds the whole grid: the tilt is applied to each device's block by
its global indices, one FFT is distributed over the devices (the engine's
`conv.internal.spectral_block`, the four-step transform of its long
kernels), a grid offset of the severity is a phase ramp on each device's
rows of the spectrum, the generating function maps those rows entry by
entry, and one inverse returns each device its block of the result, which
is un-tilted, cut at the grid's end and clipped with sums taken across the
devices. The grid's size and the tilt come from the severity's moment
generating function, reduced across the devices (185 values of it) instead
of read from a copy of the masses.

The result has the grid of the one-device law (``size`` points), padded
with zero masses to a whole number of the transform's rows per device, and
is split like the severity. Where no such layout exists, the severity's
offset differs between batch rows or the frequency has batch axes, the
caller joins the grid first (`_split_grid.whole_grid`).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.sharding import AxisType, NamedSharding
from jax.sharding import PartitionSpec as P

from .._checks import concrete
from ..conv.internal import Split, spectral_block, split_layout, split_of
from ._base import Distribution
from ._lattice_ops import _clip_to_total
from ._pgf import _pgf


def grid_split(N: Distribution, X: Distribution, first) -> Split | None:
    """Return the split of the grid of `X` if its compound can keep it split.

    `first` are the grid offsets of the origins of `X` per batch row (NumPy),
    or None where they are traced. Needs a lattice severity split along its
    grid into equal blocks and a frequency without batch axes (its
    parameters are replicated on every device); without 64-bit integers,
    offsets known to be 0 (the phase ramp of an offset needs exact products
    of indices past 2**31).
    """
    split = split_of(X.masses)
    if X.kind != "lattice" or split is None or split.counts[-1] == 1:
        return None
    if N.batch_shape != () or X.masses.shape[-1] % split.counts[-1]:
        return None
    if not jax.config.jax_enable_x64 and (first is None or np.any(first != 0)):
        return None
    return split


def log_mgf(masses, first: np.ndarray, split: Split, thetas: np.ndarray):
    """Return ``t -> log E[exp(t X)]`` per batch row (NumPy), reduced on the devices.

    As `_pgf.severity_log_mgf` for masses split along the grid on grid
    indices ``first, first + 1, ...`` (`first` per batch row): each device
    takes the log-sum-exp of its own block at each `t` (one pass each, in
    sequence), and the devices combine their maxima and sums. The values at
    `thetas`, where the Chernoff bounds evaluate it, are computed at once by
    one program; any other `t` by one more call.
    """
    shape = masses.shape[:-1]
    program = _mgf_program(split, masses.shape, np.dtype(masses.dtype))
    first = _on_rows(np.broadcast_to(np.asarray(first, masses.dtype), shape), split)

    def table(ts) -> np.ndarray:
        out = program(masses, first, jnp.asarray(ts, masses.dtype))
        return np.asarray(out, np.float64).reshape((len(ts),) + shape)

    cache = dict(zip(map(float, thetas), table(thetas)))

    def value(t):
        t = float(t)
        if t not in cache:
            cache[t] = table(np.array([t]))[0]
        return cache[t]

    return value


def _on_rows(first, split: Split):
    """Return per-row offsets laid out like the batch axes of the grid."""
    first = jnp.asarray(first)
    if AxisType.Explicit in tuple(split.mesh.axis_types):
        spec = NamedSharding(split.mesh, P(*split.spec[:-1]))
        first = jax.sharding.reshard(first, spec)
    return first


@functools.lru_cache(maxsize=32)
def _mgf_program(split: Split, shape, dtype):
    names = split.names(len(shape) - 1)
    block = shape[-1] // split.counts[-1]

    def body(m, first, ts):
        index = lax.axis_index(names) * block + jnp.arange(block)
        k = first[..., None] + index.astype(m.dtype)
        lm = jnp.where(m > 0, jnp.log(jnp.where(m > 0, m, 1.0)), -jnp.inf)

        def one(t):
            e = lm + t * k
            top = lax.pmax(jnp.max(e, axis=-1), names)
            safe = jnp.where(jnp.isfinite(top), top, 0.0)
            s = lax.psum(jnp.sum(jnp.exp(e - safe[..., None]), axis=-1), names)
            return safe + jnp.log(s)

        return lax.map(one, ts)

    specs = (P(*split.spec), P(*split.spec[:-1]), P())
    out = P(None, *split.spec[:-1])
    mapped = jax.shard_map(body, mesh=split.mesh, in_specs=specs, out_specs=out)
    return jax.jit(mapped)


def split_layout_for(split: Split, masses_len: int, size: int, length: int):
    """Return the transform's layout for a result of `size` points, or None.

    The transform is at least `length` points long (the one-device
    compound's length) and covers the severity's grid; each device's output
    block is a whole number of its rows.
    """
    shards = split.counts[-1]
    block = -(-size // shards)
    kernel = max(length - masses_len + 1, 1)
    return split_layout(shards, masses_len // shards, block, kernel, True)


def transform_split(params, xm, first, tilt, split: Split, lay, *, fam, k, size):
    """Masses of S on ``0..size-1`` (then zeros), split like `xm`.

    As `_pgf._transform`, across the devices. `first` are the grid offsets
    of the origins of `xm` per batch row (a float array, concrete or
    traced).
    """
    known = concrete(first)
    shifted = known is None or bool(np.any(known != 0))
    first = jnp.broadcast_to(jnp.asarray(first, xm.dtype), xm.shape[:-1])
    program = _transform_program(split, lay, fam, k, size, shifted, len(params))
    return program(xm, _on_rows(first, split), tilt, *params)


@functools.lru_cache(maxsize=32)
def _transform_program(split: Split, lay, fam: str, k: int, size: int, shifted, n):
    names = split.names(len(split.spec) - 1)
    m_len = lay.length

    def body(m, first, tilt, *params):
        dt = m.dtype
        q = lax.axis_index(names)
        here = q * lay.size + jnp.arange(lay.size)
        here = first[..., None] + here.astype(dt)
        # Severity mass at or past the grid's end only reaches S there: cut
        # (as one device does), so that no offset wraps around the transform.
        mt = jnp.where(here < size, m * jnp.exp(-tilt * here / m_len), 0.0)

        def fn(s, k1):
            if shifted:
                # An offset f: the spectrum times exp(-2 pi i k f / M) with
                # k = k1 + M1 k2, a factor of the row and one of the column,
                # from exact integer products reduced modulo M; `k1` are the
                # global indices of the rows of `s` (`spectral_block`).
                it = k1.dtype
                f = first.astype(it)[..., None]
                k2 = jnp.arange(lay.cols, dtype=it)
                real = jnp.finfo(s.dtype).dtype
                a1 = ((k1 * f) % m_len).astype(real) * (-2 * np.pi / m_len)
                a2 = ((k2 * f) % lay.cols).astype(real) * (-2 * np.pi / lay.cols)
                s = s * jnp.exp(1j * a1)[..., :, None] * jnp.exp(1j * a2)[..., None, :]
            flat = s.reshape(s.shape[:-2] + (-1,))
            return _pgf(fam, k, params, flat).reshape(s.shape)

        y = spectral_block(mt, lay, names, fn, dt)
        index = q * lay.block + jnp.arange(lay.block)
        y = y * jnp.exp(tilt * index.astype(dt) / m_len)
        # Past the grid's end the transform holds aliased and noise terms.
        y = jnp.where(index < size, y, 0.0)
        return _clip_to_total(y, axis_names=names)

    spec = P(*split.spec)
    specs = (spec, P(*split.spec[:-1]), P()) + (P(),) * n
    return jax.jit(jax.shard_map(body, mesh=split.mesh, in_specs=specs, out_specs=spec))
