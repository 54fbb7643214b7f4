"""Tail-accurate sums: accuracy="relative" against the plain FFT and the peers.

For each case: time (median after compilation) and the largest relative
error over every point whose true mass is at least 1e-300 (float64), or
1e-30 (float32), against an exact or relatively accurate reference. Peers:
direct summation (numpy.convolve, relatively accurate for non-negative
inputs), scipy.stats.poisson_binom (exact recursion), the aggregate package
(compound sums) and icepool (exact dice).

Run: python benchmarks/tails.py [--quick] [--only unbounded|densities ...]
(sections: iid, pb, pair, compound, unbounded, densities, compound-densities)
The machine is shared and noisy: ratios are more stable than times.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import scipy.integrate
import scipy.special
import scipy.stats

jax.config.update("jax_enable_x64", True)
sys.path.insert(0, os.path.dirname(__file__))

from _timing import median_time  # noqa: E402

from probconv import conv  # noqa: E402
from probconv import distributions as dist  # noqa: E402

ROWS = []


def rel_err(log_out, log_ref, floor=math.log(1e-300)):
    """Largest relative error over points whose true mass is above `floor`."""
    log_out = np.asarray(log_out, np.float64)
    sel = log_ref > floor
    with np.errstate(invalid="ignore", over="ignore"):
        d = np.abs(np.expm1(log_out[sel] - log_ref[sel]))
    d = np.where(np.isnan(d), np.inf, d)
    return float(np.max(d))


def log_of(masses):
    with np.errstate(divide="ignore"):
        return np.log(np.asarray(masses, np.float64))


def row(case, method, seconds, err, base=None):
    ratio = "" if base is None else f"{seconds / base:8.1f}x"
    ROWS.append((case, method, seconds, err, ratio))
    print(f"{case:28s} {method:34s} {seconds * 1e3:11.2f} ms {ratio:>9s}  {err:9.1e}")
    sys.stdout.flush()


def once(fn):
    t0 = time.perf_counter()
    out = fn()
    jax.block_until_ready(out)
    return out, time.perf_counter() - t0


# -- references ---------------------------------------------------------------


def binom_log(n, p):
    import mpmath

    mpmath.mp.dps = 30
    pm = mpmath.mpf(p)
    lp, lq = mpmath.log(pm), mpmath.log1p(-pm)
    return np.array(
        [
            float(mpmath.log(math.comb(n, k)) + k * lp + (n - k) * lq)
            for k in range(n + 1)
        ]
    )


def dice_log(n):
    top = 5 * n
    c = [0] * (top + 1)
    c[0] = 1
    for s in range(top):
        acc = 0
        for i in range(1, 6):
            if s - i + 1 >= 0:
                acc += (n * i - s + i - 1) * c[s - i + 1]
        c[s + 1] = acc // (s + 1)
    return np.array([math.log(v) for v in c]) - n * math.log(6)


def pb_log(p):
    lg = np.array([0.0])
    for q in p:
        a = np.concatenate([lg + np.log1p(-q), [-np.inf]])
        b = np.concatenate([[-np.inf], lg + np.log(q)])
        lg = np.logaddexp(a, b)
    return lg


def mixed_p(n, seed=1):
    rng = np.random.default_rng(seed)
    return np.concatenate(
        [
            rng.uniform(0, 1, n // 2),
            10 ** rng.uniform(-6, -1, n // 4),
            1 - 10 ** rng.uniform(-6, -1, n - n // 2 - n // 4),
        ]
    )


def direct_power(x, n):
    """n-fold convolution power by binary powering with numpy.convolve."""
    out, base = np.array([1.0]), np.asarray(x, np.float64)
    while n:
        if n & 1:
            out = np.convolve(out, base)
        n >>= 1
        if n:
            base = np.convolve(base, base)
    return out


# -- cases ----------------------------------------------------------------------


def iid_case(name, x, n, ref, dtype=jnp.float64, floor=math.log(1e-300)):
    X = dist.from_masses(np.asarray(x, dtype))

    def plain():
        return dist.iid_sum(X, n).masses

    def relative():
        return dist.iid_sum(X, n, accuracy="relative").log_masses

    t_plain = median_time(plain)
    t_rel = median_time(relative)
    tag = "" if dtype == jnp.float64 else " (float32)"
    row(
        name + tag,
        "plain FFT (accuracy='absolute')",
        t_plain,
        rel_err(log_of(plain()), ref, floor),
        t_plain,
    )
    row(
        name + tag,
        "probconv accuracy='relative'",
        t_rel,
        rel_err(relative(), ref, floor),
        t_plain,
    )
    return t_plain


def bench_iid(quick):
    print("\n# iid sums")
    n1 = 200 if quick else 1000
    for p in (0.5, 0.01):
        ref = binom_log(n1, p)
        name = f"{n1} Bernoulli({p})"
        t_plain = iid_case(name, [1 - p, p], n1, ref)
        out, t = once(lambda: direct_power([1 - p, p], n1))
        row(name, "direct summation (numpy)", t, rel_err(log_of(out), ref), t_plain)
        iid_case(
            name,
            [1 - p, p],
            n1,
            binom_log(n1, float(np.float32(p))),
            jnp.float32,
            math.log(1e-30),
        )
    nd = 1000 if quick else 10_000
    ref = dice_log(nd)
    name = f"{nd} dice"
    t_plain = iid_case(name, np.full(6, 1 / 6), nd, ref)
    out, t = once(lambda: direct_power(np.full(6, 1 / 6), nd))
    row(name, "direct summation (numpy)", t, rel_err(log_of(out), ref), t_plain)
    iid_case(name, np.full(6, 1 / 6), nd, ref, jnp.float32, math.log(1e-30))
    import icepool

    ni = 100 if quick else 200
    ref_i = dice_log(ni)
    _, t_i = once(lambda: (ni @ icepool.d6).probabilities())
    X = dist.die(6)
    t_rel = median_time(lambda: dist.iid_sum(X, ni, accuracy="relative").log_masses)
    err = rel_err(dist.iid_sum(X, ni, accuracy="relative").log_masses, ref_i)
    row(f"{ni} dice", "icepool (exact rationals)", t_i, 0.0, t_rel)
    row(f"{ni} dice", "probconv accuracy='relative'", t_rel, err, t_rel)


def bench_pb(quick):
    print("\n# Poisson binomial")
    for n in (1000,) if quick else (1000, 10_000):
        p = mixed_p(n)
        ref = pb_log(p)
        pj = jnp.asarray(p)
        name = f"Poisson binomial n={n}"

        def plain():
            return dist.poisson_binomial(pj).masses

        def relative():
            return dist.poisson_binomial(pj, accuracy="relative").log_masses

        t_plain = median_time(plain)
        row(
            name,
            "plain FFT tree (accuracy='absolute')",
            t_plain,
            rel_err(log_of(plain()), ref),
            t_plain,
        )
        t_rel = median_time(relative)
        row(
            name,
            "probconv accuracy='relative'",
            t_rel,
            rel_err(relative(), ref),
            t_plain,
        )
        k = np.arange(n + 1)
        sp, t_sp = once(lambda: scipy.stats.poisson_binom(p).pmf(k))
        row(
            name,
            "scipy.stats.poisson_binom pmf",
            t_sp,
            rel_err(log_of(sp), ref),
            t_plain,
        )
        p32 = p.astype(np.float32)
        ref32 = pb_log(p32.astype(np.float64))
        d32 = dist.poisson_binomial(p32, accuracy="relative").log_masses
        row(
            name + " (float32)",
            "probconv accuracy='relative'",
            median_time(
                lambda: dist.poisson_binomial(p32, accuracy="relative").log_masses
            ),
            rel_err(d32, ref32, math.log(1e-30)),
        )
        # Survival function far in the tail: scipy's sf is 1 - cdf.
        right = np.arange(ref.size) > np.argmax(ref)
        j = int(np.argmin(np.where(right, np.abs(ref / math.log(10) + 37.4), np.inf)))
        true_sf = scipy.special.logsumexp(ref[j + 1 :])
        ours = float(dist.poisson_binomial(pj, accuracy="relative").logsf(j))
        theirs = float(scipy.stats.poisson_binom(p).sf(j))
        print(
            f"    sf at k={j}: true {math.exp(true_sf):.3e}, probconv "
            f"{math.exp(ours):.3e}, scipy {theirs:.3e}"
        )


def spanning(n, seed=0):
    rng = np.random.default_rng(seed)
    x = np.arange(n) / n
    la = -460 * x**2 + np.log(rng.uniform(0.5, 1.5, n))
    lb = -460 * (1 - x) ** 1.5 + np.log(rng.uniform(0.5, 1.5, n))
    return la, lb


def bench_pair(quick):
    print("\n# pairwise convolution of positive vectors spanning 200 orders")
    n = 10_000 if quick else 100_000
    la, lb = spanning(n)
    pa, pb = np.exp(la), np.exp(lb)
    ref, t_direct = once(lambda: np.convolve(pa, pb))
    ref = np.log(ref)
    ja, jb = jnp.asarray(pa), jnp.asarray(pb)
    fft = jax.jit(lambda a, b: conv.convolve(a, b, method="fft"))
    t_fft = median_time(fft, ja, jb)
    name = f"two vectors of {n}"
    row(
        name,
        "plain FFT (probconv.conv, jit)",
        t_fft,
        rel_err(log_of(fft(ja, jb)), ref),
        t_fft,
    )
    lja, ljb = jnp.asarray(la), jnp.asarray(lb)
    t_rel = median_time(lambda: dist.logconvolve(lja, ljb))
    row(
        name,
        "probconv logconvolve",
        t_rel,
        rel_err(dist.logconvolve(lja, ljb), ref),
        t_fft,
    )
    row(name, "direct summation (numpy)", t_direct, 0.0, t_fft)


def bench_compound(quick):
    print("\n# compound Poisson(10), severity uniform on 1..10")
    import aggregate

    size = 512
    x = np.zeros(11)
    x[1:] = 0.1
    lam = 10.0
    lx = np.log(np.pad(x, (0, size - 11)))
    f = np.full(size, -np.inf)
    f[0] = -lam
    j = np.arange(11)
    for k in range(1, size):
        jj = j[1 : min(k, 10) + 1]
        f[k] = math.log(lam / k) + scipy.special.logsumexp(
            np.log(jj) + lx[jj] + f[k - jj]
        )
    ref = f
    sev = dist.from_masses(x)
    N = dist.poisson(lam)

    def plain():
        return dist.compound(N, sev, size=size).masses

    def relative():
        return dist.compound(N, sev, size=size, accuracy="relative").log_masses

    t_plain = median_time(plain)
    row(
        "compound Poisson",
        "plain (accuracy='absolute')",
        t_plain,
        rel_err(log_of(plain()), ref),
        t_plain,
    )
    t_rel = median_time(relative)
    row(
        "compound Poisson",
        "probconv accuracy='relative'",
        t_rel,
        rel_err(relative(), ref),
        t_plain,
    )
    a, t_agg = once(
        lambda: aggregate.build(
            "agg Bench 10 claims dsev [1:10] poisson", log2=10, bs=1
        )
    )
    p_agg = a.density_df["p_total"].to_numpy()[:size]
    row(
        "compound Poisson",
        "aggregate (FFT)",
        t_agg,
        rel_err(log_of(p_agg), ref),
        t_plain,
    )
    d = dist.compound(N, sev, size=size, accuracy="relative")
    s_agg = a.density_df["S"].to_numpy()
    for k in (250, 300, 400):
        true = math.exp(scipy.special.logsumexp(ref[k + 1 :]))
        print(
            f"    sf({k}): true {true:.3e}  probconv {float(d.sf(k)):.3e}  "
            f"aggregate {s_agg[k]:.3e}"
        )


def polya_aeppli_log(lam, p, size):
    """log P(S = k), S a Poisson(lam) sum of geometric(p) on 1, 2, ... (k < size)."""
    k = np.arange(1, size)[:, None]
    n = np.arange(1, size)[None, :]
    g = scipy.special.gammaln
    with np.errstate(invalid="ignore"):
        t = (
            -lam
            + n * math.log(lam)
            - g(n + 1)
            + g(k)
            - g(n)
            - g(np.maximum(k - n + 1, 1))
            + n * math.log(p)
            + (k - n) * math.log1p(-p)
        )
    t = np.where(n <= k, t, -np.inf)
    return np.concatenate([[-lam], scipy.special.logsumexp(t, axis=1)])


def bench_unbounded(quick):
    """Issue 15: grids to the float range, families that extend, queries past."""
    tiny = math.log(np.finfo(np.float64).tiny)
    print("\n# compound Poisson(3) of geometric(0.5) (Polya-Aeppli), default grid")
    N, X = dist.poisson(3.0), dist.geometric(0.5)

    def plain():
        return dist.compound(N, X).masses

    def relative():
        return dist.compound(N, X, accuracy="relative").log_masses

    t_plain = median_time(plain)
    n_plain = plain().shape[-1]
    ref = polya_aeppli_log(3.0, 0.5, n_plain)
    row(
        "Polya-Aeppli",
        f"plain ({n_plain} points)",
        t_plain,
        rel_err(log_of(plain()), ref),
        t_plain,
    )
    t_rel = median_time(relative)
    out = relative()
    ref = polya_aeppli_log(3.0, 0.5, out.shape[-1])
    row(
        "Polya-Aeppli",
        f"relative ({out.shape[-1]} points)",
        t_rel,
        rel_err(out, ref, tiny),
        t_plain,
    )
    print(
        f"    last log-mass {float(out[-1]):.1f} (log tiny = {tiny:.1f}); "
        f"plain grid ends at {ref[n_plain - 1]:.1f}"
    )

    n = 100 if quick else 300
    print(f"\n# iid sum of {n} geometric(0.6) (negative binomial)")
    x = dist.geometric(0.6)
    cut = dist.from_masses(x.masses, 1.0, truncated=x.truncated)  # the old cut

    def plain_iid():
        return dist.iid_sum(x, n).masses

    def rel_iid():
        return dist.iid_sum(x, n, accuracy="relative").log_masses

    def rel_cut():
        return dist.iid_sum(cut, n, accuracy="relative").log_masses

    k = np.arange(n, 3 * n + 1500)
    ref = scipy.stats.nbinom.logpmf(k - n, n, 0.6)
    t_plain = median_time(plain_iid)
    row(
        "geometric iid",
        "plain",
        t_plain,
        rel_err(log_of(plain_iid())[: k.size], ref),
        t_plain,
    )
    t_cut = median_time(rel_cut)
    row(
        "geometric iid",
        f"relative, law cut at {x.size} points",
        t_cut,
        rel_err(rel_cut()[: k.size], ref, tiny),
        t_plain,
    )
    t_rel = median_time(rel_iid)
    out = rel_iid()
    print(
        f"    the extended law's sum: {out.shape[-1]} points, last log-mass "
        f"{float(out[-1]):.1f}"
    )
    row(
        "geometric iid",
        "relative, law extends itself",
        t_rel,
        rel_err(out[: k.size], ref[: out.shape[-1]], tiny),
        t_plain,
    )
    j = int(np.argmin(np.abs(ref + 500)))
    print(
        f"    at log-probability {ref[j]:.1f}: extended "
        f"{abs(math.expm1(float(out[j]) - ref[j])):.1e}, cut "
        f"{abs(math.expm1(float(rel_cut()[j]) - ref[j])):.1e}"
    )

    print("\n# queries past the grid")
    for name, d, q, xq, true in (
        (
            "poisson(3).logsf(400)",
            dist.poisson(3.0),
            "logsf",
            400.0,
            scipy.special.logsumexp(
                scipy.stats.poisson.logpmf(np.arange(401, 5000), 3)
            ),
        ),
        (
            "geometric(0.5).logsf(1000)",
            dist.geometric(0.5),
            "logsf",
            1000.0,
            1000 * math.log(0.5),
        ),
        (
            "nbinom(2.5, 0.3).logpmf(900)",
            dist.negative_binomial(2.5, 0.3),
            "logpmf",
            900.0,
            scipy.stats.nbinom.logpmf(900, 2.5, 0.3),
        ),
    ):
        got = float(getattr(d, q)(xq))
        print(
            f"    {name:30s} grid {d.size:4d} points: {got:.6f} "
            f"(true {true:.6f}, rel err {abs(math.expm1(got - true)):.1e})"
        )

    print("\n# continuous sums at default settings (tol 1e-6): max |error| of sf, cdf")
    xs = np.linspace(0.0, 60.0, 241)
    g10 = scipy.stats.gamma(10)
    for label, tail in (("tail = tol (before)", 1e-6), ("default tail", None)):
        e = dist.exponential(tail=tail)

        def summed(e=e):
            return dist.iid_sum(e, 10).masses

        s = dist.iid_sum(e, 10)
        err = max(
            np.abs(np.asarray(s.sf(xs)) - g10.sf(xs)).max(),
            np.abs(np.asarray(s.cdf(xs)) - g10.cdf(xs)).max(),
        )
        t = median_time(summed)
        print(
            f"    10 x Exp(1), {label:20s} {e.size:6d} cells {t * 1e3:8.2f} ms "
            f"max err {err:.1e}  sf(25) err {abs(float(s.sf(25.0)) - g10.sf(25.0)):.1e}"
        )
    w = scipy.stats.poisson(5.0).pmf(np.arange(1, 200))
    for label, tail in (("tail = tol (before)", 1e-6), ("default tail", None)):
        c = dist.compound(dist.poisson(5.0), dist.exponential(tail=tail))
        xq = np.linspace(0.5, 40.0, 80)
        ref = np.sum(w * scipy.stats.gamma(np.arange(1, 200)).sf(xq[:, None]), -1)
        err = np.abs(np.asarray(c.sf(xq)) - ref).max()
        rel = np.max(np.abs(np.asarray(c.sf(xq)) / ref - 1))
        print(
            f"    compound Poisson(5) of Exp(1), {label:20s} max sf err {err:.1e}"
            f" (relative {rel:.1e})"
        )


def _density_errors(s, ref, xs):
    """Largest relative errors of logsf and logpdf at `xs`, and of the estimates."""
    xs = np.asarray(xs, np.float64)
    sf = np.abs(np.expm1(np.asarray(s.logsf(xs)) - ref.logsf(xs)))
    pdf = np.abs(np.expm1(np.asarray(s.logpdf(xs)) - ref.logpdf(xs)))
    k = np.round((xs - float(s.origin)) / s.step).astype(int)
    est_sf = np.asarray(s.sf_error(xs))
    est_pdf = np.asarray(dist.relative_error(s))[k]
    held = bool(np.all(sf <= est_sf) and np.all(pdf <= est_pdf))
    return max(sf.max(), pdf.max()), max(est_sf.max(), est_pdf.max()), held


def bench_densities(quick):
    """Relative sums of densities against closed forms (upper tails)."""
    h = 0.2 if quick else 0.1
    e = dist.exponential(step=h, support=(0.0, 720.0))
    cases = [
        (
            "4 x Exp(1) = Gamma(4)",
            lambda: dist.iid_sum(e, 4),
            lambda: dist.iid_sum(e, 4, accuracy="relative"),
            scipy.stats.gamma(4),
            np.arange(4.0, 700.0, 0.5),
        ),
        (
            "Exp(1) + Exp(1) = Gamma(2)",
            lambda: dist.add(e, e),
            lambda: dist.add(e, e, accuracy="relative"),
            scipy.stats.gamma(2),
            np.arange(2.0, 690.0, 0.5),
        ),
    ]
    x = dist.normal(step=h, support=(-40.0, 40.0))
    y = dist.normal(1.0, 2.0, step=h, support=(-80.0, 80.0))
    ref = scipy.stats.norm(1.0, math.sqrt(5.0))
    for hi in (30.0, 80.0):
        cases.append(
            (
                f"N(0,1) + N(1,4), x <= {hi:g}",
                lambda: dist.add(x, y),
                lambda: dist.add(x, y, accuracy="relative"),
                ref,
                np.arange(1.0, hi + 0.01, 0.5),
            )
        )
    # Default grids (cut near 1e-9): relative mode continues them on the
    # same step to where their tails leave the float range (issue 15).
    xd = dist.normal(step=h)
    yd = dist.normal(1.0, 2.0, step=h)
    cases.append(
        (
            "N(0,1) + N(1,4), default grids",
            lambda: dist.add(xd, yd),
            lambda: dist.add(xd, yd, accuracy="relative"),
            ref,
            np.arange(1.0, 25.01, 0.5),
        )
    )
    for name, plain, relative, ref, xs in cases:
        base = median_time(plain, repeat=3)
        t = median_time(relative, repeat=3)
        s = relative()
        err, est, held = _density_errors(s, ref, xs)
        p = plain()
        with np.errstate(divide="ignore"):
            perr = np.abs(np.expm1(np.log(np.asarray(p.sf(xs))) - ref.logsf(xs)))
        low = ref.sf(xs[-1])
        row(name, f"plain (sf to {low:.0e})", base, float(np.nanmax(perr)))
        row(name, f"relative (stated {est:.1e}, held {held})", t, err, base)
    law = scipy.stats.lognorm(0.5)
    ln = dist.lognormal(0.5, step=h, support=(0.0, 60.0))
    xs = [3.0, 10.0, 30.0, 45.0, 55.0]
    base = median_time(lambda: dist.iid_sum(ln, 2), repeat=3)
    t = median_time(lambda: dist.iid_sum(ln, 2, accuracy="relative"), repeat=3)
    s = dist.iid_sum(ln, 2, accuracy="relative")
    for at in xs:
        inner = scipy.integrate.quad(
            lambda v, at=at: law.pdf(v) * law.sf(at - v),
            0.0,
            at,
            limit=400,
            epsabs=0.0,
            epsrel=1e-12,
            points=[1.0, at - 1.0],
        )[0]
        want = law.sf(at) + inner
        got = float(s.sf(at))
        print(
            f"    2 x lognormal(0.5), grid to 60: sf({at:g}) = {got:.3e}, "
            f"rel. error {abs(got / want - 1):.1e}, stated {float(s.sf_error(at)):.1e}"
        )
    row("2 x lognormal(0.5), grid to 60", "plain", base, float("nan"))
    row("2 x lognormal(0.5), grid to 60", "relative", t, float("nan"), base)


class _GammaMixture:
    """``sum_n P(N = n) Gamma(n)`` for ``n >= 1`` (float64 log space, scipy)."""

    def __init__(self, log_pn, n):
        keep = (n >= 1) & np.isfinite(log_pn)
        self.n, self.log_pn = n[keep][:, None], log_pn[keep][:, None]

    def logsf(self, x):
        x = np.asarray(x, np.float64)[None, :]
        g = scipy.stats.gamma.logsf(x, self.n)
        return scipy.special.logsumexp(self.log_pn + g, axis=0)

    def logpdf(self, x):
        x = np.asarray(x, np.float64)[None, :]
        g = scipy.stats.gamma.logpdf(x, self.n)
        return scipy.special.logsumexp(self.log_pn + g, axis=0)


class _Ruin:
    """Compound geometric of Exp(1): ``psi(u) = rho exp(-(1 - rho) u)``."""

    def __init__(self, rho):
        self.rho = rho

    def logsf(self, x):
        return math.log(self.rho) - (1 - self.rho) * np.asarray(x, np.float64)

    def logpdf(self, x):
        r = self.rho
        return math.log(r * (1 - r)) - (1 - r) * np.asarray(x, np.float64)


def bench_compound_densities(quick):
    """Relative compounds of density severities against closed forms."""
    h = 0.2 if quick else 0.1
    e = dist.exponential(step=h, support=(0.0, 720.0))
    n = np.arange(0, 6000)
    cases = []
    for lam in (2.0, 20.0):
        cases.append(
            (
                f"Poisson({lam:g}) of Exp(1)",
                dist.poisson(lam),
                _GammaMixture(scipy.stats.poisson.logpmf(n, lam), n),
            )
        )
    cases.append(
        (
            "NB(2.5, 0.4) of Exp(1)",
            dist.negative_binomial(2.5, 0.4),
            _GammaMixture(scipy.stats.nbinom.logpmf(n, 2.5, 0.4), n),
        )
    )
    for t in (1.0, 0.25):
        rho = 1 / (1 + t)
        cases.append(
            (
                f"ruin, loading {t:g} (NB(1, {1 - rho:.2g}))",
                dist.negative_binomial(1.0, 1 - rho),
                _Ruin(rho),
            )
        )
    for name, count, ref in cases:
        base = median_time(lambda c=count: dist.compound(c, e), repeat=3)
        rel = lambda c=count: dist.compound(c, e, accuracy="relative")  # noqa: E731
        t = median_time(rel, repeat=3)
        s = rel()
        top = min(float(s.points[-1]), 700.0 / (1 - getattr(ref, "rho", 0.0)))
        xs = np.arange(1.0, top, 0.5)
        xs = xs[ref.logsf(xs) >= math.log(1e-300)]
        err, est, held = _density_errors(s, ref, xs)
        p = dist.compound(count, e)
        with np.errstate(divide="ignore"):
            perr = np.abs(np.expm1(np.log(np.asarray(p.sf(xs))) - ref.logsf(xs)))
        low = math.exp(float(ref.logsf(xs[-1:])[0]))
        row(name, f"plain (sf to {low:.0e})", base, float(np.nanmax(perr)))
        row(name, f"relative (stated {est:.1e}, held {held})", t, err, base)
    # Heavy tail: the lognormal's grid ends at 60 (sf(60) ~ 1e-16). No
    # closed form: the reference extrapolates the relative compounds on
    # grids 4 and 8 times finer (second order: ref = l8 + (l8 - l4) / 3),
    # whose differences shrink fourfold per halving; the plain compound on
    # the finest grid is shown against it too.
    ln = dist.lognormal(0.5, step=h, support=(0.0, 60.0))
    sev = [dist.lognormal(0.5, step=h / f, support=(0.0, 60.0)) for f in (4, 8)]
    fine = [dist.compound(dist.poisson(2.0), x, accuracy="relative") for x in sev]
    plain_fine = dist.compound(dist.poisson(2.0), sev[1])
    base = median_time(lambda: dist.compound(dist.poisson(2.0), ln), repeat=3)
    rel = lambda: dist.compound(dist.poisson(2.0), ln, accuracy="relative")  # noqa: E731
    t = median_time(rel, repeat=3)
    s = rel()
    errs = []
    for at in (3.0, 10.0, 20.0, 30.0, 40.0, 50.0):
        l4, l8 = (float(f.logsf(at)) for f in fine)
        want = l8 + (l8 - l4) / 3
        got = float(s.logsf(at))
        errs.append(abs(math.expm1(got - want)))
        dev = abs(math.expm1(math.log(float(plain_fine.sf(at))) - want))
        print(
            f"    Poisson(2) of lognormal(0.5), grid to 60: sf({at:g}) = "
            f"{math.exp(got):.3e}, rel. error {errs[-1]:.1e}, stated "
            f"{float(s.sf_error(at)):.1e} (plain at h/8: {dev:.1e})"
        )
    name = "Poisson(2) of lognormal(0.5)"
    row(name, "plain", base, float("nan"))
    row(name, f"relative (grid {s.size})", t, max(errs), base)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes")
    sections = {
        "iid": bench_iid,
        "pb": bench_pb,
        "pair": bench_pair,
        "compound": bench_compound,
        "unbounded": bench_unbounded,
        "densities": bench_densities,
        "compound-densities": bench_compound_densities,
    }
    ap.add_argument(
        "--only", choices=sorted(sections), action="append", help="run these only"
    )
    args = ap.parse_args()
    head = f"{'case':28s} {'method':34s} {'time':>14s} {'vs plain':>9s}"
    print(head + "  max rel err")
    for name, fn in sections.items():
        if not args.only or name in args.only:
            fn(args.quick)


if __name__ == "__main__":
    main()
