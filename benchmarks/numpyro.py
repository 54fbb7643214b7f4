"""Time per log-density gradient of a numpyro model: probconv against a hand sum.

    python benchmarks/numpyro.py            # 100, 1,000, 10,000 observations
    python benchmarks/numpyro.py --quick    # 100 and 1,000, fewer repeats

The model is examples/numpyro_two_sources.py: totals Binomial(n_i, p) +
Poisson(lam) with n_i in 5..30. probconv computes one law per distinct n_i
(a batch: a Poisson binomial padded with zero-probability trials, plus the
Poisson) and observes the totals through `to_numpyro` in a masked grid; the
hand sum computes, for each observation, the sum over its binomial count.
Both are the same log density (checked here to 1e-9 relative). Timings are
medians of the jitted gradient of numpyro's potential energy
(`initialize_model(...).potential_fn`), after compilation, interleaved
(benchmarks/_timing.py); compilation times are printed too. The machine is
shared and noisy (expect 10-30 % spread).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("JAX_PLATFORMS", "cpu")
# This file is named like the package it benchmarks: take its folder off the
# front of the path so that `import numpyro` finds numpyro, and put it last.
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE] + [str(HERE)]

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import numpy as np  # noqa: E402
from numpyro.infer.util import initialize_model  # noqa: E402

sys.path.insert(0, str(HERE.parent / "examples"))

from _timing import interleaved_times  # noqa: E402
from numpyro_two_sources import (  # noqa: E402
    hand_sum_model,
    probconv_model,
    simulate,
)


def gradient(model, args):
    info = initialize_model(jax.random.key(0), model, model_args=args)
    z = info.param_info.z
    fn = jax.jit(jax.value_and_grad(info.potential_fn))
    t0 = time.perf_counter()
    value, _ = jax.block_until_ready(fn(z))
    return fn, z, float(value), time.perf_counter() - t0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    sizes = (100, 1_000) if args.quick else (100, 1_000, 10_000)
    print(f"jax {jax.__version__}, {jax.devices()[0].platform}, x64")
    print(
        f"{'observations':>12s} {'probconv':>12s} {'hand sum':>12s} {'ratio':>7s}"
        f" {'compile pc':>11s} {'compile hs':>11s}"
    )
    for n in sizes:
        flat, grouped = simulate(n)
        f_pc, z_pc, v_pc, c_pc = gradient(probconv_model, grouped)
        f_hs, z_hs, v_hs, c_hs = gradient(hand_sum_model, flat)
        if not np.isclose(v_pc, v_hs, rtol=1e-9):
            raise AssertionError(f"log densities differ: {v_pc} vs {v_hs}")
        t = interleaved_times(
            {"pc": (f_pc, (z_pc,)), "hs": (f_hs, (z_hs,))},
            rounds=3 if args.quick else 7,
        )
        print(
            f"{n:>12,d} {t['pc'] * 1e6:>9.0f} us {t['hs'] * 1e6:>9.0f} us "
            f"{t['hs'] / t['pc']:>6.1f}x {c_pc:>9.1f} s {c_hs:>9.1f} s",
            flush=True,
        )


if __name__ == "__main__":
    main()
