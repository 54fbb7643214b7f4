"""Tests of probconv.similarity.estimate_delay on synthetic signals with known
delays: integer shifts, fractional delays of band-limited noise, echoes."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.signal
from _reference import check_grads

from probconv.similarity import estimate_delay

# Tolerances, in samples. Fractional delays: the 0.05 samples at
# SNR 10 dB (the estimator's own standard deviation is about 0.005 samples
# for n = 4096 and a 0.35-cycle band, so this is a bias bound). Echo test:
# 0.1 samples for the refined PHAT peak (echoes a few samples away pull the
# sinc interpolant by a few hundredths); the integer peak must be exact.
TOL_FRACTIONAL = 0.05
TOL_ECHO = 0.1


def band_limited_pair(seed, n, delays, band=0.35, snr_db=10.0):
    """Noise band-limited to `band` cycles/sample and exact delayed copies.

    The delay is applied as a phase ramp on a periodic signal twice as long
    (exact for band-limited periodic signals); independent white noise at
    `snr_db` is added to both channels.
    """
    r = np.random.default_rng(seed)
    delays = np.asarray(delays, float)
    big = 2 * n
    spec = np.fft.rfft(r.standard_normal((delays.size, big)))
    f = np.fft.rfftfreq(big)
    spec[:, f > band] = 0
    a = np.fft.irfft(spec, big)[:, :n]
    b = np.fft.irfft(spec * np.exp(-2j * np.pi * f * delays[:, None]), big)[:, :n]
    sigma = np.sqrt(np.mean(a**2) / 10 ** (snr_db / 10))
    a = a + sigma * r.standard_normal(a.shape)
    b = b + sigma * r.standard_normal(b.shape)
    return a, b


def test_integer_delays_all_methods():
    r = np.random.default_rng(0)
    a = r.standard_normal(300)
    for d in (0, 7, -12):
        b = np.roll(a, d)
        for kw in (
            {"subsample": False},
            {"method": "gcc", "subsample": False},
            {"method": "gcc", "weighting": "scot", "subsample": False},
            {"method": "gcc", "weighting": "roth", "subsample": False},
        ):
            assert float(estimate_delay(a, b, **kw)) == d, kw
        assert abs(float(estimate_delay(a, b)) - d) < TOL_FRACTIONAL
        assert abs(float(estimate_delay(a, b, subsample="parabolic")) - d) < 0.05


def test_linear_delay_different_lengths_and_fs():
    r = np.random.default_rng(1)
    s = r.standard_normal(500)
    a, b = s[100:400], s[75:475]  # b(t) = a(t - 25), longer than a
    assert float(estimate_delay(a, b, subsample=False)) == 25
    assert float(estimate_delay(b, a, subsample=False)) == -25
    d = float(estimate_delay(a, b, fs=8000.0, method="gcc"))
    assert abs(d * 8000 - 25) < TOL_FRACTIONAL


def test_fractional_delay_band_limited_noise_snr_10db():
    delays = np.array([0.0, 0.25, 0.5, -0.37, 3.71, -2.42, 10.13, 0.9])
    a, b = band_limited_pair(2, 4096, delays)
    est = np.asarray(estimate_delay(a, b))  # all pairs in one batched call
    assert est.shape == delays.shape
    np.testing.assert_allclose(est, delays, atol=TOL_FRACTIONAL)
    est = np.asarray(estimate_delay(a, b, method="gcc", weighting="none"))
    np.testing.assert_allclose(est, delays, atol=TOL_FRACTIONAL)


def test_sinc_beats_parabolic_on_broadband_signals():
    # Near-Nyquist bandwidth: the parabola through three samples of a sharp
    # peak is biased towards the integer lag; the sinc interpolant is not.
    delays = np.full(16, 0.3)
    a, b = band_limited_pair(3, 4096, delays, band=0.45, snr_db=30.0)
    sinc = np.asarray(estimate_delay(a, b, subsample="sinc"))
    para = np.asarray(estimate_delay(a, b, subsample="parabolic"))
    assert np.max(np.abs(sinc - 0.3)) < 0.02
    assert np.mean(np.abs(para - 0.3)) > 2 * np.mean(np.abs(sinc - 0.3))


def echo_pair(seed, batch=12, n=4096, d=23):
    """A coloured source and its copy through a room-like impulse response:
    direct path at `d`, strong early reflections and a decaying diffuse tail.
    """
    r = np.random.default_rng(seed)
    src = scipy.signal.lfilter([1.0], [1.0, -0.9], r.standard_normal((batch, n + 400)))
    h = np.zeros(300)
    h[d] = 1.0
    for dd, amp in ((4, 0.8), (9, 0.7), (15, 0.6), (27, -0.5)):
        h[d + dd] = amp
    k = np.arange(d + 1, 300)
    h[d + 1 :] += 0.2 * r.standard_normal(k.size) * np.exp(-(k - d) / 60)
    rec = scipy.signal.lfilter(h, [1.0], src)
    a, b = src[:, 400:], rec[:, 400:]
    b = b + 0.1 * np.std(b) * r.standard_normal(b.shape)
    return a, b


def test_gcc_phat_resists_echoes_where_plain_peak_fails():
    a, b = echo_pair(4)
    plain = np.asarray(estimate_delay(a, b, max_delay=100))
    phat = np.asarray(estimate_delay(a, b, method="gcc", max_delay=100))
    assert np.all(np.abs(plain - 23) > 2)  # the echoes move the plain peak
    np.testing.assert_allclose(phat, 23, atol=TOL_ECHO)
    for weighting in ("phat", "roth"):
        peak = estimate_delay(a, b, method="gcc", weighting=weighting, subsample=False)
        np.testing.assert_array_equal(peak, 23)


def test_max_delay_bounds_the_search():
    r = np.random.default_rng(5)
    a = r.standard_normal(400)
    b = np.roll(a, 30) + 0.3 * np.roll(a, 4)
    assert float(estimate_delay(a, b, subsample=False)) == 30
    for method in ("xcorr", "gcc"):
        got = float(estimate_delay(a, b, method=method, max_delay=10, subsample=False))
        assert got == 4
        kw = {"method": method, "max_delay": 0.01, "fs": 1000.0, "subsample": False}
        assert float(estimate_delay(a, b, **kw)) == 0.004


def test_batch_broadcast_jit_vmap_grad_float32():
    delays = np.array([1.3, -0.6, 2.2])
    a, b = band_limited_pair(6, 512, delays, snr_db=20.0)
    ref = np.asarray(estimate_delay(a, b, max_delay=8))
    loop = [float(estimate_delay(x, y, max_delay=8)) for x, y in zip(a, b)]
    np.testing.assert_allclose(ref, loop, atol=1e-12)

    def f(x, y):
        return estimate_delay(x, y, max_delay=8, method="gcc")

    aj, bj = jnp.asarray(a), jnp.asarray(b)
    np.testing.assert_allclose(jax.jit(f)(aj, bj), f(aj, bj), atol=1e-12)
    # vmap under jit: one program (eager vmap compiles one per operation)
    np.testing.assert_allclose(jax.jit(jax.vmap(f))(aj, bj), f(aj, bj), atol=1e-12)
    # One reference against many delayed copies (batch axes broadcast).
    many = estimate_delay(a[0], b, max_delay=8)
    assert many.shape == (3,)
    np.testing.assert_allclose(many[0], ref[0], atol=1e-12)
    # Columns as signals: axis=0.
    np.testing.assert_allclose(
        estimate_delay(a.T, b.T, max_delay=8, axis=0), ref, 0, 1e-12
    )
    # PHAT divides by |G|: a strongly curved function, so the finite
    # differences need a small step to resolve its slope.
    check_grads(jax.jit(f), (aj[0], bj[0]), order=1, modes=("fwd", "rev"), eps=1e-6)
    check_grads(
        jax.jit(lambda x, y: estimate_delay(x, y, max_delay=8)), (aj[0], bj[0]), 1
    )
    est32 = estimate_delay(a.astype(np.float32), b.astype(np.float32), max_delay=8)
    assert est32.dtype == jnp.float32
    np.testing.assert_allclose(est32, delays, atol=TOL_FRACTIONAL)


def test_complex_signals():
    r = np.random.default_rng(7)
    a = r.standard_normal(256) + 1j * r.standard_normal(256)
    b = np.roll(a, -9) * np.exp(0.7j)  # phase rotation: peak by magnitude
    assert float(estimate_delay(a, b, subsample=False)) == -9
    assert abs(float(estimate_delay(a, b, method="gcc")) + 9) < TOL_FRACTIONAL


def test_estimate_delay_errors():
    a = np.arange(8.0)
    with pytest.raises(ValueError, match="`method` must be one of 'xcorr', 'gcc'"):
        estimate_delay(a, a, method="peak")
    with pytest.raises(ValueError, match="`weighting` must be one of"):
        estimate_delay(a, a, method="gcc", weighting="ml")
    with pytest.raises(ValueError, match="`subsample` must be True, False, 'sinc'"):
        estimate_delay(a, a, subsample="cubic")
    with pytest.raises(ValueError, match="`fs` must be finite and positive; got 0"):
        estimate_delay(a, a, fs=0)
    with pytest.raises(TypeError, match="`fs` must be a Python number"):
        estimate_delay(a, a, fs="fast")
    with pytest.raises(ValueError, match="`max_delay` must be a finite non-negative"):
        estimate_delay(a, a, max_delay=-1.0)
    with pytest.raises(TypeError, match="`max_delay` must be a non-negative number"):
        estimate_delay(a, a, max_delay=[1])
    with pytest.raises(ValueError, match="`smooth` must be an odd positive"):
        estimate_delay(a, a, smooth=2)
    with pytest.raises(ValueError, match="`axis` entry 2 is out of range"):
        estimate_delay(a, a, axis=2)
    with pytest.raises(ValueError, match="`detrend` must be one of 'none', 'constant'"):
        estimate_delay(a, a, detrend="quadratic")
    with pytest.raises(ValueError, match="`window` must be None or a window"):
        estimate_delay(a, a, window="no-such-window")
    with pytest.raises(ValueError, match="`b` must have at least 2 samples"):
        estimate_delay(a, a[:1], detrend="difference")


def random_walk(n, seed=1):
    return np.cumsum(np.random.default_rng(seed).standard_normal(n))


def test_readme_example_random_walk_with_gaps():
    """README's "A taste", exactly: a random walk with every 97th value missing."""
    x = np.cumsum(np.random.default_rng(1).standard_normal(100_000))
    x[::97] = np.nan
    d = estimate_delay(x[:-5], x[5:], detrend="difference", nan_policy="omit")
    # b(t) = x(t + 5) = a(t + 5), i.e. b(t) = a(t - d) with d = -5.
    assert abs(float(d) + 5) < 0.01
    # Without the options: NaN, not a finite wrong number (was -99994.0).
    assert np.isnan(float(estimate_delay(x[:-5], x[5:])))


@pytest.mark.parametrize("method", ["xcorr", "gcc"])
def test_detrend_and_window_recover_the_delay_of_a_random_walk(method):
    x = random_walk(4000)
    a, b = x[:-5], x[5:]
    for kw in (
        {"detrend": "difference"},
        {"detrend": "linear", "window": "hann"},
        {"detrend": "constant", "window": ("tukey", 0.5)},
    ):
        d = estimate_delay(a, b, method=method, subsample=False, **kw)
        assert float(d) == -5, kw
        assert abs(float(estimate_delay(a, b, method=method, **kw)) + 5) < 0.05, kw
    xn = x.copy()
    xn[::37] = np.nan
    for det in ("constant", "linear", "difference"):
        d = estimate_delay(
            xn[:-5],
            xn[5:],
            method=method,
            detrend=det,
            window="hann",
            nan_policy="omit",
            subsample=False,
        )
        assert float(d) == -5, det


def test_detrend_keeps_fractional_delays_and_transforms():
    a, b = band_limited_pair(11, 2048, [3.3, -7.6])
    est = estimate_delay(a, b, detrend="difference")
    np.testing.assert_allclose(est, [3.3, -7.6], atol=TOL_FRACTIONAL)
    est = estimate_delay(a + np.arange(2048) * 0.01, b, detrend="linear")
    np.testing.assert_allclose(est, [3.3, -7.6], atol=TOL_FRACTIONAL)

    def f(x, y):
        return estimate_delay(x, y, detrend="linear", window="hann")

    np.testing.assert_allclose(jax.jit(f)(a, b), f(a, b), atol=1e-12)
    np.testing.assert_allclose(jax.jit(jax.vmap(f))(a, b), f(a, b), atol=1e-12)
    check_grads(lambda y: f(a[0], y), (b[0],), order=1, modes=["rev"])


def test_readme_example_in_float32_and_sinc_derivatives():
    """The sinc refinement in float32: a sharp peak put Newton's iterate near
    0, where the closed-form derivatives of sinc cancel (it returned -4.0)."""
    from probconv.similarity._peak import _sinc_derivatives as sinc_derivatives

    # jitted, as estimate_delay runs it (eagerly: 40 programs, one per
    # operation and dtype)
    _sinc_derivatives = jax.jit(sinc_derivatives)

    x = np.cumsum(np.random.default_rng(1).standard_normal(100_000))
    x[::97] = np.nan
    x = x.astype(np.float32)
    d = estimate_delay(x[:-5], x[5:], detrend="difference", nan_policy="omit")
    assert d.dtype == np.float32 and abs(float(d) + 5) < 0.01
    u = np.concatenate([np.linspace(-3, 3, 61), [1e-7, -2e-6, 0.1592, 0.1593]])
    d1, d2 = _sinc_derivatives(jnp.asarray(u))
    f1 = jax.jit(jax.vmap(jax.grad(jnp.sinc)))
    f2 = jax.jit(jax.vmap(jax.grad(jax.grad(jnp.sinc))))
    far = np.abs(u) > 0.01  # where autodiff of jnp.sinc is itself accurate
    np.testing.assert_allclose(d1[far], f1(jnp.asarray(u[far])), atol=1e-12)
    np.testing.assert_allclose(d2[far], f2(jnp.asarray(u[far])), atol=1e-12)
    # Near 0: sinc''(0) = -pi^2 / 3, sinc'(u) ~ -pi^2 u / 3.
    np.testing.assert_allclose(d2[~far], -(np.pi**2) / 3, rtol=1e-9)
    np.testing.assert_allclose(d1[~far], -(np.pi**2) * u[~far] / 3, rtol=1e-6)
    d1_32, d2_32 = _sinc_derivatives(jnp.asarray(u, jnp.float32))
    np.testing.assert_allclose(d2_32, d2, rtol=2e-5, atol=2e-5)
    np.testing.assert_allclose(d1_32, d1, rtol=2e-5, atol=2e-5)
