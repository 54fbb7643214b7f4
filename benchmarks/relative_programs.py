"""Programs compiled by one eager relative-mode call, and its cold time.

    python benchmarks/relative_programs.py iid iid2    # a call, then a new size
    python benchmarks/relative_programs.py cdens -v    # list the programs
    python benchmarks/relative_programs.py pb pb3      # a new size, same bucket

Each case is one public call with ``accuracy="relative"`` and a log-space
query, run in this (fresh) process under the test suite's compiler settings
(float64, `jax_disable_most_optimizations`, the classic CPU emitter). The
first case is the cold call; a second case, run after it, is the same call
on a new size (the cases ending in 2 change the bucket, those ending in 3
stay in the first case's bucket, `probconv.conv.bucket_length`). The
compilations are counted from the "jax" loggers with
`jax_log_compiles` (issue 14; docs/performance.md).
"""

from __future__ import annotations

import collections
import logging
import os
import sys
import time

os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ["XLA_FLAGS"] = (
    os.environ.get("XLA_FLAGS", "") + " --xla_cpu_use_fusion_emitters=false"
).strip()
os.environ["JAX_DISABLE_MOST_OPTIMIZATIONS"] = "1"

import jax  # noqa: E402
import numpy as np  # noqa: E402

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_disable_most_optimizations", True)
jax.config.update("jax_log_compiles", True)

from probconv import distributions as dist  # noqa: E402

NAMES: list[str] = []


class _Programs(logging.Handler):
    def emit(self, record):
        msg = record.getMessage()
        if msg.startswith("Compiling "):
            NAMES.append(msg.split()[1])


_log = logging.getLogger("jax")
_log.addHandler(_Programs())
_log.setLevel(logging.WARNING)
_log.propagate = False


def _exp(top):
    return dist.exponential(step=0.1, support=(0, top))


CASES = {
    "iid": lambda: dist.iid_sum(dist.bernoulli(0.5), 100, accuracy="relative").logpmf(
        3
    ),
    "iid2": lambda: dist.iid_sum(dist.bernoulli(0.5), 137, accuracy="relative").logpmf(
        3
    ),
    "iid3": lambda: dist.iid_sum(dist.bernoulli(0.5), 107, accuracy="relative").logpmf(
        3
    ),
    "add": lambda: dist.add(
        dist.binomial(30, 0.3), dist.poisson(3.0), accuracy="relative"
    ).logpmf(3),
    "add2": lambda: dist.add(
        dist.binomial(45, 0.3), dist.poisson(5.0), accuracy="relative"
    ).logpmf(3),
    "add3": lambda: dist.add(
        dist.binomial(31, 0.3), dist.poisson(3.0), accuracy="relative"
    ).logpmf(3),
    "pb": lambda: dist.poisson_binomial(
        np.linspace(0.1, 0.9, 40), accuracy="relative"
    ).logpmf(3),
    "pb2": lambda: dist.poisson_binomial(
        np.linspace(0.1, 0.9, 57), accuracy="relative"
    ).logpmf(3),
    "pb3": lambda: dist.poisson_binomial(
        np.linspace(0.1, 0.9, 37), accuracy="relative"
    ).logpmf(3),
    "compound": lambda: dist.compound(
        dist.poisson(2.0), dist.bernoulli(0.5) + 1, accuracy="relative"
    ).logpmf(3),
    "compound2": lambda: dist.compound(
        dist.poisson(3.0), dist.die(4) + 1, accuracy="relative"
    ).logpmf(3),
    "compound3": lambda: dist.compound(
        dist.poisson(2.5), dist.bernoulli(0.3) + 1, accuracy="relative"
    ).logpmf(3),
    "cdens": lambda: dist.compound(
        dist.negative_binomial(1, 0.5), _exp(400), accuracy="relative"
    ).logpdf(3.0),
    "cdens2": lambda: dist.compound(
        dist.negative_binomial(1, 0.5), _exp(300), accuracy="relative"
    ).logpdf(3.0),
    "cdens3": lambda: dist.compound(
        dist.negative_binomial(1, 0.5), _exp(405), accuracy="relative"
    ).logpdf(3.0),
}


def _run(case: str, verbose: bool) -> None:
    NAMES.clear()
    t = time.perf_counter()
    v = np.asarray(CASES[case]())
    dt = time.perf_counter() - t
    print(f"{case}: {len(NAMES)} programs, {dt:.2f} s, value {v}")
    if verbose:
        for name, c in collections.Counter(NAMES).most_common():
            print(f"   {c} {name}")


def main(argv: list[str]) -> None:
    verbose = "-v" in argv
    cases = [a for a in argv if a != "-v"]
    if not cases or any(c not in CASES for c in cases):
        raise SystemExit(f"cases: one or more of {sorted(CASES)}")
    print(f"load {os.getloadavg()[0]:.2f}")
    for case in cases:
        _run(case, verbose)


if __name__ == "__main__":
    main(sys.argv[1:])
