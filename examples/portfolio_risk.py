"""Default risk of a loan portfolio: the Poisson binomial law and its tails.

    python examples/portfolio_risk.py  (PROBCONV_EXAMPLE_SMALL=1: smaller)

The number of defaults among loans with different default probabilities is
Poisson-binomial. We compare it with the binomial that assumes one average
probability (which overstates the spread: the Poisson binomial's variance
sum p_i (1 - p_i) is the smaller), compute tail probabilities and their
sensitivity to each loan's probability by automatic differentiation.
Writes examples/out/portfolio_risk.png.
"""

import os
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from probconv import distributions as dist
from probconv.plot import new_figure

jax.config.update("jax_enable_x64", True)
SMALL = os.environ.get("PROBCONV_EXAMPLE_SMALL") == "1"
OUT = Path(__file__).parent / "out"


def main():
    rng = np.random.default_rng(7)
    n = 200 if SMALL else 10_000
    p = rng.beta(0.5, 30.0, size=n)
    law = dist.poisson_binomial(p)
    naive = dist.binomial(n, float(p.mean()))
    k = int(np.ceil(2 * p.sum()))
    print(f"{n} loans, expected defaults {p.sum():.1f}")
    print(
        f"P(defaults > {k}): Poisson binomial {float(law.sf(k)):.3e}, "
        f"binomial with the mean p {float(naive.sf(k)):.3e}"
    )
    print(f"99.9% quantile: {float(law.ppf(0.999)):.0f} defaults")

    # Sensitivity of the tail to each loan: d P(S > k) / d p_i, all n at once
    # by reverse-mode AD (it equals P(S without loan i = k)).
    def tail(p):
        return dist.poisson_binomial(p).sf(k)

    grad = np.asarray(jax.grad(tail)(jnp.asarray(p)))
    order = np.argsort(p)
    for i in (order[0], order[n // 2], order[-1]):
        print(f"  loan {i}: p = {p[i]:.4f}, d tail / d p = {grad[i]:.3e}")

    # Stress: every probability scaled up by 50%, the whole law in one call
    # for a batch of scenarios.
    scales = jnp.linspace(1.0, 1.5, 6)
    batch = dist.poisson_binomial(jnp.clip(scales[:, None] * p, 0, 1))
    tails = np.asarray(batch.sf(k))
    for s, t in zip(np.asarray(scales), tails):
        print(f"  probabilities x{s:.1f}: P(defaults > {k}) = {t:.3e}")

    x = np.asarray(law.points)
    fig, ax = new_figure(2)
    ax[0].plot(x, np.asarray(law.masses), label="Poisson binomial")
    ax[0].plot(x, np.asarray(naive.masses), "--", label="binomial, mean p")
    ax[0].set_xlim(0, 3 * p.sum())
    ax[0].legend(fontsize="small")
    ax[0].set_title("number of defaults")
    ax[1].semilogy(x, np.asarray(law.sf(x)), label="Poisson binomial")
    ax[1].semilogy(x, np.asarray(naive.sf(x)), "--", label="binomial, mean p")
    ax[1].set_ylim(1e-15, 1.5)
    ax[1].set_xlim(0, 4 * p.sum())
    ax[1].set_title("P(defaults > k)")
    OUT.mkdir(exist_ok=True)
    fig.savefig(OUT / "portfolio_risk.png", dpi=90)


if __name__ == "__main__":
    main()
