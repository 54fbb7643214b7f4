"""Eager calls of the engine: cached plans, buckets, bounded programs, dtypes.

Tolerances: bucketed results against the exact-shape program, float64:
direct sums within 1e-13 of the sum of magnitudes (zero terms added change
at most the order of a sum), transforms within 1e-11 of max|ref| (an FFT's
absolute error, near eps ||a|| ||v||, for a longer transform). Half
precision against a float32 computation rounded once: within 2 ulps of the
half-precision format at the result's scale.
"""

import contextlib
import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import ml_dtypes
import numpy as np
import pytest
import scipy.signal

import probconv
from probconv._checks import result_dtype
from probconv.conv import _choose, _host, _plan, _programs, set_max_programs


@contextlib.contextmanager
def _no_host():
    saved = _host.HOST_MAX_SECONDS
    _host.HOST_MAX_SECONDS = 0
    try:
        yield
    finally:
        _host.HOST_MAX_SECONDS = saved


def test_bucket_lengths_are_exact_below_eight_and_a_quarter_octave_above():
    for n in range(1, 3000):
        b = _plan.bucket_length(n)
        assert n <= b <= max(n, int(n * 1.25) + 1)
        assert _plan.bucket_length(b) == b
    assert len({_plan.bucket_length(n) for n in range(20, 2020)}) == 28


@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("method", ["direct", "fft"])
def test_bucketed_equals_exact_shapes(mode, method):
    rng = np.random.default_rng(0)
    a, v = rng.standard_normal(1000), rng.standard_normal(37)
    exact = np.asarray(
        probconv.convolve(jnp.asarray(a), jnp.asarray(v), mode, method=method)
    )
    with _no_host():
        got = np.asarray(probconv.convolve(a, v, mode, method=method))
        corr = np.asarray(probconv.correlate(a, v, mode, method=method))
    ref = scipy.signal.convolve(a, v, mode, method="direct")
    assert got.shape == exact.shape == ref.shape
    if method == "direct":
        scale = scipy.signal.convolve(np.abs(a), np.abs(v), mode, method="direct")
        np.testing.assert_array_less(np.abs(got - exact), 1e-13 * scale)
    else:
        np.testing.assert_array_less(np.abs(got - exact), 1e-11 * np.abs(ref).max())
    cref = scipy.signal.correlate(a, v, mode, method="direct")
    np.testing.assert_allclose(corr, cref, atol=1e-11 * np.abs(cref).max())


def test_non_finite_inputs_are_not_padded():
    # An infinite sample times a padded zero would be NaN: such inputs run at
    # their exact shapes, so the direct sum keeps scipy's answer.
    a = np.r_[np.inf, np.ones(3000)]
    v = np.ones(20)
    with _no_host():
        got = np.asarray(probconv.convolve(a, v, method="direct"))
    ref = scipy.signal.convolve(a, v, method="direct")
    np.testing.assert_array_equal(got, ref)


def test_loop_over_many_lengths_compiles_once_per_bucket(count_compiles):
    rng = np.random.default_rng(1)
    lengths = range(300, 420)
    buckets = {(_plan.bucket_length(n), 16) for n in lengths}
    with _no_host(), count_compiles() as compiles:
        for n in lengths:
            a, v = rng.standard_normal(n), rng.standard_normal(13)
            got = np.asarray(probconv.convolve(a, v, "same"))
            np.testing.assert_allclose(got, np.convolve(a, v, "same"), atol=1e-12 * n)
    assert len(compiles) <= len(buckets) * 2, (len(compiles), buckets)


def test_small_numpy_calls_compile_nothing(count_compiles):
    rng = np.random.default_rng(2)
    with count_compiles() as compiles:
        for n in range(50, 150):
            a, v = rng.standard_normal(n), rng.standard_normal(n % 7 + 1)
            got = probconv.correlate(a, v, "same")
            assert isinstance(got, jax.Array)
            np.testing.assert_allclose(
                np.asarray(got), scipy.signal.correlate(a, v, "same"), atol=1e-12
            )
    assert compiles == []


def test_programs_kept_are_bounded():
    rng = np.random.default_rng(3)
    old = set_max_programs(3)
    try:
        for n in range(40, 48):
            x = jnp.asarray(rng.standard_normal(n))
            probconv.convolve(x, x[:5])
            assert len(_programs.PROGRAMS) <= 3
    finally:
        set_max_programs(old)
    assert set_max_programs(old) == old


@pytest.mark.parametrize("bad", [0, -2, 2.5, True])
def test_set_max_programs_rejects_non_positive(bad):
    with pytest.raises(ValueError, match="`maxsize` must be a positive integer"):
        set_max_programs(bad)


def test_repeated_signature_reuses_its_plan():
    # (2-D: two 1-D NumPy arrays take the host's lean route, without a plan)
    a, v = np.ones((100, 100)), np.ones((3, 3))
    probconv.convolve(a, v)
    before = _plan.prepare.cache_info().hits
    probconv.convolve(a, v)
    assert _plan.prepare.cache_info().hits == before + 1


@pytest.mark.parametrize("dtype", [np.float16, ml_dtypes.bfloat16])
@pytest.mark.parametrize("route", ["jax", "host", "bucket"])
@pytest.mark.parametrize("fn", ["convolve", "correlate"])
def test_half_precision_computes_in_float32(dtype, route, fn):
    rng = np.random.default_rng(4)
    a = rng.standard_normal(300).astype(dtype)
    v = rng.standard_normal(11).astype(dtype)
    f = getattr(probconv, fn)
    if route == "jax":
        got = f(jnp.asarray(a), jnp.asarray(v), "same")
    elif route == "host":
        got = f(a, v, "same")
    else:
        with _no_host():
            got = f(a, v, "same")
    assert got.dtype == np.dtype(dtype)
    ref_fn = scipy.signal.convolve if fn == "convolve" else scipy.signal.correlate
    ref = ref_fn(a.astype(np.float64), v.astype(np.float64), "same")
    ulp = float(jnp.finfo(dtype).eps) * np.abs(ref).max()
    np.testing.assert_array_less(np.abs(np.asarray(got, np.float64) - ref), 2 * ulp)


def test_results_are_uncommitted_jax_arrays_of_the_engine_dtype():
    got = probconv.convolve(np.ones(5, np.float32), np.ones(3, np.float32))
    assert isinstance(got, jax.Array) and got.dtype == np.float32
    # Like jnp.asarray: usable next to arrays on any device of the backend.
    assert not got.committed
    assert got.tolist() == [1.0, 2.0, 3.0, 3.0, 3.0, 2.0, 1.0]


def test_compilation_cache_keeps_programs_on_disk(tmp_path):
    # A fresh process with JAX's defaults (x64 off), which also checks the
    # default dtype: integer lists give float32 (moved here from
    # test_conv.py, where it took a process of its own).
    code = textwrap.dedent(
        f"""
        import warnings
        import jax, jax.numpy as jnp, probconv
        with warnings.catch_warnings():  # (no warning about int64 lists)
            warnings.simplefilter("error")
            y = probconv.convolve([1, 2, 3], [1, 1])
        print(y.dtype, y.tolist())
        probconv.convolve(jnp.ones(5), jnp.ones(3))  # a compile before the switch
        probconv.use_compilation_cache({str(tmp_path)!r})
        probconv.convolve(jnp.ones(700), jnp.ones(9), method="fft")
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        check=True,
        timeout=300,
        capture_output=True,
        text=True,
        env=dict(os.environ, JAX_ENABLE_X64="0"),
    )
    assert out.stdout.split("\n")[0] == "float32 [1.0, 3.0, 5.0, 3.0]"
    assert any(tmp_path.iterdir())


def test_compilation_cache_rejects_a_non_path():
    with pytest.raises(TypeError, match="`directory` must be a path"):
        probconv.use_compilation_cache(3)


def test_host_auto_is_scipys_own_call_for_complex_and_n_d():
    # method='auto' on the host runs what scipy.signal.convolve runs for
    # complex and N-D inputs (its method choice, asked once per signature):
    # the same numbers, bit for bit.
    rng = np.random.default_rng(5)
    cases = [((100,), (3,)), ((1000,), (301,)), ((9000,), (9000,)), ((20, 30), (5, 7))]
    for s1, s2 in cases:
        a, v = rng.standard_normal(s1), rng.standard_normal(s2)
        dtypes = (np.complex128,) if len(s1) == 1 else (np.float64, np.complex128)
        for dtype in dtypes:
            a_, v_ = a.astype(dtype), v.astype(dtype)
            want = scipy.signal.choose_conv_method(a_, v_)
            assert _host.scipy_method(s1, s2, np.dtype(dtype)) == want
            got = np.asarray(probconv.convolve(a_, v_, "same"))
            np.testing.assert_array_equal(got, scipy.signal.convolve(a_, v_, "same"))
            got = np.asarray(probconv.correlate(a_, v_))
            np.testing.assert_array_equal(got, scipy.signal.correlate(a_, v_))
    assert _host.scipy_method((9000,), (9000,), np.dtype(np.float64)) == "fft"


# 1-D real shapes on each side of the host rule's crossovers (float64 and
# float32): (n1, n2, the method `host_method` picks).
HOST_RULE_CASES = [
    (300, 5, "direct"),
    (2000, 31, "direct"),
    (30_000, 8, "direct"),
    (3000, 1000, "fft"),
    (1500, 1500, "fft"),
    (10_000, 256, "overlap_add"),
    (40_000, 300, "overlap_add"),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_host_rule_sides_of_the_crossover(dtype):
    # The host's own rule for 1-D real inputs: direct sums (np.convolve, bit
    # for bit) where they are cheaper, a real FFT or overlap-add past the
    # crossovers, whose results match a float64 reference to the
    # transforms' rounding, near eps ||a|| ||v|| on every entry, in every
    # mode and for correlate.
    rng = np.random.default_rng(11)
    eps = jnp.finfo(dtype).eps
    for n1, n2, want in HOST_RULE_CASES:
        assert _host.host_method(n1, n2, np.dtype(dtype).itemsize) == want
        costs = _host.host_costs(n1, n2, np.dtype(dtype).itemsize)
        assert min(costs, key=costs.get) == want
        a = rng.standard_normal(n1).astype(dtype)
        v = rng.standard_normal(n2).astype(dtype)
        a64, v64 = a.astype(np.float64), v.astype(np.float64)
        tol = 30 * eps * np.linalg.norm(a64) * np.linalg.norm(v64)
        for mode in ("full", "same", "valid"):
            got = probconv.convolve(a, v, mode)
            assert isinstance(got, jax.Array) and got.dtype == dtype
            got = np.asarray(got)
            if want == "direct":
                np.testing.assert_array_equal(got, np.convolve(a, v, mode))
            ref = np.convolve(a64, v64, mode)
            np.testing.assert_array_less(np.abs(got - ref), tol)
            got = np.asarray(probconv.correlate(a, v, mode))
            ref = scipy.signal.correlate(a64, v64, mode, method="direct")
            np.testing.assert_array_less(np.abs(got - ref), tol)
    # SciPy's own rule sums these directly.
    for n1, n2 in ((10_000, 256), (40_000, 300)):
        assert _host.scipy_method((n1,), (n2,), np.dtype(np.float64)) == "direct"


@pytest.mark.parametrize("method", ["fft", "overlap_add"])
def test_host_transforms_at_the_edges(method):
    # The host's lean transforms, asked for by name: a one-point input,
    # the longer input second, and one block or many.
    rng = np.random.default_rng(16)
    for n1, n2 in ((5, 1), (1, 7), (3, 40), (64, 64), (1000, 3), (7, 3000)):
        a, v = rng.standard_normal(n1), rng.standard_normal(n2)
        for fn, ref in ((probconv.convolve, np.convolve), (probconv.correlate, None)):
            got = np.asarray(fn(a, v, method=method))
            want = ref(a, v) if ref else np.correlate(a, v, "full")
            tol = 30 * np.finfo(float).eps * np.linalg.norm(a) * np.linalg.norm(v)
            assert got.shape == want.shape
            np.testing.assert_array_less(np.abs(got - want), tol)


def test_host_transforms_match_the_jitted_engine():
    # The host's FFT (3000 x 1000) and overlap-add (10,000 x 256) and the
    # engine's jitted program agree to the transforms' rounding (the
    # bucketed tolerance above: 1e-11 of max|ref|).
    rng = np.random.default_rng(12)
    for (n1, n2), method in (((3000, 1000), "fft"), ((10_000, 256), "overlap_add")):
        assert _host.host_method(n1, n2, 8) == method
        a, v = rng.standard_normal(n1), rng.standard_normal(n2)
        host = np.asarray(probconv.convolve(a, v, "same"))
        jitted = probconv.convolve(jnp.asarray(a), jnp.asarray(v), "same")
        ref = np.convolve(a, v, "same")
        np.testing.assert_array_less(
            np.abs(host - np.asarray(jitted)), 1e-11 * np.abs(ref).max()
        )


def test_cheapest_price_first_keeps_the_route():
    # `prepare` prices large unbatched plans by their cheapest method first;
    # a price under the host bound exists exactly when the full estimate's
    # minimum is under it, so the route is the one the full estimate gives.
    f8 = np.dtype(np.float64)
    for n in (40_000, 200_000, 1_000_000, 5_000_000):
        for k in (3, 40, 301, 3000):
            plan = _plan.make_plan((n,), (k,), f8, "full", None)
            cheapest = min(_choose.estimate(plan, "cpu").values())
            for bound in (1e-4, 1e-3, 2e-2, 1.0):
                price = _choose.price_below(plan, "cpu", bound)
                assert (price is not None) == (cheapest < bound), (n, k, bound)
                if price is not None:
                    assert cheapest <= price < bound


def test_results_follow_the_x64_switch():
    # The host route's dtype lookups are cached with the switch in the key.
    assert probconv.conv.to_device(np.ones(3)).dtype == np.float64
    with jax.enable_x64(False):
        assert probconv.conv.to_device(np.ones(3)).dtype == np.float32
    assert probconv.conv.to_device(np.ones(3)).dtype == np.float64


# The lean route of two 1-D NumPy arrays (`_api._eager_1d`): its results
# must be those of the planned route (the same call with ``axes=0``, which
# plans), dtype and bits, and its errors those of the planned call.
EAGER_DTYPES = [
    (np.float64, np.float64),
    (np.float32, np.float32),
    (np.float16, np.float16),
    (np.int64, np.int64),
    (np.int32, np.float32),
    (np.bool_, np.float64),
    (np.complex128, np.float64),
    (np.float32, np.complex64),
]


@pytest.mark.parametrize("fn", ["convolve", "correlate"])
@pytest.mark.parametrize("dtypes", EAGER_DTYPES, ids=str)
def test_lean_route_equals_the_planned_one(fn, dtypes):
    rng = np.random.default_rng(13)
    f = getattr(probconv, fn)
    for n1, n2 in ((50, 7), (6, 40), (3000, 512)):
        a = (rng.standard_normal(n1) * 10).astype(dtypes[0])
        v = (rng.standard_normal(n2) * 10).astype(dtypes[1])
        if np.dtype(dtypes[1]).kind == "c":
            v = v + 1j * rng.standard_normal(n2).astype(dtypes[1])
        for mode in ("full", "same", "valid"):
            got = f(a, v, mode)
            planned = f(a, v, mode, axes=0)
            assert isinstance(got, jax.Array)
            assert got.dtype == planned.dtype == result_dtype(a.dtype, v.dtype)
            np.testing.assert_array_equal(np.asarray(got), np.asarray(planned))


@pytest.mark.filterwarnings("ignore:Explicitly requested dtype")
def test_lean_route_follows_the_x64_switch():
    a, v = np.arange(6.0), np.ones(3)
    with jax.enable_x64(False):
        got = probconv.convolve(a, v)
        assert got.dtype == np.float32
        assert probconv.correlate(a.astype(np.int64), v, "same").dtype == np.float32
    assert got.tolist() == [0.0, 1.0, 3.0, 6.0, 9.0, 12.0, 9.0, 5.0]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"mode": "bogus"}, ValueError, "`mode` must be one of 'full'"),
        ({"mode": "FULL"}, ValueError, "`mode` must be one of 'full'"),
        ({"mode": None}, ValueError, "`mode` must be one of 'full'"),
        ({"method": "fast"}, ValueError, "`method` must be one of 'auto'"),
        ({"method": 3}, ValueError, "`method` must be one of 'auto'"),
        ({"precision": "low"}, ValueError, "`precision` must be None"),
        ({"axes": 1}, ValueError, "axes"),
        ({"axes": 0.5}, TypeError, "axes"),
    ],
)
def test_lean_route_keeps_the_errors(kwargs, error, match):
    a, v = np.ones(5), np.ones(3)
    for fn in (probconv.convolve, probconv.correlate):
        with pytest.raises(error, match=match):
            fn(a, v, **kwargs)


def test_lean_route_keeps_the_input_errors():
    with pytest.raises(ValueError, match="`in1` must not be empty"):
        probconv.convolve(np.ones(0), np.ones(3))
    with pytest.raises(ValueError, match="`in2` must not be empty"):
        probconv.correlate(np.ones(3), np.ones(0))
    with pytest.raises(TypeError, match="`in2` must be a numeric array"):
        probconv.convolve(np.ones(3), np.array(["a", "b"]))
    with pytest.raises(ValueError, match="same number of dimensions"):
        probconv.convolve(np.ones(3), np.ones((2, 2)))
    with pytest.raises(ValueError, match="`maxlag` must be"):
        probconv.correlate(np.ones(3), np.ones(2), maxlag=-1)


def test_loop_over_new_sizes_compiles_nothing(count_compiles):
    # The benchmark's loop in small (benchmarks/eager.py, --only
    # loop-convolve): new (n, k) pairs, every tenth signal 20x longer, so
    # both sides of the host rule run; nothing compiles, and the values
    # are scipy's to the FFT's rounding.
    rng = np.random.default_rng(14)
    with count_compiles() as compiles:
        for i, n in enumerate(rng.permutation(np.arange(100, 160))):
            a = rng.standard_normal(n * (20 if i % 10 == 0 else 1))
            v = rng.standard_normal(rng.integers(3, 302))
            got = probconv.convolve(a, v)
            assert isinstance(got, jax.Array)
            ref = scipy.signal.convolve(a, v, method="direct")
            np.testing.assert_allclose(
                np.asarray(got), ref, atol=1e-12 * np.abs(ref).max()
            )
    assert compiles == []


def test_to_device_copies_and_never_aliases_the_callers_array():
    # XLA's CPU client would take a host array aligned to 64 bytes as its
    # buffer, so that the caller's later writes showed in the JAX array;
    # `to_device` copies within the call, aligned or not, small or large.
    rng = np.random.default_rng(15)
    for n in (7, 1000, 20_000):
        base = rng.standard_normal(n + 16)
        skip = (-base.ctypes.data % 64) // 8
        for offset in (skip, skip + 1):  # 64-byte aligned, then not
            for dtype in (np.float64, np.float32):
                y = base[offset : offset + n].astype(dtype, copy=False)
                got = probconv.conv.to_device(y)
                assert got.dtype == y.dtype and got.shape == y.shape
                assert not got.committed
                want = y.copy()
                y[...] = -1.0
                np.testing.assert_array_equal(np.asarray(got), want)
                base[offset : offset + n] = want


def test_host_results_carry_jaxs_interned_abstract_value(count_compiles):
    # The host route's results carry the abstract value JAX interns for
    # their shape and dtype (`_host._aval`), so a jitted function compiled
    # for a JAX array of that shape and dtype runs on them without
    # compiling again.
    for shape, dtype in (((7,), np.float64), ((2, 3), np.float32), ((), np.float64)):
        dtype = np.dtype(dtype)
        assert _host._aval(shape, dtype) is jax.core.ShapedArray(shape, dtype)
    got = probconv.convolve(np.arange(5.0), np.ones(3))  # 7 points, host route
    assert got.aval is jax.core.ShapedArray((7,), np.dtype(np.float64))
    double = jax.jit(lambda x: 2 * x)
    double(jnp.zeros(7))
    with count_compiles() as compiles:
        np.testing.assert_array_equal(
            np.asarray(double(got)), 2 * np.convolve(np.arange(5.0), np.ones(3))
        )
    assert compiles == []


def test_host_fft_through_pocketfft_matches_scipy_and_its_fallback(monkeypatch):
    # The host's FFT and overlap-add call pocketfft's transforms directly
    # (`_host._rfft`: SciPy's compiled module, checked once at import) and
    # take the short loop calls with long kernels since the FFT's fixed
    # cost was refitted (1,000 x 301 summed directly before). Against
    # scipy.signal.convolve's direct sums in float64, and against the same
    # routines through scipy.fft (the fallback where the module moves):
    # within 30 eps ||a|| ||v|| on every entry (an FFT's rounding), in
    # float64 and float32; for correlate too.
    assert _host._RAW_FFT is _host._pocketfft_works()
    assert _host.host_method(1000, 301, 8) == "fft"
    assert _host.host_method(2000, 31, 8) == "direct"
    rng = np.random.default_rng(17)
    shapes = ((1000, 301), (301, 1000), (1500, 200), (40_000, 300), (10_000, 31))
    for dtype in (np.float64, np.float32):
        eps = jnp.finfo(dtype).eps
        for n1, n2 in shapes:
            a = rng.standard_normal(n1).astype(dtype)
            v = rng.standard_normal(n2).astype(dtype)
            a64, v64 = a.astype(np.float64), v.astype(np.float64)
            tol = 30 * eps * np.linalg.norm(a64) * np.linalg.norm(v64)
            got = probconv.convolve(a, v)
            assert isinstance(got, jax.Array) and got.dtype == dtype
            ref = scipy.signal.convolve(a64, v64, method="direct")
            np.testing.assert_array_less(np.abs(np.asarray(got) - ref), tol)
            got = np.asarray(probconv.correlate(a, v, "same"))
            ref = scipy.signal.correlate(a64, v64, "same", method="direct")
            np.testing.assert_array_less(np.abs(got - ref), tol)
            raw = {f: f(a, v) for f in (_host.fft_convolve, _host.oa_convolve)}
            with monkeypatch.context() as m:
                m.setattr(_host, "_RAW_FFT", False)
                for f, y in raw.items():
                    fallback = f(a, v)
                    assert fallback.dtype == y.dtype == dtype
                    np.testing.assert_array_less(np.abs(fallback - y), tol)


def test_host_route_target_is_the_default_cpu_device():
    # `cpu_target` answers the host route's question once per backend
    # client: the default CPU device and its sharding, which the route's
    # results carry (uncommitted, like jnp.asarray's).
    target = _host.cpu_target()
    assert target is not None
    device, sharding = target
    assert device == jax.local_devices()[0]
    assert sharding == jax.sharding.SingleDeviceSharding(device)
    got = probconv.convolve(np.arange(50.0), np.ones(4))
    assert got.devices() == {device} and not got.committed
    np.testing.assert_array_equal(
        np.asarray(got), np.convolve(np.arange(50.0), np.ones(4))
    )


def test_host_overlap_add_blocks_are_powers_of_two():
    # Overlap-add's blocks are the power of two at or above 4 kernel lengths
    # (and 256 points), so a loop over kernels of 3..301 taps meets four
    # transform lengths. On both sides of each step (64/65, 128/129, 256/257
    # taps), with a last block that is full or short, the result matches a
    # float64 reference to the transforms' rounding: within 30 eps ||a|| ||v||
    # on every entry, float64 and float32, for convolve and correlate.
    assert [_host.oa_block(k) for k in (3, 64, 65, 128, 129, 256, 257, 301)] == [
        256, 256, 512, 512, 1024, 1024, 2048, 2048,
    ]  # fmt: skip
    assert _host.oa_block(np.int64(65)) == 512  # NumPy lengths too
    rng = np.random.default_rng(18)
    for dtype in (np.float64, np.float32):
        eps = jnp.finfo(dtype).eps
        for n1, n2 in ((9000, 64), (9001, 65), (12_000, 128), (4000, 129), (5227, 257)):
            a = rng.standard_normal(n1).astype(dtype)
            v = rng.standard_normal(n2).astype(dtype)
            a64, v64 = a.astype(np.float64), v.astype(np.float64)
            tol = 30 * eps * np.linalg.norm(a64) * np.linalg.norm(v64)
            raw = _host.oa_convolve(a, v)
            assert raw.dtype == dtype
            np.testing.assert_array_less(np.abs(raw - np.convolve(a64, v64)), tol)
            got = probconv.convolve(a, v, method="overlap_add")
            assert isinstance(got, jax.Array) and got.dtype == dtype
            np.testing.assert_array_less(
                np.abs(np.asarray(got) - np.convolve(a64, v64)), tol
            )
            got = np.asarray(probconv.correlate(a, v, "same", method="overlap_add"))
            ref = scipy.signal.correlate(a64, v64, "same", method="direct")
            np.testing.assert_array_less(np.abs(got - ref), tol)
