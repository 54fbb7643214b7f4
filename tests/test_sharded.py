"""Signals split over devices along their own axis (issue 17).

The checks run in one subprocess with four CPU devices (the pytest process
has already started JAX with one). For each case: equal to the unsharded
result, or to an independent float64 reference (scipy, pandas, closed
forms), within 1e-12 of its largest value; output split like the input, no
all-gather in the compiled program, and scratch memory per device below the
size of the whole signal.
"""

import jax
import numpy as np
import pytest
from _devices import (
    case,
    finish_hosts,
    launched_fixtures,
    record_of,
    run,
    script,
    spawn_hosts,
)
from jax.sharding import PartitionSpec as P

import probconv
from probconv.conv.internal import halo_map, split_axes

BODY = r"""
    import pandas as pd, scipy.signal
    import probconv
    from probconv.physics import diffuse, evolve_free, position_probability
    from probconv.smooth import ewma, gaussian_smooth, moving_average, savgol

    rng = np.random.default_rng(17)
    n = 1 << 16
    signal = rng.standard_normal(n)
    mesh = jax.make_mesh((4,), ("x",))  # Explicit axes: the default
    grid = jax.make_mesh((2, 2), ("b", "t"))
    auto = jax.make_mesh((4,), ("x",), axis_types=(AxisType.Auto,))
    out = {}
    # The default run records a covering set of the cases; "all" (the slow
    # tests) records the rest too. Each case compiles a sharded program.

    import math
    from probconv.conv import _sharded
    from probconv.conv._plan import prepare

    def predict(xn, k, mode, spec, m=mesh, correlate=False, method="auto",
                axes=None):
        # The route the cost model picks, and the bytes it says move.
        x = jax.device_put(xn, NamedSharding(m, spec))
        pr = prepare(xn.shape, np.dtype(xn.dtype), k.shape, np.dtype(k.dtype),
                     mode, method, axes, None, None, correlate)
        r = _sharded.route(pr, _sharded.split_of(x), xn.shape, k.shape)
        points = math.prod(lay.length // lay.shards for lay in r.layouts)
        return dict(transform=[g.axis for g in r.transform],
                    halo=[g.axis for g in r.halo], bytes=r.bytes, points=points)

    SIZE = {"c128": 16, "f64": 8, "c64": 8, "f32": 4}

    def trips(text):
        # How often each line of a program runs per call: a while loop's
        # body its known trip count times its own computation's count.
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
                w = re.search(r"while\(.*body=%?([\w.-]+).*?known_trip_count"
                              r"\D+(\d+)", line)
                if w:
                    parent[w.group(1)], count[w.group(1)] = comp, int(w.group(2))

        def times(comp):
            return count.get(comp, 1) * (times(parent[comp]) if comp in parent
                                         else 1)

        return [(line, times(comp)) for comp, lines in comps.items()
                for line in lines]

    def received(text, op):
        # Bytes a device receives by the collectives `op` of a program, each
        # as often as it runs: a collective-permute its result; an
        # all-to-all its results (a tuple, one piece per device of its
        # group, or one array) less its own piece.
        total = 0.0
        for line, k in trips(text):
            m = re.search(r"= (\([^)]*\)|\S+) " + op + r"\(", line)
            if not m:
                continue
            group = re.search(r"replica_groups=\{\{([\d,]*)\}", line)
            g = len(group.group(1).split(",")) if group else 1
            keep = (g - 1) / g if op == "all-to-all" else 1.0
            for dt, dims in re.findall(r"(\w+)\[([\d,]*)\]", m.group(1)):
                size = int(np.prod([int(d) for d in dims.split(",") if d]))
                total += k * keep * size * SIZE[dt]
        return total

    def wanted(name):
        # A default case, or any in the run of every case. (Skipped cases
        # compute neither their references nor their inputs' programs.)
        return ALL or name not in EXTRA

    def record(name, f, xn, spec, m=mesh, ref=None, jit=True, hlo=True,
               route=None):
        if not wanted(name):
            return
        x = jax.device_put(xn, NamedSharding(m, spec))
        c = jax.jit(f).lower(x).compile() if hlo else None
        y = f(x) if not jit else c(x) if hlo else jax.jit(f)(x)
        if ref is None:
            ref = np.asarray(f(jnp.asarray(xn)))  # one device
        yv = np.asarray(y)
        scale = np.nanmax(np.abs(ref))
        err = float(np.nanmax(np.abs(yv - ref)) / scale)
        nan_same = bool(np.array_equal(np.isnan(yv), np.isnan(ref)))
        row = dict(err=err, nan_same=nan_same, shape=list(y.shape),
                   ref_shape=list(ref.shape), spec=str(y.sharding.spec),
                   in_spec=str(x.sharding.spec), nbytes=xn.nbytes)
        if route is not None:
            row["route"] = route
        if hlo:
            text = c.as_text()
            row["all_gather"] = "all-gather" in text
            # The largest array any all-gather produces, in elements.
            shapes = re.findall(r"= \w+\[([\d,]*)\][^ ]* all-gather\(", text)
            row["gathered"] = max(
                [int(np.prod([int(d) for d in s.split(",") if d])) for s in shapes],
                default=0)
            row["permutes"] = text.count("collective-permute(")
            row["all_to_all"] = text.count("all-to-all(")
            row["a2a_bytes"] = received(text, "all-to-all")
            row["permute_bytes"] = received(text, "collective-permute")
            row["temp_ratio"] = c.memory_analysis().temp_size_in_bytes / xn.nbytes
        out[name] = row

    k31, k301, k3001 = (rng.standard_normal(m) for m in (31, 301, 3001))
    cv = probconv.convolve
    for mode in ("same", "full", "valid"):
        for k in (k31, k301, k3001):
            if not wanted(f"convolve-{mode}-{k.size}"):
                continue  # (its direct reference: 0.2 s)
            record(f"convolve-{mode}-{k.size}", lambda x: cv(x, k, mode),
                   signal, P("x"), route=predict(signal, k, mode, P("x")),
                   ref=scipy.signal.convolve(signal, k, mode, method="direct"))
    record("correlate-same-3001",
           lambda x: probconv.correlate(x, k3001, "same"), signal, P("x"),
           ref=scipy.signal.correlate(signal, k3001, "same", method="direct"))
    record("convolve-same-3001-fft",
           lambda x: cv(x, k3001, "same", method="fft"), signal, P("x"),
           ref=scipy.signal.convolve(signal, k3001, "same", method="direct"))
    # Kernels longer than a shard (16384): a halo from several neighbours.
    klong = rng.standard_normal(20001)
    record("convolve-same-20001", lambda x: cv(x, klong, "same"), signal,
           P("x"), ref=scipy.signal.fftconvolve(signal, klong, "same"),
           route=predict(signal, klong, "same", P("x")))
    # Eagerly, on a mesh of Auto axes.
    record("convolve-same-301-auto-eager", lambda x: cv(x, k301, "same"),
           signal, P("x"), m=auto, jit=False, hlo=False,
           ref=scipy.signal.convolve(signal, k301, "same", method="direct"))
    # Batch and time split at once, kernels batched or broadcast.
    short = signal[:4096]
    rows = rng.standard_normal((6, 4096))
    kb = rng.standard_normal((6, 41))
    for mode in ("same", "full", "valid"):
        record(f"batched-{mode}", lambda x: cv(x, kb, mode, axes=-1), rows,
               P("b", "t"), m=grid,
               ref=np.stack([scipy.signal.convolve(r, q, mode)
                             for r, q in zip(rows, kb)]))
    # Rows split, the convolved axis whole, by each method (moved here from
    # test_conv.py, where it took a process of its own).
    tall = np.random.default_rng(596).standard_normal((8, 500))
    hann = np.hanning(21)[None]
    for method in ("direct", "fft", "overlap_add"):
        record(f"batch-split-{method}",
               lambda x: cv(x, hann, "same", axes=1, method=method), tall,
               P("x"), ref=scipy.signal.fftconvolve(tall, hann, "same", axes=1))
    # A middle batch axis split, 'valid' (left to XLA, its FFT failed a
    # layout check on this split: fft_thunk.cc, IsMonotonicWithDim0Major).
    cube = tall.reshape(2, 4, 500)
    record("batch-split-middle",
           lambda x: probconv.correlate(x, hann[None], "valid", axes=2,
                                        method="fft"),
           cube, P(None, "x"),
           ref=scipy.signal.correlate(cube, hann[None], "valid", method="direct"))
    # Rows whole, time split (a spec with None); a kernel longer than the
    # whole signal.
    record("rows-time-split",
           lambda x: probconv.correlate(x, kb, "same", axes=-1), rows,
           P(None, "x"), hlo=False,
           ref=np.stack([scipy.signal.correlate(r, q, "same")
                         for r, q in zip(rows, kb)]))
    khuge = rng.standard_normal(5000)
    record("convolve-same-longer-than-signal", lambda x: cv(x, khuge, "same"),
           short, P("x"), hlo=False,
           ref=scipy.signal.convolve(short, khuge, "same", method="direct"))
    # Kernels reaching past two shards: one transform over the devices.
    kall = rng.standard_normal(n)
    record("transform-same", lambda x: cv(x, kall, "same"), signal, P("x"),
           route=predict(signal, kall, "same", P("x")),
           ref=scipy.signal.fftconvolve(signal, kall, "same"))
    # (2^17 outputs: blocks of whole rows, split like the input)
    kover = np.concatenate([kall, [0.5]])
    record("transform-full", lambda x: probconv.correlate(x, kover, "full"),
           signal, P("x"),
           route=predict(signal, kover, "full", P("x"), correlate=True),
           ref=scipy.signal.fftconvolve(signal, kover[::-1], "full"))
    krows = rng.standard_normal((6, 5001))
    record("transform-batched", lambda x: cv(x, krows, "same", axes=-1), rows,
           P("b", "t"), m=grid,
           route=predict(rows, krows, "same", P("b", "t"), grid, axes=-1),
           ref=np.stack([scipy.signal.fftconvolve(r, q, "same")
                         for r, q in zip(rows, krows)]))
    kfield = rng.standard_normal((3, 3001))
    wide = rng.standard_normal((16, 4096))
    record("transform-field", lambda x: probconv.correlate(x, kfield, "same"),
           wide, P(None, "x"),
           route=predict(wide, kfield, "same", P(None, "x"), correlate=True),
           ref=scipy.signal.correlate(wide, kfield, "same", method="fft"))
    # A 2-D field split along both axes.
    field = rng.standard_normal((256, 192))
    ker = rng.standard_normal((5, 9))
    for mode in ("same", "full", "valid"):
        record(f"field-{mode}", lambda x: probconv.correlate(x, ker, mode),
               field, P("b", "t"), m=grid,
               route=predict(field, ker, mode, P("b", "t"), grid, True),
               ref=scipy.signal.correlate(field, ker, mode, method="direct"))
    # The field split along both axes and a kernel as large as the field:
    # a halo would bring each device the whole field and more; the
    # distributed transform along each split axis in turn. ('full' with one
    # tap more each way: 256 x 192 outputs, split like the input.)
    plane = rng.standard_normal((128, 96))
    kplane = rng.standard_normal((128, 96))
    record("split2-same", lambda x: cv(x, kplane, "same"), plane, P("b", "t"),
           m=grid, route=predict(plane, kplane, "same", P("b", "t"), grid),
           ref=scipy.signal.fftconvolve(plane, kplane, "same"))
    # At 512 x 512 (2^18 points): by classes along the rows, the device's
    # scratch below the field's size (issue 17).
    large = rng.standard_normal((512, 512))
    klarge = rng.standard_normal((512, 512))
    record("split2-large", lambda x: cv(x, klarge, "same"), large, P("b", "t"),
           m=grid, route=predict(large, klarge, "same", P("b", "t"), grid),
           ref=scipy.signal.fftconvolve(large, klarge, "same"))
    kbig = rng.standard_normal((129, 97))
    record("split2-full", lambda x: probconv.correlate(x, kbig, "full"), plane,
           P("b", "t"), m=grid,
           route=predict(plane, kbig, "full", P("b", "t"), grid, True),
           ref=scipy.signal.correlate(plane, kbig, "full", method="fft"))
    zplane = plane + 1j * rng.standard_normal(plane.shape)
    kzplane = kplane + 1j * rng.standard_normal(kplane.shape)
    record("split2-complex", lambda x: probconv.correlate(x, kzplane, "same"),
           zplane, P("b", "t"), m=grid,
           route=predict(zplane, kzplane, "same", P("b", "t"), grid, True),
           ref=scipy.signal.correlate(zplane, kzplane, "same", method="fft"))
    record("split2-grad",
           jax.grad(lambda x: jnp.sum(jnp.sin(cv(x, kplane, "same")))), plane,
           P("b", "t"), m=grid)
    # A kernel as long as the field along its rows, short along the other
    # axis: the cheapest route transforms the rows and exchanges a halo.
    kstrip = rng.standard_normal((128, 5))
    record("split2-priced-mixed", lambda x: cv(x, kstrip, "same"), plane,
           P("b", "t"), m=grid,
           route=predict(plane, kstrip, "same", P("b", "t"), grid),
           ref=scipy.signal.fftconvolve(plane, kstrip, "same"))
    # Direct sums asked for: the halo along both axes would hold the whole
    # field, so one axis goes by transform (the cheaper), the other by halo.
    record("split2-mixed",
           lambda x: probconv.correlate(x, kplane, "same", method="direct"),
           plane, P("b", "t"), m=grid,
           route=predict(plane, kplane, "same", P("b", "t"), grid, True,
                         "direct"),
           ref=scipy.signal.correlate(plane, kplane, "same", method="fft"))
    # Gradients flow back through the halo exchange, split like the input;
    # complex data is conjugated by correlate as on one device.
    record("grad-convolve",
           jax.grad(lambda x: jnp.sum(jnp.sin(cv(x, k301, "same")))), short,
           P("x"), hlo=False)
    kcl = rng.standard_normal(5000) + 1j * rng.standard_normal(5000)
    record("complex-transform", lambda x: probconv.correlate(x, kcl, "same"),
           short + 1j * short[::-1], P("x"), hlo=False,
           ref=scipy.signal.correlate(short + 1j * short[::-1], kcl, "same",
                                      method="fft"))
    record("grad-transform",
           jax.grad(lambda x: jnp.sum(jnp.sin(cv(x, khuge, "same")))), short,
           P("x"), hlo=False)
    zc = short + 1j * rng.standard_normal(4096)
    kc = rng.standard_normal(31) + 1j * rng.standard_normal(31)
    record("complex-correlate", lambda x: probconv.correlate(x, kc, "same"), zc,
           P("x"), hlo=False,
           ref=scipy.signal.correlate(zc, kc, "same", method="direct"))
    # Inside a user's shard_map: `axis_name` says the block is this device's
    # part of a split signal; the result is its block of the result.
    def manual(f, spec, m=mesh, names="x"):
        body = lambda b: f(b, names)
        return jax.shard_map(body, mesh=m, in_specs=spec, out_specs=spec)

    record("manual-halo-same",
           manual(lambda b, a: cv(b, k301, "same", axis_name=a), P("x")),
           signal, P("x"), route=predict(signal, k301, "same", P("x")),
           ref=scipy.signal.convolve(signal, k301, "same", method="direct"))
    for mode in ("full", "valid"):  # 4096 -+ 300 samples: four equal blocks
        record(f"manual-halo-{mode}",
               manual(lambda b, a: cv(b, k301, mode, axis_name=a), P("x")),
               short, P("x"), route=predict(short, k301, mode, P("x")),
               ref=scipy.signal.convolve(short, k301, mode, method="direct"))
    record("manual-transform",
           manual(lambda b, a: cv(b, khuge, "same", axis_name=a), P("x")),
           short, P("x"), route=predict(short, khuge, "same", P("x")),
           ref=scipy.signal.fftconvolve(short, khuge, "same"))
    zs = short + 1j * short[::-1]
    record("manual-transform-complex",
           manual(lambda b, a: probconv.correlate(b, kcl, "same", axis_name=a),
                  P("x")),
           zs, P("x"), route=predict(zs, kcl, "same", P("x"), correlate=True),
           ref=scipy.signal.correlate(zs, kcl, "same", method="fft"))
    record("manual-complex-correlate",
           manual(lambda b, a: probconv.correlate(b, kc, "same", axis_name=a),
                  P("x")),
           zc, P("x"), route=predict(zc, kc, "same", P("x"), correlate=True),
           ref=scipy.signal.correlate(zc, kc, "same", method="direct"))
    # One signal over both axes of the 2 x 2 mesh (a tuple of names).
    record("manual-tuple",
           manual(lambda b, a: cv(b, k301, "same", axis_name=a), P(("b", "t")),
                  m=grid, names=("b", "t")),
           short, P(("b", "t")), m=grid,
           route=predict(short, k301, "same", P(("b", "t")), grid),
           ref=scipy.signal.convolve(short, k301, "same", method="direct"))
    # Rows split over "b" with their kernels, time over "t"; and a field
    # split along both axes, each axis named.
    kbs = jax.device_put(kb, NamedSharding(grid, P("b", None)))
    rows_map = jax.shard_map(
        lambda b, q: cv(b, q, "same", axes=-1, axis_name="t"), mesh=grid,
        in_specs=(P("b", "t"), P("b", None)), out_specs=P("b", "t"))
    record("manual-batched", lambda x: rows_map(x, kbs), rows, P("b", "t"),
           m=grid, route=predict(rows, kb, "same", P("b", "t"), grid, axes=-1),
           ref=np.stack([scipy.signal.convolve(r, q, "same")
                         for r, q in zip(rows, kb)]))
    record("manual-field",
           manual(lambda b, a: probconv.correlate(b, ker, "same", axis_name=a),
                  P("b", "t"), m=grid, names={0: "b", 1: "t"}),
           field, P("b", "t"), m=grid,
           route=predict(field, ker, "same", P("b", "t"), grid, True),
           ref=scipy.signal.correlate(field, ker, "same", method="direct"))
    # jax.vmap over rows inside the shard map.
    record("manual-vmap",
           manual(lambda b, a: jax.vmap(
               lambda r: cv(r, k31, "same", axis_name=a))(b), P(None, "x")),
           rows, P(None, "x"),
           ref=np.stack([scipy.signal.convolve(r, k31, "same") for r in rows]))
    # Gradients, forward and reverse, by the halo and by the transform (64
    # samples, 5 and 64 taps; a mesh of Auto axes takes check_grads'
    # perturbed inputs as they come).
    from jax.test_util import check_grads
    tiny = np.random.default_rng(170).standard_normal(64)
    grads = {}
    for name, kt in (("halo", k31[:5]), ("transform", k3001[:64])):
        if not wanted(f"manual-grad-{name}"):
            continue
        g = jax.jit(manual(lambda b, a: cv(b, kt, "same", axis_name=a), P("x"),
                           m=auto))
        text = g.lower(tiny).compile().as_text()
        check_grads(g, (tiny,), order=1, modes=["fwd", "rev"])
        grads[name] = dict(
            err=float(np.max(np.abs(np.asarray(g(tiny))
                                    - np.convolve(tiny, kt, "same")))),
            permutes=text.count("collective-permute("),
            all_to_all=text.count("all-to-all("))
    out["manual-grads"] = grads
    # Results that do not split into four equal blocks: refused.
    xs4 = jax.device_put(short, NamedSharding(mesh, P("x")))
    out["manual-errors"] = refusals(
        lambda: manual(lambda b, a: cv(b, k3001[:300], "full", axis_name=a),
                       P("x"))(xs4),
        lambda: manual(lambda b, a: cv(b, k3001[:302], "valid", axis_name=a),
                       P("x"))(xs4),
    )
    # Smoothing layers.
    gappy = signal.copy()
    gappy[[0, 5000, 16383, 16384, 40000]] = np.nan
    record("moving_average-1001", lambda x: moving_average(x, 1001), signal,
           P("x"))
    for b in ("reflect", "wrap", "constant", "renormalize"):
        record(f"moving_average-hann-omit-{b}",
               lambda x: moving_average(x, ("hann", 301), boundary=b,
                                        nan_policy="omit", cval=0.5),
               gappy, P("x"))
    record("gaussian_smooth-200", lambda x: gaussian_smooth(x, 200.0),
           signal, P("x"))
    record("gaussian_smooth-batched",
           lambda x: gaussian_smooth(x, 20.0, axis=-1, boundary="nearest"),
           rows, P("b", "t"), m=grid)
    record("savgol-101-3", lambda x: savgol(x, 101, 3, mode="nearest"), signal,
           P("x"))
    # mode='interp' (the default): the edge fits on the first and last
    # shards; shards of half a window or less are refused.
    record("savgol-interp-101-3", lambda x: savgol(x, 101, 3), signal, P("x"))
    out["savgol-interp-refused"] = refusals(
        lambda: savgol(jax.device_put(signal[:64], NamedSharding(mesh, P("x"))),
                       33, 2))[0]
    # (against pandas, the semantics ewma follows: equal to the unsplit
    # result within 2e-15 of its largest value, and 1-3 s less than
    # computing that result eagerly here)
    record("ewma", lambda x: ewma(x, alpha=0.01, min_periods=5), gappy, P("x"),
           ref=pd.Series(gappy).ewm(alpha=0.01, min_periods=5).mean().to_numpy())
    # A gap over a whole shard (16384..32767): the carry crosses it.
    gaps = signal.copy()
    gaps[10000:40000] = np.nan
    record("ewma-false", lambda x: ewma(x, alpha=0.01, adjust=False,
                                        min_periods=3), gaps, P("x"),
           ref=pd.Series(gaps).ewm(alpha=0.01, adjust=False,
                                   min_periods=3).mean().to_numpy())
    # The same on 8192 samples (shards of 2048), at alpha 0.5: the sums
    # underflow in the gap, and the last mean is carried across it.
    few = gaps[6000:14192].copy()
    record("ewma-hold", lambda x: ewma(x, alpha=0.5), few, P("x"),
           ref=pd.Series(few).ewm(alpha=0.5).mean().to_numpy())
    record("ewma-false-0.5", lambda x: ewma(x, alpha=0.5, adjust=False),
           few, P("x"),
           ref=pd.Series(few).ewm(alpha=0.5, adjust=False).mean().to_numpy())
    series = rng.standard_normal((4, 1 << 15))
    record("ewma-batched", lambda x: ewma(x, halflife=30.0), series,
           P("b", "t"), m=grid,
           ref=pd.DataFrame(series.T).ewm(halflife=30.0).mean().to_numpy().T)
    # Fields: diffuse along split axes, by halo (every boundary), a kernel
    # wider than a shard from several neighbours, and the documented gathers.
    line = rng.standard_normal(1 << 14)
    for b in ("free", "periodic", "reflect", "absorb"):
        record(f"diffuse-{b}", lambda x: diffuse(x, 1.0, 2.0, boundary=b), line,
               P("x"))
    heat = rng.standard_normal((128, 128))
    record("diffuse-field-lattice",
           lambda x: diffuse(x, 0.5, 1.0, boundary=("free", "periodic"),
                             kind="lattice"), heat, P("b", "t"), m=grid)
    record("diffuse-field-gaussian",
           lambda x: diffuse(x, [1.0, 0.5], 2.0, boundary=("reflect", "absorb")),
           np.abs(heat), P("b", "t"), m=grid)
    # Rows split, the diffused axis whole: each device its block (no gather
    # of the FFT's batch), a few rows at a time. (16 rows: one row's odd
    # extension and its transforms alone hold 8 rows' worth.)
    stripes = np.random.default_rng(170).standard_normal((16, 2048))
    record("diffuse-rows",
           lambda x: diffuse(x, 1.0, 2.0, axes=-1, boundary="absorb"), stripes,
           P("b", None), m=grid)
    record("diffuse-drift-eager",
           lambda x: diffuse(x, 1.0, 2.0, boundary="periodic", drift=5.0),
           np.abs(line), P("x"), m=auto, jit=False, hlo=False)
    # The program that call runs (its mesh relabelled Explicit), compiled.
    record("diffuse-drift",
           lambda x: diffuse(x, 1.0, 2.0, boundary="periodic", drift=5.0),
           np.abs(line), P("x"))
    # Kernels past the halo's rule (radius 6144 > a shard of 4096): one
    # period by the engine's distributed transform; free space on n + R.
    record("diffuse-wide-periodic",
           lambda x: diffuse(x, 1.5e5, 1.0, boundary="periodic"), line, P("x"))
    record("diffuse-wide-free",
           lambda x: diffuse(x, 1.5e5, 1.0, boundary="free"), line, P("x"))
    # Reflecting and absorbing walls past the rule, or a traced D: the
    # mirror's cosine or sine series by one period's transform (Makhoul).
    record("diffuse-wide-reflect",
           lambda x: diffuse(x, 1.5e5, 1.0, boundary="reflect"), line, P("x"))
    traced = jax.jit(lambda u, D: diffuse(u, D, 2.0, boundary="absorb"))
    record("diffuse-traced", lambda x: traced(x, 1.0), line, P("x"))
    wave_walls = line + 1j * line[::-1]
    mirror = jax.jit(lambda u, D: diffuse(u, D, 2.0, boundary=("reflect",),
                                          kind="lattice"))
    # Their eigenmodes, cos and sin (pi q (j + 1/2) / n) times
    # exp(-s (1 - cos(pi q / n))) for the lattice kernel, s = 2 D t.
    cells = (np.arange(1 << 14) + 0.5) * np.pi / (1 << 14)
    modes = np.cos(3 * cells) + 0.5 * np.cos(30 * cells)
    decay = lambda q, s: np.exp(-2 * s * np.sin(q * np.pi / (1 << 15)) ** 2)
    record("diffuse-mode-reflect", lambda x: mirror(x, 3e4), modes, P("x"),
           ref=np.cos(3 * cells) * decay(3, 1.2e5)
           + 0.5 * np.cos(30 * cells) * decay(30, 1.2e5))
    sines = np.sin(5 * cells) + 0.5 * np.sin(40 * cells)
    odd = jax.jit(lambda u, D: diffuse(u, D, 2.0, boundary="absorb",
                                       kind="lattice"))
    record("diffuse-mode-absorb", lambda x: odd(x, 3e4), sines, P("x"),
           ref=np.sin(5 * cells) * decay(5, 1.2e5)
           + 0.5 * np.sin(40 * cells) * decay(40, 1.2e5))
    # Free space with D traced, or a kernel wider than the axis: the kernel
    # cut to the window, by the mean of the mirror's two transforms (its
    # cut transform computed on each device); gathered before.
    free = jax.jit(lambda u, D: diffuse(u, D, 2.0))
    record("diffuse-traced-free", lambda x: free(x, 1.0), line, P("x"))
    record("diffuse-window", lambda x: free(x, 1e8), line, P("x"))
    # The same with a drift (a = 5000.5 cells: the sine parts too, four
    # transforms) or the lattice kernel, D and the drift traced; gathered
    # before. And their gradients in D and the drift, as factors of the
    # field (each scaled by the unsplit one): split like it, no gather.
    drifted = jax.jit(lambda u, D, v: diffuse(u, D, 2.0, drift=v))
    record("diffuse-window-drift", lambda x: drifted(x, 1e8, 2500.25), line,
           P("x"))
    walk = jax.jit(lambda u, D: diffuse(u, D, 2.0, kind="lattice"))
    record("diffuse-window-lattice", lambda x: walk(x, 3e5), line, P("x"))
    piece = line[:4096]
    weights = np.cos(np.arange(4096) / 300.0)
    slope = jax.grad(lambda u, D, v: jnp.sum(weights * diffuse(u, D, 2.0, drift=v)),
                     argnums=(1, 2))
    g_ref = ([float(g) for g in jax.jit(slope)(jnp.asarray(piece), 2e6, -700.3)]
             if wanted("diffuse-window-grad") else None)
    parity = np.arange(4096) % 2 == 0

    def scaled_slopes(x):
        g = slope(x, 2e6, -700.3)
        return jnp.where(parity, x * g[0] / g_ref[0], x * g[1] / g_ref[1])

    record("diffuse-window-grad", scaled_slopes, piece, P("x"))
    # A reflecting halo the cost model convolves by overlap-add (R = 192):
    # its block in pieces.
    record("diffuse-reflect-pieces",
           lambda x: diffuse(x, 60.0, 2.0, boundary="reflect"), line, P("x"))
    # A complex field: its real and imaginary parts apart (Makhoul's
    # relation between the coefficients holds for real sequences).
    record("diffuse-complex-absorb", lambda x: traced(x, 30.0), wave_walls,
           P("x"))
    wave = line + 1j * rng.standard_normal(1 << 14)
    born = lambda x: position_probability(x, step=0.1, resolution=0.5).masses
    record("position_probability", born, wave, P("x"),
           ref=np.asarray(jax.jit(born)(wave)))  # eagerly: 8 s of small ops
    record("evolve_free", lambda x: evolve_free(x, 1.0, step=0.1), wave, P("x"))
    # Split along both evolved axes (an XLA:CPU FFT of the field split both
    # ways failed a layout check): each axis's transform in turn.
    record("evolve_free-field",
           lambda x: evolve_free(x, 0.3, step=[0.1, 0.2]),
           heat + 1j * heat[::-1], P("b", "t"), m=grid)
    # Split-operator steps: each step's kinetic factor by the transform, the
    # potential's phases split like the wave function. (A band-limited
    # state: the phases of white noise's top wave numbers here, 2e4 radians
    # a step, differ by their rounding, 1e-11 after 20 steps.)
    from probconv.physics import evolve_split
    xq = np.linspace(-20, 20, 1 << 14, endpoint=False)
    ground = np.exp(-(xq - 1) ** 2 / 2 + 0.5j * xq) / np.pi**0.25
    record("evolve_split",
           lambda x: evolve_split(x, xq**2 / 2, 1.0, step=xq[1] - xq[0],
                                  steps=20), ground, P("x"))
    # The errors of halo_map on a split array.
    from probconv.conv.internal import halo_map
    xs = jax.device_put(short, NamedSharding(mesh, P("x")))
    out["errors"] = refusals(
        lambda: halo_map(lambda e: e[:1024], xs, 0, 2000, 0, boundary="reflect"),
        lambda: halo_map(lambda e: e, xs, 0, 1, 1),
    )
    # Deconvolution: Richardson-Lucy by the engine's halo; the Fourier routes
    # need whole axes and say so.
    from probconv.deconv import richardson_lucy, wiener
    psf = np.outer(np.hanning(7), np.hanning(7)) / np.hanning(7).sum() ** 2
    record("richardson_lucy",
           lambda x: richardson_lucy(x, psf, iterations=3), np.abs(heat) + 0.1,
           P("b", "t"), m=grid)
    img = jax.device_put(heat, NamedSharding(grid, P("b", "t")))
    out["deconv_errors"] = refusals(
        lambda: wiener(img, psf, snr=100.0),
        lambda: richardson_lucy(img, psf, iterations=3, boundary="periodic"),
    )

    # spectral_block class by class (`_split_chunked`) against numpy: a map
    # of the spectrum by its global rows (an offset's phase ramp, then a
    # square), windows past the first output, a complex layout, a stack of
    # two series reduced (their cross spectrum); the bytes its all-to-alls
    # move, against the model. (The whole passes, `_split_fft`, are the
    # convolutions' of several split axes with a kernel map.)
    from probconv.conv import _split_chunked, _split_fft

    def spectral(lay, xn, start, pair, off=13):
        M, cols = lay.length, lay.cols

        def fn(s, rows):  # the spectrum delayed by `off`, squared (or a pair's)
            k2 = jnp.arange(cols)
            ramp = jnp.exp(-2j * np.pi * ((rows * off) % M) / M)[:, None]
            ramp = ramp * jnp.exp(-2j * np.pi * ((k2 * off) % cols) / cols)
            return (s[0] * jnp.conj(s[1]) if pair else s * s) * ramp

        spec = P(None, "x") if xn.ndim == 2 else P("x")
        x = jax.device_put(xn, NamedSharding(mesh, spec))
        g = jax.jit(jax.shard_map(
            lambda a: _split_chunked.spectral_block(a, lay, "x", fn, a.dtype,
                                                    start),
            mesh=mesh, in_specs=spec, out_specs=P("x") if pair else spec))
        c = g.lower(x).compile()
        y = np.asarray(c(x))
        text = c.as_text()
        X = np.fft.fft(xn, M)
        k = np.arange(M)
        Y = (X[0] * np.conj(X[1]) if pair else X * X) * np.exp(
            -2j * np.pi * ((k * off) % M) / M
        ) * np.exp(2j * np.pi * ((k * start) % M) / M)
        ref = np.fft.ifft(Y)[..., : y.shape[-1]]
        ref = ref.real if lay.real else ref
        return dict(
            classes=_split_fft.classes(lay) is not None,
            err=float(np.max(np.abs(y - ref)) / np.max(np.abs(ref))),
            while_loops=text.count(" while("),
            a2a_bytes=received(text, "all-to-all"),
            model=_split_fft.bytes_received(lay, xn.real.itemsize, kernel=False),
        )

    small = rng.standard_normal((2, 4096))
    lay = _split_fft.layout(4, 1024, 512, 4096, True, 5000)
    out["spectral-window"] = spectral(lay, small[0], 777, False)
    if wanted("spectral-pair"):
        out["spectral-pair"] = spectral(lay, small, 4321, True)
    if wanted("spectral-complex"):
        lay = _split_fft.layout(4, 1024, 1024, 4096, False, 6144)
        out["spectral-complex"] = spectral(
            lay, small[0] + 1j * small[1], 100, False)
    # Two devices: a block's transforms alone would hold more than the
    # signal (1.2 of it), so the block goes in pieces (`_in_pieces`).
    two = jax.make_mesh((2,), ("x",), devices=jax.devices()[:2])
    for k in (k301, k3001):
        record(f"pieces-{k.size}", lambda x: cv(x, k, "same"), signal, P("x"),
               m=two, ref=scipy.signal.convolve(signal, k, "same", "direct"))
    # Shards of an odd number of cells (4 x 1001) past the halo's rule, or
    # with D traced: no layout of the engine's transform (no multiple of
    # four divides a shard), so the cyclic one (`physics._cyclic`); gathered
    # before. Periodic with a drift, reflecting walls, the lattice kernel's
    # sine modes between absorbing walls against their closed form, free
    # space (the window: the Gaussian's cut transform by the quadrature;
    # with a drift by the fold, four passes), and gradients.
    odd_field = rng.standard_normal(4004)
    record("diffuse-odd-periodic",
           lambda x: diffuse(x, 1e4, 2.0, boundary="periodic", drift=300.3),
           odd_field, P("x"))
    record("diffuse-odd-reflect",
           lambda x: diffuse(x, 1e4, 2.0, boundary="reflect"), odd_field, P("x"))
    from probconv.physics._cyclic import CyclicLayout, bytes_received as cyc
    odd_cells = (np.arange(4004) + 0.5) * np.pi / 4004
    odd_sines = np.sin(5 * odd_cells) + 0.5 * np.sin(40 * odd_cells)
    odd_decay = lambda q, s: np.exp(-2 * s * np.sin(q * np.pi / 8008) ** 2)
    odd_walls = jax.jit(lambda u, D: diffuse(u, D, 2.0, boundary="absorb",
                                             kind="lattice"))
    record("diffuse-odd-modes", lambda x: odd_walls(x, 3e3), odd_sines, P("x"),
           ref=np.sin(5 * odd_cells) * odd_decay(5, 1.2e4)
           + 0.5 * np.sin(40 * odd_cells) * odd_decay(40, 1.2e4))
    for name in ("diffuse-odd-periodic", "diffuse-odd-reflect", "diffuse-odd-modes"):
        if name in out:
            out[name]["model"] = cyc(CyclicLayout(4, 1001, 1001, True), 8)
    odd_free = jax.jit(lambda u, D: diffuse(u, D, 2.0))
    record("diffuse-odd-free", lambda x: odd_free(x, 1e7), odd_field, P("x"))
    odd_drift = jax.jit(lambda u, D, v: diffuse(u, D, 2.0, drift=v))
    record("diffuse-odd-window", lambda x: odd_drift(x, 1e7, 1000.25), odd_field,
           P("x"))
    # A field split both ways, odd shards along both axes (33 rows, 1001
    # cells per device): periodic rows, free space along the cells (the
    # window's loop carry varies over both mesh axes).
    odd_heat = rng.standard_normal((66, 2002))
    record("diffuse-odd-field",
           lambda x: diffuse(x, [5e3, 1e5], 2.0, boundary=("periodic", "free")),
           odd_heat, P("b", "t"), m=grid)
    # The free evolution of a wave on the same shards: one period's transform
    # on the cyclic layout (XLA's global FFT gathered the axis before).
    odd_x = np.linspace(-20, 20, 4004, endpoint=False)
    odd_wave = np.exp(-((odd_x - 1) ** 2) / 2 + 0.5j * odd_x) / np.pi**0.25
    record("evolve_free-odd",
           lambda x: evolve_free(x, 1.0, step=odd_x[1] - odd_x[0]), odd_wave,
           P("x"))
    # An odd number of cells in all (3 x 1001): Makhoul's order of odd blocks
    # on an odd device count, and the window with a drift by the shifted
    # quadrature; gathered before. The lattice kernel's sine modes between
    # absorbing walls (D traced) against their closed form, the drifting
    # window (D and the drift traced), reflecting walls and the symmetric
    # window (the quadrature, two passes).
    trio = jax.make_mesh((3,), ("x",), devices=jax.devices()[:3])
    trio_cells = (np.arange(3003) + 0.5) * np.pi / 3003
    trio_decay = lambda q, s: np.exp(-2 * s * np.sin(q * np.pi / 6006) ** 2)
    record("diffuse-odd3-modes", lambda x: odd_walls(x, 3e3),
           np.sin(3 * trio_cells) + 0.5 * np.sin(31 * trio_cells), P("x"), m=trio,
           ref=np.sin(3 * trio_cells) * trio_decay(3, 1.2e4)
           + 0.5 * np.sin(31 * trio_cells) * trio_decay(31, 1.2e4))
    trio_field = rng.standard_normal(3003)
    record("diffuse-odd3-drift", lambda x: odd_drift(x, 1e7, -700.25), trio_field,
           P("x"), m=trio)
    record("diffuse-odd3-reflect",
           lambda x: diffuse(x, 1e4, 2.0, boundary="reflect"), trio_field, P("x"),
           m=trio)
    record("diffuse-odd3-free", lambda x: odd_free(x, 1e7), trio_field, P("x"),
           m=trio)
    for name in ("diffuse-odd3-modes", "diffuse-odd3-reflect"):
        if name in out:
            out[name]["model"] = cyc(CyclicLayout(3, 1001, 1001, True), 8)
    # A drift on cyclic shards of 16,385 cells: the fold took 21 s a call
    # ((n/p)^2 per device), so the axis was gathered; the quadrature instead.
    if wanted("diffuse-drift-long"):
        long_field = rng.standard_normal(4 * 16385)
        record("diffuse-drift-long", lambda x: odd_drift(x, 1e7, 3000.75),
               long_field, P("x"))
    # Their gradients in D and the drift (periodic with a drift, reflecting
    # walls), each as a factor of the field scaled by the unsplit one.
    odd_w = np.cos(np.arange(4004) / 300.0)
    odd_slope = jax.grad(
        lambda u, D, v: jnp.sum(odd_w * diffuse(u, D, 2.0, boundary="periodic",
                                                drift=v))
        + jnp.sum(odd_w[::-1] * diffuse(u, D, 2.0, boundary="reflect")),
        argnums=(1, 2))
    odd_parity = np.arange(4004) % 2 == 0

    def odd_slopes(x, ref):
        g = odd_slope(x, 2e4, -30.3)
        return jnp.where(odd_parity, x * g[0] / ref[0], x * g[1] / ref[1])

    if ALL:  # (the unsplit gradient and the split one: 8 s)
        odd_ref = [float(g) for g in jax.jit(odd_slope)(jnp.asarray(odd_field), 2e4,
                                                         -30.3)]
        odd_grads = lambda x: odd_slopes(x, odd_ref)
        record("diffuse-odd-grad", odd_grads, odd_field, P("x"),
               ref=np.asarray(jax.jit(odd_grads)(odd_field)))  # (eagerly: slow)
    print(json.dumps(out))
    """


# Recorded by the slow tests only, each with the default case that covers its
# code path: convolve-same-3001 by correlate-same-3001 (the same halo of a
# flipped kernel) and convolve-same-3001-fft; convolve-full-301 by
# convolve-full-3001 (an even full output); convolve-valid-3001 by
# convolve-valid-301 (an even valid output); batched-valid by batched-same
# and batched-full, and by convolve-valid-*; field-full by field-same and
# field-valid; the constant boundary of the NaN-aware smoothing by reflect,
# wrap and renormalize (the same halo, another pad), and its wrap by reflect
# (the same pieces) and diffuse-field-lattice (the same cyclic halo);
# ewma-false-0.5 by ewma-false (the same chunked carry); diffuse-wide-free by
# diffuse-wide-periodic (the same transform, a longer period); diffuse's free, periodic,
# reflecting and absorbing boundaries along one split axis by the two fields
# split along both (the same halo per axis), the traced absorbing walls by
# the sine modes (the same program on a Gaussian kernel), the cosine modes and
# the wide reflecting walls by the sine modes and diffuse-window (the same
# mirror transform, without the sign, on a Gaussian kernel's transform too),
# the complex field by the real ones (its two parts),
# the traced free space (s = 4) by diffuse-window (the same program, s = 4e8);
# the drifted window's gradients in D and the drift (reverse mode through its
# four passes: 25 s) by diffuse-window-drift (the same forward program) and
# tests/test_physics_diffuse.py's check_grads of the window's multipliers;
# diffuse-odd-reflect by diffuse-odd-modes (the same odd blocks' permutes
# and transform, the absorbing walls' signs around them); diffuse-odd-window
# (a drift: the fold on rows of four columns, four passes) by diffuse-odd-free
# (the same passes, two of them) and diffuse-window-drift (the same fold);
# diffuse-odd-field (a window on a field split both ways, both axes by the
# cyclic layout) by diffuse-odd-free and diffuse-field-* (the same routes
# along one axis, the halos along two);
# diffuse-odd-grad (reverse mode through the cyclic transform and the odd
# blocks' permutes) by diffuse-odd-periodic and -reflect (the same forward
# programs) and diffuse-window-grad (reverse mode through the collectives);
# diffuse-odd3-reflect by diffuse-odd3-modes (the same odd blocks' permutes
# on three devices and transform, the absorbing walls' signs around them);
# diffuse-odd3-free by diffuse-odd3-drift (the same quadrature, shifted, and
# passes) and diffuse-odd-free; diffuse-drift-long (4 x 16,385 cells, 2 s)
# by diffuse-odd3-drift (the same program on shorter shards);
# richardson_lucy (the engine's halo in a loop) has no other;
# split2-complex by split2-same (the same passes) and
# manual-transform-complex (a complex layout); split2-full, -grad and
# -mixed by split2-same and split2-priced-mixed (the same two-axis passes,
# and a mixed route);
# split2-large (the scratch of a 512 x 512 field below its size) by
# split2-same (the same passes, smaller); inside a user's shard_map,
# manual-halo-valid by manual-halo-full (the same halo, an even window) and
# manual-complex-correlate by manual-transform-complex (conjugated) and
# complex-correlate (the same halo body), manual-transform by
# manual-transform-complex (the same transform, a complex layout), and
# check_grads on the transform (manual-grad-transform: 4 s) by check_grads
# on the halo and grad-transform (reverse mode through the same bodies);
# complex-transform by manual-transform-complex (the same call and bodies,
# in a shard_map).
EXTRA = {
    "complex-transform",
    "manual-halo-valid",
    "manual-complex-correlate",
    "manual-transform",
    "manual-grad-transform",
    "spectral-pair",
    "spectral-complex",
    "split2-large",
    "split2-complex",
    "split2-full",
    "split2-grad",
    "split2-mixed",
    "richardson_lucy",
    "diffuse-free",
    "diffuse-periodic",
    "diffuse-reflect",
    "diffuse-absorb",
    "diffuse-traced",
    "diffuse-mode-reflect",
    "diffuse-complex-absorb",
    "diffuse-traced-free",
    "diffuse-wide-free",
    "diffuse-wide-reflect",
    "diffuse-window-grad",
    "diffuse-odd-grad",
    "diffuse-odd-reflect",
    "diffuse-odd-window",
    "diffuse-odd-field",
    "diffuse-odd3-reflect",
    "diffuse-odd3-free",
    "diffuse-drift-long",
    "ewma-false-0.5",
    "moving_average-hann-omit-wrap",
    "convolve-same-3001",
    "convolve-full-301",
    "convolve-valid-3001",
    "batched-valid",
    "field-full",
    "moving_average-hann-omit-constant",
}
SCRIPT = script(BODY, EXTRA)


@pytest.fixture(scope="module")
def results_all():
    """Every case, the EXTRA ones included (slow tests only)."""
    return run(SCRIPT, "all")


def _case(name):
    """A test parameter: slow, and run on `results_all`, for an EXTRA case."""
    return case(name, EXTRA)


def _results_for(request, name):
    return request.getfixturevalue("results_all" if name in EXTRA else "results")


def _split_like_input(row) -> bool:
    return row["spec"] == row["in_spec"]


# Full and valid outputs of 2^16 + 300, 2^16 + 3000, 2^16 - 300 and 2^16 -
# 3000 samples divide over four devices (2^16 +- 30 do not: see below).
ENGINE = [
    f"convolve-{mode}-{k}" for mode in ("same", "full", "valid") for k in (301, 3001)
] + ["convolve-same-31", "correlate-same-3001", "convolve-same-3001-fft"]
ENGINE = [_case(name) for name in ENGINE]
LAYERS = [
    "moving_average-1001",
    "gaussian_smooth-200",
    "gaussian_smooth-batched",
    "savgol-101-3",
    "savgol-interp-101-3",
]


def test_savgol_interp_refuses_shards_under_half_a_window(results):
    message = results["savgol-interp-refused"]
    assert "must hold more than half a window" in message
    assert "window_length=33 and shards of 16 samples along axis 0" in message


@pytest.mark.parametrize("name", ENGINE + LAYERS)
def test_split_signal_stays_split(request, name):
    row = record_of(request, name, EXTRA)
    assert row["shape"] == row["ref_shape"]
    assert row["err"] < 1e-12
    assert not row["all_gather"]
    assert row["permutes"] >= 1  # the halo exchange
    assert row["temp_ratio"] < 1.0  # no device holds the whole signal
    assert _split_like_input(row), row


@pytest.mark.parametrize(
    "name",
    [_case(n) for n in ["ewma", "ewma-hold", "ewma-false", "ewma-false-0.5"]]
    + ["ewma-batched"],
)
def test_ewma_carries_across_shards(request, name):
    """One all-gather of a few numbers per row and shard, never the data."""
    row = record_of(request, name, EXTRA)
    assert row["shape"] == row["ref_shape"]
    assert row["err"] < 1e-12
    assert row["nan_same"]
    assert _split_like_input(row), row
    assert row["gathered"] <= 4 * 6  # shards x rows
    assert row["temp_ratio"] < 1.0


def test_output_rule_for_uneven_lengths(results):
    """Full and valid outputs stay split when their length divides evenly.

    Otherwise the blocks are computed split and the result is joined (JAX
    has no uneven shardings): an all-gather of the output, as documented.
    """
    _check_output_rule(results)


@pytest.mark.slow
def test_output_rule_for_uneven_lengths_every_kernel(results_all):
    _check_output_rule(results_all)


def _check_output_rule(results):
    n = 1 << 16
    checked = 0
    for mode, grow in (("full", 1), ("valid", -1)):
        for k in (31, 301, 3001):
            if f"convolve-{mode}-{k}" not in results:
                continue  # an EXTRA case, in the slow run
            checked += 1
            row = results[f"convolve-{mode}-{k}"]
            assert row["err"] < 1e-12
            even = (n + grow * (k - 1)) % 4 == 0
            assert _split_like_input(row) == even, (mode, k, row)
            assert row["all_gather"] == (not even)
    assert checked >= 4  # an even and an uneven length of each mode


@pytest.mark.parametrize(
    "name",
    [
        _case(name)
        for name in [
            "convolve-same-20001",
            "convolve-same-301-auto-eager",
            "batched-same",
            "batched-full",
            "batched-valid",
            "field-same",
            "field-full",
            "field-valid",
            "rows-time-split",
            "convolve-same-longer-than-signal",
            "grad-convolve",
            "grad-transform",
            "complex-transform",
            "complex-correlate",
        ]
    ],
)
def test_other_layouts(request, name):
    row = record_of(request, name, EXTRA)
    assert row["shape"] == row["ref_shape"]
    assert row["err"] < 1e-12
    if "full" not in name and "valid" not in name:
        assert _split_like_input(row), row


@pytest.mark.parametrize(
    "name",
    [
        _case(name)
        for name in [
            "convolve-same-20001",
            "batched-same",
            "batched-full",
            "batched-valid",
            "field-same",
            "field-full",
            "field-valid",
        ]
    ],
)
def test_halo_cases_gather_nothing_and_hold_less_than_the_signal(request, name):
    """A kernel longer than a shard, batch and time split, a 2-D field.

    The compiled program gathers no array (the results split evenly), and
    each device's scratch stays below the whole signal's size. The kernel
    of 20,001 taps on shards of 16,384 goes by the distributed transform:
    by halo the block's transform (38,880 points) held 1.78 signals per
    device (`_sharded._over_scratch`); by transform, 0.44. The field's
    blocks (132 x 104 with their halos) are transformed unstacked: 0.90
    of the field, where a stack of block and kernel held 1.20.
    """
    row = record_of(request, name, EXTRA)
    assert row["err"] < 1e-12
    assert not row["all_gather"] and row["gathered"] == 0
    if name == "convolve-same-20001":
        assert row["all_to_all"] > 0 and row["permutes"] == 0
    else:  # the halos: along both axes of a field
        assert row["permutes"] >= (4 if "field" in name else 1)
        assert row["all_to_all"] == 0
    assert row["temp_ratio"] < 1.0, row
    assert _split_like_input(row), row


MANUAL = {  # name: the route the cost model prices for the whole signal
    "manual-halo-same": "halo",
    "manual-halo-full": "halo",
    "manual-halo-valid": "halo",
    "manual-transform": "transform",
    "manual-transform-complex": "transform",
    "manual-complex-correlate": "halo",
    "manual-tuple": "halo",
    "manual-batched": "halo",
    "manual-field": "halo",
}


@pytest.mark.parametrize("name", [_case(name) for name in MANUAL])
def test_convolve_inside_a_users_shard_map(request, name):
    """`axis_name`: each device's block of the result of the whole signal.

    Inside `jax.shard_map` the block is told to be this device's part of a
    signal split over the named mesh axes (one, a tuple of two, or one per
    axis of a field; rows split with their kernels over a second axis):
    equal to the unsharded result, split the same way, by the route and the
    bytes that the engine prices for an input split by its NamedSharding
    (halos as collective-permutes, transforms as all-to-alls), without a
    gather. On 2^16 samples ('same' by halo) each device holds less than
    the signal.
    """
    row = record_of(request, name, EXTRA)
    assert row["shape"] == row["ref_shape"]
    assert row["err"] < 1e-12
    assert _split_like_input(row), row
    assert not row["all_gather"]
    route = row["route"]
    assert bool(route["transform"]) == (MANUAL[name] == "transform")
    assert (row["all_to_all"] > 0) == bool(route["transform"])
    assert (row["permutes"] > 0) == bool(route["halo"])
    received = row["a2a_bytes"] + row["permute_bytes"]
    assert received == pytest.approx(route["bytes"], rel=1e-6)
    if name == "manual-halo-same":
        assert row["temp_ratio"] < 1.0


def test_convolve_inside_a_users_shard_map_vmap(results):
    """jax.vmap over rows inside the shard map."""
    row = results["manual-vmap"]
    assert row["err"] < 1e-12 and _split_like_input(row), row


@pytest.mark.parametrize("name", ["manual-grad-halo", _case("manual-grad-transform")])
def test_convolve_inside_a_users_shard_map_grad(request, name):
    """check_grads, forward and reverse, through the halo and the transform.

    (64 samples on four devices, 5 and 64 taps; check_grads' own
    tolerances for float64 finite differences.)
    """
    route = name.removeprefix("manual-grad-")
    g = _results_for(request, name)["manual-grads"][route]
    if route == "halo":
        assert g["permutes"] >= 1 and g["all_to_all"] == 0
    else:
        assert g["all_to_all"] > 0 and g["permutes"] == 0
    assert g["err"] < 1e-12  # check_grads passed in the script; values too


def test_convolve_inside_a_users_shard_map_refuses_uneven_blocks(results):
    full, valid = results["manual-errors"]
    assert "the result has 4395 samples along axis 0" in full
    assert "do not split into 4 equal blocks" in full
    assert "Use mode='same', or append zeros to `in2`" in full
    assert "the result has 3795 samples along axis 0" in valid


def _one_device_map(f, names=("x",)):
    """`f` in a shard map over a mesh of one device (Auto axes: any input)."""
    auto = (jax.sharding.AxisType.Auto,) * len(names)
    mesh = jax.make_mesh((1,) * len(names), names, axis_types=auto)
    spec = P(*names) if len(names) > 1 else P(names[0])
    return jax.shard_map(f, mesh=mesh, in_specs=spec, out_specs=spec)


def test_axis_name_on_one_device():
    """A mesh axis of one device: the block is the whole signal.

    float64 sums of three products: a few ulps of the largest entry.
    """
    x = np.random.default_rng(3).standard_normal(40)
    k = np.array([0.5, -1.0, 2.0])
    for mode in ("same", "full", "valid"):
        # (jitted: an eager shard map runs its body op by op, 92 programs)
        f = jax.jit(
            _one_device_map(lambda b: probconv.correlate(b, k, mode, axis_name="x"))
        )
        ref = np.correlate(x, k, mode)
        y = f(x)
        assert y.shape == ref.shape
        assert np.max(np.abs(y - ref)) <= 1e-12 * np.max(np.abs(ref))


def test_axis_name_errors():
    x, k = np.ones(8), np.ones(3)
    with pytest.raises(ValueError, match="outside any shard map"):
        probconv.convolve(x, k, "same", axis_name="x")
    with pytest.raises(ValueError, match="'t', which is not a manual axis"):
        _one_device_map(lambda b: probconv.convolve(b, k, axis_name="t"))(x)
    with pytest.raises(ValueError, match="`maxlag` and `axis_name` cannot"):
        _one_device_map(lambda b: probconv.correlate(b, k, maxlag=1, axis_name="x"))(x)
    with pytest.raises(TypeError, match="`axis_name` must be a mesh axis name"):
        _one_device_map(lambda b: probconv.convolve(b, k, axis_name=0))(x)
    field, kf = np.ones((4, 4)), np.ones((2, 2))
    two = _one_device_map
    with pytest.raises(ValueError, match="but 2 axes \\(0, 1\\) are convolved"):
        two(lambda b: probconv.convolve(b, kf, axis_name="a"), ("a", "b"))(field)
    with pytest.raises(ValueError, match="maps axis 0, which is not convolved"):
        two(
            lambda b: probconv.convolve(b, kf[:1], axes=1, axis_name={0: "a"}),
            ("a", "b"),
        )(field)
    with pytest.raises(ValueError, match="names a mesh axis for two array axes"):
        two(
            lambda b: probconv.convolve(b, kf, axis_name={0: "a", 1: "a"}),
            ("a", "b"),
        )(field)
    with pytest.raises(TypeError, match="got 1 for axis 0"):
        two(lambda b: probconv.convolve(b, kf, axis_name={0: 1}), ("a", "b"))(field)
    with pytest.raises(ValueError, match="maps axis 1 twice"):
        two(
            lambda b: probconv.convolve(b, kf, axis_name={1: "a", -1: "b"}),
            ("a", "b"),
        )(field)
    with pytest.raises(ValueError, match="needs `in1` to have an axis to split"):
        _one_device_map(lambda b: probconv.convolve(b[0], 2.0, axis_name="x"))(x)


TRANSFORM = {  # name: (devices along the split axis, signal, kernel, output
    # block, rows of the whole input, rows on each device)
    "transform-same": (4, 1 << 16, 1 << 16, 1 << 14, 1, 1),
    "transform-full": (4, 1 << 16, (1 << 16) + 1, 1 << 15, 1, 1),
    "transform-batched": (2, 4096, 5001, 2048, 6, 3),
    "transform-field": (4, 4096, 3001, 1024, 16, 16),
}


@pytest.mark.parametrize("name", list(TRANSFORM))
def test_long_kernels_by_a_distributed_transform(results, name):
    """Kernels reaching past two shards: all-to-alls, never a gather.

    A halo would bring each device more of the signal than it holds (all
    of it for a kernel as long as the signal). The transform's length ``M``
    covers the circular convolution that keeps the output's window free of
    wrap-around (about ``1.5 n`` for 'same' and a kernel as long as the
    signal, ``2 n`` for 'full'). Along one split axis the spectrum goes
    class by class (`_split_chunked`): each device holds the signal's
    spectrum once (``M / p`` real numbers, half spectra) and a few classes
    of it in flight, never the kernel's whole; for a kernel as long as the
    signal on four devices, less than the signal (about 0.6 of it).
    Scratch falls as ``1 / p`` (`benchmarks/sharded.py` shows it on 8
    devices).
    """
    from probconv.conv._split_fft import bytes_received, classes, layout
    from probconv.conv.internal import circular_size

    row = results[name]
    assert row["shape"] == row["ref_shape"]
    assert row["err"] < 1e-12
    assert not row["all_gather"]
    # The signal's regrouping, a class there and back, the output's: each
    # in a loop (a chunk of columns, a class at a time); the regroupings'
    # loops start from their first chunk, so each is in the program twice.
    assert row["all_to_all"] == 6
    p, n, k, block, rows, held = TRANSFORM[name]
    full = name == "transform-full"
    period = (
        circular_size(n, k, 0, n + k - 1)
        if full
        else circular_size(n, k, (k - 1) // 2, n)
    )
    lay = layout(p, n // p, block, k, name != "transform-field", period)
    words = lay.length / p * (1 if lay.real else 2)  # per row, on one device
    assert row["temp_ratio"] * n * rows <= 5 * words * held
    if rows == 1:  # the cost model of the bytes each device receives
        assert row["a2a_bytes"] == pytest.approx(bytes_received(lay, 8), rel=1e-3)
    if name == "transform-same":
        # By classes (`_split_chunked`): the class-ordered spectrum, G J
        # rows of cols / p complex numbers, with at most two of its column
        # chunks (1 / 8 each) and four classes (J rows of all the columns)
        # in flight, never a second spectrum; below the signal's size
        # (issue 17).
        g, j = classes(lay)
        spectrum = g * j * (lay.cols // p) * 16
        in_flight = 2 * spectrum / 8 + 4 * j * lay.cols * 16
        assert in_flight < spectrum
        assert row["temp_ratio"] * row["nbytes"] <= spectrum + in_flight
        assert row["temp_ratio"] < 1.0
    assert _split_like_input(row), row


SPLIT2 = [
    "split2-same",
    "split2-large",
    "split2-full",
    "split2-complex",
    "split2-grad",
    "split2-mixed",
]


@pytest.mark.parametrize(
    "name", [_case(name) for name in SPLIT2] + ["split2-priced-mixed"]
)
def test_field_split_along_two_axes_by_transform(request, name):
    """A kernel as large as the field on a 2 x 2 mesh: transforms, no gather.

    A halo along both axes would bring each device the whole field and
    more (2.25 fields for 'same'); the distributed transform along each
    split axis in turn holds a few arrays of ``M / p`` complex numbers
    (``M``: the transform's points, about 2.25 times the field's for
    'same' and 4 times for 'full' with a kernel as large as the field).
    The first axis goes class by class (`_split_chunked`), the second by
    whole passes a chunk at a time: each device holds the field's
    spectrum once (``M / 4`` complex numbers), a chunk of the second axis's
    passes and a few classes, so scratch is 1.4 (128 x 96 'same') to 2.2
    fields ('full') here, where the fixed costs weigh, and below the
    field's size at 512 x 512 (the halo's: 9 times); it falls as ``1 / p``
    with more devices. Asked for direct sums ('mixed'), one axis is transformed and
    the other, whose halo alone fits, exchanged; so too, priced, for a
    kernel as long as the field along one axis and short along the other.
    """
    row = record_of(request, name, EXTRA)
    assert row["shape"] == row["ref_shape"]
    assert row["err"] < 1e-12
    assert not row["all_gather"]
    assert _split_like_input(row), row
    if "mixed" in name:  # one axis by classes (`_split_chunked`), one by halo
        assert row["all_to_all"] == 6 and row["permutes"] == 2
        return
    # Four along the first axis (by classes: the signal's regrouping, a
    # class there and back, the output's), two of the signal and its
    # inverse along the second and the kernel's one (real: two, the real
    # and imaginary parts of its classes); the gradient more.
    assert row["all_to_all"] >= 9
    assert row["permutes"] == 0
    if "route" in row:
        points = row["route"]["points"]  # M / p
        assert row["temp_ratio"] * row["nbytes"] <= 5 * 16 * points
    if name == "split2-large":
        # The spectrum held (0.66 of the field: 24 x 16 rows and columns of
        # the first axis, 7 x 32 of the second's half spectrum) and the
        # output's block (0.25) with a chunk in flight: below the field.
        assert row["temp_ratio"] < 1.0
        received = row["a2a_bytes"] + row["permute_bytes"]
        assert received == pytest.approx(row["route"]["bytes"], rel=1e-6)


ROUTED = {  # name: the split axes the cost model sends by transform
    "convolve-same-301": [],
    "convolve-same-20001": [0],
    "convolve-full-3001": [],
    "transform-same": [0],
    "transform-full": [0],
    "transform-batched": [1],
    "transform-field": [1],
    "field-same": [],
    "field-valid": [],
    "split2-same": [0, 1],
    "split2-full": [0, 1],
    "split2-complex": [0, 1],
    "split2-mixed": [1],
    "split2-priced-mixed": [0],
}


@pytest.mark.parametrize("name", [_case(name) for name in ROUTED])
def test_route_and_bytes_follow_the_cost_model(request, name):
    """The route priced is the route compiled; bytes received as modelled.

    Transforms show as all-to-alls, halos as collective-permutes; the bytes
    that their results bring a device (less its own piece of an
    all-to-all) equal `_sharded.route`'s model.
    """
    row = record_of(request, name, EXTRA)
    route = row["route"]
    assert route["transform"] == ROUTED[name]
    assert (row["all_to_all"] > 0) == bool(route["transform"])
    assert (row["permutes"] > 0) == bool(route["halo"])
    received = row["a2a_bytes"] + row["permute_bytes"]
    assert received == pytest.approx(route["bytes"], rel=1e-6)


@pytest.mark.parametrize(
    "boundary",
    [
        pytest.param(b, marks=pytest.mark.slow)
        if f"moving_average-hann-omit-{b}" in EXTRA
        else b
        for b in ["reflect", "wrap", "constant", "renormalize"]
    ],
)
def test_nan_aware_smoothing_split(request, boundary):
    """A shard's data and mask by halo, smoothed a piece at a time."""
    name = f"moving_average-hann-omit-{boundary}"
    row = record_of(request, name, EXTRA)
    assert row["err"] < 1e-12
    assert row["nan_same"]
    assert _split_like_input(row)
    assert not row["all_gather"]
    assert row["permutes"] >= 1  # the halo exchange
    assert row["temp_ratio"] < 1.0


DIFFUSE = [_case(f"diffuse-{b}") for b in ("free", "periodic", "reflect", "absorb")] + [
    "diffuse-reflect-pieces",
    "diffuse-field-lattice",
    "diffuse-field-gaussian",
    "diffuse-drift",
    "position_probability",
]


@pytest.mark.parametrize("name", DIFFUSE)
def test_split_field_diffuses_by_halo(request, name):
    """Every boundary, along one split axis or two: the kernel's tail by halo."""
    row = record_of(request, name, EXTRA)
    assert row["shape"] == row["ref_shape"]
    assert row["err"] < 1e-12
    assert not row["all_gather"]
    assert row["permutes"] >= 2 if "field" not in name else row["permutes"] >= 4
    assert row["temp_ratio"] < 1.0
    assert _split_like_input(row), row


@pytest.mark.parametrize("name", ["diffuse-rows", _case("richardson_lucy")])
def test_split_without_gather(request, name):
    """Rows split with the diffused axis whole (each device its block, no
    gather of the transform's batch); richardson_lucy's loop carried split.
    """
    row = record_of(request, name, EXTRA)
    assert row["err"] < 1e-12
    assert not row["all_gather"]
    assert _split_like_input(row), row
    if name == "diffuse-rows":  # in pieces of rows: below the field
        assert row["temp_ratio"] < 1.0


def test_split_field_diffuses_eagerly_with_drift(results):
    """Eagerly on a mesh of Auto axes: split like the input, as under Explicit."""
    row = results["diffuse-drift-eager"]
    assert row["err"] < 1e-12
    assert _split_like_input(row), row


@pytest.mark.parametrize("name", ["diffuse-wide-periodic", _case("diffuse-wide-free")])
def test_kernel_past_the_halo_rule_by_a_distributed_transform(request, name):
    """A kernel of radius 6144 on shards of 4096: the engine's transform.

    A halo from several neighbours held the whole field on each device and
    3.2 fields of scratch (periodic); one period's transform (free space:
    ``n + R`` points) class by class holds below the field: no halo, no
    gather, split like the input.
    """
    row = record_of(request, name, EXTRA)
    assert row["shape"] == row["ref_shape"]
    assert row["err"] < 1e-12
    assert not row["all_gather"]
    assert row["permutes"] == 0 and row["all_to_all"] > 0
    assert row["temp_ratio"] < 1.0
    assert _split_like_input(row), row


@pytest.mark.parametrize("name", ["evolve_free", "evolve_free-field", "evolve_split"])
def test_free_evolution_by_a_distributed_transform(results, name):
    """The kinetic phase on one period's transform along each split axis.

    No gather (XLA's global FFT gathered the axis, at every step of
    `evolve_split`), below the field in scratch, split like the input.
    """
    row = results[name]
    assert row["shape"] == row["ref_shape"]
    assert row["err"] < 1e-12
    assert not row["all_gather"]
    assert row["permutes"] == 0 and row["all_to_all"] > 0
    assert row["temp_ratio"] < 1.0
    assert _split_like_input(row), row


MIRRORS = [
    _case("diffuse-wide-reflect"),
    _case("diffuse-traced"),
    _case("diffuse-mode-reflect"),
    "diffuse-mode-absorb",
    _case("diffuse-complex-absorb"),
]


@pytest.mark.parametrize("name", MIRRORS)
def test_walls_by_the_mirror_transform(request, name):
    """Reflecting images wider than a shard, a traced `D` (either wall).

    Gathered before (one all-gather of the field, 5 fields of scratch): now
    the even or odd extension's product with the kernel's transform, by
    one period's distributed transform (`_split.diffuse_mirror`): two
    collective permutes of half a block each way around the transform's
    all-to-alls, no gather, below the field, split like the input. Equal
    to the unsplit result within 1e-12 of its largest value (rounding of
    the two FFTs, ~1e-15), and the modes to their closed form: the lattice
    kernel's transform exp(-s (1 - cos theta)) is exact, the FFTs' rounding
    about 1e-15 of the modes' amplitude.
    """
    row = record_of(request, name, EXTRA)
    assert row["shape"] == row["ref_shape"]
    assert row["err"] < 1e-12
    assert not row["all_gather"]
    assert row["all_to_all"] > 0 and row["permutes"] >= 4
    assert row["temp_ratio"] < 1.0
    assert _split_like_input(row), row


@pytest.mark.parametrize(
    "name",
    [
        "diffuse-window",
        _case("diffuse-traced-free"),
        "diffuse-window-drift",
        "diffuse-window-lattice",
    ],
)
def test_free_space_any_width_by_the_window(request, name):
    """Free space with a traced `D` (s = 4e8 cells^2: the kernel far wider
    than the 2^14-cell axis; s = 4), with a drift (a shift of 5000.5 cells,
    `D` and the drift traced) or the lattice kernel (s = 1.2e6), gathered
    before (one all-gather of the field, 6 fields of scratch): the kernel
    cut to the window as the
    unsplit program cuts it, by the mean of the even and odd extensions'
    mirror transforms (`_split.diffuse_window`; with a drift their sine
    parts too, four transforms in turn), the cut kernel's transform
    computed on each device (the Gaussian's folded from its values, the
    lattice kernel's from its transform by a quadrature). Equal to the
    unsplit result within 1e-12 of its largest value (rounding of the
    transforms, the fold and the quadrature: at most 2e-14 measured, for
    the widest kernels, whose result is small against the field), no
    gather, below the field, split like the input.
    """
    row = record_of(request, name, EXTRA)
    assert row["shape"] == row["ref_shape"]
    assert row["err"] < 1e-12
    assert not row["all_gather"]
    assert row["all_to_all"] > 0 and row["permutes"] >= 4
    assert row["temp_ratio"] < 1.0
    assert _split_like_input(row), row


@pytest.mark.parametrize("name", [_case("diffuse-window-grad")])
def test_free_space_gradients_by_the_window(request, name):
    """The drifted window's gradients in `D` and the drift (s = 8e6 cells^2
    on 2^12 cells, a shift of -1400.6), each a factor of the field scaled
    by the unsplit gradient: equal within 1e-12 (measured ~1e-14), no
    gather, split like the input. Their scratch is not bounded by the
    field: reverse mode keeps the engine's transform's loop carries (each
    pass recomputed, `jax.checkpoint`: 12.6 fields per device here, the
    one-device gradient 12.0).
    """
    row = record_of(request, name, EXTRA)
    assert row["shape"] == row["ref_shape"]
    assert row["err"] < 1e-12
    assert not row["all_gather"]
    assert _split_like_input(row), row


@pytest.mark.parametrize("s", [0.0, 0.1, 1.0, 4.0, 30.0, 1e4, 4e5])
def test_tail_radius_bounds_the_heat_kernels_tail(s):
    """Past the radius each side of either kernel holds below 1e-20."""
    import scipy.special

    from probconv.physics._split import tail_radius

    for kind in ("gaussian", "lattice"):
        r = tail_radius(s, 0.0, kind)
        m = np.arange(r + 1, r + 1 + 50 * int(np.sqrt(s) + 1))
        if s == 0:
            tail = 0.0
        elif kind == "lattice":
            tail = scipy.special.ive(m, s).sum()
        else:
            tail = np.exp(-(m**2) / (2 * s)).sum() / np.sqrt(2 * np.pi * s)
        assert tail < 1e-20, (kind, s, r, tail)
        assert r < 15 * np.sqrt(s) + 40  # not much wider than need be (buckets)
    assert tail_radius(1.0, 7.5, "gaussian") >= tail_radius(1.0, 0.0, "gaussian") + 7


def test_halo_transform_or_gather():
    """The engine's halo rule (a shard each side, never the whole axis), then
    one period's transform (periodic; free space within the axis; also past
    an eighth of a shard), else the documented gather."""
    from probconv.physics._cyclic import CyclicLayout
    from probconv.physics._split import (
        TRANSFORM,
        WINDOW,
        halo_radius,
        mirror_layout,
        radii,
        spectral_layout,
    )

    n = 1 << 14
    assert halo_radius(48, "reflect", n, 4) == 48
    assert halo_radius(4096, "periodic", n, 4) == 4096  # a shard each side
    assert halo_radius(4096, "reflect", n, 4) is None  # images past a shard
    assert halo_radius(6144, "periodic", n, 4) is None  # from two neighbours
    assert halo_radius(None, "free", n, 4) is None  # traced: unknown
    assert halo_radius(100, "free", 64, 2) is None
    assert halo_radius(24, "free", 128, 2) == 24
    assert halo_radius(32, "free", 128, 2) is None  # 64 + 64 >= the axis
    u = np.zeros(n)
    s = np.array([3e5])  # a radius of 6144
    kinds = ("periodic", "free", "reflect")
    routes = [radii(u, (0,), (b,), "gaussian", s, None, {0: 4}) for b in kinds]
    assert routes == [((TRANSFORM, n),), ((TRANSFORM, n + 6144),), ((TRANSFORM, n),)]
    # Within the rule but past an eighth of a shard (R = 768 > 4096 / 8):
    # by transform (the halo's scratch passes the field's).
    s = np.array([6000.0])
    routes = [radii(u, (0,), (b,), "gaussian", s, None, {0: 4}) for b in kinds]
    assert routes == [((TRANSFORM, n),), ((TRANSFORM, n + 768),), ((TRANSFORM, n),)]
    # The mirror's transform wherever the halo's block would go by one FFT
    # (R = 256: 1.13 of the field by halo), halos by direct sums kept.
    s = np.array([400.0])
    routes = [radii(u, (0,), (b,), "gaussian", s, None, {0: 4}) for b in kinds]
    assert routes == [(256,), (256,), ((TRANSFORM, n),)]
    s = np.array([2.0])  # R = 16
    routes = [radii(u, (0,), (b,), "gaussian", s, None, {0: 4}) for b in kinds]
    assert routes == [(16,), (16,), (16,)]
    # Traced parameters: periodic and reflecting by transform, free space
    # by the window's (the mirror's layout); so is a free kernel wider than
    # the axis. A drift or the lattice kernel there: gathered.
    routes = [radii(u, (0,), (b,), "gaussian", None, None, {0: 4}) for b in kinds]
    assert routes == [((TRANSFORM, n),), ((WINDOW, n),), ((TRANSFORM, n),)]
    wide = radii(u, (0,), ("free",), "gaussian", np.array([1e9]), None, {0: 4})
    assert wide == ((WINDOW, n),)
    # A drift or the lattice kernel there: the same window (sine parts too).
    assert radii(u, (0,), ("free",), "lattice", None, None, {0: 4}) == ((WINDOW, n),)
    # The lattice kernel with a known s past the axis: its quadrature's
    # nodes for that s (48 at s = 1e8 on 2^14 cells; 176 for any s).
    lattice = radii(u, (0,), ("free",), "lattice", np.array([1e8]), None, {0: 4})
    assert lattice == ((WINDOW, n, 48),)
    drift = radii(u, (0,), ("free",), "gaussian", None, None, {0: 4})
    assert drift == ((WINDOW, n),)
    shifted = radii(
        u, (0,), ("free",), "gaussian", np.array([1e9]), np.array([5.0]), {0: 4}
    )
    assert shifted == ((WINDOW, n),)
    # Shards of an odd length: no layout of the engine's (no multiple of four
    # divides a shard), the cyclic one's (`_cyclic`) instead; free space by
    # the window there, also where n + R would do (it holds less). An odd
    # number of cells in all (odd shards on three devices): gathered.
    odd = np.zeros(4 * 1001)
    assert radii(odd, (0,), ("absorb",), "gaussian", None, None, {0: 4}) == (
        (TRANSFORM, 4004),
    )
    assert radii(odd, (0,), ("free",), "lattice", None, None, {0: 4}) == (
        (WINDOW, 4004),
    )
    s = np.array([3e3])  # R = 768 <= n
    # (its cut transform by the quadrature: 80 nodes for this known s, not 96)
    assert radii(odd, (0,), ("free",), "gaussian", s, None, {0: 4}) == (
        (WINDOW, 4004, 80),
    )
    assert radii(odd, (0,), ("periodic",), "gaussian", s, None, {0: 4}) == (
        (TRANSFORM, 4004),
    )
    assert mirror_layout(4 * 1001, 4, True) == CyclicLayout(4, 1001, 1001, True)
    # A drift there: the shifted quadrature, on shards of any length (the
    # fold's (n / p)^2 per device gathered 4 x 16,385 cells before: 21 s a
    # call); with s and the shift known, the nodes they need.
    assert radii(odd, (0,), ("free",), "gaussian", None, None, {0: 4}, True) == (
        (WINDOW, 4004),
    )
    big = np.zeros(4 * 16385)
    for drift in (True, False):
        assert radii(big, (0,), ("free",), "gaussian", None, None, {0: 4}, drift) == (
            (WINDOW, 4 * 16385),
        )
    s, a = np.array([4e7]), np.array([500.5])
    assert radii(odd, (0,), ("free",), "gaussian", s, a, {0: 4}, True) == (
        (WINDOW, 4004, 48),
    )
    # An odd number of cells in all (odd shards on three devices): Makhoul's
    # order of odd blocks, on the cyclic layout; gathered before.
    assert mirror_layout(3 * 1001, 3, True) == CyclicLayout(3, 1001, 1001, True)
    triple = np.zeros(3 * 1001)
    for b in ("reflect", "absorb"):
        assert radii(triple, (0,), (b,), "gaussian", None, None, {0: 3}) == (
            (TRANSFORM, 3003),
        )
    assert radii(triple, (0,), ("free",), "gaussian", None, None, {0: 3}, True) == (
        (WINDOW, 3003),
    )
    for p, length, real in [(4, n, True), (4, 12000, False), (2, 2000, True)]:
        lay = spectral_layout(length, p, real, length)  # exactly one period
        assert lay.length == length and lay.rows % p == 0 and lay.rows % 2 == 0
        assert (length // p) % lay.cols == 0 and lay.cols % p == 0
    # Odd shards: the cyclic layout, of exactly one period (n + R: none).
    assert spectral_layout(4 * 1001, 4, True, 4 * 1001) == CyclicLayout(
        4, 1001, 1001, True
    )
    assert spectral_layout(4 * 1001, 4, True, 5000) is None
    lay = spectral_layout(n, 4, True, n + 6144)
    assert lay.length >= n + 6144


def test_transform_layout_rules():
    """Whole rows per shard and per output block, columns split evenly."""
    from probconv.conv._split_fft import layout

    for p, size, block, k in [
        (4, 16384, 16384, 65536),
        (2, 2048, 2048, 5001),
        (4, 1024, 3000, 3001),
        (8, 6000, 6000, 50000),
    ]:
        lay = layout(p, size, block, k, True)
        assert lay.cols % p == 0 and size % lay.cols == 0
        assert lay.block % lay.cols == 0 and lay.block >= block
        assert lay.rows % 2 == 0
        assert lay.length >= p * size + k - 1 and lay.rows >= p * lay.block // lay.cols
    assert layout(2, 1001, 1001, 5000, True) is None  # no even column count


def test_split_axes_and_halo_map_on_one_device():
    x = np.arange(6.0)
    assert split_axes(x) == {}
    assert split_axes(probconv.conv.to_device(x)) == {}
    y = halo_map(lambda e: e[:-2] + e[1:-1] + e[2:], x, 0, 1, 1, boundary="wrap")
    np.testing.assert_allclose(y, [6.0, 3.0, 6.0, 9.0, 12.0, 9.0])


def test_halo_map_errors():
    with pytest.raises(ValueError, match="`boundary` must be one of"):
        halo_map(lambda e: e, np.ones(4), 0, 1, 1, boundary="edge")
    with pytest.raises(ValueError, match="must be non-negative"):
        halo_map(lambda e: e, np.ones(4), 0, -1, 1)


# Both two-process scripts: a signal split over the two processes' devices.
HOST_SIGNAL = r"""
    import scipy.signal
    import probconv

    rng = np.random.default_rng(0)
    n = 1 << 14
    xn, k = rng.standard_normal(n), rng.standard_normal(301)
    x = jax.make_array_from_callback((n,), NamedSharding(mesh, P("x")),
                                     lambda idx: xn[idx])

    def blocks_equal(y, ref, spec):  # split like spec, within 1e-12 of ref
        assert y.sharding.spec == spec, y.sharding
        assert len(y.addressable_shards) == 2
        for s in y.addressable_shards:  # this host's part only
            err = np.max(np.abs(np.asarray(s.data) - ref[s.index]))
            assert err < 1e-12 * np.max(np.abs(ref)), err
"""

TWO_HOSTS = script(
    HOST_SIGNAL
    + r"""
    import pandas as pd, scipy.ndimage
    from probconv.physics import diffuse
    from probconv.smooth import ewma, moving_average

    checks = [
        (lambda x: probconv.convolve(x, k, "same"),
         scipy.signal.convolve(xn, k, "same", method="direct")),
        (lambda x: moving_average(x, 101),
         scipy.ndimage.uniform_filter1d(xn, 101, mode="reflect")),
        (lambda x: ewma(x, alpha=0.01),
         pd.Series(xn).ewm(alpha=0.01).mean().to_numpy()),
        (lambda x: diffuse(x, 1.0, 2.0, boundary="reflect"),
         np.asarray(diffuse(xn, 1.0, 2.0, boundary="reflect"))),
    ]
    for f, ref in checks:
        blocks_equal(jax.jit(f)(x), ref, P("x"))
    print("ok", pid)
    """,
    devices=2,
    hosts=True,
)


# The engine's other routes over two processes (slow: two more processes;
# the launch above covers the runtime, the halo route and the layers).
TWO_HOSTS_ROUTES = script(
    HOST_SIGNAL
    + r"""
    # The engine's transform route (a kernel as long as the signal), and a
    # field split along both axes over a 2 x 2 mesh of both processes.
    klong = rng.standard_normal(n)
    grid = jax.make_mesh((2, 2), ("b", "t"))
    fn, kf = rng.standard_normal((64, 48)), rng.standard_normal((5, 9))
    field = jax.make_array_from_callback(
        fn.shape, NamedSharding(grid, P("b", "t")), lambda idx: fn[idx])
    # Inside a user's shard_map over both processes' devices.
    manual = jax.shard_map(
        lambda b: probconv.convolve(b, k, "same", axis_name="x"), mesh=mesh,
        in_specs=P("x"), out_specs=P("x"))
    routes = [
        (lambda x: probconv.convolve(x, klong, "same"),
         scipy.signal.fftconvolve(xn, klong, "same"), x, "all-to-all("),
        (lambda x: probconv.correlate(x, kf, "same"),
         scipy.signal.correlate(fn, kf, "same", method="direct"), field,
         "collective-permute("),
        (manual, scipy.signal.convolve(xn, k, "same", method="direct"), x,
         "collective-permute("),
    ]
    for f, ref, xin, op in routes:
        c = jax.jit(f).lower(xin).compile()
        text = c.as_text()
        assert op in text and "all-gather" not in text, op
        blocks_equal(c(xin), ref, xin.sharding.spec)
    print("ok", pid)
    """,
    devices=2,
    hosts=True,
)


launched, results = launched_fixtures(SCRIPT, TWO_HOSTS, "default")


def test_two_processes_two_devices_each(launched):
    """Two local processes under jax.distributed stand in for two hosts.

    The engine by halo and by its distributed transform, a field split
    along both axes over both processes, a convolution inside a user's
    shard map (`axis_name`), and three layers: each host's shards equal
    the unsharded result, no all-gather in the compiled programs.
    """
    finish_hosts(launched["hosts"])


@pytest.mark.slow  # two more processes, about 15 s of CPU
def test_two_processes_transform_field_and_shard_map():
    """The transform route, a 2 x 2 field and axis_name over two processes."""
    finish_hosts(spawn_hosts(TWO_HOSTS_ROUTES))


def test_halo_map_errors_on_split_arrays(results):
    wide, shape = results["errors"]
    assert "needs the windows (2000 + 0 samples" in wide
    assert "fit in one shard (1024 samples" in wide
    assert "`fn` must map an extended block to the block's shape (1024,)" in shape


def test_fourier_deconvolution_of_a_split_image_says_so(results):
    for message, what in zip(
        results["deconv_errors"],
        ["wiener", "richardson_lucy with boundary='periodic'"],
    ):
        assert "`y` is split over devices along axis 0 (2 shards)" in message
        assert f"but {what} transforms whole axes" in message
        assert "gather those axes first" in message


def _route(shape1, shape2, mode, spec, counts, method="auto", correlate=False):
    """The route of a split call, priced on this process (no devices needed)."""
    from probconv.conv._plan import prepare
    from probconv.conv._sharded import Split, route

    f8 = np.dtype("float64")
    prepared = prepare(
        shape1, f8, shape2, f8, mode, method, None, None, None, correlate
    )
    r = route(prepared, Split(None, spec, counts), shape1, shape2)
    return [g.axis for g in r.transform], [g.axis for g in r.halo], r


def test_route_rules():
    """Halos while they are cheaper and hold less than the whole signal."""
    n = 1 << 16
    # Short kernels: a halo of K - 1 samples beats any transform.
    assert _route((n,), (301,), "same", ("x",), (4,))[:2] == ([], [0])
    # Reaching past two shards: the memory limit asks for the transform.
    assert _route((n,), (n,), "same", ("x",), (4,))[:2] == ([0], [])
    # On two devices a halo would hold the whole signal: the transform too.
    assert _route((n,), (n,), "same", ("x",), (2,))[:2] == ([0], [])
    # A field on a 2 x 2 mesh, kernel as large: both axes transformed; a
    # small kernel: both by halo.
    assert _route((128, 96), (128, 96), "same", ("b", "t"), (2, 2))[0] == [0, 1]
    assert _route((128, 96), (5, 9), "same", ("b", "t"), (2, 2))[0] == []
    # Direct sums asked for: the transform only where memory asks, the
    # cheaper axis.
    t, h, _ = _route((128, 96), (128, 96), "same", ("b", "t"), (2, 2), "direct")
    assert len(t) == 1 and len(h) == 1
    # No layout (a shard of 1001 samples has no even column count): the
    # halo stays, past the memory limit (three times: past two shards, the
    # whole signal held, and the block's transforms), rather than fail.
    t, h, r = _route((4004,), (4004,), "same", ("x",), (4,))
    assert (t, h, r.over) == ([], [0], 3)


def test_route_price_follows_the_byte_cost(monkeypatch):
    """Within the memory limit the price decides: bytes against flops.

    Four shards of 16,384 samples. A kernel of 12,001 taps: at the
    simulated devices' price of a byte the halo (12,000 samples) is
    cheaper than the transform's all-to-alls; at a fast interconnect's the
    transform's shorter transforms win. One of 20,001 taps, wider than a
    shard, goes by transform at any price: its halo stays within two
    shards, but the block's transform (38,880 points, three arrays of
    them at its peak) would hold more than the signal (`_over_scratch`).
    """
    from probconv.conv import _sharded

    def route_at(taps, price):
        monkeypatch.setattr(_sharded, "BYTE_SECONDS", price)
        return _route((1 << 16,), (taps,), "same", ("x",), (4,))[2]

    halo = route_at(12001, _sharded.BYTE_SECONDS)
    assert not halo.transform and halo.over == 0
    assert halo.bytes == 12000 * 8
    fast = route_at(12001, 1e-12)
    assert fast.transform and fast.bytes > halo.bytes
    for price in (1e-12, 1e-9, 1e-6):
        assert route_at(20001, price).transform
    from probconv.conv._plan import prepare

    f8 = np.dtype("float64")
    shape1, shape2 = (1 << 16,), (20001,)
    prepared = prepare(shape1, f8, shape2, f8, "same", "auto", None, None, None, False)
    split = _sharded.Split(None, ("x",), (4,))
    geometry = _sharded._geometry(prepared.plan, split)
    by_halo = _sharded._route_of(prepared, split, geometry, shape1, shape2, set())
    assert by_halo.over == 1 and by_halo.bytes == 20000 * 8


def test_transform_bytes_model():
    """One axis: `bytes_received`; two: each pass's batch from the others."""
    from probconv.conv._split_fft import bytes_received, layout, transform_bytes

    lay = layout(4, 16384, 16384, 65536, True)
    assert transform_bytes((lay,), 8) == bytes_received(lay, 8)
    assert transform_bytes((lay,), 8, 3, 3) == 3 * bytes_received(lay, 8)
    a, b = layout(2, 64, 64, 128, False), layout(2, 48, 48, 96, True)
    # The signal's first pass (axis 1, real) moves 64 rows of 48 samples,
    # half of them kept: 64 * 48 / 2 samples; and so on for the nine others.
    assert transform_bytes((a, b), 8) > transform_bytes((b,), 8, 64, 64)


def test_class_rules():
    """The spectrum's classes: G divides the rows, whole classes per device.

    Every row held is in a class (``G J`` at least the rows held), each
    device takes ``G / p`` whole classes (at most `STEPS`), and where no
    multiple of the device count divides the rows there are none (the
    whole passes then).
    """
    from probconv.conv._split_fft import STEPS, by_classes, classes, layout

    for shards, size, kernel, real in [
        (4, 1 << 16, 1 << 18, True),
        (4, 16384, 32001, True),
        (2, 64, 128, False),
        (8, 1 << 15, 1 << 18, True),
    ]:
        lay = layout(shards, size, size, kernel, real)
        g, j = classes(lay)
        held = lay.rows // 2 + 1 if real else lay.rows
        assert lay.rows % g == 0 and g % shards == 0
        assert g * j >= held and g // shards <= STEPS
        assert g * (j - 1) < held  # J: the fewest rows a class needs
    lay = layout(4, 1 << 16, 1 << 16, 1 << 18, True)
    assert lay.rows == 1024  # no multiple of 3 divides it
    odd = lay._replace(shards=3)
    assert classes(odd) is None and not by_classes((odd,))
    assert by_classes((lay,)) and by_classes((lay, lay))
    assert not by_classes((lay, lay), kernel_map=True)


@pytest.mark.parametrize(
    "name",
    ["spectral-window", _case("spectral-pair"), _case("spectral-complex")],
)
def test_spectral_block_by_classes(request, name):
    """A map of the spectrum class by class equals numpy's.

    `fn` receives the global row indices of each class (an offset's phase
    ramp is built from them); float64 transforms of 5120 to 6144 points:
    round-off a few ulps times ``log2 M``, far below 1e-12. The bytes
    received are the model's (``bytes_received(kernel=False)``: ``G J``
    rows of the spectrum there and back), read from the compiled program.
    """
    row = record_of(request, name, EXTRA)
    assert row["classes"], row
    assert row["err"] < 1e-12, row
    assert row["while_loops"] >= 3, row  # column chunks, classes, chunks
    if name != "spectral-pair":  # (the model's batch: one series)
        assert row["a2a_bytes"] == pytest.approx(row["model"], rel=1e-9), row


def test_spectral_classes_pad_the_rows_less():
    """A map of the spectrum alone takes any multiple of the shards as ``G``.

    Without a kernel's classes to build (``M1 / G``-point transforms),
    `classes(..., kernel=False)` need not divide ``M1``: the same rules
    otherwise (whole classes per device, at most `STEPS`, ``G J`` covering
    the rows held with the fewest ``J``), never more rows held (nor moved)
    than a convolution's classes, nor more held and in flight. The
    compound test's layout (280 rows on four devices, 141 held) pads to 144
    rows rather than 168.
    """
    from probconv.conv._split_fft import STEPS, classes, layout

    for shards, size, block, kernel, real in [
        (4, 1 << 16, 1 << 16, 1 << 18, True),
        (4, 16384, 16384, 32001, True),
        (2, 64, 64, 128, False),
        (8, 1 << 15, 1 << 15, 1 << 18, True),
        (4, 1024, 8192, 65025, True),
        (4, 16384, 131072, 984225, True),
    ]:
        lay = layout(shards, size, block, kernel, real)
        g, j = classes(lay, kernel=False)
        held = lay.rows // 2 + 1 if real else lay.rows
        assert g % shards == 0 and g // shards <= STEPS
        assert g * j >= held and g * (j - 1) < held
        gk, jk = classes(lay)
        assert g * j + 4 * j * shards <= gk * jk + 4 * jk * shards
        assert g * j <= gk * jk  # no more rows held, nor moved
    lay = layout(4, 1024, 8192, 65025, True)
    assert (lay.rows, classes(lay), classes(lay, kernel=False)) == (
        280,
        (56, 3),
        (48, 3),
    )
    odd = layout(4, 1 << 16, 1 << 16, 1 << 18, True)._replace(shards=3)
    assert classes(odd, kernel=False) is None  # the whole passes, as before


@pytest.mark.parametrize("taps", [301, 3001])
def test_halo_block_in_pieces_on_two_devices(results, taps):
    """A block whose transforms would hold more than the signal goes in pieces.

    On two devices each block of 2^16 samples convolved whole held 1.20
    (301 taps, overlap-add) and 1.65 (3001 taps) signals of scratch; in
    pieces one after the other (`_sharded._in_pieces`: 4 and 8 of them),
    each the 'valid' convolution of its samples and the halo, 0.87 and
    0.88, the block extended by its halo (half the signal) the most of it.
    The result equals scipy's direct sum (float64: transforms of at most
    2^15 points, round-off far below 1e-12), and the route is still the
    halo: ``K - 1`` samples received, no gather.
    """
    row = results[f"pieces-{taps}"]
    assert row["err"] < 1e-12, row
    assert _split_like_input(row) and not row["all_gather"], row
    assert row["permute_bytes"] == 8 * (taps - 1), row
    assert row["temp_ratio"] < 0.9, row


@pytest.mark.parametrize(
    "name",
    [
        "diffuse-odd-periodic",
        _case("diffuse-odd-reflect"),
        "diffuse-odd-modes",
        "diffuse-odd-free",
        _case("diffuse-odd-window"),
        _case("diffuse-odd-field"),
        "evolve_free-odd",
        _case("diffuse-odd-grad"),
    ],
)
def test_odd_shards_by_the_cyclic_transform(request, name):
    """Shards of 1001 cells on four devices, past the halo's rule or `D`
    traced: gathered before (no multiple of four divides a shard, so the
    engine's transform has no layout). Now the cyclic layout's transform
    (`physics._cyclic`): the cells in the cyclic order by one all-to-all,
    each device's 1001-point transform, the columns across devices by a
    second; the walls in Makhoul's order of odd blocks (two collective
    permutes each way); free space by the window (the Gaussian's cut
    transform by the quadrature; with a drift, by the quadrature of the
    shifted kernel, four passes). Equal to the unsplit result within 1e-12 of its
    largest value (the transforms' rounding, ~1e-15; the sine modes
    against their closed form, the lattice kernel's transform exact; the
    gradients in `D` and the drift, each as a factor of the field scaled
    by the unsplit one), no gather, split like the input, and, for the
    forward programs, below the field in scratch (0.55 to 0.68 measured;
    0.51 to 0.87 with the cells exchanged whole, 0.75 to 0.91 with the
    spectrum too).
    `evolve_free` of a wave on the same shards: its kinetic phase on the
    same transform (XLA's global FFT gathered the axis before). A 66 x 2002
    field split both ways (odd shards along both axes, two devices each):
    the same routes axis by axis (the window failed to trace on a field
    split both ways before, its loop carry varying over one mesh axis);
    1.2 of the field in scratch there, not bounded: a shard is half of
    each axis, and the spectrum's share per device twice a real shard's.
    """
    row = record_of(request, name, EXTRA)
    assert row["shape"] == row["ref_shape"]
    assert row["err"] < 1e-12
    assert not row["all_gather"]
    assert row["all_to_all"] > 0
    if name not in ("diffuse-odd-periodic", "evolve_free-odd", "diffuse-odd-grad"):
        assert row["permutes"] >= 4  # Makhoul's order, there and back
    if "model" in row:  # four all-to-alls (`_cyclic.bytes_received`), halves
        halves = 2 * 1001 * 8 if name != "diffuse-odd-periodic" else 0
        assert row["a2a_bytes"] == row["model"]
        assert row["permute_bytes"] == halves
    if name not in ("diffuse-odd-grad", "diffuse-odd-field"):
        assert row["temp_ratio"] < 1.0
    assert _split_like_input(row), row


@pytest.mark.parametrize(
    "name",
    [
        "diffuse-odd3-modes",
        "diffuse-odd3-drift",
        _case("diffuse-odd3-reflect"),
        _case("diffuse-odd3-free"),
    ],
)
def test_odd_cell_count_by_the_cyclic_transform(request, name):
    """An odd number of cells in all (3 x 1001 on three devices), past the
    halo's rule or `D` traced: gathered before (Makhoul's order of odd
    blocks paired blocks of an even device count). Now the same order on
    an odd count (the middle device's odd cells are the last block's,
    reversed) around the cyclic layout's transform: the walls (the lattice
    kernel's sine modes between absorbing walls against their closed form,
    Gaussian reflecting walls) and free space by the window (symmetric, or
    drifting: the shifted kernel's quadrature). Within 1e-12 of the
    reference (measured 1e-15 to 7e-14), no gather, split like the input,
    the bytes of the four all-to-alls and the halves there and back as
    modelled. Scratch below the field: the walls 0.76 and 0.77 of the
    field (0.98 with the spectrum exchanged whole, not piece by piece;
    0.70 with the cells exchanged whole); the window 0.87 (symmetric) and
    0.90 (drifting), the cells going to the cyclic order and back a piece
    of rows at a time (1.12 and 1.16 with them exchanged whole: a shard is
    a third of the field, and that exchange held its input, slices and
    outputs at once; 8.1 gathered before).
    """
    row = record_of(request, name, EXTRA)
    assert row["shape"] == row["ref_shape"]
    assert row["err"] < 1e-12, row
    assert not row["all_gather"] and row["gathered"] == 0
    assert row["all_to_all"] > 0 and row["permutes"] >= 4  # Makhoul's order
    if "model" in row:  # (a third of a device's pieces its own: (p - 1) / p)
        assert row["a2a_bytes"] == pytest.approx(row["model"], abs=0.5)
        assert row["permute_bytes"] == 2 * 1001 * 8
    assert row["temp_ratio"] < (0.8 if "model" in row else 1.0), row
    assert _split_like_input(row), row


@pytest.mark.parametrize("name", [_case("diffuse-drift-long")])
def test_drift_on_long_cyclic_shards_by_the_quadrature(request, name):
    """A drift in free space on shards of 16,385 cells (four devices, `D`
    and the drift traced): gathered before, the fold of the drifting
    Gaussian on the cyclic layout costing ``(n/p)^2`` per device (21 s a
    call). Now the quadrature of the shifted kernel (`_cut_multiplier`,
    the window's four passes): within 1e-12 of the unsplit result
    (measured 3e-14), no gather, below the field in scratch (0.54), split
    like the input.
    """
    row = record_of(request, name, EXTRA)
    assert row["shape"] == row["ref_shape"]
    assert row["err"] < 1e-12, row
    assert not row["all_gather"] and row["gathered"] == 0
    assert row["temp_ratio"] < 1.0, row
    assert _split_like_input(row), row


@pytest.mark.parametrize("method", ["direct", "fft", "overlap_add"])
def test_split_batch_axis_by_each_method(results, method):
    """Rows split over four devices, a kernel along the whole other axis.

    An (8, 500) array split along its rows, a Hann window along the other
    axis: equal to scipy's float64 result within 1e-12 of its largest value
    (the FFT's rounding), the rows of the result split like the input's,
    and no collective at all: each device convolves its own rows in a shard
    map. (Left to XLA, its SPMD partitioner gathered every row before an FFT
    whose transformed axis is whole, jax-ml/jax#15680: 2.1 times the array
    in scratch per device.)
    """
    row = results[f"batch-split-{method}"]
    assert row["shape"] == row["ref_shape"] == [8, 500]
    assert row["err"] < 1e-12
    assert row["spec"] in (row["in_spec"], "P('x', None)"), row
    assert row["permutes"] == row["all_to_all"] == 0
    assert not row["all_gather"]
    assert row["temp_ratio"] < 1.0


def test_split_middle_batch_axis(results):
    """A (2, 4, 500) array split along its middle (batch) axis, correlated
    along the last with 'valid' by FFT: each device transforms its own rows
    (left to XLA, the program failed a layout check of its CPU FFT).
    Against scipy's float64 direct sum within 1e-12 of its largest value."""
    row = results["batch-split-middle"]
    assert row["shape"] == row["ref_shape"] == [2, 4, 480]
    assert row["err"] < 1e-12
    assert row["spec"] in (row["in_spec"], "P(None, 'x', None)"), row
    assert row["permutes"] == row["all_to_all"] == 0
    assert not row["all_gather"]
    assert row["temp_ratio"] < 1.0


def test_mulmod_exact_in_32_bits():
    """`_split.mulmod`, the window's phase indices ``(a b) mod m`` without
    64-bit integers: by doubling where ``(m - 1)^2`` passes 32 bits (the
    product ``a b`` itself would wrap). Against Python's exact integers,
    equal, for the moduli of the fold and the quadrature on 4 x 16,385
    cells (``2 n``), and the largest a 32-bit modulus allows."""
    import jax.numpy as jnp

    from probconv.physics._split import mulmod

    rng = np.random.default_rng(31)
    for m in (2 * 65540, 2 * 65536, 2**31 - 1):
        a = rng.integers(0, m, 500)
        b = rng.integers(0, m, 500)
        a[:3], b[:3] = (m - 1, 0, m - 1), (m - 1, m - 1, 1)
        got = mulmod(jnp.asarray(a, jnp.int32), jnp.asarray(b, jnp.int32), m)
        assert got.dtype == jnp.int32
        want = [int(x) * int(y) % m for x, y in zip(a, b)]
        assert np.asarray(got).tolist() == want


NO_X64 = r"""
    # Without 64-bit types: float32 fields, 32-bit indices.
    jax.config.update("jax_enable_x64", False)
    import scipy.signal
    from probconv.physics import diffuse

    mesh = jax.make_mesh((4,), ("x",))
    rng = np.random.default_rng(17)
    free = jax.jit(lambda u, D: diffuse(u, D, 2.0))
    drift = jax.jit(lambda u, D, v: diffuse(u, D, 2.0, drift=v))
    out = {}
    for n, name, fn, args in [
        (65536, "fold", free, (1e7,)),
        (65536, "fold-drift", drift, (1e7, 3000.75)),
        (65540, "quadrature", free, (1e7,)),
        (65540, "quadrature-drift", drift, (1e7, 3000.75)),
    ]:
        f = rng.standard_normal(n).astype(np.float32)
        x = jax.device_put(f, NamedSharding(mesh, P("x")))
        c = fn.lower(x, *args).compile()
        y = fn(x, *args)
        ref = np.asarray(fn(jnp.asarray(f), *args))  # unsplit, float32
        # float64: the field convolved with the sampled Gaussian of variance
        # s = 2 D t cells^2, centred on the drift's shift (normalized over
        # the integers: 1 to e^-(2 pi^2 s) at s = 4e7)
        s, a = 4.0 * args[0], 2.0 * (args[1] if len(args) > 1 else 0.0)
        m = np.arange(-(n - 1), n)
        k = np.exp(-((m - a) ** 2) / (2 * s)) / np.sqrt(2 * np.pi * s)
        exact = scipy.signal.fftconvolve(f.astype(np.float64), k)[n - 1 : 2 * n - 1]
        scale = np.abs(exact).max()
        out[name] = dict(
            unsplit=float(np.abs(np.asarray(y) - ref).max() / scale),
            exact=float(np.abs(np.asarray(y) - exact).max() / scale),
            unsplit_exact=float(np.abs(ref - exact).max() / scale),
            dtype=str(y.dtype), spec=str(y.sharding.spec),
            all_gather="all-gather" in c.as_text(),
            temp_ratio=c.memory_analysis().temp_size_in_bytes / f.nbytes,
        )
    print(json.dumps(out))
    """


@pytest.mark.slow
def test_window_without_x64_stays_split():
    """Free space on 4 x 16,384 and 4 x 16,385 float32 cells, x64 off, `D`
    (and the drift) traced: the window's phase indices ``r m`` reach ``2
    n^2 >= 2^31``, so the axis was gathered before (the fold's on the
    engine's layout, the shifted quadrature's on the cyclic one); now
    reduced exactly in 32 bits (`mulmod`): no all-gather, split like the
    input, below the field in scratch (0.55 to 0.88 measured; 6.36 gathered
    before). Against the unsplit float32 program and a float64 convolution
    with the sampled Gaussian, within 1e-5 of the largest value (float32's
    rounding over ``n`` terms: the fold 6e-7 and 1.2e-6 measured, the
    quadrature 2.4e-6 and 1.1e-6, the unsplit program 1.3e-6 to 1.7e-6 of
    the float64 one; the quadrature's Dirichlet numerator from integers
    reduced exactly, in floats it was off by ``N eps pi / 2`` radians,
    ``N ~ 2 n``: 2.9e-5). 5 s."""
    out = run(script(NO_X64))
    for name, row in out.items():
        assert row["unsplit"] < 1e-5 and row["exact"] < 1e-5, (name, row)
        assert row["unsplit_exact"] < 5e-6, (name, row)  # the unsplit float32
        assert row["dtype"] == "float32", (name, row)
        assert row["spec"] == "P('x',)", (name, row)
        assert not row["all_gather"], (name, row)
        assert row["temp_ratio"] < 1.0, (name, row)
