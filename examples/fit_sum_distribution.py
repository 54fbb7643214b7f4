"""Gradients through a convolution: fit the law of a sum to observed totals.

    python examples/fit_sum_distribution.py  (PROBCONV_EXAMPLE_SMALL=1: smaller)

Each observed total is the number of successes in 40 trials plus a Poisson
count of background events: T = Binomial(40, p) + Poisson(mu). Neither part
is observed alone. The likelihood of the totals is the pmf of a convolution;
we maximize it over (p, mu) with optax's Adam, differentiating through the
convolution, and compare with the truth. Writes
examples/out/fit_sum_distribution.png.
"""

import os
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax

from probconv import distributions as dist
from probconv.plot import new_figure

jax.config.update("jax_enable_x64", True)
SMALL = os.environ.get("PROBCONV_EXAMPLE_SMALL") == "1"
OUT = Path(__file__).parent / "out"
TRIALS, SIZE = 40, 80  # Poisson grid: 0..79, far beyond any mu fitted here


def law(params):
    p = jax.nn.sigmoid(params[0])
    mu = jnp.exp(params[1])
    return dist.binomial(TRIALS, p) + dist.poisson(mu, size=SIZE)


def main():
    rng = np.random.default_rng(3)
    true_p, true_mu = 0.3, 6.0
    n = 2_000 if SMALL else 20_000
    totals = rng.binomial(TRIALS, true_p, n) + rng.poisson(true_mu, n)
    counts = np.bincount(totals, minlength=TRIALS + SIZE)

    seen = np.flatnonzero(counts)  # only observed totals enter the likelihood

    def nll(params):
        return -jnp.sum(counts[seen] * law(params).logpmf(seen)) / n

    opt = optax.adam(0.05)
    params = jnp.array([0.0, 0.0])  # p = 0.5, mu = 1
    state = opt.init(params)
    step = jax.jit(lambda p, s: _step(opt, nll, p, s))
    for i in range(300 if SMALL else 600):
        params, state, loss = step(params, state)
    p_hat = float(jax.nn.sigmoid(params[0]))
    mu_hat = float(jnp.exp(params[1]))
    print(f"fitted p = {p_hat:.4f} (true {true_p}), mu = {mu_hat:.3f} (true {true_mu})")
    print(
        f"mean total: fitted {TRIALS * p_hat + mu_hat:.3f}, "
        f"observed {totals.mean():.3f}"
    )

    fitted = law(params)
    k = np.arange(counts.size)
    fig, (ax,) = new_figure(1, width=6.0)
    ax.bar(k, counts / n, color="0.75", label="observed totals")
    ax.plot(k, np.asarray(fitted.pmf(k)), "o-", ms=3, label="fitted law")
    ax.set_xlim(0, 45)
    ax.legend()
    ax.set_title("Binomial(40, p) + Poisson(mu), fitted by gradient descent")
    OUT.mkdir(exist_ok=True)
    fig.savefig(OUT / "fit_sum_distribution.png", dpi=90)


def _step(opt, nll, params, state):
    loss, g = jax.value_and_grad(nll)(params)
    updates, state = opt.update(g, state)
    return optax.apply_updates(params, updates), state, loss


if __name__ == "__main__":
    main()
