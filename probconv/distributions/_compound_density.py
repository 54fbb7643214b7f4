r"""Compound sums with a continuous severity (the aggregate-loss problem).

:math:`S = X_1 + \dots + X_N` with a density-kind severity `X`: the
frequency's generating function is applied to the transform of the
severity's point weights (see `probconv.distributions._density_ops`), and one box is
put back on the continuous part of `S`; the atom of `S` at 0,
:math:`P(N = 0)` (plus any atoms of `X`), stays an atom:

.. math:: \hat m_S = \beta \cdot (G_N(\hat w) - G_N(\hat a)) + G_N(\hat a)
          + G_N'(\hat a)\, \hat d.

The wrap-around of the circular transform is damped by exponential tilting
and padding, as in `compound`.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from .._checks import check_int, check_number, concrete
from ..conv.internal import bounded_jit, fft_nd, ifft_nd, spectral_length
from ._base import Distribution, check_dist
from ._base import eps as _eps
from ._continuous import make_continuous
from ._density_ops import box, point_weights
from ._lattice_ops import _clip_to_total
from ._pgf import (
    THETAS,
    _chernoff_size,
    _frequency_spec,
    _log_tail_bound,
    _pgf,
    fft_diagnostics,
    severity_log_mgf,
)


def _severity_index(X: Distribution) -> int:
    """Return the grid index of `X`'s origin (cells centred below 0 must be empty)."""
    o = concrete(X.origin)
    if o is None:
        raise ValueError(
            "The severity `X` must have a concrete origin (its grid start); it is "
            "traced here."
        )
    k = np.asarray(o, np.float64) / X.step
    kr = np.round(k)
    if np.any(np.abs(k - kr) > 1e-9 * np.maximum(1, np.abs(k))) or (
        kr.size and np.ptp(kr) != 0
    ):
        raise ValueError(
            "The severity `X` must sit on a grid through 0 (origin a multiple of "
            f"its step {X.step}, shared by the batch); got {np.asarray(o).tolist()!r}."
        )
    j0 = int(kr.ravel()[0]) if kr.size else 0
    if j0 < 0:
        cm = concrete(X.masses)
        if cm is None or np.any(np.asarray(cm)[..., :-j0] != 0):
            raise ValueError(
                "The severity `X` must be >= 0: its cells centred below 0 must "
                "hold no mass."
            )
    return j0


def compound_density(
    N: Distribution,
    X: Distribution,
    *,
    size: int | None = None,
    tail: float | None = None,
    padding: int = 1,
    tilt: float | None = None,
    full_output: bool = False,
):
    r"""Law of :math:`X_1 + \dots + X_N` for a density-kind severity `X`.

    Same arguments and diagnostics as `compound`; the result is a mixed law
    (a `Continuous` whose atom at 0 is :math:`P(N = 0)`), with a
    fourth-order discretization error where its density is smooth.
    """
    N = check_dist(N, "N")
    X = check_dist(X, "X")
    padding = check_int("padding", padding)
    if full_output not in (True, False):
        raise TypeError(f"`full_output` must be True or False; got {full_output!r}.")
    dt = jnp.result_type(X.dtype, N.dtype)
    eps = _eps(dt)
    if tail is None:
        tail = eps
    else:
        tail = check_number(
            "tail", tail, low=0.0, high=1.0, low_open=True, high_open=True
        )
    if tilt is not None:
        tilt = check_number("tilt", tilt, low=0.0)
    j0 = _severity_index(X)
    fam, k, params, lg, n_total, _ = _frequency_spec(N)
    xc = concrete(X.masses)

    log_mgf_x = None if xc is None else severity_log_mgf(xc, j0)

    known = lg is not None and xc is not None
    thetas = THETAS
    if size is None:
        if not known:
            raise ValueError(
                "`size` must be given when `N` or `X` is traced (under jit or "
                "vmap): the length of the grid must be static."
            )
        size = _chernoff_size(log_mgf_x, lg, thetas, j0 + X.size, tail)
    else:
        size = check_int("size", size, minimum=1)
    length = spectral_length((size + 1) * 2**padding)
    ratio = (size + 1) / length
    log_a = None
    if known:
        bound = _log_tail_bound(log_mgf_x, lg, np.array([float(length - 1)]), thetas)
        log_a = min(float(bound[0]), 0.0)
    if tilt is None:
        tilt = (
            0.0
            if log_a is None
            else max(0.0, (log_a - math.log(eps * ratio)) / (1 + ratio))
        )
    tilt = float(tilt)
    out = _compound_core(
        fam, k, j0, size, length, np.dtype(dt), params, n_total, X, tilt
    )
    if not full_output:
        return out
    return out, fft_diagnostics(out, log_a, tilt, length, eps, ratio)


@bounded_jit(static_argnums=(0, 1, 2, 3, 4, 5))
def _compound_core(fam, k, j0, size, length, dt, params, n_total, X, tilt):
    """Run the transforms of `compound_density` as one program.

    Eagerly they are about ninety operations, each compiled for its shapes;
    keyed by the frequency's family, the grid and the transform length, a
    new problem of a known size compiles nothing.
    """
    pgf = functools.partial(_pgf, fam, k, params)
    w, a, j = point_weights(X)  # grid index j0 - 1 .. j0 + X.size
    kk = np.arange(j0 - 1, j0 + X.size + 1)
    kk = kk[kk < size]
    pos = np.where(kk < 0, kk + length, kk)
    damp = jnp.exp(-tilt * jnp.asarray(kk, dt) / length)

    def transform(v):
        v = v[..., : kk.size].astype(dt) * damp
        buf = jnp.zeros(v.shape[:-1] + (length,), dt).at[..., pos].set(v)
        return fft_nd(buf, (length,), (-1,), True, ordered=False)

    fw = transform(w)
    fa = jnp.zeros_like(fw) if a is None else transform(a)
    g = pgf(fw)
    ga = pgf(fa)
    kout = jnp.arange(-1, size + 1, dtype=dt)
    undamp = jnp.exp(tilt * kout / length)

    def back(fv):
        y = ifft_nd(fv, (length,), (-1,), True, ordered=False).astype(dt)
        y = jnp.concatenate([y[..., -1:], y[..., : size + 1]], axis=-1)
        return y * undamp

    atoms = back(jnp.broadcast_to(ga, g.shape))
    m = box(back(g - ga)) + atoms
    jumps = None
    if j is not None:
        fj = transform(j)
        _, gd = jax.jvp(pgf, (fa,), (fj,))
        jumps = back(gd)
        m = m + jumps
    sl = slice(1, size + 1)
    # Mass kept on the grid: the spill at index -1 (and the O(h^2) signed
    # spill further below, from the correction near a jump at 0) belongs to
    # the law near 0; the total never exceeds the frequency's.
    whole = jnp.asarray(n_total, dt)
    kept = jnp.minimum(jnp.sum(m[..., : size + 1], -1), whole)
    m = _clip_to_total(m[..., sl], kept)
    lost = jnp.maximum(whole - kept, 0.0)
    return make_continuous(
        m, 0.0, lost, X.step, atoms[..., sl], None if jumps is None else jumps[..., sl]
    )
