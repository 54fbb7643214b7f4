"""Autocorrelation and cross-correlation functions, as in statsmodels."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import scipy.special
from jax import lax
from jax.typing import ArrayLike

from .._checks import (
    check_axis,
    check_choice,
    check_int,
    check_nan_policy,
    raise_on_nan,
)
from ..conv.internal import METHODS, bounded_jit
from ._args import as_array, half_dtype, last_axis_pair, restore, to_float
from ._missing import demeaned, pair_counts
from ._split import HALO_SHARDS_PAIR, Spread, over_time, split_layout


def _check_alpha(alpha) -> float | None:
    if alpha is None:
        return None
    try:
        out = float(alpha)
    except (TypeError, ValueError) as err:
        raise TypeError(f"`alpha` must be a number in (0, 1); got {alpha!r}.") from err
    if not 0 < out < 1:
        raise ValueError(f"`alpha` must lie strictly between 0 and 1; got {alpha!r}.")
    return out


def _z(alpha: float) -> float:
    """Return the standard normal quantile ``1 - alpha / 2``."""
    return float(scipy.special.ndtri(1 - alpha / 2))


MISSING = ("none", "raise", "conservative", "drop")
# statsmodels' `missing` and the nan_policy it matches ('drop' has none).
MISSING_POLICY = {
    "none": "propagate",
    "raise": "raise",
    "conservative": "omit",
    "drop": "drop",
}


def _missing_policy(missing, nan_policy, arrays: dict) -> str:
    """Return 'propagate', 'omit' or 'drop' from `missing` or `nan_policy`."""
    if missing is None:
        policy = check_nan_policy("nan_policy", nan_policy, arrays)
    else:
        if nan_policy != "propagate":
            raise ValueError(
                "Give `missing` (statsmodels' name) or `nan_policy`, not both; "
                f"got missing={missing!r} and nan_policy={nan_policy!r}."
            )
        policy = MISSING_POLICY[check_choice("missing", missing, MISSING)]
        if policy == "raise":
            raise_on_nan(arrays, "missing='raise'")
    return "propagate" if policy == "raise" else policy


def acf(
    x: ArrayLike,
    nlags: int | None = None,
    *,
    adjusted: bool = False,
    demean: bool = True,
    qstat: bool = False,
    alpha: float | None = None,
    bartlett_confint: bool = True,
    missing: str | None = None,
    nan_policy: str = "propagate",
    axis: int = -1,
    method: str = "auto",
):
    r"""Autocorrelation function of a series.

    Like `statsmodels.tsa.stattools.acf` (same defaults, same values with
    ``fft`` on or off, same options and return conventions), but batched
    along the other axes, differentiable, jit-compatible throughout (the
    Ljung-Box p-values included), and computing only the lags asked for (one
    engine correlation with ``maxlag=nlags``).

    Parameters
    ----------
    x : array_like
        The series, along `axis`; other axes are batch axes.
    nlags : int, optional
        The largest lag, at most ``n - 1``; default
        ``min(int(10 * log10(n)), n - 1)`` (statsmodels' default).
    adjusted : bool
        Divide the lag-:math:`k` autocovariance by :math:`n - k` instead of
        :math:`n` (with missing values: by the number of pairs present).
    demean : bool
        Subtract the mean first (statsmodels' ``acovf(demean=...)``; its
        ``acf`` always demeans).
    qstat : bool
        Also return the Ljung-Box statistics :math:`Q_h` for lags
        ``1 .. nlags`` and their p-values (see Notes).
    alpha : float, optional
        If given, also return ``1 - alpha`` confidence intervals (Bartlett's
        formula, or :math:`1/\sqrt{n}` with ``bartlett_confint=False``).
    bartlett_confint : bool
        Use Bartlett's formula for the intervals' standard errors.
    missing : {'none', 'raise', 'conservative', 'drop'}, optional
        statsmodels' option for NaN, with its semantics: ``'none'`` no
        check (NaN spreads to every lag, through the mean); ``'raise'`` a
        ValueError naming `x`; ``'conservative'`` means and lag products over
        the values present, divided by the number present (or, adjusted, by
        the number of pairs present at each lag), with :math:`n` the number
        present in the intervals and the Q statistics; ``'drop'`` removes the
        NaNs and treats what is left as contiguous (lags beyond what is left
        give NaN). It is the same as `nan_policy` ``'propagate'``,
        ``'raise'``, ``'omit'``, and ``'drop'`` has no `nan_policy`; give one
        of the two.
    nan_policy : {'propagate', 'omit', 'raise'}
        The house name for `missing` (see above); default ``'propagate'``.
    axis : int
        The axis of the series (default: the last).
    method : {'auto', 'direct', 'fft', 'overlap_add'}
        How the engine computes the lag products (see `probconv.correlate`).

    Returns
    -------
    acf : jax.Array
        The autocorrelations at lags ``0 .. nlags`` (``nlags + 1`` entries
        along `axis`). Returned alone when neither `alpha` nor `qstat` is
        given; otherwise the tuple ``(acf, confint)``, ``(acf, qstat,
        pvalues)`` or ``(acf, confint, qstat, pvalues)``, statsmodels' order.
    confint : jax.Array
        Only with `alpha`: the intervals, shaped like `acf` with a last axis
        of 2 (lower, upper), centred on `acf` as in statsmodels.
    qstat : jax.Array
        Only with `qstat`: the Ljung-Box statistics for lags ``1 .. nlags``
        (``nlags`` entries along `axis`).
    pvalues : jax.Array
        Only with `qstat`: their p-values,
        :math:`P(\chi^2_h > Q_h)`.

    Raises
    ------
    ValueError
        If `nlags` is negative or at least ``n``, `alpha` is not in (0, 1),
        `missing` or `nan_policy` is unknown or both are given, `x` holds a
        NaN with ``'raise'`` (only where values are concrete: under `jax.jit`
        ``'raise'`` gives NaN as ``'propagate'`` does), `axis` is out of
        range, `x` is empty, or ``missing='drop'`` is asked of a series
        split over devices along `axis`.
    TypeError
        If `x` is not real and numeric, or `nlags` or `axis` is not an
        integer.

    See Also
    --------
    ccf, xcorr, statsmodels.tsa.stattools.acf

    Notes
    -----
    With :math:`y = x - \bar x` (or :math:`x` when ``demean=False``),

    .. math::

        \hat\gamma_k = \frac{1}{d_k} \sum_{t=0}^{n-1-k} y_{t+k} y_t, \qquad
        \hat\rho_k = \hat\gamma_k / \hat\gamma_0,

    with :math:`d_k = n` (or :math:`n - k` when adjusted). Bartlett's standard
    error at lag :math:`k \ge 1` is
    :math:`\sqrt{(1 + 2 \sum_{j=1}^{k-1} \hat\rho_j^2) / n}` (0 at lag 0),
    and the interval is :math:`\hat\rho_k \pm z_{1-\alpha/2}` times it. The
    Ljung-Box statistic is

    .. math::

        Q_h = n (n + 2) \sum_{k=1}^{h} \frac{\hat\rho_k^2}{n - k},

    and its p-value the :math:`\chi^2_h` survival function, computed in JAX
    (`jax.scipy.stats.chi2.sf`, the regularized incomplete gamma function),
    so all outputs run under `jax.jit` and `jax.vmap`; they match
    `scipy.stats.chi2.sf` to rounding (in float32, p-values below about
    1e-38 underflow to 0). The mean is subtracted in two passes, so an
    offset such as ``1e8`` costs no accuracy. A constant series has
    :math:`\hat\gamma_0 = 0` and gives NaN, as in statsmodels. The FFT
    path's error is about :math:`\epsilon \sum_t y_t^2` on every lag, i.e.
    about :math:`\epsilon` on every :math:`\hat\rho_k`. Half-precision
    input is computed in float32 and returned in its own dtype.

    A series split over devices along `axis` (a `jax.sharding.NamedSharding`)
    stays split. Up to a quarter of a shard's lags, each device receives
    the `nlags` samples after its shard from its neighbours and sums its
    own lag products, and the lags are psums of those, returned replicated
    (the same on every device). More lags are computed by the engine's
    distributed transform, each device holding a block of them: returned
    split along the lags where the devices divide ``nlags + 1`` (else
    joined; the Ljung-Box outputs always). Batch axes stay split as in
    `x`. ``missing='drop'`` needs the whole series and raises a ValueError
    there. See the guide's "Signals split over devices".

    Examples
    --------
    >>> from probconv.similarity import acf
    >>> acf([1.0, 3.0, 2.0, 5.0, 4.0], nlags=2).round(4).tolist()
    [1.0, 0.0, 0.1]
    >>> rho, ci = acf([1.0, 3.0, 2.0, 5.0, 4.0], nlags=2, alpha=0.05)
    >>> ci.round(4).tolist()
    [[1.0, 1.0], [-0.8765, 0.8765], [-0.7765, 0.9765]]
    >>> rho, q, p = acf([1.0, 3.0, 2.0, 5.0, 4.0], nlags=2, qstat=True)
    >>> q.round(4).tolist(), p.round(4).tolist()
    ([0.0, 0.1167], [1.0, 0.9433])
    >>> x = [1.0, 3.0, float("nan"), 5.0, 4.0]
    >>> acf(x, nlags=2, missing="conservative").round(4).tolist()
    [1.0, 0.2143, -0.05]
    """
    x = as_array(x, "x", allow_complex=False)
    method = check_choice("method", method, METHODS)
    ax = check_axis("axis", axis, x.ndim)
    n = x.shape[ax]
    if nlags is None:
        nlags = min(int(10 * np.log10(n)), n - 1)
    nlags = check_int("nlags", nlags, minimum=0, maximum=n - 1)
    alpha = _check_alpha(alpha)
    policy = _missing_policy(missing, nan_policy, {"x": x})
    layout = split_layout([x], [ax])
    if layout is not None and policy == "drop":
        raise ValueError(
            "`missing='drop'` joins the values left across the whole series, "
            "which is split over devices along `axis`; use "
            "missing='conservative', or join the series first "
            "(jax.sharding.reshard to a spec that does not split `axis`)."
        )
    out = _acf(
        x,
        nlags,
        bool(adjusted),
        bool(demean),
        alpha,
        bool(bartlett_confint),
        bool(qstat),
        policy,
        ax,
        method,
        layout,
    )
    return out[0] if len(out) == 1 else out


def _bartlett_half_width(rho, k, nobs, alpha, bartlett_confint, ops):
    """Half-widths of the intervals at lags `k` (`ops` sums along the lags)."""
    if bartlett_confint:
        # 1 + 2 sum_{j=1}^{k-1} rho_j^2 at lag k >= 1, 0 at lag 0.
        sq = jnp.where(k >= 1, rho**2, 0)
        var = jnp.where(k == 0, 0, 1 + 2 * ops.cumsum(sq, exclusive=True)) / nobs
    else:
        var = jnp.ones_like(rho) / nobs
    # sqrt is not differentiable at lag 0's zero variance: keep it out.
    pos = var > 0
    return _z(alpha) * jnp.where(pos, jnp.sqrt(jnp.where(pos, var, 1)), 0)


P_CHUNK = 1024  # lags at a time of the p-values on a block (`_ljung_box`)


def _ljung_box(rho, k, nobs, ops):
    """Ljung-Box statistics and p-values at lags `k` (meaningful from lag 1)."""
    kk = jnp.maximum(k, 1)
    terms = jnp.where(k >= 1, rho**2 / (nobs - kk), 0)
    q = nobs * (nobs + 2) * ops.cumsum(terms)
    dof = jnp.broadcast_to(kk.astype(rho.dtype), q.shape)
    if isinstance(ops, Spread) and q.size > P_CHUNK:
        # The survival function iterates (`gammaincc`) carrying a dozen
        # arrays of its argument's size: a device's block of the lags a
        # chunk at a time holds a dozen chunks instead (identical values).
        p = lax.map(
            lambda a: jax.scipy.stats.chi2.sf(*a),
            (q.ravel(), dof.ravel()),
            batch_size=P_CHUNK,
        )
        return q, p.reshape(q.shape)
    return q, jax.scipy.stats.chi2.sf(q, dof)


@bounded_jit(static_argnums=tuple(range(1, 11)))
def _acf(
    x,
    nlags,
    adjusted,
    demean,
    alpha,
    bartlett_confint,
    qstat,
    policy,
    ax,
    method,
    layout,
):
    half = half_dtype(x)
    y = jnp.moveaxis(to_float(x), ax, -1)

    def core(y, ops):
        n = ops.length(y)
        k = ops.lags(0, nlags)
        if policy == "propagate":
            y = demeaned(y, ops=ops) if demean else y
            nobs = jnp.asarray(n, y.dtype)
            d = jnp.asarray(n - k if adjusted else 0 * k + n, y.dtype)
        else:
            present = ~jnp.isnan(y)
            if policy == "drop":
                # The values present first, in order: what is left, contiguous.
                order = jnp.argsort(~present, axis=-1, stable=True)
                y = jnp.take_along_axis(y, order, axis=-1)
                present = jnp.take_along_axis(present, order, axis=-1)
            nobs = ops.sum(present.astype(jnp.int32)).astype(y.dtype)
            if policy == "drop":
                d = nobs - k if adjusted else nobs + 0 * k
                # Lags at or beyond the number of values left do not exist.
                d = jnp.where(k < nobs, d, jnp.nan)
            elif adjusted:
                d = pair_counts(present, present, nlags, y.dtype, method, ops, True)
                d = jnp.maximum(d, 1)  # statsmodels: a lag without pairs gives 0
                # Split by the transform: the series' own after the counts',
                # and centred after it (one spectrum held at a time).
                y = ops.after(d, y)
            else:
                d = nobs
            y = demeaned(y, present, ops) if demean else jnp.where(present, y, 0)
        c = ops.lagged(y, y, nlags, method, nonneg=True)
        c = c / d
        rho = c / ops.first(c)
        out = [rho]
        if alpha is not None:
            hw = _bartlett_half_width(rho, k, nobs, alpha, bartlett_confint, ops)
            out.append(jnp.stack([rho - hw, rho + hw], axis=-1))
        if qstat:
            out.extend(_ljung_box(rho, k, nobs, ops))
        return out

    trailing = [0] + [1] * (alpha is not None) + [0, 0] * qstat
    ljung = (len(trailing) - 2, len(trailing) - 1) if qstat else ()
    out = over_time(core, layout, [y], trailing, (0, nlags), whole=ljung)
    moved = []
    for i, v in enumerate(out):
        src = -2 if (alpha is not None and i == 1) else -1
        if qstat and i >= len(out) - 2:  # the Ljung-Box outputs: lags 1 .. nlags
            v = v[..., 1:]
        moved.append(restore(jnp.moveaxis(v, src, ax), half))
    return tuple(moved)


def ccf(
    x: ArrayLike,
    y: ArrayLike,
    nlags: int | None = None,
    *,
    adjusted: bool = True,
    alpha: float | None = None,
    nan_policy: str = "propagate",
    axis: int = -1,
    method: str = "auto",
):
    r"""Cross-correlation function of two series.

    Like `statsmodels.tsa.stattools.ccf` (same values with ``fft`` on or
    off), but batched along the other axes, differentiable, and computing
    only the lags asked for.

    Parameters
    ----------
    x, y : array_like
        The series, along `axis`; they may differ in length. Other axes
        broadcast (batch axes).
    nlags : int, optional
        The *number* of lags returned, lags ``0 .. nlags - 1`` (statsmodels'
        convention for `ccf`; `acf` returns ``nlags + 1``). Default: ``n``,
        the length of `x`; at most ``n``.
    adjusted : bool
        Divide the lag-:math:`k` cross-covariance by the number of
        overlapping pairs :math:`\min(n - k, n_y)` instead of :math:`n`.
    alpha : float, optional
        If given, also return ``1 - alpha`` confidence intervals
        :math:`\hat\rho_k \pm z_{1-\alpha/2} / \sqrt{n}`.
    nan_policy : {'propagate', 'omit', 'raise'}
        NaN handling (statsmodels' `ccf` has none). ``'propagate'``: NaN at
        every lag (a NaN enters the means). ``'omit'``: as `acf`'s
        ``missing='conservative'``: means and standard deviations over the
        values present, lag products over the pairs present, divided by the
        number of pairs present at each lag when `adjusted` (lags without
        pairs give 0, as statsmodels does), else by the number of values of
        `x` present, which is also the :math:`n` of the intervals.
        ``'raise'``: a ValueError naming the input (where values are
        concrete; under `jax.jit` it acts as ``'propagate'``).
    axis : int
        The axis of the series (default: the last).
    method : {'auto', 'direct', 'fft', 'overlap_add'}
        How the engine computes the lag products (see `probconv.correlate`).

    Returns
    -------
    ccf : jax.Array
        The cross-correlations at lags ``0 .. nlags - 1``, along `axis`.
    confint : jax.Array
        Only with `alpha`: the intervals, with a last axis of 2.

    Raises
    ------
    ValueError
        If `nlags` is not between 1 and ``n``, `alpha` is not in (0, 1),
        `nan_policy` is unknown, or is ``'raise'`` and an input holds a NaN,
        `axis` is out of range, batch axes do not broadcast, an input is
        empty, or the series differ in length and one is split over devices
        along `axis`.
    TypeError
        If an input is not real and numeric, or `nlags` or `axis` is not an
        integer.

    See Also
    --------
    acf, xcorr, statsmodels.tsa.stattools.ccf

    Notes
    -----
    With :math:`u = x - \bar x`, :math:`v = y - \bar y` and population
    standard deviations :math:`s_x, s_y`,

    .. math::

        \hat\rho_k = \frac{1}{d_k \, s_x s_y}
                     \sum_{t} u_{t+k} \, v_t, \qquad k = 0, 1, \dots,

    the correlation of :math:`x_{t+k}` with :math:`y_t` (so a peak at
    :math:`k > 0` means `x` lags `y`). The means are subtracted in two
    passes; a constant series gives NaN, as in statsmodels. Half-precision
    input is computed in float32 and returned in its own dtype.

    Series split over devices along `axis` stay split, as in `acf` (the
    distributed transform once `nlags` reaches past half a shard); `x` and
    `y` must then have the same length (ValueError otherwise), and one not
    split is laid out like the other.

    Examples
    --------
    >>> from probconv.similarity import ccf
    >>> x = [1.0, 3.0, 2.0, 5.0, 4.0]
    >>> y = [2.0, 1.0, 4.0, 3.0, 6.0]
    >>> ccf(x, y, nlags=3).round(4).tolist()
    [0.3288, 0.3699, -0.3288]
    """
    x = as_array(x, "x", allow_complex=False)
    y = as_array(y, "y", allow_complex=False)
    method = check_choice("method", method, METHODS)
    n = x.shape[check_axis("axis", axis, x.ndim)]
    check_axis("axis", axis, y.ndim)
    if nlags is None:
        nlags = n
    nlags = check_int("nlags", nlags, minimum=1, maximum=n)
    alpha = _check_alpha(alpha)
    policy = check_nan_policy("nan_policy", nan_policy, {"x": x, "y": y})
    omit = policy == "omit"
    layout = split_layout([x, y], [axis % x.ndim, axis % y.ndim], "series `x` and `y`")
    return _ccf(x, y, nlags, bool(adjusted), alpha, omit, int(axis), method, layout)


@bounded_jit(static_argnums=(2, 3, 4, 5, 6, 7, 8))
def _ccf(x, y, nlags, adjusted, alpha, omit, axis, method, layout):
    half = half_dtype(x, y)
    xx, yy, _ = last_axis_pair(to_float(x), to_float(y), axis)

    def core(xx, yy, ops):
        n, ny = ops.length(xx), ops.length(yy)
        k = ops.lags(0, nlags - 1)
        if omit:
            px, py = ~jnp.isnan(xx), ~jnp.isnan(yy)
            nx = ops.sum(px.astype(jnp.int32)).astype(xx.dtype)
            my = ops.sum(py.astype(jnp.int32)).astype(yy.dtype)
            if adjusted:
                d = pair_counts(px, py, nlags - 1, xx.dtype, method, ops, True)
                d = jnp.maximum(d, 1)
                # Split by the transform: the series' after the counts', and
                # centred after it (one spectrum held at a time).
                xx, yy = ops.after(d, xx, yy)
            else:
                d = nx
            u, v = demeaned(xx, px, ops), demeaned(yy, py, ops)
        else:
            nx, my = n, ny
            u, v = demeaned(xx, ops=ops), demeaned(yy, ops=ops)
            d = jnp.asarray(jnp.minimum(n - k, ny) if adjusted else 0 * k + n)
        c = ops.lagged(u, v, nlags - 1, method, nonneg=True)
        sx = jnp.sqrt(ops.sum(u**2) / nx)
        sy = jnp.sqrt(ops.sum(v**2) / my)
        rho = c / d.astype(c.dtype) / (sx * sy)
        if alpha is None:
            return (rho,)
        hw = _z(alpha) / jnp.sqrt(jnp.asarray(nx, rho.dtype))
        return rho, jnp.stack([rho - hw, rho + hw], axis=-1)

    trailing = [0] if alpha is None else [0, 1]
    out = over_time(
        core, layout, [xx, yy], trailing, (0, nlags - 1), halo_shards=HALO_SHARDS_PAIR
    )
    pos = axis % out[0].ndim
    if alpha is None:
        return restore(jnp.moveaxis(out[0], -1, pos), half)
    return (
        restore(jnp.moveaxis(out[0], -1, pos), half),
        restore(jnp.moveaxis(out[1], -2, pos), half),
    )
