"""Relative sums over many sizes in one process: time, memory, mappings.

A loop over `count` sizes of ``add(binomial(n, 0.3), poisson(2.0),
accuracy="relative")`` and its `logsf` (n = 20, 21, ...), after one warm-up
call: the wall time, the growth of resident memory and of memory mappings
(the kernel ends a process at 65,530), and the programs held in the
engine's bounded cache. Run::

    python benchmarks/relative_loop.py [count]   # default 150
"""

import json
import os
import sys
import time

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

from probconv import distributions as dist  # noqa: E402
from probconv.conv import _programs  # noqa: E402


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def mappings() -> int:
    with open("/proc/self/maps") as f:
        return sum(1 for _ in f)


def main(count: int) -> None:
    dist.add(dist.binomial(10, 0.3), dist.poisson(2.0), accuracy="relative").logsf(5.0)
    r0, m0, t0 = rss_mb(), mappings(), time.perf_counter()
    for n in range(20, 20 + count):
        d = dist.add(dist.binomial(n, 0.3), dist.poisson(2.0), accuracy="relative")
        float(d.logsf(float(n)))
    print(
        json.dumps(
            dict(
                sizes=count,
                seconds=round(time.perf_counter() - t0, 1),
                rss_growth_mb=round(rss_mb() - r0),
                new_mappings=mappings() - m0,
                programs_cached=len(_programs.PROGRAMS),
            )
        )
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 150)
