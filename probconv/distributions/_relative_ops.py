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

from .._checks import check_int, check_range
from ..conv.internal import spectral_length
from . import _extend, _tilt
from ._base import Distribution, check_dist
from ._lattice_ops import _common_step, _refine
from ._logconv import log_pair
from ._params import as_param, float_dtype
from ._pgf import _CLOSED
from ._relative import RelativeDistribution, _logs, _relative, _worst
from ._relative_density_ops import relative_add_density, relative_iid_density
from ._tails import log_iid_sum
from ._tails_compound import log_compound
from ._tails_pb import log_poisson_binomial


def _extended_logs(d: Distribution):
    """``(law, log_masses, log_errors, horizon)``, extended if it can be.

    A family with unbounded support is re-evaluated from its ``logpmf`` on a
    grid past which its mass leaves the float range (see `_extend`); its
    log-masses are then exact to a few ulps. `horizon` is where its
    truncated mass starts, and that mass's log (see `_extend.horizon`).
    """
    law, lm, log_t = _extend.extend(d)
    if lm is None:
        own = d.log_truncated if isinstance(d, RelativeDistribution) else None
        return (d, *_logs(d), _extend.horizon(d, own))
    ep = math.log(4 * _tilt.eps(lm.dtype))
    err = jnp.where(jnp.isfinite(lm), ep, -jnp.inf)
    return law, lm, err, _extend.horizon(law, log_t)


def relative_add(x: Distribution, y: Distribution) -> Distribution:
    """`add` with ``accuracy='relative'`` (same grids and checks as `add`)."""
    x, y = check_dist(x, "x"), check_dist(y, "y")
    if "density" in (x.kind, y.kind):
        return relative_add_density(x, y)
    h = _common_step([x, y])
    x, lx, ex, hx = _extended_logs(x)
    y, ly, ey, hy = _extended_logs(y)
    x2, y2 = _refine(x, h), _refine(y, h)
    if x2 is not x:
        lx, ex = _logs(x2)
        hx = _extend.horizon(x2, hx[1])
    if y2 is not y:
        ly, ey = _logs(y2)
        hy = _extend.horizon(y2, hy[1])
    x, y = x2, y2
    dt = jnp.result_type(x.dtype, y.dtype)
    out, rel = log_pair(lx.astype(dt), ly.astype(dt))
    inherited = jnp.logaddexp(_worst(ex), _worst(ey)).astype(dt)
    rel = jnp.where(jnp.isfinite(out), jnp.logaddexp(rel, inherited[..., None]), rel)
    # Truncated mass of a summand that could not extend reaches the sum from
    # its own cut on (the other summand's support starts at its origin).
    for (first, log_t), other in ((hx, y), (hy, x)):
        log_t = log_t + jnp.log(jnp.maximum(other.total, 0.0))
        rel = _extend.mark_unresolved(rel, out, first, log_t)
    batch = out.shape[:-1]
    # t_x T_y + T_x t_y + t_x t_y, in log space: the cut masses may underflow.
    lt_x, lt_y = hx[1].astype(dt), hy[1].astype(dt)
    lT_x, lT_y = (jnp.log(jnp.maximum(d.total, 0.0)).astype(dt) for d in (x, y))
    log_cut = jnp.logaddexp(jnp.logaddexp(lt_x + lT_y, lT_x + lt_y), lt_x + lt_y)
    ox, oy = jnp.broadcast_arrays(x.origin.astype(dt), y.origin.astype(dt))
    return _relative(
        out,
        rel,
        jnp.broadcast_to(ox + oy, batch),
        0.0,
        h,
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
    x, lx, ex, (first, log_t) = _extended_logs(x)
    grown = _extend.extendable(x) is not None
    exact = isinstance(x, RelativeDistribution) or grown
    n_out, log_beyond = 0, -math.inf
    if grown:
        # The sum's grid ends where its mass leaves the float range too: the
        # tilts need not cover the rest of the extended law's n-fold support.
        n_out, log_beyond = _extend.sum_points(lx, n, _extend.log_floor(x.dtype))
    out, rel = log_iid_sum(lx, n, None if exact else x.masses, n_out)
    if n_out:
        out, rel = out[..., :n_out], rel[..., :n_out]
    inherited = (math.log(n) + _worst(ex)).astype(x.dtype)
    rel = jnp.where(jnp.isfinite(out), jnp.logaddexp(rel, inherited[..., None]), rel)
    rel = _extend.mark_unresolved(rel, out, first, log_t + math.log(n))
    # The cut mass, (T + t)^n - T^n, in log space (t may underflow): with
    # f = t / (T + t), (T + t)^n (1 - (1 - f)^n), and n f bounding the
    # last factor where it would round to 0; plus the Chernoff bound past a
    # grid shortened where the sum's masses leave the float range.
    whole = x.total + x.truncated
    log_whole = jnp.log(jnp.where(whole > 0, whole, 1.0))
    log_f = jnp.minimum(log_t - log_whole, 0.0)
    small = log_f < math.log(1e-10 / n)
    exact = jnp.log(-jnp.expm1(n * jnp.log1p(-jnp.exp(jnp.where(small, -1.0, log_f)))))
    log_part = n * log_whole + jnp.where(small, math.log(n) + log_f, exact)
    log_cut = jnp.logaddexp(log_part, min(log_beyond, 0.0)).astype(x.dtype)
    return _relative(out, rel, n * x.origin, 0.0, x.step, x.kind, log_cut)


def relative_poisson_binomial(p: ArrayLike) -> RelativeDistribution:
    """`poisson_binomial` with ``accuracy='relative'``."""
    p = as_param(p, "p", float_dtype(p))
    if p.ndim == 0 or p.shape[-1] == 0:
        raise ValueError(
            f"`p` must have at least one probability on its last axis; got shape "
            f"{p.shape}."
        )
    ok = jnp.all(check_range("p", p, low=0.0, high=1.0), -1)
    out, rel = log_poisson_binomial(jnp.clip(p, 0.0, 1.0))
    out = jnp.where(ok[..., None], out, jnp.nan)
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
):
    """Compute the core of `compound` with ``accuracy='relative'``.

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
    `compound` before.
    """
    dt = xm.dtype
    size = xm.shape[-1]
    fam = getattr(N, "family", "")
    batch = jnp.broadcast_shapes(xm.shape[:-1], N.batch_shape)
    if fam in _CLOSED:
        params = [jnp.broadcast_to(jnp.asarray(q, dt), batch) for q in N.params]
        if fam in ("bernoulli", "binomial"):
            params.append(jnp.full(batch, N.size - 1, dt))
        freq = ("family", (fam, tuple(q.reshape(-1) for q in params)))
        total = jnp.ones(batch, dt)
    else:
        lc = _tilt.safe_log(jnp.broadcast_to(N.masses.astype(dt), batch + (N.size,)))
        origin = np.asarray(N.origin).ravel()
        shift = int(round(float(origin[0]))) if origin.size else 0
        freq = ("masses", (lc.reshape(-1, N.size), shift))
        total = jnp.broadcast_to(N.total + N.truncated, batch).astype(dt)
    if lx is None:
        lx = _tilt.safe_log(xm)
    lx = jnp.broadcast_to(lx.astype(dt), batch + (size,)).reshape(-1, size)
    out, rel = log_compound(lx, freq, spectral_length(max(length, 4 * size)))
    good = jnp.broadcast_to(ok, batch)[..., None]
    out = jnp.where(good, out.reshape(batch + (size,)), jnp.nan)
    rel = rel.reshape(batch + (size,))
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
