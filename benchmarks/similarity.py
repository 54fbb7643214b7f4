"""probconv.similarity against its peers, side by side on the CPU.

    python benchmarks/similarity.py           # the sizes of docs/performance.md
    python benchmarks/similarity.py --quick   # small sizes, a few seconds

Cases: ACF of 10^7 points with 1000 lags (statsmodels), match_template of a
2048x2048 image with a 64x64 template (scikit-image), and 10^4 delay
estimates of 1024-sample pairs in one batched call (a scipy.signal loop, and
a vectorized NumPy GCC-PHAT). probconv is jit-compiled before timing; each
figure is the median of repeats (ours and the peer's alternating) after
`jax.block_until_ready`. The machine is shared: expect 10-20 % noise.
"""

import argparse
import os
import time
import warnings

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import numpy as np  # noqa: E402
import scipy.signal  # noqa: E402
import statsmodels.tsa.stattools as st  # noqa: E402
from skimage.feature import match_template as sk_match  # noqa: E402

from probconv.similarity import acf, estimate_delay, match_template  # noqa: E402


def compare(ours, theirs, repeats=5):
    """Median seconds of two zero-argument callables, timed alternately.

    Alternating the runs spreads the noise of a shared machine over both.
    """
    jax.block_until_ready(ours())  # compile / warm up
    theirs()
    t_ours, t_theirs = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(ours())
        t_ours.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        theirs()
        t_theirs.append(time.perf_counter() - t0)
    return float(np.median(t_ours)), float(np.median(t_theirs))


def sm_acf(x, nlags):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return st.acf(x, nlags=nlags, fft=True)


def numpy_gcc_phat(a, b, maxlag):
    """A vectorized GCC-PHAT as commonly written with numpy.fft."""
    n = a.shape[-1] + b.shape[-1]
    fa, fb = np.fft.rfft(a, n), np.fft.rfft(b, n)
    g = fb * np.conj(fa)
    r = np.fft.irfft(g / np.maximum(np.abs(g), 1e-300), n)
    r = np.concatenate([r[..., -maxlag:], r[..., : maxlag + 1]], axis=-1)
    return np.argmax(r, axis=-1) - maxlag


def scipy_loop_delays(a, b):
    out = np.empty(a.shape[0])
    lags = scipy.signal.correlation_lags(b.shape[-1], a.shape[-1])
    for i in range(a.shape[0]):
        c = scipy.signal.correlate(b[i], a[i], method="fft")
        k = int(np.argmax(c))
        delta = 0.0
        if 0 < k < c.size - 1:
            ym, y0, yp = c[k - 1], c[k], c[k + 1]
            delta = 0.5 * (ym - yp) / (ym - 2 * y0 + yp)
        out[i] = lags[k] + delta
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes")
    args = parser.parse_args()
    q = args.quick
    rng = np.random.default_rng(0)
    rows = []

    # 1. ACF of a long series, few lags.
    n, nlags = (10**5, 100) if q else (10**7, 1000)
    x = np.cumsum(rng.standard_normal(n)) * 1e-3 + rng.standard_normal(n)
    f = jax.jit(lambda v: acf(v, nlags))
    t_pc, t_sm = compare(lambda: f(x), lambda: sm_acf(x, nlags), repeats=3)
    err = np.max(np.abs(np.asarray(f(x)) - sm_acf(x, nlags)))
    rows.append(
        (f"acf n={n:.0e} nlags={nlags}", "statsmodels acf(fft)", t_pc, t_sm, err)
    )

    # 2. Template matching.
    size, tsize = (512, 32) if q else (2048, 64)
    image = rng.random((size, size))
    template = image[100 : 100 + tsize, 200 : 200 + tsize].copy()
    g = jax.jit(match_template)
    t_pc, t_sk = compare(
        lambda: g(image, template), lambda: sk_match(image, template), repeats=3
    )
    err = np.max(np.abs(np.asarray(g(image, template)) - sk_match(image, template)))
    rows.append((f"match_template {size}^2, {tsize}^2", "skimage", t_pc, t_sk, err))

    # 3. Many delay estimates in one call.
    pairs, length, maxlag = (10**3, 1024, 64) if q else (10**4, 1024, 64)
    src = rng.standard_normal((pairs, length + 2 * maxlag))
    true = rng.integers(-40, 41, pairs)
    a = src[:, maxlag : maxlag + length]
    b = np.stack([s[maxlag - d : maxlag - d + length] for s, d in zip(src, true)])
    b = b + 0.5 * rng.standard_normal(b.shape)
    for method in ("xcorr", "gcc"):
        h = jax.jit(
            lambda a, b, m=method: estimate_delay(a, b, method=m, max_delay=maxlag)
        )
        est = np.asarray(h(a, b))
        acc = np.mean(np.abs(est - true) < 0.5)
        if method == "xcorr":
            peer = "scipy.signal loop"
            t_pc, t_peer = compare(
                lambda h=h: h(a, b), lambda: scipy_loop_delays(a, b), repeats=3
            )
        else:
            peer = "numpy GCC-PHAT (vectorized)"
            t_pc, t_peer = compare(
                lambda h=h: h(a, b), lambda: numpy_gcc_phat(a, b, maxlag), repeats=5
            )
        rows.append((f"{pairs:.0e} delays, {method}", peer, t_pc, t_peer, 1 - acc))

    print(f"jax {jax.__version__}, backend {jax.default_backend()}, float64")
    head = f"{'case':34s} {'peer':30s} {'probconv s':>11s} {'peer s':>9s}"
    print(head + f" {'speedup':>8s} {'max|diff| / miss':>17s}")
    for case, peer, t1, t2, err in rows:
        print(f"{case:34s} {peer:30s} {t1:11.4f} {t2:9.4f} {t2 / t1:7.1f}x {err:17.1e}")


if __name__ == "__main__":
    main()
