"""The prime-factor (Good-Thomas) mapping of a long 1-D transform onto 2-D.

Which lengths split into coprime factors ``A x B``, what the split costs in
the units of `_cost`, and the gathers that map a sequence onto the ``A x B``
grid and back. The transforms themselves are `_transforms`'.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp

from ._cost import _FFT_CACHE_POINTS, transform_work

# Long 1-D transforms on the CPU run as 2-D transforms of A x B points (the
# Good-Thomas prime-factor mapping, A a power of two, B odd): XLA's 2-D FFT
# works in the cache and on every core where its 1-D FFT of A*B points does
# neither. A circular convolution of period A*B is unchanged by the mapping
# j -> (j mod A, j mod B) (the Chinese remainder theorem), so the spectra need
# no twiddle factors and no reordering, only one gather in and one out.
# Measured on the 2-core machine, float64, N = K, against one transform of
# the plain fast length: 2e4 points 0.77x the time, 2e5 0.55x, 2e6 0.6x; at
# 1e4 points 1.15x, hence _PFA_MIN_POINTS.
_PFA_MIN_POINTS = 16384
_PFA_MIN_FACTORS = (16, 81)  # least A (power of two) and least B (odd)
_PFA_MAX_FACTOR = 46340  # A*A and B*B stay within int32 indices
# A gather, in work units per point of each transform, and its growth per
# doubling beyond _FFT_CACHE_POINTS: fitted (within 10 %) to the times of 11
# convolutions of 2e4 .. 4e6 points, float64 (`benchmarks/calibrate.py --pfa`).
_PFA_GATHER_WORK = 4.7
_PFA_GATHER_SLOPE = 0.74


@functools.lru_cache(maxsize=4096)
def pfa_factors(n: int) -> tuple[int, int] | None:
    """Coprime factors ``(A, B)`` of the shortest prime-factor period ``>= n``.

    `A` is a power of two and `B` odd and 5-smooth; the period ``A * B`` is a
    5-smooth number, like the lengths of `next_fast_len`. Returns None when
    `n` is too short for the mapping to pay.

    Examples
    --------
    >>> from probconv.conv._pfa import pfa_factors
    >>> pfa_factors(1_999_999)
    (128, 15625)
    >>> pfa_factors(1000) is None
    True
    """
    if n < _PFA_MIN_POINTS:
        return None
    best = None
    three = 1
    while three <= 4 * n:
        b = three
        while b <= 4 * n:
            a = max(_PFA_MIN_FACTORS[0], 1 << max(0, math.ceil(math.log2(n / b))))
            while a * b < n:
                a *= 2
            if pfa_fits(a, b) and (best is None or a * b < best[0] * best[1]):
                best = (a, b)
            b *= 5
        three *= 3
    return best


def pfa_fits(a: int, b: int) -> bool:
    """Whether ``a x b`` (a power of two by an odd number) may run as 2-D."""
    amin, bmin = _PFA_MIN_FACTORS
    return (
        a * b >= _PFA_MIN_POINTS
        and amin <= a <= _PFA_MAX_FACTOR
        and bmin <= b <= _PFA_MAX_FACTOR
        and a * b < 2**30  # indices stay within int32 (see pfa_in)
    )


def pfa_work(n: int, count: int = 1) -> float:
    """Relative time of the prime-factor form of `count` real transforms of >= `n`.

    In the units of `transform_work`: the 2-D transform's two passes (the
    second one complex) and the gather of the points.
    """
    a, b = pfa_factors(n)
    passes = transform_work(b, count * a) + 2 * transform_work(a, count * (b // 2 + 1))
    beyond = max(0.0, math.log2(a * b / _FFT_CACHE_POINTS))
    return (
        passes + _PFA_GATHER_WORK * (1.0 + _PFA_GATHER_SLOPE * beyond) * count * a * b
    )


def uses_pfa(n: int, backend: str) -> bool:
    """Whether a 1-D convolution of circular period >= n uses `pfa_factors`."""
    return backend == "cpu" and pfa_factors(n) is not None


def pfa_in(x, a: int, b: int):
    """Map the last axis of `x` (length <= a*b, zero beyond) onto (a, b).

    Entry ``[j mod a, j mod b]`` of the result is ``x[j]``.
    """
    # j = (r * b * (b^-1 mod a) + s * a * (a^-1 mod b)) mod ab, reduced so
    # that every product stays below a*a or b*b.
    r = jax.lax.broadcasted_iota(jnp.int32, (a, b), 0)
    s = jax.lax.broadcasted_iota(jnp.int32, (a, b), 1)
    j = b * (r * pow(b, -1, a) % a) + a * (s * pow(a, -1, b) % b)
    j = jnp.where(j >= a * b, j - a * b, j)
    y = jnp.take(x, j.reshape(-1), axis=-1, mode="fill", fill_value=0)
    return y.reshape(x.shape[:-1] + (a, b))


def pfa_out(y, a: int, b: int, start: int, length: int):
    """Entries ``start .. start+length`` (mod a*b) of the 1-D sequence of `y`."""
    k = (start % (a * b)) + jax.lax.iota(jnp.int32, length)
    k = jnp.where(k >= a * b, k - a * b, k)
    flat = y.reshape(y.shape[:-2] + (a * b,))
    return jnp.take(flat, (k % a) * b + k % b, axis=-1, mode="clip")
