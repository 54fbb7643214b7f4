"""A tour of probconv on real-sized inputs, in seconds and without network.

    python examples/quickstart.py

Prints a short report and writes examples/out/quickstart.png.
"""

import os
import time
from pathlib import Path

import jax
import numpy as np
import scipy.signal
import scipy.stats

import probconv
from probconv import distributions as dist
from probconv import physics, similarity, smooth

jax.config.update("jax_enable_x64", True)  # probabilities deserve float64
OUT = Path(__file__).parent / "out"


def main() -> None:
    t_start = time.perf_counter()
    rng = np.random.default_rng(2026)
    print(f"probconv {probconv.__version__} on {jax.default_backend()}\n")

    # 1. Dice: the law of the sum of 10 six-sided dice, exactly.
    d10 = dist.dice(10, 6)
    print("1. Ten dice")
    print(f"   P(sum >= 50) = {float(d10.sf(49)):.6f}   mean {float(d10.mean()):.1f}")

    # 2. A portfolio of 2,000 loans with different default probabilities:
    #    the number of defaults is Poisson-binomial. accuracy="relative" keeps
    #    every tail probability accurate far below the FFT's 1e-16 noise floor.
    p = rng.beta(0.6, 40.0, size=2000)
    defaults = dist.poisson_binomial(p, accuracy="relative")
    k99 = float(defaults.ppf(0.99))
    print("2. Portfolio of 2,000 loans (Poisson binomial)")
    print(f"   expected defaults {float(defaults.mean()):.1f}, 99% quantile {k99:.0f}")
    print(f"   P(more than 60 defaults) = {float(defaults.sf(60)):.3e}")
    print(f"   P(more than 150 defaults) = {float(defaults.sf(150)):.3e}")

    # 3. Insurance: 500 expected claims a year, claim sizes in whole units on
    #    1,000 points (a lognormal, discretized by differences of its CDF, the
    #    mass beyond the grid recorded); the 99.5% quantile of the annual total.
    law = scipy.stats.lognorm(s=0.8, scale=10.0)
    edges = np.arange(1001) + 0.5
    masses = np.diff(np.concatenate([[0.0], law.cdf(edges)]))
    severity = dist.from_masses(masses, truncated=law.sf(edges[-1]))
    annual = dist.compound(dist.poisson(500.0), severity)
    q995 = float(annual.ppf(0.995))
    print("3. Aggregate insurance loss, Poisson(500) claims")
    print(f"   mean {float(annual.mean()):.0f}, 99.5% quantile (capital) {q995:.0f}")

    # 4. Smoothing a noisy series of a million points with missing values.
    n = 1_000_000
    t = np.linspace(0, 20, n)
    signal = np.sin(t) + 0.3 * np.sin(7 * t)
    noisy = signal + 0.5 * rng.standard_normal(n)
    noisy[rng.choice(n, 20_000, replace=False)] = np.nan
    smoothed = np.asarray(smooth.moving_average(noisy, 2001, nan_policy="omit"))
    err = np.sqrt(np.nanmean((smoothed - signal) ** 2))
    print("4. Moving average of 1e6 samples with 2% missing (NaN-aware)")
    print(f"   RMS error vs the clean signal {err:.3f} (noise was 0.5)")

    # 5. A lag found by cross-correlation.
    a = np.asarray(smooth.gaussian_smooth(rng.standard_normal(200_000), 4.0))
    true_delay = 123.4
    b = np.interp(np.arange(a.size) - true_delay, np.arange(a.size), a)
    b += 0.3 * a.std() * rng.standard_normal(a.size)
    delay = float(similarity.estimate_delay(a, b, max_delay=500))
    print("5. Delay between two noisy records of 200,000 samples")
    print(f"   estimated {delay:.2f} samples (true {true_delay})")

    # 6. Milk diffusing in coffee: a 512 x 512 concentration, reflecting walls.
    u0 = np.zeros((512, 512))
    u0[200:260, 280:330] = 1.0
    u = np.asarray(physics.diffuse(u0, 40.0, 25.0, boundary="reflect"))
    print("6. Diffusion of a 512x512 field, reflecting walls")
    print(f"   mass before {u0.sum():.6f}, after {u.sum():.6f}; peak {u.max():.3f}")

    # 7. The engine underneath: method chosen by a cost model.
    x = rng.standard_normal(1_000_000)
    w = np.hanning(301)
    y = probconv.convolve(x, w, "same")
    ref = scipy.signal.oaconvolve(x, w, "same")
    print("7. Engine: 1e6 samples by a 301-tap window")
    print(
        f"   method {probconv.choose_method(x, w)!r}, "
        f"max |diff| vs scipy {np.max(np.abs(np.asarray(y) - ref)):.1e}"
    )

    if os.environ.get("PROBCONV_NO_PLOT") is None:
        _figure(d10, defaults, annual, t, noisy, smoothed, u0, u)
    print(f"\ndone in {time.perf_counter() - t_start:.1f} s")


def _figure(d10, defaults, annual, t, noisy, smoothed, u0, u):
    from probconv.plot import new_figure

    fig, ax = new_figure(3, 2, width=4.2, height=3.2)
    x = np.asarray(d10.points)
    ax[0].bar(x, np.asarray(d10.masses), color="C0")
    ax[0].set_title("sum of 10 dice")
    k = np.asarray(defaults.points)
    ax[1].semilogy(k, np.asarray(defaults.sf(k)), color="C3")
    ax[1].set_title("defaults: P(K > k)")
    ax[1].set_ylim(1e-40, 1.5)
    ax[1].set_xlim(0, 160)
    s = np.asarray(annual.points)
    ax[2].plot(s, np.asarray(annual.masses) / annual.step, color="C2")
    ax[2].axvline(float(annual.ppf(0.995)), color="k", ls="--", lw=1)
    ax[2].set_title("aggregate loss; 99.5% quantile")
    sl = slice(0, None, 200)
    ax[3].plot(t[sl], noisy[sl], ".", ms=1, color="0.6")
    ax[3].plot(t[sl], smoothed[sl], color="C0")
    ax[3].set_title("NaN-aware moving average")
    ax[4].imshow(u0, cmap="copper")
    ax[4].set_title("milk at t = 0")
    ax[5].imshow(u, cmap="copper")
    ax[5].set_title("milk after diffusion")
    for a in ax[4:]:
        a.set_axis_off()
    OUT.mkdir(exist_ok=True)
    fig.savefig(OUT / "quickstart.png", dpi=90)
    print(f"\nfigure written to {OUT / 'quickstart.png'}")


if __name__ == "__main__":
    main()
