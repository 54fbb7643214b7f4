"""The cost model behind method='auto'."""

from __future__ import annotations

import math

import numpy as np

from ._cost import shape_work
from ._fft import stacks
from ._overlap_add import block_length
from ._pfa import pfa_factors, pfa_work, uses_pfa
from ._transforms import circular_size, next_fast_len

# Seconds per unit of work, by backend and real itemsize (4: float32 and
# complex64, 8: float64 and complex128). direct: per multiply-add of a 1-D
# convolution, times `multi_d` when several axes are convolved; fft and
# overlap_add: per unit of `transform_work` (n log2 n of one real transform,
# less for batches); call: the fixed cost of one dispatch. CPU figures:
# `python benchmarks/calibrate.py --dtype float64` and `--dtype float32` on
# the development machine (docs/performance.md).
# XLA's CPU convolution is ~40x slower per multiply-add in float32 than in
# float64 (a single-channel f32 convolution takes a slow generic path), hence
# the large direct[4]. GPU figures: `python benchmarks/calibrate.py --dtype
# float32 --quick` and `--dtype float64 --quick` on one NVIDIA H200 (JAX
# 0.11.2, CUDA 13; docs/performance.md, "On a GPU"). There every call below
# about 1e9 multiply-adds costs its dispatch, 50-100 us, whatever the method:
# the call constants decide most choices. TPUs share them unmeasured.
COSTS = {
    "cpu": {
        # direct[4] is not fitted: XLA's f32 CPU convolution costs mostly per
        # output (2e-8 s per output at K=3), and overlap-add beat it in every
        # calibration case; this keeps it for the tiniest inputs only.
        "direct": {4: 6.0e-9, 8: 9.7e-11},
        # XLA's 2-D convolution against its 1-D one, per multiply-add: 1.5
        # to 4.4 over five images (256^2 by 5^2 .. 2048^2 by 9^2, float64).
        "multi_d": 3.0,
        # Both inputs batched: the direct method is one grouped (depthwise)
        # convolution, which XLA:CPU runs ~1000x slower per multiply-add
        # (32 x 1025 by 32 x 1025: 11 s direct against 7 ms by FFT).
        "grouped": 1000.0,
        "fft": {4: 3.05e-10, 8: 4.45e-10},
        # Per transform of a batch, whatever its length: what the n log n
        # unit misses for many short rows (the Poisson binomial tree's
        # first levels). Pairs of rows of 2-31 points, both batched, by FFT
        # against shifted copies (float64, 2-core machine under a load near
        # 5): 65536 x 2 4.4 ms / 0.17 ms, 16384 x 2 0.69 / 0.14, 8192 x 3
        # 0.50 / 0.20, 16384 x 5 1.37 / 0.25, 4096 x 17 1.42 / 0.29, 2048 x
        # 31 1.10 / 0.45: 14-22 ns a transform beyond the n log n work.
        "fft_row": 1.0e-8,
        "overlap_add": {4: 6.2e-10, 8: 8.3e-10},
        "call": {"direct": 1.4e-5, "fft": 2.0e-5, "overlap_add": 1.8e-5},
    },
    "gpu": {
        # The H200 sums float64 products about as fast as float32 ones.
        "direct": {4: 1.0e-12, 8: 9.2e-13},
        "multi_d": 1.0,
        "grouped": 1.0,
        "fft": {4: 2.4e-12, 8: 5.4e-12},
        "fft_row": 0.0,
        "overlap_add": {4: 1.2e-11, 8: 6.4e-12},
        "call": {"direct": 6.0e-5, "fft": 9.7e-5, "overlap_add": 9.5e-5},
    },
}
COSTS["tpu"] = COSTS["gpu"]


# Direct sums as K shifted multiply-adds, fused by XLA into one loop (1-D,
# kernels of at most SHIFT_MAX_TAPS taps, CPU): seconds per call, per output
# and per multiply-add. XLA stops fusing the sum beyond 31 terms (32 taps
# take 3x as long as 31). Measured on the 2-core machine (float64 / float32):
# 1e3 x 31 taps 13.5 us (XLA's convolution 23 us), 1e5 x 8 taps 0.21 / 0.19
# ms, 1e5 x 31 0.26 / 0.16 ms, 1e6 x 31 2.0 / 1.2 ms, 100 x 1e4 by 100 x 31
# (both batched) 2.2 / 1.4 ms. XLA's float32 convolution is 5-20x slower.
SHIFT_MAX_TAPS = 31
SHIFT_COSTS = {"call": 6e-6, "output": 2.0e-9, "mac": {4: 1.0e-11, 8: 3.0e-11}}
# Outputs of more than 32 MB come from fresh pages on every call (glibc
# serves them by mmap), and XLA's convolution copies its input into its own
# layout first: seconds per output element beyond that size, measured at
# 1e7 outputs by 8, 21 and 31 taps (convolution 42-57 ms, shifts 30-42 ms).
# The transforms' complex spectra and padded copies suffer the same, more
# so: seconds per transformed point beyond that size (10^4 x 1040 by 41
# taps, 'valid': fft 136 ms, overlap-add 119 ms, direct 59 ms).
BIG_OUTPUT_BYTES = 32 * 2**20
BIG_OUTPUT_COSTS = {"conv": 3.2e-9, "shifted": 1.0e-9, "fft": 9e-9, "overlap_add": 9e-9}


def direct_costs(n1, n2, length, nb, both_batched, dtype, backend) -> dict:
    """Seconds of the direct method's two forms: one XLA convolution, shifts.

    ``"shifted"`` is present only where that form applies (`_direct` then
    uses the cheaper of the two).
    """
    c = COSTS.get(backend, COSTS["cpu"])
    dtype = np.dtype(dtype)
    cplx = dtype.kind == "c"
    size = dtype.itemsize // 2 if cplx else dtype.itemsize
    # One multiply-add per overlapping pair in the window kept.
    macs = nb * math.prod(min(n * min(a, b), a * b) for n, a, b in zip(length, n1, n2))
    macs *= 4 if cplx else 1
    conv = c["direct"][size] * macs * (c["multi_d"] if len(n1) > 1 else 1.0)
    if both_batched:
        conv = conv * c["grouped"]
    out = {"conv": conv + c["call"]["direct"]}
    if backend != "cpu":
        return out
    outputs = nb * math.prod(length) * (2 if cplx else 1)
    big = outputs * size > BIG_OUTPUT_BYTES
    if big:
        out["conv"] += BIG_OUTPUT_COSTS["conv"] * outputs
    if len(n1) == 1 and min(n1[0], n2[0]) <= SHIFT_MAX_TAPS:
        shifted = SHIFT_COSTS["output"] * outputs + SHIFT_COSTS["mac"][size] * macs
        if big:
            shifted += BIG_OUTPUT_COSTS["shifted"] * outputs
        out["shifted"] = shifted + SHIFT_COSTS["call"]
    return out


def estimate(plan, backend: str, blocks: bool = True) -> dict[str, float]:
    """Estimated seconds of each method for a `Plan` on `backend`.

    With ``blocks=False`` overlap-add is left out (its block search costs
    about 0.2 ms a plan; the other two prices cost microseconds).
    """
    c = COSTS.get(backend, COSTS["cpu"])
    itemsize = plan.dtype.itemsize
    cplx = plan.dtype.kind == "c"
    size = itemsize // 2 if cplx else itemsize
    nb = math.prod(plan.batch) if plan.batch else 1
    n1, n2 = plan.shape1, plan.shape2
    direct = direct_costs(
        n1, n2, plan.length, nb, all(plan.batched), plan.dtype, backend
    )
    direct = min(direct.values())
    # FFT: the forward pair (one batch when `stacks`) and the inverse.
    shape = [
        next_fast_len(circular_size(a, b, s, n), not cplx)
        for a, b, s, n in zip(n1, n2, plan.start, plan.length)
    ]
    P = math.prod(shape)
    nb1, nb2 = (nb if batched else 1 for batched in plan.batched)
    period = circular_size(n1[0], n2[0], plan.start[0], plan.length[0])
    if len(shape) == 1 and uses_pfa(period, backend):
        work = sum(pfa_work(period, m) for m in (nb1, nb2, nb))
        P = math.prod(pfa_factors(period))
    elif stacks((nb1,), (nb2,), (P,)):
        work = shape_work(shape, 2 * nb) + shape_work(shape, nb)
    else:
        work = shape_work(shape, nb1) + shape_work(shape, nb2) + shape_work(shape, nb)
    fft = c["fft"][size] * work * (2 if cplx else 1) + c["call"]["fft"]
    fft += c["fft_row"] * (nb1 + nb2 + nb)
    huge = nb * math.prod(plan.length) * itemsize > BIG_OUTPUT_BYTES
    if huge and backend == "cpu":
        fft += BIG_OUTPUT_COSTS["fft"] * nb * P
    if not blocks:
        return {"direct": direct, "fft": fft}
    # Overlap-add: blocks of the longer input, all transformed as one batch.
    big, small = (n1, n2) if math.prod(n1) >= math.prod(n2) else (n2, n1)
    blocks, ps = 1, []
    for a, b in zip(big, small):
        L, p = block_length(a, b, nb)
        blocks *= -(-a // L)
        ps.append(p)
    P = math.prod(ps)
    oa_work = 2 * shape_work(ps, nb * blocks) + shape_work(ps, 1)
    oa = c["overlap_add"][size] * oa_work * (2 if cplx else 1)
    oa = oa + c["call"]["overlap_add"]
    if huge and backend == "cpu":
        oa += BIG_OUTPUT_COSTS["overlap_add"] * nb * blocks * P
    if blocks == 1:
        oa = math.inf
    return {"direct": direct, "fft": fft, "overlap_add": oa}


def price_below(plan, backend: str, bound: float) -> float | None:
    """Return the price of some method for `plan` under `bound`, or None.

    Direct sums are priced first (microseconds), then one FFT (whose prime
    factor search costs about 50 us), then overlap-add (a block search, 0.2
    ms); the first price under `bound` is returned. None means that no
    method is priced under `bound`, as ``min(estimate(...).values())``
    would tell, at a fraction of its cost for plans that are cheap.
    """
    nb = math.prod(plan.batch) if plan.batch else 1
    args = (plan.shape1, plan.shape2, plan.length, nb, all(plan.batched))
    direct = min(direct_costs(*args, plan.dtype, backend).values())
    if direct < bound:
        return direct
    for blocks in (False, True):
        cheapest = min(estimate(plan, backend, blocks).values())
        if cheapest < bound:
            return cheapest
    return None


def choose(plan, backend: str) -> str:
    """Return the cheapest method for `plan` by `estimate`."""
    est = estimate(plan, backend)
    return min(est, key=est.get)


# Running (boxcar) sums: directly, the window's shifted copies are added in
# one fused loop up to SHIFT_MAX_TAPS taps (per output, plus per add:
# SHIFT_COSTS), and `lax.reduce_window` runs far slower per add beyond; the
# O(n) blocks of `_running.block_sums` cost a fixed amount per
# output. Seconds on the 2-core CPU under a load near 12, so +-50 %:
# reduce_window at 10^6 samples by 31 taps 2.9 / 1.0 ms (float64 / float32),
# by 64 taps 68 / 52 ms; blocks 7-16 / 3 ms at every length. `python
# benchmarks/calibrate.py --filter --quick` (float64) fitted 1.5e-9 s per
# output and 2.3e-10 s per add up to 31 taps, 4.6e-10 s per add beyond, and
# 1.6e-8 s per output for the blocks: the same crossover (32 taps).
RUNNING_COSTS = {
    "call": 6e-6,
    "output": 2.0e-9,
    "add": {4: 1.0e-11, 8: 3.0e-11},
    "unfused_add": 1.0e-9,
    "blocks": {4: 3.0e-9, 8: 8.0e-9},
}


def running_costs(size: int, outputs: int, dtype) -> dict[str, float]:
    """Estimated seconds of window sums of `size` taps: direct and blocks."""
    dtype = np.dtype(dtype)
    c = RUNNING_COSTS
    item = 8 if dtype.itemsize >= 8 else 4
    per_add = c["add"][item] if size <= SHIFT_MAX_TAPS else c["unfused_add"]
    direct = c["call"] + outputs * (c["output"] + per_add * size)
    blocks = c["call"] + outputs * c["blocks"][item]
    return {"direct": direct, "running": blocks}


def running_method(size: int, outputs: int, dtype, backend: str, method: str) -> str:
    """How `running_sum` sums: 'direct', 'blocks', or 'prefix' (integers).

    `method` is the user's choice ('auto', 'direct' or 'running'); 'auto'
    takes the cheaper by `running_costs` (on every backend: the blocks are
    matrix products, cheap on accelerators too).
    """
    if method == "auto":
        est = running_costs(size, outputs, dtype)
        method = min(est, key=est.get)
    if method == "direct" or size == 1:
        return "direct"
    # Integers are summed exactly by differences of one cumulative sum.
    return "prefix" if np.dtype(dtype).kind in "iub" else "blocks"
