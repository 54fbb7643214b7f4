"""The common smoothing calls, timed in two source trees (main against a branch).

``python benchmarks/smooth_trees.py --trees /work/main /work/wt-x --rounds 3``
runs one process per tree and round, alternating between the trees, each
importing probconv from its tree (``PYTHONPATH``), and prints the best
time of each call over all its samples (7 per round) with the load average
seen before each round, and the least CPU time of each call (all threads;
under a load well above the core count the wall time mostly measures the
wait for a core, the CPU time much less so). Without ``--trees`` it times
the checkout on ``sys.path`` once and prints the times as JSON (what each
round runs). float64, jit-compiled before timing, CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

CASES = (
    "moving_average(v, 21), 1000 x 10^4",
    "moving_average(v, 21), 10^7",
    "gaussian_smooth(v, 3), 1000 x 10^4",
    "gaussian_smooth(v, 3), 10^7",
    "savgol(v, 21, 3), 1000 x 10^4",
    "moving_average(v, 201, boundary='reflect'), 10^7",
    "moving_average(v, 201, boundary='constant'), 10^7",
    "moving_average(v, 201, boundary='reflect'), 1000 x 10^4",
)


def time_cases(repeats: int) -> dict[str, tuple[float, float]]:
    """Best wall and CPU seconds of each case in this process."""
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    import jax

    jax.config.update("jax_enable_x64", True)
    import numpy as np

    from probconv import smooth

    rng = np.random.default_rng(0)
    data = {
        "1000 x 10^4": jax.numpy.asarray(rng.standard_normal((1000, 10_000))),
        "10^7": jax.numpy.asarray(rng.standard_normal(10**7)),
    }
    calls = {
        "moving_average(v, 21)": lambda v: smooth.moving_average(v, 21),
        "gaussian_smooth(v, 3)": lambda v: smooth.gaussian_smooth(v, 3),
        "savgol(v, 21, 3)": lambda v: smooth.savgol(v, 21, 3),
        "moving_average(v, 201, boundary='reflect')": lambda v: smooth.moving_average(
            v, 201, boundary="reflect"
        ),
        "moving_average(v, 201, boundary='constant')": lambda v: smooth.moving_average(
            v, 201, boundary="constant"
        ),
    }
    out = {}
    for case in CASES:
        call, size = case.rsplit(", ", 1)
        f, x = jax.jit(calls[call]), data[size]
        jax.block_until_ready(f(x))
        wall = cpu = float("inf")
        for _ in range(repeats):
            c0, t0 = time.process_time(), time.perf_counter()
            jax.block_until_ready(f(x))
            wall = min(wall, time.perf_counter() - t0)
            cpu = min(cpu, time.process_time() - c0)
        out[case] = (wall, cpu)
    return out


def compare(trees: list[str], rounds: int, repeats: int) -> None:
    """Alternate processes over `trees`; print each case's best per tree."""
    best = {t: {} for t in trees}
    for r in range(rounds):
        for tree in trees:
            load = os.getloadavg()[0]
            env = dict(os.environ, PYTHONPATH=tree)
            cmd = [sys.executable, __file__, "--repeats", str(repeats)]
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
    for case in CASES:
        cells = [best[t][case] for t in trees]
        row = " | ".join(f"{w * 1e3:.1f} / {c * 1e3:.1f}" for w, c in cells)
        wall = cells[0][0] / cells[-1][0]
        cpu = cells[0][1] / cells[-1][1]
        print(f"{case} | {row} | {wall:.2f} / {cpu:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trees", nargs="+", help="source trees to compare")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    if args.trees:
        compare(args.trees, args.rounds, args.repeats)
    else:
        print(json.dumps(time_cases(args.repeats)))


if __name__ == "__main__":
    main()
