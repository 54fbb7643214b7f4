"""A quantum wave packet spreading, and where a detector finds the particle.

A Gaussian packet (width sigma0, momentum p0) evolves freely: `evolve_free`
applies the exact kinetic phase in Fourier space. Its width follows
sigma(t) = sigma0 sqrt(1 + (hbar t / 2 m sigma0^2)^2) and its centre moves at
p0 / m. `position_probability` turns |psi|^2, seen through a detector of
finite resolution, into a distribution whose quantiles come for free.

Run:  python examples/wave_packet.py   (PROBCONV_EXAMPLE_SMALL=1: quick)
Writes examples/out/wave_packet.png
"""

import os

import jax
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from probconv.physics import evolve_free, position_probability  # noqa: E402

jax.config.update("jax_enable_x64", True)
SMALL = os.environ.get("PROBCONV_EXAMPLE_SMALL") == "1"


def main() -> None:
    n = 2**12 if SMALL else 2**16
    length = 400.0
    h = length / n
    x = (np.arange(n) - n // 2) * h
    s0, x0, p0 = 1.0, -60.0, 3.0  # units with hbar = m = 1
    psi0 = (
        np.exp(-((x - x0) ** 2) / (4 * s0**2) + 1j * p0 * x)
        / (2 * np.pi * s0**2) ** 0.25
    )
    times = [0.0, 10.0, 20.0, 40.0]
    fig, (a, b) = plt.subplots(1, 2, figsize=(12, 4.2))
    print(
        f"{'t':>5s} {'norm-1':>9s} {'centre':>8s} {'p0 t/m':>8s} {'width':>7s} "
        f"{'sigma(t)':>8s} {'5%..95% measured':>20s}"
    )
    for t in times:
        psi = evolve_free(psi0, t, step=h)
        P = position_probability(psi, step=h, origin=float(x[0]))
        M = position_probability(psi, step=h, origin=float(x[0]), resolution=5.0)
        width = float(P.std())
        sig = s0 * np.sqrt(1 + (t / (2 * s0**2)) ** 2)
        lo, hi = (float(v) for v in M.ppf(np.array([0.05, 0.95])))
        norm = float(np.sum(np.abs(np.asarray(psi)) ** 2) * h)
        print(
            f"{t:5g} {norm - 1:9.1e} {float(P.mean()):8.3f} {x0 + p0 * t:8.3f} "
            f"{width:7.3f} {sig:8.3f} {lo:9.2f} .. {hi:7.2f}"
        )
        a.plot(x, np.abs(np.asarray(psi)) ** 2, label=f"t = {t:g}")
        b.plot(x, np.asarray(M.masses) / h, label=f"t = {t:g}")
    a.set(
        xlim=(-80, 110),
        xlabel="x",
        ylabel=r"$|\psi|^2$",
        title="free evolution: the packet spreads and moves at p0/m",
    )
    b.set(
        xlim=(-80, 110),
        xlabel="x",
        ylabel="density",
        title="measured position (detector resolution 5)",
    )
    a.legend()
    b.legend()
    fig.tight_layout()
    os.makedirs(os.path.join(os.path.dirname(__file__), "out"), exist_ok=True)
    out = os.path.join(os.path.dirname(__file__), "out", "wave_packet.png")
    fig.savefig(out, dpi=110)
    print("wrote", out)


if __name__ == "__main__":
    main()
