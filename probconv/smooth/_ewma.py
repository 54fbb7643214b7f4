"""ewma: pandas' ``ewm(...).mean()``, as a parallel linear recurrence."""

from __future__ import annotations

import datetime

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.typing import ArrayLike

from .._checks import check_int, concrete, normalize_axes
from ..conv.internal import bounded_jit, split_axes, split_scan
from . import _recurrence
from ._args import as_inexact
from ._ewm_times import ewma_times, time_deltas
from ._host import ewma_run, input_plan, store_plan, typed_key


def _check_range(name, value, ok, text):
    v = concrete(value)
    if v is None:
        return
    if v.dtype.kind not in "biuf" or np.ndim(v) != 0:
        raise TypeError(f"`{name}` must be a real scalar; got {value!r}.")
    if not (np.isfinite(v) and ok(v)):
        raise ValueError(f"`{name}` must satisfy {text}; got {value!r}.")


def ewm_alpha(alpha=None, halflife=None, span=None, com=None) -> jax.Array:
    """Return the smoothing factor from exactly one of pandas' parameters."""
    given = {
        k: v
        for k, v in dict(alpha=alpha, halflife=halflife, span=span, com=com).items()
        if v is not None
    }
    if len(given) != 1:
        raise ValueError(
            "Give exactly one of `alpha`, `halflife`, `span` and `com`; got "
            f"{sorted(given) if given else 'none'}."
        )
    ((name, value),) = given.items()
    if name == "alpha":
        _check_range("alpha", value, lambda v: 0 < v <= 1, "0 < alpha <= 1")
        return jnp.asarray(value)
    if name == "com":
        _check_range("com", value, lambda v: v >= 0, "com >= 0")
        return 1.0 / (1.0 + jnp.asarray(value))
    if name == "span":
        _check_range("span", value, lambda v: v >= 1, "span >= 1")
        return 2.0 / (jnp.asarray(value) + 1.0)
    _check_range("halflife", value, lambda v: v > 0, "halflife > 0")
    return 1.0 - jnp.exp(jnp.log(0.5) / jnp.asarray(value))


def _compact(x, obs):
    """Observed values moved to the front (per row), and each t's count."""
    n = x.shape[-1]
    counts = jnp.cumsum(obs, axis=-1, dtype=jnp.int32)
    pos = jnp.where(obs, counts - 1, n)

    def row(xr, pr):
        return jnp.zeros_like(xr).at[pr].set(xr, mode="drop")

    flat_x = x.reshape(-1, n)
    flat_p = pos.reshape(-1, n)
    xc = jax.vmap(row)(flat_x, flat_p).reshape(x.shape)
    present = jnp.arange(n) < counts[..., -1:]
    return xc, present, counts


def _expand(yc, counts):
    """Each t takes the compacted value of the last observation up to t."""
    idx = jnp.maximum(counts - 1, 0)
    y = jnp.take_along_axis(yc, idx, axis=-1)
    return jnp.where(counts > 0, y, jnp.nan)


def ewma(
    x: ArrayLike,
    *,
    alpha: ArrayLike | None = None,
    halflife: ArrayLike | None = None,
    span: ArrayLike | None = None,
    com: ArrayLike | None = None,
    adjust: bool = True,
    ignore_na: bool = False,
    min_periods: int = 0,
    times: ArrayLike | None = None,
    axis: int = -1,
) -> jax.Array:
    r"""Exponentially weighted moving average with pandas' semantics.

    Like ``pandas.Series.ewm(...).mean()``, including its treatment of
    missing values and both `adjust` conventions, but jit-compiled, batched
    over the other axes, and differentiable in the data and in the
    smoothing parameter. No loop over samples: the recurrence is solved by
    blocked triangular products or a parallel prefix scan, and a long
    series chunk by chunk (4096 samples each, so that a chunk's work stays
    in the cache).

    Parameters
    ----------
    x : array_like
        The series, real (pandas has no complex EWM); NaN marks a missing
        value. Integers become floating; float16 and bfloat16 are computed
        in float32 and returned in their own dtype.
    alpha, halflife, span, com : float, optional
        Exactly one: the smoothing factor :math:`\alpha \in (0, 1]`, or
        ``halflife > 0`` (:math:`\alpha = 1 - 2^{-1/h}`), ``span >= 1``
        (:math:`\alpha = 2/(s+1)`), ``com >= 0`` (:math:`\alpha =
        1/(1+c)`). Differentiable.
    adjust : bool
        True: weights :math:`(1-\alpha)^k` normalized by their sum over the
        observations so far. False: the recursion :math:`y_t = (1-\alpha)
        y_{t-1} + \alpha x_t` started at the first observation.
    ignore_na : bool
        False (pandas' default): a missing value still ages the older
        observations by :math:`1-\alpha`. True: weights are counted over
        observations only.
    min_periods : int
        Output NaN until this many observations have been seen (pandas'
        ``min_periods``); before the first observation it is NaN anyway.
    times : array_like, optional
        The time of each sample along `axis` (1-D, one per sample), for
        irregularly spaced observations, as pandas' ``ewm(times=...)``:
        numpy ``datetime64`` values (or pandas datetimes, timezone-aware
        ones by their UTC instants, as pandas), with
        `halflife` a timedelta (``'2 days'``, `numpy.timedelta64`,
        `datetime.timedelta`, ``pandas.Timedelta``); or numbers, with
        `halflife` a number in the same units (pandas takes only datetimes;
        numeric times may be traced and are differentiable). Between samples
        ``i - 1`` and ``i`` the older weights decay by
        :math:`f^{(t_i - t_{i-1})/h}`, with :math:`f = 1/2`, or :math:`f = 1
        - \alpha` when `alpha`, `span` or `com` is given too (pandas allows
        that with ``adjust=True`` only). Times need not increase (pandas does
        not check either; a step back in time grows the older weights).
    axis : int
        The time axis; the others are batch axes.

    Returns
    -------
    jax.Array
        The weighted means, with the shape and (floating) dtype of `x`.

    Raises
    ------
    ValueError
        For none or several of `alpha`, `halflife`, `span`, `com` (with
        `times`: no `halflife`, or another parameter with ``adjust=False``),
        a timedelta `halflife` without datetime `times` or a number with
        them, `times` of the wrong length or holding NaT or NaN, or a
        value out of its range (checked where concrete; under `jax.jit` an
        out-of-range value gives NaN or meaningless output).
    TypeError
        For complex or non-numeric `x`, non-boolean `adjust` or
        `ignore_na`, a non-integer
        `min_periods` or `axis`, `times` neither numeric nor datetime64, or
        a timedelta `halflife` with numeric `times`.

    See Also
    --------
    moving_average, pandas.Series.ewm

    Notes
    -----
    With :math:`f = 1 - \alpha` and :math:`m_s = 1` for an observation,
    ``adjust=True`` gives

    .. math:: y_t = \frac{\sum_{s \le t} f^{t-s} m_s x_s}
                         {\sum_{s \le t} f^{t-s} m_s},

    numerator and denominator being two recurrences :math:`h_t = f h_{t-1}
    + c_t` (with ``ignore_na=True`` the exponent counts observations
    only); during a gap the last value is held, as pandas does, also where
    :math:`f^g` underflows. ``adjust=False`` with gaps is pandas' update
    :math:`y = (d\,y + \alpha x)/(d + \alpha)` with :math:`d = f^g` after
    a gap of :math:`g` steps, a recurrence with varying coefficients solved
    by a parallel prefix scan (slower than the other cases, which run at
    matrix-multiply speed).

    With `times`, the decay of step :math:`i` is :math:`a_i = f^{\delta_i}`,
    :math:`\delta_i = (t_i - t_{i-1})/h`, and the recurrences become
    :math:`h_t = a_t h_{t-1} + c_t` (parallel prefix scans). As in pandas,
    ``ignore_na=True`` skips a missing sample together with the time it
    spans (the next observation decays by its own step only), and
    ``adjust=False`` uses pandas' update for irregular times, :math:`y = d\,
    y + (1 - d)\, x` with :math:`d` the decay since the last observation.

    Examples
    --------
    >>> import numpy as np
    >>> from probconv.smooth import ewma
    >>> x = np.array([1.0, 2.0, np.nan, 4.0])
    >>> ewma(x, alpha=0.5).round(6).tolist()
    [1.0, 1.666667, 1.666667, 3.363636]
    >>> ewma(x, alpha=0.4, adjust=False).round(6).tolist()
    [1.0, 1.4, 1.4, 2.768421]
    >>> ewma(x, alpha=0.5, ignore_na=True).round(6).tolist()
    [1.0, 1.666667, 1.666667, 3.0]

    Irregular times, as ``pandas.Series.ewm(halflife=..., times=...)``:

    >>> t = np.array(["2020-01-01", "2020-01-02", "2020-01-04", "2020-01-05"],
    ...              dtype="datetime64[ns]")
    >>> ewma(x, halflife="2 days", times=t).round(6).tolist()
    [1.0, 1.585786, 1.585786, 3.091326]
    >>> ewma(x, halflife=2.0, times=[0.0, 1.0, 3.0, 4.0]).round(6).tolist()
    [1.0, 1.585786, 1.585786, 3.091326]
    """
    if type(x) is np.ndarray and times is None:
        y = _on_host(
            x, alpha, halflife, span, com, adjust, ignore_na, min_periods, axis
        )
        if y is not None:
            return y
    if not isinstance(adjust, (bool, np.bool_)):
        raise TypeError(f"`adjust` must be True or False; got {adjust!r}.")
    if not isinstance(ignore_na, (bool, np.bool_)):
        raise TypeError(f"`ignore_na` must be True or False; got {ignore_na!r}.")
    min_periods = check_int("min_periods", min_periods, minimum=0)
    x, result = as_inexact(x, "x", complex_ok=False)
    (ax,) = normalize_axes("axis", axis, x.ndim, sort=False, purpose="to smooth")
    xm = jnp.moveaxis(x, ax, -1)
    if times is not None:
        deltas, f = _times_decay(times, halflife, alpha, span, com, adjust, xm)
        y = ewma_times(xm, deltas, f, bool(adjust), bool(ignore_na), min_periods)
        return jnp.moveaxis(y, -1, ax).astype(result)
    if isinstance(halflife, (str, datetime.timedelta, np.timedelta64)):
        raise ValueError(
            "`halflife` can be a timedelta only together with `times`; got "
            f"halflife={halflife!r} and times=None."
        )
    a = ewm_alpha(alpha, halflife, span, com).astype(x.dtype)
    if not ignore_na and xm.ndim - 1 in split_axes(xm):
        split = _ewma_split if adjust else _ewma_false_split
        y = split(xm, a, min_periods)
    else:
        y = _ewma_last(xm, a, bool(adjust), bool(ignore_na), min_periods)
    return jnp.moveaxis(y, -1, ax).astype(result)


def _times_decay(times, halflife, alpha, span, com, adjust, xm):
    """Pandas' rules for `times`: the scaled gaps and the decay per unit."""
    if halflife is None:
        raise ValueError(
            "`times` needs `halflife`, the time over which a weight halves "
            "(a timedelta such as '2 days' for datetime64 times, a number for "
            "numeric ones); got halflife=None."
        )
    others = {
        k: v for k, v in dict(alpha=alpha, span=span, com=com).items() if v is not None
    }
    if others and not adjust:
        raise ValueError(
            "With `times` and adjust=False, `halflife` must be the only decay "
            f"parameter (as in pandas); got also {sorted(others)}."
        )
    deltas = time_deltas(times, halflife, xm.shape[-1])
    if others:  # pandas: the weight of one half-life is 1 - alpha, not 1/2
        f = 1.0 - ewm_alpha(alpha, None, span, com)
    else:
        f = jnp.asarray(0.5)
    return deltas, f.astype(xm.dtype)


@bounded_jit(static_argnums=(2, 3, 4))
def _ewma_last(x, alpha, adjust: bool, ignore_na: bool, min_periods: int):
    f = 1.0 - alpha
    obs = ~jnp.isnan(x)
    x0 = jnp.where(obs, x, 0.0)
    counts = None
    if ignore_na:
        xc, present, counts = _compact(x0, obs)
        yc = _no_gaps(xc, present.astype(x.dtype), f, alpha, adjust)
        y = _expand(yc, counts)
    elif adjust:
        y = _adjusted(x, f)
    else:
        y = _adjust_false_gaps(x0, obs, f, alpha)
    if min_periods > 1:
        if counts is None:
            counts = jnp.cumsum(obs, axis=-1, dtype=jnp.int32)
        y = jnp.where(counts >= min_periods, y, jnp.nan)
    return y


# Long series are solved in chunks of this many samples, one after the
# other, each entering with the sums that left the previous one: everything a
# chunk needs stays in the cache, so the series is read once and the result
# written once (10^7 points: 97 ms, against 145 ms in one piece and pandas'
# 130 ms).
CHUNK = 4096


def _shard_chunk(m: int) -> int:
    """Return the chunk for a shard of `m` samples of a split series.

    An eighth of the shard, between 256 samples and `CHUNK`: a chunk's
    temporaries (a parallel scan's levels, a dozen arrays of its length)
    then stay below the shard itself. Whole shards of 2,048 samples held
    3.5 times the series (8,192 samples on four devices) in scratch per
    device for adjust=False, 1.2 times for adjust=True; in chunks of 256,
    0.54 and 0.28 (the tests' records; 2^16 samples with a gap, chunks of
    2,048: 0.32, from 0.45).
    """
    return min(CHUNK, max(m // 8, 256))


def _adjusted(x, f, start=None, chunk: int = CHUNK):
    """adjust=True EWMA along the last axis (NaN: missing).

    `start`: the sums and the mean entering the series (see
    `_adjusted_piece`); none by default. Chunks of `chunk` samples from
    four of them on.
    """
    n = x.shape[-1]
    if start is None:
        zero = jnp.zeros(x.shape[:-1], x.dtype)
        start = (zero, zero, jnp.full(x.shape[:-1], jnp.nan, x.dtype))
    if n < 4 * chunk:
        return _adjusted_piece(x, f, *start)[0]
    nc = n // chunk

    def body(i, state):
        out, *enter = state
        xc = lax.dynamic_slice_in_dim(x, i * chunk, chunk, axis=-1)
        y, *leave = _adjusted_piece(xc, f, *enter)
        out = lax.dynamic_update_slice_in_dim(out, y, i * chunk, axis=-1)
        return (out, *leave)

    out, *enter = lax.fori_loop(0, nc, body, (jnp.zeros_like(x), *start))
    if nc * chunk < n:
        y = _adjusted_piece(x[..., nc * chunk :], f, *enter)[0]
        out = lax.dynamic_update_slice_in_dim(out, y, nc * chunk, axis=-1)
    return out


def _ewma_split(x, alpha, min_periods: int):
    r"""adjust=True EWMA of a series split over devices along its last axis.

    A two-pass carry (`split_scan`). Each shard sums, about its last
    observation ``j``, :math:`s_j = \sum_{t \le j} f^{j-t} x_t` and
    :math:`w_j = \sum_{t \le j} f^{j-t}` over its observations, and counts
    them; gathered (a few numbers per row and shard), these give each shard
    the sums entering it and the mean at the last observation before it
    (what pandas carries across a gap whose sums underflow), from which it
    runs the one-device recursion.
    """
    f = 1.0 - alpha

    def local(block):
        obs = ~jnp.isnan(block)
        m = block.shape[-1]
        has = jnp.any(obs, axis=-1)
        j = m - 1 - jnp.argmax(obs[..., ::-1], axis=-1)
        log_f = jnp.log(jnp.maximum(f, jnp.finfo(block.dtype).tiny))
        # Chunk by chunk, so that no temporary is as long as the block.
        size = min(m, _shard_chunk(m))
        nc, rest = divmod(m, size)

        def add(state, start, piece):
            s, w, c = state
            present = ~jnp.isnan(piece)
            lag = j[..., None] - (start + jnp.arange(piece.shape[-1]))
            # f**lag as exp(lag log f): a third of the time of pow on a CPU.
            e = jnp.maximum(lag, 0).astype(piece.dtype)
            pw = jnp.where(lag >= 0, jnp.exp(e * log_f), 0.0)
            s = s + jnp.sum(jnp.where(present, piece, 0.0) * pw, axis=-1)
            w = w + jnp.sum(present * pw, axis=-1)
            return s, w, c + jnp.sum(present, axis=-1, dtype=jnp.int32)

        def body(i, state):
            piece = lax.dynamic_slice_in_dim(block, i * size, size, -1)
            return add(state, i * size, piece)

        zero = jnp.zeros_like(block[..., 0])  # varying over shards, as the sums
        state = lax.fori_loop(0, nc, body, (zero, zero, zero.astype(jnp.int32)))
        if rest:
            state = add(state, nc * size, block[..., nc * size :])
        s, w, c = state
        jf = j.astype(block.dtype)
        return has, f ** (jf + 1), f ** (m - 1 - jf), s, w, f**m + zero, c

    def combine(state, summary):
        s_in, w_in, y_last, total = state
        has, to_last, after_last, s, w, decay, count = summary
        s_at, w_at = s + to_last * s_in, w + to_last * w_in
        y_at = jnp.where(w_at > 0, s_at / jnp.where(w_at > 0, w_at, 1.0), y_last)
        return (
            jnp.where(has, s_at * after_last, decay * s_in),
            jnp.where(has, w_at * after_last, decay * w_in),
            jnp.where(has, y_at, y_last),
            total + count,
        )

    def finish(block, entering):
        shape = block.shape[:-1]
        s_in, w_in, y_in, c_in = (jnp.broadcast_to(e, shape) for e in entering)
        start = tuple(e.astype(block.dtype) for e in (s_in, w_in, y_in))
        y = _adjusted(block, f, start, _shard_chunk(block.shape[-1]))
        if min_periods > 1:
            obs = ~jnp.isnan(block)
            counts = jnp.cumsum(obs, axis=-1, dtype=jnp.int32) + c_in[..., None]
            y = jnp.where(counts >= min_periods, y, jnp.nan)
        return y

    zero = jnp.zeros((), x.dtype)
    initial = (zero, zero, jnp.full((), jnp.nan, x.dtype), jnp.zeros((), jnp.int32))
    return split_scan(x, x.ndim - 1, local, combine, finish, initial)


def _adjusted_piece(x, f, s_in, w_in, y_in):
    """One stretch of the adjust=True EWMA, entering with sums `s_in`, `w_in`.

    `y_in` is the last mean before the stretch (NaN before any observation).
    Returns the means and the same three values leaving the stretch. The
    mean is ``s / w`` at an observation; during a gap it is unchanged
    mathematically, but ``s`` and ``w`` decay as ``f^g`` and underflow (``s``
    first where the mean is small; at once for ``alpha = 1``), so the value
    at the last observation is carried forward, as pandas does.
    """
    m = x.shape[-1]
    obs = ~jnp.isnan(x)
    pw = f ** jnp.arange(1, m + 1, dtype=x.dtype)
    s = _recurrence.constant(f, jnp.where(obs, x, 0.0)) + pw * s_in[..., None]
    w = _recurrence.constant(f, obs.astype(x.dtype)) + pw * w_in[..., None]
    ok = w > 0
    y = jnp.where(ok, s / jnp.where(ok, w, 1.0), jnp.nan)
    # Carrying forward costs a third of the whole; it is needed only where a
    # gap holds a sum near underflow (or precedes the first observation).
    tiny = jnp.finfo(x.dtype).tiny
    lost = jnp.any(~obs & ((jnp.abs(s) < tiny) | (w < tiny)))

    def hold(y):
        last = lax.cummax(jnp.where(obs, jnp.arange(m), -1), axis=x.ndim - 1)
        y = jnp.take_along_axis(y, jnp.maximum(last, 0), axis=-1)
        return jnp.where(last >= 0, y, y_in[..., None])

    y = lax.cond(lost, hold, lambda y: y, y)
    return y, s[..., -1], w[..., -1], y[..., -1]


def _no_gaps(xc, present, f, alpha, adjust: bool):
    """EWMA of a series without gaps (observations first, then padding)."""
    if adjust:
        both = _recurrence.constant(f, jnp.stack([xc, present]))
        s, w = both[0], both[1]
        return s / jnp.where(w > 0, w, 1.0)
    # y_0 = x_0, y_k = f y_{k-1} + alpha x_k.
    first = jnp.arange(xc.shape[-1]) == 0
    return _recurrence.constant(f, jnp.where(first, xc, alpha * xc))


# The index of "no observation yet" when a block may enter with one before it
# (at a negative index): far below any gap, so that f**gap is 0.
_NONE = -(2**30)


def _false_coefficients(x0, obs, f, alpha, enter=None):
    """Return the maps ``y_t = a_t y_{t-1} + c_t`` of the adjust=False EWMA.

    `enter`: ``(y, gap, seen)`` entering the block (the mean, the samples
    since the last observation before it, and whether there was one); none
    by default. Returns ``a``, ``c`` and where an observation has been seen
    (at or before each sample).
    """
    n = x0.shape[-1]
    t = jnp.arange(n)
    if enter is None:
        last = lax.cummax(jnp.where(obs, t, -1), axis=x0.ndim - 1)
        entry = jnp.full(last.shape[:-1] + (1,), -1)
        seen_before = last >= 0
    else:
        _, gap_in, seen = enter
        entry = jnp.where(seen, -gap_in, _NONE)[..., None]
        last = lax.cummax(jnp.where(obs, t, _NONE), axis=x0.ndim - 1)
        last = jnp.maximum(last, entry)
        seen_before = last > _NONE
    prev = jnp.concatenate(
        [jnp.broadcast_to(entry, last.shape[:-1] + (1,)), last[..., :-1]], -1
    )
    first = obs & (prev < 0 if enter is None else prev == _NONE)
    gap = (t - prev).astype(x0.dtype)
    d = f**gap
    denom = d + alpha
    a = jnp.where(obs, jnp.where(first, 0.0, d / denom), 1.0)
    c = jnp.where(obs, jnp.where(first, x0, alpha * x0 / denom), 0.0)
    if enter is not None:  # the mean entering the block, carried by a_0
        y_in, _, seen = enter
        c = c.at[..., 0].add(a[..., 0] * jnp.where(seen, y_in, 0.0))
    return a, c, seen_before


def _adjust_false_gaps(x0, obs, f, alpha, enter=None):
    """Pandas' adjust=False update, with the decay of each gap."""
    a, c, seen = _false_coefficients(x0, obs, f, alpha, enter)
    y = _recurrence.general(a, c)
    return jnp.where(seen, y, jnp.nan)


def _false_chunks(x0, obs, f, alpha, enter, first=None, chunk: int = CHUNK):
    """Run the adjust=False EWMA over a block chunk by chunk, from `enter`.

    Returns the outputs, the state leaving the block (mean, samples since
    the last observation, whether one was seen) and, given `first` (the
    index of each row's first observation), the product of the ``a_t``
    after it: the slope of the block's map from that observation on. Each
    chunk's temporaries are a chunk long (`chunk` samples).
    """
    m = x0.shape[-1]
    size = min(m, chunk)
    nc, rest = divmod(m, size)

    def step(carry, start, xc, oc):
        y, gap, seen, slope = carry
        n = xc.shape[-1]
        a, c, seen_at = _false_coefficients(xc, oc, f, alpha, (y, gap, seen))
        yc = _recurrence.general(a, c)
        if first is not None:
            after = start + jnp.arange(n) > first[..., None]
            slope = slope * jnp.prod(jnp.where(after, a, 1.0), axis=-1)
        has = jnp.any(oc, axis=-1)
        last = n - 1 - jnp.argmax(oc[..., ::-1], axis=-1)
        gap = jnp.where(has, n - last, gap + n).astype(gap.dtype)
        out = jnp.where(seen_at, yc, jnp.nan)
        return (jnp.where(has, yc[..., -1], y), gap, seen | has, slope), out

    def body(i, state):
        carry, buf = state
        xc = lax.dynamic_slice_in_dim(x0, i * size, size, -1)
        oc = lax.dynamic_slice_in_dim(obs, i * size, size, -1)
        carry, out = step(carry, i * size, xc, oc)
        return carry, lax.dynamic_update_slice_in_dim(buf, out, i * size, -1)

    y_in, gap_in, seen_in = enter
    carry = (y_in, gap_in.astype(jnp.int32), seen_in, jnp.ones_like(y_in))
    carry, buf = lax.fori_loop(0, nc, body, (carry, jnp.zeros_like(x0)))
    if rest:
        carry, out = step(carry, nc * size, x0[..., nc * size :], obs[..., nc * size :])
        buf = lax.dynamic_update_slice_in_dim(buf, out, nc * size, -1)
    return buf, carry


def _ewma_false_split(x, alpha, min_periods: int):
    """adjust=False EWMA of a series split over devices along its last axis.

    Each shard's map from the state entering it (the last mean, the samples
    since the last observation, whether there was one) to the state leaving
    it depends on the entering gap only through its first observation, so a
    shard summarizes itself by that observation (where, which value), the
    affine map of the rest, and its last observation; the summaries are
    gathered and folded in order (`split_scan`), and each shard runs the
    recursion from the state entering it.
    """
    f = 1.0 - alpha

    def local(block):
        obs = ~jnp.isnan(block)
        m = block.shape[-1]
        x0 = jnp.where(obs, block, 0.0)
        has = jnp.any(obs, axis=-1)
        t0 = jnp.argmax(obs, axis=-1)
        x_first = jnp.take_along_axis(x0, t0[..., None], axis=-1)[..., 0]
        zero = jnp.zeros_like(x_first)  # varying over shards
        enter = (zero, zero.astype(jnp.int32), zero > 0)
        _, (y_end, gap_out, _, slope) = _false_chunks(
            x0, obs, f, alpha, enter, t0, _shard_chunk(m)
        )
        shift = jnp.where(has, y_end - slope * x_first, 0.0)
        count = jnp.sum(obs, axis=-1, dtype=jnp.int32)
        length = jnp.full(has.shape, m, jnp.int32)
        return has, t0.astype(jnp.int32), x_first, gap_out, slope, shift, count, length

    def combine(state, summary):
        y, gap, seen, total = state
        has, t0, x_first, gap_out, slope, shift, count, length = summary
        d = f ** (t0 + gap).astype(x_first.dtype)
        y_first = jnp.where(seen, (d * y + alpha * x_first) / (d + alpha), x_first)
        return (
            jnp.where(has, slope * y_first + shift, y),
            jnp.where(has, gap_out, gap + length),
            seen | has,
            total + count,
        )

    def finish(block, state):
        shape = block.shape[:-1]
        y_in, gap_in, seen, count_in = (jnp.broadcast_to(e, shape) for e in state)
        obs = ~jnp.isnan(block)
        x0 = jnp.where(obs, block, 0.0)
        enter = (y_in.astype(block.dtype), gap_in, seen)
        y, _ = _false_chunks(
            x0, obs, f, alpha, enter, chunk=_shard_chunk(block.shape[-1])
        )
        if min_periods > 1:
            counts = jnp.cumsum(obs, axis=-1, dtype=jnp.int32) + count_in[..., None]
            y = jnp.where(counts >= min_periods, y, jnp.nan)
        return y

    zero = jnp.zeros((), jnp.int32)
    initial = (jnp.zeros((), x.dtype), zero, jnp.zeros((), bool), zero)
    return split_scan(x, x.ndim - 1, local, combine, finish, initial)


_REAL = (int, float, np.integer, np.floating)


def _host_alpha(alpha, halflife, span, com) -> float | None:
    """Return the smoothing factor in float64 from Python or NumPy scalars.

    None where the parameters are not exactly one real scalar in its range
    (the JAX path raises the user's error).
    """
    given = [
        (k, v)
        for k, v in dict(alpha=alpha, halflife=halflife, span=span, com=com).items()
        if v is not None
    ]
    if len(given) != 1:
        return None
    ((name, v),) = given
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, _REAL):
        return None
    v = float(v)
    if not np.isfinite(v):
        return None
    if name == "alpha":
        return v if 0 < v <= 1 else None
    if name == "com":
        return 1.0 / (1.0 + v) if v >= 0 else None
    if name == "span":
        return 2.0 / (v + 1.0) if v >= 1 else None
    return 1.0 - float(np.exp(np.log(0.5) / v)) if v > 0 else None


# Host plans by input dtype, dimensions, x64 setting and options.
_PLANS: dict = {}


def _build(dtype, ndim, x64, adjust, ignore_na, min_periods, axis, *params):
    """Return the plan of `ewma_run` for these options, or None (the JAX path).

    ``(alpha, adjust, min_periods, axis, *input_plan)``.
    """
    if not isinstance(adjust, (bool, np.bool_)) or not isinstance(
        ignore_na, (bool, np.bool_)
    ):
        return None
    try:
        min_periods = check_int("min_periods", min_periods, minimum=0)
        a = _host_alpha(*params)
    except (ValueError, TypeError):
        return None
    if (
        a is None
        or isinstance(axis, (bool, np.bool_))
        or not isinstance(axis, (int, np.integer))
        or not -ndim <= axis < ndim
    ):
        return None
    given = input_plan(dtype, x64)
    if given is None:
        return None
    result = given[0]
    a = float(result.type(a))  # the JAX path's factor, in the result's dtype
    return (a, bool(adjust), min_periods, int(axis) % ndim, *given)


def _on_host(x, alpha, halflife, span, com, adjust, ignore_na, min_periods, axis):
    """`ewma` of a small NumPy array without missing values by lfilter, or None.

    Without NaN, `ignore_na` changes nothing. One plan per input dtype,
    dimensions, x64 setting and options (`typed_key`: ``alpha=1`` and
    ``alpha=True`` differ).
    """
    x64 = jax.config.jax_enable_x64
    options = (adjust, ignore_na, min_periods, axis, alpha, halflife, span, com)
    try:
        key = (x.dtype, x.ndim, x64, *map(typed_key, options))
        plan = _PLANS.get(key)
    except TypeError:  # an unhashable option
        return None
    if plan is None:
        plan = store_plan(_PLANS, key, _build(key[0], key[1], x64, *options))
    return ewma_run(x, plan) if plan else None
