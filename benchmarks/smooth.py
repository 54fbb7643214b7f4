"""Smoothing benchmarks: probconv.smooth against the fastest CPU peers.

Run ``python benchmarks/smooth.py`` (full sizes) or ``--quick`` (small).
Each row times probconv (jit-compiled before timing, float64) and its peers
on the same input in this one process, interleaved; the figures are medians
of repeats.
The machine is shared and noisy: ratios vary by 10-30 % between runs.
"""

from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import scipy.ndimage as ndi  # noqa: E402
from KDEpy import FFTKDE  # noqa: E402
from statsmodels.nonparametric.kde import KDEUnivariate  # noqa: E402

from probconv import smooth  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _timing import interleaved_times  # noqa: E402

REPEATS = 7


def row(name, ours, peers):
    """Time probconv and its peers interleaved; print and return the row."""
    contestants = {"probconv": ours, **peers}
    times = interleaved_times(
        {k: (f, ()) for k, f in contestants.items()}, rounds=REPEATS, max_total=40.0
    )
    ours = times.pop("probconv")
    best = min(times.values())
    cells = "  ".join(f"{k} {v * 1e3:8.1f} ms" for k, v in times.items())
    print(
        f"{name:<38} probconv {ours * 1e3:8.1f} ms  {cells}  "
        f"best/ours {best / ours:5.2f}",
        flush=True,
    )
    return name, ours, times


def main(quick: bool, repeats: int):
    global REPEATS
    REPEATS = repeats
    rng = np.random.default_rng(0)
    n = 10**5 if quick else 10**7
    nk = 10**4 if quick else 10**6
    batch = (100, 1000) if quick else (10**4, 10**3)
    print(f"jax {jax.__version__}, backend {jax.default_backend()}, x64 on; n={n:.0e}")
    x = rng.standard_normal(n).cumsum() * 0.01 + rng.standard_normal(n)
    xj = jnp.asarray(x)

    gs = jax.jit(lambda v: smooth.gaussian_smooth(v, 10.0))
    row(
        f"gaussian sigma=10, n={n:.0e}",
        lambda: gs(xj),
        {"ndimage": lambda: ndi.gaussian_filter1d(x, 10.0)},
    )

    ma = jax.jit(lambda v: smooth.moving_average(v, 1001))
    s = pd.Series(x)
    row(
        f"moving average w=1001, n={n:.0e}",
        lambda: ma(xj),
        {
            "ndimage": lambda: ndi.uniform_filter1d(x, 1001),
            "pandas": lambda: s.rolling(1001, center=True).mean(),
        },
    )

    xn = x.copy()
    xn[rng.random(n) < 0.1] = np.nan
    xnj = jnp.asarray(xn)
    sn = pd.Series(xn)
    ew = jax.jit(lambda v: smooth.ewma(v, alpha=0.01))
    row(
        f"ewma alpha=0.01, 10% NaN, n={n:.0e}",
        lambda: ew(xnj),
        {"pandas": lambda: sn.ewm(alpha=0.01).mean()},
    )
    ma_nan = jax.jit(
        lambda v: smooth.moving_average(
            v, 1001, nan_policy="omit", boundary="renormalize"
        )
    )
    row(
        f"NaN-aware moving avg w=1001, n={n:.0e}",
        lambda: ma_nan(xnj),
        {"pandas": lambda: sn.rolling(1001, center=True, min_periods=1).mean()},
    )

    samples = np.concatenate(
        [rng.normal(0, 1, nk // 2), rng.normal(4, 0.5, nk - nk // 2)]
    )
    sj = jnp.asarray(samples)
    bw = 0.05
    kd = jax.jit(lambda v: smooth.kde(v, bandwidth=bw, grid=4096))

    def sm_kde():
        k = KDEUnivariate(samples)
        k.fit(bw=bw, fft=True, gridsize=4096)
        return k.density

    row(
        f"kde n={nk:.0e}, 4096 points, fixed bw",
        lambda: kd(sj),
        {
            "KDEpy": lambda: FFTKDE(bw=bw).fit(samples).evaluate(4096),
            "statsmodels": sm_kde,
        },
    )
    kd_isj = jax.jit(lambda v: smooth.kde(v, bandwidth="isj", grid=4096))
    row(
        f"kde n={nk:.0e}, 4096 points, ISJ",
        lambda: kd_isj(sj),
        {
            "KDEpy": lambda: FFTKDE(bw="ISJ").fit(samples).evaluate(4096),
        },
    )

    xb = rng.standard_normal(batch)
    xbj = jnp.asarray(xb)
    gb = jax.jit(lambda v: smooth.gaussian_smooth(v, 5.0))
    row(
        f"batch {batch[0]}x{batch[1]} gaussian sigma=5",
        lambda: gb(xbj),
        {"ndimage": lambda: ndi.gaussian_filter1d(xb, 5.0)},
    )
    mb = jax.jit(lambda v: smooth.moving_average(v, 21))
    df = pd.DataFrame(xb.T)
    row(
        f"batch {batch[0]}x{batch[1]} moving average w=21",
        lambda: mb(xbj),
        {
            "ndimage": lambda: ndi.uniform_filter1d(xb, 21),
            "pandas": lambda: df.rolling(21, center=True).mean(),
        },
    )
    eb = jax.jit(lambda v: smooth.ewma(v, alpha=0.05))
    row(
        f"batch {batch[0]}x{batch[1]} ewma",
        lambda: eb(xbj),
        {"pandas": lambda: df.ewm(alpha=0.05).mean()},
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    main(args.quick, args.repeats)
