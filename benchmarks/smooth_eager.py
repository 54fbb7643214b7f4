"""Eager smoothing calls: this checkout against another revision, one process.

    python benchmarks/smooth_eager.py                  # against main
    python benchmarks/smooth_eager.py --before db0e5a1 --clock cpu

The rows of ``python benchmarks/eager.py --only smoothing`` (moving_average,
gaussian_smooth and ewma of 1,000 and 10,000 float64 samples from NumPy,
against scipy.ndimage and pandas), with a third contestant: the
`probconv.smooth` of another git revision, extracted to a temporary folder
and imported beside this checkout's (it shares this checkout's engine). The
three are timed in interleaved rounds (medians), and the two versions'
results are checked to agree bit for bit. ``--clock cpu`` times the
calling thread's CPU time instead of the wall clock: on a machine shared
with other jobs, the time a process waits for a core falls out (the host
route runs on the calling thread; JAX's copy to the device is synchronous
there).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import numpy as np  # noqa: E402
import scipy.ndimage  # noqa: E402

from probconv import smooth  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def load_before(rev: str, folder: str):
    """Import `rev`'s probconv/smooth as ``probconv.smooth_before``."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev, "probconv/smooth"],
        capture_output=True,
        check=True,
    ).stdout
    with tempfile.TemporaryFile() as f:
        f.write(archive)
        f.seek(0)
        with tarfile.open(fileobj=f) as tar:
            tar.extractall(folder, filter="data")
    package = os.path.join(folder, "probconv", "smooth")
    spec = importlib.util.spec_from_file_location(
        "probconv.smooth_before",
        os.path.join(package, "__init__.py"),
        submodule_search_locations=[package],
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def interleaved(fns: dict, clock, calls: int, rounds: int) -> dict:
    """Median seconds per call of each function, one sample of each per round."""
    for f in fns.values():
        f()
    samples = {name: [] for name in fns}
    for _ in range(rounds):
        for name, f in fns.items():
            t = clock()
            for _ in range(calls):
                f()
            samples[name].append((clock() - t) / calls)
    return {name: float(np.median(s)) for name, s in samples.items()}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--before", default="main", help="git revision (default main)")
    p.add_argument("--clock", choices=("wall", "cpu"), default="wall")
    p.add_argument("--rounds", type=int, default=15)
    args = p.parse_args()
    clock = time.perf_counter if args.clock == "wall" else time.thread_time
    import pandas as pd

    with tempfile.TemporaryDirectory() as folder:
        before = load_before(args.before, folder)
        print(
            f"this checkout against {args.before} ({args.clock} clock, medians "
            f"of {args.rounds} rounds; load average {os.getloadavg()[0]:.1f})"
        )
        print(f"  {'call':<32s} {'before':>9s} {'after':>9s} {'peer':>9s}  ratios")
        rng = np.random.default_rng(2)
        for n in (1000, 10_000):
            x = rng.standard_normal(n)
            s = pd.Series(x)
            for case, name, kwargs, peer in (
                (
                    f"moving_average n={n} w=21",
                    "moving_average",
                    dict(window=21),
                    lambda x=x: scipy.ndimage.uniform_filter1d(x, 21, mode="reflect"),
                ),
                (
                    f"gaussian_smooth n={n} sigma=4",
                    "gaussian_smooth",
                    dict(sigma=4.0),
                    lambda x=x: scipy.ndimage.gaussian_filter1d(x, 4.0),
                ),
                (
                    f"ewma n={n} alpha=0.1",
                    "ewma",
                    dict(alpha=0.1),
                    lambda s=s: s.ewm(alpha=0.1).mean().to_numpy(),
                ),
            ):
                old, new = getattr(before, name), getattr(smooth, name)
                np.testing.assert_array_equal(
                    np.asarray(old(x, **kwargs)), np.asarray(new(x, **kwargs))
                )
                t = interleaved(
                    {
                        "before": lambda old=old, x=x, kw=kwargs: old(x, **kw),
                        "after": lambda new=new, x=x, kw=kwargs: new(x, **kw),
                        "peer": peer,
                    },
                    clock,
                    calls=max(100, 2_000_000 // n // 10),
                    rounds=args.rounds,
                )
                b, a, q = t["before"], t["after"], t["peer"]
                print(
                    f"  {case:<32s} {b * 1e6:6.1f} us {a * 1e6:6.1f} us "
                    f"{q * 1e6:6.1f} us  {b / q:.2f}x -> {a / q:.2f}x",
                    flush=True,
                )
        print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
