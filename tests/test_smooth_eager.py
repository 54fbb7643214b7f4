"""Eager calls of the smoothers from NumPy code: the host route.

Small, finite NumPy inputs on the CPU are smoothed by scipy.ndimage and
scipy.signal.lfilter on the host; JAX inputs (and NaNs, and options ndimage
lacks) take the JAX path. Both must agree to rounding, return a `jax.Array`
of the same dtype, and a loop over many lengths must compile nothing.

Tolerances, times max abs(x): float64 1e-12 (same sums, other order; the
boxcar's running sum in ndimage drifts by a few ulps over the series),
float32 2e-6 (float32 weights and sums in the JAX path, float64 on the host).
"""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from probconv.smooth import _host, ewma, gaussian_smooth, moving_average

TOL = {np.float64: 1e-12, np.float32: 2e-6}
MODES = ["reflect", "mirror", "nearest", "wrap", "constant"]


def _agree(host, jax_route, dtype):
    assert isinstance(host, jax.Array) and isinstance(jax_route, jax.Array)
    assert host.dtype == jax_route.dtype
    assert host.shape == jax_route.shape
    a, b = np.asarray(host, np.float64), np.asarray(jax_route, np.float64)
    np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
    scale = max(1.0, np.max(np.abs(b[np.isfinite(b)]), initial=0.0))
    np.testing.assert_allclose(a, b, rtol=0, atol=TOL[dtype] * scale, equal_nan=True)


def _both(f, x, *args, **kwargs):
    return f(x, *args, **kwargs), f(jnp.asarray(x), *args, **kwargs)


@pytest.fixture(scope="module")
def series():
    rng = np.random.default_rng(7)
    return rng.standard_normal((2, 3, 50)).cumsum(-1) + rng.standard_normal((2, 3, 50))


@pytest.mark.parametrize("boundary", MODES)
@pytest.mark.parametrize("w", [1, 2, 5, 20])
def test_moving_average_routes_agree(series, boundary, w):
    for origin in sorted({-(w // 2), 0, (w - 1) // 2}):
        h, j = _both(
            moving_average, series, w, boundary=boundary, origin=origin, cval=0.3
        )
        _agree(h, j, np.float64)
    if w > 2:
        h, j = _both(moving_average, series, ("hann", w), boundary=boundary)
        _agree(h, j, np.float64)
    h, j = _both(moving_average, series, w, mode="valid")
    _agree(h, j, np.float64)


def test_moving_average_options(series):
    x32 = series.astype(np.float32)
    h, j = _both(moving_average, x32, 7)
    _agree(h, j, np.float32)
    h, j = _both(moving_average, series, [3, ("triang", 5)], axis=(0, 2))
    _agree(h, j, np.float64)
    h, j = _both(moving_average, series, 4, axis=1, boundary=["wrap"])
    _agree(h, j, np.float64)
    weights = np.array([0.5, 2.0, 1.0, 0.25])
    h, j = _both(moving_average, series, weights=weights, boundary="nearest")
    _agree(h, j, np.float64)
    h, j = _both(moving_average, series, 5, nan_policy="omit", boundary="constant")
    _agree(h, j, np.float64)
    ints = np.arange(30) % 7
    h, j = _both(moving_average, ints, 3)
    _agree(h, j, np.float64)
    # A short axis, wrapped more than once (the window is longer than it).
    h, j = _both(moving_average, series[..., :4], 11, boundary="wrap")
    _agree(h, j, np.float64)


@pytest.mark.parametrize("boundary", MODES)
@pytest.mark.parametrize("sigma", [0.7, 3.0])
def test_gaussian_routes_agree(series, boundary, sigma):
    for order in (0, 1, 2):
        for origin in (-1, 0, 2):
            h, j = _both(
                gaussian_smooth,
                series,
                sigma,
                order=order,
                boundary=boundary,
                origin=origin,
                cval=-0.5,
            )
            _agree(h, j, np.float64)


def test_gaussian_options(series):
    x32 = series.astype(np.float32)
    h, j = _both(gaussian_smooth, x32, 2.0, axis=None)
    _agree(h, j, np.float32)
    h, j = _both(gaussian_smooth, series, [1.0, 0.0, 2.0], axis=None, radius=3)
    _agree(h, j, np.float64)
    h, j = _both(gaussian_smooth, series, 1.5, axis=(2, 0), truncate=2.0)
    _agree(h, j, np.float64)
    h, j = _both(gaussian_smooth, series, 0.0)  # untouched, as in scipy
    _agree(h, j, np.float64)


@pytest.mark.parametrize("adjust", [True, False])
@pytest.mark.parametrize("min_periods", [0, 1, 4])
def test_ewma_routes_agree(series, adjust, min_periods):
    for kwargs in (
        dict(alpha=0.1),
        dict(alpha=1.0),
        dict(span=4),
        dict(com=0.0),
        dict(halflife=3.5),
    ):
        h, j = _both(ewma, series, adjust=adjust, min_periods=min_periods, **kwargs)
        _agree(h, j, np.float64)
    h, j = _both(ewma, series, alpha=0.3, adjust=adjust, axis=1)
    _agree(h, j, np.float64)
    h, j = _both(ewma, series.astype(np.float32), span=9, adjust=adjust)
    _agree(h, j, np.float32)


def test_ewma_matches_pandas(series):
    pd = pytest.importorskip("pandas")
    x = series[0, 0]
    for adjust in (True, False):
        ours = np.asarray(ewma(x, alpha=0.2, adjust=adjust, min_periods=3))
        ref = pd.Series(x).ewm(alpha=0.2, adjust=adjust, min_periods=3).mean()
        np.testing.assert_allclose(ours, ref.to_numpy(), rtol=1e-13, atol=0)


def test_host_filters_match_ndimage():
    """The host route calls ndimage's C filters directly: ndimage's answer."""
    scipy_ndimage = pytest.importorskip("scipy.ndimage")
    x = np.random.default_rng(11).standard_normal(300)
    for mode in MODES:
        for w in (1, 4, 21):
            for origin in sorted({-(w // 2), 0, (w - 1) // 2}):
                got = moving_average(x, w, boundary=mode, origin=origin, cval=0.3)
                ref = scipy_ndimage.uniform_filter1d(
                    x, w, mode=mode, origin=origin, cval=0.3
                )
                np.testing.assert_array_equal(np.asarray(got), ref)
        got = gaussian_smooth(x, 2.5, boundary=mode, cval=0.3)
        ref = scipy_ndimage.gaussian_filter1d(x, 2.5, mode=mode, cval=0.3)
        np.testing.assert_allclose(np.asarray(got), ref, rtol=0, atol=1e-14)


def test_nan_falls_through(series):
    """NaN and infinity take the JAX path, with its missing-value rules."""
    x = series.copy()
    x[0, 1, 10] = np.nan
    x[1, 2, 30] = np.inf
    assert not _host.all_finite(x)
    for policy in ("propagate", "omit"):
        h, j = _both(moving_average, x, 5, nan_policy=policy)
        _agree(h, j, np.float64)
        h, j = _both(gaussian_smooth, x, 1.0, nan_policy=policy)
        _agree(h, j, np.float64)
    for ignore_na in (True, False):
        h, j = _both(ewma, x, alpha=0.2, ignore_na=ignore_na)
        _agree(h, j, np.float64)
    with pytest.raises(ValueError, match="contains NaN"):
        moving_average(x, 3, nan_policy="raise")


def test_errors_unchanged():
    """Bad options raise the JAX path's errors, also for NumPy input."""
    x = np.arange(10.0)
    with pytest.raises(ValueError, match="`boundary` must be one of"):
        moving_average(x, 3, boundary="bogus")
    with pytest.raises(ValueError, match="`origin` must satisfy"):
        moving_average(x, 3, origin=2)
    with pytest.raises(ValueError, match="mode='valid' needs axis"):
        moving_average(x, 11, mode="valid")
    with pytest.raises(ValueError, match="`sigma` must be finite and non-negative"):
        gaussian_smooth(x, -1.0)
    with pytest.raises(ValueError, match="only makes sense for smoothing"):
        gaussian_smooth(x, 1.0, order=1, nan_policy="omit")
    with pytest.raises(ValueError, match="0 < alpha <= 1"):
        ewma(x, alpha=1.5)
    with pytest.raises(ValueError, match="Give exactly one"):
        ewma(x, alpha=0.5, span=3)


def test_result_is_fresh():
    """The result never shares memory with the caller's array."""
    x = np.arange(8.0)
    y = gaussian_smooth(x, 0.0)
    z = ewma(x, alpha=1.0)
    x[:] = -1.0
    assert np.asarray(y).tolist() == list(range(8))
    assert np.asarray(z).tolist() == list(range(8))


def test_loop_of_lengths_compiles_nothing():
    rng = np.random.default_rng(3)
    inputs = [rng.standard_normal(n) for n in range(20, 70)]
    for x in inputs[:2]:  # warm up whatever is shared by every length
        moving_average(x, 5)
        gaussian_smooth(x, 2.0)
        ewma(x, alpha=0.2)
    compiled = []

    def listen(event, duration, **kwargs):
        if event == "/jax/core/compile/backend_compile_duration":
            compiled.append(duration)

    jax.monitoring.register_event_duration_secs_listener(listen)
    try:
        for x in inputs:
            moving_average(x, 5)
            moving_average(x, ("hann", 7), boundary="wrap")
            gaussian_smooth(x, 2.0, order=1)
            ewma(x, alpha=0.2)
            ewma(x, span=5, adjust=False)
    finally:
        jax.monitoring.unregister_event_duration_listener(listen)
    assert compiled == []


def test_traced_inputs_take_the_jax_path():
    x = np.random.default_rng(4).standard_normal(40)
    for f in (
        lambda v: moving_average(v, 5),
        lambda v: gaussian_smooth(v, 2.0),
        lambda v: ewma(v, alpha=0.3),
    ):
        _agree(jax.jit(f)(x), f(x), np.float64)
        g = jax.grad(lambda v, f=f: jnp.sum(f(v) ** 2))(x)
        assert g.shape == x.shape and np.isfinite(np.asarray(g)).all()


# The fresh process also checks that importing probconv leaves numpyro
# unimported (an optional dependency; test_numpyro.py tests the adapter):
# one interpreter start-up for both checks.
X32_SCRIPT = """
import sys
import warnings
warnings.simplefilter("error")
import probconv
assert "numpyro" not in sys.modules, "importing probconv imported numpyro"
import jax, jax.numpy as jnp, numpy as np
from probconv.smooth import ewma, gaussian_smooth, moving_average
x = np.random.default_rng(5).standard_normal((2, 40))
for f in (
    lambda v: moving_average(v, 5),
    lambda v: gaussian_smooth(v, 1.5, order=1),
    lambda v: ewma(v, span=4),
    lambda v: ewma(v, alpha=0.2, adjust=False),
):
    for inp in (x, (x * 10).astype(np.int64)):
        h, j = f(inp), f(jnp.asarray(inp))
        assert h.dtype == j.dtype == np.float32, (h.dtype, j.dtype)
        np.testing.assert_allclose(h, j, rtol=0, atol=2e-6 * np.abs(j).max())
print("ok")
"""


def test_routes_agree_without_x64():
    """With x64 off (the default), NumPy float64 input gives float32, silently.

    (And `import probconv` does not import numpyro.)
    """
    env = dict(os.environ, JAX_ENABLE_X64="0", JAX_PLATFORMS="cpu")
    out = subprocess.run(
        [sys.executable, "-c", X32_SCRIPT],
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(__file__).resolve().parents[1],
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "ok"


def test_host_route_follows_x64_turned_on_and_off():
    # The host route's result dtype is cached per dtype and x64 setting: a
    # call without x64 must not fix float32 for later calls with it.
    x = np.arange(12.0)
    for fn in (lambda: moving_average(x, 3), lambda: gaussian_smooth(x, 1.0)):
        with jax.enable_x64(False):
            assert fn().dtype == np.float32
        with jax.enable_x64(True):
            assert fn().dtype == np.float64


def _outcome(f):
    """A call's result as NumPy, or its error's type and message."""
    try:
        return np.asarray(f())
    except (TypeError, ValueError) as err:
        return type(err), str(err)


@pytest.mark.parametrize(
    "call, good, bad",
    [
        (moving_average, dict(window=3), dict(window=3.0)),
        (moving_average, dict(window=1), dict(window=True)),
        (moving_average, dict(window=3, axis=0), dict(window=3, axis=0.0)),
        (moving_average, dict(window=3, origin=1), dict(window=3, origin=1.0)),
        (moving_average, dict(window=3, cval=0), dict(window=3, cval=0j)),
        (moving_average, dict(window=(3,), axis=(0,)), dict(window=(3.0,), axis=(0,))),
        (gaussian_smooth, dict(sigma=2.0, order=1), dict(sigma=2.0, order=1.0)),
        (gaussian_smooth, dict(sigma=2.0, radius=[3]), dict(sigma=2.0, radius=[3.0])),
        (ewma, dict(alpha=1.0), dict(alpha=True)),
        (ewma, dict(alpha=0.5, min_periods=2), dict(alpha=0.5, min_periods=2.0)),
    ],
)
def test_cached_plans_tell_types_apart(call, good, bad):
    """An option equal to a cached one but of another type gets its own answer.

    ``3 == 3.0 == np.int64(3)`` share a hash, and the plans were once cached by
    value: a call with ``window=3.0`` after one with ``window=3`` returned the
    host's result where the JAX path raises TypeError.
    """
    x = np.random.default_rng(12).standard_normal(16)
    for kwargs in (good, bad):
        got = _outcome(lambda kwargs=kwargs: call(x, **kwargs))  # after `good`
        ref = _outcome(lambda kwargs=kwargs: call(jnp.asarray(x), **kwargs))
        if isinstance(ref, tuple):
            assert got == ref
        else:
            _agree(jnp.asarray(got), jnp.asarray(ref), np.float64)


def test_all_finite_is_exact():
    """The dot-product check agrees with np.isfinite, overflow included."""
    rng = np.random.default_rng(13)
    x = rng.standard_normal((6, 40))
    cases = [x, x.T, x[:, ::3], x.astype(np.float32), x * 1e200, x.astype(">f8")]
    cases.append((x * 1e30).astype(np.float32))  # squares overflow float32
    for bad in (np.nan, np.inf, -np.inf):
        y = x.copy()
        y[4, 17] = bad
        cases += [y, y.T, y[:, 1::2], y.astype(np.float32), y * 1e200]
    both = x * 1e200
    both[0, 0], both[5, 39] = np.inf, -np.inf  # inf - inf in no sum of squares
    cases.append(both)
    with np.errstate(all="raise"), warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow neither warns nor raises
        for c in cases:
            assert _host.all_finite(c) == bool(np.isfinite(c).all()), c.dtype
    assert _host.all_finite(np.arange(5)) and _host.all_finite(np.ones(3, bool))


def test_plan_cache_is_bounded():
    x = np.random.default_rng(14).standard_normal(30)
    for w in range(1, _host.PLAN_CACHE_SIZE + 40):
        y = moving_average(x, w)
    np.testing.assert_array_equal(np.asarray(y), np.asarray(moving_average(x, w)))
    from probconv.smooth import _moving

    assert len(_moving._PLANS) <= _host.PLAN_CACHE_SIZE


def test_host_route_integers_as_float64():
    """Integers are cast to float64 first: the numbers of float64 input."""
    x = np.random.default_rng(15).standard_normal((3, 25))
    ints = (x * 100).astype(np.int32)
    for f in (
        lambda v: moving_average(v, 4, mode="valid"),
        lambda v: gaussian_smooth(v, 1.5),
        lambda v: ewma(v, alpha=0.3, min_periods=3),
    ):
        np.testing.assert_array_equal(
            np.asarray(f(ints)), np.asarray(f(ints.astype(np.float64)))
        )


def test_ewma_host_matches_lfilter_exactly():
    """The cached weights and lfilter's own C filter: lfilter's numbers."""
    scipy_signal = pytest.importorskip("scipy.signal")
    x = np.random.default_rng(16).standard_normal((2, 300))
    a, f = 0.15, 0.85
    n = x.shape[-1]
    w = -np.expm1(np.arange(1, n + 1) * np.log1p(-a)) / a
    adjusted = scipy_signal.lfilter([1.0], [1.0, -f], x, axis=-1) / w
    zi = f * x[:, :1]
    plain, _ = scipy_signal.lfilter([a], [1.0, -f], x, axis=-1, zi=zi)
    for _ in range(2):  # the second call takes the cached weights
        np.testing.assert_array_equal(_host.ewma_host(x, a, True, 0, 1), adjusted)
        np.testing.assert_array_equal(_host.ewma_host(x, a, False, 0, 1), plain)
    assert not _host._ewm_weights(n, a).flags.writeable
    np.testing.assert_array_equal(_host.ewma_host(x.T, a, True, 0, 0), adjusted.T)
