"""The cost model behind method='auto'."""

from __future__ import annotations

import math

from ._fft import circular_size, next_fast_len
from ._overlap_add import block_length

# Seconds per unit of work, by backend and by real/complex float32/float64.
# Measured by `python benchmarks/calibrate.py` (see docs/performance.md):
# direct: per multiply-add; fft: per n log2 n of a real transform; call:
# fixed cost of one dispatch of each method's XLA program.
COSTS = {
    "cpu": {
        "direct": {4: 1.0e-10, 8: 2.0e-10},
        "fft": {4: 2.0e-9, 8: 3.0e-9},
        "call": {"direct": 2e-5, "fft": 6e-5, "overlap_add": 8e-5},
    },
    "gpu": {
        "direct": {4: 2.0e-13, 8: 4.0e-12},
        "fft": {4: 2.0e-12, 8: 4.0e-12},
        "call": {"direct": 1e-5, "fft": 3e-5, "overlap_add": 4e-5},
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
    direct = c["direct"][size] * macs * (4 if cplx else 1) + c["call"]["direct"]
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
    oa = c["fft"][size] * nb * oa_work * 1.15 + c["call"]["overlap_add"]
    if blocks == 1:
        oa = math.inf
    return {"direct": direct, "fft": fft, "overlap_add": oa}


def choose(plan, backend: str) -> str:
    """The cheapest method for `plan` by `estimate`."""
    est = estimate(plan, backend)
    return min(est, key=est.get)
