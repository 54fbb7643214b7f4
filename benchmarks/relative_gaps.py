"""Cost of keeping impossible points of relative sums at -inf (issue 15).

A relative `compound` or `iid_sum` of a lattice law whose support has gaps
computes which points a sum reaches (`_tilt.sumset`); a support without
gaps keeps the `[lo, hi]` window. Each case runs both ways in one process,
interleaved: "window (as main)" makes `_tilt.gapless` answer True (the
previous code's window, wrong at the impossible points), "sumsets" is the
library as it is. Times: medians of three medians of 5 runs after
compilation (caches cleared between the variants).

Run: python benchmarks/relative_gaps.py
"""

from __future__ import annotations

import time

import jax
import numpy as np

jax.config.update("jax_enable_x64", True)

import probconv.distributions as dist  # noqa: E402
from probconv.distributions import _tilt  # noqa: E402

CASES = {
    "compound(negative_binomial(3, 0.4), bernoulli(0.5) + 2)": lambda: dist.compound(
        dist.negative_binomial(3.0, 0.4), dist.bernoulli(0.5) + 2, accuracy="relative"
    ),
    "compound(poisson(20), {1, 3})": lambda: dist.compound(
        dist.poisson(20.0),
        dist.from_masses([0.5, 0, 0.5], origin=1),
        accuracy="relative",
    ),
    "iid_sum({2, 5, 6}, 1000)": lambda: dist.iid_sum(
        dist.from_masses([0.25, 0, 0, 0.25, 0.5], origin=2), 1000, accuracy="relative"
    ),
}


def _median_ms(f, runs: int = 5) -> float:
    jax.block_until_ready(f().log_masses)  # compile
    ts = []
    for _ in range(runs):
        t = time.perf_counter()
        jax.block_until_ready(f().log_masses)
        ts.append(time.perf_counter() - t)
    return 1e3 * float(np.median(ts))


def main() -> None:
    real = _tilt.gapless
    variants = (("window (as main)", lambda lx, first=None: True), ("sumsets", real))
    res: dict = {}
    try:
        for _ in range(3):
            for name, fn in variants:
                _tilt.gapless = fn
                jax.clear_caches()
                for case, f in CASES.items():
                    res.setdefault((case, name), []).append(_median_ms(f))
    finally:
        _tilt.gapless = real
    for (case, name), v in res.items():
        print(f"{case:58s} {name:17s} {np.median(v):7.1f} ms  {np.round(v, 1)}")


if __name__ == "__main__":
    main()
