"""Lagged correlations of series split over devices (issue 17).

`acf`, `ccf` and `xcorr` on series split along their time axis: short
lags by a halo of `maxlag` samples from the neighbours and a psum of each
device's lagged products (the lags replicated); lags that reach further
by the engine's distributed transform, each device computing its block of
the lags (split along the lags where their count allows, else joined).
The checks run in one subprocess with four CPU devices (the pytest process
has already started JAX with one), as in test_sharded.py: for each case,
equal to the unsharded result (1e-12 relative, float64) and, for the
transform's cases, to a float64 NumPy reference; the output laid out as
the route says; no all-gather of anything but a result in the compiled
program; and scratch memory per device against the inputs' size.
"""

import jax
import numpy as np
import pytest
from _devices import case, fixtures, record_of, script
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from probconv.conv.internal import split_layout as transform_layout
from probconv.similarity import acf, ccf, xcorr
from probconv.similarity._split import WHOLE, Spread, _ones_spectrum, split_layout

BODY = r"""
    from probconv.similarity import acf, ccf, xcorr

    rng = np.random.default_rng(17)
    n = 1 << 16  # shards of 16384
    walk = rng.standard_normal(n).cumsum()
    other = 0.5 * np.roll(walk, 7) + rng.standard_normal(n)
    gappy = walk.copy()
    gappy[[0, 5000, 16383, 16384, 40000]] = np.nan
    mesh = jax.make_mesh((4,), ("x",))  # Explicit axes: the default
    grid = jax.make_mesh((2, 2), ("b", "t"))
    auto = jax.make_mesh((4,), ("x",), axis_types=(AxisType.Auto,))
    out = {}

    def gathers(text):  # elements of each all-gather's result
        sizes = []
        for line in text.splitlines():
            if "all-gather(" in line or "all-gather-start(" in line:
                dims = re.search(r"= \(?[a-z]+[0-9]*\[([0-9,]*)\]", line)
                if dims:
                    shape = [int(d) for d in dims.group(1).split(",") if d]
                    sizes.append(int(np.prod(shape)))
        return sizes

    def record(name, f, inputs, spec=P("x"), m=mesh, jit=True, hlo=True,
               numpy_ref=None):
        if name in EXTRA and not ALL:
            return
        xs = [jax.device_put(a, NamedSharding(m, spec)) for a in inputs]
        c = jax.jit(f).lower(*xs).compile() if hlo else None
        y = c(*xs) if hlo else jax.jit(f)(*xs) if jit else f(*xs)
        ref = f(*(jnp.asarray(a) for a in inputs))  # one device
        ys = y if isinstance(y, tuple) else (y,)
        refs = ref if isinstance(ref, tuple) else (ref,)
        err, nan_same, same = 0.0, True, True
        for yv, rv in zip(ys, refs):
            a, b = np.asarray(yv), np.asarray(rv)
            scale = max(np.nanmax(np.abs(b)), 1e-300)
            err = max(err, float(np.nanmax(np.abs(a - b)) / scale))
            nan_same &= bool(np.array_equal(np.isnan(a), np.isnan(b)))
            # Each device's copy of its block of the result, against the result.
            for s in yv.addressable_shards:
                same &= bool(np.array_equal(np.asarray(s.data), a[s.index],
                                            equal_nan=True))
        if numpy_ref is not None:  # an independent float64 reference
            nps = numpy_ref(*inputs)
            nps = nps if isinstance(nps, tuple) else (nps,)
            row_np = 0.0
            for yv, rv in zip(ys, nps):
                a, b = np.asarray(yv), np.asarray(rv)
                row_np = max(row_np, float(np.nanmax(np.abs(a - b)) /
                                          np.nanmax(np.abs(b))))
        row = dict(err=err, nan_same=nan_same, same=same,
                   shapes=[list(v.shape) for v in ys],
                   specs=[str(v.sharding.spec) for v in ys],
                   in_spec=str(xs[0].sharding.spec))
        if hlo:
            text = c.as_text()
            row["all_gather"] = "all-gather" in text
            row["gathered"] = gathers(text)
            row["out_size"] = max(int(np.prod(v.shape)) for v in ys)
            row["all_to_all"] = text.count("all-to-all(")
            row["permutes"] = text.count("collective-permute(")
            row["reduces"] = text.count("all-reduce(")
            size = sum(a.nbytes for a in inputs)
            row["temp_ratio"] = c.memory_analysis().temp_size_in_bytes / size
        if numpy_ref is not None:
            row["err_numpy"] = row_np
        out[name] = row

    def np_acov(y, nlags):  # sum_t y[t + k] y[t], k = 0 .. nlags (NumPy)
        f = np.fft.rfft(y, 2 * len(y))
        return np.fft.irfft(f * np.conj(f))[: nlags + 1]

    def np_acf(x, nlags):
        y = x - x.mean()
        c = np_acov(y, nlags) / (len(x) - np.arange(nlags + 1))  # adjusted
        rho = c / c[0]
        var = np.r_[0, 1, 1 + 2 * np.cumsum(rho[1:-1] ** 2)] / len(x)
        hw = 1.959963984540054 * np.sqrt(var)
        k = np.arange(1, nlags + 1)
        q = len(x) * (len(x) + 2) * np.cumsum(rho[1:] ** 2 / (len(x) - k))
        return rho, np.stack([rho - hw, rho + hw], -1), q

    def np_ccf(x, y, nlags):
        u, v = x - x.mean(), y - y.mean()
        fu, fv = np.fft.rfft(u, 2 * len(u)), np.fft.rfft(v, 2 * len(v))
        c = np.fft.irfft(fu * np.conj(fv))[:nlags] / len(x)
        return c / (u.std() * v.std())

    record("acf", lambda x: acf(x, nlags=40), [walk])
    record("acf-options",
           lambda x: acf(x, nlags=40, adjusted=True, alpha=0.05, qstat=True,
                         bartlett_confint=False), [walk])
    record("acf-bartlett", lambda x: acf(x, nlags=40, alpha=0.05), [walk])
    record("acf-no-demean", lambda x: acf(x, nlags=40, demean=False), [walk])
    record("acf-conservative",
           lambda x: acf(x, nlags=40, missing="conservative", adjusted=True,
                         qstat=True), [gappy])
    record("acf-conservative-plain",
           lambda x: acf(x, nlags=40, missing="conservative"), [gappy])
    record("acf-nan", lambda x: acf(x, nlags=40), [gappy])
    record("ccf", lambda x, y: ccf(x, y, nlags=30, alpha=0.1), [walk, other])
    record("ccf-omit", lambda x, y: ccf(x, y, nlags=30, nan_policy="omit"),
           [gappy, other])
    record("ccf-omit-biased",
           lambda x, y: ccf(x, y, nlags=30, adjusted=False, nan_policy="omit"),
           [gappy, other])
    for norm in ("none", "biased", "unbiased", "coeff"):
        record(f"xcorr-{norm}",
               lambda x, y: xcorr(x, y, maxlag=50, normalize=norm).values,
               [walk, other])
        record(f"xcorr-{norm}-nan",
               lambda x, y: xcorr(x, y, maxlag=50, normalize=norm).values,
               [gappy, other])
        record(f"xcorr-{norm}-omit",
               lambda x, y: xcorr(x, y, maxlag=50, normalize=norm,
                                  nan_policy="omit").values, [gappy, other])
    # Constant stretches: the Pearson windows that are constant give 0.
    steps = np.repeat(rng.standard_normal(n // 4096), 4096)
    steps[:60] = 1.0
    steps[-60:] = 2.0
    record("xcorr-coeff-constant-ends",
           lambda x, y: xcorr(x, y, maxlag=50, normalize="coeff").values,
           [steps, other])
    # Batch and time split at once (2 x 2), and a second input broadcast
    # along the batch axis, not split.
    rows = rng.standard_normal((4, 1 << 14)).cumsum(-1)
    record("acf-grid", lambda x: acf(x, nlags=20, alpha=0.05), [rows],
           spec=P("b", "t"), m=grid)
    record("ccf-grid", lambda x, y: ccf(x, y, nlags=20), [rows, rows[::-1]],
           spec=P("b", "t"), m=grid)
    one = rows[0]
    record("xcorr-grid-broadcast",
           lambda x: xcorr(x, one, maxlag=20, normalize="unbiased").values,
           [rows], spec=P("b", "t"), m=grid)
    record("acf-axis0", lambda x: acf(x, nlags=20, axis=0), [rows.T],
           spec=P("t", "b"), m=grid)
    # Lags beyond a shard (16384): halos from several neighbours (Pearson:
    # the transform, past three eighths of a shard of halo).
    record("acf-long", lambda x: acf(x, nlags=20000), [walk])
    record("xcorr-coeff-long",
           lambda x, y: xcorr(x, y, maxlag=20000, normalize="coeff").values,
           [walk, other])
    # Lags far past a shard: the distributed transform, the lags split
    # (32768 of them: 8192 per device) or joined (an odd count).
    half = n // 2
    record("acf-split",
           lambda x: acf(x, nlags=half - 1, adjusted=True, alpha=0.05,
                         qstat=True),
           [walk], numpy_ref=lambda x: np_acf(x, half - 1))
    record("ccf-split",
           lambda x, y: ccf(x, y, nlags=half + 4096, adjusted=False),
           [walk, other], numpy_ref=lambda x, y: np_ccf(x, y, half + 4096))
    record("acf-conservative-split",
           lambda x: acf(x, nlags=half - 1, missing="conservative",
                         adjusted=True), [gappy])
    record("xcorr-unbiased-omit-split",
           lambda x, y: xcorr(x, y, maxlag=40000, normalize="unbiased",
                              nan_policy="omit").values, [gappy, other])
    record("xcorr-none-nan-split",
           lambda x, y: xcorr(x, y, maxlag=40000).values, [gappy, other])
    # All lags (no maxlag): the transform too.
    short = walk[:4096]
    record("xcorr-coeff-split",
           lambda x, y: xcorr(x, y, maxlag=3000, normalize="coeff").values,
           [short, other[:4096]])
    # Pearson with NaN omitted, past a quarter of a shard: the lags in
    # chunks, each device's sums from windows of `a` sent by the devices
    # that hold them (a shard of lags each side; and 6,001 lags of 4,096
    # samples, more lags than samples per device, in the default run).
    record("xcorr-coeff-omit-split",
           lambda x, y: xcorr(x, y, maxlag=16384, normalize="coeff",
                              nan_policy="omit").values, [gappy, other])
    record("xcorr-coeff-omit-short",
           lambda x, y: xcorr(x, y, maxlag=3000, normalize="coeff",
                              nan_policy="omit").values,
           [gappy[:4096], other[:4096]])
    record("xcorr-all", lambda x, y: xcorr(x, y).values,
           [short, other[:4096]], hlo=False)
    record("xcorr-beyond-n",
           lambda x, y: xcorr(x, y, maxlag=5000, normalize="unbiased").values,
           [short, other[:4096]], hlo=False)
    # Eagerly (Explicit and Auto meshes), and under jit on an Auto mesh
    # (the layout is hidden from the trace: XLA partitions the program).
    record("acf-eager", lambda x: acf(x, nlags=40, alpha=0.05), [walk],
           jit=False, hlo=False)
    record("xcorr-auto-eager",
           lambda x, y: xcorr(x, y, maxlag=50).values,
           [walk, other], m=auto, jit=False, hlo=False)
    record("acf-auto-jit", lambda x: acf(x, nlags=40), [walk], m=auto,
           hlo=False)
    # Gradients flow back through the psums and the halo exchange.
    record("grad-acf",
           jax.grad(lambda x: jnp.sum(acf(x, nlags=10) ** 2)), [walk[:4096]],
           hlo=False)
    # The refusals.
    xs = jax.device_put(walk, NamedSharding(mesh, P("x")))
    out["errors"] = refusals(
        lambda: acf(xs, nlags=5, missing="drop"),
        lambda: xcorr(xs, walk[:100], maxlag=5),
    )
    print(json.dumps(out))
    """

# Recorded only by the slow tests; each has a default case on its code path.
EXTRA = {
    "acf",
    "acf-bartlett",
    "acf-no-demean",
    "acf-conservative-plain",
    "acf-nan",
    "ccf",
    "ccf-omit-biased",
    "xcorr-none",
    "xcorr-biased",
    "xcorr-biased-nan",
    "xcorr-biased-omit",
    "xcorr-unbiased",
    "xcorr-unbiased-omit",
    "xcorr-none-nan",
    "xcorr-none-omit",
    "xcorr-coeff-nan",
    "xcorr-coeff-omit",
    "xcorr-coeff-constant-ends",
    "ccf-grid",
    "acf-axis0",
    "xcorr-coeff-long",
    "xcorr-beyond-n",
    "acf-auto-jit",
    "acf-conservative-split",
    "xcorr-none-nan-split",
    "xcorr-unbiased-omit-split",
    "xcorr-coeff-split",
    "xcorr-coeff-omit-split",
    "acf-long",
    "ccf-split",
}
SCRIPT = script(BODY, EXTRA)

ALL_CASES = [
    "acf",
    "acf-options",
    "acf-bartlett",
    "acf-no-demean",
    "acf-conservative",
    "acf-conservative-plain",
    "acf-nan",
    "ccf",
    "ccf-omit",
    "ccf-omit-biased",
    *(
        f"xcorr-{norm}{kind}"
        for norm in ("none", "biased", "unbiased", "coeff")
        for kind in ("", "-nan", "-omit")
    ),
    "xcorr-coeff-constant-ends",
    "acf-grid",
    "ccf-grid",
    "xcorr-grid-broadcast",
    "acf-axis0",
    "acf-long",
    "xcorr-coeff-long",
    "acf-split",
    "ccf-split",
    "acf-conservative-split",
    "xcorr-unbiased-omit-split",
    "xcorr-none-nan-split",
    "xcorr-coeff-split",
    "xcorr-coeff-omit-split",
    "xcorr-coeff-omit-short",
    "xcorr-all",
    "xcorr-beyond-n",
    "acf-eager",
    "xcorr-auto-eager",
    "acf-auto-jit",
    "grad-acf",
]
# Cases by the distributed transform: split along the lags where their
# count is a multiple of the devices (and of the transform's columns).
SPREAD = [
    "acf-long",
    "xcorr-coeff-long",
    "acf-split",
    "ccf-split",
    "acf-conservative-split",
    "xcorr-unbiased-omit-split",
    "xcorr-none-nan-split",
    "xcorr-coeff-split",
    "xcorr-coeff-omit-split",
    "xcorr-coeff-omit-short",
]
# Pearson with NaN omitted: the lags in chunks (`_xcorr._chunked_pearson_omit`).
CHUNKED = {"xcorr-coeff-omit-split", "xcorr-coeff-omit-short"}
SPLIT_LAGS = {"acf-split", "ccf-split", "acf-conservative-split"}
# Cases compiled for inspection whose lags stay within a shard.
SHORT = [
    c
    for c in ALL_CASES
    if not c.endswith("-long")
    and c not in SPREAD
    and c not in {"xcorr-all", "xcorr-beyond-n", "acf-eager"}
    and "auto" not in c
    and not c.startswith("grad")
]
GRID = {"acf-grid", "ccf-grid", "xcorr-grid-broadcast"}


results, results_all = fixtures(SCRIPT)


@pytest.mark.parametrize("name", [case(c, EXTRA) for c in ALL_CASES])
def test_equal_to_one_device(name, request):
    row = record_of(request, name, EXTRA)
    assert row["err"] <= 1e-12, row
    assert row["nan_same"], row


@pytest.mark.parametrize("name", [case(c, EXTRA) for c in ALL_CASES])
def test_lags_laid_out_by_route_batch_split(name, request):
    row = record_of(request, name, EXTRA)
    assert row["same"], row  # every device's copy is the result's block
    if name.startswith("grad"):  # a gradient is split like the input
        assert row["specs"] == [row["in_spec"]], row
    elif name in GRID:
        assert all(s.startswith("P('b'") for s in row["specs"]), row
    elif name == "acf-axis0":  # lags along axis 0, the batch split after it
        assert row["specs"] == ["P(None, 'b')"], row
    elif name == "acf-split":  # the lags split; Ljung-Box's (one fewer) joined
        assert row["specs"] == ["P('x',)", "P('x', None)", "P(None,)", "P(None,)"]
    elif name in SPLIT_LAGS:
        assert row["specs"] == ["P('x',)"], row
    elif "auto" not in name:
        assert all(s in ("P(None,)", "P(None, None)") for s in row["specs"]), row


@pytest.mark.parametrize("name", [case(c, EXTRA) for c in SHORT])
def test_no_gather_and_scratch_below_signal(name, request):
    row = record_of(request, name, EXTRA)
    assert not row["all_gather"], row
    assert row["permutes"] >= 1 and row["reduces"] >= 1, row
    # Each device holds a quarter of the inputs. On 2 x 2 meshes (two rows
    # of 8192 samples a device) the rows' lagged sums go one row at a time
    # (`_split._halo_sums`): 0.75 of the inputs measured for `acf-grid`
    # and `acf-axis0` (1.055 by the engine's FFT of both rows at once).
    assert row["temp_ratio"] < 1, row


@pytest.mark.parametrize("name", [case(c, EXTRA) for c in SPREAD])
def test_long_lags_by_the_transform(name, request):
    row = record_of(request, name, EXTRA)
    if name in CHUNKED:  # windows from the devices that hold them, no transform
        assert row["all_to_all"] == 0 and row["permutes"] >= 1, row
    else:
        assert row["all_to_all"] >= 2, row  # the transform's regroupings
    # Nothing is gathered but results (the Ljung-Box outputs, or lags whose
    # count the devices do not divide): never the 65536-sample series.
    assert all(g <= 1.05 * row["out_size"] for g in row["gathered"]), row
    if "err_numpy" in row:
        assert row["err_numpy"] <= 1e-12, row
    # Scratch: below what the halo route held at these lags (`HALO`). The
    # engine's transform of length M (1.3 to 2 n here), class by class,
    # holds its spectrum once per device (about M / (2 p) complex numbers,
    # two series: their stacked spectra and the product's), each
    # normalization's lagged sums take one, and the outputs joined (an odd
    # count, Ljung-Box's) are whole on every device.
    assert row["temp_ratio"] < BOUND[name] < HALO[name], row
    if name in BELOW:
        # One transform at a time (`Spread.after`), each holding its
        # spectrum once (class by class, `_split_chunked.spectral_block`),
        # and no copy of a series kept between them: below the inputs'
        # size (an autocorrelation at 20000 lags: 0.46 of the series).
        assert row["temp_ratio"] < 1, row


# Scratch per device / the inputs' size under the suite's compiler settings
# (docs/performance.md), measured with a margin of a tenth (at most 1), and
# what the halo route held for the same call before (measured the same way).
BOUND = {
    "acf-long": 0.51,
    # 0.877 (3.20 with the p-values of a device's 8,192 lags at once:
    # `gammaincc` iterates carrying a dozen arrays of its argument's size).
    "acf-split": 0.97,
    "ccf-split": 0.94,
    "acf-conservative-split": 1.0,  # 0.964 measured (1.52 side by side)
    "xcorr-unbiased-omit-split": 0.85,  # 0.773 (1.18 side by side)
    "xcorr-none-nan-split": 0.82,  # 0.742 (0.95 side by side)
    # Pearson over 6,001 lags of 4,096 samples: 0.974. A device's lags
    # (1,536) outnumber its samples (1,024): one transform (the cross
    # sums), the windows' sums from prefix sums picked by the devices that
    # hold them, the lags a chunk at a time (`_xcorr._gathered_pearson`;
    # 1.78 by seven transforms one at a time, 4.56 side by side). 6,001 is
    # odd: no equal blocks tile the lags, so they are joined on every
    # device (the gathered 6,144 lags and a device's block: 0.93 alone).
    "xcorr-coeff-split": 1.0,
    # The same at 20,000 lags of 65,536 samples (the halo before: 2.80).
    "xcorr-coeff-long": 0.98,  # 0.891
    # Pearson with NaN omitted at 16,384 lags: 0.545, the lags in chunks
    # (`_xcorr._chunked_pearson_omit`; 1.063 by six transforms one at a
    # time). At 3,000 lags of 4,096 samples: 0.758 (1.448 by the
    # transforms).
    "xcorr-coeff-omit-split": 0.65,
    "xcorr-coeff-omit-short": 0.86,
}
BELOW = {
    "acf-long",
    "acf-split",
    "xcorr-coeff-long",
    "ccf-split",
    "acf-conservative-split",
    "xcorr-unbiased-omit-split",
    "xcorr-none-nan-split",
    "xcorr-coeff-omit-split",
    "xcorr-coeff-omit-short",
    "xcorr-coeff-split",
}
HALO = {
    "acf-long": 1.79,
    "xcorr-coeff-long": 2.80,
    "acf-split": 12.8,
    "ccf-split": 1.37,
    "acf-conservative-split": 3.06,
    "xcorr-unbiased-omit-split": 4.15,
    "xcorr-none-nan-split": 3.58,
    "xcorr-coeff-split": 5.97,
    # Its halos one at a time (`Shards.after`): 2.28, and 6.46 at 3,000
    # lags of 4,096 samples.
    "xcorr-coeff-omit-split": 2.28,
    "xcorr-coeff-omit-short": 6.46,
}


def test_refusals(results):
    drop, lengths = results["errors"]
    assert "missing='drop'" in drop and "split over devices" in drop
    assert "same length" in lengths and "[65536, 100]" in lengths


# One device: the helpers, and the split route on a mesh of one device.


def test_layout_of_unsplit_inputs_is_none():
    assert split_layout([np.ones(8)], [0]) is None
    assert split_layout([jax.numpy.ones(8), np.ones(8)], [0, 0]) is None


@pytest.mark.parametrize(
    "n, shards, real", [(37, 1, True), (64, 4, True), (48, 4, False)]
)
def test_ones_spectrum_against_numpy(n, shards, real):
    # The closed form of the transform of n ones (`Spread.window_sums`), at
    # every row and column of a layout of the engine's, against NumPy's FFT
    # of the ones padded to the layout's length (float64: within 1e-12 of
    # n, the spectrum's largest value).
    lay = transform_layout(shards, n // shards, n // shards, n, real, 2 * n - 1)
    rows = np.arange(lay.rows)
    got = np.asarray(_ones_spectrum(lay, n, rows, np.complex128))
    ref = np.fft.fft(np.ones(n), lay.length)
    want = ref[rows[:, None] + lay.rows * np.arange(lay.cols)]
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12 * n)


def test_whole_ends_and_changes():
    x = np.array([[1.0, 1.0, 2.0, 2.0, 3.0], [0.0, 1.0, 0.0, 0.0, 0.0]])
    head, tail = WHOLE.ends(x, 2)
    np.testing.assert_array_equal(head, x[:, :2])
    np.testing.assert_array_equal(tail, x[:, 3:])
    np.testing.assert_array_equal(WHOLE.changes(x), [[2], [2]])


@pytest.fixture(scope="module")
def one_mesh():
    return jax.make_mesh((1,), ("t",))


@pytest.mark.parametrize(
    "f",
    [
        lambda x, y: acf(x, nlags=7, alpha=0.05, qstat=True, adjusted=True),
        lambda x, y: acf(x, nlags=7, missing="conservative", adjusted=True),
        lambda x, y: ccf(x, y, nlags=5, nan_policy="omit"),
        lambda x, y: xcorr(x, y, maxlag=6, normalize="coeff").values,
        lambda x, y: xcorr(x, y, maxlag=40, normalize="unbiased").values,
        lambda x, y: xcorr(x, y, normalize="coeff", nan_policy="omit").values,
        # Lags past the halo's reach: the transform, on a mesh of one device.
        lambda x, y: acf(x, nlags=31, alpha=0.05, qstat=True, adjusted=True),
        lambda x, y: acf(x, nlags=20, missing="conservative", adjusted=True),
        lambda x, y: xcorr(x, y, normalize="coeff").values,
    ],
    ids=[
        "acf",
        "acf-conservative",
        "ccf-omit",
        "xcorr-coeff",
        "xcorr-long",
        "omit",
        "acf-transform",
        "acf-conservative-transform",
        "xcorr-coeff-transform",
    ],
)
def test_split_route_on_one_device(f, one_mesh):
    # The split programs (halo or transform, `_split.spread`) against the
    # one-device ones, on a mesh of one device.
    rng = np.random.default_rng(3)
    x = rng.standard_normal(32).cumsum()
    x[[3, 17]] = np.nan
    y = rng.standard_normal(32)
    ref = f(x, y)
    xs = jax.device_put(x, NamedSharding(one_mesh, P("t")))
    assert split_layout([xs], [0]) is not None
    got = f(xs, y)
    for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(ref)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.slow  # (the complex transform route: xcorr-coeff-split too)
def test_split_route_complex_on_one_device(one_mesh):
    rng = np.random.default_rng(4)
    a = rng.standard_normal(24) + 1j * rng.standard_normal(24)
    b = rng.standard_normal(24) - 1j * rng.standard_normal(24)
    as_ = jax.device_put(a, NamedSharding(one_mesh, P("t")))
    # maxlag 5: the halo (raw sums) or the transform (Pearson, past three
    # eighths of a shard); all lags with Pearson: the transform (complex).
    for norm, maxlag in (("none", 5), ("coeff", 5), ("coeff", None)):
        ref = xcorr(a, b, maxlag=maxlag, normalize=norm).values
        got = xcorr(as_, b, maxlag=maxlag, normalize=norm).values
        np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)


def test_split_refusals_name_the_option(one_mesh):
    xs = jax.device_put(np.arange(16.0), NamedSharding(one_mesh, P("t")))
    with pytest.raises(ValueError, match="`missing='drop'` joins the values left"):
        acf(xs, nlags=3, missing="drop")
    with pytest.raises(ValueError, match=r"must have the same length.*\[16, 5\]"):
        xcorr(xs, np.ones(5), maxlag=2)
    with pytest.raises(ValueError, match=r"series `x` and `y` split over devices"):
        ccf(np.ones(5), xs, nlags=2)


def test_split_batch_axes_that_do_not_broadcast_say_so(one_mesh):
    xs = jax.device_put(np.ones((2, 8)), NamedSharding(one_mesh, P(None, "t")))
    with pytest.raises(ValueError, match="must broadcast"):
        xcorr(xs, np.ones((3, 8)), maxlag=2)


def test_split_rows_one_at_a_time_on_one_device(one_mesh):
    # Rows on both inputs, split along time: the engine would transform a
    # device's rows together, one row takes sums of products; the halo's
    # lagged sums go row by row (`_split._halo_sums`). Values and gradient
    # against the one-device program (the engine's FFT of the rows), in
    # float64: within 1e-12 (both err by about eps times the lag-0 sum).
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 256)).cumsum(-1)
    xs = jax.device_put(x, NamedSharding(one_mesh, P(None, "t")))

    def loss(v):
        return jax.numpy.sum(acf(v, nlags=10) ** 2)

    got, ref = acf(xs, nlags=10), acf(x, nlags=10)
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)
    g, g_ref = jax.grad(loss)(xs), jax.grad(loss)(x)
    np.testing.assert_allclose(g, g_ref, rtol=1e-12, atol=1e-12 * np.abs(g_ref).max())


@pytest.mark.slow  # 2.6 s; by default `xcorr-coeff-transform` takes this route
def test_pearson_windows_by_prefix_sums_on_one_device(one_mesh):
    # More lags than samples on a device (all 47 lags of 24 samples): the
    # windows' sums from prefix sums (`_xcorr._gathered_pearson`), chunk by
    # chunk. Against a float64 NumPy Pearson of each lag's overlapping
    # parts (0 where a part is constant or has fewer than two terms):
    # well-conditioned windows of 2 to 24 terms, within 1e-12.
    rng = np.random.default_rng(6)
    a = rng.standard_normal(24)
    a[:5], a[-4:] = 1.0, 2.0  # constant ends: windows of them give 0
    b = rng.standard_normal(24)
    b[10:14] = -1.0
    lags = np.arange(-23, 24)
    want = []
    for k in lags:
        u, v = (a[k:], b[: 24 - k]) if k >= 0 else (a[: 24 + k], b[-k:])
        if len(u) < 2 or np.ptp(u) == 0 or np.ptp(v) == 0:
            want.append(0.0)
            continue
        du, dv = u - u.mean(), v - v.mean()
        want.append(du @ dv / np.sqrt((du @ du) * (dv @ dv)))
    as_ = jax.device_put(a, NamedSharding(one_mesh, P("t")))
    got = xcorr(as_, b, normalize="coeff")
    np.testing.assert_array_equal(got.lags, lags)
    np.testing.assert_allclose(got.values, want, rtol=0, atol=1e-12)
    assert np.count_nonzero(np.asarray(got.values) == 0) >= 8  # the ends


def test_window_shifts_cover_the_blocks():
    # `Spread.shifts` (static): for windows of 5 samples at several starts
    # on 4 devices of 8 samples, the cyclic shifts of exactly the blocks
    # within the series that some device's window meets (brute force).
    ops = Spread(("t",), 4, -20, 20, None)
    for starts in ([-20], [-3], [0], [6], [-12, 9], [30]):
        want = set()
        for start in starts:
            for p in range(4):
                for g in range(p * 8 + start, p * 8 + start + 5):
                    if 0 <= g < 32:
                        want.add((g // 8 - p) % 4)
        assert ops.shifts(starts, 5, 8) == tuple(sorted(want)), starts


def test_pearson_omit_by_chunks_on_one_device(one_mesh):
    # Pearson with NaN omitted, all 63 lags of 32 samples (the program of
    # `test_split_route_on_one_device[omit]`): past the halo's reach, the
    # lags in chunks of windows (`_xcorr._chunked_pearson_omit`, 2 pieces
    # of 16 samples). Against a float64 NumPy Pearson of each
    # lag's pairs present (0 with fewer than two): the sums err by about
    # eps times the series' sums of squares (128 and 36), the windows'
    # sums of squared deviations are 0.32 and more, so r errs by about
    # 1e-13; within 1e-11.
    rng = np.random.default_rng(8)
    a, b = rng.standard_normal(32).cumsum(), rng.standard_normal(32)
    a[[2, 11, 12]], b[[0, 25]] = np.nan, np.nan
    want = []
    for k in range(-31, 32):
        u, v = (a[k:], b[: 32 - k]) if k >= 0 else (a[: 32 + k], b[-k:])
        ok = ~np.isnan(u) & ~np.isnan(v)
        u, v = u[ok], v[ok]
        if len(u) < 2:
            want.append(0.0)
            continue
        du, dv = u - u.mean(), v - v.mean()
        want.append(du @ dv / np.sqrt((du @ du) * (dv @ dv)))
    as_ = jax.device_put(a, NamedSharding(one_mesh, P("t")))
    got = xcorr(as_, b, normalize="coeff", nan_policy="omit").values
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-11)
