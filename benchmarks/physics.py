"""Diffusion and wave-packet evolution: probconv against scipy / numpy.

    python benchmarks/physics.py [--quick] [--dtype float32|float64]

1. Diffusion of an n x n field (n = 4096; 1024 with --quick) in one call:
   `probconv.physics.diffuse` (exact for any t: with t traced under jit,
   through FFTs of the even extension for 'reflect', or the engine's
   convolution with the window's kernel for 'free'; with t concrete, a
   narrow kernel on its 1e-20 radius and the field's first images) against
   `scipy.ndimage.gaussian_filter` (a truncated sampled Gaussian, separable
   direct sums whose cost grows with sigma), at a narrow and a wide kernel.
2. Free evolution of a 2^20-point wave packet (2^16 with --quick):
   `probconv.physics.evolve_free` against the same kinetic-phase formula in
   numpy with scipy.fft (multithreaded with workers=-1).

Timings are medians after compilation on a shared machine: expect 10-20 %
noise. Ratios > 1 mean probconv is faster.
"""

import argparse
import sys

import jax
import numpy as np
import scipy.fft
import scipy.ndimage

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from _timing import median_time  # noqa: E402

from probconv.physics import diffuse, evolve_free  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true")
    p.add_argument("--dtype", default="float64", choices=["float32", "float64"])
    args = p.parse_args()
    if args.dtype == "float64":
        jax.config.update("jax_enable_x64", True)
    dt = np.dtype(args.dtype)
    n = 1024 if args.quick else 4096
    m = 2**16 if args.quick else 2**20
    rng = np.random.default_rng(0)
    print(f"backend={jax.default_backend()} dtype={dt} devices={jax.device_count()}")
    print()
    print(f"Diffusion of a {n}x{n} field (D = 0.5, step 1, sigma = sqrt(2 D t))")
    print(
        f"{'case':34s} {'probconv s':>11s} {'scipy s':>9s} {'ratio':>6s} "
        f"{'max|diff|':>9s}"
    )
    u = rng.random((n, n)).astype(dt)
    for sigma in (4.0, 32.0):
        t = sigma**2  # D = 0.5
        for boundary, mode in (("reflect", "reflect"), ("free", "constant")):
            t_sp = median_time(
                lambda u: scipy.ndimage.gaussian_filter(u, sigma, mode=mode),
                u,
                repeat=3,
                max_total=30,
            )
            ref = scipy.ndimage.gaussian_filter(u, sigma, mode=mode)
            # t traced (one program for every t: the transforms) and t
            # closed over (concrete: the narrow kernel's direct route).
            traced = jax.jit(lambda u, t, b=boundary: diffuse(u, 0.5, t, boundary=b))
            static = jax.jit(lambda u, t=t, b=boundary: diffuse(u, 0.5, t, boundary=b))
            runs = (("t traced", traced, (u, t)), ("t static", static, (u,)))
            for how, f, args in runs:
                t_pc = median_time(f, *args, repeat=3, max_total=30)
                diff = np.abs(np.asarray(f(*args)) - ref).max()
                label = f"sigma={sigma:g} {boundary} ({how}) vs {mode}"
                print(
                    f"{label:34s} {t_pc:11.3f} {t_sp:9.3f} {t_sp / t_pc:6.2f} "
                    f"{diff:9.1e}"
                )
    print()
    print(f"Free evolution of a {m}-point wave packet (one call, any t)")
    h = 0.01
    x = (np.arange(m) - m // 2) * h
    ct = np.complex64 if dt == np.float32 else np.complex128
    psi = (np.exp(-(x**2) / 4 + 5j * x) / (2 * np.pi) ** 0.25).astype(ct)
    k2 = (2 * np.pi * np.fft.fftfreq(m, h)) ** 2

    def numpy_evolve(psi, t):
        phase = np.exp(-0.5j * t * k2).astype(ct)
        return scipy.fft.ifft(scipy.fft.fft(psi, workers=-1) * phase, workers=-1)

    f = jax.jit(lambda p, t: evolve_free(p, t, step=h))
    t_pc = median_time(f, psi, 3.0)
    t_np = median_time(numpy_evolve, psi, 3.0)
    diff = np.abs(np.asarray(f(psi, 3.0)) - numpy_evolve(psi, 3.0)).max()
    print(
        f"{'case':34s} {'probconv s':>11s} {'numpy s':>9s} {'ratio':>6s} "
        f"{'max|diff|':>9s}"
    )
    print(
        f"{'evolve_free vs scipy.fft':34s} {t_pc:11.4f} {t_np:9.4f} "
        f"{t_np / t_pc:6.2f} {diff:9.1e}"
    )


if __name__ == "__main__":
    main()
