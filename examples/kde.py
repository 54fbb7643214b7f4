"""Kernel density estimates: bandwidth rules, bounded data, weights, 2-D.

Run:  python examples/kde.py   (PROBCONV_EXAMPLE_SMALL=1: quick)
Writes examples/out/kde.png.
"""

import os
import time
from pathlib import Path

import jax
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import scipy.stats  # noqa: E402

from probconv import smooth  # noqa: E402

jax.config.update("jax_enable_x64", True)
OUT = Path(__file__).parent / "out"
SMALL = os.environ.get("PROBCONV_EXAMPLE_SMALL") == "1"


def main() -> None:
    rng = np.random.default_rng(3)
    n = 5_000 if SMALL else 200_000
    # A bimodal mixture: rules of thumb oversmooth it, ISJ does not.
    mix = scipy.stats.norm(0, 1), scipy.stats.norm(3.5, 0.3)
    x = np.concatenate(
        [
            mix[0].rvs(int(0.7 * n), random_state=rng),
            mix[1].rvs(n - int(0.7 * n), random_state=rng),
        ]
    )
    grid = np.linspace(-4, 6, 2048)
    truth = 0.7 * mix[0].pdf(grid) + 0.3 * mix[1].pdf(grid)
    fig, axes = plt.subplots(2, 2, figsize=(11, 8))
    ax = axes[0, 0]
    ax.plot(grid, truth, "k--", lw=1, label="truth")
    for rule in ("scott", "silverman", "isj"):
        t0 = time.perf_counter()
        bw = float(smooth.kde_bandwidth(x, rule))
        _, dens = smooth.kde(x, bandwidth=bw, grid=grid)
        dt = time.perf_counter() - t0
        ise = float(np.sum((np.asarray(dens) - truth) ** 2) * (grid[1] - grid[0]))
        print(f"{rule:>9}: bandwidth {bw:.4f}, ISE {ise:.2e}, {dt * 1e3:.0f} ms")
        ax.plot(grid, dens, label=f"{rule} (h={bw:.3f})")
    ax.set_title(f"bimodal mixture, n={n}")
    ax.legend(fontsize=8)

    # Bounded data: waiting times are positive. Reflection fixes the edge.
    y = rng.exponential(1.0, n // 4)
    g, plain = smooth.kde(y, bandwidth=0.15, grid=1024)
    gb, refl = smooth.kde(y, bandwidth=0.15, grid=1024, bounds=(0, None))
    ax = axes[0, 1]
    ax.plot(gb, np.exp(-np.asarray(gb)), "k--", lw=1, label="truth e^-x")
    ax.plot(g, plain, label="no correction")
    ax.plot(gb, refl, label="reflection at 0")
    ax.set_xlim(-0.7, 4)
    ax.set_title("bounded data: density at 0 is 1")
    ax.legend(fontsize=8)
    print(
        f"density at 0: plain {float(np.interp(0, g, plain)):.3f}, "
        f"reflected {float(refl[0]):.3f} (true 1)"
    )

    # Weighted samples: importance weights turn N(0,1) draws into N(1, 1).
    z = rng.standard_normal(n // 4)
    wts = np.exp(z - 0.5)
    gz, dz = smooth.kde(z, weights=wts, bandwidth="silverman")
    ax = axes[1, 0]
    ax.plot(gz, scipy.stats.norm(1, 1).pdf(gz), "k--", lw=1, label="N(1, 1)")
    ax.plot(gz, dz, label="weighted KDE of N(0,1) draws")
    ax.set_title("importance weights")
    ax.legend(fontsize=8)

    # 2-D: a correlated cloud, scipy.stats.gaussian_kde's Scott rule.
    pts = rng.multivariate_normal([0, 0], [[1, 0.8], [0.8, 1]], n // 4)
    (g1, g2), d2 = smooth.kde(pts, grid=200)
    ax = axes[1, 1]
    ax.contourf(np.asarray(g1), np.asarray(g2), np.asarray(d2).T, levels=12)
    ax.set_title("2-D estimate (Scott covariance)")

    # The estimate as a distribution: sum of two independent such variables.
    X = smooth.kde_dist(y, bandwidth=0.15, bounds=(0, None))
    print(
        f"kde_dist: mean {float(X.mean()):.3f} (sample {y.mean():.3f}), "
        f"mass {float(X.masses.sum() + X.truncated):.6f}"
    )

    OUT.mkdir(exist_ok=True)
    fig.tight_layout()
    fig.savefig(OUT / "kde.png", dpi=110)
    print(f"wrote {OUT / 'kde.png'}")


if __name__ == "__main__":
    main()
