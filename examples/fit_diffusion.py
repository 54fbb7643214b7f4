"""Fit a diffusion coefficient to a measured concentration profile.

A dye front spreads in a closed tube (reflecting ends). We observe the
profile at three times with noise, and recover D by gradient descent on the
squared error, differentiating `diffuse` with respect to D (exact for any t,
so the fit does no time stepping).

Run:  python examples/fit_diffusion.py   (PROBCONV_EXAMPLE_SMALL=1 for a quick run)
Writes examples/out/fit_diffusion.png
"""

import os

import jax
import jax.numpy as jnp
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402

from probconv.physics import diffuse  # noqa: E402

jax.config.update("jax_enable_x64", True)
SMALL = os.environ.get("PROBCONV_EXAMPLE_SMALL") == "1"


def main() -> None:
    n = 200 if SMALL else 1000
    length = 10.0  # cm
    h = length / n
    x = (np.arange(n) + 0.5) * h
    u0 = (x < 3.0).astype(float)  # dye filled into the left 3 cm
    times = jnp.array([60.0, 300.0, 1200.0])  # s
    d_true = 2.5e-3  # cm^2/s
    rng = np.random.default_rng(1)

    def model(D):
        return jax.vmap(lambda t: diffuse(u0, D, t, step=h, boundary="reflect"))(times)

    data = model(d_true) + 0.01 * rng.standard_normal((3, n))

    @jax.jit
    def loss(log_d):
        return jnp.mean((model(jnp.exp(log_d)) - data) ** 2)

    opt = optax.adam(0.1)
    log_d = jnp.log(1e-3)
    state = opt.init(log_d)
    history = []
    for _ in range(60 if SMALL else 150):
        value, g = jax.value_and_grad(loss)(log_d)
        updates, state = opt.update(g, state)
        log_d = optax.apply_updates(log_d, updates)
        history.append(float(value))
    d_fit = float(jnp.exp(log_d))
    print(
        f"true D = {d_true:.4e} cm^2/s, fitted D = {d_fit:.4e} cm^2/s "
        f"({abs(d_fit / d_true - 1):.2%} off; noise 0.01)"
    )

    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    fit = model(d_fit)
    for i, t in enumerate(times):
        a.plot(x, data[i], ".", ms=2, alpha=0.4, color=f"C{i}")
        a.plot(x, fit[i], color=f"C{i}", label=f"t = {float(t):g} s")
    a.set(xlabel="position (cm)", ylabel="concentration", title="data and fit")
    a.legend()
    b.semilogy(history)
    b.set(
        xlabel="Adam step",
        ylabel="mean squared error",
        title=f"fit of D: {d_fit:.3e} (true {d_true:.3e})",
    )
    fig.tight_layout()
    os.makedirs(os.path.join(os.path.dirname(__file__), "out"), exist_ok=True)
    out = os.path.join(os.path.dirname(__file__), "out", "fit_diffusion.png")
    fig.savefig(out, dpi=110)
    print("wrote", out)


if __name__ == "__main__":
    main()
