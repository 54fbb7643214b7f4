"""probconv.smooth.ewma against pandas' ewm(...).mean().

Tolerance: 1e-12 * max abs(x) in float64 (the blocked and parallel-prefix
recurrences reorder the sequential sums; errors stay near eps times the
number of terms that matter); 2e-5 in float32.
"""

from __future__ import annotations

import datetime

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest
from _reference import check_grads
from hypothesis import given, settings
from hypothesis import strategies as st

from probconv.smooth import _recurrence, ewma

TOL = {"float64": 1e-12, "float32": 2e-5}


@pytest.fixture(scope="module")
def series():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 300)).cumsum(-1)
    x[rng.random(x.shape) < 0.25] = np.nan
    x[0, :4] = np.nan
    x[1, 100:160] = np.nan  # a long gap
    return x


def close(a, b, tol):
    a, b = np.asarray(a), np.asarray(b)
    np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
    if np.isnan(b).all():
        return
    scale = max(1.0, np.nanmax(np.abs(b)))
    np.testing.assert_allclose(a, b, rtol=0, atol=tol * scale, equal_nan=True)


PARAMS = [
    {"alpha": 0.3},
    {"alpha": 1.0},
    {"span": 10},
    {"halflife": 4.0},
    {"com": 0.0},
    {"com": 50.0},
]


@pytest.mark.parametrize("kw", PARAMS, ids=lambda k: str(k))
@pytest.mark.parametrize("adjust", [True, False])
@pytest.mark.parametrize("ignore_na", [False, True])
def test_matches_pandas(series, kw, adjust, ignore_na):
    ref = pd.DataFrame(series.T).ewm(**kw, adjust=adjust, ignore_na=ignore_na)
    got = ewma(series, **kw, adjust=adjust, ignore_na=ignore_na)
    close(got, ref.mean().to_numpy().T, TOL["float64"])


def test_min_periods_and_axis(series):
    ref = pd.DataFrame(series.T).ewm(span=5, min_periods=7).mean().to_numpy()
    close(ewma(series.T, span=5, min_periods=7, axis=0), ref, TOL["float64"])


def test_pandas_quirk_at_alpha_one_half():
    # pandas 3.x, adjust=False, alpha=0.5 exactly, after a gap: it returns
    # f^g y + (1 - f^g) x instead of its own update (d y + a x)/(d + a),
    # which it uses for every other alpha. We keep the documented update.
    x = np.array([1.0, np.nan, 4.0])
    for a in (0.49, 0.51):
        ref = pd.Series(x).ewm(alpha=a, adjust=False).mean().to_numpy()
        close(ewma(x, alpha=a, adjust=False), ref, TOL["float64"])
    d, a = 0.25, 0.5
    assert float(ewma(x, alpha=0.5, adjust=False)[-1]) == pytest.approx(
        (d * 1 + a * 4) / (d + a), rel=1e-15
    )


def test_long_series_blocked_recurrence():
    rng = np.random.default_rng(8)
    x = rng.standard_normal(40_000)
    x[rng.random(x.size) < 0.1] = np.nan
    ref = pd.Series(x).ewm(alpha=0.002).mean().to_numpy()
    close(ewma(x, alpha=0.002), ref, TOL["float64"])
    close(ewma(x.astype(np.float32), alpha=0.002), ref, TOL["float32"])
    assert ewma(x.astype(np.float32), alpha=0.1).dtype == jnp.float32


@pytest.mark.parametrize("kw", [{"alpha": 1.0}, {"alpha": 0.3}, {"alpha": 0.001}])
def test_chunked_series_with_gaps_across_chunks(kw):
    # Long series run chunk by chunk (`_ewma.CHUNK`): the sums, and the value
    # held through a gap, must cross chunk boundaries. alpha=1 underflows the
    # weights at once in every gap; alpha=0.3 within a few thousand steps.
    from probconv.smooth import _ewma

    c = _ewma.CHUNK
    rng = np.random.default_rng(10)
    x = rng.standard_normal((2, 5 * c + 123))
    x[rng.random(x.shape) < 0.2] = np.nan
    x[0, : c + 5] = np.nan  # no observation in the whole first chunk
    x[1, 2 * c - 7 : 3 * c + 9] = np.nan  # a gap over a whole chunk
    ref = pd.DataFrame(x.T).ewm(**kw).mean().to_numpy().T
    close(ewma(x, **kw), ref, TOL["float64"])
    close(jax.jit(lambda v: ewma(v, **kw))(x), ref, TOL["float64"])


def test_chunked_series_gradient(monkeypatch):
    from probconv.smooth import _ewma

    monkeypatch.setattr(_ewma, "CHUNK", 32)  # the chunked path, small and quick
    x = np.random.default_rng(11).standard_normal(4 * 32 + 11)
    x[::7] = np.nan
    present = ~np.isnan(x)

    def f(v, a):
        full = jnp.asarray(x).at[present].set(v)
        return ewma(full, alpha=a)[-5:]

    check_grads(f, (x[present], 0.05), order=1, modes=("rev",), eps=1e-4)


def test_recurrence_solvers_agree_with_loop():
    rng = np.random.default_rng(9)
    c = rng.standard_normal((2, 300))
    a = rng.uniform(0.5, 1.0, (2, 300))
    h = np.zeros_like(c)
    g = np.zeros_like(c)
    for t in range(300):
        h[:, t] = 0.9 * (h[:, t - 1] if t else 0) + c[:, t]
        g[:, t] = a[:, t] * (g[:, t - 1] if t else 0) + c[:, t]
    close(jax.jit(_recurrence.constant)(jnp.asarray(0.9), jnp.asarray(c)), h, 1e-13)
    close(jax.jit(_recurrence.general)(jnp.asarray(a), jnp.asarray(c)), g, 1e-13)


@given(seed=st.integers(0, 2**31), alpha=st.floats(0.01, 1.0))
def test_hypothesis_mean_within_observed_range(seed, alpha):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(50)
    x[rng.random(50) < 0.3] = np.nan
    for adjust in (True, False):
        y = np.asarray(ewma(x, alpha=alpha, adjust=adjust))
        seen = ~np.isnan(y)
        lo = np.fmin.accumulate(np.where(np.isnan(x), np.inf, x))
        hi = np.fmax.accumulate(np.where(np.isnan(x), -np.inf, x))
        assert (y[seen] >= lo[seen] - 1e-12).all()
        assert (y[seen] <= hi[seen] + 1e-12).all()


def test_transforms(series):
    x = np.nan_to_num(series[0])
    f = jax.jit(lambda v: ewma(v, alpha=0.2))
    close(f(series[0]), ewma(series[0], alpha=0.2), 1e-15)
    close(jax.vmap(f)(jnp.asarray(series)), ewma(series, alpha=0.2), 1e-15)
    check_grads(lambda v: ewma(v, alpha=0.2), (x[:60],), 1)
    gappy = series[0, 4:64].copy()
    gappy[0] = 1.0  # outputs before the first observation are NaN
    # alpha through the parallel-prefix path (adjust=False with gaps) and,
    # via halflife, through the blocked path with compaction (ignore_na).
    check_grads(lambda a: ewma(gappy, alpha=a, adjust=False), (0.3,), 1)
    check_grads(
        lambda h: ewma(gappy, halflife=h, ignore_na=True), (3.0,), 1, modes=("rev",)
    )


# ------------------------------------------------------------------ times=


@pytest.fixture(scope="module")
def irregular():
    rng = np.random.default_rng(12)
    x = rng.standard_normal((3, 120)).cumsum(-1)
    x[rng.random(x.shape) < 0.3] = np.nan
    x[1, 40:70] = np.nan  # a long gap
    x[2, :6] = np.nan
    seconds = np.cumsum(rng.integers(0, 4 * 86400, 120))  # repeats allowed
    seconds[20] = seconds[19]
    times = np.datetime64("2024-03-01T00:00:00", "s") + seconds.astype("m8[s]")
    return x, times, seconds.astype(np.float64)


# Each (adjust, ignore_na, min_periods) compiles its own program: the default
# run takes the four cases that hold every pair of options (the remaining
# four, slow, add no new pair; test_hypothesis_times_match_pandas draws all
# of adjust x ignore_na on short series).
_TIMES_OPTIONS = [
    (adjust, ignore_na, min_periods)
    for adjust in (True, False)
    for ignore_na in (False, True)
    for min_periods in (0, 4)
]
_TIMES_PAIRWISE = [c for c in _TIMES_OPTIONS if (c[0] + c[1] + (c[2] > 0)) % 2 == 0]


@pytest.mark.parametrize(
    "adjust, ignore_na, min_periods",
    [
        c if c in _TIMES_PAIRWISE else pytest.param(*c, marks=pytest.mark.slow)
        for c in _TIMES_OPTIONS
    ],
)
def test_times_match_pandas(irregular, adjust, ignore_na, min_periods):
    x, times, seconds = irregular
    kw = dict(adjust=adjust, ignore_na=ignore_na, min_periods=min_periods)
    frame = pd.DataFrame(x.T)
    ref = frame.ewm(halflife="2.5 days", times=times, **kw).mean().to_numpy().T
    for hl in ("2.5 days", np.timedelta64(60, "h"), pd.Timedelta(hours=60)):
        close(ewma(x, halflife=hl, times=times, **kw), ref, TOL["float64"])
    # numeric times, the half-life in their units (pandas needs datetime64)
    close(ewma(x, halflife=2.5 * 86400, times=seconds, **kw), ref, TOL["float64"])
    # time along axis 0, as a DataFrame
    got = ewma(x.T, halflife="2.5 days", times=pd.DatetimeIndex(times), axis=0, **kw)
    close(got, ref.T, TOL["float64"])


def test_times_with_alpha_and_datetime_units(irregular):
    # pandas: with times and adjust=True, com/span/alpha set the weight of
    # one half-life to 1 - alpha; times in any datetime64 unit.
    x, times, _ = irregular
    frame = pd.DataFrame(x.T)
    ref = frame.ewm(halflife="1 day", times=times, alpha=0.3).mean().to_numpy().T
    got = ewma(x, halflife=datetime.timedelta(days=1), times=times, alpha=0.3)
    close(got, ref, TOL["float64"])
    # timezone-aware pandas times (a DST change inside): their UTC instants
    paris = pd.DatetimeIndex(times).tz_localize("UTC").tz_convert("Europe/Paris")
    ref = frame.ewm(halflife="30h", times=paris).mean().to_numpy().T
    close(ewma(x, halflife="30h", times=paris), ref, TOL["float64"])
    close(ewma(x, halflife="30h", times=pd.Series(paris)), ref, TOL["float64"])
    t_ns = times.astype("datetime64[ns]")
    ref = frame.ewm(halflife="36h", times=t_ns, span=4).mean().to_numpy().T
    close(ewma(x, halflife="36h", times=t_ns, span=4), ref, TOL["float64"])


def test_times_float32_and_regular_times_match_plain(irregular):
    x = irregular[0]
    even = np.arange(x.shape[-1]) * 2.0
    plain = ewma(x, halflife=3.0)
    close(ewma(x, halflife=6.0, times=even), plain, TOL["float64"])
    got = ewma(x.astype(np.float32), halflife=6.0, times=even)
    assert got.dtype == jnp.float32
    close(got, plain, TOL["float32"])


@given(
    n=st.sampled_from([1, 2, 17]),
    adjust=st.booleans(),
    ignore_na=st.booleans(),
    seed=st.integers(0, 2**31),
)
@settings(max_examples=20)
def test_hypothesis_times_match_pandas(n, adjust, ignore_na, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n)
    x[rng.random(n) < 0.4] = np.nan
    times = np.datetime64("2024-01-01", "ns") + np.cumsum(
        rng.integers(0, 10**12, n)
    ).astype("m8[ns]")
    kw = dict(adjust=adjust, ignore_na=ignore_na)
    ref = pd.Series(x).ewm(halflife="30min", times=times, **kw).mean().to_numpy()
    close(ewma(x, halflife="30min", times=times, **kw), ref, TOL["float64"])


def test_times_transforms(irregular):
    x, times, seconds = irregular
    hl = 2.5 * 86400

    def f(v):
        return ewma(v, halflife="2.5 days", times=times, adjust=False)

    ref = f(x)
    close(jax.jit(f)(x), ref, 1e-15)
    # vmap under jit: one program (eager vmap compiles one per operation)
    close(jax.jit(jax.vmap(f))(jnp.asarray(x)), ref, 1e-15)
    t = jnp.asarray(seconds)
    g = jax.jit(lambda v, tt, h: ewma(v, halflife=h, times=tt))
    close(g(x, t, hl), ewma(x, halflife=hl, times=seconds), 1e-15)
    full = np.nan_to_num(x[0, :40])
    check_grads(lambda v: ewma(v, halflife=hl, times=seconds[:40]), (full,), 1)
    check_grads(
        lambda v: ewma(v, halflife=hl, times=seconds[:40], adjust=False),
        (full,),
        1,
        modes=("rev",),
    )
    # and in the half-life itself (numeric times)
    check_grads(lambda h: ewma(full, halflife=h, times=seconds[:40]), (hl,), 1)


TIMES = np.array(["2024-01-01", "2024-01-03"], dtype="datetime64[D]")
NAT = np.array(["NaT", "2024-01-01"], dtype="datetime64[s]")

BAD = [
    (lambda: ewma([1.0, 2.0], times=TIMES), ValueError, "`times` needs `halflife`"),
    (
        lambda: ewma([1.0, 2.0], halflife=2.0, times=TIMES),
        ValueError,
        "`halflife` must be a timedelta convertible",
    ),
    (
        lambda: ewma([1.0, 2.0], halflife="2 days", times=[0.0, 1.0]),
        TypeError,
        "With numeric `times`, `halflife` must be a number",
    ),
    (
        lambda: ewma([1.0, 2.0], halflife="2 days"),
        ValueError,
        "timedelta only together with `times`",
    ),
    (
        lambda: ewma([1.0, 2.0], halflife="1D", alpha=0.5, times=TIMES, adjust=False),
        ValueError,
        "`halflife` must be the only decay parameter",
    ),
    (
        lambda: ewma([1.0, 2.0, 3.0], halflife="1D", times=TIMES),
        ValueError,
        "`times` must be 1-D with one time per sample",
    ),
    (
        lambda: ewma([1.0, 2.0], halflife="1D", times=NAT),
        ValueError,
        "must not hold NaT",
    ),
    (
        lambda: ewma([1.0, 2.0], halflife="-1D", times=TIMES),
        ValueError,
        "`halflife` must be positive",
    ),
    (
        lambda: ewma([1.0, 2.0], halflife=0.0, times=[0.0, 1.0]),
        ValueError,
        "`halflife` must be a finite positive number",
    ),
    (
        lambda: ewma([1.0, 2.0], halflife=1.0, times=[0.0, np.nan]),
        ValueError,
        "`times` must be finite",
    ),
    (
        lambda: ewma([1.0, 2.0], halflife=1.0, times=["a", "b"]),
        TypeError,
        "`times` must be a numeric or numpy datetime64",
    ),
    (
        lambda: ewma([1.0, 2.0], halflife="fortnight", times=TIMES),
        ValueError,
        "`halflife` must be a timedelta convertible",
    ),
    (lambda: ewma([1.0, 2.0]), ValueError, "Give exactly one of `alpha`"),
    (lambda: ewma([1.0], alpha=0.5, span=3), ValueError, "Give exactly one of"),
    (lambda: ewma([1.0], alpha=0.0), ValueError, "`alpha` must satisfy 0 < alpha"),
    (lambda: ewma([1.0], alpha=1.5), ValueError, "`alpha` must satisfy"),
    (lambda: ewma([1.0], com=-1.0), ValueError, "`com` must satisfy com >= 0"),
    (lambda: ewma([1.0], span=0.5), ValueError, "`span` must satisfy span >= 1"),
    (lambda: ewma([1.0], halflife=0), ValueError, "`halflife` must satisfy"),
    (lambda: ewma([1.0], alpha=[0.1, 0.2]), TypeError, "`alpha` must be a real scalar"),
    (lambda: ewma([1.0], alpha=0.5, adjust=1), TypeError, "`adjust` must be True"),
    (lambda: ewma([1.0], alpha=0.5, ignore_na="no"), TypeError, "`ignore_na` must be"),
    (lambda: ewma([1.0], alpha=0.5, min_periods=-1), ValueError, "`min_periods` must"),
    (lambda: ewma(np.ones((2, 2)), alpha=0.5, axis=2), ValueError, "out of range"),
]


@pytest.mark.parametrize("fn, exc, match", BAD)
def test_bad_input(fn, exc, match):
    with pytest.raises(exc, match=match):
        fn()
