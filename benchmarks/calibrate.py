"""Measure the constants of the engine's cost model on this backend.

    python benchmarks/calibrate.py [--dtype float32|float64] [--quick]
    python benchmarks/calibrate.py --fft [--dtype float32|float64]
    python benchmarks/calibrate.py --pfa [--dtype float32|float64]
    python benchmarks/calibrate.py --filter [--dtype float32|float64] [--quick]

Times each method on a set of shapes (jitted, compiled before timing), then
fits ``t = call + c * work`` per method by non-negative least squares on
relative errors, where ``work`` is what `probconv.conv._choose.estimate`
counts (multiply-adds for direct, n log2 n of transforms for fft and
overlap-add). Prints the constants to paste into ``_choose.COSTS`` and how
often the fitted model picks the fastest method.

``--fft`` instead times batches of 1, 2 and 8 real transforms of 2**10 to
2**21 points and prints picoseconds per n log2 n of each, beside what
`probconv.conv._cost.transform_work` models: the data behind its batch and
cache constants.

``--pfa`` times the fft method where it maps long 1-D transforms onto 2-D
ones (`probconv.conv._pfa.pfa_factors`) and fits seconds against the 2-D
passes' work, the points gathered and the points beyond the cache: the data
behind ``_PFA_GATHER_WORK`` and ``_PFA_GATHER_SLOPE`` (divide the fitted
per-point constants by the fft constant of ``_choose.COSTS``).

``--filter`` prices the boundary-aware filters (`probconv.conv.correlate1d`,
`probconv.conv.running_sum`): it times a reflected filter by each of the
engine's methods and the running means (``weight=1 / size``, as the
smoothing layer calls them) directly and in blocks, fits
``_choose.RUNNING_COSTS`` (direct: per output and per add, fused up to
``SHIFT_MAX_TAPS`` taps and not beyond; blocks: per output), and prints how
often 'auto' picks the fastest.
"""

import argparse
import math
import sys

import jax
import jax.numpy as jnp
import numpy as np
import scipy.optimize

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from _timing import interleaved_times  # noqa: E402

import probconv  # noqa: E402
from probconv.conv import _choose  # noqa: E402
from probconv.conv._cost import transform_work  # noqa: E402
from probconv.conv._pfa import pfa_factors  # noqa: E402
from probconv.conv._plan import plan_of as _plan  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dtype", default="float64")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--fft", action="store_true", help="the FFT batch/cache curve")
    p.add_argument("--pfa", action="store_true", help="fit the prime-factor form")
    p.add_argument("--filter", action="store_true", help="price the filters")
    args = p.parse_args()
    if args.dtype == "float64":
        jax.config.update("jax_enable_x64", True)
    dt = np.dtype(args.dtype)
    if args.fft:
        return fft_curve(dt)
    if args.pfa:
        return pfa_fit(dt)
    if args.filter:
        return filter_fit(dt, args.quick)
    backend = jax.default_backend()
    ns = [1000, 10_000, 100_000] + ([] if args.quick else [1_000_000])
    ks = [3, 31, 301, 3001]
    cases = [(n, k) for n in ns for k in ks if k < n] + [(n, n) for n in ns[:-1]]
    cases += [((128, 128), (9, 9)), ((300, 300), (300, 300)), ((512, 512), (31, 31))]
    rng = np.random.default_rng(0)
    rows = {m: [] for m in ("direct", "fft", "overlap_add")}
    measured = []
    # Unit constants: estimate() with c=1 and zero call cost gives the work.
    unit = {
        "direct": {4: 1.0, 8: 1.0},
        "fft": {4: 1.0, 8: 1.0},
        "overlap_add": {4: 1.0, 8: 1.0},
        "multi_d": 1.0,
        "grouped": 1.0,
        "fft_row": 0.0,
        "call": {"direct": 0.0, "fft": 0.0, "overlap_add": 0.0},
    }
    saved = _choose.COSTS.get(backend)
    for n, k in cases:
        a = jnp.asarray(rng.standard_normal(n), dt)
        v = jnp.asarray(rng.standard_normal(k), dt)
        _choose.COSTS[backend] = unit
        work = _choose.estimate(_plan(a, v, "full", None), backend)
        _choose.COSTS[backend] = saved
        # skip what the current constants say takes seconds: it cannot win
        predicted = _choose.estimate(_plan(a, v, "full", None), backend)
        fns = {
            m: (jax.jit(lambda a, v, m=m: probconv.convolve(a, v, method=m)), (a, v))
            for m in rows
            if math.isfinite(work[m]) and predicted[m] < 2.0
        }
        times = interleaved_times(fns, max_total=10.0)
        for m, t in times.items():
            rows[m].append((work[m], t))
        measured.append(((n, k), times, work, predicted))
        print(n, k, {m: f"{t:.2e}" for m, t in times.items()}, flush=True)
    size = dt.itemsize
    fit = {}
    for m, r in rows.items():
        w = np.array([x[0] for x in r])
        t = np.array([x[1] for x in r])
        A = np.stack([np.ones_like(w), w], 1) / t[:, None]
        coef, _ = scipy.optimize.nnls(A, np.ones_like(t))
        fit[m] = coef
        print(f"{m:12s} call={coef[0]:.2e} s  per-unit={coef[1]:.3e} s")
    print(f"\nCOSTS[{backend!r}] for itemsize {size}:")
    print(f"  direct[{size}] = {fit['direct'][1]:.2e}")
    print(
        f"  fft[{size}] = {fit['fft'][1]:.2e}, "
        f"overlap_add[{size}] = {fit['overlap_add'][1]:.2e}"
    )
    print(
        f"  call = direct {fit['direct'][0]:.1e}, fft {fit['fft'][0]:.1e}, "
        f"overlap_add {fit['overlap_add'][0]:.1e}"
    )
    right = now = 0
    for shape, times, work, predicted in measured:
        pred = {m: fit[m][0] + fit[m][1] * work[m] for m in times}
        best = min(times, key=times.get)
        pick = min(pred, key=pred.get)
        right += times[pick] <= 1.15 * times[best]
        mine = min(predicted, key=predicted.get)  # the constants in the repo
        ok = mine in times and times[mine] <= 1.15 * times[best]
        now += ok
        if not ok:
            print(f"  current constants pick {mine} for {shape}; fastest {best}")
    print(f"fitted model within 1.15x of the fastest in {right}/{len(measured)} cases")
    print(f"current constants within 1.15x of the fastest in {now}/{len(measured)}")


def fft_curve(dt):
    """Print measured and modelled ps per n log2 n of batched real FFTs."""
    rng = np.random.default_rng(0)
    print("points  batch  measured ps/nlogn  model (relative to batch 1)")
    for e in range(10, 22):
        n = 2**e
        fns = {
            b: (jax.jit(jnp.fft.rfft), (jnp.asarray(rng.random((b, n)), dt),))
            for b in (1, 2, 8)
            if b * n <= 2**23
        }
        times = interleaved_times(fns, rounds=5, max_total=5.0)
        nlogn = n * math.log2(n)
        for b, t in times.items():
            model = transform_work(n, b) / (b * nlogn)
            print(f"2**{e:<4d} {b:5d}  {t / (b * nlogn) * 1e12:17.0f}  {model:.2f}")


def pfa_fit(dt):
    """Fit the fft method's time where it runs as 2-D transforms."""
    rng = np.random.default_rng(0)
    cases = [(10**4, 10**4), (3 * 10**4, 3001), (3 * 10**4, 3 * 10**4)]
    cases += [(10**5, 3001), (10**5, 10**4), (10**5, 10**5), (3 * 10**5, 3 * 10**5)]
    cases += [(10**6, 3001), (10**6, 10**5), (10**6, 10**6), (2 * 10**6, 2 * 10**6)]
    rows = []
    print("N        K        A      B      seconds")
    for n1, n2 in cases:
        a = jnp.asarray(rng.standard_normal(n1), dt)
        v = jnp.asarray(rng.standard_normal(n2), dt)
        f = jax.jit(lambda a, v: probconv.convolve(a, v, method="fft"))
        t = interleaved_times({"f": (f, (a, v))}, max_total=4.0)["f"]
        A, B = pfa_factors(n1 + n2 - 1)
        # three transforms: two forward, one inverse
        passes = 3 * (transform_work(B, A) + 2 * transform_work(A, B // 2 + 1))
        points = 3 * A * B
        beyond = max(0.0, math.log2(A * B / 2**18))
        rows.append((t, passes, points, points * beyond))
        print(f"{n1:<8d} {n2:<8d} {A:<6d} {B:<6d} {t:.2e}", flush=True)
    R = np.array(rows)
    t = R[:, 0]
    X = np.column_stack([np.ones_like(t), R[:, 1:]])
    coef, _ = scipy.optimize.nnls(X / t[:, None], np.ones_like(t))
    print(
        f"call {coef[0]:.2e} s, per unit of pass work {coef[1]:.2e} s, "
        f"per point {coef[2]:.2e} s, per point and doubling beyond "
        f"the cache {coef[3]:.2e} s"
    )
    print("model / measured:", np.round(X @ coef / t, 2))


def filter_fit(dt, quick: bool):
    """Time the filters' methods; fit the running sums' constants."""
    rng = np.random.default_rng(0)
    ns = [10**4, 10**5] + ([] if quick else [10**6])
    taps = [3, 8, 21, 31, 32, 64, 256, 1001]
    run_rows = {"direct": [], "running": []}
    right = total = 0
    print("n        taps   filter by method (ms)              running sums (ms)")
    for n in ns:
        x = jnp.asarray(rng.standard_normal(n), dt)
        for w in taps:
            k = jnp.asarray(rng.standard_normal(w), dt)
            fil = {
                m: (
                    jax.jit(
                        lambda x, k, m=m: probconv.conv.correlate1d(x, k, method=m)
                    ),
                    (x, k),
                )
                for m in ("direct", "fft", "overlap_add", "auto")
                if m != "direct" or w <= 301
            }
            run = {
                m: (
                    jax.jit(
                        lambda x, m=m: probconv.conv.running_sum(
                            x, w, weight=1.0 / w, method=m
                        )
                    ),
                    (x,),
                )
                for m in ("direct", "running", "auto")
                if m != "direct" or w <= 256
            }
            tf = interleaved_times(fil, max_total=4.0)
            tr = interleaved_times(run, max_total=4.0)
            for m in ("direct", "running"):
                if m in tr:
                    run_rows[m].append((n, w, tr[m]))
            for times in (tf, tr):
                best = min(v for m, v in times.items() if m != "auto")
                right += times["auto"] <= 1.15 * best
                total += 1
            cells = " ".join(f"{m} {t * 1e3:7.3f}" for m, t in tf.items())
            runs = " ".join(f"{m} {t * 1e3:7.3f}" for m, t in tr.items())
            print(f"{n:<8d} {w:<6d} {cells}   {runs}", flush=True)
    fused = [(n, w, t) for n, w, t in run_rows["direct"] if w <= _choose.SHIFT_MAX_TAPS]
    A = np.array([[1.0, n, n * w] for n, w, _ in fused])
    t = np.array([r[2] for r in fused])
    coef, _ = scipy.optimize.nnls(A / t[:, None], np.ones_like(t))
    print(f"direct: call {coef[0]:.1e} s, output {coef[1]:.1e} s, add {coef[2]:.1e} s")
    slow = [t / (n * w) for n, w, t in run_rows["direct"] if w > _choose.SHIFT_MAX_TAPS]
    if slow:
        print(
            f"direct beyond {_choose.SHIFT_MAX_TAPS} taps: {np.median(slow):.1e} s/add"
        )
    blocks = [t / n for n, _, t in run_rows["running"] if n >= 10**5]
    print(f"blocks: {np.median(blocks):.1e} s per output")
    print(f"'auto' within 1.15x of the fastest in {right}/{total} cases")


if __name__ == "__main__":
    main()
