"""Milk diffusing in unstirred coffee, in 2-D.

A drop of milk spreads in a (square, for simplicity) cup with reflecting
walls: each snapshot is one call of `diffuse`, exact at that time, with no
time stepping. The mass of milk is conserved to rounding; the same drop with
absorbing walls (a cup whose wall takes the milk up) loses mass, reported.

Run:  python examples/coffee_diffusion.py   (PROBCONV_EXAMPLE_SMALL=1: quick)
Writes examples/out/coffee_diffusion.png
"""

import os

import jax
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from probconv.physics import diffuse  # noqa: E402

jax.config.update("jax_enable_x64", True)
SMALL = os.environ.get("PROBCONV_EXAMPLE_SMALL") == "1"


def main() -> None:
    n = 128 if SMALL else 512
    width = 8.0  # cm
    h = width / n
    c = (np.arange(n) + 0.5) * h
    xx, yy = np.meshgrid(c, c, indexing="ij")
    # A drop of milk near the rim, and a thin trail poured in.
    milk = np.exp(-((xx - 2.0) ** 2 + (yy - 5.5) ** 2) / (2 * 0.3**2))
    milk += (
        0.3
        * np.exp(-((yy - 5.5 + 0.4 * (xx - 2.0)) ** 2) / (2 * 0.1**2))
        * ((xx > 2.0) & (xx < 5.0))
    )
    # An effective diffusion coefficient (molecular diffusion is ~1e-5 cm^2/s;
    # slow convection in a cooling cup mixes much faster).
    D = 5e-4  # cm^2/s
    times = [0.0, 60.0, 300.0, 900.0, 3600.0, 4 * 3600.0]
    mass0 = milk.sum() * h * h
    fig, axes = plt.subplots(2, 3, figsize=(12, 8))
    for ax, t in zip(axes.flat, times):
        u = np.asarray(diffuse(milk, D, t, step=h, boundary="reflect"))
        ax.imshow(
            u.T,
            origin="lower",
            extent=(0, width, 0, width),
            cmap="copper",
            vmin=0,
            vmax=u.max(),
        )
        ax.set_title(f"t = {t / 60:g} min, mass {u.sum() * h * h / mass0:.12f}")
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle("Milk in unstirred coffee: one exact diffusion per snapshot")
    fig.tight_layout()
    _, lost = diffuse(milk, D, 3600.0, step=h, boundary="absorb", full_output=True)
    print(
        f"reflecting walls: mass conserved; absorbing walls lose "
        f"{float(lost) / mass0:.1%} of the milk in an hour"
    )
    os.makedirs(os.path.join(os.path.dirname(__file__), "out"), exist_ok=True)
    out = os.path.join(os.path.dirname(__file__), "out", "coffee_diffusion.png")
    fig.savefig(out, dpi=100)
    print("wrote", out)


if __name__ == "__main__":
    main()
