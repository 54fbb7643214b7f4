"""probconv.smooth filters: moving_average, gaussian_smooth, savgol.

Tolerances (float64 unless stated), stated once, times max abs(x):

| comparison                               | tol   | why                          |
| ---------------------------------------- | ----- | ---------------------------- |
| vs ndimage / pandas / astropy, direct    | 1e-12 | same sums, other order       |
| engine methods 'fft', 'overlap_add'      | 1e-10 | FFT error ~ eps * norms      |
| savgol vs scipy.signal                   | 1e-10 | pinv vs lstsq conditioning   |
| float32 inputs                           | 2e-5  | float32 ulps per window sum  |
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest
import scipy.ndimage as ndi
import scipy.signal
from _reference import check_grads
from hypothesis import given, settings
from hypothesis import strategies as st

from probconv import smooth
from probconv.conv._running import block_sums as window_sums
from probconv.smooth import gaussian_smooth, moving_average, savgol

TOL = {"direct": 1e-12, "fft": 1e-10, "savgol": 1e-10, "float32": 2e-5}
MODES = ["reflect", "mirror", "nearest", "wrap", "constant"]


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(42)
    x = rng.standard_normal((3, 64)).cumsum(-1) + rng.standard_normal((3, 64))
    xn = x.copy()
    xn[rng.random(x.shape) < 0.15] = np.nan
    xn[1, 20:27] = np.nan  # a gap longer than some windows
    return x, xn


def close(a, b, tol):
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape
    np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
    scale = max(1.0, np.nanmax(np.abs(b)))
    np.testing.assert_allclose(a, b, rtol=0, atol=tol * scale, equal_nan=True)


# ---------------------------------------------------------------- moving_average


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("w", [4, 7, 33])
def test_boxcar_matches_uniform_filter(data, mode, w):
    x, _ = data
    got = moving_average(x, w, boundary=mode, cval=0.5)
    close(got, ndi.uniform_filter1d(x, w, mode=mode, cval=0.5), TOL["direct"])


@pytest.mark.parametrize("boundary", MODES)
@pytest.mark.parametrize("mode", ["same", "full"])
@pytest.mark.parametrize("w", [2, 5, 8, 31])
def test_short_kernels_edges_apart_match_ndimage(data, boundary, mode, w):
    # Short kernels correlate the interior unpadded and the two ends apart
    # (`_filter._correlate_edges_apart`); every boundary must still hold.
    x = np.tile(data[0][0], 2)  # 128 >= 2 * 31
    wts = np.random.default_rng(w).random(w) + 0.5
    got = moving_average(x, weights=wts, boundary=boundary, cval=0.5, mode=mode)
    if mode == "same":
        ref = ndi.correlate1d(x, wts / wts.sum(), mode=boundary, cval=0.5)
    else:  # pad w - 1 on both sides as ndimage would, then a 'valid' sum
        np_mode = {"reflect": "symmetric", "mirror": "reflect", "nearest": "edge"}
        pad = (w - 1, w - 1)
        xp = (
            np.pad(x, pad, constant_values=0.5)
            if boundary == "constant"
            else np.pad(x, pad, np_mode.get(boundary, boundary))
        )
        ref = np.correlate(xp, wts / wts.sum(), "valid")
    close(got, ref, TOL["direct"])


@pytest.mark.parametrize("w", [3, 4, 40])
def test_nan_omit_renormalize_matches_pandas(data, w):
    _, xn = data
    ref = pd.DataFrame(xn.T).rolling(w, center=True, min_periods=1).mean().to_numpy().T
    got = moving_average(xn, w, nan_policy="omit", boundary="renormalize")
    close(got, ref, TOL["direct"])


@pytest.mark.parametrize(
    "spec, win_type, kwargs",
    [
        (("triang", 5), "triang", {}),
        (("hann", 9), "hann", {}),
        (("hamming", 6), "hamming", {}),
        (("gaussian", 2.0, 11), "gaussian", {"std": 2.0}),
    ],
)
def test_named_windows_match_pandas_win_type(data, spec, win_type, kwargs):
    _, xn = data
    n = spec[-1]
    roll = pd.DataFrame(xn.T).rolling(n, center=True, min_periods=1, win_type=win_type)
    ref = roll.mean(**kwargs).to_numpy().T
    got = moving_average(xn, spec, nan_policy="omit", boundary="renormalize")
    close(got, ref, TOL["direct"])


def test_propagate_matches_pandas_full_windows(data):
    _, xn = data
    ref = pd.DataFrame(xn.T).rolling(5, center=True).mean().to_numpy().T
    got = np.asarray(moving_average(xn, 5, mode="valid"))
    close(got, ref[:, 2:-2], TOL["direct"])


def test_weights_are_a_correlation_like_ndimage(data):
    x, _ = data
    w = np.array([0.5, 2.0, 1.0, -0.25])
    ref = ndi.correlate1d(x, w / w.sum(), mode="mirror")
    close(moving_average(x, weights=w, boundary="mirror"), ref, TOL["direct"])


@pytest.mark.parametrize("method", ["direct", "fft", "overlap_add"])
def test_engine_methods_agree(data, method):
    x, _ = data
    w = np.hanning(9)[1:-1]
    ref = ndi.correlate1d(x, w / w.sum(), mode="nearest")
    got = moving_average(x, weights=w, boundary="nearest", method=method)
    close(got, ref, TOL["direct" if method == "direct" else "fft"])


@pytest.mark.parametrize("mode", ["same", "valid", "full"])
def test_output_modes_match_scipy_signal(data, mode):
    x, _ = data
    w = np.array([1.0, 3.0, 2.0])
    ref = scipy.signal.correlate(x[0], w / w.sum(), mode=mode)
    got = moving_average(x[0], weights=w, boundary="constant", mode=mode)
    close(got, ref, TOL["direct"])


def test_nd_boxcar_and_nd_weights():
    rng = np.random.default_rng(1)
    img = rng.standard_normal((2, 20, 17))
    got = moving_average(img, [3, 5], axis=(1, 2), boundary="wrap")
    close(got, ndi.uniform_filter(img, (1, 3, 5), mode="wrap"), TOL["direct"])
    k = rng.random((3, 4)) + 0.1
    ref = ndi.correlate(img, (k / k.sum())[None], mode="reflect")
    close(moving_average(img, weights=k, axis=(1, 2)), ref, TOL["direct"])


def test_nan_omit_matches_astropy_interpolate(data):
    from astropy.convolution import convolve as ap_convolve

    _, xn = data
    k = np.array([1.0, 2.0, 4.0, 2.0, 1.0])
    for boundary, ours, cval in [
        ("fill", "constant", 0.0),
        ("wrap", "wrap", 0.0),
        ("extend", "nearest", 0.0),
    ]:
        for row in xn:
            ref = ap_convolve(
                row,
                k,
                boundary=boundary,
                fill_value=cval,
                nan_treatment="interpolate",
                preserve_nan=False,
            )
            got = moving_average(
                row, weights=k, nan_policy="omit", boundary=ours, cval=cval
            )
            close(got, ref, TOL["direct"])


def test_nan_cval_with_omit_is_renormalize(data):
    _, xn = data
    a = moving_average(xn, 5, boundary="constant", cval=np.nan, nan_policy="omit")
    b = moving_average(xn, 5, boundary="renormalize", nan_policy="omit")
    close(a, b, TOL["direct"])


def test_empty_window_is_nan_and_propagate_spreads():
    x = np.array([1.0, np.nan, np.nan, np.nan, 5.0, 6.0])
    got = np.asarray(moving_average(x, 3, nan_policy="omit"))
    assert np.isnan(got[2]) and not np.isnan(got[1]) and got[1] == 1.0
    got = np.asarray(moving_average(x, 3))
    assert np.isnan(got[:5]).all() and not np.isnan(got[5])


def test_long_boxcar_running_sums_are_accurate():
    # window_sums has the error of one window's sum, not of a prefix sum.
    rng = np.random.default_rng(3)
    x = (1e4 + rng.standard_normal(200_000)).astype(np.float32)
    got = np.asarray(window_sums(jnp.asarray(x), 1001, 0), np.float64)
    c = np.concatenate([[0.0], np.cumsum(x, dtype=np.float64)])
    ref = c[1001:] - c[:-1001]
    assert np.max(np.abs(got - ref) / ref) < 20 * np.finfo(np.float32).eps


def test_float32_follows_input(data):
    x, _ = data
    got = moving_average(x.astype(np.float32), 17)
    assert got.dtype == jnp.float32
    close(got, ndi.uniform_filter1d(x, 17, mode="reflect"), TOL["float32"])
    assert moving_average(np.arange(6), 3).dtype == jnp.float64


@given(
    n=st.sampled_from([1, 6, 40]),
    w=st.sampled_from([1, 2, 5, 16, 50]),
    mode=st.sampled_from(MODES),
    seed=st.integers(0, 2**31),
)
def test_hypothesis_boxcar_any_length(n, w, mode, seed):
    x = np.random.default_rng(seed).standard_normal(n)
    got = moving_average(x, w, boundary=mode)
    close(got, ndi.uniform_filter1d(x, w, mode=mode), TOL["direct"])


@given(seed=st.integers(0, 2**31), w=st.integers(1, 9))
def test_hypothesis_constant_stays_constant_with_nans(seed, w):
    rng = np.random.default_rng(seed)
    x = np.full(30, 2.5)
    x[rng.random(30) < 0.4] = np.nan
    got = np.asarray(moving_average(x, w, nan_policy="omit", boundary="renormalize"))
    assert np.allclose(got[~np.isnan(got)], 2.5, rtol=1e-14)


def test_moving_average_transforms(data):
    x, xn = data
    f = lambda v: moving_average(v, 5, nan_policy="omit")  # noqa: E731
    close(jax.jit(f)(xn), f(xn), 0)
    # vmap under jit: one program (eager vmap compiles one per operation)
    close(jax.jit(jax.vmap(f))(jnp.asarray(xn)), np.stack([f(r) for r in xn]), 0)
    check_grads(lambda v: moving_average(v, 20, boundary="mirror"), (x[0],), 1)
    check_grads(
        lambda w: moving_average(x[0], weights=w, boundary="renormalize"),
        (jnp.array([1.0, 2.0, 0.5]),),
        1,
    )


# ---------------------------------------------------------------- gaussian_smooth


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("order", [0, 1, 2, 3])
def test_gaussian_matches_ndimage(data, mode, order):
    x, _ = data
    for sigma in (0.8, 3.0, 25.0):
        got = gaussian_smooth(x, sigma, order=order, boundary=mode, cval=0.3)
        ref = ndi.gaussian_filter1d(x, sigma, order=order, mode=mode, cval=0.3)
        close(got, ref, TOL["direct"])


def test_gaussian_several_axes_match_gaussian_filter():
    img = np.random.default_rng(5).standard_normal((12, 15, 9))
    got = gaussian_smooth(
        img, (1.5, 0.0, 2.0), axis=None, order=(1, 0, 0), truncate=3.0, boundary="wrap"
    )
    ref = ndi.gaussian_filter(
        img, (1.5, 0.0, 2.0), order=(1, 0, 0), truncate=3.0, mode="wrap"
    )
    close(got, ref, TOL["direct"])
    got = gaussian_smooth(img, 2.0, axis=(0, 2), radius=5)
    ref = ndi.gaussian_filter(img, 2.0, axes=(0, 2), radius=5)
    close(got, ref, TOL["direct"])


def test_gaussian_nan_omit_matches_astropy(data):
    from astropy.convolution import Gaussian1DKernel
    from astropy.convolution import convolve as ap_convolve

    _, xn = data
    # astropy's kernel integrates the Gaussian over pixels: use ours sampled.
    k = np.asarray(smooth._gaussian.gaussian_kernel(2.0, 0, 8, jnp.float64))
    assert Gaussian1DKernel(2.0).array.shape == (17,)
    for row in xn:
        ref = ap_convolve(row, k, boundary="extend", nan_treatment="interpolate")
        got = gaussian_smooth(row, 2.0, nan_policy="omit", boundary="nearest")
        close(got, ref, TOL["direct"])


def test_gaussian_transforms(data):
    x, _ = data
    f = lambda s: gaussian_smooth(x[0], s, radius=8, order=1)  # noqa: E731
    check_grads(f, (2.0,), 1)
    check_grads(lambda v: gaussian_smooth(v, 2.0), (x[0],), 1)
    g = jax.jit(lambda v: gaussian_smooth(v, 2.0))
    close(g(x), gaussian_smooth(x, 2.0), 1e-15)
    close(jax.vmap(g)(jnp.asarray(x)), gaussian_smooth(x, 2.0), 1e-15)


# ---------------------------------------------------------------- savgol


@pytest.mark.parametrize("mode", ["interp", "mirror", "nearest", "wrap", "constant"])
def test_savgol_matches_scipy(data, mode):
    x, _ = data
    for wl, po in [(5, 2), (6, 3), (11, 4), (4, 0), (1, 0), (9, 1)]:
        for deriv in (0, 1, 2):
            got = savgol(x, wl, po, deriv=deriv, delta=0.3, mode=mode, cval=0.2)
            ref = scipy.signal.savgol_filter(
                x, wl, po, deriv=deriv, delta=0.3, mode=mode, cval=0.2
            )
            close(got, ref, TOL["savgol"])


def test_savgol_other_axis_and_reflect(data):
    x, _ = data
    got = savgol(x.T, 7, 2, axis=0, mode="reflect")
    ref = ndi.convolve1d(x.T, scipy.signal.savgol_coeffs(7, 2), axis=0, mode="reflect")
    close(got, ref, TOL["savgol"])


@given(po=st.integers(0, 4), extra=st.integers(1, 6), seed=st.integers(0, 2**31))
def test_hypothesis_savgol_exact_on_polynomials(po, extra, seed):
    rng = np.random.default_rng(seed)
    t = np.arange(30.0)
    coeffs = rng.standard_normal(po + 1)
    y = np.polyval(coeffs, t / 30)
    wl = 2 * (po // 2 + extra) + 1  # odd windows centre on a sample
    got = savgol(y, wl, po)  # interp: exact everywhere
    np.testing.assert_allclose(got, y, atol=1e-9 * max(1, np.abs(y).max()))


def test_savgol_transforms(data):
    x, _ = data
    check_grads(lambda v: savgol(v, 7, 2), (x[0],), 1)
    check_grads(lambda d: savgol(x[0], 7, 3, deriv=1, delta=d), (0.7,), 2)
    g = jax.jit(lambda v: savgol(v, 7, 2))
    close(jax.vmap(g)(jnp.asarray(x)), savgol(x, 7, 2), 1e-15)


# ---------------------------------------------------------------- errors


def test_nan_policy_raise():
    with pytest.raises(ValueError, match="contains NaN and nan_policy='raise'"):
        moving_average([1.0, np.nan], 2, nan_policy="raise")
    # Under jit values are unknown: it propagates.
    out = jax.jit(lambda v: moving_average(v, 2, nan_policy="raise"))(
        jnp.array([1.0, np.nan, 3.0])
    )
    assert np.isnan(out).any()


BAD = [
    (
        lambda: moving_average([1.0, 2.0], 2, boundary="edge"),
        ValueError,
        "`boundary` must be one of .*'renormalize'",
    ),
    (
        lambda: moving_average([1.0, 2.0], 2, mode="middle"),
        ValueError,
        "`mode` must be one of 'same'",
    ),
    (
        lambda: moving_average([1.0, 2.0], 2, nan_policy="drop"),
        ValueError,
        "`nan_policy` must be one of",
    ),
    (lambda: moving_average([1.0, 2.0]), ValueError, "Give exactly one of `window`"),
    (
        lambda: moving_average([1.0, 2.0], 2, weights=[1.0]),
        ValueError,
        "Give exactly one of `window`",
    ),
    (
        lambda: moving_average([1.0, 2.0], 0),
        ValueError,
        "`window` must be at least 1; got 0",
    ),
    (lambda: moving_average([1.0, 2.0], 2.5), TypeError, "`window` must be an integer"),
    (
        lambda: moving_average([1.0, 2.0], ("hann",)),
        ValueError,
        r"as a named window must be \(name, \*params, length\)",
    ),
    (
        lambda: moving_average([1.0, 2.0], ("nope", 3)),
        ValueError,
        "names a window scipy.signal.get_window does not know",
    ),
    (
        lambda: moving_average(np.ones((3, 3)), [2, 2, 2], axis=(0, 1)),
        ValueError,
        "one window for all axes or one per smoothed axis",
    ),
    (
        lambda: moving_average([1.0, 2.0], weights=[1.0, -1.0]),
        ValueError,
        "must be finite with a non-zero sum",
    ),
    (
        lambda: moving_average(
            np.ones((3, 3)), weights=np.ones((2, 2, 2)), axis=(0, 1)
        ),
        ValueError,
        "`weights` must be 1-D or have one dimension per smoothed axis",
    ),
    (lambda: moving_average([1.0, 2.0], weights=[]), ValueError, "must not be empty"),
    (
        lambda: moving_average([1.0, 2.0], 3, mode="valid"),
        ValueError,
        "mode='valid' needs axis 0",
    ),
    (lambda: moving_average([], 3), ValueError, "`x` must not be empty"),
    (lambda: moving_average(["a"], 3), TypeError, "`x` must be a numeric array"),
    (lambda: moving_average(np.ones(3), 2, axis=1), ValueError, "out of range"),
    (
        lambda: moving_average(np.ones(3), 2, axis=0.5),
        TypeError,
        "`axis` must hold integers",
    ),
    (
        lambda: moving_average(np.ones((2, 2)), 2, axis=(0, 0)),
        ValueError,
        "must not repeat an axis",
    ),
    (
        lambda: moving_average(np.ones((2, 2)), 2, axis=()),
        ValueError,
        "must name at least one axis",
    ),
    (lambda: moving_average(np.float64(1.0), 2), ValueError, "no axis to smooth"),
    (
        lambda: gaussian_smooth([1.0, 2.0], -1.0),
        ValueError,
        "`sigma` must be finite and non-negative",
    ),
    (
        lambda: gaussian_smooth([1.0, 2.0], 1.0, truncate=0),
        ValueError,
        "`truncate` must be finite and positive",
    ),
    (
        lambda: gaussian_smooth([1.0, 2.0], 1.0, order=-1),
        ValueError,
        "`order` must be at least 0; got -1",
    ),
    (
        lambda: gaussian_smooth([1.0, 2.0], 1.0, order=1, nan_policy="omit"),
        ValueError,
        "only makes sense for smoothing",
    ),
    (
        lambda: gaussian_smooth(np.ones((2, 2)), [1.0, 2.0, 3.0], axis=None),
        ValueError,
        "`sigma` must be a scalar or hold one entry per smoothed axis",
    ),
    (
        lambda: gaussian_smooth(np.ones((2, 2)), np.ones(3), axis=None),
        ValueError,
        "`sigma` must be a scalar or hold one entry per smoothed axis",
    ),
    (
        lambda: jax.jit(lambda s: gaussian_smooth(np.ones(5), s))(1.0),
        TypeError,
        "pass a static `radius`",
    ),
    (
        lambda: gaussian_smooth([1.0], 1.0j),
        TypeError,
        "`sigma` must be real; got dtype complex",
    ),
    (lambda: savgol(np.ones(9), 3, 3), ValueError, "`polyorder` must be less than"),
    (
        lambda: savgol(np.ones(9), 5, 2, mode="edge"),
        ValueError,
        "`mode` must be one of",
    ),
    (
        lambda: savgol(np.ones(4), 5, 2),
        ValueError,
        "mode='interp' needs `window_length`",
    ),
    (
        lambda: savgol(np.ones(9), 5, 2, delta=0.0),
        ValueError,
        "`delta` must be finite and positive",
    ),
    (
        lambda: savgol(np.ones(9), 5, 2, deriv=-1),
        ValueError,
        "`deriv` must be at least 0; got -1",
    ),
]


# ------------------------------------------- scipy.ndimage's options and dtypes


def gauss_weights(sigma, radius):
    w = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    return w / w.sum()


@pytest.mark.parametrize("w", [4, 7, 33])
def test_origin_matches_ndimage(data, w):
    x = data[0]
    for origin in sorted({-(w // 2), -1, 1, (w - 1) // 2}):
        got = moving_average(x, w, origin=origin, boundary="nearest")
        ref = ndi.uniform_filter1d(x, w, origin=origin, mode="nearest")
        close(got, ref, TOL["direct"])
    wts = np.random.default_rng(w).random(w) + 0.5
    got = moving_average(x, weights=wts, origin=1, boundary="wrap")
    ref = ndi.correlate1d(x, wts / wts.sum(), origin=1, mode="wrap")
    close(got, ref, TOL["direct"])


def test_gaussian_origin_matches_correlate1d(data):
    x = data[0]
    for origin in (-3, 2):
        got = gaussian_smooth(x, 1.5, origin=origin, boundary="mirror")
        ref = ndi.correlate1d(x, gauss_weights(1.5, 6), origin=origin, mode="mirror")
        close(got, ref, TOL["direct"])


def test_mode_and_origin_per_axis_match_ndimage():
    x = np.random.default_rng(3).standard_normal((12, 20))
    modes = ["wrap", "nearest"]
    got = moving_average(x, [3, 6], axis=(0, 1), boundary=modes, origin=[1, -2])
    ref = ndi.uniform_filter(x, (3, 6), mode=modes, origin=[1, -2])
    close(got, ref, TOL["direct"])
    got = moving_average(x, weights=np.ones((3, 5)), axis=(0, 1), boundary=modes)
    close(got, ndi.uniform_filter(x, (3, 5), mode=modes), TOL["direct"])
    modes = ["constant", "mirror"]
    got = gaussian_smooth(x, [1.0, 2.0], axis=(0, 1), boundary=modes, cval=0.5)
    ref = ndi.gaussian_filter(x, [1.0, 2.0], mode=modes, cval=0.5)
    close(got, ref, TOL["direct"])
    # NaN-aware with a constant edge on one axis: without NaNs, as ndimage
    got = moving_average(x, 3, axis=(0, 1), boundary=modes, cval=0.5, nan_policy="omit")
    close(got, ndi.uniform_filter(x, 3, mode=modes, cval=0.5), TOL["direct"])


def test_nan_omit_with_constant_fill_counts_the_fill(data):
    x = data[0][:12]
    got = moving_average(x, 5, boundary="constant", cval=5.0, nan_policy="omit")
    ref = ndi.uniform_filter1d(x, 5, mode="constant", cval=5.0)
    close(got, ref, TOL["direct"])


def test_complex_input_matches_ndimage_and_scipy(data):
    x, _ = data
    z = x + 1j * x[::-1]
    close(moving_average(z, 5), ndi.uniform_filter1d(z, 5), TOL["direct"])
    close(moving_average(z, 20), ndi.uniform_filter1d(z, 20), TOL["direct"])
    ref = ndi.gaussian_filter1d(z, 2.0, mode="wrap")
    close(gaussian_smooth(z, 2.0, boundary="wrap"), ref, TOL["direct"])
    # scipy.signal.savgol_filter drops the imaginary part (a ComplexWarning);
    # the filter is linear, so the reference is its real and imaginary parts.
    for mode in ("interp", "nearest"):
        ref = scipy.signal.savgol_filter(z.real, 9, 3, mode=mode)
        ref = ref + 1j * scipy.signal.savgol_filter(z.imag, 9, 3, mode=mode)
        close(savgol(z, 9, 3, mode=mode), ref, TOL["savgol"])
    assert moving_average(z.astype(np.complex64), 5).dtype == jnp.complex64
    zn = z.copy()
    zn[:, 5] = complex(np.nan, np.nan)
    got = np.asarray(moving_average(zn, 3, nan_policy="omit"))
    ref = moving_average(zn.real, 3, nan_policy="omit") + 1j * moving_average(
        zn.imag, 3, nan_policy="omit"
    )
    close(got, ref, TOL["direct"])


def test_output_dtype_matches_ndimage(data):
    x = data[0] * 10
    for out in (np.float32, np.int32, np.int16):
        got = moving_average(x, 5, output=out)
        ref = ndi.uniform_filter1d(x, 5, output=out)
        assert got.dtype == ref.dtype
        close(got, ref, TOL["float32"] if out == np.float32 else 0)
        got = gaussian_smooth(x, 1.5, output=out)
        ref = ndi.gaussian_filter1d(x, 1.5, output=out)
        assert got.dtype == ref.dtype
        close(got, ref, TOL["float32"] if out == np.float32 else 0)
    # float32 data filtered in float64, as ndimage does
    got = moving_average(x.astype(np.float32), 7, output=np.float64)
    ref = ndi.uniform_filter1d(x.astype(np.float32), 7, output=np.float64)
    assert got.dtype == jnp.float64
    close(got, ref, 1e-14)
    assert moving_average(x + 0j, 3, output=np.complex64).dtype == jnp.complex64


CONSTANT_MODES = ["reflect", "mirror", "nearest", "wrap", "renormalize"]
CONSTANT_CALLS = [
    lambda v, **k: gaussian_smooth(v, 2.3, **k),
    lambda v, **k: gaussian_smooth(v, 6.0, method="fft", **k),
    lambda v, **k: moving_average(v, 5, **k),
    lambda v, **k: moving_average(v, 33, **k),
    lambda v, **k: moving_average(v, ("hann", 9), **k),
    lambda v, **k: moving_average(v, weights=[1.0, 3.0, 2.0], **k),
]


@pytest.mark.parametrize("i", range(len(CONSTANT_MODES)))
def test_float32_constant_stays_exactly_constant(i):
    # Every boundary with two of the calls, every call with at least one
    # boundary (each pair is its own compiled program); the full product is
    # test_float32_constant_stays_exactly_constant_every_pair (slow).
    calls = [CONSTANT_CALLS[i], CONSTANT_CALLS[(i + 3) % len(CONSTANT_CALLS)]]
    _check_constant_stays_constant(CONSTANT_MODES[i], calls)


@pytest.mark.slow
@pytest.mark.parametrize("boundary", CONSTANT_MODES)
def test_float32_constant_stays_exactly_constant_every_pair(boundary):
    _check_constant_stays_constant(boundary, CONSTANT_CALLS)


def _check_constant_stays_constant(boundary, calls):
    # Normalized in float32 a 9-tap Gaussian summed to 1 - 4.7e-8 and a
    # constant drifted by an ulp; now the weights are normalized in float64
    # and the sum taken about a reference sample.
    rng = np.random.default_rng(5)
    consts = np.concatenate([[1.0, 0.1, 3.7, -2500.3], rng.uniform(-1e3, 1e3, 4)])
    x = np.ones((consts.size, 90), np.float32) * consts.astype(np.float32)[:, None]
    xn = x.copy()
    xn[:, ::7] = np.nan
    for f in calls:
        got = np.asarray(f(x, boundary=boundary))
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got, x)
        got = np.asarray(f(xn, boundary=boundary, nan_policy="omit"))
        np.testing.assert_array_equal(got, x)
    plane = np.full((20, 30), 3.7, np.float32)
    got = moving_average(plane, [3, 4], axis=(0, 1), boundary=boundary)
    np.testing.assert_array_equal(np.asarray(got), plane)
    got = gaussian_smooth(plane, [1.5, 0.7], axis=(0, 1), boundary=boundary)
    np.testing.assert_array_equal(np.asarray(got), plane)


DTYPES = [
    np.float16,
    jnp.bfloat16,
    np.float32,
    np.float64,
    np.complex64,
    np.complex128,
    np.int32,
    np.uint8,
    np.bool_,
]
# Each public function: a call, whether it takes complex data, a float64
# reference of the same call for the accuracy check.
PUBLIC = {
    "moving_average": (lambda v: moving_average(v, 5), True),
    "moving_average_long": (lambda v: moving_average(v, 20), True),
    "gaussian_smooth": (lambda v: gaussian_smooth(v, 2.0), True),
    "savgol": (lambda v: savgol(v, 7, 2), True),
    "ewma": (lambda v: smooth.ewma(v, alpha=0.3), False),
    "ewma_times": (
        lambda v: smooth.ewma(v, halflife=2.0, times=np.arange(64.0) ** 1.1),
        False,
    ),
    "kde": (lambda v: smooth.kde(v, grid=64)[1], False),
    "kde_bandwidth": (lambda v: smooth.kde_bandwidth(v), False),
    "kde_dist": (lambda v: smooth.kde_dist(v, grid=64).masses, False),
}
HALF_TOL = {np.dtype(np.float16): 4e-3, np.dtype(jnp.bfloat16): 3e-2}


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_every_public_function_over_dtypes(name):
    f, takes_complex = PUBLIC[name]
    x = np.random.default_rng(1).standard_normal(64) * 3
    ref = np.asarray(f(x))
    for dt in DTYPES:
        dt = np.dtype(dt)
        v = (
            (x > 0)
            if dt == np.bool_
            else np.abs(x).astype(dt)
            if dt.kind == "u"
            else x.astype(dt)
        )
        if dt.kind == "c" and not takes_complex:
            with pytest.raises(TypeError, match="must be a real numeric array"):
                f(v)
            continue
        got = f(v)
        if dt.kind in "biu":
            expect = np.dtype(jnp.float64)  # the default float (x64 on here)
        elif name == "kde_dist" and dt in HALF_TOL:
            expect = np.dtype(np.float32)  # a law is kept in float32 at least
        else:
            expect = dt
        assert got.dtype == expect, (name, dt)
        if dt in HALF_TOL:  # computed in float32, rounded once
            scale = max(1.0, np.nanmax(np.abs(ref)))
            err = np.nanmax(np.abs(np.asarray(got, np.float64) - ref))
            assert err <= HALF_TOL[dt] * scale * 4, (name, dt, err)


@given(
    n=st.sampled_from([5, 40]),
    w=st.sampled_from([2, 5, 20]),
    origin=st.integers(-10, 10),
    mode=st.sampled_from(MODES),
    seed=st.integers(0, 2**31),
)
@settings(max_examples=20)
def test_hypothesis_origin_any_window(n, w, origin, mode, seed):
    origin = int(np.clip(origin, -(w // 2), (w - 1) // 2))
    x = np.random.default_rng(seed).standard_normal(n)
    got = moving_average(x, w, boundary=mode, origin=origin)
    ref = ndi.uniform_filter1d(x, w, mode=mode, origin=origin)
    close(got, ref, TOL["direct"])


def test_options_transforms(data):
    x = data[0]
    f = lambda v: moving_average(  # noqa: E731
        v, 5, origin=-1, boundary="wrap", output=np.float32
    )
    close(jax.jit(f)(x), f(x), 0)
    close(jax.jit(jax.vmap(f))(jnp.asarray(x)), f(x), 0)
    g = lambda v: gaussian_smooth(v, 1.2, origin=1, boundary="nearest")  # noqa: E731
    check_grads(g, (x[0],), 1)
    h = lambda v: moving_average(v, 3, boundary="reflect").real  # noqa: E731
    z = jnp.asarray(x[0] + 0.5j * x[1])
    check_grads(lambda v: h(v + 0j), (x[0],), 1)
    close(jax.jit(h)(z), h(z), 0)
    half = jax.jit(lambda v: gaussian_smooth(v, 2.0))(x.astype(jnp.bfloat16))
    assert half.dtype == jnp.bfloat16


BAD += [
    (
        lambda: moving_average(np.ones(5), 4, origin=2),
        ValueError,
        r"`origin` must satisfy -\(w // 2\) <= origin",
    ),
    (
        lambda: moving_average(np.ones(5), 3, origin=1, mode="full"),
        ValueError,
        "`origin` shifts the windows of mode='same' only",
    ),
    (
        lambda: moving_average(np.ones(5), 3, origin=0.5),
        TypeError,
        "`origin` must be an integer",
    ),
    (
        lambda: gaussian_smooth(np.ones(5), 1.0, origin=5),
        ValueError,
        "`origin` must satisfy",
    ),
    (
        lambda: moving_average(np.ones((3, 3)), 2, axis=(0, 1), boundary=["wrap"]),
        ValueError,
        "`boundary` must be a mode name or a sequence of one per smoothed axis",
    ),
    (
        lambda: gaussian_smooth(np.ones((3, 3)), 1.0, axis=None, boundary=["wrap", 1]),
        ValueError,
        "`boundary` must be one of",
    ),
    (
        lambda: moving_average(np.ones(3), 2, output=np.zeros(3)),
        TypeError,
        "`output` takes a dtype",
    ),
    (
        lambda: moving_average(np.ones(3), 2, output="nope"),
        TypeError,
        "`output` must be a dtype",
    ),
    (
        lambda: moving_average(np.ones(3), 2, output=np.str_),
        TypeError,
        "`output` must be a numeric dtype",
    ),
    (
        lambda: gaussian_smooth(np.ones(3) + 1j, 1.0, output=np.float64),
        TypeError,
        "`output` must be complex for complex input",
    ),
    (lambda: smooth.ewma([1j], alpha=0.5), TypeError, "must be a real numeric"),
]


@pytest.mark.parametrize("fn, exc, match", BAD)
def test_bad_input(fn, exc, match):
    with pytest.raises(exc, match=match):
        fn()


def test_every_public_name_has_a_docstring():
    for name in smooth.__all__:
        assert getattr(smooth, name).__doc__, name


def test_gaussian_eager_grad_takes_radius_from_sigma_and_keeps_gradient():
    # An eager jax.grad's tracer carries sigma's value (the leaf's `concrete`):
    # the radius follows it, and the kernel stays traced, so the gradient flows.
    x = jnp.asarray(np.random.default_rng(3).normal(size=24))

    def loss(s, radius=None):
        return jnp.sum(gaussian_smooth(x, s, radius=radius) ** 2)

    eager = jax.grad(loss)(1.3)
    ref = jax.jit(jax.grad(lambda s: loss(s, radius=int(4.0 * 1.3 + 0.5))))(1.3)
    assert float(eager) != 0.0
    np.testing.assert_allclose(eager, ref, rtol=1e-6)
