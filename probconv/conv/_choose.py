"""The cost model behind method='auto'."""

from __future__ import annotations

import math

from ._fft import circular_size, next_fast_len
from ._overlap_add import block_length

# Seconds per unit of work, by backend and real itemsize (4: float32 and
# complex64, 8: float64 and complex128). direct: per multiply-add of a 1-D
# convolution, times `multi_d` when several axes are convolved; fft and
# overlap_add: per n log2 n of one real transform; call: the fixed cost of
# one dispatch. CPU figures: `python benchmarks/calibrate.py --dtype float64`
# and `--dtype float32` on the development machine (docs/performance.md).
# XLA's CPU convolution is ~40x slower per multiply-add in float32 than in
# float64 (a single-channel f32 convolution takes a slow generic path), hence
# the large direct[4]. GPU figures are NOT measured (no GPU was available):
# they are estimates from H100 throughput (about 1e12 multiply-adds/s for
# cuDNN's direct f32 path, cuFFT near memory bandwidth), to be replaced by
# running the calibration script there.
COSTS = {
    "cpu": {
        "direct": {4: 6.0e-9, 8: 1.4e-10},
        "multi_d": 7.0,
        # Both inputs batched: the direct method is one grouped (depthwise)
        # convolution, which XLA:CPU runs ~1000x slower per multiply-add
        # (32 x 1025 by 32 x 1025: 11 s direct against 7 ms by FFT).
        "grouped": 1000.0,
        "fft": {4: 2.5e-10, 8: 4.0e-10},
        "overlap_add": {4: 2.0e-10, 8: 3.0e-10},
        "call": {"direct": 9e-6, "fft": 1.5e-5, "overlap_add": 1.0e-5},
    },
    "gpu": {
        "direct": {4: 1.0e-12, 8: 2.0e-11},
        "multi_d": 1.0,
        "grouped": 1.0,
        "fft": {4: 2.0e-12, 8: 4.0e-12},
        "overlap_add": {4: 3.0e-12, 8: 6.0e-12},
        "call": {"direct": 1.0e-5, "fft": 3.0e-5, "overlap_add": 4.0e-5},
    },
}
COSTS["tpu"] = COSTS["gpu"]


def _nlogn(n: int) -> float:
    return n * math.log2(max(n, 2))


def estimate(plan, backend: str) -> dict[str, float]:
    """Estimated seconds of each method for a `Plan` on `backend`."""
    c = COSTS.get(backend, COSTS["cpu"])
    itemsize = plan.dtype.itemsize
    cplx = plan.dtype.kind == "c"
    size = itemsize // 2 if cplx else itemsize
    nb = math.prod(plan.batch) if plan.batch else 1
    n1, n2 = plan.shape1, plan.shape2
    # Direct: one multiply-add per overlapping pair in the window kept.
    macs = nb * math.prod(
        min(n * min(a, b), a * b) for n, a, b in zip(plan.length, n1, n2)
    )
    direct = c["direct"][size] * macs * (4 if cplx else 1)
    direct = direct * (c["multi_d"] if len(n1) > 1 else 1.0)
    if all(plan.batched):
        direct = direct * c["grouped"]
    direct = direct + c["call"]["direct"]
    # FFT: three transforms of the circular size (batched).
    shape = [
        next_fast_len(circular_size(a, b, s, n), not cplx)
        for a, b, s, n in zip(n1, n2, plan.start, plan.length)
    ]
    work = _nlogn(math.prod(shape)) * (2 if cplx else 1)
    fft = c["fft"][size] * 3 * nb * work + c["call"]["fft"]
    # Overlap-add: blocks of the longer input.
    big, small = (n1, n2) if math.prod(n1) >= math.prod(n2) else (n2, n1)
    blocks, P = 1, 1
    for a, b in zip(big, small):
        L, p = block_length(a, b)
        blocks *= -(-a // L)
        P *= p
    oa_work = (2 * blocks + 1) * _nlogn(P) * (2 if cplx else 1)
    oa = c["overlap_add"][size] * nb * oa_work + c["call"]["overlap_add"]
    if blocks == 1:
        oa = math.inf
    return {"direct": direct, "fft": fft, "overlap_add": oa}


def choose(plan, backend: str) -> str:
    """Return the cheapest method for `plan` by `estimate`."""
    est = estimate(plan, backend)
    return min(est, key=est.get)
