"""Distributions of sums: probconv.distributions side by side with its peers, on CPU.

    python benchmarks/dist.py            # the sizes in docs/performance.md
    python benchmarks/dist.py --quick    # small sizes, a few seconds

Timings are medians of repeated runs after compilation (jax.block_until_ready);
"first call" includes tracing and compilation. The machine is shared and noisy
(expect 10-30 % spread). Accuracy is the largest absolute error of the masses
against a reference computed otherwise (exact, or a positive recursion).
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import time
import warnings

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import scipy.signal  # noqa: E402

from probconv import distributions as dist  # noqa: E402

ROWS: list[tuple[str, str, float, str]] = []


def timeit(fn, repeat=5):
    """Median wall time of `fn()` over `repeat` runs (after one warm-up)."""
    jax.block_until_ready(fn())
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def once(fn):
    t = time.perf_counter()
    out = jax.block_until_ready(fn())
    return time.perf_counter() - t, out


def row(task, impl, seconds, note=""):
    ROWS.append((task, impl, seconds, note))
    print(f"  {impl:<44s} {seconds * 1e3:11.2f} ms  {note}", flush=True)


# -- Poisson binomial ------------------------------------------------------------


def pb_recursion(p):
    law = np.ones(1)
    for pi in p:
        law = np.concatenate([law * (1 - pi), [0.0]]) + np.concatenate(
            [[0.0], law * pi]
        )
    return law


def pb_scipy_tree(p):
    """Pairwise product tree with scipy.signal.fftconvolve, one call a level."""
    width = 1 << (len(p) - 1).bit_length()
    pp = np.zeros(width)
    pp[: len(p)] = p
    m = np.stack([1 - pp, pp], axis=-1)
    while m.shape[0] > 1:
        m = scipy.signal.fftconvolve(m[0::2], m[1::2], axes=-1)
    return np.clip(m[0, : len(p) + 1], 0, None)


def bench_poisson_binomial(n):
    print(f"poisson_binomial of {n} probabilities")
    p = np.random.default_rng(0).random(n)
    pj = jnp.asarray(p)
    f = jax.jit(lambda q: dist.poisson_binomial(q).masses)
    t_first, ours = once(lambda: f(pj))
    row("poisson_binomial", "probconv (first call, compiles)", t_first)
    t_ours = timeit(lambda: f(pj))
    t_tree = timeit(lambda: pb_scipy_tree(p), repeat=3)
    t_rec, ref = once(lambda: pb_recursion(p))
    err = float(np.max(np.abs(np.asarray(ours) - ref)))
    err_tree = float(np.max(np.abs(pb_scipy_tree(p) - ref)))
    row(
        "poisson_binomial",
        "probconv.distributions.poisson_binomial (jit)",
        t_ours,
        f"max abs err {err:.1e}",
    )
    row(
        "poisson_binomial",
        "scipy.signal.fftconvolve product tree",
        t_tree,
        f"max abs err {err_tree:.1e}; x{t_tree / t_ours:.1f}",
    )
    row(
        "poisson_binomial",
        "numpy direct recursion (reference)",
        t_rec,
        f"x{t_rec / t_ours:.0f}",
    )


# -- iid sums of dice ----------------------------------------------------------------


def bench_dice_icepool(n):
    import icepool

    print(f"iid_sum(die(6), {n}) against icepool (exact)")
    t_ice, die_sum = once(lambda: n @ icepool.d6)
    outcomes = np.array(die_sum.outcomes(), dtype=np.int64)
    quantities = die_sum.quantities()
    denom = die_sum.denominator()
    ref = np.array([q / denom for q in quantities], dtype=np.float64)  # exact ints
    die = jnp.full(6, 1 / 6)  # an argument, so that XLA cannot fold the result
    f = jax.jit(lambda m: dist.iid_sum(dist.from_masses(m, origin=1.0), n).masses)
    t_first, ours = once(lambda: f(die))
    t_ours = timeit(lambda: f(die))
    err = float(np.max(np.abs(np.asarray(ours)[outcomes - n] - ref)))
    row("dice", "probconv (first call, compiles)", t_first)
    row(
        "dice",
        f"probconv.distributions.iid_sum(die(6), {n}) (jit)",
        t_ours,
        f"max abs err vs exact {err:.1e}",
    )
    row(
        "dice", f"icepool {n} @ d6 (first call, exact)", t_ice, f"x{t_ice / t_ours:.0f}"
    )


def bench_dice_scipy(n):
    print(f"iid_sum(die(6), {n}) against repeated scipy convolution")
    die = np.full(6, 1 / 6)

    def repeated():
        out = die
        for _ in range(n - 1):
            out = scipy.signal.convolve(out, die)
        return out

    def powering():
        out, base, k = np.ones(1), die, n
        while k:
            if k & 1:
                out = scipy.signal.fftconvolve(out, base)
            k >>= 1
            if k:
                base = scipy.signal.fftconvolve(base, base)
        return np.clip(out, 0, None)

    dj = jnp.asarray(die)
    f = jax.jit(lambda m: dist.iid_sum(dist.from_masses(m, origin=1.0), n).masses)
    t_ours = timeit(lambda: f(dj))
    t_rep, ref = once(repeated)
    t_pow = timeit(powering, repeat=3)
    err = float(np.max(np.abs(np.asarray(f(dj)) - ref)))
    err_pow = float(np.max(np.abs(powering() - ref)))
    row(
        "dice",
        f"probconv.distributions.iid_sum(die(6), {n}) (jit)",
        t_ours,
        f"max abs diff vs repeated {err:.1e}",
    )
    row(
        "dice",
        f"scipy.signal.convolve repeated {n - 1} times",
        t_rep,
        f"x{t_rep / t_ours:.0f}",
    )
    row(
        "dice",
        "scipy.signal.fftconvolve binary powering",
        t_pow,
        f"max abs diff {err_pow:.1e}; x{t_pow / t_ours:.1f}",
    )


# -- compound Poisson ----------------------------------------------------------------


def panjer_poisson(lam, sev, size):
    """Panjer's recursion for a compound Poisson law, rescaled against underflow.

    g_s = (lam / s) * sum_j j f_j g_{s-j}: sums of positive terms, so every
    mass keeps a small relative error (the reference for both FFT methods).
    """
    m = len(sev) - 1
    jf = lam * np.arange(m + 1) * sev
    g = np.zeros(size)
    g[0] = 1.0  # e^{-lam} underflows; scale by e^{lam} and renormalize at the end
    log_scale = 0.0
    rev = jf[::-1][:-1]  # j f_j for j = m .. 1
    for s in range(1, size):
        lo = max(0, s - m)
        g[s] = np.dot(rev[m - (s - lo) :], g[lo:s]) / s
        if g[s] > 1e250:
            g[: s + 1] *= 1e-250
            log_scale += 250 * math.log(10)
    return g / g.sum()


def bench_compound(lam, m):
    import aggregate

    print(f"compound Poisson({lam}) with a discrete severity on 1..{m}")
    w = np.random.default_rng(1).random(m)
    sev = np.concatenate([[0.0], w / w.sum()])
    x = dist.from_masses(sev)
    N = dist.poisson(float(lam))

    def ours_eager():
        return dist.compound(N, x).masses

    t_first, out = once(ours_eager)
    size = out.shape[-1]
    t_ours = timeit(ours_eager, repeat=3)
    f = jax.jit(
        lambda mu, xm: (
            dist.compound(
                dist.poisson(mu, size=int(N.size)), dist.from_masses(xm), size=size
            ).masses
        )
    )
    muj, xmj = jnp.asarray(float(lam)), jnp.asarray(sev)
    t_jit = timeit(lambda: f(muj, xmj), repeat=3)

    log2 = max(10, math.ceil(math.log2(size)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        agg = aggregate.Aggregate(
            "bench",
            exp_en=lam,
            sev_name="dhistogram",
            sev_xs=np.arange(1.0, m + 1),
            sev_ps=sev[1:],
            freq_name="poisson",
        )

        def theirs():
            agg.update(
                log2=log2, bs=1, padding=1, normalize=False, approximation="exact"
            )
            return agg.agg_density

        t_agg = timeit(theirs, repeat=3)
        dens = np.asarray(theirs())
    t_ref, ref = once(lambda: panjer_poisson(lam, sev, size))
    ours = np.asarray(out)
    n_common = min(size, dens.size)
    err_ours = float(np.max(np.abs(ours - ref)))
    err_agg = float(np.max(np.abs(dens[:n_common] - ref[:n_common])))
    neg_agg = int(np.sum(dens < 0))
    mean_ref = float(np.sum(np.arange(size) * ref))
    row("compound", "probconv (first call: sizing + compiles)", t_first)
    row(
        "compound",
        f"probconv.distributions.compound (eager, grid {size})",
        t_ours,
        f"max abs err {err_ours:.1e}; 0 negative masses",
    )
    row("compound", "probconv.distributions.compound (jit, size given)", t_jit)
    row(
        "compound",
        f"aggregate FFT (log2={log2}, padding=1)",
        t_agg,
        f"max abs err {err_agg:.1e}; {neg_agg} negative masses; x{t_agg / t_ours:.1f}",
    )
    row(
        "compound",
        "Panjer recursion in numpy (reference)",
        t_ref,
        f"mean {mean_ref:.6f} (exact {lam * np.dot(np.arange(m + 1), sev):.6f})",
    )


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="small sizes")
    args = ap.parse_args()
    print(f"jax {jax.__version__} on {jax.default_backend()}, float64")
    if args.quick:
        bench_poisson_binomial(2_000)
        bench_dice_icepool(30)
        bench_dice_scipy(300)
        bench_compound(50, 100)
    else:
        bench_poisson_binomial(100_000)
        bench_dice_icepool(300)
        bench_dice_scipy(10_000)
        bench_compound(1000, 1000)
    print()
    print("| task | implementation | time (ms) | notes |")
    print("| --- | --- | ---: | --- |")
    for task, impl, sec, note in ROWS:
        print(f"| {task} | {impl} | {sec * 1e3:.2f} | {note} |")


if __name__ == "__main__":
    main()
