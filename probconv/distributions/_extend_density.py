r"""Density laws that extend themselves past their grid, for relative accuracy.

A continuous family (`normal`, `exponential`, `gamma`, ...) built with
concrete parameters and its default support is cut where its tail mass
falls below ``tail`` (about :math:`10^{-9}`). That is enough for absolute
accuracy, but every relative sum inherits the cut: past it the sum misses
the terms that involve the summand's tail (``N(0, 1) + N(1, 4)`` on the
default grids of step 0.1 is off by a factor 24 at ``logsf(18)`` and has no
value at 25). Such a law remembers its scipy.stats frozen law (`remember`),
and the relative operations re-discretize it on the same step, in float64
on the host, out to where its tail mass leaves the float range:

.. math:: m_k = \bar F(a_k)\,\bigl(1 - e^{\log \bar F(a_{k+1}) - \log \bar F(a_k)}\bigr)

in log space (``logsf(a) + log1mexp(logsf(b) - logsf(a))`` for a cell
``[a, b]`` of the upper tail; ``logcdf`` alike in the lower), so that cell
masses far below the smallest float keep their logs. The grid's own cells
are kept as they are (their masses, their second-order discretization); the
new cells only continue it, until the tail beyond holds at most
:math:`\max(\mathrm{tiny}\,\epsilon, 10^3 \mathrm{tiny})` (float64:
:math:`e^{-701.5}`: scipy evaluates some ``logsf`` as the log of a
subnormal ``sf`` below that; float32: :math:`e^{-103.3}`).

The extended grid is capped at `MAX_CELLS` cells (8,192; the lattice laws
of `_extend` at `MAX_POINTS`): a light tail that needs more (a normal or
an exponential at a fine step) stops there; a heavy tail that needs more
(`lognormal`, `pareto`, `student_t`, `cauchy`: its log decays ever slower)
keeps its own grid. Either keeps a cut mass, and the relative operations
mark the points that mass can reach as unresolved (a large stated error;
NaN past the grid, with `bounds`). A law
given an explicit ``support`` (the user's word on the grid), a law from a
sum or any other operation, and a law built under `jax.jit` or `jax.vmap`
(traced parameters) remember nothing and keep their grid.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .._checks import concrete
from ..conv import to_device
from ._base import Distribution
from ._grid import make

# Longest grid a law is extended to (lattice laws, `_extend`, and density
# laws): beyond it, a tail too heavy to reach the float range's end (zipf, a
# Pareto-like law, a lognormal) keeps its cut, and the points its missing
# mass reaches are marked unresolved.
MAX_POINTS = 1 << 16

# Longest grid a density law is extended to: past it the law keeps a cut,
# and the points its mass reaches carry a stated error. A cost bound (the
# tilted convolution grows with the grid): the default-step normals N(0, 1)
# + N(1, 4) (3,131 cells each at steps 1/256 and 1/128) take 5.9 ms
# relative against 0.42 ms plain at this cap, logsf(18) within 1e-2;
# extended to the float range (2^15 cells) 47.5 ms, 4 x Exp(1) at its
# default step 333 ms against 0.85 ms plain.
MAX_CELLS = 1 << 13

_ATTR = "_scipy_law"  # a plain attribute: no pytree leaf, lost by any operation
_SMALLEST = math.log(5e-324)  # an underflowed float64 tail is below this


class Recipe(NamedTuple):
    """A density law's scipy.stats law (parameters on a trailing axis)."""

    frozen: object
    lo: float  # ends of the support (over the batch)
    hi: float


def remember(law: Distribution, frozen) -> Distribution:
    """Attach the scipy.stats law that `law`'s cells discretize; return `law`.

    `frozen` is that law, or a function of no arguments returning it (or
    None where there is none, e.g. parameters out of range): it is then
    called on first use only, so that building a law costs nothing more
    (scipy's frozen laws take some 0.1 ms to make). The law takes the batch
    on a trailing axis (parameters of shape ``batch + (1,)``), as
    `_extend`'s lattice laws. Not a pytree leaf: the law passed through
    `jax.jit`, an operation, or a `dataclasses.replace` forgets it.
    """
    object.__setattr__(law, _ATTR, frozen)
    return law


def recipe(d: Distribution) -> Recipe | None:
    """Return the `Recipe` of `d`, or None where it has none (or cannot use it)."""
    held = getattr(d, "__dict__", {}).get(_ATTR)
    if held is None or d.kind != "density":
        return None
    if getattr(d, "atoms", None) is not None:
        return None
    if isinstance(held, Recipe):
        return held
    frozen = held() if callable(held) and not hasattr(held, "support") else held
    rec = None
    if frozen is not None:
        with np.errstate(all="ignore"):
            lo, hi = (np.asarray(v, np.float64) for v in frozen.support())
        if lo.size and np.all(lo < hi):
            rec = Recipe(frozen, float(np.min(lo)), float(np.max(hi)))
    d.__dict__[_ATTR] = rec
    return rec


def log_floor(dtype) -> float:
    """Log of the smallest mass kept: ``tiny * eps`` of `dtype` (float range's end)."""
    f = np.finfo(np.dtype(dtype))
    return math.log(float(f.tiny)) + math.log(float(f.eps))


def _floor(dtype) -> float:
    """Log of the tail mass left past an extended grid (see the module notes)."""
    tiny = float(np.finfo(np.float64).tiny)
    return max(log_floor(dtype), math.log(1e3 * tiny))


def _tail(fz, x, sign: int) -> np.ndarray:
    """``logsf`` (`sign` +1) or ``logcdf`` (-1) at `x`, shape ``batch + x``."""
    with np.errstate(all="ignore"):
        t = fz.logsf(x) if sign > 0 else fz.logcdf(x)
    return np.asarray(t, np.float64)


def _done(t: np.ndarray, floor: float) -> np.ndarray:
    """Per point (last axis): every row's tail below `floor` (NaN, ``-inf``: empty)."""
    t = t.reshape(-1, t.shape[-1])
    return np.all(~(t > floor), axis=0)


def _needed(fz, edge: float, h: float, sign: int, floor: float, cap: int) -> int:
    """Fewest cells past `edge` after which the tail is below `floor` (<= `cap`).

    Two scipy calls: the tail at doubling distances, then at every cell of
    the last doubling (scipy's per-call cost, some 50 us, dominates).
    """
    if cap <= 0:
        return 0
    r = np.unique(np.minimum(2 ** np.arange(int(cap).bit_length() + 1), cap))
    r = np.concatenate([[0], r])
    ok = _done(_tail(fz, edge + sign * h * r, sign), floor)
    if ok[0]:
        return 0
    if not ok.any():
        return cap if _light(fz, edge, h, sign, cap) else 0
    i = int(np.argmax(ok))
    lo, hi = int(r[i - 1]), int(r[i])
    between = np.arange(lo + 1, hi + 1)
    ok = _done(_tail(fz, edge + sign * h * between, sign), floor)
    return int(between[int(np.argmax(ok))])


def _light(fz, edge: float, h: float, sign: int, r: int) -> bool:
    """Whether the tail's log decays at least half as fast `r` cells out.

    A light tail (normal, exponential, gamma, Laplace) that does not reach
    the floor within the cap is extended to the cap; a heavy one
    (lognormal, Pareto, Student's t), whose log decays ever slower, keeps
    its cut: the tilted convolution does not resolve such long, flat tails
    (two lognormal(0.5) laws on 8,192 cells of 0.1 give ``sf = inf``).
    """
    x = edge + sign * h * np.array([0.0, 1.0, r - 1.0, float(r)])
    t = _tail(fz, x, sign)
    near, far = t[..., 0] - t[..., 1], t[..., 2] - t[..., 3]
    return bool(np.all(far >= 0.5 * near))


def _cells(fz, edge: float, h: float, sign: int, r: int, end: float):
    """Log masses of `r` cells past `edge` (outward) and the log tail beyond.

    A tail that underflowed to ``-inf`` inside the support is bounded by
    the smallest float64; past a finite `end` of the support it is 0.
    """
    x = edge + sign * h * np.arange(r + 1, dtype=np.float64)
    t = _tail(fz, x, sign)
    a, b = t[..., :-1], t[..., 1:]
    with np.errstate(all="ignore"):
        d = np.where(np.isfinite(a), b - a, -np.inf)
    lm = np.where(np.isfinite(a), a + _log1mexp(d), -np.inf)
    beyond = t[..., -1]
    past = x[-1] >= end if sign > 0 else x[-1] <= end
    beyond = np.where(np.isneginf(beyond) & ~past, _SMALLEST, beyond)
    beyond = np.where(np.isnan(beyond), 0.0, beyond)  # unknown: all of it
    return lm, beyond


def extend(d: Distribution, lower: bool = True):
    """Return ``(law, log_masses, log_cut)``: `d` continued past its grid, or None.

    None where `d` has no `Recipe` or its masses or origin are traced. The
    new law has the same step and cells, more of them on each side where
    the law's tail reaches (only the upper side without `lower`, as for a
    compound's severity); its log masses are those of the old cells and the
    new cells' from log-space CDF/SF differences, in the law's dtype;
    `log_cut` is the log of the mass past the new grid (per batch row).
    Cached on `d`.
    """
    rec = recipe(d)
    if rec is None:
        return None
    key = f"_extended_{bool(lower)}"
    cached = d.__dict__.get(key)
    if cached is not None:
        return cached
    m, o = concrete(d.masses), concrete(d.origin)
    if m is None or o is None:
        return None
    o = np.asarray(o, np.float64)
    if o.size == 0 or np.ptp(o) != 0:
        return None
    o, h, n, dt = float(o.ravel()[0]), float(d.step), d.size, d.dtype
    fz, floor = rec.frozen, _floor(dt)
    room = max(MAX_CELLS - n, 0)
    top, bottom = o + (n - 0.5) * h, o - 0.5 * h
    up = _needed(fz, top, h, 1, floor, room)
    down = _needed(fz, bottom, h, -1, floor, room) if lower else 0
    if up + down > room:  # share the room, the unused part to the other side
        half = room // 2
        if up <= half:
            down = room - up
        elif down <= half:
            up = room - down
        else:
            up, down = half, room - half
    batch = d.batch_shape
    lm_up, b_up = _cells(fz, top, h, 1, up, rec.hi)
    if lower:
        lm_dn, b_dn = _cells(fz, bottom, h, -1, down, rec.lo)
    else:
        lm_dn = np.zeros(batch + (0,))  # the lower cut stays as it was
        b_dn = _tail(fz, np.array([bottom]), -1)[..., 0]
        b_dn = np.where(np.isnan(b_dn), -np.inf, b_dn)
    m = np.asarray(m)
    with np.errstate(divide="ignore"):
        old = np.where(m > 0, np.log(np.where(m > 0, m, 1.0)), -np.inf)
    lm = np.concatenate(
        [
            np.broadcast_to(lm_dn[..., ::-1], batch + (down,)),
            np.asarray(old, np.float64),
            np.broadcast_to(lm_up, batch + (up,)),
        ],
        -1,
    )
    log_cut = np.broadcast_to(np.logaddexp(b_dn, b_up), batch)
    masses = np.exp(lm).astype(dt)
    law = make(
        to_device(masses),
        o - down * h,
        to_device(np.exp(log_cut).astype(dt)),
        h,
        "density",
    )
    out = (
        law,
        jnp.asarray(to_device(lm.astype(dt))),
        jnp.asarray(to_device(np.asarray(log_cut, dt))),
    )
    d.__dict__[key] = out
    return out


def _log1mexp(d):
    """``log(1 - e^d)`` for ``d <= 0`` (``-inf`` at 0; 0 at ``-inf``)."""
    with np.errstate(all="ignore"):
        one = np.where(d > -math.log(2.0), np.log(-np.expm1(d)), np.log1p(-np.exp(d)))
    return np.where(np.isneginf(d), 0.0, one)


def on_step(d: Distribution, h: float) -> Distribution | None:
    """`d` re-discretized on the finer step `h` (its cells split), or None.

    For a law with a `Recipe` whose step is an integer multiple of `h`: the
    cells of step `h` that nest in its cells (the same edges, as `regrid`
    places them), from log-space CDF differences left of the median and
    SF differences right of it, in float64 on the host. The new law keeps
    the recipe (`extend` continues it). None where `d` has none or its
    values are traced. Cached on `d` (by `h`).
    """
    rec = recipe(d)
    if rec is None:
        return None
    key = f"_on_step_{float(h)!r}"
    if key in d.__dict__:
        return d.__dict__[key]
    m, o = concrete(d.masses), concrete(d.origin)
    if m is None or o is None:
        return None
    o = np.asarray(o, np.float64)
    r = d.step / h
    if o.size == 0 or np.ptp(o) != 0 or abs(r - round(r)) > 1e-9 or round(r) < 2:
        return None
    r = int(round(r))
    start = float(o.ravel()[0]) - (r - 1) * h / 2
    edges = start - h / 2 + h * np.arange(d.size * r + 1, dtype=np.float64)
    fz = rec.frozen
    lc, ls = _tail(fz, edges, -1), _tail(fz, edges, 1)
    left = lc[..., 1:] + _log1mexp(lc[..., :-1] - lc[..., 1:])
    right = ls[..., :-1] + _log1mexp(ls[..., 1:] - ls[..., :-1])
    lm = np.where(lc[..., 1:] <= math.log(0.5), left, right)
    lm = np.where(np.isnan(lm), -np.inf, lm)
    cut = np.logaddexp(lc[..., 0], ls[..., -1])
    dt = d.dtype
    batch = d.batch_shape
    lm = np.broadcast_to(lm, batch + (lm.shape[-1],))
    law = make(
        to_device(np.exp(lm).astype(dt)),
        start,
        to_device(np.broadcast_to(np.exp(cut), batch).astype(dt)),
        h,
        "density",
    )
    object.__setattr__(law, _ATTR, rec)
    d.__dict__[key] = law
    return law


def past_grid(d: Distribution, x, query: str, grid_value: jax.Array) -> jax.Array:
    """`grid_value`, with the remembered scipy law's `query` past the cells.

    For a law with a `Recipe` and concrete `x` (an eager query): at points
    beyond the grid's outer cell edges, where the grid has no mass and the
    plain answer (0, 1 or ``-inf``) would pass for exact, the family's own
    value (``sf``, ``logsf``, ``cdf``, ``logcdf``, ``pdf``, ``logpdf`` of
    scipy.stats, in float64, cast to the law's dtype). Inside the cells,
    and for traced `x` or laws without one, `grid_value` as it is.
    """
    if getattr(d, "__dict__", {}).get(_ATTR) is None:  # (cheap: no scipy law made)
        return grid_value
    xv, o = concrete(x), concrete(d.origin)
    if xv is None or o is None:
        return grid_value
    o = np.asarray(o, np.float64)
    if o.size == 0 or np.ptp(o) != 0:
        return grid_value
    h = float(d.step)
    lo = float(o.ravel()[0]) - 0.5 * h
    hi = lo + d.size * h
    xv = np.asarray(xv, np.float64)
    beyond = (xv < lo) | (xv > hi)
    if not np.any(beyond):
        return grid_value
    rec = recipe(d)  # the scipy law, made on first use
    if rec is None:
        return grid_value
    with np.errstate(all="ignore"):
        val = np.asarray(getattr(rec.frozen, query)(xv[..., None]), np.float64)[..., 0]
    beyond = np.broadcast_to(beyond, val.shape)
    return jnp.where(beyond, jnp.asarray(val, grid_value.dtype), grid_value)
