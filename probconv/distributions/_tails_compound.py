r"""Relatively accurate compound (random) sums: tilted generating functions.

Tilting the severity by :math:`e^{\theta k}` tilts the random sum
:math:`S = X_1 + \dots + X_N` too: with :math:`M = E e^{\theta X}` and
:math:`G_N` the frequency's generating function,

.. math:: P(S = k)\, e^{\theta k} / G_N(M) = P_\theta(S = k),

the law of a random sum of the tilted severity
:math:`x_k e^{\theta k} / M` with the tilted frequency
:math:`P(N' = n) = P(N = n) M^n / G_N(M)`, which stays in the frequency's
family (Poisson :math:`\lambda \to \lambda M`, binomial
:math:`p \to p M / (1 - p + p M)`, negative binomial and geometric
:math:`1 - p \to (1 - p) M`). Each tilt is one forward and one inverse FFT,
as for the plain method; the tilts are spaced in the arc length of
:math:`K_S(\theta) = \log G_N(M(\theta))`, and each point keeps the tilt with
the smallest error estimate (round-off, and a Chernoff bound on the mass
wrapped around the FFT's circle).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from .._checks import concrete
from ..conv.internal import bounded_jit, fft_nd, ifft_nd, spectral_length
from . import _tilt

NOISE = 16.0
_GRID = 160
_REACH = 4.6  # nats the grid's end may lie below the last tilt's law there
HORNER = 64  # frequencies by masses up to this length: exact supports of S


def _family_terms(family: str, params, u):
    """``L(u) = log G_N(e^u)``, its first two derivatives, for a closed form.

    `params` are the frequency's parameters (scalars, traced). Returns
    ``(L, L', L'')``; ``inf`` where the generating function diverges.
    """
    if family == "poisson":
        (lam,) = params
        e = lam * jnp.exp(u)
        return lam * jnp.expm1(u), e, e
    if family in ("bernoulli", "binomial"):
        p, k = params
        pe = p * jnp.exp(u)
        den = 1 - p + pe
        q = pe / den
        return k * jnp.log1p(p * jnp.expm1(u)), k * q, k * q * (1 - q)
    if family == "negative_binomial":
        r, p = params
        qe = (1 - p) * jnp.exp(u)
        ok = qe < 1
        d = jnp.where(ok, 1 - qe, 1.0)
        big = jnp.where(ok, r * (jnp.log(p) - jnp.log(d)), jnp.inf)
        return big, r * qe / d, r * qe / (d * d)
    if family == "geometric":
        (p,) = params
        qe = (1 - p) * jnp.exp(u)
        ok = qe < 1
        d = jnp.where(ok, 1 - qe, 1.0)
        big = jnp.where(ok, jnp.log(p) + u - jnp.log(d), jnp.inf)
        return big, 1 + qe / d, qe / (d * d)
    raise ValueError(f"Unknown family {family!r}.")


def _frequency_terms(freq, u, exact: bool = False):
    """``(L, L', L'')`` at log-arguments `u` for a frequency description.

    For a frequency given by its masses, `exact` computes `L` to full
    precision (for un-tilting); otherwise all three come from the planning
    moments (float32 weights).
    """
    kind, data = freq
    if kind == "family":
        family, params = data
        return _family_terms(family, params, u)
    logc, shift = data  # log coefficients of N on shift, shift + 1, ...
    n = jnp.arange(logc.shape[-1], dtype=u.dtype) + shift
    big, mean, var = _tilt.tilted_moments(logc, n, u)
    if exact:
        big = _tilt.lse(logc[None, :] + u[:, None] * n[None, :], -1)
    return big, mean, var


def _tilted_pgf(freq, u, z):
    """Evaluate the tilted frequency's generating function at complex `z`."""
    kind, data = freq
    if kind == "family":
        family, params = data
        if family == "poisson":
            (lam,) = params
            return jnp.exp(lam * jnp.exp(u) * (z - 1))
        if family in ("bernoulli", "binomial"):
            p, k = params
            pe = p * jnp.exp(u)
            q = pe / (1 - p + pe)
            return (1 - q + q * z) ** k
        if family == "negative_binomial":
            r, p = params
            qe = (1 - p) * jnp.exp(u)
            return ((1 - qe) / (1 - qe * z)) ** r
        (p,) = params
        qe = (1 - p) * jnp.exp(u)
        return z * (1 - qe) / (1 - qe * z)
    logc, shift = data
    n = jnp.arange(logc.shape[-1], dtype=u.dtype)
    w = logc + u * n
    w = jnp.exp(w - _tilt.lse(w, -1))

    def body(acc, ck):
        return acc * z + ck, None

    acc, _ = jax.lax.scan(body, jnp.zeros_like(z), w[::-1])
    return acc * z**shift


def _size_biased_pgf(freq, u, z, g):
    r"""``z G'(z)`` of the tilted frequency at complex `z`, from ``g = G(z)``.

    Its inverse transform, over the tilted severity's transform `z`, is the
    tilted :math:`\sum_n n P(N' = n) x'^{*n}`: the numerator of the count
    behind each point, :math:`E[N \mid S = k]` (`COUNT_FAMILIES` only).
    """
    family, params = freq[1]
    if family == "poisson":
        (lam,) = params
        return lam * jnp.exp(u) * z * g
    if family in ("bernoulli", "binomial"):
        p, k = params
        pe = p * jnp.exp(u)
        q = pe / (1 - p + pe)
        return k * q * z * g / (1 - q + q * z)
    r, p = params  # negative binomial
    qe = (1 - p) * jnp.exp(u)
    return r * qe * z * g / (1 - qe * z)


def _mean_count_of(freq, big):
    r"""Return the tilted count's mean :math:`L'(u)`, given :math:`L(u)`.

    :math:`L(u) = \log G_N(e^u)`, for a family of `COUNT_FAMILIES`.
    """
    family, params = freq[1]
    if family == "poisson":
        (lam,) = params
        return big + lam
    if family in ("bernoulli", "binomial"):
        p, k = params
        w = jnp.exp(big / k)  # 1 - p + p e^u
        return k * (w - 1 + p) / w
    r, p = params  # negative binomial: 1 - q e^u = p e^{-L / r}
    d = p * jnp.exp(-big / r)
    return r * (1 - d) / d


COUNT_FAMILIES = ("poisson", "bernoulli", "binomial", "negative_binomial")


def _counts_of(freq):
    """Smallest and largest count `N` can take (traced floats; ``inf``: none)."""
    kind, data = freq
    if kind == "family":
        family, params = data
        n_lo = 1.0 if family == "geometric" else 0.0
        n_hi = params[-1] if family in ("bernoulli", "binomial") else math.inf
        return n_lo, n_hi
    logc, shift = data
    cf = jnp.isfinite(logc)
    n_lo = jnp.argmax(cf) + shift
    n_hi = logc.shape[-1] - 1 - jnp.argmax(cf[::-1]) + shift
    return n_lo, n_hi


def _support_of_sum(lx, freq):
    """Smallest and largest grid index that `S` can reach (traced floats)."""
    fin = jnp.isfinite(lx)
    m = lx.shape[-1]
    j_lo = jnp.argmax(fin).astype(lx.dtype)
    j_hi = (m - 1 - jnp.argmax(fin[::-1])).astype(lx.dtype)
    n_lo, n_hi = _counts_of(freq)
    lo = n_lo * j_lo
    hi = jnp.where(n_hi > 0, n_hi * j_hi, 0.0)
    return lo, hi


def reachable(lx, freq):
    r"""Whether `S` can take each grid index: ``n a`` for some count ``n`` of `N`.

    With ``A`` the severity's support on the grid (finite `lx`) and
    ``n_lo <= N <= n_hi``, the union of the ``n``-fold sumsets of ``A`` is
    ``n_lo A + (n_hi - n_lo) (A + {0})`` exactly. A frequency given by
    masses (`HORNER` of them at most) takes the union over its counts of
    positive mass by Horner's rule, exact where zero masses lie between
    its ends; a longer one (of ``K`` masses) by baby and giant steps
    (`_union_of_counts`: about :math:`2\sqrt{K}` sumsets), exact too. The
    closed families' ``n_lo`` (0, or 1 for the geometric) and unbounded
    ``n_hi`` are Python numbers: their sumsets take no loop, or squarings
    only.
    """
    a = jnp.isfinite(lx).astype(lx.dtype)
    length = spectral_length(2 * a.shape[-1])
    kind, data = freq
    if kind == "masses":
        logc, shift = data
        has = jnp.isfinite(logc).astype(a.dtype)
        if has.shape[-1] <= HORNER:
            one = jnp.zeros_like(a).at[0].set(1.0)

            def step(acc, h):  # acc + A, and zero summands where N has mass
                return jnp.maximum(_tilt.sumset(acc, a, length), h * one), None

            acc, _ = jax.lax.scan(step, has[-1] * one, has[:-1], reverse=True)
        else:
            acc = _union_of_counts(a, has, length)
        return _tilt.sumset(acc, _tilt.n_fold(a, shift, length), length) > 0.5
    n_lo, n_hi = _counts_of(freq)
    b = a.at[0].set(1.0)
    if isinstance(n_hi, float) and n_hi == math.inf:
        rest = _tilt.closure(b, length)
    else:
        rest = _tilt.n_fold(b, n_hi - n_lo, length)
    if isinstance(n_lo, float) and n_lo in (0.0, 1.0):
        return (rest if n_lo == 0.0 else _tilt.sumset(a, rest, length)) > 0.5
    return _tilt.sumset(_tilt.n_fold(a, n_lo, length), rest, length) > 0.5


def _union_of_counts(a, has, length: int):
    r"""Return the indicator of :math:`\bigcup_{n:\ h_n = 1} nA` on `a`'s grid, exactly.

    `a` is the indicator of ``A``, `has` that of the counts ``0..K-1``.
    With ``n = qB + r`` (:math:`B = \lceil\sqrt K\rceil`), ``nA = q(BA) +
    rA``: the sets ``rA`` for ``r < B`` by ``B`` sumsets, their unions
    :math:`R_q = \bigcup_{r:\ h_{qB+r} = 1} rA` by one product of 0/1
    matrices (integer counts at most ``B``, exact, thresholded at 1/2),
    then Horner's rule in ``q`` with the step ``BA``: about
    :math:`2\sqrt K` sumsets instead of ``K``.
    """
    k = has.shape[-1]
    b = math.isqrt(k - 1) + 1
    q = -(-k // b)
    one = jnp.zeros_like(a).at[0].set(1.0)

    def power(acc, _):
        return _tilt.sumset(acc, a, length), acc

    big, powers = jax.lax.scan(power, one, None, length=b)  # BA; rA, r < B
    h = jnp.pad(has, (0, q * b - k)).reshape(q, b)
    unions = (h @ powers > 0.5).astype(a.dtype)  # R_q

    def giant(acc, r):
        return jnp.maximum(_tilt.sumset(acc, big, length), r), None

    acc, _ = jax.lax.scan(giant, unions[-1], unions[:-1], reverse=True)
    return acc


def compound_grid(lx, freq, size):
    """Tilt-plan grid: ``(theta, arc, mean_s, ext, k_ext, mean_x)``, traced.

    `ext` extends the grid past the last tilt and `k_ext` is
    :math:`K_S` there, for the Chernoff bound on wrapped-around mass.
    `size` (the grid's true length; may be traced) bounds the last tilt's
    target where `lx` is padded past it.
    """
    dt = lx.dtype
    k = jnp.arange(lx.shape[-1], dtype=dt)

    def terms(th):
        kx, mx, vx = _tilt.tilted_moments(lx, k, th)
        big, l1, l2 = _frequency_terms(freq, kx)
        mean = l1 * mx
        var = l2 * mx * mx + l1 * vx
        bad = ~jnp.isfinite(big)
        return (
            jnp.where(bad, jnp.inf, big),
            jnp.where(bad, jnp.inf, mean),
            jnp.where(bad, 0.0, var),
            mx,
        )

    def mean_of(th):
        return terms(th)[1]

    s_lo, s_hi = _support_of_sum(lx, freq)
    tgt = jnp.stack([s_lo + 0.25, jnp.minimum(size - 1.0, s_hi - 0.25)]).astype(dt)
    ends = _tilt.bisect(mean_of, tgt, -60.0, 60.0, steps=60)
    u = jnp.linspace(0.0, 1.0, _GRID, dtype=dt)
    grid = ends[0] + (ends[1] - ends[0]) * u
    big, mean, var, mx = terms(grid)
    # The last tilt need not centre the tilted law on the grid's end: one
    # whose law there is within e^-_REACH of the law centred there (by the
    # saddle point, K(t) - t s against K(t_s) - t_s s) resolves the end as
    # well, and its tail is lighter, so a shorter circle keeps the mass
    # wrapped around negligible: several times shorter for a negative
    # binomial count, whose tilted laws near the end decay slowly.
    end = tgt[1]
    f = jnp.where(jnp.isfinite(big), big - grid * end, jnp.inf)
    drop = jnp.where(jnp.isnan(f), -jnp.inf, jnp.minimum(f[-1] - f, 0.0))
    drop = jnp.maximum(jnp.where(u < 1.0, drop, 0.0), -1e300)  # increasing
    last = jnp.clip(jnp.interp(-_REACH, drop, grid), ends[0], ends[1])
    grid = ends[0] + (last - ends[0]) * u
    big, mean, var, mx = terms(grid)
    # Beyond the last tilt, for the Chernoff bound on wrapped-around mass.
    step = (last - ends[0]) / _GRID + 1.0 / size
    ext = last + step * 2.0 ** jnp.arange(-12, 12, dtype=dt)
    big_ext = terms(ext)[0]
    return (
        grid,
        _tilt.arc_length(grid, var),
        mean,
        jnp.concatenate([grid, ext]),
        jnp.concatenate([big, big_ext]),
        mx,
    )


def compound_core(
    lx, freq, grid, mean_s, ext, k_s, mean_x, thetas, length: int, window=False,
    counts=False,
):  # fmt: skip
    r"""Log-masses of S on ``0..size-1`` and their log relative errors.

    `window`: the severity's support is known to be ``j_lo..j_hi`` without
    gaps, with ``j_lo <= 1`` (see `_window_exact`): `S` then reaches every
    point between its least and largest value, and no sumset is computed.
    `counts` (a frequency of `COUNT_FAMILIES`): also the log of the count
    behind each point, :math:`E[N \mid S = k]`, and its log relative error:
    the ratio of the size-biased sum (`_size_biased_pgf`, one more inverse
    transform per tilt, no forward one) to `S`, both at the tilt chosen for
    `S` there (the tilt cancels in the ratio).
    """
    dt = lx.dtype
    ep = _tilt.eps(dt)
    size = lx.shape[-1]
    thetas = jax.lax.stop_gradient(thetas)
    k = jnp.arange(size, dtype=dt)
    c = _tilt.snap(jnp.interp(thetas, grid, mean_x), 1, size)
    rows, big_a, corr = _tilt.tilt_rows(lx, k, thetas, c)
    rows = rows * jnp.exp(-corr)[:, None]
    u = big_a + corr + thetas * c  # log E e^{theta X}, as the rows have it
    f = fft_nd(rows, (length,), (-1,), True, ordered=False)
    g = jax.vmap(lambda uu, ff: _tilted_pgf(freq, uu, ff))(u, f)
    y = ifft_nd(g, (length,), (-1,), True, ordered=False).astype(dt)
    scale = jnp.exp(-_tilt.log_total(jax.lax.stop_gradient(y)))[:, None]
    y = y * scale
    big_n, l1, _ = _frequency_terms(freq, u, exact=True)  # log G_N(M), E N'
    ys = y[:, :size]
    peak = jnp.max(ys, -1)
    neg = jnp.maximum(jnp.max(-y, -1), 0.0)
    nu = NOISE * ep * (jnp.abs(l1) + math.log2(length))
    # Chernoff: mass of the tilted S at or beyond `length` (wrapped around).
    gap = ext[None, :] - thetas[:, None]
    chern = k_s[None, :] - big_n[:, None] - gap * length
    chern = jnp.where(gap > 0, chern, jnp.inf)
    alias = jnp.min(chern, -1)
    log_noise = jnp.logaddexp(_tilt.safe_log(jnp.maximum(nu * peak, 2 * neg)), alias)
    centers = jnp.interp(thetas, grid, mean_s)
    kk = jnp.arange(size)
    near = jnp.searchsorted(centers, k)
    tc = jnp.clip(near[None, :] + jnp.arange(-2, 2)[:, None], 0, thetas.shape[0] - 1)
    yv = jnp.take_along_axis(ys[tc], kk[None, :, None], -1)[..., 0]
    shift = big_n[tc] - thetas[tc] * k[None, :]
    val = _tilt.safe_log(yv) + shift
    arith = jnp.log(8.0 * ep * (jnp.abs(val) + jnp.abs(shift) + 1.0)) + val
    err = jnp.logaddexp(log_noise[tc] + shift, arith)
    pick, rels = _tilt.best_index(val, err, axis=0)
    out, rel = _tilt.pick_at(val, pick, 0), _tilt.pick_at(rels, pick, 0)
    if counts:
        b = jax.vmap(lambda uu, ff, gg: _size_biased_pgf(freq, uu, ff, gg))(u, f, g)
        y2 = ifft_nd(b, (length,), (-1,), True, ordered=False).astype(dt) * scale
        # Round-off of its peak, and its wrapped-around mass: by Chernoff at
        # each theta' above, the mean count there times K's increment.
        neg2 = jnp.maximum(jnp.max(-y2, -1), 0.0)
        l1_ext = _mean_count_of(freq, jnp.where(jnp.isfinite(k_s), k_s, 0.0))
        log_l1 = jnp.where(
            jnp.isfinite(k_s) & (l1_ext > 0), jnp.log(jnp.abs(l1_ext)), jnp.inf
        )
        alias2 = jnp.min(chern + log_l1[None, :], -1)
        peak2 = jnp.max(y2[:, :size], -1)
        noise2 = jnp.logaddexp(
            _tilt.safe_log(jnp.maximum(nu * peak2, 2 * neg2)), alias2
        )
        y2v = jnp.take_along_axis(y2[:, :size][tc], kk[None, :, None], -1)[..., 0]
        num = _tilt.safe_log(_tilt.pick_at(y2v, pick, 0))
        den = _tilt.safe_log(_tilt.pick_at(yv, pick, 0))
        noise2 = _tilt.pick_at(noise2[tc], pick, 0)
        rel2 = jnp.where(jnp.isfinite(num), noise2 - num, jnp.inf)
        log_n, rel_n = num - den, jnp.logaddexp(rel, rel2)
    # Points no sum of severities reaches (below the least severity times
    # the least count, in a lattice's gaps) have no mass: the tilts see
    # only their round-off there.
    if window:
        s_lo, s_hi = _support_of_sum(jax.lax.stop_gradient(lx), freq)
        inside = (k >= s_lo) & (k <= s_hi)
    else:
        inside = reachable(jax.lax.stop_gradient(lx), freq)
    res = jnp.where(inside, out, -jnp.inf), jnp.where(inside, rel, -jnp.inf)
    if counts:
        res += (jnp.where(inside, log_n, 0.0), jnp.where(inside, rel_n, -jnp.inf))
    return res


def _freq(kind, family, a, b):
    if kind == "family":
        return ("family", (family, tuple(a)))
    return ("masses", (a, b))


@bounded_jit(static_argnames=("kind", "family", "b"))
def _grid_jit(lx, a, b, size, kind, family):
    return jax.vmap(lambda l_, a_: compound_grid(l_, _freq(kind, family, a_, b), size))(
        lx, a
    )


@bounded_jit(
    static_argnames=("length", "count", "kind", "family", "b", "window", "counts")
)
def _core_jit(lx, a, b, plan, length, count, kind, family, window, counts=False):
    def one(l_, a_, grid, arc, mean_s, ext, k_s, mean_x):
        thetas = _tilt.place(grid, arc, count)
        freq = _freq(kind, family, a_, b)
        return compound_core(
            l_, freq, grid, mean_s, ext, k_s, mean_x, thetas, length, window,
            counts,
        )  # fmt: skip

    return jax.vmap(one)(lx, a, *plan)


def log_compound(lx, freq, length: int, size: int | None = None, counts=False):
    """Relative-accuracy log-masses of compound sums (batched over rows).

    `lx`: log-masses of the severities, shape ``(B, size)``, on
    ``0..size-1`` (cut at the grid); `freq`: ``("family", (name, params))``
    with parameters of shape ``(B,)``, or ``("masses", (logc, shift))`` with
    log-coefficients ``(B, K)`` on ``shift, shift + 1, ...``; `length`: the
    FFT length. Returns ``(log_masses, log_rel_err)``, shape ``(B, size)``.
    `size`, where `lx` was padded with ``-inf`` to a bucket, is the true
    grid's length (traced into the plan: every size of the bucket shares
    the programs); the points past it are the padding's, to be cut.
    `counts` (a family of `COUNT_FAMILIES`) adds the log count behind each
    point and its log relative error (`compound_core`).
    """
    dt = lx.dtype
    size = lx.shape[-1] if size is None else size
    kind, data = freq
    if kind == "family":
        family, params = data
        a, b = tuple(jnp.asarray(p, dt) for p in params), None
    else:
        family = ""
        a, b = data
    points = lx.shape[-1]
    plan = _grid_jit(jax.lax.stop_gradient(lx), a, b, np.int32(size), kind, family)
    total = concrete(plan[1][:, -1])
    noise = 100 * _tilt.eps(dt)
    if total is not None:
        count = _tilt.count_tilts(float(np.max(total)), dt, noise)
        length = _length(plan, points, length, dt)
    else:
        count = _tilt.count_tilts(4 * math.pi * math.sqrt(points), dt, noise)
    window = _window_exact(lx) and (kind == "family" or _tilt.gapless(a))
    counts = bool(counts) and kind == "family" and family in COUNT_FAMILIES
    return _core_jit(lx, a, b, plan, length, count, kind, family, window, counts)


def _window_exact(lx) -> bool:
    """Whether every row's severity support is ``j_lo..j_hi``, ``j_lo <= 1``.

    Then the ``n``-fold sumsets ``[n j_lo, n j_hi]`` of consecutive counts
    overlap or touch, and `S` reaches every point between its least and
    largest value: the sumsets of `reachable` are not needed. Checked on
    the host where `lx` is known (False under `jax.jit`).
    """
    return _tilt.gapless(lx, first=1)


def _length(plan, size: int, length: int, dtype) -> int:
    r"""FFT length that keeps the last tilt's wrapped-around mass negligible.

    By Chernoff, the tilted law at the last tilt :math:`\theta` has mass at
    or beyond :math:`L - \text{size}` past the grid below
    :math:`e^{K(\theta') - K(\theta) - (\theta' - \theta)(L - \text{size})}`
    for every :math:`\theta' > \theta`: heavy-tailed frequencies (negative
    binomial, geometric) need a longer circle than light ones.
    """
    grid, _, _, ext, k_s, _ = (np.asarray(concrete(v), np.float64) for v in plan)
    depth = math.log(2 / _tilt.eps(dtype)) + 20.0
    gap = ext - grid[:, -1:]
    k_last = k_s[:, grid.shape[-1] - 1 : grid.shape[-1]]
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        need = size + (k_s - k_last + depth) / gap
    need = np.where((gap > 0) & np.isfinite(need), need, np.inf)
    best = float(np.max(np.min(need, -1)))
    target = max(length, 4 * size, min(best, 1 << 22) if math.isfinite(best) else 0)
    return spectral_length(int(math.ceil(target)))
