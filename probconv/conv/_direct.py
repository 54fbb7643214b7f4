"""Direct convolution: sums of products through lax.conv_general_dilated."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from . import _choose


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
