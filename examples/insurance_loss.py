"""Aggregate insurance loss: compound Poisson with a lognormal severity.

    python examples/insurance_loss.py  (PROBCONV_EXAMPLE_SMALL=1: smaller)

The yearly loss is S = X_1 + ... + X_N with N ~ Poisson(50) claims and
lognormal(sigma = 1) claim amounts. We compute its law on a grid (one FFT
pair through the Poisson generating function), the 99.5% quantile (the
solvency capital figure) with its error estimate from step halving, check
it against a Monte Carlo with its standard error, and differentiate the
capital with respect to the severity's shape. Writes
examples/out/insurance_loss.png.
"""

import math
import os
from pathlib import Path

import jax
import numpy as np

from probconv import distributions as dist
from probconv.plot import new_figure

jax.config.update("jax_enable_x64", True)
SMALL = os.environ.get("PROBCONV_EXAMPLE_SMALL") == "1"
OUT = Path(__file__).parent / "out"
LAM = 50.0


def aggregate(h):
    return dist.compound(dist.poisson(LAM), dist.lognormal(1.0, step=h, tail=1e-10))


def main():
    h = 2.0**-2 if SMALL else 2.0**-5
    s = aggregate(h)
    coarse = aggregate(2 * h)
    q, q2 = float(s.ppf(0.995)), float(coarse.ppf(0.995))
    print(f"mean loss {float(s.mean()):.3f} (exact {LAM * math.exp(0.5):.3f})")
    print(f"99.5% quantile {q:.4f} (step {h}); step {2 * h}: {q2:.4f}")
    print(f"P(S = 0) = {float(s.atoms[0]):.3e} (exact {math.exp(-LAM):.3e})")

    n = 20_000 if SMALL else 1_000_000
    rng = np.random.default_rng(2024)
    k = rng.poisson(LAM, n)
    tot = np.zeros(n)
    np.add.at(tot, np.repeat(np.arange(n), k), rng.lognormal(0.0, 1.0, k.sum()))
    mc = float(np.quantile(tot, 0.995))
    se = math.sqrt(0.995 * 0.005 / n) / float(s.pdf(q))
    print(f"Monte Carlo ({n} years): {mc:.4f} +- {se:.4f} (one standard error)")

    # Sensitivity of the capital to the severity's shape, by implicit
    # differentiation of F(q(s); s) = 0.995: dq/ds = -dF/ds / f(q).
    support = (float(s.support()[0]), 120.0)

    def cdf_at(sig):
        x = dist.lognormal(sig, step=h, support=(0.0, support[1]))
        return dist.compound(dist.poisson(LAM), x, size=s.size).cdf(q)

    dq = -float(jax.grad(cdf_at)(1.0)) / float(s.pdf(q))
    print(f"d capital / d sigma = {dq:.3f}")

    x = np.asarray(s.points)
    fig, ax = new_figure(2)
    ax[0].plot(x, np.asarray(s.pdf(x)), label="probconv")
    ax[0].hist(tot, bins=200, density=True, histtype="step", label="Monte Carlo")
    ax[0].axvline(q, color="k", ls=":", label="99.5% quantile")
    ax[0].set_xlim(0, 2.5 * LAM * math.exp(0.5))
    ax[0].legend(fontsize="small")
    ax[0].set_title("yearly aggregate loss")
    ax[1].semilogy(x, np.maximum(np.asarray(s.sf(x)), 1e-18))
    ax[1].axhline(0.005, color="k", ls=":")
    ax[1].set_xlim(0, 4 * LAM * math.exp(0.5))
    ax[1].set_title("P(S > x)")
    OUT.mkdir(exist_ok=True)
    fig.savefig(OUT / "insurance_loss.png", dpi=90)


if __name__ == "__main__":
    main()
