"""The static plan of a convolution: shapes, window, dtypes, buckets.

Everything here depends on shapes, dtypes and options only, never on values,
so `prepare` is cached per static signature: an eager call that repeats a
signature re-derives nothing.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import numpy as np

from .._checks import check_choice, compute_dtype, normalize_axes, result_dtype
from . import _choose, _host
from ._args import METHODS, MODES, check_precision


class Plan(NamedTuple):
    """What a convolution computes, decided from static shapes alone.

    Both inputs are laid out with the convolved axes last; ``start[i]`` and
    ``length[i]`` give the window of the full convolution kept along each.
    ``dtype`` is the dtype computed in, ``out_dtype`` the one returned.
    """

    conv_axes: tuple[int, ...]
    shape1: tuple[int, ...]
    shape2: tuple[int, ...]
    batch: tuple[int, ...]
    start: tuple[int, ...]
    length: tuple[int, ...]
    dtype: np.dtype
    batched: tuple[bool, bool] = (False, False)  # does each input have a batch?
    out_dtype: np.dtype | None = None


def make_plan(shape1, shape2, dtype, mode: str, axes, maxlag=None) -> Plan:
    """Return the `Plan` of convolving arrays of these shapes."""
    ndim = len(shape1)
    if ndim != len(shape2):
        raise ValueError(
            "`in1` and `in2` must have the same number of dimensions; got "
            f"shapes {shape1} and {shape2}."
        )
    if axes is None and ndim == 1:  # the common case, without the loops
        ax, batch, n1, n2, batched = (0,), (), shape1, shape2, (False, False)
    else:
        ax = normalize_axes("axes", axes, ndim) if ndim else ()
        batch, b1, b2 = [], 1, 1
        for d in range(ndim):
            if d in ax:
                continue
            s1, s2 = shape1[d], shape2[d]
            if s1 != s2 and 1 not in (s1, s2):
                raise ValueError(
                    f"Axis {d} is not convolved, so its sizes must match or one "
                    f"must be 1 (batch broadcasting); got shapes {shape1} and "
                    f"{shape2} with axes={axes!r}."
                )
            batch.append(max(s1, s2))
            b1, b2 = b1 * s1, b2 * s2
        batch, batched = tuple(batch), (b1 > 1, b2 > 1)
        n1 = tuple(shape1[d] for d in ax)
        n2 = tuple(shape2[d] for d in ax)
    if maxlag is not None:
        # correlate's lags -m..m sit at full indices n2-1-m .. n2-1+m.
        start = tuple(b - 1 - maxlag for b in n2)
        length = (2 * maxlag + 1,) * len(ax)
    elif mode == "full":
        start = (0,) * len(ax)
        length = tuple(a + b - 1 for a, b in zip(n1, n2))
    elif mode == "same":
        start = tuple((b - 1) // 2 for b in n2)
        length = n1
    else:
        if not (
            all(a >= b for a, b in zip(n1, n2)) or all(b >= a for a, b in zip(n1, n2))
        ):
            raise ValueError(
                "For 'valid' mode one input must be at least as large as the "
                "other along every convolved axis; got shapes "
                f"{shape1} and {shape2} with axes={axes!r}."
            )
        start = tuple(min(a, b) - 1 for a, b in zip(n1, n2))
        length = tuple(abs(a - b) + 1 for a, b in zip(n1, n2))
    out = np.dtype(dtype)
    return Plan(ax, n1, n2, batch, start, length, compute_dtype(out), batched, out)


# Bucket sizes: every length up to BUCKET_EXACT is its own bucket; above it,
# lengths round up to m * 2**e with m in 4..7 (at most 1/4 of padding, 12 %
# on average; four buckets an octave). A loop over the lengths 20..2019 then
# meets 28 buckets instead of 2000 lengths.
BUCKET_EXACT = 8


def bucket_length(n: int) -> int:
    """Round a length up to its bucket: ``n`` itself up to 8, else m 2^e.

    The engine pads eager calls to these lengths (with zeros, which change
    no entry of a convolution) so that one compiled program serves every
    length of a bucket; layers whose padding is exact (zero masses, trials
    of probability 0) use the same buckets. Above 8, ``m`` is 4 to 7: at
    most 25 % of padding, four buckets an octave.

    Parameters
    ----------
    n : int
        A positive length.

    Returns
    -------
    int
        The smallest bucket length at least `n`.

    Examples
    --------
    >>> from probconv.conv import bucket_length
    >>> [bucket_length(n) for n in (3, 16, 17, 100, 1000, 1025)]
    [3, 16, 20, 112, 1024, 1280]
    """
    if n <= BUCKET_EXACT:
        return n
    e = n.bit_length() - 3  # 4 <= n >> e < 8
    m = -(-n // (1 << e))
    return m << e


# Unbatched plans whose full output has at most this many points cost well
# under a millisecond by any method on a CPU; `prepare` leaves their method
# open (see `resolve`).
SMALL_POINTS = 1 << 15


class Prepared(NamedTuple):
    """A plan with its checked options and its method."""

    plan: Plan | None  # None for 0-d inputs (a product)
    method: str  # 'auto' only for unbatched CPU plans not yet priced
    precision: object
    flip: tuple[int, ...]  # axes of in2 to reverse (correlate)
    conj: bool  # conjugate in2 (correlate of complex input)
    auto: bool = False  # was the method left to the engine?
    seconds: float = 0.0  # the cost model's price of the method


@functools.lru_cache(maxsize=4096)
def prepare(
    shape1, dtype1, shape2, dtype2, mode, method, axes, precision, maxlag, correlate
) -> Prepared:
    """Check a call's static arguments and plan it; cached per signature.

    Raises the user-facing errors of `convolve` and `correlate` (errors are
    not cached, so a bad call raises every time).
    """
    method = check_choice("method", method, METHODS)
    prec = check_precision(precision)
    mode = check_choice("mode", mode, MODES)
    dtype = result_dtype(np.dtype(dtype1), np.dtype(dtype2))
    conj = correlate and np.dtype(dtype2).kind == "c"
    if not shape1 or not shape2:
        if len(shape1) != len(shape2):
            raise ValueError(
                "`in1` and `in2` must have the same number of dimensions; got "
                f"shapes {shape1} and {shape2}."
            )
        return Prepared(None, method, prec, (), conj)
    plan = make_plan(shape1, shape2, dtype, mode, axes, maxlag)
    auto = method == "auto"
    flip = plan.conv_axes if correlate else ()
    backend = jax.default_backend()
    full = math.prod(a + b - 1 for a, b in zip(plan.shape1, plan.shape2))
    if backend == "cpu" and math.prod(plan.batch) == 1:
        if full <= SMALL_POINTS:
            # Small enough for the host path whatever the method: price it
            # when a program is built for it (`resolve`), not on every new
            # signature.
            return Prepared(plan, method, prec, flip, conj, auto, 0.0)
        if auto:
            # Priced by the cheapest method first: under the host path's
            # bound the call runs on the host whatever the others would
            # cost, so their pricing (up to 0.3 ms a plan, which a loop over
            # new sizes pays on every call) is left to `resolve`, which only
            # calls past the host reach. The route is the same as by the
            # full estimate.
            price = _choose.price_below(plan, backend, _host.HOST_MAX_SECONDS)
            if price is not None:
                return Prepared(plan, method, prec, flip, conj, auto, price)
    costs = _choose.estimate(plan, backend)
    if auto:
        method = min(costs, key=costs.get)
    return Prepared(plan, method, prec, flip, conj, auto, costs[method])


def resolve(prepared: Prepared) -> str:
    """Return the method of a prepared call, pricing it if it was left open."""
    if prepared.method != "auto":
        return prepared.method
    return _chosen(prepared.plan, jax.default_backend())


@functools.lru_cache(maxsize=4096)
def _chosen(plan: Plan, backend: str) -> str:
    return _choose.choose(plan, backend)


def bucket_plan(plan: Plan) -> Plan:
    """Return the plan of the full convolution of inputs padded to buckets."""
    n1 = tuple(bucket_length(n) for n in plan.shape1)
    n2 = tuple(bucket_length(n) for n in plan.shape2)
    return plan._replace(
        shape1=n1,
        shape2=n2,
        start=(0,) * len(n1),
        length=tuple(a + b - 1 for a, b in zip(n1, n2)),
    )


def plan_of(in1, in2, mode: str = "full", axes=None, maxlag=None) -> Plan:
    """Return the `Plan` of convolving two arrays (or `jax.ShapeDtypeStruct`)."""
    dtype = result_dtype(in1.dtype, in2.dtype)
    return make_plan(tuple(in1.shape), tuple(in2.shape), dtype, mode, axes, maxlag)
