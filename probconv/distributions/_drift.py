r"""The rounded severities' drift in a compound's tail, and its correction.

A relative compound of a density severity is the law of the sum of the
*rounded* severities (their cell masses). Each rounded severity has the
transform :math:`\hat m(\theta) = \hat B(\theta) M(\theta) + \hat d(\theta)`
(in cells: :math:`\hat B(\theta) = \sinh(\theta / 2) / (\theta / 2)` the
box of one cell, :math:`M` the severity's moment generating function and
:math:`\hat d` its jump correction, `Continuous.jumps`), so the cumulant
generating function of the compound's cells,
:math:`K_r(\theta) = \log(G_N(\hat m(\theta)) - G_N(0))`, differs from that
of the true compound's cells,
:math:`K(\theta) = \log \hat B(\theta) + \log(G_N(M(\theta)) - G_N(0))`,
by about :math:`E[N]` boxes and jumps, and its saddle points drift apart:
where :math:`G_N` has a pole (negative binomial and geometric counts) the
decay rates differ by :math:`O(h^2)`, and the log masses by that times the
distance (13 % at :math:`10^{-300}` for the ruin probability at loading
0.25, step 0.1).

The correction is the difference of the saddle-point approximations of the
two laws' cells, :math:`\log m_k \approx -L(k) - \tfrac12 \log K''(\theta_k)`
with :math:`L` the Legendre transform of :math:`K` and
:math:`K'(\theta_k) = k`:

.. math:: \Delta_k = L_r(k) - L(k) + \tfrac12 \log K_r''(\theta^r_k)
          - \tfrac12 \log K''(\theta_k),

added to the log masses in the upper tail (:math:`\theta \ge 0`). It is
computed in NumPy (float64) on the host from the concrete severity and the
count's generating function, about 300 tilts by the severity's cells; a
constant for `jax.grad` (it is :math:`O(h^2)` relative).
"""

from __future__ import annotations

import math

import numpy as np

_TILTS = 64  # tilts per law spaced geometrically towards the last (and evenly)
_ROUNDS = 40  # bisection steps for the last tilt (both laws at once)
_NEAR = 0.25  # largest |log| error of the rounded law's own saddle point


def _tables(lm, j, dj, dv, th):
    """``(m, m', d, d', B, B')`` of the cells at the tilts `th` (in cells)."""
    a = lm[None, :] + th[:, None] * j[None, :]
    top = np.max(a, 1)
    with np.errstate(over="ignore", invalid="ignore"):
        w = np.exp(a - top[:, None])
        scale = np.exp(top)
        z = np.sum(w, 1) * scale
        z1 = (w @ j) * scale
    if dv.size:
        ed = np.exp(th[:, None] * dj[None, :]) * dv[None, :]
        dz, dz1 = np.sum(ed, 1), ed @ dj
    else:
        dz = dz1 = np.zeros_like(th)
    x = th / 2
    small = np.abs(x) < 1e-4
    xs = np.where(small, 1.0, x)
    b = np.where(small, 1 + x * x / 6, np.sinh(xs) / xs)
    b1 = np.where(small, x / 6, (np.cosh(xs) * xs - np.sinh(xs)) / (xs * xs)) / 2
    return z, z1, dz, dz1, b, b1


def _cgfs(lm, j, dj, dv, th, lg, log_p0):
    """``((K_r, K_r'), (K, K'))`` at the tilts `th` (NaN or inf past a pole)."""

    def f(z):
        g = lg(z)
        return g + np.log1p(-np.exp(log_p0 - g))

    def f1(z):
        dl = 1e-7
        return (f(z * math.exp(dl)) - f(z * math.exp(-dl))) / (2 * dl * z)

    z, z1, dz, dz1, b, b1 = _tables(lm, j, dj, dv, th)
    with np.errstate(all="ignore"):
        m = (z - dz) / b
        m1 = ((z1 - dz1) * b - (z - dz) * b1) / (b * b)
        return (f(z), f1(z) * z1), (np.log(b) + f(m), b1 / b + f1(m) * m1)


def _legendre(th, k_, k1, size):
    """``-L(k) - log K''(theta_k) / 2`` on ``0..size-1`` and the range covered."""
    k2 = np.gradient(k1, th)
    ok = k2 > 0
    th, k_, k1, k2 = th[ok], k_[ok], k1[ok], k2[ok]
    el = th * k1 - k_
    k = np.arange(size, dtype=np.float64)
    i = np.clip(np.searchsorted(k1, k) - 1, 0, len(th) - 2)
    # Between tilts, the cubic through L and L' = theta at both ends.
    w = k1[i + 1] - k1[i]
    s = np.clip((k - k1[i]) / w, 0.0, 1.0)
    h00, h10 = (1 + 2 * s) * (1 - s) ** 2, s * (1 - s) ** 2
    h01, h11 = s * s * (3 - 2 * s), s * s * (s - 1)
    el_k = h00 * el[i] + h10 * w * th[i] + h01 * el[i + 1] + h11 * w * th[i + 1]
    lk2 = np.interp(k, k1, np.log(k2))
    return -el_k - 0.5 * lk2, k1[0], k1[-1]


def rounding_drift(
    masses, first: int, jumps, jumps_first: int, lg, log_p0, log_masses
):
    r"""Return :math:`\Delta_k` on the compound's grid, where it applies, a constant.

    `masses` are the severity's concrete cell masses on cells ``first,
    first + 1, ...``, `jumps` its jump correction (or None) on cells from
    `jumps_first`, `lg` the count's log generating function (NumPy),
    `log_p0` :math:`\log P(N = 0)` and `log_masses` the rounded compound's
    log cell masses (from 0). Applied from the rounded compound's mean
    (:math:`\theta = 0`) on, for as long as the saddle-point
    approximation of the rounded compound itself is within
    :math:`e^{\pm 0.25}` of its log masses (a heavy-tailed severity,
    whose compound's tail is one large severity rather than many, fails
    that beyond its body: a lognormal's is off by :math:`e^{-2.8}` at
    twice its compound's mean), and both saddle points reach; elsewhere
    zero, less the constant that keeps the total of the cells past 0 (the
    drift moves mass from the body to the tail; the body's share of that
    is not modelled, so the constant's size is returned as an error).
    """
    log_masses = np.asarray(log_masses, np.float64).ravel()
    size = log_masses.size
    m = np.asarray(masses, np.float64).ravel()
    keep = m > 0
    j = (first + np.arange(m.size, dtype=np.float64))[keep]
    lm = np.log(m[keep])
    if jumps is None:
        dj = dv = np.zeros(0)
    else:
        d = np.asarray(jumps, np.float64).ravel()
        nz = d != 0
        dj = (jumps_first + np.arange(d.size, dtype=np.float64))[nz]
        dv = d[nz]

    cells = [lm, j]

    def cgfs(th):
        return _cgfs(*cells, dj, dv, th, lg, log_p0)

    def prune(hi):
        # Cells past the largest at the highest tilt and below e^-40 of it
        # are below that at every lower tilt too: dropped.
        a = lm + hi * j
        ok = (a >= np.max(a) - 40.0) | (j <= j[np.argmax(a)])
        cells[:] = [lm[ok], j[ok]]

    def inside(t):
        both = cgfs(t)
        return [
            np.isfinite(k_) & np.isfinite(k1) & (k1 < size + 16) for k_, k1 in both
        ]

    # The last tilt of each law (K' past the grid, or a pole): bisection,
    # both laws at once, on the pruned cells.
    lo, hi = np.zeros(2), np.ones(2)
    while True:
        ins = inside(hi)
        grow = ins[0][0] | ins[1][1]
        if not grow or np.max(hi) >= 64:
            break
        lo, hi = np.where([ins[0][0], ins[1][1]], hi, lo), np.where(
            [ins[0][0], ins[1][1]], 2 * hi, hi
        )
    for i in range(_ROUNDS):
        if i % 8 == 0:
            prune(float(np.max(hi)))
        mid = 0.5 * (lo + hi)
        ins = inside(mid)
        up = np.array([ins[0][0], ins[1][1]])
        lo, hi = np.where(up, mid, lo), np.where(up, hi, mid)
    last = [float(lo[0]), float(lo[1])]
    parts = []
    for which, t in enumerate(last):
        # Each law on its own tilts (close tilts of the other law's would
        # make K'' by differences noisy): towards the last one, and even.
        th = np.concatenate(
            [t * (1 - np.geomspace(1, 1e-7, _TILTS)), np.linspace(0.0, t, _TILTS)]
        )
        th = np.unique(np.append(th, t))
        th = th[np.concatenate([[True], np.diff(th) > 1e-9 * np.abs(th[1:])])]
        k_, k1 = cgfs(th)[which]
        ok = np.isfinite(k_) & np.isfinite(k1)
        if np.count_nonzero(ok) < 8:
            return np.zeros(size), np.zeros(size, bool), 0.0
        parts.append(_legendre(th[ok], k_[ok], k1[ok], size))
    (a, mean, end_r), (b, _, end) = parts
    k = np.arange(size)
    with np.errstate(invalid="ignore"):
        near = np.abs(log_masses - a + 0.5 * math.log(2 * math.pi)) <= _NEAR
    tail = k >= max(mean, 1.0)
    use = tail & (k <= min(end_r, end)) & np.cumprod(near | ~tail).astype(bool)
    out = np.where(use, b - a, 0.0)
    use &= np.isfinite(out)
    out = np.where(use, out, 0.0)
    # The drift moves mass between the body and the tail (the true cells
    # sum to what the rounded ones do): the masses past cell 0 keep their
    # total (cell 0 is exact apart).
    fin = np.isfinite(log_masses) & (k > 0)
    if fin.any() and use.any():
        lm = log_masses[fin]
        top = np.max(lm)
        ratio = np.sum(np.exp(lm + out[fin] - top)) / np.sum(np.exp(lm - top))
        const = math.log(ratio)
        out = np.where(k > 0, out - const, 0.0)
        return out, use, abs(const)
    return out, use, 0.0
