"""Tests of probconv.similarity.sliding_pearson against pandas'
rolling().corr, with missing values, constant stretches and huge offsets."""

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest
from _reference import check_grads
from hypothesis import given
from hypothesis import strategies as hst

from probconv.similarity import sliding_pearson

# Tolerances (absolute, on coefficients). float64: pandas' online moments and
# probconv's window sums each err by ~ eps * window * (spread / std)^2, a few
# hundred eps on standardized data. float32: eps32 times the same factor.
TOL = {"float64": 1e-10, "float32": 1e-4}


def pandas_corr(x, y, window, min_periods=None):
    return (
        pd.Series(x).rolling(window, min_periods=min_periods).corr(pd.Series(y)).values
    )


def data(seed, n=300):
    r = np.random.default_rng(seed)
    x = r.standard_normal(n)
    y = 0.6 * x + r.standard_normal(n)
    x[[5, 17, 18, 100]] = np.nan
    y[[17, 40, 41, 42]] = np.nan
    return x, y


@pytest.mark.parametrize(
    "window,min_periods", [(10, None), (10, 3), (1, None), (7, 0), (400, 5)]
)
def test_matches_pandas_with_missing_values(window, min_periods):
    x, y = data(0)
    got = np.asarray(sliding_pearson(x, y, window, min_periods=min_periods))
    ref = pandas_corr(x, y, window, min_periods)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
    np.testing.assert_allclose(got, ref, atol=TOL["float64"])


def test_long_window_prefix_sum_path():
    x, y = data(1, n=1500)
    got = sliding_pearson(x, y, 600, min_periods=2)
    np.testing.assert_allclose(got, pandas_corr(x, y, 600, 2), atol=TOL["float64"])


def test_huge_offset_and_constant_stretches():
    r = np.random.default_rng(2)
    x = 1e8 + r.standard_normal(400)
    x[50:90] = 1e8 + 1.0
    x[60] = np.nan  # a missing value inside the constant stretch
    y = r.standard_normal(400)
    got = np.asarray(sliding_pearson(x, y, 20))
    ref = pandas_corr(x - 1e8, y, 20)  # the shift is exact in float64
    # Windows ending at 60..79 hold the NaN: 19 pairs < min_periods = 20.
    assert np.all(np.isnan(got[60:80])) and np.all(np.isnan(ref[60:80]))
    # Windows ending at 80..89 lie inside the constant stretch: 0, where
    # pandas divides rounding noise by zero.
    assert np.all(got[80:90] == 0)
    ok = np.ones(400, bool)
    ok[60:90] = False
    ok &= ~np.isnan(ref)
    np.testing.assert_allclose(got[ok], ref[ok], atol=1e-12)


def test_float32():
    x, y = data(3)
    got = sliding_pearson(x.astype(np.float32), y.astype(np.float32), 15)
    assert got.dtype == jnp.float32
    np.testing.assert_allclose(got, pandas_corr(x, y, 15), atol=TOL["float32"])


@given(
    window=hst.sampled_from([2, 5, 13]),
    seed=hst.integers(0, 2**31),
    offset=hst.sampled_from([0.0, 1e5]),
)
def test_property_against_pandas(window, seed, offset):
    r = np.random.default_rng(seed)
    x = r.standard_normal(60).round(1)
    y = r.standard_normal(60)
    x[r.random(60) < 0.1] = np.nan
    got = np.asarray(sliding_pearson(x + offset, y, window, min_periods=2))
    ref = pandas_corr(x, y, window, 2)
    assert np.all(np.abs(got[~np.isnan(got)]) <= 1)
    # pandas' NaN (or noise) where a window of x is constant: probconv says 0.
    xs = pd.Series(x).rolling(window, min_periods=1)
    const = (xs.max() == xs.min()).values
    ok = ~const & ~np.isnan(ref)
    np.testing.assert_allclose(got[ok], ref[ok], atol=1e-8)
    assert np.all(got[const & (~np.isnan(got))] == 0)


def test_batch_axis_jit_vmap_grad():
    r = np.random.default_rng(4)
    xs = r.standard_normal((40, 3))
    y = r.standard_normal(40)
    got = sliding_pearson(xs, y[:, None], 8, axis=0)
    for j in range(3):
        np.testing.assert_allclose(got[:, j], pandas_corr(xs[:, j], y, 8), atol=1e-12)

    def f(a, b):
        return sliding_pearson(a, b, 6, min_periods=3)

    xj, yj = jnp.asarray(xs.T), jnp.asarray(y)
    np.testing.assert_allclose(jax.jit(f)(xj[0], yj), f(xj[0], yj), atol=1e-14)
    loop = jnp.stack([f(a, yj) for a in xj])
    np.testing.assert_allclose(jax.jit(jax.vmap(f, (0, None)))(xj, yj), loop, 0, 1e-14)
    check_grads(
        jax.jit(lambda a, b: f(a, b)[2:]), (xj[0], yj), order=1, modes=("fwd", "rev")
    )


def test_sliding_pearson_errors():
    x = np.arange(6.0)
    with pytest.raises(ValueError, match="`window` must be at least 1; got 0"):
        sliding_pearson(x, x, 0)
    with pytest.raises(TypeError, match="`window` must be an integer"):
        sliding_pearson(x, x, 2.5)
    with pytest.raises(
        ValueError, match="`min_periods` must be at least 0 and at most 3; got 4"
    ):
        sliding_pearson(x, x, 3, min_periods=4)
    with pytest.raises(ValueError, match="same length along `axis`"):
        sliding_pearson(x, x[:5], 3)
    with pytest.raises(TypeError, match="`y` must be real"):
        sliding_pearson(x, x * 1j, 3)


def test_nan_policy():
    x, y = data(5, n=120)
    got = np.asarray(sliding_pearson(x, y, 10, min_periods=3, nan_policy="propagate"))
    ref = pandas_corr(x, y, 10, 3)
    # 'propagate': NaN for each window holding a NaN, pandas' value elsewhere.
    bad = pd.Series(np.isnan(x) | np.isnan(y)).rolling(10, min_periods=1).max()
    ref = np.where(bad.to_numpy() > 0, np.nan, ref)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
    np.testing.assert_allclose(got, ref, atol=TOL["float64"])
    omit = sliding_pearson(x, y, 10, min_periods=3, nan_policy="omit")
    np.testing.assert_array_equal(omit, sliding_pearson(x, y, 10, min_periods=3))
    with pytest.raises(ValueError, match="`y` contains NaN and nan_policy='raise'"):
        sliding_pearson(np.nan_to_num(x), y, 10, nan_policy="raise")
    with pytest.raises(ValueError, match="`nan_policy` must be one of"):
        sliding_pearson(x, y, 10, nan_policy="drop")
