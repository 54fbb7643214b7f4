"""Eager calls from NumPy code: probconv against scipy, numpy and pandas.

    python benchmarks/eager.py                 # every table below
    python benchmarks/eager.py --only engine   # engine, distributions, smoothing,
                                               # loop-convolve or loop-pb
    python benchmarks/eager.py --only loop-convolve --rounds 5   # medians
    python benchmarks/eager.py --only host-rule   # the host's 1-D method rule

What users do when they do not write `jax.jit`: call probconv on NumPy
arrays, on small inputs, over and over, and in loops over many sizes in one
process. The single-call tables time contestants interleaved (one sample of
each per round, medians), after a warm-up call, so they show the cost of a
repeated signature. The loop tables run each contestant in a fresh process
over many distinct sizes and report the total wall time (compilations
included) and the growth of resident memory.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import numpy as np  # noqa: E402
import scipy.ndimage  # noqa: E402
import scipy.signal  # noqa: E402
import scipy.stats  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from _timing import interleaved_times  # noqa: E402

import probconv  # noqa: E402
from probconv import distributions as dist  # noqa: E402
from probconv import smooth  # noqa: E402

ROWS: list[tuple[str, float, float, str]] = []


def table_row(case, ours, peer, peer_name):
    ratio = ours / peer
    ROWS.append((case, ours, peer, peer_name))
    print(
        f"  {case:<44s} {ours * 1e6:10.1f} us  {peer_name:<28s} "
        f"{peer * 1e6:10.1f} us  {ratio:6.2f}x",
        flush=True,
    )


def compare(case, ours, peer, peer_name):
    t = interleaved_times({"ours": ours, "peer": peer}, rounds=9, min_time=0.02)
    table_row(case, t["ours"], t["peer"], peer_name)


def engine():
    print("\nEngine, eager, NumPy float64 in (ratio: probconv / scipy.signal)")
    rng = np.random.default_rng(0)
    for n in (100, 1000, 10_000):
        for k in (3, 31, 301):
            x, h = rng.standard_normal(n), rng.standard_normal(k)
            compare(
                f"convolve n={n} k={k}",
                (probconv.convolve, (x, h)),
                (scipy.signal.convolve, (x, h)),
                "scipy.signal.convolve",
            )
            compare(
                f"correlate n={n} k={k} 'same'",
                (lambda a, b: probconv.correlate(a, b, "same"), (x, h)),
                (lambda a, b: scipy.signal.correlate(a, b, "same"), (x, h)),
                "scipy.signal.correlate",
            )


def distributions():
    print("\nDistributions, eager (ratio: probconv / scipy.stats)")
    cases = [
        (
            "binomial(20, 0.3).sf(5)",
            lambda: dist.binomial(20, 0.3).sf(5),
            lambda: scipy.stats.binom.sf(5, 20, 0.3),
            "scipy.stats.binom.sf",
        ),
        (
            "binomial(20, 0.3).ppf(0.9)",
            lambda: dist.binomial(20, 0.3).ppf(0.9),
            lambda: scipy.stats.binom.ppf(0.9, 20, 0.3),
            "scipy.stats.binom.ppf",
        ),
        (
            "poisson(4.0).sf(10)",
            lambda: dist.poisson(4.0).sf(10),
            lambda: scipy.stats.poisson.sf(10, 4.0),
            "scipy.stats.poisson.sf",
        ),
        (
            "poisson(4.0).ppf(0.99)",
            lambda: dist.poisson(4.0).ppf(0.99),
            lambda: scipy.stats.poisson.ppf(0.99, 4.0),
            "scipy.stats.poisson.ppf",
        ),
        (
            "negative_binomial(5, 0.4).sf(12)",
            lambda: dist.negative_binomial(5, 0.4).sf(12),
            lambda: scipy.stats.nbinom.sf(12, 5, 0.4),
            "scipy.stats.nbinom.sf",
        ),
        (
            "negative_binomial(5, 0.4).ppf(0.95)",
            lambda: dist.negative_binomial(5, 0.4).ppf(0.95),
            lambda: scipy.stats.nbinom.ppf(0.95, 5, 0.4),
            "scipy.stats.nbinom.ppf",
        ),
    ]
    for name, ours, peer, peer_name in cases:
        compare(name, (ours, ()), (peer, ()), peer_name)
    # dice(10, 6): scipy has no dice; numpy's repeated convolution is the peer.
    die = np.full(6, 1 / 6)

    def numpy_dice():
        out = np.ones(1)
        for _ in range(10):
            out = np.convolve(out, die)
        return out

    compare(
        "dice(10, 6)",
        (lambda: dist.dice(10, 6).masses, ()),
        (numpy_dice, ()),
        "numpy.convolve x10",
    )

    # A sum of two laws: scipy has no sums; its pmfs and numpy.convolve are
    # the peer (the grid of the Poisson law cut where probconv cuts it).
    def scipy_sum():
        a = scipy.stats.binom.pmf(np.arange(21), 20, 0.3)
        b = scipy.stats.poisson.pmf(np.arange(27), 4.0)
        return np.convolve(a, b)[11:].sum()

    compare(
        "(binomial(20, 0.3) + poisson(4.0)).sf(10)",
        (lambda: (dist.binomial(20, 0.3) + dist.poisson(4.0)).sf(10), ()),
        (scipy_sum, ()),
        "scipy pmfs + numpy.convolve",
    )
    # The stages of one family row, each against the whole of scipy's call:
    # the constructor (its grid deferred), the grid built (`masses`, what a sum
    # or a moment reads), and the query of a law already made.
    made = dist.negative_binomial(5, 0.4)
    for name, ours in [
        ("  stage: negative_binomial(5, 0.4)", lambda: dist.negative_binomial(5, 0.4)),
        ("  stage: ... .masses", lambda: dist.negative_binomial(5, 0.4).masses),
        ("  stage: made.sf(12)", lambda: made.sf(12)),
    ]:
        peer = lambda: scipy.stats.nbinom.sf(12, 5, 0.4)  # noqa: E731
        compare(name, (ours, ()), (peer, ()), "scipy.stats.nbinom.sf")
    rng = np.random.default_rng(1)
    for n in (10, 50, 200, 1000):
        p = rng.uniform(0.001, 0.2, n)
        compare(
            f"poisson_binomial({n}).sf(5)",
            (lambda p=p: dist.poisson_binomial(p).sf(5), ()),
            (lambda p=p: scipy.stats.poisson_binom.sf(5, p), ()),
            "scipy.stats.poisson_binom.sf",
        )


def smoothing():
    import pandas as pd

    print("\nSmoothing, eager (ratio: probconv / scipy.ndimage or pandas)")
    rng = np.random.default_rng(2)
    for n in (1000, 10_000):
        x = rng.standard_normal(n)
        s = pd.Series(x)
        compare(
            f"moving_average n={n} w=21",
            (lambda x=x: smooth.moving_average(x, 21), ()),
            (lambda x=x: scipy.ndimage.uniform_filter1d(x, 21, mode="reflect"), ()),
            "ndimage.uniform_filter1d",
        )
        compare(
            f"gaussian_smooth n={n} sigma=4",
            (lambda x=x: smooth.gaussian_smooth(x, 4.0), ()),
            (lambda x=x: scipy.ndimage.gaussian_filter1d(x, 4.0), ()),
            "ndimage.gaussian_filter1d",
        )
        compare(
            f"ewma n={n} alpha=0.1",
            (lambda x=x: smooth.ewma(x, alpha=0.1), ()),
            (lambda s=s: s.ewm(alpha=0.1).mean().to_numpy(), ()),
            "pandas ewm().mean()",
        )


def host_rule():
    """Time the host's three 1-D methods on a grid; fit and check `host_method`.

    The calibration of `probconv.conv._host.HOST_COSTS`, `HOST_FFT_COSTS`
    and `HOST_OA_COSTS`: `numpy.convolve` against the host's real FFT
    (`fft_convolve`) and overlap-add (`oa_convolve`), best of 5 each, on n1 =
    100..100,000 (13 log steps) by n2 = 3..512, float64 and float32; each
    model's terms fitted by relative least squares, and the rule in the
    package checked against the fastest method of each shape.
    """
    from scipy.fft import next_fast_len

    from probconv.conv import _host

    def best(f, a, v, rounds=5):
        times = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            f(a, v)
            times.append(time.perf_counter() - t0)
        return min(times)

    def fit(terms, t):
        return np.linalg.lstsq(terms / t[:, None], np.ones_like(t), rcond=None)[0]

    methods = ("direct", "fft", "overlap_add")
    rng = np.random.default_rng(3)
    for dtype in (np.float64, np.float32):
        rows = []
        for n1 in np.unique(np.logspace(2, 5, 13).astype(int)):
            for n2 in (3, 5, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512):
                if n2 > n1:
                    continue
                a = rng.standard_normal(n1).astype(dtype)
                v = rng.standard_normal(n2).astype(dtype)
                d = best(np.convolve, a, v)
                f = best(_host.fft_convolve, a, v)
                o = best(_host.oa_convolve, a, v)
                pick = _host.host_method(int(n1), n2, np.dtype(dtype).itemsize)
                rows.append((n1, n2, d, f, o, methods.index(pick)))
        n1, n2, d, f, o, pick = (
            np.array([r[i] for r in rows], float) for i in range(6)
        )
        size = np.array([next_fast_len(int(m), True) for m in n1 + n2 - 1], float)
        work = size * np.log2(size)
        cd = fit(np.c_[np.ones_like(n1), n1 + n2 - 1, n1 * n2], d)
        cache = work * np.maximum(0, np.log2(size / 2**14))
        cf = fit(np.c_[np.ones_like(n1), work, cache], f)
        times = np.c_[d, f, o]
        fastest = times.min(axis=1)
        took = times[np.arange(len(rows)), pick.astype(int)]
        name = np.dtype(dtype).name
        print(f"\nHost rule, {name}: {len(rows)} shapes")
        print(
            f"  fitted direct: call {cd[0]:.3g} s, output {cd[1]:.3g} s, "
            f"mac {cd[2]:.3g} s"
        )
        print(
            f"  fitted fft: call {cf[0]:.3g} s, work {cf[1]:.3g} s, cache "
            f"{cf[2] / cf[1]:.3g} per doubling past 2**14"
        )
        wrong = (times.argmin(axis=1) != pick).sum()
        print(
            f"  the package's rule: not the fastest in {wrong} of {len(rows)} "
            f"shapes, {took.sum() / fastest.sum() - 1:.1%} over the fastest of "
            f"each; all direct {d.sum() / fastest.sum() - 1:.1%}; overlap-add "
            f"fastest in {(times.argmin(axis=1) == 2).sum()}"
        )


# -- loops over many sizes, each contestant in its own process -----------------

LOOP_CODE = r"""
import json, os, sys, time
os.environ.setdefault("JAX_PLATFORMS", "cpu")
import jax
jax.config.update("jax_enable_x64", True)
import numpy as np, scipy.signal, scipy.stats
import probconv
from probconv import distributions as dist

def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

which, contestant, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
rng = np.random.default_rng(7)
if which == "convolve":
    ns = rng.permutation(np.arange(100, 100 + count))
    ks = rng.integers(3, 302, count)
    work = [(rng.standard_normal(n), rng.standard_normal(k)) for n, k in zip(ns, ks)]
    # big inputs too, past the host path: every tenth signal 20x longer
    work = [(np.tile(a, 20) if i % 10 == 0 else a, b) for i, (a, b) in enumerate(work)]
    fn = probconv.convolve if contestant == "probconv" else scipy.signal.convolve
    args = work
else:
    sizes = np.arange(20, 20 + count)
    args = [(rng.uniform(0.001, 0.1, n), int(n // 20)) for n in sizes]
    if contestant == "probconv":
        fn = lambda p, k: dist.poisson_binomial(p).sf(k)
    else:
        fn = lambda p, k: scipy.stats.poisson_binom.sf(k, p)
from probconv.conv import _programs
base = rss_mb()
builds = _programs.PROGRAMS.builds
t0, c0 = time.perf_counter(), time.process_time()
checksum = float(np.asarray(fn(*args[0])).sum())
first = time.perf_counter() - t0  # (probconv's: JAX's backend start)
for a in args[1:]:
    checksum += float(np.asarray(fn(*a)).sum())
seconds = time.perf_counter() - t0
print(json.dumps({"seconds": seconds, "cpu": time.process_time() - c0,
                  "first_ms": 1e3 * first,
                  "rss_growth_mb": rss_mb() - base, "checksum": checksum,
                  "programs": _programs.PROGRAMS.builds - builds}))
"""


def loop(which, count, rounds=1):
    title = {
        "convolve": f"convolve over {count} distinct (n, k) pairs",
        "pb": f"poisson_binomial(p).sf(k) over {count} portfolios of 20..{19 + count}",
    }[which]
    print(f"\nLoop, one process: {title}")
    peer = "scipy.signal.convolve" if which == "convolve" else "scipy poisson_binom"
    runs = {"probconv": [], "scipy": []}
    for _ in range(rounds):  # contestants alternate, each in a fresh process
        for contestant in runs:
            proc = subprocess.run(
                [sys.executable, "-c", LOOP_CODE, which, contestant, str(count)],
                capture_output=True,
                text=True,
                check=True,
            )
            runs[contestant].append(json.loads(proc.stdout.strip().splitlines()[-1]))
        ours, theirs = runs["probconv"][-1], runs["scipy"][-1]
        rel = abs(ours["checksum"] - theirs["checksum"]) / abs(theirs["checksum"])
        print(
            f"  probconv {ours['seconds']:8.2f} s (CPU {ours['cpu']:.2f} s, first "
            f"call {ours['first_ms']:.1f} ms), RSS +{ours['rss_growth_mb']:.0f} MB, "
            f"{ours['programs']} programs built   {peer} {theirs['seconds']:8.2f} s "
            f"(CPU {theirs['cpu']:.2f} s, first call {theirs['first_ms']:.1f} ms), "
            f"RSS +{theirs['rss_growth_mb']:.0f} MB   ratio "
            f"{ours['seconds'] / theirs['seconds']:.2f}x   checksums agree to "
            f"{rel:.1e}",
            flush=True,
        )
    if rounds > 1:

        def median(name, key):
            return float(np.median([r[key] for r in runs[name]]))

        wall = median("probconv", "seconds") / median("scipy", "seconds")
        cpu = median("probconv", "cpu") / median("scipy", "cpu")
        print(
            f"  medians of {rounds} rounds: probconv "
            f"{median('probconv', 'seconds'):.3f} s (CPU "
            f"{median('probconv', 'cpu'):.3f} s), {peer} "
            f"{median('scipy', 'seconds'):.3f} s (CPU {median('scipy', 'cpu'):.3f}"
            f" s); ratio {wall:.2f}x (CPU {cpu:.2f}x); first calls "
            f"{median('probconv', 'first_ms'):.1f} and "
            f"{median('scipy', 'first_ms'):.1f} ms",
            flush=True,
        )


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--only",
        choices=[
            "engine",
            "distributions",
            "smoothing",
            "host-rule",
            "loop-convolve",
            "loop-pb",
        ],
    )
    p.add_argument("--count", type=int, default=2000, help="sizes in each loop")
    p.add_argument(
        "--rounds", type=int, default=1, help="alternating runs of each loop"
    )
    args = p.parse_args()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"load average at start: {load} ({os.cpu_count()} cores)")
    t = time.time()
    steps = {
        "engine": engine,
        "distributions": distributions,
        "smoothing": smoothing,
        "host-rule": host_rule,
        "loop-convolve": lambda: loop("convolve", args.count, args.rounds),
        "loop-pb": lambda: loop("pb", args.count, args.rounds),
    }
    for name, fn in steps.items():
        if args.only in (None, name):
            fn()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\n{time.time() - t:.0f} s in all; load average at the end: {load}")


if __name__ == "__main__":
    main()
