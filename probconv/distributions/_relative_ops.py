"""The relative-accuracy operations (exponential tilting).

What ``accuracy="relative"`` in `add`, `iid_sum`, `poisson_binomial` and
`compound` runs; each returns a `RelativeDistribution`, or a
`RelativeDensity` for sums of densities (`_relative_density_ops`).
"""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from .._checks import check_int, check_range, concrete
from ..conv import bucket_length
from ..conv.internal import bounded_jit, spectral_length
from . import _extend, _tilt
from ._base import Distribution, check_dist
from ._lattice_ops import _common_step, _refine
from ._logconv import log_pair
from ._params import as_param, float_dtype
from ._pgf import _CLOSED
from ._relative import (
    RelativeDistribution,
    _relative,
    _worst,
    bucketable,
    pad_last,
    trimmed,
)
from ._relative_density_ops import relative_add_density, relative_iid_density
from ._tails import log_iid_sum
from ._tails_compound import log_compound
from ._tails_pb import log_poisson_binomial


def _extended_logs(d: Distribution, pad: bool = False):
    """``(law, log_masses, log_errors, horizon, masses)``, extended if it can be.

    A family with unbounded support is re-evaluated from its ``logpmf`` on a
    grid past which its mass leaves the float range (see `_extend`); its
    log-masses are then exact to a few ulps. `horizon` is where its
    truncated mass starts, and that mass's log (see `_extend.horizon`).
    The array work runs as one program (`_logs_horizon`). With `pad`, an
    eager law's arrays are padded to a bucket first (see `_horizon_logs`);
    `masses` are the law's masses, padded alike.
    """
    law, lm, log_t = _extend.extend(d)
    if lm is None:
        rel = isinstance(d, RelativeDistribution)
        own = (d.log_masses, d.log_error, d.log_truncated) if rel else (None,) * 3
        lm, le, own = own
        return (d, *_horizon_logs(d.masses, lm, le, d.truncated, own, False, pad))
    return (law, *_horizon_logs(law.masses, lm, None, law.truncated, log_t, True, pad))


def _horizon_logs(masses, lm, le, truncated, log_t, extended: bool, pad: bool):
    """`_logs_horizon` of a law's arrays, and its masses; padded with `pad`.

    With `pad`, eager arrays are padded on the host so that their points
    after the first fill a bucket (`probconv.conv.bucket_length`): masses
    with 0 and log-masses and errors with ``-inf`` (no mass, which changes
    no sum); the horizon keeps the true size. Laws of many sizes then share
    the programs of a few buckets (issue 14).
    """
    n = masses.shape[-1]
    nb = bucket_length(n - 1) + 1 if n > 1 else n
    if pad and nb != n and bucketable(masses, lm, le, truncated, log_t):
        masses = pad_last(masses, nb, 0.0)
        lm, le = (None if a is None else pad_last(a, nb, -np.inf) for a in (lm, le))
    return (*_logs_horizon(masses, lm, le, truncated, log_t, extended, n), masses)


@bounded_jit(static_argnames=("extended",))
def _logs_horizon(masses, lm, le, truncated, log_t, extended, size):
    """Log-masses, log errors and horizon of a law's arrays (one program).

    `lm` (and `le`) where known: a relative law's, or an `extended` family's
    (exact to a few ulps); else the logs of `masses` (see `_logs`). `size`
    (traced) is the law's true number of points, where its cut mass starts.
    """
    if lm is None:
        lm = _tilt.safe_log(masses)
        le = jnp.where(jnp.isfinite(lm), math.log(_tilt.eps(masses.dtype)), -jnp.inf)
    elif extended:
        le = jnp.where(jnp.isfinite(lm), math.log(4 * _tilt.eps(lm.dtype)), -jnp.inf)
    t = jnp.asarray(truncated)
    if log_t is None:
        log_t = jnp.log(jnp.maximum(t, 0.0))
    log_t = jnp.broadcast_to(jnp.asarray(log_t, t.dtype), t.shape)
    first = jnp.full(t.shape, size, t.dtype)
    return lm, le, (first, log_t)


def relative_add(x: Distribution, y: Distribution) -> Distribution:
    """`add` with ``accuracy='relative'`` (same grids and checks as `add`).

    Eagerly, both laws are padded to buckets (``-inf`` log-masses past their
    grids) and the sum is cut back to its ``n + m - 1`` points: sums of many
    sizes share the programs of a few buckets, and agree with the unpadded
    computation to the method's rounding (its error estimates).
    """
    x, y = check_dist(x, "x"), check_dist(y, "y")
    if "density" in (x.kind, y.kind):
        return relative_add_density(x, y)
    h = _common_step([x, y])
    pad = bucketable(x, y)
    x, lx, ex, hx, xm = _extended_logs(x, pad)
    y, ly, ey, hy, ym = _extended_logs(y, pad)
    x2, y2 = _refine(x, h), _refine(y, h)
    if x2 is not x:
        lx, ex, hx, xm = _refined_logs(x2, hx[1], pad)
    if y2 is not y:
        ly, ey, hy, ym = _refined_logs(y2, hy[1], pad)
    n_out = x2.size + y2.size - 1
    # (in the common dtype; the sizes are the unpadded ones)
    out, rel = log_pair(lx, ly, span=n_out, terms=min(x2.size, y2.size))
    d = _add_finish(out, rel, ex, ey, hx, hy, xm, ym, x2.origin, y2.origin, step=h)
    return trimmed(d, n_out)


def _refined_logs(d: Distribution, log_t, pad: bool):
    """Log-masses, log errors, horizon and masses of a law refined to a finer step."""
    rel = isinstance(d, RelativeDistribution)
    lm, le = (d.log_masses, d.log_error) if rel else (None, None)
    return _horizon_logs(d.masses, lm, le, d.truncated, log_t, False, pad)


@bounded_jit(static_argnames=("step",))
def _add_finish(out, rel, ex, ey, hx, hy, xm, ym, xo, yo, step):
    """Build the relative sum of two lattices from their log-convolution."""
    dt = out.dtype
    tx, ty = jnp.sum(xm, -1), jnp.sum(ym, -1)
    inherited = jnp.logaddexp(_worst(ex), _worst(ey)).astype(dt)
    rel = jnp.where(jnp.isfinite(out), _tilt.log_add(rel, inherited[..., None]), rel)
    # Truncated mass of a summand that could not extend reaches the sum from
    # its own cut on (the other summand's support starts at its origin).
    for (first, log_t), other in ((hx, ty), (hy, tx)):
        log_t = log_t + jnp.log(jnp.maximum(other, 0.0))
        rel = _extend.mark_unresolved(rel, out, first, log_t)
    batch = out.shape[:-1]
    # t_x T_y + T_x t_y + t_x t_y, in log space: the cut masses may underflow.
    lt_x, lt_y = hx[1].astype(dt), hy[1].astype(dt)
    lT_x, lT_y = (jnp.log(jnp.maximum(t, 0.0)).astype(dt) for t in (tx, ty))
    log_cut = jnp.logaddexp(jnp.logaddexp(lt_x + lT_y, lT_x + lt_y), lt_x + lt_y)
    ox, oy = jnp.broadcast_arrays(xo.astype(dt), yo.astype(dt))
    return _relative(
        out,
        rel,
        jnp.broadcast_to(ox + oy, batch),
        0.0,
        step,
        "lattice",
        jnp.broadcast_to(log_cut, batch),
    )


def relative_iid_sum(x: Distribution, n: int) -> Distribution:
    """`iid_sum` with ``accuracy='relative'``."""
    x = check_dist(x, "x")
    n = check_int("n", n)
    if n == 0:
        ones = jnp.zeros(x.batch_shape + (1,), x.dtype)
        return _relative(
            ones, jnp.full_like(ones, -jnp.inf), 0.0, 0.0, x.step, "lattice"
        )
    if x.kind == "density":
        return relative_iid_density(x, n)
    x, lx, ex, (first, log_t), _ = _extended_logs(x)
    grown = _extend.extendable(x) is not None
    exact = isinstance(x, RelativeDistribution) or grown
    n_out, log_beyond = 0, -math.inf
    if grown:
        # The sum's grid ends where its mass leaves the float range too: the
        # tilts need not cover the rest of the extended law's n-fold support.
        n_out, log_beyond = _extend.sum_points(lx, n, _extend.log_floor(x.dtype))
    # Eagerly, the programs of a bucket's count serve every count in it
    # (`log_iid_sum`); the sum is cut back to its points on the host.
    bucket = bucket_length(n) if bucketable(x, lx, ex) else None
    out, rel = log_iid_sum(lx, n, None if exact else x.masses, n_out, bucket)
    points = min(n_out or n * (x.size - 1) + 1, out.shape[-1])
    d = _iid_finish(
        out,
        rel,
        ex,
        first,
        log_t,
        x.masses,
        x.truncated,
        x.origin,
        min(log_beyond, 0.0),
        np.int32(n),
        step=float(x.step),
        kind=x.kind,
    )
    return trimmed(d, points)


@bounded_jit(static_argnames=("step", "kind"))
def _iid_finish(
    out, rel, ex, first, log_t, masses, truncated, origin, log_beyond, n, step, kind
):
    """Build the relative `n`-fold sum from its tilted log-masses (one program).

    `n` is traced: one program serves every count of summands.
    """
    dt = masses.dtype
    n = jnp.asarray(n, dt)
    log_n = jnp.log(n)
    inherited = (log_n + _worst(ex)).astype(dt)
    rel = jnp.where(jnp.isfinite(out), _tilt.log_add(rel, inherited[..., None]), rel)
    rel = _extend.mark_unresolved(rel, out, first, log_t + log_n)
    # The cut mass, (T + t)^n - T^n, in log space (t may underflow): with
    # f = t / (T + t), (T + t)^n (1 - (1 - f)^n), and n f bounding the
    # last factor where it would round to 0; plus the Chernoff bound past a
    # grid shortened where the sum's masses leave the float range.
    whole = jnp.sum(masses, -1) + truncated
    log_whole = jnp.log(jnp.where(whole > 0, whole, 1.0))
    log_f = jnp.minimum(log_t - log_whole, 0.0)
    small = log_f < math.log(1e-10) - log_n
    exact = jnp.log(-jnp.expm1(n * jnp.log1p(-jnp.exp(jnp.where(small, -1.0, log_f)))))
    log_part = n * log_whole + jnp.where(small, log_n + log_f, exact)
    log_cut = jnp.logaddexp(log_part, log_beyond).astype(dt)
    return _relative(out, rel, n * origin, 0.0, step, kind, log_cut)


def relative_poisson_binomial(p: ArrayLike) -> RelativeDistribution:
    """`poisson_binomial` with ``accuracy='relative'``."""
    p = as_param(p, "p", float_dtype(p))
    if p.ndim == 0 or p.shape[-1] == 0:
        raise ValueError(
            f"`p` must have at least one probability on its last axis; got shape "
            f"{p.shape}."
        )
    host = concrete(p)  # checked on the host where concrete: nothing compiled
    ok = check_range("p", p if host is None else np.asarray(host), low=0.0, high=1.0)
    n = p.shape[-1]
    nb = bucket_length(n)
    if nb == n or not bucketable(p):
        out, rel = log_poisson_binomial(p, clip=True)
        return _pb_finish(out, rel, ok)
    # Trials of probability 0 (exact: they add nothing) fill the bucket, so
    # that every size of a bucket shares its programs; the points past `n`
    # get no mass (``-inf``), and the result is cut back to ``n + 1`` points.
    out, rel = log_poisson_binomial(pad_last(host, nb, 0.0), clip=True, trials=n)
    return trimmed(_pb_finish(out, rel, pad_last(ok, nb, True)), n + 1)


@bounded_jit
def _pb_finish(out, rel, ok):
    """NaN rows where a probability was invalid (traced), as a relative law."""
    out = jnp.where(jnp.all(ok, -1)[..., None], out, jnp.nan)
    return _relative(out, rel, 0.0, 0.0, 1.0, "lattice")


def relative_compound(
    N: Distribution,
    xm,
    length: int,
    step: float,
    ok=True,
    *,
    lx=None,
    first=None,
    log_cut=None,
    points=None,
    trim=True,
    counts=False,
):
    r"""Compute the core of `compound` with ``accuracy='relative'``.

    `xm`: severity masses on ``0, h, 2h, ...``, cut at the output grid
    (shape ``(..., size)``); `length`: the plain method's FFT length (at
    least four times the grid is used, so that the tilted laws' wrapped-around
    mass stays small); `ok`: rows whose severity passed `compound`'s checks
    (the others get NaN); `lx`: the same as log-masses, where the severity
    extended itself (they hold below the smallest float); `first`: the grid
    index from which mass the severity lost past its grid reaches `S` (its
    points are marked unresolved); `log_cut`: the log of a bound on the mass
    of `S` past the grid (`compound`'s Chernoff bound, where it is known).
    Without it, the cut mass is the total less the grid's masses, plus the
    error of that difference (the masses' relative errors and rounding), so
    that it still bounds the cut mass. The frequency `N` is checked by
    `compound` before. `points`, where `xm` (and `lx`) were padded to a
    bucket (zero masses past the grid), is the grid's true length: the
    result is computed on the bucket and cut back to it (kept on the bucket,
    ``-inf`` log-masses past `points`, without `trim`).
    `counts`: return ``(law, log_counts, log_rel_err)``, with the log of
    :math:`E[N \mid S = k]` per point and its log relative error from the
    same tilts (`_tails_compound.compound_core`), or ``(law, None, None)``
    where the frequency is not a family that gives them.
    """
    dt = xm.dtype
    size = xm.shape[-1]
    points = size if points is None else points
    fam = getattr(N, "family", "")
    batch = jnp.broadcast_shapes(xm.shape[:-1], N.batch_shape)
    dts = jnp.dtype(dt).name
    if fam in _CLOSED:
        k = N.size - 1 if fam in ("bernoulli", "binomial") else None
        params, total = _family_rows(tuple(N.params), k, batch=batch, dt=dts)
        freq = ("family", (fam, params))
    else:
        origin = np.asarray(N.origin).ravel()
        shift = int(round(float(origin[0]))) if origin.size else 0
        nm = N.masses
        if points != size and bucketable(nm):  # zero masses: no terms
            nm = pad_last(nm, bucket_length(nm.shape[-1] - 1) + 1, 0.0)
        lc, total = _masses_rows(nm, N.truncated, batch=batch, dt=dts)
        freq = ("masses", (lc, shift))
    lx = _severity_rows(xm if lx is None else lx, lx is None, batch=batch, dt=dts)
    res = log_compound(
        lx, freq, spectral_length(max(length, 4 * size)), points, counts=counts
    )
    out, rel = res[:2]
    d = _compound_finish(
        out, rel, ok, first, log_cut, total, np.int32(points), batch=batch,
        step=float(step),
    )  # fmt: skip
    d = trimmed(d, points) if trim else d
    if not counts:
        return d
    if len(res) == 2:
        return d, None, None
    return d, *_counts_rows(res[2], res[3], batch=batch)


@bounded_jit(static_argnames=("batch",))
def _counts_rows(log_n, rel_n, batch):
    """Return the compound's rows of log counts and their errors on its batch."""
    size = log_n.shape[-1]
    return log_n.reshape(batch + (size,)), rel_n.reshape(batch + (size,))


# One program per stage and shape for the array work around `log_compound`
# (issue 14): eagerly it ran as some thirty single operations per grid length.
@bounded_jit(static_argnames=("batch", "dt"))
def _family_rows(params, k, batch, dt):
    """Return a closed family's parameters (and its trial count `k`) as rows."""
    params = [jnp.broadcast_to(jnp.asarray(q, dt), batch) for q in params]
    if k is not None:
        params.append(jnp.full(batch, k, dt))
    return tuple(q.reshape(-1) for q in params), jnp.ones(batch, dt)


@bounded_jit(static_argnames=("batch", "dt"))
def _masses_rows(masses, truncated, batch, dt):
    """Return a frequency's log-masses as rows, and its total mass."""
    k = masses.shape[-1]
    lc = _tilt.safe_log(jnp.broadcast_to(masses.astype(dt), batch + (k,)))
    total = jnp.broadcast_to(jnp.sum(masses, -1) + truncated, batch).astype(dt)
    return lc.reshape(-1, k), total


@bounded_jit(static_argnames=("linear", "batch", "dt"))
def _severity_rows(x, linear, batch, dt):
    """Return the severity's log-masses (from its masses if `linear`) as rows."""
    lx = _tilt.safe_log(x) if linear else x
    size = lx.shape[-1]
    return jnp.broadcast_to(lx.astype(dt), batch + (size,)).reshape(-1, size)


@bounded_jit(static_argnames=("batch", "step"))
def _compound_finish(out, rel, ok, first, log_cut, total, points, batch, step):
    """Build the relative compound law from its rows of log-masses (one program).

    `points` (traced) is the grid's true length: the padding's points past
    it get no mass (they are cut off after), so no sum below counts them.
    """
    dt = out.dtype
    size = out.shape[-1]
    good = jnp.broadcast_to(ok, batch)[..., None]
    on = jnp.arange(size) < points
    out = jnp.where(good, out.reshape(batch + (size,)), jnp.nan)
    out = jnp.where(on, out, -jnp.inf)
    rel = jnp.where(on, rel.reshape(batch + (size,)), -jnp.inf)
    size = points
    if first is not None:
        first, log_t = (jnp.broadcast_to(v, batch) for v in first)
        rel = _extend.mark_unresolved(rel, out, first, log_t)
    if log_cut is None:
        kept = jnp.sum(jnp.exp(out), -1)
        slack = kept * jnp.exp(_worst(rel)) + (size + 16) * _tilt.eps(dt) * total
        lost = jnp.minimum(jnp.maximum(total - kept, 0.0) + slack, total)
        log_cut = jnp.log(lost)
    log_cut = jnp.broadcast_to(jnp.asarray(log_cut, dt), batch)
    return _relative(out, rel, 0.0, 0.0, step, "lattice", log_cut)
