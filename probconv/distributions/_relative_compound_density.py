r"""Relative-accuracy compound sums of a density severity (issue 15).

`compound(N, X, accuracy="relative")` with a density `X` comes here. The
severity's cell masses are compounded by the lattice machinery of the
relative compound (`relative_compound`: the frequency's tilted generating
function, all weights positive), so every cell of
:math:`S = X_1 + \dots + X_N` keeps its round-off relative. That is the law
of the sum of the *rounded* severities; two things set it apart from the
cell masses of `S`:

- the atom :math:`P(N = 0)` at 0, kept apart and exact (a mixed law, as
  the plain density compound returns), and the continuous part of cell 0,
  :math:`G_N(x_0) - G_N(0)` in closed form (only severities in cell 0 sum
  to cell 0);
- the discretization: `n` rounded severities carry :math:`n - 1` boxes of
  one cell more than the sum's cells, so its relative error at a point is
  about :math:`(E[N \mid S \approx x] - 1)\, c_k / 24`, with :math:`c_k` the
  result's relative second difference; where the severity's density jumps
  (an exponential at 0), rounding also biases each severity's mean, by
  :math:`\hat d(\theta) / \hat m(\theta)` under the tilt :math:`\theta`
  (`Continuous.jumps`). The count behind each point is the exact posterior
  mean :math:`E[N \mid S_r = k] = E N\, (x * C^*)_k / m_k`, with
  :math:`C^*` the compound of the size-biased count less one (for a
  Poisson count, `S` itself): one more relative compound and one
  relative convolution. For a negative binomial count the compound's own
  tilts give it instead, as the ratio of the size-biased sum
  :math:`\sum_n n P(N = n) x^{*n}` to `S` at each point's tilt (its
  transform :math:`z G_N'(z)` at the severity's, one more inverse
  transform per tilt; `_tails_compound.compound_core`).

The stated error (`relative_error`, `sf_error`) is four times those two
terms, plus the round-off and the severity's cut mass; it grows along the
tail with the count behind each point (linearly in `x` for a negative
binomial or geometric count, as :math:`\sqrt{x}` for a Poisson count of
exponential severities), as the error does.

Where the grid is sized here (``size`` not given; concrete, unbatched
laws), the boxes and jumps of all the severities behind a point are
corrected instead, from the upper tail's saddle points (`_drift`: the
rounded compound's decay rate is off by :math:`O(h^2)`, its error grows
with the distance); the stated error there is that of one severity plus a
tenth of the correction.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from .._checks import check_int, check_number, concrete
from ..conv import bucket_length
from ..conv.internal import bounded_jit, spectral_length
from . import _extend, _families, _tilt
from ._base import Distribution
from ._compound import log_cut_past
from ._compound_density import _severity_index
from ._continuous import parts
from ._drift import rounding_drift
from ._grid import make
from ._logconv import log_pair
from ._pgf import (
    _CLOSED,
    THETAS,
    _chernoff_size,
    _frequency_spec,
    severity_log_mgf,
)
from ._relative import bucketable, pad_last, trimmed
from ._relative_density import _slope
from ._relative_density_ops import _build, _error, _logs
from ._relative_ops import relative_add, relative_compound

_TILTS = 64  # tilts at which the jumps' share is read


def _log_pgf_less_atom(N: Distribution, fam: str, k: int, log_z):
    r"""``log(G_N(z) - G_N(0))`` for ``z = exp(log_z)`` in ``[0, 1]``, no cancellation.

    The probability that ``1 <= N`` severities all fall in cell 0 (the
    continuous part of the compound's cell 0).
    """
    dt = log_z.dtype
    z = jnp.exp(log_z)
    if fam in _CLOSED:
        params = [jnp.asarray(p, dt) for p in N.params]
        if fam == "poisson":
            (lam,) = params
            return -lam + jnp.log(jnp.expm1(lam * z))
        if fam in ("bernoulli", "binomial"):
            (p,) = params
            q = jnp.where(p < 1, 1 - p, 1.0)
            less = k * jnp.log(q) + jnp.log(jnp.expm1(k * jnp.log1p(p * z / q)))
            return jnp.where(p < 1, less, k * log_z)
        # negative binomial (a geometric count goes as X plus the compound
        # of its count less one: `relative_compound_density`)
        r, p = params
        return r * jnp.log(p) + jnp.log(jnp.expm1(-r * jnp.log1p(-(1 - p) * z)))
    lc = _tilt.safe_log(N.masses.astype(dt))
    shift = int(round(float(np.asarray(concrete(N.origin)).ravel()[0])))
    n = shift + jnp.arange(N.size, dtype=dt)
    terms = jnp.where(n >= 1, lc + n * log_z[..., None], -jnp.inf)
    return _tilt.lse(terms, -1)


def _jumps_on(X: Distribution, j0: int, size: int, dt, batch):
    """Return the jump correction of `X` (`Continuous.jumps`) on ``-1..size-1``.

    A jump at 0 puts part of its correction on the cell centred at ``-h``.
    Eagerly, the correction is padded with zeros (or cut) on the host to
    the entries read, so that one program serves a grid's bucket.
    """
    _, jumps = parts(X)
    if jumps is None:
        return None
    if bucketable(jumps):
        # The program reads the `size - j0` entries from the cell at -h on.
        jumps = pad_last(jumps, size - j0, 0.0)[..., : max(size - j0, 1)]
    return _jumps_grid(jumps, j0=j0, size=size, dt=jnp.dtype(dt).name, batch=batch)


@bounded_jit(static_argnames=("j0", "size", "dt", "batch"))
def _jumps_grid(jumps, j0, size, dt, batch):
    """`_jumps_on`'s array work, one program per shape (issue 14)."""
    jumps = jumps.astype(dt)
    start = j0 + 1  # index of the cell at -h in the array below
    if start < 0:
        jumps, start = jumps[..., -start:], 0
    n = jumps.shape[-1]
    pad = [(0, 0)] * (jumps.ndim - 1) + [(start, max(size + 1 - start - n, 0))]
    jumps = jnp.pad(jumps, pad)[..., : size + 1]
    return jnp.broadcast_to(jumps, batch + (size + 1,))


@bounded_jit(static_argnames=("j0", "size"))
def _on_grid(lx, j0, size):
    """Severity log-masses on ``0..size-1`` (``-inf`` padded), and their exp."""
    pad = [(0, 0)] * (lx.ndim - 1) + [(j0, max(size - j0 - lx.shape[-1], 0))]
    lxg = jnp.pad(lx, pad, constant_values=-jnp.inf)[..., :size]
    return lxg, jnp.exp(lxg)


@bounded_jit(static_argnames=("width",))
def _head(lx, width):
    return lx[..., :width]


@bounded_jit
def _counts(num, rel, lat_out, mean_n):
    """Posterior mean counts from the size-biased convolution (one program)."""
    log_n = jnp.log(jnp.maximum(mean_n, 1e-300))[..., None] + num - lat_out
    return _counts_of_logs(log_n, rel, lat_out)


@bounded_jit
def _counts_of_logs(log_n, rel, lat_out):
    """Posterior mean counts from their logs and log relative errors."""
    ok = jnp.ones(log_n.shape, bool) if rel is None else rel < math.log(1e-2)
    n = jnp.exp(jnp.minimum(log_n, 700.0))
    # Where the convolution did not resolve a point, the largest count
    # resolved before it (the count grows along the tail).
    ok = ok & jnp.isfinite(n)
    before = jax.lax.cummax(jnp.where(ok, n, 0.0), axis=n.ndim - 1)
    n = jnp.where(ok, n, before)
    return jnp.where(jnp.isfinite(lat_out), n, 1.0)


def _size_biased_rest(N: Distribution, fam: str, k_n: int):
    r"""Return :math:`N^* - 1` for the size-biased count, ``'S'`` or ``'none'``.

    :math:`P(N^* = n) = n P(N = n) / E N`, so that
    :math:`\sum_n n P(N = n) x^{*n} = E N \cdot x * C^*`, with :math:`C^*`
    the compound of :math:`N^* - 1`: ``'S'`` where that is `N` itself
    (Poisson), ``'none'`` where it is 0 (Bernoulli, one trial), else a
    count (negative binomial :math:`r + 1`, binomial :math:`k - 1`; masses:
    shifted and weighted). Geometric counts are refused by the caller.
    """
    if fam == "poisson":
        return "S"
    if fam in ("bernoulli", "binomial"):
        return "none" if k_n <= 1 else _families.binomial(k_n - 1, N.params[0])
    if fam == "negative_binomial":
        r, p = N.params
        return _families.negative_binomial(r + 1, p)
    shift = int(round(float(np.asarray(concrete(N.origin)).ravel()[0])))
    n = shift + jnp.arange(N.size, dtype=N.dtype)
    w = N.masses * n
    w = w / jnp.maximum(jnp.sum(w, -1, keepdims=True), jnp.finfo(N.dtype).tiny)
    if shift == 0:
        w = w[..., 1:]
    return make(w, max(shift - 1, 0), 0.0, 1.0, "lattice")


def _posterior_counts(
    N, fam, k_n, lxg, lat_out, length, step, mean_n, width=None, xg=None, span=None
):
    """``E[N | S_r = k]`` per point: the exact posterior mean of the count.

    `width`: the severity's cells past it are empty (``-inf``): the
    convolution with it takes its first `width` cells only (the same
    terms; a shorter plan, transform and direct fixes). `xg`: ``exp(lxg)``
    where the caller has it. `span`, where the grid was padded to a bucket
    (``-inf`` log-masses past it), is its true length (`relative_compound`'s
    `points`), and ``width + span - 1`` the convolution's (`log_pair`'s).
    """
    rest = _size_biased_rest(N, fam, k_n)
    size = lxg.shape[-1]
    if isinstance(rest, str):
        c_star = lat_out if rest == "S" else None
    else:
        xg = jnp.exp(lxg) if xg is None else xg
        c_star = relative_compound(
            rest, xg, length, step, lx=lxg, points=span, trim=False
        ).log_masses
    if c_star is None:
        return _counts(lxg, None, lat_out, mean_n)
    short = lxg if width is None else _head(lxg, width=max(1, min(width, size)))
    true = None if span is None else min(width or size, size) + span - 1
    num, rel = log_pair(short, c_star, keep=size, span=true)
    return _counts(num, rel, lat_out, mean_n)


def _jump_share(out, lx, jumps):
    r"""``|d_hat(theta_k) / m_hat(theta_k)|`` per point of one row.

    The severity's cells are :math:`B \cdot \hat c + \hat d` (`Continuous`:
    :math:`d` the jump correction), so each rounded severity adds
    :math:`-\log(1 - \hat d / \hat m)` to the log generating function at
    the tilt :math:`\theta` (in cells), a rounding bias of the mean that
    the curvature does not show; read at :math:`\theta_k`, the local decay
    of the compound's log masses.
    """
    size = out.shape[-1]
    s = _slope(out)
    fin = jnp.isfinite(out)
    lo = jnp.min(jnp.where(fin, s, jnp.inf))
    hi = jnp.max(jnp.where(fin, s, -jnp.inf))
    lo = jnp.where(jnp.isfinite(lo), lo, 0.0)
    hi = jnp.where(jnp.isfinite(hi), jnp.maximum(hi, lo + 1e-6), lo + 1.0)
    th = lo + (hi - lo) * jnp.linspace(0.0, 1.0, _TILTS, dtype=out.dtype)
    k = jnp.arange(size, dtype=out.dtype)
    k_r = _tilt.lse(lx[None, :] + th[:, None] * k[None, :], -1)
    e = th[:, None] * jnp.arange(-1, size, dtype=out.dtype)[None, :]  # jumps: -1..
    w = jnp.exp(jnp.minimum(e - k_r[:, None], 700.0))
    r = jnp.abs(jnp.sum(jnp.where(jumps[None, :] != 0, jumps[None, :] * w, 0.0), -1))
    return jnp.interp(s, th, r)


@bounded_jit
def _finish(
    out, rel, c0, counts, log_t, first, lxg, jumps, points, drift=None, applied=None,
    const=None,
):  # fmt: skip
    """Cell 0's continuous mass and the errors, as one program.

    Returns ``(log_masses, log_error, log_resolved_error, counts)``.
    `points` (traced) is the grid's true length (the rest is padding).
    `drift` (`_drift.rounding_drift`, or None) is added to the log masses;
    where it is `applied`, the discretization left is that of one
    severity (the boxes and jumps of the others are in the drift), plus a
    tenth of the drift itself for the saddle-point approximation's own
    error; everywhere, `const`, the drift's shift of the whole (which
    keeps the total mass).
    """
    ep = math.log(16 * _tilt.eps(out.dtype))
    out = out.at[..., 0].set(c0)
    rel = rel.at[..., 0].set(jnp.where(jnp.isfinite(c0), ep, -jnp.inf))
    # Discretization: the boxes of the severities behind each point.
    counts = jnp.maximum(counts, 1.0)
    behind = counts
    if drift is not None:
        out = jnp.where(jnp.isfinite(out), out + drift, out)
        behind = jnp.where(applied, 1.0, counts)
    err = _error(out, rel, behind, ep, points)
    if jumps is not None:
        # And the rounding bias of their mean where the severity jumps.
        size = out.shape[-1]
        share = jax.vmap(_jump_share)(
            jax.lax.stop_gradient(out).reshape(-1, size),
            jnp.broadcast_to(jax.lax.stop_gradient(lxg), out.shape).reshape(-1, size),
            jnp.broadcast_to(jumps, out.shape[:-1] + (size + 1,)).reshape(-1, size + 1),
        ).reshape(out.shape)
        bias = jnp.log(jnp.maximum(4.0 * behind * share, 1e-300))
        err = jnp.where(jnp.isfinite(out), jnp.logaddexp(err, bias), err)
    if drift is not None:
        own = jnp.log(jnp.maximum(0.1 * jnp.abs(drift) + const, 1e-300))
        err = jnp.where(jnp.isfinite(out), jnp.logaddexp(err, own), err)
    # Cell 0 straddles the origin, where the continuous part starts: its
    # mass lies above 0 only, and its point value is not the density at 0+.
    res = err = err.at[..., 0].set(jnp.maximum(err[..., 0], 0.0))
    err = _extend.mark_unresolved(err, out, first, log_t)
    err = jnp.where(jnp.isfinite(out), jnp.logaddexp(err, log_t[..., None]), err)
    return out, err, res, jnp.where(jnp.isfinite(out), counts, 1.0)


def relative_compound_density(
    N: Distribution,
    X: Distribution,
    *,
    size: int | None = None,
    tail: float | None = None,
    full_output: bool = False,
):
    r"""`compound` with ``accuracy='relative'`` for a density severity `X`.

    Returns a `RelativeDensity` from 0 with the step of `X`: its atom
    :math:`P(N = 0)` (``log_atom``), the log cell masses of the continuous
    part with per-point error estimates (round-off, discretization, the
    severity's cut mass), and the mass past the grid in log space. `N`, `X`
    and the flags are checked by `compound` before.
    """
    j0 = _severity_index(X)
    atoms, _ = parts(X)
    if atoms is not None:
        a = concrete(atoms)
        if a is None or np.any(np.asarray(a) != 0):
            raise ValueError(
                "`accuracy='relative'` needs a severity `X` without atoms (a "
                "density, not a mixed law); `X` has point masses."
            )
    if getattr(N, "family", "") == "geometric":
        # The tilted geometric count (from 1) loses the far tail of a
        # severity with mass in cell 0 (15 in log at x = 600 for p = 0.4,
        # also through `compound_lattice`); N - 1, `negative_binomial` with
        # r = 1, counts from 0 and does not: S is X plus its compound (the
        # stated error is then the pairwise sum's).
        from ._families import negative_binomial

        rest, info = relative_compound_density(
            negative_binomial(1.0, N.params[0]), X, size=size, tail=tail,
            full_output=True,
        )  # fmt: skip
        out = relative_add(X, rest)
        return (out, info) if full_output else out
    dt = jnp.result_type(X.dtype, N.dtype)
    tiny = float(jnp.finfo(dt).tiny)
    if tail is None:
        tail = tiny
    else:
        tail = check_number(
            "tail", tail, low=0.0, high=1.0, low_open=True, high_open=True
        )
    X0, j0_orig = X, j0
    X, lx, tx, _ = _logs(X, lower=False)  # extended upward only: j0 holds
    lx = lx.astype(dt)
    if j0 < 0:  # the cells centred below 0 are empty (`_severity_index`)
        lx, j0 = lx[..., -j0:], 0
    m = lx.shape[-1]
    fam, k_n, _, lg, _, _ = _frequency_spec(N)
    lxc = concrete(lx)
    log_mgf_x = None if lxc is None else severity_log_mgf(np.exp(lxc), j0)
    known = lg is not None and log_mgf_x is not None
    # Mass the severity lost past its grid reaches S from there on, at most
    # E[N] times over.
    mean_n = jnp.asarray(N.mean(), dt)
    log_t = (tx + jnp.log(jnp.maximum(mean_n, 1.0))).astype(dt)
    auto_size = size is None
    if size is None:
        if not known:
            raise ValueError(
                "`size` must be given when `N` or `X` is traced (under jit or "
                "vmap): the length of the grid must be static."
            )
        size = _chernoff_size(log_mgf_x, lg, THETAS, j0 + m, tail)
        # Where the tail of S falls below the severity's cut share, every
        # point is unresolved: the grid stops there.
        lt = concrete(log_t)
        share = float(np.max(lt)) if lt is not None else -math.inf
        if math.log(tail) < share < 0.0:
            reach = _chernoff_size(log_mgf_x, lg, THETAS, j0 + m, math.exp(share))
            size = min(size, max(j0 + m, reach))
    else:
        size = check_int("size", size, minimum=1)
    # The drift correction (`_drift`) where the grid is sized here: with
    # `size` given, as under `jit` and `grad`, the same call agrees traced
    # and eager (the drift is a host computation on concrete values).
    drift_ok = known and auto_size
    log_cut = None
    if known:
        # Past the grid: a Chernoff bound, plus what the severity and the
        # frequency lost (as for lattice severities).
        cgf = (log_mgf_x, lg)
        log_cut = log_cut_past(N, k_n, np.exp(lxc), j0, size, cgf, log_t).astype(dt)
    # Eagerly, the grid and the severity are padded to buckets (``-inf``
    # log-masses past them): every size of a bucket shares the programs
    # (issue 14), and the result is cut back to `points` at the end.
    points, width = size, j0 + m
    if bucketable(lx, N):
        size = bucket_length(size - 1) + 1
        width = j0 + bucket_length(m - 1) + 1
        lx = pad_last(lx, width - j0, -np.inf)
    # Severity log masses on 0, 1, ..., size - 1.
    lxg, xg = _on_grid(lx, j0=j0, size=size)
    length = spectral_length(size * 2)
    # For a negative binomial count the same tilts give the count behind
    # each point (`_tails_compound.compound_core`: one more inverse transform
    # per tilt) instead of a second compound and a relative convolution.
    log_n = rel_n = None
    if fam == "negative_binomial":
        lat, log_n, rel_n = relative_compound(
            N, xg, length, X.step, lx=lxg, log_cut=log_cut, points=points,
            trim=False, counts=True,
        )  # fmt: skip
    else:
        lat = relative_compound(
            N, xg, length, X.step, lx=lxg, log_cut=log_cut, points=points, trim=False
        )
    out, rel = lat.log_masses, lat.log_error
    # Cell 0: the atom P(N = 0) apart, and G_N(x_0) - G_N(0), exactly.
    batch = out.shape[:-1]
    log_atom = jnp.broadcast_to(jnp.asarray(N.logpmf(0.0), dt), batch)
    c0 = jnp.broadcast_to(_log_pgf_less_atom(N, fam, k_n, lxg[..., 0]), batch)
    if log_n is not None:
        counts = _counts_of_logs(log_n, rel_n, lat.log_masses)
    else:
        counts = _posterior_counts(
            N, fam, k_n, lxg, lat.log_masses, length, X.step, mean_n, width, xg,
            points,
        )  # fmt: skip
    log_t = jnp.broadcast_to(log_t, batch)
    first = jnp.full(batch, j0 + m, dt)
    jumps = _jumps_on(X0, j0_orig, size, dt, batch)
    drift = applied = const = None
    if drift_ok and batch == () and np.ndim(lxc) == 1:
        # The rounded severities' drift in the tail (`_drift`), on the host.
        _, jh = parts(X0)
        smooth = jh is None
        jh = None if jh is None else concrete(jh)
        p0, lm = concrete(log_atom), concrete(out)
        if p0 is not None and lm is not None and (jh is not None or smooth):
            shift, applied, const = rounding_drift(
                np.exp(lxc), j0, jh, j0_orig, lg, float(p0), lm[:points]
            )
            drift = pad_last(shift.astype(dt), size, 0.0)
            applied = pad_last(applied, size, False)
            const = np.asarray(const, dt)
    out, err, res, counts = _finish(
        out, rel, c0, counts, log_t, first, lxg, jumps, np.int32(points), drift,
        applied, const,
    )  # fmt: skip
    cc = concrete(counts)
    densities = int(math.ceil(float(np.max(cc)))) if cc is not None else 1
    d = _build(
        out, err, res, 0.0, X.step, lat.log_truncated, densities, log_atom=log_atom
    )
    d = trimmed(d, points)
    if not full_output:
        return d
    return d, {"fft_length": spectral_length(max(length, 4 * size))}
