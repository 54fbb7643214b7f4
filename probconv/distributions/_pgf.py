"""Generating functions of frequencies, and the Chernoff bounds of compound sums.

Shared by the compound sums of lattice (`_compound`) and density
(`_compound_density`) severities, and by the relative-accuracy one
(`_relative`).
"""

from __future__ import annotations

import functools
import math

import jax.numpy as jnp
import numpy as np
import scipy.special
from jax import lax

from .._checks import concrete
from ..conv.internal import bounded_jit, fft_nd, ifft_nd
from ._base import Distribution
from ._families import Parametric
from ._lattice_ops import _clip_to_total, _place

_CLOSED = ("bernoulli", "binomial", "poisson", "geometric", "negative_binomial")
# The exponents at which the Chernoff bounds of compound sums evaluate the
# generating functions (`_log_tail_bound`, `_chernoff_size`).
THETAS = np.logspace(-10, 1.5, 185)


def _pgf(fam: str, k: int, params: tuple, z):
    """Evaluate the generating function of a frequency at complex `z`.

    `fam` is a family name or ``'poly'`` (coefficients ``params[0]`` on
    ``k, k+1, ...``); `k` is the number of trials of a binomial law. The
    parameters' batch axes broadcast against those of `z`.
    """
    ps = [p[..., None] for p in params]
    if fam in ("bernoulli", "binomial"):
        (p,) = ps
        return (1 - p + p * z) ** k
    if fam == "poisson":
        (mu,) = ps
        return jnp.exp(mu * (z - 1))
    if fam == "geometric":
        (p,) = ps
        return p * z / (1 - (1 - p) * z)
    if fam == "negative_binomial":
        r, p = ps
        return (p / (1 - (1 - p) * z)) ** r
    # Horner's rule over the coefficients, highest first.
    c = jnp.moveaxis(params[0][..., None], -2, 0)[::-1]  # (K, ..., 1)

    def body(acc, ck):
        return acc * z + ck, None

    acc, _ = lax.scan(body, jnp.zeros_like(z * c[0]), c)
    return acc * z**k


def _frequency_spec(n: Distribution):
    """Return ``(fam, k, params, log_pgf_np, total, shift)`` for `n`; see `_pgf`."""
    if isinstance(n, Parametric) and n.family in _CLOSED:
        fam = n.family
        cp = [concrete(p) for p in n.params]
        known = all(c is not None for c in cp)
        cp = [np.asarray(c, np.float64) if known else None for c in cp]
        k = n.size - 1 if fam in ("bernoulli", "binomial") else 0
        if fam in ("bernoulli", "binomial"):

            def lg(z):
                return k * np.log1p(cp[0] * (z - 1))

        elif fam == "poisson":

            def lg(z):
                return cp[0] * (z - 1)

        elif fam == "geometric":

            def lg(z):
                d = 1 - (1 - cp[0]) * z
                with np.errstate(divide="ignore", invalid="ignore"):
                    return np.where(d > 0, np.log(cp[0] * z) - np.log(d), np.inf)

        else:

            def lg(z):
                d = 1 - (1 - cp[1]) * z
                with np.errstate(divide="ignore", invalid="ignore"):
                    return np.where(d > 0, cp[0] * (np.log(cp[1]) - np.log(d)), np.inf)

        total = jnp.ones(n.batch_shape, n.dtype)
        return fam, k, tuple(n.params), (lg if known else None), total, 0
    if n.kind != "lattice" or n.step != 1.0:
        raise ValueError(
            "The frequency `N` must be a lattice on the integers (step 1); got "
            f"kind={n.kind!r}, step={n.step!r}."
        )
    o = concrete(n.origin)
    if o is None:
        raise ValueError(
            "The frequency `N` must have a concrete origin (its grid start); it is "
            "traced here."
        )
    o = np.asarray(o)
    if o.size and (np.any(o != np.round(o)) or np.any(o < 0) or np.ptp(o) != 0):
        raise ValueError(
            "The frequency `N` must live on 0, 1, 2, ... : its origin must be a "
            f"non-negative integer shared by the batch; got {o.tolist()!r}."
        )
    shift = int(o.ravel()[0]) if o.size else 0
    cm = concrete(n.masses)

    def lg(z):
        k = shift + np.arange(cm.shape[-1])
        with np.errstate(divide="ignore"):
            lm = np.log(np.clip(np.asarray(cm, np.float64), 0, None))
            return scipy.special.logsumexp(lm + np.log(z) * k, -1)

    lg = lg if cm is not None else None
    return "poly", shift, (n.masses,), lg, n.total + n.truncated, shift


def _frequency(n: Distribution):
    """Return ``(pgf, log_pgf_np, total, shift)`` for the frequency `n`.

    `pgf` maps complex transforms to the frequency's generating function
    (batch axes broadcast, the transform axis last); `log_pgf_np` is the
    same in NumPy on real ``z >= 1`` for the tail bound, or None when the
    parameters are traced.
    """
    fam, k, params, lg, total, shift = _frequency_spec(n)
    return functools.partial(_pgf, fam, k, params), lg, total, shift


@bounded_jit(static_argnames=("fam", "k", "size", "length"))
def _transform(params, xm, offs, tilt, *, fam, k, size, length):
    """Masses of S on ``0..size-1`` by one tilted FFT pair (see `compound`)."""
    dt = xm.dtype
    xm = _place(xm, offs, size + xm.shape[-1])[..., :size]
    kx = jnp.arange(size, dtype=dt)
    xt = xm * jnp.exp(-tilt * kx / length)
    f = fft_nd(xt, (length,), (-1,), True, ordered=False)
    y = ifft_nd(_pgf(fam, k, params, f), (length,), (-1,), True, ordered=False)
    y = y[..., :size]
    y = y.astype(dt) * jnp.exp(tilt * kx / length)
    return _clip_to_total(y)


def fft_diagnostics(out, log_a, tilt: float, length: int, eps: float, ratio: float):
    """Return the ``full_output`` diagnostics of a compound sum's tilted FFT.

    `log_a` is the log Chernoff bound of the mass past the transform's length
    (None where unknown: the law's cut mass stands in), `ratio` the grid's
    share of the transform.
    """
    alias = (
        math.exp(log_a - tilt) if log_a is not None else math.exp(-tilt) * out.truncated
    )
    return {
        "fft_length": length,
        "tilt": tilt,
        "alias_bound": alias,
        "noise_bound": eps * math.exp(tilt * ratio),
    }


def severity_log_mgf(masses, first):
    """Return ``t -> log E[exp(t X)]`` per batch row, in NumPy (float64).

    `masses` are a severity's concrete masses on grid indices ``first,
    first + 1, ...`` (`first` an integer or one per batch row). The logs of
    the masses are taken once; each call is one pass over the non-zero
    cells (the Chernoff bounds evaluate it at a few hundred `t`).
    """
    m = np.clip(np.asarray(masses, np.float64), 0, None)
    m = m.reshape((-1, m.shape[-1])) if m.ndim else m.reshape(1, 1)
    kk = np.asarray(first, np.float64).reshape(-1, 1) + np.arange(m.shape[-1])
    kk = np.broadcast_to(kk, m.shape)
    keep = np.any(m > 0, axis=0)
    with np.errstate(divide="ignore"):
        lm = np.log(m[:, keep])
    kk = np.ascontiguousarray(kk[:, keep])
    shape = np.shape(masses)[:-1]

    def log_mgf(t):
        e = lm + t * kk
        top = np.max(e, axis=-1, keepdims=True) if e.shape[-1] else None
        if top is None:
            return np.full(shape, -np.inf)
        top = np.where(np.isfinite(top), top, 0.0)
        with np.errstate(over="ignore", invalid="ignore"):
            out = top[:, 0] + np.log(np.sum(np.exp(e - top), axis=-1))
        return out.reshape(shape)

    return log_mgf


def _cgf(log_mgf_x, lg, thetas: np.ndarray) -> np.ndarray:
    """``log G_N(M_X(t))`` at each `t`, cached on `log_mgf_x` (a closure)."""
    cache = log_mgf_x.__dict__.setdefault("_cgf", {})
    key = (id(lg), thetas.tobytes())
    if key not in cache:
        out = np.empty(thetas.shape)
        for i, t in enumerate(thetas):
            with np.errstate(over="ignore", invalid="ignore"):
                out[i] = float(np.max(lg(np.exp(np.max(log_mgf_x(t))))))
        cache[key] = (lg, out)  # holding `lg` keeps its id unique
    return cache[key][1]


def _log_tail_bound(log_mgf_x, lg, s_points: np.ndarray, thetas: np.ndarray):
    """Chernoff: ``log P(S >= s) <= min_t log G_N(M_X(t)) - t s`` per `s`.

    Batches take the largest bound (`G_N` increases with its argument).
    """
    k = _cgf(log_mgf_x, lg, thetas)
    keep = np.isfinite(k)
    if not keep.any():
        return np.full(np.shape(s_points), np.inf)
    s = np.asarray(s_points, np.float64)
    vals = k[keep][None, :] - thetas[keep][None, :] * s.reshape(-1, 1)
    return vals.min(axis=1).reshape(s.shape)


def _chernoff_size(log_mgf_x, lg, thetas, span, tail) -> int:
    """Smallest grid length beyond which the Chernoff bound is below `tail`."""
    hi = np.logspace(0, 12, 400) * max(span, 1)
    bound = _log_tail_bound(log_mgf_x, lg, hi, thetas)
    ok = np.nonzero(bound <= math.log(tail))[0]
    if ok.size == 0:
        raise ValueError(
            "The tail of `S` decays too slowly for a grid of 10**12 points; "
            "pass `size` (and a `tilt`)."
        )
    lo_s = hi[ok[0] - 1] if ok[0] > 0 else 0.0
    fine = np.linspace(lo_s, hi[ok[0]], 200)
    fb = _log_tail_bound(log_mgf_x, lg, fine, thetas)
    size = int(np.ceil(fine[np.nonzero(fb <= math.log(tail))[0][0]])) + 1
    if size > 10**8:
        raise ValueError(
            f"The grid would need {size} points; pass a smaller `size` with a "
            "`tilt`, or a larger `tail`."
        )
    return size
