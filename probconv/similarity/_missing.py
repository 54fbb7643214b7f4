"""Missing values (NaN): masks, means over the values present, pair counts.

With ``nan_policy='omit'`` a correlation is summed over the pairs whose two
values are present (NaN replaced by 0 after centring) and normalized per lag
from the number of such pairs, which is one more engine correlation: that
of the two masks of values present.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ._split import WHOLE


def demeaned(x, present=None, ops=WHOLE) -> jax.Array:
    """`x` minus its mean along the last axis (two passes, differentiable).

    With a mask `present`, the mean is over the values present and the
    result is 0 where a value is missing. `ops` sums along the series
    (`_split.WHOLE`, or a device's `_split.Shards`).
    """
    if present is None:
        # Means as sums of pre-scaled terms, each a reduction's result: a
        # mean written as sum / n leaves XLA a cheap multiply to copy into
        # every fusion that subtracts it, and to contract with the
        # subtraction in some of them only (see `mean_shift`); for data like
        # 1e8 + noise the two passes then disagree by an ulp of 1e8.
        w = 1.0 / ops.length(x)
        xc = x - ops.sum(x * w)
        return xc - ops.sum(xc * w)
    count = jnp.maximum(ops.sum(present.astype(jnp.int32)), 1)
    x0 = jnp.where(present, x, 0)
    xc = jnp.where(present, x0 - ops.sum(x0) / count, 0)
    return jnp.where(present, xc - ops.sum(xc) / count, 0)


def pair_counts(
    pa, pb, maxlag, dtype, method="auto", ops=WHOLE, nonneg=False
) -> jax.Array:
    """Count the lag-`k` pairs ``(a[n + k], b[n])`` with both values present.

    The lags are those of ``correlate(a, b, 'full', maxlag=maxlag)`` (from
    lag 0 on if `nonneg`). The
    counts come from a floating correlation of the masks, rounded: exact
    while ``eps * n`` stays well below 1/2 (any float64 length; float32 up
    to millions of samples).
    """
    fa = pa.astype(dtype)
    fb = fa if pb is pa else pb.astype(dtype)  # one series: an autocorrelation
    c = ops.lagged(fa, fb, maxlag, method, nonneg)
    return jnp.round(jnp.real(c))


def any_nan(x) -> jax.Array:
    """Return True where the series along the last axis holds a NaN."""
    return jnp.any(jnp.isnan(x), axis=-1)
