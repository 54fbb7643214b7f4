"""Counts from two sources in numpyro: Binomial(n_i, p) + Poisson(lam), by NUTS.

    python examples/numpyro_two_sources.py  (PROBCONV_EXAMPLE_SMALL=1: smaller)

Each observation counts the successes of n_i trials (n_i known, varying from
one observation to the next) plus a Poisson background of rate lam; only the
total is seen. The likelihood of a total is the pmf of a convolution. We fit
(p, lam) by NUTS twice: with probconv (one law per distinct n_i, a batch
observed through `to_numpyro`, the observations in a masked grid), and with
the same likelihood written by hand as a sum over the binomial count of each
observation. The posteriors agree (same
model); we print the time per gradient of the log density of both. Writes
examples/out/numpyro_two_sources.png.
"""

import os
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as nd
from jax.scipy.special import logsumexp
from jax.scipy.stats import binom, poisson
from numpyro.infer import MCMC, NUTS
from numpyro.infer.util import initialize_model

from probconv import distributions as dist
from probconv.plot import new_figure

jax.config.update("jax_enable_x64", True)
SMALL = os.environ.get("PROBCONV_EXAMPLE_SMALL") == "1"
OUT = Path(__file__).parent / "out"
N_MAX, POIS_SIZE = 30, 40  # trials per observation at most; Poisson grid 0..39
TRUE_P, TRUE_LAM = 0.3, 4.0


def probconv_model(trial_counts, y, observed):
    """The law of a total, one per distinct number of trials, observed in a grid.

    `trial_counts` (D,): the distinct n; `y`, `observed` (M, D): the totals of
    the observations with each n, padded to M rows and masked.
    """
    p = numpyro.sample("p", nd.Beta(1.0, 1.0))
    lam = numpyro.sample("lam", nd.Exponential(0.1))
    # Binomial(n, p) for every distinct n at once: a Poisson binomial whose
    # trials beyond n have probability 0 (an exact padding).
    trial_p = jnp.where(jnp.arange(N_MAX) < trial_counts[:, None], p, 0.0)
    law = dist.poisson_binomial(trial_p) + dist.poisson(lam, size=POIS_SIZE)
    with numpyro.plate("n", y.shape[1]), numpyro.plate("obs", y.shape[0], dim=-2):
        numpyro.sample("y", law.to_numpyro().mask(observed), obs=y)


def hand_sum_model(trials, y):
    """The same likelihood: sum over the binomial count k of each observation."""
    p = numpyro.sample("p", nd.Beta(1.0, 1.0))
    lam = numpyro.sample("lam", nd.Exponential(0.1))
    k = jnp.arange(N_MAX + 1)
    n, yy = trials[:, None], y[:, None]
    terms = binom.logpmf(k, n, p) + poisson.logpmf(yy - k, lam)
    terms = jnp.where((k <= n) & (k <= yy), terms, -jnp.inf)
    numpyro.factor("y", jnp.sum(logsumexp(terms, axis=-1)))


def simulate(n_obs, seed=0):
    """Totals of `n_obs` observations, as flat arrays and as a masked grid."""
    rng = np.random.default_rng(seed)
    trials = rng.integers(5, N_MAX + 1, n_obs)
    y = rng.binomial(trials, TRUE_P) + rng.poisson(TRUE_LAM, n_obs)
    distinct = np.unique(trials)
    rows = max(int(np.sum(trials == n)) for n in distinct)
    grid = np.zeros((rows, distinct.size))
    observed = np.zeros((rows, distinct.size), bool)
    for j, n in enumerate(distinct):
        v = y[trials == n]
        grid[: v.size, j], observed[: v.size, j] = v, True
    flat = (jnp.asarray(trials), jnp.asarray(y))
    return flat, (jnp.asarray(distinct), jnp.asarray(grid), jnp.asarray(observed))


def time_per_gradient(model, *args, repeat=50):
    """Median seconds of one jitted gradient of the model's potential energy."""
    info = initialize_model(jax.random.key(0), model, model_args=args)
    grad = jax.jit(jax.grad(info.potential_fn))
    z = info.param_info.z
    jax.block_until_ready(grad(z))
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        jax.block_until_ready(grad(z))
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def fit(model, *args, seed=1):
    n = 150 if SMALL else 1000
    mcmc = MCMC(NUTS(model), num_warmup=n, num_samples=n, progress_bar=False)
    t0 = time.perf_counter()
    mcmc.run(jax.random.key(seed), *args)
    return mcmc.get_samples(), time.perf_counter() - t0


def main():
    flat, grouped = simulate(200 if SMALL else 1000)
    trials, y = (np.asarray(a) for a in flat)
    s_pc, t_pc = fit(probconv_model, *grouped)
    s_hs, t_hs = fit(hand_sum_model, *flat)
    for name, truth in (("p", TRUE_P), ("lam", TRUE_LAM)):
        a, b = np.asarray(s_pc[name]), np.asarray(s_hs[name])
        print(
            f"{name}: probconv {a.mean():.4f} +- {a.std():.4f}, "
            f"hand sum {b.mean():.4f} +- {b.std():.4f} (true {truth})"
        )
    g_pc = time_per_gradient(probconv_model, *grouped)
    g_hs = time_per_gradient(hand_sum_model, *flat)
    print(f"NUTS wall time (compilation included): probconv {t_pc:.1f} s, ", end="")
    print(f"hand sum {t_hs:.1f} s")
    print(
        f"time per gradient ({y.size} observations): probconv {g_pc * 1e6:.0f} us, "
        f"hand sum {g_hs * 1e6:.0f} us"
    )

    fig, axes = new_figure(3, width=3.6)
    for ax, name, truth in zip(axes[:2], ("p", "lam"), (TRUE_P, TRUE_LAM)):
        a, b = np.asarray(s_pc[name]), np.asarray(s_hs[name])
        bins = np.linspace(min(a.min(), b.min()), max(a.max(), b.max()), 30)
        ax.hist(a, bins, density=True, alpha=0.5, label="probconv to_numpyro")
        ax.hist(b, bins, density=True, histtype="step", color="k", label="hand sum")
        ax.axvline(truth, color="C3", ls="--", label="truth")
        ax.set_title(f"posterior of {name}")
    axes[0].legend(fontsize=7)
    ax = axes[2]
    n_show = int(np.bincount(trials).argmax())
    law = dist.binomial(n_show, float(s_pc["p"].mean())) + dist.poisson(
        float(s_pc["lam"].mean()), size=POIS_SIZE
    )
    obs = y[trials == n_show]
    k = np.arange(int(obs.max()) + 8)
    ax.hist(obs, np.arange(k[-1] + 2) - 0.5, density=True, color="0.8", label="data")
    ax.plot(k, np.asarray(law.pmf(k)), "o-", ms=3, label="posterior-mean law")
    ax.set_title(f"n = {n_show}: {obs.size} totals")
    ax.legend(fontsize=7)
    fig.suptitle(
        f"Binomial(n_i, p) + Poisson(lam), NUTS; gradient {g_pc * 1e6:.0f} us "
        f"(probconv) vs {g_hs * 1e6:.0f} us (hand sum), {y.size} observations",
        fontsize=9,
    )
    OUT.mkdir(exist_ok=True)
    fig.savefig(OUT / "numpyro_two_sources.png", dpi=90)


if __name__ == "__main__":
    main()
