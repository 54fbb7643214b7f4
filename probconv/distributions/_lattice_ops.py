"""Sums, shifts, scalings, iid sums and mixtures of plain grid laws.

The kind-blind cores of the operations (`_ops` routes to them, or to the
density and relative-accuracy variants). Every convolution of masses in
`probconv.distributions` goes through `_convolve_masses` (or, for the
Fourier-domain powers, `_clip_to_total`), so that round-off handling lives
in one place.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
import scipy.signal
from jax.typing import ArrayLike

from .._checks import check_range, concrete
from ..conv import convolve
from ..conv.internal import fft_nd, ifft_nd, spectral_length
from ._base import Distribution, check_dist
from ._base import eps as _eps
from ._grid import Lattice, make
from ._host import is_host, leaf
from ._params import as_real_array, check_accuracy, given_eps


def _clip_to_total(
    y: jax.Array, total: jax.Array | None = None, xp=jnp, axis_names=None
) -> jax.Array:
    """Clip round-off below zero without changing the total of the masses.

    An FFT leaves noise on every entry, some of it negative, at a level set
    by the largest masses (and, for powers, by the power). Setting the
    negative entries to 0 adds their magnitude to the total; that excess is
    taken back from the entries at the noise level (no larger than the
    largest negative one), which are noise themselves, so the bulk of the
    law is not biased; what they cannot absorb is taken proportionally from
    all. With `total` (the product of the input totals, known exactly for a
    single convolution), the masses are then rescaled, by ``1 + O(eps)``, to
    sum to it. `xp` is the array namespace: `jax.numpy`, or `numpy` for the
    laws built on the host (`_host`), where masses with nothing to clip (a
    direct sum of non-negative terms) are only rescaled, the same result
    at a tenth of the cost. Inside a `jax.shard_map` whose blocks split the
    grid over the mesh axes `axis_names`, the sums and the maximum are taken
    across the devices.
    """

    def total_of(a):
        t = xp.sum(a, axis=-1, keepdims=True)
        return jax.lax.psum(t, axis_names) if axis_names else t

    def top(a):
        m = xp.max(a, axis=-1, keepdims=True)
        # (a threshold only: compared with, never differentiated; `pmax` has
        # no derivative rule)
        return jax.lax.pmax(jax.lax.stop_gradient(m), axis_names) if axis_names else m

    if xp is np and not (y < 0).any():
        if total is None:
            return y
        s = y.sum(axis=-1)
        scale = np.where(s > 0, total / np.where(s > 0, s, 1.0), 1.0)
        return y * scale[..., None]
    neg = xp.where(y < 0, -y, 0.0)
    excess = total_of(neg)
    floor = top(neg)
    y = xp.where(y >= 0, y, 0.0)
    small = (y > 0) & (y <= floor)
    avail = total_of(xp.where(small, y, 0.0))
    frac = xp.clip(excess / xp.where(avail > 0, avail, 1.0), 0.0, 1.0)
    y = xp.where(small, y * (1 - frac), y)
    s = total_of(y)[..., 0]
    if total is None:
        left = xp.maximum(excess - avail, 0.0)[..., 0]
        total = s - left
    scale = xp.where(s > 0, total / xp.where(s > 0, s, 1.0), 1.0)
    return y * scale[..., None]


def _convolve_masses(p, q, *, accuracy: str = "absolute") -> jax.Array:
    r"""Masses of the sum of two independent grid variables, ``(p * q)_k``.

    The one place where `probconv.distributions` convolves masses. The last axes are
    convolved (by `probconv.conv.convolve`, method chosen by its cost
    model); leading axes broadcast. Negative round-off is clipped and the
    result rescaled to total ``sum(p) * sum(q)`` (see `_clip_to_total`).
    """
    check_accuracy(accuracy)
    p, q = jnp.asarray(p), jnp.asarray(q)
    nd = max(p.ndim, q.ndim)
    p = p.reshape((1,) * (nd - p.ndim) + p.shape)
    q = q.reshape((1,) * (nd - q.ndim) + q.shape)
    # The engine prices batches on both sides, and those that `jax.vmap`
    # adds around a jitted call, itself (its direct method is a primitive
    # whose batching rule re-plans): its own choice serves every case.
    y = convolve(p, q, mode="full", axes=-1)
    total = jnp.sum(p, -1) * jnp.sum(q, -1)
    return _clip_to_total(y, total)


def _ratio(big: float, small: float) -> int | None:
    r = big / small
    rr = round(r)
    return rr if rr >= 1 and abs(r - rr) <= 1e-9 * r else None


def _common_step(dists: Sequence[Distribution]) -> float:
    """Return the finest step, provided every other is an integer multiple of it."""
    h = min(d.step for d in dists)
    for d in dists:
        if _ratio(d.step, h) is None:
            steps = sorted({d.step for d in dists})
            raise ValueError(
                "Grid steps must be integer multiples of each other (the "
                f"coarser grid is refined); got steps {steps}."
            )
    return h


def _refine(d: Distribution, h: float) -> Distribution:
    """Return the same law on a grid of step `h` (``d.step / h`` an integer)."""
    r = _ratio(d.step, h)
    if r == 1:
        return d
    m = d.masses
    n = d.size
    if d.kind == "lattice":  # points stay atoms; zeros in between
        out = jnp.zeros(m.shape[:-1] + ((n - 1) * r + 1,), m.dtype)
        out = out.at[..., ::r].set(m)
        return make(out, d.origin, d.truncated, h, d.kind)
    # A cell splits into r sub-cells of equal mass; centres move.
    out = jnp.repeat(m / r, r, axis=-1)
    return make(out, d.origin - (r - 1) * h / 2, d.truncated, h, d.kind)


def _lost(t1, total1, t2, total2):
    """Mass of a sum that involves the truncated part of either input."""
    return t1 * total2 + total1 * t2 + t1 * t2


def add_lattice(x: Distribution, y: Distribution, *, accuracy: str = "absolute"):
    """Law of ``X + Y`` for lattices `x`, `y` (checked; see `add`)."""
    if (
        accuracy == "absolute"
        and is_host(x)
        and is_host(y)
        and x.masses.ndim == y.masses.ndim == 1
        and x.step == y.step
        and x.kind == y.kind == "lattice"
    ):
        return _add_host(x, y)
    h = _common_step([x, y])
    x, y = _refine(x, h), _refine(y, h)
    kind = "density" if "density" in (x.kind, y.kind) else "lattice"
    dt = jnp.result_type(x.dtype, y.dtype)
    p, q = x.masses.astype(dt), y.masses.astype(dt)
    masses = _convolve_masses(p, q, accuracy=accuracy)
    batch = masses.shape[:-1]
    trunc = _lost(x.truncated, x.total, y.truncated, y.total)
    ox, oy = jnp.broadcast_arrays(x.origin.astype(dt), y.origin.astype(dt))
    return make(
        masses,
        jnp.broadcast_to(ox + oy, batch),
        jnp.broadcast_to(trunc, batch),
        h,
        kind,
    )


def _add_host(x: Distribution, y: Distribution) -> Distribution:
    """`add_lattice` of two unbatched host lattices of one step, on the host.

    The same steps as the device path (direct sums for short laws, an FFT
    for long ones; round-off clipped without changing the exact total), in
    NumPy: nothing compiled, and the sum keeps NumPy leaves (see `_host`).
    A direct sum adds non-negative terms: nothing to clip, and its total is
    ``sum(p) * sum(q)`` to rounding already, so it is taken as it is.
    """
    p, q = x.masses, y.masses
    dt = p.dtype if p.dtype == q.dtype else np.promote_types(p.dtype, q.dtype)
    p, q = p.astype(dt, copy=False), q.astype(dt, copy=False)
    tp, tq = p.sum(), q.sum()
    # Direct sums up to 2**16 products (tens of microseconds); scipy's own
    # choice of method costs more than that to make.
    if p.size * q.size <= 2**16:
        masses = np.convolve(p, q)
    else:
        masses = _clip_to_total(scipy.signal.fftconvolve(p, q), tp * tq, xp=np)
    trunc = _lost(x.truncated.astype(dt), tp, y.truncated.astype(dt), tq)
    origin = x.origin.astype(dt) + y.origin.astype(dt)
    return Lattice(
        leaf(masses, dt, owned=True), leaf(origin, dt), leaf(trunc, dt), x.step
    )


def negate(x: Distribution) -> Distribution:
    """Return the law of ``-X``: the masses reversed."""
    last = x.origin + x.step * (x.size - 1)
    return make(jnp.flip(x.masses, -1), -last, x.truncated, x.step, x.kind)


def shift(x: Distribution, c: ArrayLike) -> Distribution:
    """Return the law of ``X + c`` (differentiable in `c`; `c` may be batched)."""
    c = jnp.asarray(c, x.dtype)
    batch = jnp.broadcast_shapes(c.shape, x.batch_shape)
    masses = jnp.broadcast_to(x.masses, batch + (x.size,))
    origin = jnp.broadcast_to(x.origin, batch) + jnp.broadcast_to(c, batch)
    return make(masses, origin, jnp.broadcast_to(x.truncated, batch), x.step, x.kind)


def scale(x: Distribution, c) -> Distribution:
    """Return the law of ``c * X`` for a real Python number `c` (scales the grid)."""
    c = float(c)
    if not math.isfinite(c):
        raise ValueError(f"The scale factor must be finite; got {c!r}.")
    if c == 0:
        m = x.total[..., None]
        return make(m, 0.0, x.truncated, x.step, "lattice")
    if c < 0:
        x, c = negate(x), -c
    return make(x.masses, x.origin * c, x.truncated, x.step * c, x.kind)


def iid_truncated(x: Distribution, n: int) -> jax.Array:
    """Mass that `n` iid copies of `x` lose off the grid: ``(T + t)^n - T^n``.

    ``T`` is the mass on the grid, ``t`` the truncated mass; computed as
    ``(T + t)^n (1 - (1 - t / (T + t))^n)`` so that a small ``t`` keeps its
    relative accuracy.
    """
    whole = x.total + x.truncated
    frac = x.truncated / jnp.where(whole > 0, whole, 1.0)
    return whole**n * -jnp.expm1(n * jnp.log1p(-frac))


def iid_sum_lattice(x: Distribution, n: int) -> Distribution:
    """Law of ``X_1 + ... + X_n`` for a lattice `x` (`n` checked; see `iid_sum`)."""
    if n == 0:
        ones = jnp.ones(x.batch_shape + (1,), x.dtype)
        return make(ones, 0.0, 0.0, x.step, "lattice")
    if n == 1:
        return x
    size = n * (x.size - 1) + 1
    length = spectral_length(size)
    f = fft_nd(x.masses, (length,), (-1,), True, ordered=False)
    y = ifft_nd(f**n, (length,), (-1,), True, ordered=False)[..., :size]
    # Not rescaled to total**n: the power's rounding (n eps) would bias the bulk.
    masses = _clip_to_total(y.astype(x.dtype))
    return make(masses, n * x.origin, iid_truncated(x, n), x.step, x.kind)


def mix_masses(weights: ArrayLike, dists: Sequence[Distribution]) -> Distribution:
    """Mixture of components of one kind without singular parts (see `mixture`)."""
    if isinstance(dists, Distribution) or not isinstance(dists, Sequence):
        raise TypeError(
            f"`dists` must be a sequence of Distribution; got {type(dists).__name__}."
        )
    if len(dists) == 0:
        raise ValueError("`dists` must hold at least one Distribution; got none.")
    dists = [check_dist(d, f"dists[{i}]") for i, d in enumerate(dists)]
    kinds = {d.kind for d in dists}
    if len(kinds) > 1:
        raise ValueError(
            f"Mixture components must share one kind; got kinds {sorted(kinds)}."
        )
    w_raw, w = weights, as_real_array(weights, "weights")
    if w.ndim == 0 or w.shape[-1] != len(dists):
        raise ValueError(
            f"`weights` must have {len(dists)} entries on its last axis (one per "
            f"component); got shape {w.shape}."
        )
    ok = jnp.all(check_range("weights", w, low=0.0, raw=w_raw), -1)
    dt = jnp.result_type(w.dtype, *[d.dtype for d in dists])
    w = w.astype(dt)
    tol = 16 * given_eps(weights, dt) * math.sqrt(len(dists))
    wsum = jnp.sum(w, -1)
    cw = concrete(wsum)
    if cw is not None and np.any(np.abs(cw - 1) > tol):
        raise ValueError(f"`weights` must sum to 1; got a sum of {cw.tolist()!r}.")
    ok = ok & (jnp.abs(wsum - 1) <= tol)
    h = _common_step(dists)
    dists = [_refine(d, h) for d in dists]
    batch = jnp.broadcast_shapes(w.shape[:-1], *[d.batch_shape for d in dists])
    origins = [jnp.broadcast_to(d.origin.astype(dt), batch) for d in dists]
    ref = origins[0]
    for o in origins[1:]:
        ref = jnp.minimum(ref, o)
    offs, aligned = [], jnp.ones(batch, bool)
    for o in origins:
        k = (o - ref) / h
        kr = jnp.round(k)
        aligned = aligned & (jnp.abs(k - kr) <= 64 * _eps(dt) * jnp.maximum(1, k))
        offs.append(kr.astype(jnp.int32))
    conc = [concrete(k) for k in offs]
    if all(c is not None for c in conc):
        if not np.all(concrete(aligned)):
            got = [np.asarray(concrete(o)).tolist() for o in origins]
            raise ValueError(
                "Mixture components' origins must lie on a common grid of step "
                f"{h}; got origins {got}."
            )
        length = max(int(np.max(c)) + d.size for c, d in zip(conc, dists))
    else:
        length = max(d.size for d in dists)
    total = jnp.zeros(batch + (length,), dt)
    fits = jnp.ones(batch, bool)
    for i, (d, k) in enumerate(zip(dists, offs)):
        m = jnp.broadcast_to(d.masses.astype(dt), batch + (d.size,))
        fits = fits & (k + d.size <= length)
        placed = _place(m, k, length)
        total = total + jnp.broadcast_to(w[..., i], batch)[..., None] * placed
    trunc = sum(
        jnp.broadcast_to(w[..., i], batch) * d.truncated for i, d in enumerate(dists)
    )
    good = ok & aligned & fits
    total = jnp.where(good[..., None], total, jnp.nan)
    return make(total, ref, trunc, h, dists[0].kind)


def _place(m, k, length):
    """Rows of `m` written into zeros of `length` at per-row offsets `k`."""
    batch, n = m.shape[:-1], m.shape[-1]
    flat = m.reshape(-1, n)
    kk = jnp.broadcast_to(k, batch).reshape(-1)

    def one(row, off):
        return jax.lax.dynamic_update_slice(jnp.zeros(length, m.dtype), row, (off,))

    return jax.vmap(one)(flat, kk).reshape(batch + (length,))
