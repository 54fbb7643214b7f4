"""Compound (random) sums of a lattice severity, through the generating function."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from .._checks import check_int, check_number, concrete
from ..conv import bucket_length, to_device
from ..conv.internal import bounded_jit, from_host, spectral_length
from . import _extend
from ._base import Distribution
from ._base import eps as _eps
from ._compound_split import grid_split, log_mgf, split_layout_for, transform_split
from ._grid import make
from ._lattice_ops import _place
from ._pgf import (
    _CLOSED,
    THETAS,
    _chernoff_size,
    _frequency_spec,
    _log_tail_bound,
    _transform,
    fft_diagnostics,
    severity_log_mgf,
)
from ._relative import bucketable
from ._relative_ops import relative_compound
from ._split_grid import whole_grid


def compound_lattice(
    N: Distribution,
    X: Distribution,
    *,
    size: int | None = None,
    tail: float | None = None,
    padding: int = 1,
    tilt: float | None = None,
    accuracy: str = "absolute",
    full_output: bool = False,
):
    r"""Law of :math:`X_1 + \dots + X_N` for a lattice severity `X`.

    The lattice core of `compound` (same arguments and diagnostics), which
    routes here after its checks; ``accuracy='relative'`` branches to
    `relative_compound` once the grid is sized.
    """
    dt = jnp.result_type(X.dtype, N.dtype)
    eps = _eps(dt)
    relative = accuracy == "relative"
    if relative:
        # A severity that knows its logpmf first reaches the float range's end.
        X, _, _ = _extend.extend(X)
    if tail is None:
        # Relative accuracy keeps every mass that a float can hold.
        tail = float(jnp.finfo(dt).tiny) if relative else eps
    else:
        tail = check_number(
            "tail", tail, low=0.0, high=1.0, low_open=True, high_open=True
        )
    if tilt is not None:
        tilt = check_number("tilt", tilt, low=0.0)
    # Severity on the grid 0, h, 2h, ...: grid offsets of the origins.
    kf = X.origin.astype(dt) / X.step
    kr = jnp.round(kf)
    okx = (jnp.abs(kf - kr) <= 1e-9 * jnp.maximum(1, jnp.abs(kf))) & (kr >= 0)
    o = concrete(X.origin)
    if o is not None and not np.all(concrete(okx)):
        raise ValueError(
            "The severity `X` must be >= 0 on a grid from 0: its origin must "
            f"be a non-negative multiple of its step {X.step}; got "
            f"{np.asarray(o).tolist()!r}."
        )
    j0 = concrete(kr)  # per batch row, where known
    thetas = THETAS
    # A grid split over devices stays split (`_compound_split`); otherwise,
    # and in relative mode, it is joined first.
    # Traced masses (an eager `jax.grad` too) need a given `size` to stay split.
    split = None if relative else grid_split(N, X, j0)
    traced = j0 is None or isinstance(X.masses, jax.core.Tracer)
    if split is None or (traced and size is None):
        split, X = None, whole_grid(X)
    xm = X.masses.astype(dt)
    fam, k_n, params, lg, n_total, _ = _frequency_spec(N)
    xc = None if split is not None else concrete(xm)
    if split is not None:
        log_mgf_x = None if traced else log_mgf(xm, j0, split, thetas)
    elif xc is None or j0 is None:
        log_mgf_x = None
    else:
        log_mgf_x = severity_log_mgf(xc, np.asarray(j0))

    known = lg is not None and log_mgf_x is not None
    if size is None:
        if not known:
            raise ValueError(
                "`size` must be given when `N` or `X` is traced (under jit or "
                "vmap): the length of the grid must be static."
            )
        span = int(np.max(j0, initial=0)) + xm.shape[-1]
        size = _chernoff_size(log_mgf_x, lg, thetas, span, tail)
    else:
        size = check_int("size", size, minimum=1)
    length = spectral_length(size * 2**padding)
    if split is not None:
        lay = split_layout_for(split, xm.shape[-1], size, length)
        if lay is None:  # no layout fits: the grid is joined after all
            split, xm = None, whole_grid(X).masses.astype(dt)
        else:
            length = lay.length
    ratio = size / length
    if known:
        log_a = float(
            _log_tail_bound(log_mgf_x, lg, np.array([float(length)]), thetas)[0]
        )
        log_a = min(log_a, 0.0)
    else:
        log_a = None
    if tilt is None:
        if log_a is None:
            tilt = 0.0
        else:
            tilt = max(0.0, (log_a - math.log(eps * ratio)) / (1 + ratio))
    tilt = float(tilt)
    # Tilted severity, cut at `size` (mass beyond only reaches S >= size).
    offs = jnp.clip(jnp.where(okx, kr, 0), 0, size).astype(jnp.int32)
    if relative:
        # Eagerly, the grid is padded to a bucket (severity masses 0 past
        # `size`): every size of a bucket shares the programs (issue 14).
        points = bucket_length(size) if bucketable(xm, offs, N) else size
        if points == size:
            cut = _placed(xm, offs, size=size)
        else:
            cut = _placed_host(np.asarray(xm), np.asarray(offs), size, points)
        lx, log_t = None, None
        if _extend.extendable(X) is not None:
            # Exact log-masses on 0..size-1 (one origin: `extendable`).
            j = int(np.max(j0))
            X, lx, log_t = _extend.extend(X, max(size - j, 1))
            pad = [(0, 0)] * (lx.ndim - 1) + [(j, points - size)]
            if points == size:
                lx = jnp.pad(lx, pad, constant_values=-jnp.inf)[..., :size]
            else:
                lx = np.pad(np.asarray(lx), pad, constant_values=-np.inf)
                lx = from_host(np.ascontiguousarray(lx[..., :points]))
        # Mass a severity lost past its grid reaches S from there on, at most
        # E[N] times over.
        first, log_t = _extend.horizon(X, log_t)
        first = jnp.where(okx, kr, 0.0) + first
        log_t = log_t + jnp.log(jnp.maximum(_mean_of(N), 1.0)).astype(log_t.dtype)
        log_cut = None
        if log_a is not None:
            # The mass of S past the grid, in log space (it may underflow):
            # from the grid's masses a Chernoff bound, or nothing where S
            # cannot get there; plus what the severity and frequency lost.
            log_cut = log_cut_past(N, k_n, xc, j0, size, (log_mgf_x, lg), log_t)
        out = relative_compound(
            N, cut, max(length, spectral_length(4 * points)), X.step, okx,
            lx=lx, first=(first, log_t), log_cut=log_cut, points=size,
        )  # fmt: skip
        if not full_output:
            return out
        return out, {"fft_length": max(length, 4 * size)}
    params = tuple(jnp.asarray(p, dt) for p in params)
    if split is not None:
        first = jnp.where(okx, kr, 0.0)
        y = transform_split(
            params, xm, first, jnp.asarray(tilt, dt), split, lay,
            fam=fam, k=k_n, size=size,
        )  # fmt: skip
    else:
        y = _transform(
            params,
            xm,
            offs,
            jnp.asarray(tilt, dt),
            fam=fam,
            k=k_n,
            size=size,
            length=length,
        )
    whole = jnp.asarray(n_total, dt)
    lost = jnp.maximum(whole - jnp.sum(y, -1), 0.0)
    good = jnp.broadcast_to(okx, lost.shape)
    y = jnp.where(good[..., None], y, jnp.nan)
    out = make(y, 0.0, lost, X.step, "lattice")
    if not full_output:
        return out
    return out, fft_diagnostics(out, log_a, tilt, length, eps, ratio)


@bounded_jit(static_argnames=("size",))
def _placed(xm, offs, size):
    """Return the severity's rows at their grid offsets, cut at `size` (one program)."""
    return _place(xm, offs, size + xm.shape[-1])[..., :size]


def _mean_of(N: Distribution):
    """``N.mean()``, on the host for an eager law (nothing compiled per grid)."""
    if not bucketable(N):
        return N.mean()
    m = np.asarray(N.masses)
    k = np.arange(m.shape[-1], dtype=m.dtype)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.asarray(N.origin) + N.step * (m @ k) / m.sum(-1)
    return to_device(np.asarray(mean, m.dtype))


def _placed_host(xm: np.ndarray, offs: np.ndarray, size: int, points: int):
    """`_placed` on the host, zero-padded from `size` to `points` entries.

    For an eager call, whose grid is padded to a bucket: nothing compiled
    per severity or grid length.
    """
    batch = np.broadcast_shapes(xm.shape[:-1], offs.shape)
    m = xm.shape[-1]
    rows = np.broadcast_to(xm, batch + (m,)).reshape(-1, m)
    at = np.broadcast_to(offs, batch).reshape(-1)
    out = np.zeros((rows.shape[0], points), xm.dtype)
    for r, (row, o) in enumerate(zip(rows, at)):
        k = max(0, min(m, size - int(o)))
        out[r, o : o + k] = row[:k]
    return from_host(out.reshape(batch + (points,)))


def log_cut_past(N: Distribution, k_n: int, xm, j0, size: int, cgf, log_t):
    """Log of a bound on the mass of `S` past a grid of `size` points.

    From the grids of `N` and `X` (`xm` the severity's concrete masses on
    grid offsets `j0`) a Chernoff bound (`cgf`: the severity's log-MGF and
    the frequency's log-pgf, in NumPy), or nothing where `S` cannot get
    there; plus `log_t`, what the severity lost past its grid, and the
    mass the frequency lost past its own (a frequency given by masses).
    """
    if _top(N, k_n, xm, np.asarray(j0)) < size:
        log_s = -math.inf
    else:
        at = np.array([float(size)])
        log_s = min(float(_log_tail_bound(*cgf, at, THETAS)[0]), 0.0)
    log_cut = jnp.logaddexp(log_s, log_t)
    if getattr(N, "family", "") not in _CLOSED:
        log_n = jnp.log(jnp.maximum(N.truncated, 0.0)).astype(log_cut.dtype)
        log_cut = jnp.logaddexp(log_cut, log_n)
    return log_cut


def _top(N: Distribution, k_n: int, xm: np.ndarray, j0: np.ndarray) -> float:
    """Largest grid index that `S` reaches from the grids of `N` and `X`.

    ``inf`` for a frequency of unbounded family (Poisson, geometric,
    negative binomial); the masses `N` and `X` lost past their grids are
    counted apart (`compound_lattice`). `xm` are the severity's masses
    (concrete), `j0` its grid offsets.
    """
    fam = getattr(N, "family", "")
    if fam in _CLOSED:
        if fam not in ("bernoulli", "binomial"):
            return math.inf
        n_top = float(k_n)
    else:
        nm, o = concrete(N.masses), concrete(N.origin)
        if nm is None or o is None:
            return math.inf
        nm = np.asarray(nm)
        on = np.nonzero(np.any(nm.reshape(-1, nm.shape[-1]) > 0, axis=0))[0]
        o = float(np.max(o))
        n_top = o + (float(on[-1]) if on.size else 0.0)
    on = np.nonzero(np.any(np.asarray(xm).reshape(-1, xm.shape[-1]) > 0, axis=0))[0]
    x_top = float(np.max(j0)) + (float(on[-1]) if on.size else 0.0)
    return max(n_top, 0.0) * x_top
