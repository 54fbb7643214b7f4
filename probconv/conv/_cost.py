"""The cost units of the FFT: the work of batches of transforms.

`transform_work` is the unit that the cost model behind ``method="auto"``
(`_choose`) prices FFT and overlap-add convolutions in; `shape_work` prices
a transform of several axes pass by pass.
"""

from __future__ import annotations

import functools
import math
import os

# Cost model of XLA's CPU FFT, relative to one transform of n log2 n. Measured
# with `python benchmarks/calibrate.py --fft` on the 2-core machine: a batch
# of transforms runs on all cores and amortizes the per-call setup (8
# transforms of 16384-131072 points cost 0.4x of 8 run alone); transforms
# beyond 2**18 points leave the cache and slow down per point.
_FFT_BATCH_GAIN = 0.5  # parallel speed-up per doubling of the batch ...
_FFT_BATCH_CAP = 1.2  # ... up to this many times the number of cores
_FFT_CACHE_POINTS = 1 << 18
_FFT_CACHE_SLOPE = 0.35  # extra cost per doubling beyond _FFT_CACHE_POINTS


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@functools.lru_cache(maxsize=4096)
def transform_work(n: int, count: int = 1) -> float:
    """Relative time of `count` real transforms of `n` points run as one batch.

    The unit of the cost model in `method="auto"`: ``n log2 n`` per
    transform, less the speed-up of a batch spread over the cores, more for
    transforms too long for the cache.

    Examples
    --------
    >>> from probconv.conv._cost import transform_work
    >>> transform_work(4096, 8) < 8 * transform_work(4096, 1)
    True
    """
    nlogn = n * math.log2(max(n, 2))
    cache = 1.0 + _FFT_CACHE_SLOPE * max(0.0, math.log2(n / _FFT_CACHE_POINTS))
    speedup = min(1.0 + _FFT_BATCH_GAIN * math.log2(count), _FFT_BATCH_CAP * _cores())
    return count * nlogn * cache / max(speedup, 1.0)


def shape_work(shape, count: int = 1) -> float:
    """`transform_work` of `count` real transforms of `shape`, axis by axis.

    A transform of several axes is a batch of 1-D transforms along each
    (the last axis real, the others complex on half of it), so each pass is
    priced as a batch that fits the cache, not as one transform of
    ``prod(shape)`` points.

    Examples
    --------
    >>> from probconv.conv._cost import shape_work, transform_work
    >>> shape_work((4096,)) == transform_work(4096)
    True
    >>> shape_work((512, 512)) < transform_work(512 * 512)
    True
    """
    shape = tuple(int(n) for n in shape)
    *lead, last = shape
    work = transform_work(last, count * math.prod(lead))
    half = last // 2 + 1
    for i, n in enumerate(lead):
        others = math.prod(lead[:i] + lead[i + 1 :]) * half
        work += 2 * transform_work(n, count * others)
    return work
