"""wiener and richardson_lucy against scikit-image and known signals.

Tolerances (float64 unless stated), stated once:

| comparison | tol | why |
| --- | --- | --- |
| wiener vs skimage | atol 1e-12 | the same FFT formula; rounding only |
| richardson_lucy vs skimage | rtol 1e-9 | skimage adds 1e-12 to denominators |
| flux conservation (periodic) | rtol 1e-12 | sums of n values |
| recovery from noise | stated per test | against the noise level sigma |
| float32 | rtol 1e-4 | float32 FFT rounding over the iterations |
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.signal
from _reference import check_grads
from skimage.restoration import richardson_lucy as sk_rl
from skimage.restoration import wiener as sk_wiener

import probconv
from probconv.deconv import richardson_lucy, wiener

RNG = np.random.default_rng(42)
IMG = RNG.random((24, 30))
PSF = RNG.random((5, 3))
PSF /= PSF.sum()


def circular_blur(x, k):
    """Reference circular blur, centre (size - 1) // 2, by explicit sums."""
    out = np.zeros_like(x)
    c0, c1 = (k.shape[0] - 1) // 2, (k.shape[1] - 1) // 2
    for i in range(k.shape[0]):
        for j in range(k.shape[1]):
            out += k[i, j] * np.roll(x, (i - c0, j - c1), axis=(0, 1))
    return out


@pytest.mark.parametrize("balance", [0.3, 1e-3])
def test_wiener_matches_skimage(balance):
    ref = sk_wiener(IMG, PSF, balance, clip=False)
    out = wiener(IMG, PSF, snr=1 / balance, reg="laplacian")
    np.testing.assert_allclose(out, ref, atol=1e-12)
    ref_id = sk_wiener(IMG, PSF, balance, reg=np.ones((1, 1)), clip=False)
    np.testing.assert_allclose(wiener(IMG, PSF, snr=1 / balance), ref_id, atol=1e-12)
    # skimage keeps only the real part of the regularizer's transform, so
    # compare with a symmetric one (real transform).
    sym = np.outer([1.0, 3.0, 1.0], [2.0, 1.0, 2.0])
    ref_reg = sk_wiener(IMG, PSF, balance, reg=sym, clip=False)
    np.testing.assert_allclose(
        wiener(IMG, PSF, snr=1 / balance, reg=sym), ref_reg, atol=1e-12
    )


def test_wiener_recovers_a_blurred_noisy_signal():
    # A white signal (power 1) blurred by a Gaussian, plus white noise: the
    # Wiener filter is the MMSE estimate, and its error has a closed form.
    n, sigma = 4096, 0.1
    x = RNG.standard_normal(n)
    k = np.exp(-0.5 * (np.arange(-8, 9) / 2.0) ** 2)
    k /= k.sum()
    y = circular_blur(x[:, None], k[:, None])[:, 0]
    y_noisy = y + sigma * RNG.standard_normal(n)
    out = np.asarray(wiener(y_noisy, k, noise_power=sigma**2, signal_power=1.0))
    mse = np.mean((out - x) ** 2)
    kp = np.zeros(n)
    kp[:17] = k
    h2 = np.abs(np.fft.fft(np.roll(kp, -8))) ** 2
    lam = sigma**2
    mse_theory = np.mean((lam**2 + h2 * sigma**2) / (h2 + lam) ** 2)
    assert abs(mse / mse_theory - 1) < 0.1  # sampling error about 3 %
    assert mse < 0.9 * np.mean((y_noisy - x) ** 2)  # better than no deconvolution
    # Noise-free, a well-conditioned kernel (|H| >= 0.2) and a tiny
    # regularization: exact up to lambda / |H|^2.
    k3 = np.array([0.2, 0.6, 0.2])
    y3 = circular_blur(x[:, None], k3[:, None])[:, 0]
    assert np.abs(np.asarray(wiener(y3, k3, snr=1e16)) - x).max() < 1e-12
    # The default signal power (estimated from y) gives nearly the same result.
    est = np.asarray(wiener(y_noisy, k, noise_power=sigma**2))
    assert np.mean((est - x) ** 2) < 1.2 * mse


def test_wiener_reflect_boundary_removes_edge_ringing():
    n = 256
    x = np.linspace(0.0, 3.0, n) ** 2  # far from periodic
    k = np.array([0.1, 0.2, 0.4, 0.2, 0.1])
    y = np.asarray(probconv.convolve(probconv.pad(x, 2, "reflect"), k, "valid"))
    per = np.asarray(wiener(y, k, snr=1e8))
    ref = np.asarray(wiener(y, k, snr=1e8, boundary="reflect"))
    assert np.abs(ref - x).max() < 1e-5
    assert np.abs(per - x).max() > 100 * np.abs(ref - x).max()


def test_wiener_batch_jit_vmap_grad_and_float32():
    ys = np.stack([IMG, IMG[::-1]])
    out = wiener(ys, PSF, snr=50.0, axes=(1, 2))
    np.testing.assert_allclose(out[1], wiener(IMG[::-1], PSF, snr=50.0), atol=1e-13)
    f = jax.jit(lambda y, s: wiener(y, PSF, snr=s))
    np.testing.assert_allclose(f(IMG, 50.0), out[0], atol=1e-13)
    snrs = jnp.array([5.0, 50.0])
    vm = jax.vmap(lambda s: f(IMG, s))(snrs)
    np.testing.assert_allclose(vm[0], f(IMG, 5.0), atol=1e-13)
    check_grads(lambda s: jnp.sum(f(IMG, s) ** 2), (20.0,), order=1)
    o32 = wiener(IMG.astype(np.float32), PSF.astype(np.float32), snr=50.0)
    assert o32.dtype == jnp.float32
    np.testing.assert_allclose(o32, out[0], atol=1e-4)


def test_wiener_errors():
    with pytest.raises(ValueError, match="Give exactly one of `noise_power` and `snr`"):
        wiener(IMG, PSF)
    with pytest.raises(ValueError, match="Give exactly one of"):
        wiener(IMG, PSF, snr=1.0, noise_power=1.0)
    with pytest.raises(ValueError, match="`snr` must be non-negative"):
        wiener(IMG, PSF, snr=-1.0)
    with pytest.raises(ValueError, match="`reg` must be None, 'laplacian' or an array"):
        wiener(IMG, PSF, snr=1.0, reg="tv")
    with pytest.raises(ValueError, match="`boundary` must be one of"):
        wiener(IMG, PSF, snr=1.0, boundary="wrap")
    with pytest.raises(ValueError, match="`kernel` must not be longer than"):
        wiener(IMG[:3], PSF, snr=1.0)
    with pytest.raises(ValueError, match="`kernel` must have one dimension per"):
        wiener(IMG, PSF[None], snr=1.0, axes=(0, 1))
    with pytest.raises(TypeError, match="`kernel` must be a real"):
        wiener(IMG, PSF + 0j, snr=1.0)
    assert np.isnan(jax.jit(lambda s: wiener(IMG, PSF, snr=s))(-1.0)).all()


def test_richardson_lucy_matches_skimage():
    ref = sk_rl(IMG, PSF, num_iter=30, clip=False)
    out = richardson_lucy(IMG, PSF, iterations=30, edge_correction=False)
    np.testing.assert_allclose(out, ref, rtol=1e-9)
    # Even-sized kernels: scipy.signal.convolve's 'same' centring, as skimage.
    psf4 = RNG.random((4, 2))
    ref4 = sk_rl(IMG, psf4, num_iter=10, clip=False)
    out4 = richardson_lucy(IMG, psf4, iterations=10, edge_correction=False)
    np.testing.assert_allclose(out4, ref4, rtol=1e-9)


def test_richardson_lucy_keeps_range_no_nan_and_flux():
    big = 1000.0 * IMG  # skimage would clip this to 1
    out = np.asarray(richardson_lucy(big, PSF, iterations=20))
    assert out.max() > 100
    # Zeros in data and kernel: no NaN, no division by zero (skimage #2551, #5976).
    y = np.zeros((16, 16))
    y[5:8, 5:8] = 3.0
    k = np.zeros((5, 5))
    k[2, 1:4] = 1 / 3
    for boundary in ("constant", "periodic"):
        r = np.asarray(richardson_lucy(y, k, iterations=50, boundary=boundary))
        assert np.isfinite(r).all() and (r >= 0).all()
    z = np.asarray(richardson_lucy(np.zeros((8, 8)), PSF, iterations=5))
    assert (z == 0).all()
    # Flux: periodic conserves sum(y) / sum(kernel) at every iteration.
    k2 = 2.0 * PSF
    for it in (1, 7):
        r = richardson_lucy(IMG, k2, iterations=it, boundary="periodic")
        np.testing.assert_allclose(float(r.sum()), IMG.sum() / 2.0, rtol=1e-12)


def test_richardson_lucy_recovers_spikes_under_poisson_noise():
    n = 200
    x = np.zeros(n)
    x[[30, 60, 67, 120, 170]] = [500.0, 800.0, 400.0, 300.0, 1000.0]
    k = np.exp(-0.5 * (np.arange(-10, 11) / 2.5) ** 2)
    k /= k.sum()
    y_clean = np.asarray(probconv.convolve(x, k, "same"))
    y = RNG.poisson(y_clean + 1.0) - 1.0
    out = np.asarray(richardson_lucy(y, k, iterations=300))
    # Flux within each spike's neighbourhood recovered to a few Poisson sigmas.
    for c, v in [(30, 500.0), (120, 300.0), (170, 1000.0)]:
        got = out[c - 4 : c + 5].sum()
        assert abs(got - v) < 5 * np.sqrt(v) + 20
    assert np.argmax(out) == 170
    # Resolves the close pair 60/67 that the blur merges into one bump.
    assert y_clean[63] > 0.9 * y_clean[60:68].min()
    assert out[63] < 0.2 * min(out[58:62].max(), out[65:70].max())
    # Noise-free: the error keeps decreasing with the iterations.
    errs = [
        np.abs(np.asarray(richardson_lucy(y_clean, k, iterations=it)) - x).sum()
        for it in (10, 100, 1000)
    ]
    assert errs[0] > errs[1] > errs[2]


def test_richardson_lucy_jit_vmap_grad_float32():
    f = jax.jit(lambda y: richardson_lucy(y, PSF, iterations=5))
    np.testing.assert_allclose(
        f(IMG), richardson_lucy(IMG, PSF, iterations=5), rtol=1e-12
    )
    ys = jnp.stack([IMG, 2 * IMG])
    vm = jax.vmap(f)(ys)
    np.testing.assert_allclose(vm[1], f(2 * IMG), rtol=1e-12)
    batched = richardson_lucy(ys, PSF, iterations=5, axes=(1, 2))
    np.testing.assert_allclose(batched, vm, rtol=1e-12)
    y0 = jnp.asarray(IMG[:8, :8] + 0.5)
    check_grads(
        lambda y: richardson_lucy(y, PSF[:3], iterations=3),
        (y0,),
        order=1,
        modes=["rev"],
    )
    o32 = richardson_lucy(IMG.astype(np.float32), PSF.astype(np.float32), iterations=5)
    assert o32.dtype == jnp.float32
    np.testing.assert_allclose(o32, f(IMG), rtol=1e-4, atol=1e-5)


def test_richardson_lucy_errors():
    with pytest.raises(ValueError, match="`boundary` must be one of"):
        richardson_lucy(IMG, PSF, iterations=1, boundary="reflect")
    with pytest.raises(ValueError, match="`iterations` must be at least 0"):
        richardson_lucy(IMG, PSF, iterations=-1)
    with pytest.raises(TypeError, match="`iterations` must be an integer"):
        richardson_lucy(IMG, PSF, iterations=2.0)
    with pytest.raises(ValueError, match="`kernel` must be non-negative"):
        richardson_lucy(IMG, -PSF, iterations=1)
    with pytest.raises(TypeError, match="`y` must be real"):
        richardson_lucy(IMG + 1j, PSF, iterations=1)
    with pytest.raises(ValueError, match="`init` must be non-negative"):
        richardson_lucy(IMG, PSF, iterations=1, init=-1.0)
    with pytest.raises(ValueError, match="`y` must not be empty"):
        richardson_lucy(np.ones((0, 3)), PSF, iterations=1)


def test_same_mode_blur_reference_is_scipy():
    # The blur model of boundary='constant' is scipy.signal.convolve 'same'.
    ref = scipy.signal.convolve(IMG, PSF, mode="same")
    np.testing.assert_allclose(probconv.convolve(IMG, PSF, "same"), ref, atol=1e-13)
