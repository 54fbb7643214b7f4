"""EWMA of irregularly spaced observations: pandas' ``ewm(times=...)``.

Between samples ``i - 1`` and ``i`` the older weights decay by
``f ** delta_i`` with ``delta_i = (t_i - t_{i-1}) / halflife`` (``f = 1/2``
unless pandas' ``com``, ``span`` or ``alpha`` sets ``f = 1 - alpha``). The
decays vary from step to step, so both recurrences (the adjusted sums and
the ``adjust=False`` update) are solved by the parallel prefix scan of
`_recurrence.general`.
"""

from __future__ import annotations

import datetime

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from probconv.conv.internal import bounded_jit

from .._checks import concrete
from . import _recurrence

_TIMEDELTA_TYPES = (str, datetime.timedelta, np.timedelta64)


def _halflife_in(unit: str, halflife) -> float:
    """Return a timedelta-like `halflife` in `unit` ticks (pandas' rule)."""
    try:  # pandas' own conversion where pandas is installed (an optional extra)
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is in the test extras
        pd = None
    if pd is not None:
        try:
            return float(pd.Timedelta(halflife).as_unit(unit)._value)
        except (ValueError, TypeError, RuntimeError) as err:  # pandas refusals
            raise ValueError(
                f"`halflife` must be a timedelta convertible object; got "
                f"{halflife!r} ({err})."
            ) from err
    if isinstance(halflife, str):
        raise TypeError(
            "A string `halflife` is parsed by pandas, which is not installed; "
            f"pass a numpy.timedelta64 or datetime.timedelta; got {halflife!r}."
        )
    td = np.timedelta64(halflife)
    return float(td.astype(f"timedelta64[{unit}]").astype(np.int64))


def time_deltas(times, halflife, n: int):
    """Return ``diff(times) / halflife`` (length ``n - 1``), checked.

    Datetime times follow pandas exactly (int64 ticks as float64, the
    half-life in the same unit); numeric times are differenced in their own
    dtype (so large epochs keep their precision) and stay differentiable.
    """
    if isinstance(halflife, _TIMEDELTA_TYPES) and not isinstance(halflife, str):
        is_td = True
    else:
        is_td = isinstance(halflife, str)
    if isinstance(times, jax.Array):
        t = times
    else:
        t = np.asarray(times)
        values = getattr(times, "dt", times)  # a Series' datetime accessor
        if t.dtype.kind == "O" and getattr(values, "tz", None) is not None:
            # timezone-aware pandas times: their UTC instants, as pandas uses
            t = np.asarray(values.tz_convert(None))
    if t.ndim != 1 or t.shape[0] != n:
        raise ValueError(
            f"`times` must be 1-D with one time per sample along `axis` ({n}); "
            f"got shape {t.shape}."
        )
    kind = t.dtype.kind
    if kind == "M":
        if not is_td:
            raise ValueError(
                "With datetime64 `times`, `halflife` must be a timedelta "
                "convertible object (a string such as '2 days', a "
                f"numpy.timedelta64 or a datetime.timedelta); got {halflife!r}."
            )
        if np.isnat(t).any():
            raise ValueError("`times` must not hold NaT (not-a-time) values.")
        unit = np.datetime_data(t.dtype)[0]
        if unit not in ("s", "ms", "us", "ns"):  # days, hours...: exact in s
            t, unit = t.astype("datetime64[s]"), "s"
        h = _halflife_in(unit, halflife)
        if not h > 0:
            raise ValueError(f"`halflife` must be positive; got {halflife!r}.")
        ticks = np.asarray(t.view(np.int64), dtype=np.float64)
        return jnp.asarray(np.diff(ticks) / h)
    if kind not in "biuf":
        raise TypeError(
            f"`times` must be a numeric or numpy datetime64 array; got dtype {t.dtype}."
        )
    if is_td:
        raise TypeError(
            "With numeric `times`, `halflife` must be a number in the same "
            f"units; got {halflife!r}. Use datetime64 times for a timedelta."
        )
    tv = concrete(t)
    if tv is not None and not np.all(np.isfinite(tv)):
        raise ValueError("`times` must be finite.")
    hv = concrete(halflife)
    if hv is not None and (
        hv.dtype.kind not in "biuf" or hv.ndim != 0 or not (np.isfinite(hv) and hv > 0)
    ):
        raise ValueError(
            f"`halflife` must be a finite positive number; got {halflife!r}."
        )
    if tv is not None and not isinstance(times, jax.Array):
        d = np.diff(tv.astype(np.float64) if kind == "f" else tv).astype(np.float64)
        return jnp.asarray(d) / halflife
    return jnp.diff(jnp.asarray(t)) / halflife


@bounded_jit(static_argnums=(3, 4, 5))
def ewma_times(x, deltas, f, adjust: bool, ignore_na: bool, min_periods: int):
    """Pandas' ``ewm(times=...).mean()`` along the last axis of `x`."""
    n = x.shape[-1]
    dt = x.dtype
    obs = ~jnp.isnan(x)
    x0 = jnp.where(obs, x, 0.0)
    one = jnp.ones((1,), dt)
    step = jnp.concatenate([one, f.astype(dt) ** deltas.astype(dt)])
    a = jnp.broadcast_to(step, x.shape)
    if ignore_na:  # pandas skips missing samples, and the time they span
        a = jnp.where(obs, a, 1.0)
    t = jnp.arange(n)
    last = lax.cummax(jnp.where(obs, t, -1), axis=x.ndim - 1)
    if adjust:
        both = _recurrence.general(jnp.stack([a, a]), jnp.stack([x0, obs.astype(dt)]))
        s, w = both[0], both[1]
        y = s / jnp.where(obs, w, 1.0)
        # Held through gaps (the sums may underflow there; pandas holds too).
        y = jnp.take_along_axis(y, jnp.maximum(last, 0), axis=-1)
    else:
        # pandas' update for irregular times (com = 1, the only choice with
        # adjust=False): y = d y + (1 - d) x, with d the decay since the last
        # observation, the product of the steps' decays.
        q = _recurrence.general(jnp.where(obs, 0.0, a), obs.astype(dt))
        q_prev = jnp.concatenate([jnp.ones(x.shape[:-1] + (1,), dt), q[..., :-1]], -1)
        d = a * q_prev
        prev = jnp.concatenate(
            [jnp.full(last.shape[:-1] + (1,), -1), last[..., :-1]], -1
        )
        first = obs & (prev < 0)
        coef = jnp.where(obs, jnp.where(first, 0.0, d), 1.0)
        c = jnp.where(obs, jnp.where(first, x0, (1.0 - d) * x0), 0.0)
        y = _recurrence.general(coef, c)
    counts = jnp.cumsum(obs, axis=-1, dtype=jnp.int32)
    return jnp.where((last >= 0) & (counts >= max(min_periods, 1)), y, jnp.nan)
