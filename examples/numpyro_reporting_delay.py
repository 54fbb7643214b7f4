"""Daily reported cases: infections convolved with a reporting delay, by NUTS.

    python examples/numpyro_reporting_delay.py  (PROBCONV_EXAMPLE_SMALL=1: smaller)

A case is reported some days after infection: an incubation period (known,
negative binomial with mean 5 days) plus a reporting delay (negative binomial
with unknown mean `mu`, dispersion `PHI` = 3 known: `negative_binomial` is
not differentiable in its `n`). The delay from infection to
report is the sum of the two, a probconv law. Two kinds of data inform it:

- daily reported cases, Poisson with mean (infections * delay pmf)_t: the
  epidemic curve of infections (latent, a Gaussian bump with unknown peak,
  day and width) convolved with the law's masses by the engine;
- a line list of a few dozen cases whose day of infection is known
  (contact tracing), whose infection-to-report intervals are observed
  through ``law.to_numpyro()``.

NUTS fits the four parameters; the figure shows the reconstructed infections
and the delay law. Writes examples/out/numpyro_reporting_delay.png.
"""

import os
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as nd
from numpyro.infer import MCMC, NUTS

from probconv import conv
from probconv import distributions as dist
from probconv.plot import new_figure

jax.config.update("jax_enable_x64", True)
SMALL = os.environ.get("PROBCONV_EXAMPLE_SMALL") == "1"
OUT = Path(__file__).parent / "out"
DAYS = 60
DELAY_SIZE = 40  # reporting delays 0..39 days
TRUTH_CURVE = ("log_peak", "t0", "width")  # the infections' parameters
PHI = 3.0  # dispersion of the reporting delay (known)
TRUTH = {"log_peak": np.log(150.0), "t0": 25.0, "width": 7.0, "mu": 4.0}


def delay_law(mu):
    """Infection to report: incubation (known) + reporting delay (mean mu)."""
    incubation = dist.negative_binomial(5.0, 0.5, size=30)  # mean 5 days
    reporting = dist.negative_binomial(PHI, PHI / (PHI + mu), size=DELAY_SIZE)
    return incubation + reporting


def infections(log_peak, t0, width):
    t = jnp.arange(DAYS, dtype=float)
    return jnp.exp(log_peak - 0.5 * ((t - t0) / width) ** 2)


def expected_reports(params):
    law = delay_law(params["mu"])
    curve = infections(*(params[k] for k in TRUTH_CURVE))
    return conv.convolve(curve, law.masses)[:DAYS]


def model(reported, intervals):
    params = {
        "log_peak": numpyro.sample("log_peak", nd.Normal(4.0, 2.0)),
        "t0": numpyro.sample("t0", nd.Normal(DAYS / 2, 15.0)),
        "width": numpyro.sample("width", nd.LogNormal(2.0, 0.5)),
        "mu": numpyro.sample("mu", nd.LogNormal(1.0, 0.7)),
    }
    rate = expected_reports(params)
    numpyro.deterministic("rate", rate)
    with numpyro.plate("days", DAYS):
        numpyro.sample("reported", nd.Poisson(rate + 1e-9), obs=reported)
    law = delay_law(params["mu"])
    with numpyro.plate("line_list", intervals.shape[0]):
        numpyro.sample("interval", law.to_numpyro(), obs=intervals)


def simulate(n_line_list, seed=0):
    rng = np.random.default_rng(seed)
    truth = {k: jnp.asarray(v) for k, v in TRUTH.items()}
    rate = np.asarray(expected_reports(truth))
    reported = rng.poisson(rate)
    incubation = rng.negative_binomial(5, 0.5, n_line_list)
    mu = TRUTH["mu"]
    reporting = rng.negative_binomial(PHI, PHI / (PHI + mu), n_line_list)
    return jnp.asarray(reported), jnp.asarray(incubation + reporting), rate


def main():
    reported, intervals, true_rate = simulate(40)
    n = 150 if SMALL else 800
    mcmc = MCMC(NUTS(model), num_warmup=n, num_samples=n, progress_bar=False)
    mcmc.run(jax.random.key(1), reported, intervals)
    s = mcmc.get_samples()
    for k, v in TRUTH.items():
        a = np.asarray(s[k])
        print(f"{k:>8s}: {a.mean():7.3f} +- {a.std():.3f}  (true {v:.3f})")

    fig, (ax, bx) = new_figure(2, width=4.6)
    t = np.arange(DAYS)
    ax.bar(t, np.asarray(reported), color="0.8", label="reported cases")
    lo, mid, hi = np.percentile(np.asarray(s["rate"]), [5, 50, 95], axis=0)
    ax.fill_between(t, lo, hi, color="C0", alpha=0.3)
    ax.plot(t, mid, "C0", label="expected reports (90% band)")
    curves = jax.vmap(infections)(s["log_peak"], s["t0"], s["width"])
    ax.plot(t, np.median(np.asarray(curves), 0), "C1", label="infections (fitted)")
    truth_curve = infections(*(TRUTH[k] for k in TRUTH_CURVE))
    ax.plot(t, np.asarray(truth_curve), "k--", lw=1, label="infections (true)")
    ax.set_xlabel("day")
    ax.legend(fontsize=7, loc="upper right")
    ax.set_title("daily cases = infections * delay")

    k = np.arange(35)
    true_law = delay_law(TRUTH["mu"])
    pmfs = jax.vmap(lambda m: delay_law(m).pmf(jnp.arange(35)))(s["mu"])
    lo, mid, hi = np.percentile(np.asarray(pmfs), [5, 50, 95], axis=0)
    counts = np.bincount(np.asarray(intervals), minlength=k.size)[: k.size]
    bx.bar(k, counts / intervals.shape[0], color="0.8", label="line list")
    bx.fill_between(k, lo, hi, color="C0", alpha=0.3)
    bx.plot(k, mid, "C0", label="fitted (90% band)")
    bx.plot(k, np.asarray(true_law.pmf(k)), "k--", lw=1, label="true")
    bx.set_xlabel("days from infection to report")
    bx.legend(fontsize=7)
    bx.set_title("incubation + reporting delay")
    OUT.mkdir(exist_ok=True)
    fig.savefig(OUT / "numpyro_reporting_delay.png", dpi=90)


if __name__ == "__main__":
    main()
