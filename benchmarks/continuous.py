"""Sums of continuous variables: accuracy and time against OpenTURNS and aggregate.

Run: ``python benchmarks/continuous.py`` (``--quick`` for small sizes).

1. Convergence against closed forms: max |delta cdf| at the cell edges and
   max |delta pdf| at the grid points, as the step halves.
2. 10 iid lognormals (sigma = 1): cdf at a few points against a fine-grid
   reference (with its own error estimate), OpenTURNS ``RandomMixture``
   and aggregate's FFT.
3. Compound Poisson(50) with lognormal(1) severity: the 99.5% quantile
   against aggregate and a Monte Carlo with its standard error.

Timings: median of repeats after a warm-up (jit compiled for probconv), on
a shared 2-core CPU machine: noisy, ratios only indicative.
"""

from __future__ import annotations

import argparse
import math
import time
import warnings

import jax
import numpy as np
import scipy.stats

jax.config.update("jax_enable_x64", True)

import probconv.distributions as dist  # noqa: E402


def timed(fn, repeat=5):
    fn()
    ts = []
    for _ in range(repeat):
        t = time.perf_counter()
        jax.block_until_ready(fn())
        ts.append(time.perf_counter() - t)
    return float(np.median(ts))


def convergence(steps):
    print("\n## Convergence against closed forms (float64)\n")
    print("| case | step | max abs d cdf | order | max abs d pdf | order |")
    print("| --- | --- | --- | --- | --- | --- |")
    cases = {
        "10 Exp(1) -> Gamma(10)": (
            lambda h: dist.iid_sum(dist.exponential(step=h, tail=1e-14), 10),
            scipy.stats.gamma(10),
        ),
        "4 U(0,1) -> Irwin-Hall": (
            lambda h: dist.iid_sum(dist.uniform(step=h), 4),
            None,
        ),
        "N(0,1) + N(1,2)": (
            lambda h: (
                dist.normal(step=h, tail=1e-14)
                + dist.normal(1.0, 2.0, step=h, tail=1e-14)
            ),
            scipy.stats.norm(1.0, math.sqrt(5.0)),
        ),
        "5 Cauchy (cut at +-400)": (
            lambda h: dist.iid_sum(dist.cauchy(step=h, support=(-400.0, 400.0)), 5),
            scipy.stats.cauchy(0, 5),
        ),
        "Gamma(3) + Gamma(4.5)": (
            lambda h: (
                dist.gamma(3.0, step=h, tail=1e-14)
                + dist.gamma(4.5, step=h, tail=1e-14)
            ),
            scipy.stats.gamma(7.5),
        ),
        "Exp(1) - Exp(1) -> Laplace": (
            lambda h: (
                dist.exponential(step=h, tail=1e-14)
                - dist.exponential(step=h, tail=1e-14)
            ),
            scipy.stats.laplace(),
        ),
        "N(0,0.7) + Poisson(3)": (
            lambda h: dist.normal(0.0, 0.7, step=h, tail=1e-14) + dist.poisson(3.0),
            None,
        ),
    }
    for name, (build, ref) in cases.items():
        prev = None
        for h in steps:
            s = build(h)
            x = np.asarray(s.points)
            e = x + h / 2
            f = np.cumsum(np.asarray(s.masses))
            if name.startswith("4 U"):
                rc, rp = _irwin_hall_cdf(e), _irwin_hall_pdf(x)
            elif name.startswith("N(0,0.7)"):
                k = np.arange(60)[:, None]
                w = scipy.stats.poisson(3).pmf(k)
                rc = np.sum(w * scipy.stats.norm(k, 0.7).cdf(e), 0)
                rp = np.sum(w * scipy.stats.norm(k, 0.7).pdf(x), 0)
            elif name.startswith("5 Cauchy"):
                # the grid holds the sum of the cut summands: compare the
                # body, with half the (symmetric) cut mass below it
                rc, rp = ref.cdf(e) - float(s.truncated) / 2, ref.pdf(x)
            else:
                rc, rp = ref.cdf(e), ref.pdf(x)
            dc = float(np.max(np.abs(f - rc)))
            dp = float(np.max(np.abs(np.asarray(s.pdf(x)) - rp)))
            oc = op = ""
            if prev is not None:
                oc = f"{math.log2(prev[0] / dc):.2f}" if dc > 0 else ""
                op = f"{math.log2(prev[1] / dp):.2f}" if dp > 0 else ""
            print(f"| {name} | {h:g} | {dc:.2e} | {oc} | {dp:.2e} | {op} |")
            prev = (dc, dp)


def _irwin_hall_cdf(x, n=4):
    out = np.zeros_like(x)
    for k in range(n + 1):
        out += (-1) ** k * math.comb(n, k) * np.clip(x - k, 0, None) ** n
    return np.clip(out / math.factorial(n), 0, 1)


def _irwin_hall_pdf(x, n=4):
    out = np.zeros_like(x)
    for k in range(n + 1):
        out += (-1) ** k * math.comb(n, k) * np.clip(x - k, 0, None) ** (n - 1)
    return out / math.factorial(n - 1)


def lognormal_sum(quick):
    print("\n## 10 iid lognormal(sigma=1): cdf\n")
    xs = np.array([5.0, 10.0, 16.5, 20.0, 40.0, 80.0])
    h_ref = 2.0**-7 if quick else 2.0**-8

    def build(h):
        return dist.iid_sum(dist.lognormal(1.0, step=h, tail=1e-12), 10)

    t = time.perf_counter()
    r = dist.discretization_error(build, h_ref)
    t_ref = time.perf_counter() - t
    ref = np.asarray(r.dist.cdf(xs, interpolation="cubic"))
    print(
        f"reference: probconv step {h_ref:g}, estimated error {r.error:.1e} "
        f"(observed order {r.order:.2f}), truncated mass "
        f"{float(r.dist.truncated):.1e}, {t_ref:.1f} s\n"
    )
    rows = []
    for h in (2.0**-4, 2.0**-5) if quick else (2.0**-4, 2.0**-5, 2.0**-6):
        x1 = dist.lognormal(1.0, step=h, tail=1e-12)
        support = (float(x1.support()[0]) + h / 2, float(x1.support()[1]) - h / 2)
        f = jax.jit(
            lambda s, h=h, support=support: dist.iid_sum(
                dist.lognormal(s, step=h, support=support), 10
            ).cdf(xs, interpolation="cubic")
        )
        val = np.asarray(f(1.0))
        rows.append(
            (f"probconv step 2^{int(math.log2(h))}", val, timed(lambda: f(1.0)))
        )
    import aggregate

    for log2, bs in ((16, 1 / 64), (18, 1 / 256)):

        def agg(log2=log2, bs=bs):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                a = aggregate.build(
                    "agg L 10 claims sev lognorm 1 fixed", log2=log2, bs=bs
                )
            return np.array([a.cdf(v) for v in xs])

        rows.append(
            (f"aggregate log2={log2} bs=1/{round(1 / bs)}", agg(), timed(agg, 3))
        )
    import openturns as ot

    def otcdf():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rm = ot.RandomMixture([ot.LogNormal(0.0, 1.0, 0.0)] * 10)
            return np.array([rm.computeCDF(float(v)) for v in xs])

    rows.append(("OpenTURNS RandomMixture", otcdf(), timed(otcdf, 3)))
    base = rows[1][2]
    print("| method | max abs d cdf vs reference | time (s) | time / probconv 2^-5 |")
    print("| --- | --- | --- | --- |")
    for name, val, tm in rows:
        print(
            f"| {name} | {np.max(np.abs(val - ref)):.1e} | {tm:.4f} | {tm / base:.2f} |"
        )
    print("\ncdf values:", ", ".join(f"F({v:g}) = {c:.9f}" for v, c in zip(xs, ref)))


def solvency(quick):
    print("\n## Compound Poisson(50), lognormal(1) severity: 99.5% quantile\n")
    rows = []
    for h in (2.0**-3, 2.0**-4) if quick else (2.0**-3, 2.0**-4, 2.0**-5):
        x = dist.lognormal(1.0, step=h, tail=1e-10)

        def q(x=x):
            s = dist.compound(dist.poisson(50.0), x)
            return s.ppf(0.995), s

        val, s = q()
        rows.append(
            (
                f"probconv step 2^{int(math.log2(h))}",
                float(val),
                timed(lambda: q()[0], 3),
            )
        )
    import aggregate

    for log2, bs in ((16, 1 / 64), (18, 1 / 256)):

        def agg(log2=log2, bs=bs):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                a = aggregate.build(
                    "agg C 50 claims sev lognorm 1 poisson", log2=log2, bs=bs
                )
            return a.q(0.995)

        rows.append(
            (f"aggregate log2={log2} bs=1/{round(1 / bs)}", float(agg()), timed(agg, 3))
        )
    n = 200_000 if quick else 2_000_000
    rng = np.random.default_rng(12345)
    t = time.perf_counter()
    k = rng.poisson(50.0, n)
    tot = np.zeros(n)
    idx = np.repeat(np.arange(n), k)
    np.add.at(tot, idx, rng.lognormal(0.0, 1.0, k.sum()))
    mc = float(np.quantile(tot, 0.995))
    t_mc = time.perf_counter() - t
    dens = float(s.pdf(mc))
    se = math.sqrt(0.995 * 0.005 / n) / dens
    rows.append((f"Monte Carlo n={n:.0e} (SE {se:.2f})", mc, t_mc))
    base = rows[1][2]
    print("| method | 99.5% quantile | time (s) | time / probconv 2^-4 |")
    print("| --- | --- | --- | --- |")
    for name, val, tm in rows:
        print(f"| {name} | {val:.4f} | {tm:.4f} | {tm / base:.2f} |")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    steps = (0.1, 0.05) if args.quick else (0.2, 0.1, 0.05, 0.025)
    convergence(steps)
    lognormal_sum(args.quick)
    solvency(args.quick)


if __name__ == "__main__":
    main()
