"""Undo a blur: Wiener and Richardson-Lucy, and the law of X from X + Y.

1. A 2-D scene of point sources and a bar, blurred by a Gaussian point-spread
   function with Poisson noise, restored by `wiener` and `richardson_lucy`.
2. Reaction times: the observed time Z = X + Y is the decision time X plus a
   known motor delay Y; `deconvolve_distribution` recovers the law of X from a
   histogram of Z.

Run:  python examples/deconvolution.py   (PROBCONV_EXAMPLE_SMALL=1: quick)
Writes examples/out/deconvolution.png
"""

import os

import jax
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import scipy.stats as st  # noqa: E402

import probconv  # noqa: E402
from probconv.deconv import deconvolve_distribution, richardson_lucy, wiener  # noqa: E402
from probconv.distributions import from_masses  # noqa: E402

jax.config.update("jax_enable_x64", True)
SMALL = os.environ.get("PROBCONV_EXAMPLE_SMALL") == "1"


def main() -> None:
    rng = np.random.default_rng(0)
    n = 64 if SMALL else 256
    scene = np.zeros((n, n))
    idx = rng.integers(8, n - 8, size=(12, 2))
    scene[idx[:, 0], idx[:, 1]] = rng.uniform(200, 800, 12)
    scene[n // 2 - 2 : n // 2 + 2, n // 4 : 3 * n // 4] = 60.0
    r = np.arange(-8, 9)
    psf = np.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2 * 2.0**2))
    psf /= psf.sum()
    blurred = np.asarray(probconv.convolve(scene, psf, "same"))
    observed = rng.poisson(np.maximum(blurred, 0) + 5.0) - 5.0
    noise = np.sqrt(blurred.mean() + 5.0)
    w = np.asarray(wiener(observed, psf, noise_power=noise**2))
    rl = np.asarray(richardson_lucy(observed, psf, iterations=40 if SMALL else 200))
    for name, est in [("observed", observed), ("wiener", w), ("richardson_lucy", rl)]:
        print(f"{name:16s} rms error {np.sqrt(np.mean((est - scene) ** 2)):7.2f}")

    # Reaction times in ms on a 5 ms grid: X ~ gamma, Y ~ shifted lognormal.
    step = 5.0
    grid = np.arange(0, 1500, step)
    x_law = st.gamma(4.0, scale=60.0)
    y_law = st.lognorm(0.3, scale=120.0)
    y = np.diff(y_law.cdf(np.append(grid[:80], grid[80]) - step / 2))
    y /= y.sum()
    n_obs = 5_000 if SMALL else 50_000
    z_draws = x_law.rvs(n_obs, random_state=rng) + y_law.rvs(n_obs, random_state=rng)
    edges = np.append(grid, grid[-1] + step) - step / 2
    z = np.histogram(z_draws, bins=edges)[0] / n_obs
    Z = from_masses(z, origin=0.0, step=step, kind="density")
    Y = from_masses(y, origin=0.0, step=step, kind="density")
    X = deconvolve_distribution(Z, Y, method="em", iterations=200, alpha=0.2)
    xs = np.asarray(X.points)
    x_true = np.diff(x_law.cdf(np.append(xs, xs[-1] + step) - step / 2))
    tv = 0.5 * np.abs(np.asarray(X.masses) - x_true).sum()
    print(f"law of X recovered from {n_obs} reaction times: total variation {tv:.3f}")

    fig = plt.figure(figsize=(13, 7))
    for i, (img, title) in enumerate(
        [
            (scene, "scene"),
            (observed, "blurred + Poisson noise"),
            (w, "Wiener"),
            (rl, "Richardson-Lucy"),
        ]
    ):
        ax = fig.add_subplot(2, 4, i + 1)
        ax.imshow(img, cmap="magma", vmin=0, vmax=np.percentile(scene, 99.9) / 3)
        ax.set_title(title)
        ax.axis("off")
    ax = fig.add_subplot(2, 1, 2)
    ax.plot(grid, z / step, label="observed Z = X + Y (histogram)", alpha=0.6)
    ax.plot(xs, x_true / step, "k--", label="true law of X")
    ax.plot(xs, np.asarray(X.masses) / step, label="recovered law of X")
    ax.set(
        xlim=(0, 1000),
        xlabel="ms",
        ylabel="density",
        title=f"deconvolve_distribution: total variation {tv:.3f}",
    )
    ax.legend()
    fig.tight_layout()
    os.makedirs(os.path.join(os.path.dirname(__file__), "out"), exist_ok=True)
    out = os.path.join(os.path.dirname(__file__), "out", "deconvolution.png")
    fig.savefig(out, dpi=100)
    print("wrote", out)


if __name__ == "__main__":
    main()
