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


def interleaved_times(fns, rounds=7, min_time=0.05, max_total=20.0):
    """Median seconds of each ``fns[name] = (fn, args)``, sampled in rounds.

    Each round times every contestant once, so a change in the machine's
    state during the run (other jobs, frequency, cache) falls on all of them
    alike instead of on whichever ran at that moment.
    """
    inner = {}
    for name, (fn, args) in fns.items():
        jax.block_until_ready(fn(*args))  # compile / warm up
        t0 = time.perf_counter()
        jax.block_until_ready(fn(*args))
        one = max(time.perf_counter() - t0, 1e-7)
        inner[name] = (max(1, int(min_time / one)), one)
    budget = sum(n * one for n, one in inner.values())
    rounds = max(3, min(rounds, int(max_total / budget) or 1))
    samples = {name: [] for name in fns}
    for _ in range(rounds):
        for name, (fn, args) in fns.items():
            n = inner[name][0]
            t0 = time.perf_counter()
            for _ in range(n):
                out = fn(*args)
            jax.block_until_ready(out)
            samples[name].append((time.perf_counter() - t0) / n)
    return {name: float(np.median(s)) for name, s in samples.items()}
