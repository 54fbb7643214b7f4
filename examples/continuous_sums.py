"""Sums of continuous random variables on a grid, and how accurate they are.

    python examples/continuous_sums.py  (PROBCONV_EXAMPLE_SMALL=1: smaller)

The sum of ten Exp(1) variables is a Gamma(10): we compute it by one FFT
power of the cell masses, with the fourth-order correction, and compare it
with the closed form as the step halves; the error estimate from step
halving (`discretization_error`) is printed next to the actual error. Then
a sum with no closed form (ten lognormals) and a heavy-tailed one (Cauchy),
whose cut tails are reported in `truncated`. Writes
examples/out/continuous_sums.png.
"""

import os
from pathlib import Path

import jax
import numpy as np
import scipy.stats

from probconv import distributions as dist
from probconv.plot import new_figure

jax.config.update("jax_enable_x64", True)
SMALL = os.environ.get("PROBCONV_EXAMPLE_SMALL") == "1"
OUT = Path(__file__).parent / "out"


def gamma10(h):
    return dist.iid_sum(dist.exponential(step=h, tail=1e-14), 10)


def main():
    steps = (0.2, 0.1) if SMALL else (0.2, 0.1, 0.05, 0.025)
    ref = scipy.stats.gamma(10)
    errors = []
    for h in steps:
        s = gamma10(h)
        edges = np.asarray(s.points) + h / 2
        err = np.max(np.abs(np.cumsum(np.asarray(s.masses)) - ref.cdf(edges)))
        errors.append(err)
        print(f"10 x Exp(1), step {h:<6}: max |cdf - Gamma(10) cdf| = {err:.2e}")
    r = dist.discretization_error(gamma10, steps[-1])
    print(f"estimated error at step {steps[-1]}: {r.error:.2e} (order {r.order:.2f})")

    h = 2.0**-4 if SMALL else 2.0**-6
    ln = dist.iid_sum(dist.lognormal(1.0, step=h, tail=1e-10), 10)
    print(
        f"10 lognormal(1): mean {float(ln.mean()):.4f} (exact {10 * np.exp(0.5):.4f}), "
        f"P(S > 40) = {float(ln.sf(40.0)):.6f}, cut mass {float(ln.truncated):.1e}"
    )
    c = dist.iid_sum(dist.cauchy(step=0.125, support=(-200.0, 200.0)), 5)
    # the grid holds P(|X_i| <= 200) for each summand; the mass cut off is
    # symmetric, so half of it lies below any point of the body
    below = float(c.cdf(5.0)) + float(c.truncated) / 2
    exact = scipy.stats.cauchy(0, 5).cdf(5.0)
    print(
        f"5 Cauchy(1): P(S <= 5) = {below:.5f} (exact {exact:.5f}), "
        f"cut mass {float(c.truncated):.4f}"
    )

    fig, ax = new_figure(3)
    x = np.asarray(gamma10(steps[-1]).points)
    ax[0].plot(x, np.asarray(gamma10(steps[-1]).pdf(x)), label="probconv")
    ax[0].plot(x, ref.pdf(x), "--", label="Gamma(10)")
    ax[0].set_xlim(0, 30)
    ax[0].legend(fontsize="small")
    ax[0].set_title("sum of 10 Exp(1)")
    ax[1].loglog(steps, errors, "o-", label="max |cdf error|")
    ax[1].loglog(
        steps, errors[0] * (np.array(steps) / steps[0]) ** 4, ":", label="slope 4"
    )
    ax[1].legend(fontsize="small")
    ax[1].set_xlabel("step")
    ax[1].set_title("convergence")
    xl = np.asarray(ln.points)
    ax[2].plot(xl, np.asarray(ln.pdf(xl)))
    ax[2].set_xlim(0, 60)
    ax[2].set_title("sum of 10 lognormal(1)")
    OUT.mkdir(exist_ok=True)
    fig.savefig(OUT / "continuous_sums.png", dpi=90)


if __name__ == "__main__":
    main()
