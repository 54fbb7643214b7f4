"""Shared timing helper for the benchmark scripts."""

import time

import jax
import numpy as np


def median_time(fn, *args, repeat=7, min_time=0.05, max_total=20.0):
    """Median seconds of fn(*args) after one warm-up (compilation) call.

    Short calls are looped so that each sample lasts at least `min_time`.
    """
    jax.block_until_ready(fn(*args))
    t0 = time.perf_counter()
    jax.block_until_ready(fn(*args))
    one = max(time.perf_counter() - t0, 1e-7)
    inner = max(1, int(min_time / one))
    repeat = max(3, min(repeat, int(max_total / (one * inner)) or 1))
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(inner):
            out = fn(*args)
        jax.block_until_ready(out)
        samples.append((time.perf_counter() - t0) / inner)
    return float(np.median(samples))
