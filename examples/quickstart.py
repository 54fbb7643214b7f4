"""A tour of probconv on real-sized inputs, in seconds and without network.

Run:  python examples/quickstart.py
"""

import time

import jax
import numpy as np
import scipy.signal

import probconv

jax.config.update("jax_enable_x64", True)


def main() -> None:
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    print("probconv", probconv.__version__, "on", jax.default_backend())

    # One engine: a million noisy samples smoothed by a 301-tap window.
    x = np.cumsum(rng.standard_normal(1_000_000))
    w = np.hanning(301) / np.hanning(301).sum()
    method = probconv.choose_method(x, w)
    y = probconv.convolve(x, w, "same")
    err = np.max(np.abs(np.asarray(y) - scipy.signal.oaconvolve(x, w, "same")))
    print(f"smoothing 1e6 samples: method={method!r}, max |diff| vs scipy {err:.1e}")

    # A lag found by cross-correlation, computing only lags -200..200.
    a = rng.standard_normal(100_000)
    b = np.roll(a, 37) + 0.5 * rng.standard_normal(a.size)
    c = probconv.correlate(b, a, maxlag=200)
    lags = probconv.correlation_lags(b.size, a.size, maxlag=200)
    print(f"delay recovered by correlate(maxlag=200): {lags[np.argmax(c)]} (true 37)")

    print(f"done in {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
