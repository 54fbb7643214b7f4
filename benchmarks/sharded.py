"""Signals split over devices along their own axis: memory, traffic, time.

For each case, on 1, 2 and 4 devices (a fresh process per device count,
``XLA_FLAGS=--xla_force_host_platform_device_count=N``), the jitted call on a
float64 signal split along its axis (an `Explicit` mesh, jax.make_mesh's
default; the 2-D case: a near-square field of as many points, split along
both axes over a 2 x N/2 mesh):

- scratch memory per device (the compiled program's memory analysis), as a
  fraction of the whole signal's size;
- bytes each device receives per call, read from the compiled program (the
  result shapes of its collective-permutes, all-gathers, all-to-alls), next
  to the cost model's prediction (the engine's convolutions with a kernel as
  long as the signal or as large as the field: the bytes of the route that
  `_sharded.route` prices, halo or distributed transform per split axis, the
  route named after the output's split; halo: ``K - 1`` samples of 8 bytes;
  EWMA: five float64 numbers and a flag per other shard; diffuse: ``2 R``
  samples for a kernel of radius ``R``, or one period's transform without a
  kernel (walls: plus the field's halves there and back, a shard's samples;
  free space with D traced: twice that, the reflecting and the absorbing
  transforms of the window); acf with ``L`` lags: ``L`` halo samples, then
  the psums of the two means and of the ``L + 1`` lags, all float64 (``n /
  2`` lags: the distributed transform of the series, no kernel, and three
  psums; the lagged correlations of several transforms,
  `missing='conservative'`, `nan_policy='omit'`, Pearson: no model); kde:
  the all-reduced payload, ``8 m`` bytes of counts for ``m`` grid points
  plus, for Silverman's rule, 64 bisection steps of 8 bytes per quartile; a
  collective inside a loop counts once per trip; poisson_binomial on ``P``
  devices of ``m`` trials each: in round ``r`` the window of ``m 2^r``
  trials, ``2 ceil(sqrt(m 2^r L / 2)) + 2`` float64 masses with ``L =
  744.4``, and the window's start, mean and cut-off mass);
- the median wall time, and its ratio to one device.

Then a weak-scaling table: the same samples per device on 1, 2 and 4
devices. Simulated CPU devices share the machine's cores (two on the
development machine), so the times say how much the split costs, not how
much real devices would gain. Run::

    python benchmarks/sharded.py [--log2n 21] [--repeat 5] [--cases acf]
                                 [--devices 1 2 4 8] [--no-weak] [--plus 4]

(``--cases`` keeps the cases whose names contain one of the words given;
``--devices`` sets the device counts, 1 always included; ``--plus`` adds
samples to ``2^log2n``: 4 makes the shards of four devices odd, whose
transforms take the cyclic layout, `probconv.physics._cyclic`; with
``--devices 3``, 5 makes an odd number of cells in all, the walls and the
window on the same layout.)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

WORKER = r"""
import json, os, re, sys, time
n_dev, log2n, repeat, weak = (int(a) for a in sys.argv[1:5])
wanted = sys.argv[5].split(",") if len(sys.argv) > 5 and sys.argv[5] else []
plus = int(sys.argv[6]) if len(sys.argv) > 6 else 0
os.environ["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={n_dev}"
os.environ["JAX_PLATFORMS"] = "cpu"
import jax, jax.numpy as jnp, numpy as np
jax.config.update("jax_enable_x64", True)
from jax.sharding import NamedSharding, PartitionSpec as P
import probconv
from probconv.physics import diffuse
from probconv.conv._split_fft import bytes_received, layout
from probconv.conv.internal import spectral_length
from probconv.conv._plan import prepare
from probconv.conv._sharded import route, split_of
from probconv import distributions as dist
from probconv.distributions._poisson_binomial_split import window_size
from probconv.similarity import acf, xcorr
from probconv.smooth import ewma, gaussian_smooth, kde, moving_average, savgol
from probconv.physics._split import spectral_layout
from probconv.physics._cyclic import CyclicLayout
from probconv.physics._cyclic import bytes_received as cyclic_bytes

n = (1 << log2n) * (n_dev if weak else 1) + plus


def period_bytes():
    # One period's transform without a kernel: the engine's layout, or the
    # cyclic one where no multiple of the devices divides a shard.
    lay = spectral_layout(n, n_dev, True, n)
    if isinstance(lay, CyclicLayout):
        return cyclic_bytes(lay, 8)
    return bytes_received(lay, 8, kernel=False)
traced = jax.jit(lambda u, D: diffuse(u, D, 2.0, boundary="reflect"))
traced_free = jax.jit(lambda u, D: diffuse(u, D, 2.0))
traced_drift = jax.jit(lambda u, D, v: diffuse(u, D, 2.0, drift=v))
traced_lattice = jax.jit(lambda u, D: diffuse(u, D, 2.0, kind="lattice"))
rng = np.random.default_rng(0)
signal = rng.standard_normal(n)
k301, k3001 = rng.standard_normal(301), rng.standard_normal(3001)
klong = rng.standard_normal(n)
# A field of n points, split along both axes (2 x p/2 devices; along its
# rows alone on 2), and a kernel as large as the field.
rows_2d = 1 << ((n.bit_length() - 1 + 1) // 2)
field = rng.standard_normal((rows_2d, n // rows_2d))
kfield = rng.standard_normal(field.shape)
# The user's own shard_map over the signal's mesh (Auto on one device, so
# that the plain baseline array enters it): `axis_name` names the split.
mesh_x = jax.make_mesh((n_dev,), ("x",), axis_types=(
    jax.sharding.AxisType.Auto if n_dev == 1 else jax.sharding.AxisType.Explicit,))


def in_shard_map(kernel):
    block = lambda b: probconv.convolve(b, kernel, "same", axis_name="x")
    return jax.shard_map(block, mesh=mesh_x, in_specs=P("x"), out_specs=P("x"))


cases = {
    "convolve same, 301 taps": (lambda x: probconv.convolve(x, k301, "same"), 300),
    "convolve same, 301 taps, in a shard_map (axis_name)": (
        in_shard_map(k301), 300),
    "correlate same, 3001 taps": (
        lambda x: probconv.correlate(x, k3001, "same"), 3000),
    # Past two shards' reach, or a halo holding the whole signal (2 devices):
    # the distributed transform, as the engine's route prices it.
    "convolve same, kernel as long as the signal": (
        lambda x: probconv.convolve(x, klong, "same"), ("route", klong)),
    "convolve same, kernel as long as the signal, in a shard_map (axis_name)": (
        in_shard_map(klong), ("route", klong)),
    # Split along two axes: the distributed transform along each in turn.
    "convolve same, 2-D field, kernel as large as the field": (
        lambda x: probconv.convolve(x, kfield, "same"), ("route", kfield)),
    "moving_average, 1001": (lambda x: moving_average(x, 1001), 1000),
    "gaussian_smooth, sigma 200": (lambda x: gaussian_smooth(x, 200.0), 1600),
    "ewma, alpha 0.01": (lambda x: ewma(x, alpha=0.01), None),
    # s = 2 D t = 100 cells^2: a kernel radius of 128 cells each side.
    "diffuse reflect, s 100": (
        lambda x: diffuse(x, 25.0, 2.0, boundary="reflect"), 256),
    "diffuse periodic lattice, s 100": (
        lambda x: diffuse(x, 25.0, 2.0, boundary="periodic", kind="lattice"), 256),
    # s = n^2 / 512, a radius of n / 2: past the halo's rule (a shard each
    # side, less than the axis): one period by the distributed transform.
    "diffuse periodic, radius n/2": (
        lambda x: diffuse(x, n * n / 1024.0, 1.0, boundary="periodic"),
        "diffuse-transform"),
    # NaN-aware: the data's halo, the data and its mask a piece at a time.
    "moving_average NaN-aware, hann 301": (
        lambda x: moving_average(x, ("hann", 301), nan_policy="omit"), 300),
    # mode='interp': the halo, and the edge fits on the end shards.
    "savgol interp, 101": (lambda x: savgol(x, 101, 3), 100),
    # D traced: the radius is unknown; reflecting walls by the mirror's
    # transform of one period (Makhoul's order: two half-shard permutes
    # each way around the transform), as past the halo's rule (radius n/2).
    "diffuse reflect, D traced": (lambda x: traced(x, 25.0), "diffuse-mirror"),
    "diffuse absorb, radius n/2": (
        lambda x: diffuse(x, n * n / 1024.0, 1.0, boundary="absorb"),
        "diffuse-mirror"),
    # Free space with D traced: the radius is unknown; the window's cut
    # kernel by the mean of the mirror's reflecting and absorbing
    # transforms, one after the other (twice the mirror's bytes).
    "diffuse free, D traced": (lambda x: traced_free(x, 25.0), "diffuse-window"),
    # The same with a drift (the kernel asymmetric: the sine parts too, four
    # transforms in turn) or the lattice kernel (two); gathered before.
    "diffuse free drift, D traced": (
        lambda x: traced_drift(x, 25.0, 3.0), "diffuse-window-drift"),
    "diffuse free lattice, D traced": (
        lambda x: traced_lattice(x, 25.0), "diffuse-window"),
    # 50 halo samples, then psums of the two means and of the 51 lags.
    "acf, 50 lags": (lambda x: acf(x, nlags=50), 50 + 2 + 51),
    # n / 2 lags, far past a shard: the distributed transform of the series
    # (no kernel), the lags split; psums of the two means and of lag 0.
    "acf, n/2 lags": (lambda x: acf(x, nlags=n // 2 - 1), "acf-transform"),
    # The lagged correlations with several transforms (pair counts, Pearson's
    # window sums), far past a shard: one after the other. The second series
    # is formed from the first (split alike); no bytes model.
    "acf conservative adjusted, n/2 lags": (
        lambda x: acf(x, nlags=n // 2 - 1, missing="conservative", adjusted=True),
        "unmodelled"),
    "xcorr omit unbiased, n/4 lags each side": (
        lambda x: xcorr(x, 0.5 * x + 1.0, maxlag=n // 4, normalize="unbiased",
                        nan_policy="omit").values, "unmodelled"),
    "xcorr coeff, n/4 lags each side": (
        lambda x: xcorr(x, 0.5 * x + 1.0, maxlag=n // 4, normalize="coeff").values,
        "unmodelled"),
    # Pearson's with NaN omitted (seven lagged sums), at half a shard of
    # four devices' halo, and at a shard each side (as the tests' 16,384
    # lags of 65,536 samples): past a quarter of a shard, the lags in
    # chunks, each device's sums from windows sent by the devices that hold
    # them (no transform).
    "xcorr coeff omit, n/16 lags each side": (
        lambda x: xcorr(x, 0.5 * x + 1.0, maxlag=n // 16, normalize="coeff",
                        nan_policy="omit").values, "unmodelled"),
    "xcorr coeff omit, n/4 lags each side": (
        lambda x: xcorr(x, 0.5 * x + 1.0, maxlag=n // 4, normalize="coeff",
                        nan_policy="omit").values, "unmodelled"),
    # The signal's values as samples: binned counts (4096 points) reduced
    # over devices, the samples never gathered.
    "kde, bandwidth 0.05, 4096 points": (
        lambda x: kde(x, bandwidth=0.05, grid=4096), ("kde", 4096, 0)),
    "kde, Silverman, 4096 points": (
        lambda x: kde(x, bandwidth="silverman", grid=4096), ("kde", 4096, 2)),
    # The signal's samples as success probabilities: the devices' windowed
    # laws exchanged in log2(devices) rounds (the whole law on one device).
    "poisson_binomial, trials": (
        lambda x: dist.poisson_binomial(0.5 + 0.5 * jnp.tanh(x)).masses, "pb"),
    # The signal as a law's masses, split along its grid: 4 copies summed.
    "iid_sum of 4, masses": (
        lambda x: dist.iid_sum(dist.from_masses(jnp.abs(x) / jnp.abs(x).sum()), 4)
        .masses, "iid"),
    # The same masses as a severity: Poisson(4) copies of it, on a grid of
    # 8 n points (the generating function on the distributed transform).
    "compound Poisson(4), masses": (
        lambda x: dist.compound(
            dist.poisson(4.0), dist.from_masses(jnp.abs(x) / jnp.abs(x).sum()),
            size=8 * n).masses, "compound"),
}
if wanted:
    cases = {k: v for k, v in cases.items() if any(w in k for w in wanted)}
if n_dev == 1:  # the baseline: a plain array on one device
    x = jax.device_put(signal)
    x2 = jax.device_put(field)
else:
    x = jax.device_put(signal, NamedSharding(jax.make_mesh((n_dev,), ("x",)), P("x")))
    grid = jax.make_mesh((2, n_dev // 2), ("b", "t"))
    x2 = jax.device_put(field, NamedSharding(grid, P("b", "t")))


def route_bytes(xs, k):
    # The engine's model of a split convolution ('same'): the route it
    # prices, and the bytes that route receives per device.
    pr = prepare(xs.shape, np.dtype(xs.dtype), k.shape, np.dtype(k.dtype),
                 "same", "auto", None, None, None, False)
    r = route(pr, split_of(xs), xs.shape, k.shape)
    return r.bytes, "transform" if r.transform else "halo"

COLL = re.compile(
    r"= (\w+)\[([\d,]*)\]\S* (collective-permute|all-gather|all-to-all|all-reduce)\(")
TUPLE_A2A = re.compile(r"= \(([^)]*)\) all-to-all\(")
PIECE = re.compile(r"(\w+)\[([\d,]*)\]")
SIZE = {"f64": 8, "f32": 4, "s32": 4, "s64": 8, "u64": 8, "c128": 16, "pred": 1}
WHILE = re.compile(r"while\(.*body=%?([\w.-]+).*?known_trip_count\D+(\d+)")


def trips(text):
    # Each computation's text and how often it runs per call: a while loop's
    # body its trip count times (times its own computation's count).
    comps, name = {}, None
    for line in text.splitlines():
        head = re.match(r"^(?:ENTRY )?%?([\w.-]+) ", line)
        if head and line.rstrip().endswith("{"):
            name = head.group(1)
            comps[name] = []
        elif name is not None:
            comps[name].append(line)
    parent, count = {}, {}
    for comp, lines in comps.items():
        for line in lines:
            m = WHILE.search(line)
            if m:
                parent[m.group(1)] = comp
                count[m.group(1)] = int(m.group(2))

    def times(comp):
        return count.get(comp, 1) * (times(parent[comp]) if comp in parent else 1)

    return [("\n".join(lines), times(comp)) for comp, lines in comps.items()]


out = {}
for name, (f, halo) in cases.items():
    xs = x2 if "2-D" in name else x
    c = jax.jit(f).lower(xs).compile()
    recv = 0
    for text, k in trips(c.as_text()):
        found = COLL.findall(text)
        for pieces in TUPLE_A2A.findall(text):  # one piece per device
            found += [(dt, dims, "all-to-all") for dt, dims in PIECE.findall(pieces)]
        for dt, dims, op in found:
            size = int(np.prod([int(d) for d in dims.split(",") if d]))
            size *= SIZE.get(dt, 8) * k
            # (all-gathers and all-to-alls keep this device's own part)
            keeps = op in ("all-gather", "all-to-all")
            recv += size * (n_dev - 1) // n_dev if keeps else size
        # All-to-alls among a mesh axis's devices only (two split axes):
        # less the own part of that group, not of all devices.
        for line in text.splitlines():
            g = re.search(r"all-to-all\(.*replica_groups=\{\{([\d,]*)\}", line)
            if g and len(g.group(1).split(",")) != n_dev:
                m_ = len(g.group(1).split(","))
                for dt, dims in PIECE.findall(line.split(" all-to-all(")[0]):
                    size = int(np.prod([int(d) for d in dims.split(",") if d]))
                    size *= SIZE.get(dt, 8) * k
                    recv += size * (m_ - 1) // m_ - size * (n_dev - 1) // n_dev
    m = c.memory_analysis()
    jax.block_until_ready(c(xs))
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        jax.block_until_ready(c(xs))
        times.append(time.perf_counter() - t)
    route_name = ""
    if n_dev == 1:
        model = 0
    elif halo == "unmodelled":
        model = None
    elif isinstance(halo, tuple) and halo[0] == "route":
        model, route_name = route_bytes(xs, halo[1])
    elif halo is None:  # ewma: 5 float64 and a flag per row from each other shard
        model = (5 * 8 + 1) * (n_dev - 1)
    elif halo == "pb":  # per round: the group's window, its start, mean, cut
        per = n // n_dev
        model = sum(min(window_size(per << r, np.float64), (per << r) + 1) * 8 + 24
                    for r in range(n_dev.bit_length() - 1))
    elif halo == "diffuse-transform":  # one period's transform, no kernel
        model = period_bytes()
    elif halo == "diffuse-mirror":  # the transform, and the field's halves
        model = period_bytes() + 2 * signal.nbytes // n_dev
    elif halo in ("diffuse-window", "diffuse-window-drift"):  # in turn: 2 or 4
        model = period_bytes()
        model = (2 if halo == "diffuse-window" else 4) * (
            model + 2 * signal.nbytes // n_dev)
    elif isinstance(halo, tuple) and halo[0] == "kde":  # counts, bisection
        model = 8 * halo[1] + 8 * 64 * halo[2]
    elif halo == "iid":  # the distributed transform, without a kernel
        S, total = n // n_dev, 4 * (n - 1) + 1
        lay = layout(n_dev, S, -(-total // n_dev), total - n + 1, True)
        model = bytes_received(lay, 8, kernel=False)
    elif halo == "acf-transform":  # the series' transform, 3 float64 psums
        lags = n // 2
        lay = layout(n_dev, n // n_dev, lags // n_dev, n, True, n + lags - 1)
        model = bytes_received(lay, 8, kernel=False) + 3 * 8
    elif halo == "compound":  # the transform at twice the grid, no kernel
        size = 8 * n
        lay = layout(n_dev, n // n_dev, -(-size // n_dev),
                     spectral_length(2 * size) - n + 1, True)
        model = bytes_received(lay, 8, kernel=False)
    else:
        model = halo * 8
    out[name] = dict(
        temp=m.temp_size_in_bytes / signal.nbytes,
        held=(m.temp_size_in_bytes + m.argument_size_in_bytes) / signal.nbytes,
        route=route_name,
        recv=recv, model=model, seconds=float(np.median(times)),
        split=str(getattr(jax.tree.leaves(c(xs))[-1].sharding, "spec", "one device")))
print(json.dumps(out))
"""


def run(
    n_dev: int, log2n: int, repeat: int, weak: bool, cases: str = "", plus: int = 0
) -> dict:
    env = dict(os.environ)
    env.pop("XLA_FLAGS", None)
    args = [str(n_dev), str(log2n), str(repeat), str(int(weak)), cases, str(plus)]
    proc = subprocess.run(
        [sys.executable, "-c", WORKER, *args],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--log2n", type=int, default=21)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--devices", type=int, nargs="+", default=[1, 2, 4], help="device counts"
    )
    parser.add_argument(
        "--cases", default="", help="comma-separated words; keep matching cases"
    )
    parser.add_argument(
        "--no-weak", action="store_true", help="the strong-scaling table only"
    )
    parser.add_argument(
        "--plus",
        type=int,
        default=0,
        help="samples added to 2^log2n (4: shards of an odd length on 4 devices)",
    )
    opts = parser.parse_args()
    counts = tuple(sorted(set(opts.devices) | {1}))
    t0 = time.perf_counter()
    strong = {
        d: run(d, opts.log2n, opts.repeat, False, opts.cases, opts.plus) for d in counts
    }
    print(
        f"Strong scaling: 2^{opts.log2n}"
        + (f" + {opts.plus}" if opts.plus else "")
        + " float64 samples split over "
        f"{', '.join(map(str, counts))} simulated CPU devices.\n"
    )
    print(
        "| case | devices | output | scratch / signal | held / signal | "
        "bytes received per device (model) | time (ms) | vs 1 device |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name in strong[1]:
        base = strong[1][name]["seconds"]
        for d in counts:
            r = strong[d][name]
            print(
                f"| {name} | {d} | {r['split']}"
                + (f" by {r['route']}" if r.get("route") else "")
                + f" | {r['temp']:.2f} | "
                f"{r['held']:.2f} | {r['recv']:,} "
                + ("(no model)" if r["model"] is None else f"({r['model']:,})")
                + " | "
                f"{1e3 * r['seconds']:.1f} | {r['seconds'] / base:.2f} |"
            )
    if opts.no_weak:
        print(f"\n({time.perf_counter() - t0:.0f} s in all)")
        return
    weak = {
        d: run(d, opts.log2n - 2, opts.repeat, True, opts.cases, opts.plus)
        for d in counts
    }
    print(
        f"\nWeak scaling: 2^{opts.log2n - 2} samples per device; time relative "
        "to one device (1.00 is perfect weak scaling).\n"
    )
    heads = " | ".join(f"{d} devices" for d in counts[1:])
    print(f"| case | 1 device (ms) | {heads} |")
    print("|---" * (len(counts) + 1) + "|")
    for name in weak[1]:
        base = weak[1][name]["seconds"]
        cells = " | ".join(f"{weak[d][name]['seconds'] / base:.2f}" for d in counts[1:])
        print(f"| {name} | {1e3 * base:.1f} | {cells} |")
    print(f"\n({time.perf_counter() - t0:.0f} s in all)")


if __name__ == "__main__":
    main()
