"""One-dimensional discrete heat kernels: their values and their transforms.

Everything here works in grid units: ``s = 2 D t / step**2`` is the kernel's
variance in cells squared and ``a = v t / step`` its shift in cells. Shapes
are static (the offsets are NumPy integers); `s` and `a` may be traced, and
every branch is evaluated at a safe argument so that gradients stay finite.

Two kernels, each on the infinite lattice of offsets m:

- "gaussian": the sampled heat kernel, normalized over all the integers,
  ``K_m = exp(-(m - a)^2 / (2 s)) / sum_j exp(-(j - a)^2 / (2 s))``;
- "lattice": the discrete Gaussian ``T_m(s) = exp(-s) I_m(s)``, the law of a
  continuous-time nearest-neighbour random walk, whose transform is
  ``exp(-s (1 - cos theta))``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from probconv.conv.internal import ifft_nd, next_fast_len

# Terms kept in the theta-function sums: with s >= 1 the Poisson (frequency)
# form drops terms below exp(-pi^2 (2Q+1)^2 / 2) ~ 1e-53; with s < 1 the
# spatial form drops terms below exp(-(_R - 1/2)^2 / 2) ~ 1e-29.
_Q = 2
_R = 12
_TWO_PI = 2.0 * np.pi


def _split(s):
    """Boolean 'small s' and safe copies of s for each branch."""
    small = s < 1
    s_big = jnp.where(small, 1.0, s)
    s_small = jnp.where(small & (s > 0), s, 1.0)
    return small, s_big, s_small


def gauss_values(s, a, m: np.ndarray):
    """Return the sampled heat kernel at offsets `m`, normalized over Z."""
    dtype = jnp.result_type(s, a)
    m = jnp.asarray(m, dtype)
    small, s_big, s_small = _split(s)
    q = jnp.arange(1, _Q + 1, dtype=dtype)
    # s >= 1: sum_j exp(-(j-a)^2/(2s)) = sqrt(2 pi s) (1 + 2 sum_q e^{-2 pi^2 q^2 s}
    # cos(2 pi q a)) by Poisson summation.
    theta = 1.0 + 2.0 * jnp.sum(
        jnp.exp(-2.0 * np.pi**2 * q**2 * s_big) * jnp.cos(_TWO_PI * q * a)
    )
    logk_big = -((m - a) ** 2) / (2 * s_big) - 0.5 * jnp.log(_TWO_PI * s_big)
    logk_big = logk_big - jnp.log(theta)
    # s < 1: a direct sum around r = round(a), scaled so its largest term is 1.
    r = jnp.round(a)
    j = jnp.arange(-_R, _R + 1, dtype=dtype)
    w = jnp.exp(-(j**2 + 2 * j * (r - a)) / (2 * s_small))
    logk_small = -((m - a) ** 2 - (r - a) ** 2) / (2 * s_small) - jnp.log(jnp.sum(w))
    k = jnp.exp(jnp.where(small, logk_small, logk_big))
    return jnp.where(s > 0, k, (m == r).astype(dtype))


def gauss_dtft(s, a, theta: np.ndarray):
    """Transform ``sum_m K_m e^{-i theta m}`` of `gauss_values` (complex if a)."""
    dtype = jnp.result_type(s, 0.0 if a is None else a)
    th = jnp.asarray(theta, dtype)
    small, s_big, s_small = _split(s)
    q = jnp.arange(-_Q, _Q + 1, dtype=dtype)
    w = th[..., None] + _TWO_PI * q  # all aliases of each frequency
    qn = jnp.arange(1, _Q + 1, dtype=dtype)
    damp = jnp.exp(-2.0 * np.pi**2 * qn**2 * s_big)
    if a is None:
        big = jnp.sum(jnp.exp(-s_big * w**2 / 2), axis=-1) / (1.0 + 2.0 * jnp.sum(damp))
        j = jnp.arange(-_R, _R + 1, dtype=dtype)
        wj = jnp.exp(-(j**2) / (2 * s_small))
        sm = jnp.sum(wj * jnp.cos(th[..., None] * j), axis=-1) / jnp.sum(wj)
        out = jnp.where(small, sm, big)
        return jnp.where(s > 0, out, jnp.ones_like(out))
    norm = 1.0 + 2.0 * jnp.sum(damp * jnp.cos(_TWO_PI * qn * a))
    big = jnp.sum(jnp.exp(-s_big * w**2 / 2 - 1j * w * a), axis=-1) / norm
    r = jnp.round(a)
    j = jnp.arange(-_R, _R + 1, dtype=dtype)
    wj = jnp.exp(-(j**2 + 2 * j * (r - a)) / (2 * s_small))
    phase = jnp.exp(-1j * th[..., None] * (j + r))
    sm = jnp.sum(wj * phase, axis=-1) / jnp.sum(wj)
    out = jnp.where(small, sm, big)
    return jnp.where(s > 0, out, jnp.exp(-1j * th * r))


def gauss_dtft_terms(s, theta):
    """`gauss_dtft` without a shift, summed term by term (for split spectra).

    The same sums, each term of theta's shape: a trailing axis of terms
    holds ``2 _Q + 1`` and ``2 _R + 1`` copies of theta, which over a split
    field's spectrum with `s` traced came to twice the field per device.
    (`gauss_dtft` keeps its axis: the unsplit programs' rounding.)
    """
    dtype = jnp.result_type(s, 0.0)
    th = jnp.asarray(theta, dtype)
    small, s_big, s_small = _split(s)
    qn = jnp.arange(1, _Q + 1, dtype=dtype)
    damp = jnp.exp(-2.0 * np.pi**2 * qn**2 * s_big)
    aliases = range(-_Q, _Q + 1)  # all aliases of each frequency
    big = sum(jnp.exp(-s_big * (th + _TWO_PI * k) ** 2 / 2) for k in aliases)
    big = big / (1.0 + 2.0 * jnp.sum(damp))
    wj = jnp.exp(-(np.arange(1, _R + 1, dtype=dtype) ** 2) / (2 * s_small))
    sm = 1.0 + 2.0 * sum(wj[j - 1] * jnp.cos(th * j) for j in range(1, _R + 1))
    sm = sm / (1.0 + 2.0 * jnp.sum(wj))
    out = jnp.where(small, sm, big)
    return jnp.where(s > 0, out, jnp.ones_like(out))


def lattice_dtft(s, theta: np.ndarray):
    """Transform of the discrete Gaussian: ``exp(-s (1 - cos theta))``.

    As ``exp(-2 s sin^2(theta / 2))``: ``1 - cos theta`` would lose ``s
    eps`` of the exponent near ``theta = 0``.
    """
    th = jnp.asarray(theta, jnp.result_type(s))
    return jnp.exp(-2.0 * s * jnp.sin(0.5 * th) ** 2)


def lattice_values(s, r: int):
    """``exp(-s) I_m(s)`` for ``m = -r .. r``, for any ``s >= 0``.

    Two exact evaluations, chosen by ``s``: for a kernel narrow against the
    transform length ``M >= 8 (r + 1)``, the trapezoidal rule on
    ``(1/2pi) int exp(s (cos th - 1)) e^{i m th} d th`` (one inverse real FFT),
    whose only error is the alias ``T_{m+M}``, below ``exp(-40)`` of the peak
    when ``sqrt(s) <= (M - r) / 9``; for a wider kernel, upward recurrence
    ``T_{m+1} = T_{m-1} - (2 m / s) T_m`` from ``i0e`` and ``i1e``, which
    amplifies rounding by at most ``exp(r^2 / s) <= exp(81/49)`` there.
    """
    dtype = jnp.result_type(s)
    big_m = next_fast_len(max(8 * (r + 1), 64), True)
    s_switch = ((big_m - r) / 9.0) ** 2
    wide = s > s_switch
    s_fft = jnp.where(wide, 0.0, s)
    s_rec = jnp.where(wide, s, 2.0 * s_switch)
    theta = _TWO_PI * np.arange(big_m // 2 + 1) / big_m
    spec = lattice_dtft(s_fft, jnp.asarray(theta, dtype))
    narrow_vals = ifft_nd(spec, (big_m,), (-1,), True)[: r + 1]
    narrow_vals = jnp.maximum(narrow_vals, 0.0)  # FFT noise below eps * peak

    t0 = jax.scipy.special.i0e(s_rec)
    t1 = jax.scipy.special.i1e(s_rec)

    def step(carry, m):
        prev, cur = carry
        nxt = prev - (2.0 * m / s_rec) * cur
        return (cur, nxt), nxt

    if r >= 2:
        _, rest = jax.lax.scan(step, (t0, t1), jnp.arange(1, r, dtype=dtype))
        wide_vals = jnp.concatenate([jnp.stack([t0, t1]), rest])
    else:
        wide_vals = jnp.stack([t0, t1])[: r + 1]
    half = jnp.where(wide, wide_vals, narrow_vals).astype(dtype)
    return jnp.concatenate([half[:0:-1], half])


def integrated_values(s, m: np.ndarray):
    """Cell masses of N(0, s): ``Phi((m + 1/2)/sqrt s) - Phi((m - 1/2)/sqrt s)``.

    Each tail is taken from `erfc` on its own side, so small masses keep
    their relative accuracy.
    """
    dtype = jnp.result_type(s)
    m = jnp.asarray(m, dtype)
    pos = s > 0
    scale = jnp.sqrt(2.0 * jnp.where(pos, s, 1.0))
    lo = (jnp.abs(m) - 0.5) / scale
    hi = (jnp.abs(m) + 0.5) / scale
    tail = 0.5 * (jax.scipy.special.erfc(lo) - jax.scipy.special.erfc(hi))
    centre = jax.scipy.special.erf(0.5 / scale)
    k = jnp.where(m == 0, centre, tail)
    return jnp.where(pos, k, (m == 0).astype(dtype))
