"""The engine against scipy.signal, numpy and jax, side by side in one run.

    python benchmarks/engine.py [--quick] [--dtype float64|float32]

1-D full convolution over N x K, a 2-D 300x300 by 300x300 "same", and a batch
of 1000 signals of 4096 with a kernel of 129. Times are medians after
compilation; probconv and the jax peers are jitted. Peers whose direct sums
would exceed 1e10 multiply-adds are skipped (they cannot be the fastest).
Prints the table, each cell's ratio to the fastest of all, and the geometric
mean of the ratio to scipy's "auto".
"""

import argparse
import sys

import jax
import jax.numpy as jnp
import numpy as np
import scipy.signal

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from _timing import interleaved_times  # noqa: E402

import probconv  # noqa: E402


def peers(a, v, mode="full", axes=None, big=False):
    """Name -> (function, args) for each contestant."""
    aj, vj = jnp.asarray(a), jnp.asarray(v)
    # jax.scipy.signal.fftconvolve does not broadcast batch axes.
    vb = jnp.broadcast_to(vj, a.shape[:-1] + v.shape[-1:]) if axes is not None else vj
    out = {
        "probconv": (
            jax.jit(lambda a, v: probconv.convolve(a, v, mode, axes=axes)),
            (aj, vj),
        ),
        "scipy auto": (
            lambda a, v: (
                scipy.signal.convolve(a, v, mode)
                if axes is None
                else scipy.signal.fftconvolve(a, v, mode, axes=axes)
            ),
            (a, v),
        ),
        "scipy fft": (
            lambda a, v: scipy.signal.fftconvolve(a, v, mode, axes=axes),
            (a, v),
        ),
        "scipy oa": (
            lambda a, v: scipy.signal.oaconvolve(a, v, mode, axes=axes),
            (a, v),
        ),
        "jax fftconvolve": (
            jax.jit(lambda a, v: jax.scipy.signal.fftconvolve(a, v, mode, axes=axes)),
            (aj, vb),
        ),
    }
    if not big and axes is None:
        out["scipy direct"] = (
            lambda a, v: scipy.signal.convolve(a, v, mode, method="direct"),
            (a, v),
        )
        if a.ndim == 1:
            out["jnp.convolve"] = (
                jax.jit(lambda a, v: jnp.convolve(a, v, mode)),
                (aj, vj),
            )
    return out


def run_case(label, a, v, mode="full", axes=None):
    big = a.size * v.size > (1e10 if a.ndim == 1 else 1e9)
    times = interleaved_times(peers(a, v, mode, axes, big), max_total=8.0)
    fastest = min(times.values())
    method = probconv.choose_method(a, v, mode, axes=axes)
    return label, method, times, fastest


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true")
    p.add_argument("--dtype", default="float64")
    p.add_argument("--skip-grid", action="store_true", help="only 2-D and batch")
    p.add_argument("--n", type=float, nargs="*", help="only these N of the grid")
    p.add_argument(
        "--sync",
        action="store_true",
        help="turn off JAX's asynchronous CPU dispatch (halves the per-call cost)",
    )
    args = p.parse_args()
    if args.sync:
        jax.config.update("jax_cpu_enable_async_dispatch", False)
    if args.dtype == "float64":
        jax.config.update("jax_enable_x64", True)
    dt = np.dtype(args.dtype)
    rng = np.random.default_rng(0)
    Ns = [1000, 10_000] if args.quick else [1000, 10_000, 100_000, 1_000_000]
    Ns = [int(n) for n in args.n] if args.n else Ns
    Ns = [] if args.skip_grid else Ns
    rows = []
    for n in Ns:
        for k in [3, 31, 301, 3001, n]:
            if k > n or (k == 3001 and n == 3001):
                continue
            a = rng.standard_normal(n).astype(dt)
            v = rng.standard_normal(k).astype(dt)
            rows.append(run_case(f"N={n:.0e} K={k:.0e}", a, v))
            print(_fmt(rows[-1]), flush=True)
    grid = list(rows)
    m = 100 if args.quick else 300
    a2 = rng.standard_normal((m, m)).astype(dt)
    rows.append(run_case(f"2-D {m}x{m} * {m}x{m} same", a2, a2.copy(), "same"))
    print(_fmt(rows[-1]), flush=True)
    nb = 100 if args.quick else 1000
    ab = rng.standard_normal((nb, 4096)).astype(dt)
    vb = rng.standard_normal((1, 129)).astype(dt)
    rows.append(run_case(f"batch {nb}x4096 * 129", ab, vb, axes=1))
    print(_fmt(rows[-1]), flush=True)

    print(f"\n{jax.devices()[0].device_kind}, {args.dtype}, seconds (ratio to fastest)")
    names = [
        "probconv",
        "scipy auto",
        "scipy direct",
        "scipy fft",
        "scipy oa",
        "jax fftconvolve",
        "jnp.convolve",
    ]
    print("| case | auto picks | " + " | ".join(names) + " |")
    print("|---" * (len(names) + 2) + "|")
    for label, method, times, fastest in rows:
        cells = [
            f"{times[n]:.2e} ({times[n] / fastest:.2f})" if n in times else "-"
            for n in names
        ]
        print(f"| {label} | {method} | " + " | ".join(cells) + " |")
    if not grid:
        return
    r_auto = [t["probconv"] / t["scipy auto"] for _, _, t, _ in grid]
    r_best = [t["probconv"] / f for _, _, t, f in grid]
    gm = float(np.exp(np.mean(np.log(r_auto))))
    print(f"\ngrid: geometric mean of probconv / scipy auto = {gm:.2f}")
    print(
        f"grid: cells within 1.15x of the fastest: "
        f"{sum(r <= 1.15 for r in r_best)}/{len(r_best)}; worst {max(r_best):.2f}x"
    )


def _fmt(row):
    label, method, times, fastest = row
    return f"{label:28s} {method:12s} " + " ".join(
        f"{k}={v:.2e}" for k, v in times.items()
    )


if __name__ == "__main__":
    main()
