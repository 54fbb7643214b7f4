"""Sums of dice: exact laws by convolution, checked against enumeration.

    python examples/dice_sums.py       (PROBCONV_EXAMPLE_SMALL=1: smaller)

Writes examples/out/dice_sums.png.
"""

import os
from fractions import Fraction
from itertools import product
from pathlib import Path

import jax
import numpy as np

from probconv import distributions as dist
from probconv.plot import new_figure

jax.config.update("jax_enable_x64", True)
SMALL = os.environ.get("PROBCONV_EXAMPLE_SMALL") == "1"
OUT = Path(__file__).parent / "out"


def main():
    # 3d6 by convolution against exact enumeration of the 216 outcomes.
    d = dist.dice(3, 6)
    exact = {}
    for roll in product(range(1, 7), repeat=3):
        exact[sum(roll)] = exact.get(sum(roll), 0) + Fraction(1, 216)
    worst = max(abs(float(d.pmf(s)) - float(p)) for s, p in exact.items())
    print(f"3d6: max |pmf - exact| = {worst:.1e}")

    # Advantage-style sums: d20 + 5 against 2d10 + 2, and a contest.
    attack = dist.die(20) + 5
    damage = dist.dice(2, 10) + 2
    print(f"P(d20 + 5 >= 15) = {float(attack.sf(14)):.3f}")
    print(f"P(d20 + 5 > 2d10 + 2) = {float((attack - damage).sf(0)):.4f}")

    # Many dice: the law of the sum of n dice by one transform power.
    n = 100 if SMALL else 1000
    big = dist.iid_sum(dist.die(6), n)
    z = (np.asarray(big.points) - 3.5 * n) / np.sqrt(n * 35 / 12)
    print(
        f"{n}d6: mean {float(big.mean()):.1f}, std {float(big.std()):.3f}, "
        f"P(sum >= {int(3.5 * n * 1.1)}) = {float(big.sf(int(3.5 * n * 1.1) - 1)):.3e}"
    )

    fig, ax = new_figure(2)
    ax[0].bar(np.asarray(d.points), np.asarray(d.masses))
    ax[0].set_title("3d6")
    ax[1].plot(z, np.asarray(big.masses) * np.sqrt(n * 35 / 12), label=f"{n}d6")
    ax[1].plot(z, np.exp(-(z**2) / 2) / np.sqrt(2 * np.pi), "--", label="normal")
    ax[1].set_xlim(-4, 4)
    ax[1].legend()
    ax[1].set_title("standardized sum of many dice")
    OUT.mkdir(exist_ok=True)
    fig.savefig(OUT / "dice_sums.png", dpi=90)


if __name__ == "__main__":
    main()
