r"""Laws that extend themselves past their grid, for relative accuracy.

A family with unbounded support (`poisson`, `geometric`,
`negative_binomial`, a discrete law from scipy.stats) is cut where its tail
mass falls below ``tail`` (the dtype's machine epsilon by default). That is
enough for absolute accuracy, but not for ``accuracy='relative'``: every sum
inherits the cut, and its masses past the cut of one summand miss the terms
that involve the summand's tail (a 300-fold sum of ``geometric(0.6)`` cut at
40 points is off by percents at log-probability -300). A law that knows its
``logpmf`` is therefore re-evaluated, in float64 on the host, on a grid long
enough that its mass beyond falls out of the float range:

.. math:: \log P(X \ge x_{\mathrm{end}}) \le \log(\mathrm{tiny}) + \log(\epsilon)

(about -744 in float64, -103 in float32). Laws that cannot be extended (plain
masses with a recorded truncated mass, parameters traced under `jit`) keep
their grid, and the relative operations mark every output point that the
missing mass can reach as unresolved (relative error ``inf``).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import scipy.special
import scipy.stats

from .._checks import concrete
from ..conv import bucket_length, to_device
from ..conv.internal import bounded_jit
from . import _tilt
from ._base import Distribution
from ._extend_density import MAX_POINTS as MAX_POINTS
from ._extend_density import log_floor as log_floor
from ._families import Parametric

UNBOUNDED = ("poisson", "geometric", "negative_binomial", "scipy")


def _frozen(d: Parametric):
    """Return the scipy.stats law of `d` (parameters on a trailing axis), or None."""
    if d.family == "scipy":
        return d.frozen
    ps = [concrete(p) for p in d.params]
    if any(p is None for p in ps):
        return None
    ps = [np.asarray(p, np.float64)[..., None] for p in ps]
    if d.family == "poisson":
        return scipy.stats.poisson(ps[0])
    if d.family == "geometric":
        return scipy.stats.geom(ps[0])
    return scipy.stats.nbinom(ps[0], ps[1])


def extendable(d: Distribution):
    """Return the scipy.stats law that extends `d`, or None if it cannot extend."""
    if not isinstance(d, Parametric) or d.family not in UNBOUNDED or d.step != 1.0:
        return None
    o = concrete(d.origin)
    if o is None or np.asarray(o).size == 0 or np.ptp(np.asarray(o)) != 0:
        return None
    fz = _frozen(d)
    if fz is None or not np.isfinite(float(np.min(fz.support()[0]))):
        return None
    return fz


def _origin(d: Distribution) -> float:
    return float(np.asarray(concrete(d.origin)).ravel()[0])


def _beyond(fz, origin: float, n: int) -> float:
    """Largest ``log P(X >= origin + n)`` over the batch (or the last log-mass)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        last = origin + n - 1
        tail = np.max(np.asarray(fz.logsf(last), np.float64))
        mass = np.max(np.asarray(fz.logpmf(last), np.float64))
    return float(np.nanmax([tail, mass]))


def reach(d: Distribution, floor: float | None = None) -> int | None:
    """Return the number of grid points past which `d`'s mass leaves the float range.

    None if `d` cannot extend; at most `MAX_POINTS` (a heavier tail stops
    there, and keeps a truncated mass).
    """
    fz = extendable(d)
    if fz is None:
        return None
    floor = log_floor(d.dtype) if floor is None else floor
    o = _origin(d)
    n = max(d.size, 2)
    while _beyond(fz, o, n) > floor:
        if n >= MAX_POINTS:
            return MAX_POINTS
        n = min(2 * n, MAX_POINTS)
    lo, hi = max(n // 2, 1), n
    while hi - lo > 1:  # smallest n with the tail below the floor
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if _beyond(fz, o, mid) <= floor else (mid, hi)
    return max(hi, d.size)


def extend(d: Distribution, size: int | None = None):
    """Return ``(law, log_masses, log_beyond)``: `d` on `size` points.

    `size` defaults to `reach`. The log-masses are the family's ``logpmf``
    in float64 (cast to the law's dtype), so they hold far below the
    smallest float; the law's ``truncated`` is the exact mass beyond, and
    `log_beyond` its log (which holds where that mass underflows). For a
    law that cannot extend, ``(d, None, None)``.
    """
    fz = extendable(d)
    if fz is None:
        return d, None, None
    n = reach(d) if size is None else int(size)
    o = _origin(d)
    x = o + np.arange(n, dtype=np.float64)
    batch = d.batch_shape
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        lm = np.broadcast_to(np.asarray(fz.logpmf(x), np.float64), batch + (n,))
        lt = np.asarray(fz.logsf(x[-1]), np.float64)
        # scipy's logsf underflows to -inf past about 1e-308: the next 4n
        # log-masses, summed in log space, hold the tail's log there.
        far = np.asarray(fz.logpmf(x[-1] + 1 + np.arange(4 * n)), np.float64)
        lt = np.maximum(lt, scipy.special.logsumexp(far, axis=-1, keepdims=True))
        lt = np.broadcast_to(lt, batch + (1,))
    dt = d.dtype
    law = Parametric(
        to_device(np.exp(lm).astype(dt)),
        d.origin,
        to_device(np.exp(lt[..., 0]).astype(dt)),
        1.0,
        d.family,
        d.params,
        d.frozen,
    )
    log_beyond = jnp.asarray(to_device(lt[..., 0].astype(dt)))
    return law, jnp.asarray(to_device(lm.astype(dt))), log_beyond


# A coarse grid of tilts only loosens the Chernoff bound (a few more points kept).
TILTS = np.concatenate([np.linspace(0.0, 3.0, 61), np.geomspace(3.0, 300.0, 30)])


# Work (rows x tilts x points) from which `log_mgf` runs as one compiled
# program: NumPy materializes the whole table (91 tilts by 7,000 points:
# 14 ms; by 1,601 points 1-16 ms on the loaded 2-core machine), XLA fuses
# it into one pass (1.4 ms; 0.5-0.7 ms), but compiles once per bucket.
_COMPILED_WORK = 1 << 16


@bounded_jit
def _log_mgf_compiled(lm, tilts):
    j = jnp.arange(lm.shape[-1], dtype=lm.dtype)
    e = lm[:, None, :] + tilts[None, :, None] * j
    top = jnp.max(e, axis=-1, keepdims=True)
    top = jnp.where(jnp.isfinite(top), top, 0.0)
    return top[..., 0] + jnp.log(jnp.sum(jnp.exp(e - top), axis=-1))


def log_mgf(log_masses) -> np.ndarray:
    """``K(theta) = log sum_j exp(l_j + theta j)`` at each of `TILTS`, per row.

    In float64; long rows (with x64 on) by one compiled program on rows
    padded with ``-inf`` (no terms) to `probconv.conv.bucket_length`, the
    others in NumPy (nothing compiled). The two agree to rounding.
    """
    lm = np.asarray(log_masses, np.float64).reshape(-1, np.shape(log_masses)[-1])
    rows, n = lm.shape
    if rows * n * TILTS.size >= _COMPILED_WORK and jax.config.jax_enable_x64:
        padded = np.full((rows, bucket_length(n)), -np.inf)
        padded[:, :n] = lm
        with jax.default_device(jax.devices("cpu")[0]):
            return np.asarray(_log_mgf_compiled(padded, TILTS))
    j = np.arange(lm.shape[-1])
    # A plain max-shifted sum: scipy's logsumexp costs several times more
    # here (its checks and sign handling), and this runs on every relative
    # density sum (tens of milliseconds for grids of 7,000 cells).
    e = lm[:, None, :] + TILTS[None, :, None] * j
    top = np.max(e, axis=-1, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        return top[..., 0] + np.log(np.sum(np.exp(e - top), axis=-1))


def chernoff_points(
    cgf: np.ndarray, full: int, floor: float, tilts: np.ndarray = TILTS
) -> tuple[int, float]:
    r"""Return the first ``k`` with a Chernoff bound on ``log P(S >= k)`` below `floor`.

    `cgf` holds the sum's cumulant generating function at `tilts` (at least
    0; by default `TILTS`), shape ``(rows, tilts)``; the bound is
    :math:`\min_\theta K(\theta) - \theta k` (per row; the largest row
    counts). Returns ``k`` and the bound there, or `full` and ``-inf`` if
    the bound at `full` is still above `floor`.
    """

    def bound(k):
        return float(np.max(np.min(cgf - tilts * k, axis=-1)))

    if bound(full) > floor:
        return full, -math.inf
    lo, hi = 0, full
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if bound(mid) <= floor else (mid, hi)
    return hi, bound(hi)


def sum_points(log_masses, n: int, floor: float) -> tuple[int, float]:
    r"""Points of an `n`-fold sum kept before its mass leaves the float range.

    Chernoff: with :math:`K_X(\theta) = \log \sum_j e^{\ell_j + \theta j}`,
    :math:`\log P(S \ge k) \le \min_{\theta \ge 0} n K_X(\theta) - \theta k`.
    Returns the smallest ``k`` with that bound below `floor`, and the bound
    there (per batch, the largest); if there is none, the whole support
    ``n (m - 1) + 1`` and ``-inf`` (the masses reach nothing beyond it).
    """
    full = n * (np.shape(log_masses)[-1] - 1) + 1
    return chernoff_points(n * log_mgf(log_masses), full, floor)


def horizon(d: Distribution, log_t=None):
    """``(first, log_t)``: where the truncated mass of `d` starts, and its log.

    The truncated mass of a lattice is taken to lie past its last point
    (where the family constructors cut): it first reaches grid index
    ``size``. `log_t` overrides the log of ``d.truncated`` (for an extended
    law whose truncated mass underflows). Traced values work (arrays of the
    batch shape).
    """
    t = jnp.asarray(d.truncated)
    if log_t is None:
        log_t = jnp.log(jnp.maximum(t, 0.0))
    log_t = jnp.broadcast_to(jnp.asarray(log_t, t.dtype), t.shape)
    return jnp.full(t.shape, float(d.size), t.dtype), log_t


def mark_unresolved(log_err: jax.Array, log_m: jax.Array, first, log_t) -> jax.Array:
    r"""Add the missing mass's share to the error estimate from index `first` on.

    A mass :math:`t` lost past an input's grid can add at most :math:`t` to
    each output point from `first` on: the relative error of a point of mass
    :math:`m_k` there grows by :math:`t / m_k` (``inf`` where
    :math:`m_k = 0`: the point is unresolved).
    Where nothing was lost (every `log_t` is ``-inf``, the common case) the
    estimates come back as they are, without the pass over every point
    (`jax.lax.cond`; 0.5 ms of a 50,001-point float32 sum's 0.9 ms finish).
    """
    dt = log_err.dtype
    k = jnp.arange(log_err.shape[-1], dtype=dt)
    first = jnp.asarray(first, dt)[..., None]
    log_t = jnp.asarray(log_t, dt)
    shape = jnp.broadcast_shapes(
        log_err.shape, log_m.shape, log_t.shape + (1,), first.shape
    )

    def mark():
        share = log_t[..., None] - log_m
        share = jnp.where(jnp.isneginf(log_t)[..., None], -jnp.inf, share)
        out = jnp.where(k >= first, _tilt.log_add(log_err, share), log_err)
        return jnp.broadcast_to(out, shape)

    lost = jnp.any(~jnp.isneginf(log_t))
    return jax.lax.cond(lost, mark, lambda: jnp.broadcast_to(log_err, shape))
