"""Direct convolution: sums of products through lax.conv_general_dilated.

The direct method is one JAX primitive, ``probconv_direct``, so that the
engine sees the batches that `jax.vmap` adds after it planned a call (inside
``vmap(jit(f))`` the engine's Python runs at trace time on unbatched shapes,
and JAX batches the program afterwards). Its batching rule re-plans with the
mapped axis explicit: a convolution mapped on both inputs becomes the
shifted copies of a short kernel, or the FFT where the cost model prices the
grouped convolution that XLA would make of it higher (only for calls whose
method was left to the engine). Its derivative rules are themselves direct
windows (a convolution is bilinear; its transpose is a correlation), so
`jax.grad` and `jax.jvp` in any order with `jax.vmap` keep those properties.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.extend.core import Primitive
from jax.interpreters import ad, batching, mlir
from jax.sharding import AxisType

from . import _choose, _fft, _overlap_add
from ._plan import Plan


def direct_window(a, v, start, length, *, precision, auto=False) -> jax.Array:
    """Entries ``start .. start+length`` of the full convolution, directly.

    `a` and `v` have one dtype and one number of dimensions, the convolved
    axes last (``len(start)`` of them) and leading axes that broadcast; the
    window lies within the full convolution. `auto` says that the method
    was the engine's choice: then a batch that `jax.vmap` adds on both
    inputs may be convolved by another method where the cost model prices
    it lower (see the module's docstring).
    """
    if _manual(a) or _manual(v):
        # Inside a `shard_map` the result's type must say over which mesh
        # axes it varies, which JAX's own convolution rules derive; the
        # batching rule below matters for `vmap`, not there.
        return convolve_window(a, v, start, length, precision=precision)
    return direct_p.bind(
        a,
        v,
        start=tuple(int(s) for s in start),
        length=tuple(int(n) for n in length),
        precision=precision,
        auto=bool(auto),
    )


def _manual(x) -> bool:
    """Whether `x` is traced inside a `jax.shard_map` (a mesh of manual axes)."""
    mesh = getattr(getattr(jax.typeof(x), "sharding", None), "mesh", None)
    return AxisType.Manual in tuple(getattr(mesh, "axis_types", ()))


def _outside(a, v, start, length, *, precision, auto) -> jax.Array:
    """`direct_window` of any window: the part beyond the full output is zero."""
    k = len(start)
    na, nv = a.shape[a.ndim - k :], v.shape[v.ndim - k :]
    full = [x + y - 1 for x, y in zip(na, nv)]
    lo = [max(s, 0) for s in start]
    hi = [min(s + n, f) for s, n, f in zip(start, length, full)]
    inner = tuple(max(h - l_, 0) for l_, h in zip(lo, hi))
    if any(n == 0 for n in inner):
        batch = np.broadcast_shapes(a.shape[: a.ndim - k], v.shape[: v.ndim - k])
        return jnp.zeros((*batch, *length), jnp.result_type(a, v))
    y = direct_window(a, v, lo, inner, precision=precision, auto=auto)
    pads = [(0, 0)] * (y.ndim - k) + [
        (l_ - s, s + n - h) for l_, h, s, n in zip(lo, hi, start, length)
    ]
    return jnp.pad(y, pads) if any(p != (0, 0) for p in pads) else y


def _abstract(a, v, *, start, length, precision, auto):
    k = len(start)
    batch = np.broadcast_shapes(a.shape[: a.ndim - k], v.shape[: v.ndim - k])
    return jax.core.ShapedArray((*batch, *length), jnp.result_type(a.dtype, v.dtype))


def _impl(a, v, *, start, length, precision, auto):
    return convolve_window(a, v, start, length, precision=precision)


def _transpose_rule(which):
    """Return the transpose rule of input `which`: a correlation's window.

    With ``y[k] = sum_i a[i] v[start + k - i]``, the cotangent of ``a`` is
    ``sum_j v[j] ct[i + j - start]``: the full convolution of ``ct`` with
    the reversed ``v`` from ``n2 - 1 - start``, ``n1`` entries per axis
    (and symmetrically for ``v``); axes that the input broadcast are summed.
    """

    def rule(ct, x, y, *, start, length, precision, auto):
        undefined, other = (x, y) if which == 0 else (y, x)
        shape = undefined.aval.shape
        k = len(start)
        keep = shape[len(shape) - k :]
        own = other.shape[other.ndim - k :]
        flipped = jnp.flip(other, tuple(range(other.ndim - k, other.ndim)))
        ct = jnp.asarray(ct)
        flipped = flipped.astype(ct.dtype)
        out = _outside(
            ct,
            flipped,
            tuple(m - 1 - s for m, s in zip(own, start)),
            keep,
            precision=precision,
            auto=auto,
        )
        summed = tuple(
            d for d in range(len(shape) - k) if shape[d] == 1 and out.shape[d] != 1
        )
        if summed:
            out = jnp.sum(out, summed, keepdims=True)
        return out.astype(undefined.aval.dtype)

    return rule


def _batch(args, dims, *, start, length, precision, auto):
    """Put the mapped axis first and convolve with it explicit."""
    a, v = args
    da, dv = dims
    both = da is not None and dv is not None
    a = jnp.moveaxis(a, da, 0) if da is not None else a[None]
    v = jnp.moveaxis(v, dv, 0) if dv is not None else v[None]
    params = dict(start=start, length=length, precision=precision, auto=auto)
    if both and auto:
        method = _method_of(a, v, start, length)
        if method == "fft":
            return _fft.convolve_window(a, v, start, length), 0
        if method == "overlap_add":
            return _overlap_add.convolve_window(a, v, start, length), 0
    return direct_p.bind(a, v, **params), 0


def _method_of(a, v, start, length) -> str:
    """Return the cost model's method for inputs batched on both sides."""
    k = len(start)
    batch = np.broadcast_shapes(a.shape[: a.ndim - k], v.shape[: v.ndim - k])
    dtype = np.dtype(jnp.result_type(a, v))
    plan = Plan(
        tuple(range(len(batch), len(batch) + k)),
        a.shape[a.ndim - k :],
        v.shape[v.ndim - k :],
        batch,
        tuple(start),
        tuple(length),
        dtype,
        (True, True),
        dtype,
    )
    return _choose.choose(plan, jax.default_backend())


direct_p = Primitive("probconv_direct")
direct_p.def_impl(_impl)
direct_p.def_abstract_eval(_abstract)
mlir.register_lowering(direct_p, mlir.lower_fun(_impl, multiple_results=False))
ad.defbilinear(direct_p, _transpose_rule(0), _transpose_rule(1))
batching.primitive_batchers[direct_p] = _batch


def convolve_window(a, v, start, length, *, precision) -> jax.Array:
    """Entries ``start .. start+length`` of the full convolution of a and v.

    Both inputs carry the convolved axes last (``len(start)`` of them); the
    leading axes broadcast. Short 1-D kernels on a CPU are summed as shifted
    copies where the cost model expects that to be faster (always when both
    inputs are batched: XLA's grouped convolution is slow there). Otherwise
    one XLA convolution; real and imaginary parts are convolved separately
    so that every backend's real convolution kernels serve complex data.
    """
    k = len(start)
    na, nv = a.shape[a.ndim - k :], v.shape[v.ndim - k :]
    ba, bv = a.shape[: a.ndim - k], v.shape[: v.ndim - k]
    costs = _choose.direct_costs(
        na,
        nv,
        length,
        math.prod(np.broadcast_shapes(ba, bv)),
        math.prod(ba) > 1 and math.prod(bv) > 1,
        jnp.result_type(a, v),
        jax.default_backend(),
    )
    if costs.get("shifted", math.inf) < costs["conv"]:
        return _shifted_window(a, v, start[0], length[0])
    if jnp.iscomplexobj(a) or jnp.iscomplexobj(v):
        ar, ai = jnp.real(a), jnp.imag(a) if jnp.iscomplexobj(a) else None
        vr, vi = jnp.real(v), jnp.imag(v) if jnp.iscomplexobj(v) else None

        def c(x, y):
            return _real_window(x, y, start, length, precision)

        re = c(ar, vr)
        im = None
        if ai is not None and vi is not None:
            re = re - c(ai, vi)
            im = c(ar, vi) + c(ai, vr)
        elif ai is not None:
            im = c(ai, vr)
        else:
            im = c(ar, vi)
        return lax.complex(re, im)
    return _real_window(a, v, start, length, precision)


def _shifted_window(a, v, start: int, length: int) -> jax.Array:
    """Sum shifted copies of the longer input: the 1-D window, directly.

    ``y[j] = sum_i v[i] a[j - i]`` for ``j`` in ``start .. start + length``,
    with the shorter input as ``v``; XLA fuses the sum into one loop.
    """
    if v.shape[-1] > a.shape[-1]:
        a, v = v, a
    n, m = a.shape[-1], v.shape[-1]
    # Zeros only where the window reaches beyond `a`: a_pad[t] = a[t - lo],
    # so a[j - i] = a_pad[j - i + lo].
    lo, hi = max(m - 1 - start, 0), max(start + length - n, 0)
    ap = jnp.pad(a, [(0, 0)] * (a.ndim - 1) + [(lo, hi)]) if lo or hi else a
    terms = (
        v[..., i, None]
        * lax.slice_in_dim(ap, start - i + lo, start - i + lo + length, axis=-1)
        for i in range(m)
    )
    return sum(terms)


def _real_window(a, v, start, length, precision) -> jax.Array:
    k = len(start)
    ba, bv = a.shape[: a.ndim - k], v.shape[: v.ndim - k]
    batch = np.broadcast_shapes(ba, bv)
    na, nv = a.shape[a.ndim - k :], v.shape[v.ndim - k :]
    # lax.conv slides the (flipped) kernel over the padded signal:
    # out[i] = sum_j a_pad[i + j] * flip(v)[j]; full index = i + nv - 1 - lo.
    lo = [m - 1 - s for m, s in zip(nv, start)]
    hi = [n_out - n + s for n_out, n, s in zip(length, na, start)]
    # Negative padding is a crop of the signal.
    crop = tuple(slice(max(-l_, 0), n - max(-h, 0)) for l_, h, n in zip(lo, hi, na))
    a = a[(Ellipsis, *crop)]
    pads = [(max(l_, 0), max(h, 0)) for l_, h in zip(lo, hi)]
    vf = jnp.flip(v, tuple(range(v.ndim - k, v.ndim)))
    nb = math.prod(batch)
    nba, nbv = math.prod(ba), math.prod(bv)
    sa, sv = a.shape[a.ndim - k :], vf.shape[vf.ndim - k :]
    if nbv == 1:
        lhs = a.reshape((nba, 1, *sa))
        rhs = vf.reshape((1, 1, *sv))
        groups = 1
    elif nba == 1:
        lhs = a.reshape((1, 1, *sa))
        rhs = vf.reshape((nbv, 1, *sv))
        groups = 1
    else:
        # Both batched: one depthwise convolution, a group per batch element.
        lhs = jnp.broadcast_to(a, (*batch, *sa)).reshape((1, nb, *sa))
        rhs = jnp.broadcast_to(vf, (*batch, *sv)).reshape((nb, 1, *sv))
        groups = nb
    spatial = "DHWXYZUVRSTABEFGJKLMPQ"[:k]
    dn = lax.conv_dimension_numbers(
        lhs.shape, rhs.shape, ("NC" + spatial, "OI" + spatial, "NC" + spatial)
    )
    out = lax.conv_general_dilated(
        lhs,
        rhs,
        window_strides=(1,) * k,
        padding=pads,
        dimension_numbers=dn,
        feature_group_count=groups,
        precision=precision,
    )
    out_sp = out.shape[2:]
    if nbv == 1:
        out = out.reshape((*ba, *out_sp))
    elif nba == 1:
        out = out.reshape((*bv, *out_sp))
    else:
        out = out.reshape((*batch, *out_sp))
    return jnp.broadcast_to(out, (*batch, *out_sp))
