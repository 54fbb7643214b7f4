"""Inside a user's `jax.shard_map`: this device's block of a split signal.

Inside a shard map every array is the block its device holds, and the
engine, told nothing, convolves the block as if it were the whole signal
(wrong near the blocks' edges). With ``axis_name`` a caller tells it that a
convolved axis of ``in1`` is this device's block of a signal split in
device order (``lax.axis_index``) over manual mesh axes of the current
shard map, equal blocks on every device; the result is this device's block
of the result, split the same way. ``in2`` is whole on every device.

The blocks run the bodies of the engine's own split programs
(`_sharded.block_body`): the halo by `lax.ppermute` and the method the cost
model picks for the extended block, or for kernels that reach further the
distributed transform's all-to-alls, by the route `_sharded.route` prices
for the global shapes. A shard map's output has equal blocks, so 'full' and
'valid' are taken only where the result's length along each split axis is
a multiple of its devices.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import jax
import numpy as np

from .._checks import check_axis, normalize_axes
from . import _sharded
from ._plan import Prepared, prepare


def _names(value) -> tuple[str, ...] | None:
    """Return a mesh axis name, or a tuple of them, as a tuple; None if neither."""
    if isinstance(value, str):
        return (value,)
    if isinstance(value, (tuple, list)) and value:
        if all(isinstance(n, str) for n in value):
            return tuple(value)
    return None


def _mapping(axis_name, ndim: int, axes) -> dict[int, tuple[str, ...]]:
    """Return ``{axis of in1: mesh axis names}`` from `axis_name`, checked."""
    conv = normalize_axes("axes", axes, ndim)
    if isinstance(axis_name, dict):
        pairs = list(axis_name.items())
    else:
        if _names(axis_name) is None:
            raise TypeError(
                "`axis_name` must be a mesh axis name (str), a tuple of names, "
                f"or a dict {{axis: name}}; got {axis_name!r}."
            )
        if len(conv) != 1:
            raise ValueError(
                f"`axis_name` {axis_name!r} names the mesh axes of one split "
                f"axis, but {len(conv)} axes {conv} are convolved; map each "
                "split axis to its mesh axes: axis_name={axis: name, ...}."
            )
        pairs = [(conv[0], axis_name)]
    out: dict[int, tuple[str, ...]] = {}
    for key, value in pairs:
        d = check_axis("axis_name", key, ndim)
        names = _names(value)
        if names is None:
            raise TypeError(
                f"`axis_name` must map axes to a mesh axis name (str) or a "
                f"tuple of names; got {value!r} for axis {key!r}."
            )
        if d not in conv:
            raise ValueError(
                f"`axis_name` maps axis {d}, which is not convolved (axes "
                f"{conv}); a batch axis needs no name: its blocks are "
                "convolved each on its own device."
            )
        if d in out:
            raise ValueError(f"`axis_name` maps axis {d} twice.")
        out[d] = names
    used = [n for names in out.values() for n in names]
    if len(set(used)) != len(used):
        raise ValueError(
            f"`axis_name` names a mesh axis for two array axes: {axis_name!r}."
        )
    return out


def manual_split(axis_name, shape, axes) -> _sharded.Split:
    """Return the layout `axis_name` gives an input of local shape `shape`.

    Each named axis is split over the manual mesh axes named, with as many
    equal blocks as they have devices; the other axes are the device's own.

    Raises
    ------
    ValueError
        Outside a `jax.shard_map`, or for a name that is not a manual axis
        of the current one (and for the errors of `_mapping`).
    """
    if not shape:
        raise ValueError(
            "`axis_name` needs `in1` to have an axis to split; got a 0-d input."
        )
    mapping = _mapping(axis_name, len(shape), axes)
    mesh = jax.sharding.get_abstract_mesh()
    manual = tuple(mesh.manual_axes)
    if not manual:
        raise ValueError(
            f"`axis_name` {axis_name!r} names the manual mesh axes of a "
            "jax.shard_map, but the call is outside any shard map. Call it "
            "inside `jax.shard_map(...)` over a mesh with that axis, or drop "
            "`axis_name` and pass an array whose NamedSharding splits it "
            "(the engine keeps it split)."
        )
    for names in mapping.values():
        missing = [n for n in names if n not in manual]
        if missing:
            raise ValueError(
                f"`axis_name` names {missing[0]!r}, which is not a manual axis "
                f"of the current jax.shard_map (its manual axes: {manual})."
            )
    spec, counts = [], []
    for d in range(len(shape)):
        names = mapping.get(d)
        spec.append(None if names is None else names)
        counts.append(1 if names is None else math.prod(mesh.shape[n] for n in names))
    return _sharded.Split(mesh, tuple(spec), tuple(counts))


def convolve_block(
    a,
    v,
    mode,
    method,
    axes,
    precision,
    correlate: bool,
    axis_name,
    execute: Callable,
) -> jax.Array:
    """Return this device's block of the convolution of a split `a` with `v`.

    `a` is the device's block inside a shard map (its layout from
    `axis_name`: `manual_split`), `v` the whole second input;
    `execute(x, v, plan, method, precision, stack=...)` is the engine's
    single-device convolution, run on each block.
    """
    split = manual_split(axis_name, tuple(a.shape), axes)
    shape1 = tuple(m * c for m, c in zip(a.shape, split.counts))
    shape2 = tuple(v.shape)
    prepared: Prepared = prepare(
        shape1,
        np.dtype(a.dtype),
        shape2,
        np.dtype(v.dtype),
        mode,
        method,
        None if axes is None else normalize_axes("axes", axes, len(shape1)),
        precision,
        None,
        correlate,
    )
    plan = prepared.plan
    for i, d in enumerate(plan.conv_axes):
        n = split.counts[d]
        if plan.length[i] % n:
            raise ValueError(
                f"mode={mode!r} with `axis_name`: the result has "
                f"{plan.length[i]} samples along axis {d}, which do not split "
                f"into {n} equal blocks (one per device along "
                f"{split.names(d)!r}), and a shard map's blocks are equal. "
                "Use mode='same', or append zeros to `in2` (they add zero "
                f"samples) until the length is a multiple of {n}, or "
                "convolve outside the shard map (a NamedSharding input keeps "
                "uneven results joined)."
            )
    body, _ = _sharded.block_body(
        prepared._replace(seconds=0.0), split, shape1, shape2, execute
    )
    return body(a, v)
