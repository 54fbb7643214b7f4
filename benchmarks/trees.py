"""Jitted calls of one suite, timed in several source trees, alternating.

``python benchmarks/trees.py --suite smooth --trees /work/main /work/wt-x --rounds 3``
runs one process per tree and round, alternating between the trees, each
importing probconv from its tree (``PYTHONPATH``), and prints the best
time of each call over all its samples (7 per round) with the load average
seen before each round, and the least CPU time of each call (all threads;
under a load well above the core count the wall time mostly measures the
wait for a core, the CPU time much less so). Without ``--trees`` it times
the checkout on ``sys.path`` once and prints the times as JSON (what each
round runs). float64, jit-compiled before timing, CPU. Suites: ``smooth``
(the common smoothing calls), ``engine`` (rows of ``benchmarks/engine.py``),
``distributions`` (rows of ``benchmarks/dist.py``, and the first call of
the Poisson binomial, compilation included). The comparison is what to
read on a shared machine: an older tree (the code before a change, or the
one that measured a recorded table) and the newest, under the same load.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

CASES = {
    "smooth": (
        "moving_average(v, 21), 1000 x 10^4",
        "moving_average(v, 21), 10^7",
        "gaussian_smooth(v, 3), 1000 x 10^4",
        "gaussian_smooth(v, 3), 10^7",
        "gaussian_smooth(v, 10), 10^7",
        "savgol(v, 21, 3), 1000 x 10^4",
        "moving_average(v, 201, boundary='reflect'), 10^7",
        "moving_average(v, 201, boundary='constant'), 10^7",
        "moving_average(v, 201, boundary='reflect'), 1000 x 10^4",
        "ewma(v, alpha=0.01), 10^7",
    ),
    "engine": (
        "convolve(x, k), 10^5 x 300",
        "convolve(x, k), 10^6 x 3",
        "convolve(x, k), 10^6 x 30",
        "convolve(x, k), 10^6 x 3000",
        "convolve(x, k), 10^6 x 10^6",
        "convolve(x, k, 'same'), 300^2 x 300^2",
        "convolve(x, k, axes=-1), 1000 x 4096 by 129",
    ),
    "distributions": (
        "poisson_binomial(p), 10^5, first call",
        "poisson_binomial(p), 10^5",
        "iid_sum(die(6), 10^4)",
        "compound(poisson(1000), severity on 1..1000)",
    ),
}


def _best(f, args, repeats):
    import jax

    jax.block_until_ready(f(*args))
    wall = cpu = float("inf")
    for _ in range(repeats):
        c0, t0 = time.process_time(), time.perf_counter()
        jax.block_until_ready(f(*args))
        wall = min(wall, time.perf_counter() - t0)
        cpu = min(cpu, time.process_time() - c0)
    return wall, cpu


def _smooth_calls(np, jax, rng):
    from probconv import smooth

    data = {
        "1000 x 10^4": jax.numpy.asarray(rng.standard_normal((1000, 10_000))),
        "10^7": jax.numpy.asarray(rng.standard_normal(10**7)),
    }
    calls = {
        "moving_average(v, 21)": lambda v: smooth.moving_average(v, 21),
        "gaussian_smooth(v, 3)": lambda v: smooth.gaussian_smooth(v, 3),
        "gaussian_smooth(v, 10)": lambda v: smooth.gaussian_smooth(v, 10.0),
        "savgol(v, 21, 3)": lambda v: smooth.savgol(v, 21, 3),
        "moving_average(v, 201, boundary='reflect')": lambda v: smooth.moving_average(
            v, 201, boundary="reflect"
        ),
        "moving_average(v, 201, boundary='constant')": lambda v: smooth.moving_average(
            v, 201, boundary="constant"
        ),
        "ewma(v, alpha=0.01)": lambda v: smooth.ewma(v, alpha=0.01),
    }
    out = {}
    for case in CASES["smooth"]:
        call, size = case.rsplit(", ", 1)
        out[case] = (jax.jit(calls[call]), (data[size],))
    return out


def _engine_calls(np, jax, rng):
    import probconv

    def pair(n, k):
        return (
            jax.numpy.asarray(rng.standard_normal(n)),
            jax.numpy.asarray(rng.standard_normal(k)),
        )

    full = jax.jit(lambda x, k: probconv.convolve(x, k))
    same = jax.jit(lambda x, k: probconv.convolve(x, k, "same"))
    rows = jax.jit(lambda x, k: probconv.convolve(x, k, axes=-1))
    field = (
        jax.numpy.asarray(rng.standard_normal((300, 300))),
        jax.numpy.asarray(rng.standard_normal((300, 300))),
    )
    batch = (
        jax.numpy.asarray(rng.standard_normal((1000, 4096))),
        jax.numpy.asarray(rng.standard_normal((1, 129))),
    )
    return {
        "convolve(x, k), 10^5 x 300": (full, pair(10**5, 300)),
        "convolve(x, k), 10^6 x 3": (full, pair(10**6, 3)),
        "convolve(x, k), 10^6 x 30": (full, pair(10**6, 30)),
        "convolve(x, k), 10^6 x 3000": (full, pair(10**6, 3000)),
        "convolve(x, k), 10^6 x 10^6": (full, pair(10**6, 10**6)),
        "convolve(x, k, 'same'), 300^2 x 300^2": (same, field),
        "convolve(x, k, axes=-1), 1000 x 4096 by 129": (rows, batch),
    }


def _distribution_calls(np, jax, rng):
    try:
        from probconv import distributions as dist
    except ImportError:  # a tree from before the package's rename
        from probconv import dist

    jnp = jax.numpy
    p = jnp.asarray(rng.random(10**5))
    pb = jax.jit(lambda q: dist.poisson_binomial(q).masses)
    t0 = time.perf_counter()
    jax.block_until_ready(pb(p))
    first = time.perf_counter() - t0
    dice = jax.jit(
        lambda m: dist.iid_sum(dist.from_masses(m, origin=1.0), 10**4).masses
    )
    w = np.random.default_rng(1).random(1000)
    sev = jnp.asarray(np.concatenate([[0.0], w / w.sum()]))
    size = int(
        dist.compound(dist.poisson(1000.0), dist.from_masses(sev)).masses.shape[-1]
    )
    n_size = int(dist.poisson(1000.0).size)
    comp = jax.jit(
        lambda mu, xm: (
            dist.compound(
                dist.poisson(mu, size=n_size), dist.from_masses(xm), size=size
            ).masses
        )
    )
    return {
        "poisson_binomial(p), 10^5, first call": (None, first),
        "poisson_binomial(p), 10^5": (pb, (p,)),
        "iid_sum(die(6), 10^4)": (dice, (jnp.full(6, 1 / 6),)),
        "compound(poisson(1000), severity on 1..1000)": (
            comp,
            (jnp.asarray(1000.0), sev),
        ),
    }


def time_cases(suite: str, repeats: int) -> dict[str, tuple[float, float]]:
    """Best wall and CPU seconds of each case of `suite` in this process."""
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    import jax

    jax.config.update("jax_enable_x64", True)
    import numpy as np

    rng = np.random.default_rng(0)
    build = {
        "smooth": _smooth_calls,
        "engine": _engine_calls,
        "distributions": _distribution_calls,
    }[suite]
    out = {}
    for case, (f, args) in build(np, jax, rng).items():
        # (a first call is timed once, where it happens: wall and CPU alike)
        out[case] = (args, args) if f is None else _best(f, args, repeats)
    return out


def compare(suite: str, trees: list[str], rounds: int, repeats: int) -> None:
    """Alternate processes over `trees`; print each case's best per tree."""
    best = {t: {} for t in trees}
    for r in range(rounds):
        for tree in trees:
            load = os.getloadavg()[0]
            env = dict(os.environ, PYTHONPATH=tree)
            cmd = [
                sys.executable,
                __file__,
                "--suite",
                suite,
                "--repeats",
                str(repeats),
            ]
            res = subprocess.run(cmd, env=env, capture_output=True, text=True)
            if res.returncode:
                raise SystemExit(res.stderr)
            times = json.loads(res.stdout.strip().splitlines()[-1])
            print(f"round {r + 1} {tree}: load {load:.1f}", flush=True)
            for case, t in times.items():
                old = best[tree].get(case, t)
                best[tree][case] = (min(old[0], t[0]), min(old[1], t[1]))
    print("ms, wall / CPU; ratio: first tree's time / last tree's (> 1: last faster)")
    print("case | " + " | ".join(trees) + " | ratio wall / CPU")
    for case in CASES[suite]:
        cells = [best[t][case] for t in trees]
        row = " | ".join(f"{w * 1e3:.1f} / {c * 1e3:.1f}" for w, c in cells)
        wall = cells[0][0] / cells[-1][0]
        cpu = cells[0][1] / cells[-1][1]
        print(f"{case} | {row} | {wall:.2f} / {cpu:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", choices=sorted(CASES), default="smooth")
    parser.add_argument("--trees", nargs="+", help="source trees to compare")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    if args.trees:
        compare(args.suite, args.trees, args.rounds, args.repeats)
    else:
        print(json.dumps(time_cases(args.suite, args.repeats)))


if __name__ == "__main__":
    main()
