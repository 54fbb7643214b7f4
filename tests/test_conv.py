"""The engine against scipy.signal, with its invariants and error paths.

Tolerances (float64), stated once:

- direct: |got - ref| <= 1e-12 * (|in1| * |in2|)_k, the relative error of a
  sum of products measured against the sum of magnitudes it adds up;
- fft, overlap_add: |got - ref| <= 1e-10 * max|ref| (an FFT's error is
  absolute, near eps * ||in1|| ||in2||, on every entry).
- float32: the same with 1e-5 in place of 1e-12 / 1e-10.

Each property runs on the three routes an eager call can take (`_route`):
JAX arrays (the jitted program of the exact shapes), small NumPy inputs (the
host path) and NumPy inputs padded to bucket lengths.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.ndimage
import scipy.signal
from _reference import check_grads
from hypothesis import given, settings
from hypothesis import strategies as st

import probconv
from probconv.conv import _choose, _fft, _host, _pfa, _transforms

METHODS = ("direct", "fft", "overlap_add", "auto")
MODES = ("full", "same", "valid")
RTOL = {("direct", 8): 1e-12, ("fft", 8): 1e-10, ("overlap_add", 8): 1e-10}
RTOL |= {(m, 4): 1e-5 for m in ("direct", "fft", "overlap_add")}


ROUTES = ("jax", "host", "bucket")


def _pairwise(first, second, third):
    """Every pair of options from three axes in len(first) * len(second) cases.

    Each case of static options compiles its own programs: the default run
    covers every pair (a Latin square over the third axis), the slow run the
    full product.
    """
    cases = [
        (x, y, third[(i + j) % len(third)])
        for i, x in enumerate(first)
        for j, y in enumerate(second)
    ]
    slow = [
        pytest.param(x, y, z, marks=pytest.mark.slow)
        for x in first
        for y in second
        for z in third
        if (x, y, z) not in cases
    ]
    return cases + slow


def _rng(seed=0):
    return np.random.default_rng(seed)


def _route(route, fn, a, v, *args, **kwargs):
    """Call `fn` on `a`, `v` by one of the routes of an eager call."""
    if route == "jax":
        return fn(jnp.asarray(a), jnp.asarray(v), *args, **kwargs)
    saved = _host.HOST_MAX_SECONDS
    _host.HOST_MAX_SECONDS = saved if route == "host" else 0
    try:
        return fn(np.asarray(a), np.asarray(v), *args, **kwargs)
    finally:
        _host.HOST_MAX_SECONDS = saved


def _data(rng, shape, complex_=False, dtype=np.float64):
    x = rng.standard_normal(shape)
    if complex_:
        x = x + 1j * rng.standard_normal(shape)
    return x.astype(np.result_type(dtype, x.dtype))


def _broadcast_batch(a, v, axes):
    """Broadcast the batch axes explicitly (scipy issue 21876 sidesteps)."""
    ax = range(a.ndim) if axes is None else np.atleast_1d(axes) % a.ndim
    sa, sv = list(a.shape), list(v.shape)
    for d in range(a.ndim):
        if d not in ax:
            sa[d] = sv[d] = max(a.shape[d], v.shape[d])
    return np.broadcast_to(a, sa), np.broadcast_to(v, sv)


def _reference(a, v, mode, axes, corr=False):
    a, v = _broadcast_batch(a, v, axes)
    if corr:
        ax = range(a.ndim) if axes is None else axes
        v = np.conj(np.flip(v, ax))
    return scipy.signal.fftconvolve(a, v, mode, axes=axes), a, v


def _assert_close(got, a, v, mode, axes, method, ref):
    got = np.asarray(got)
    assert got.shape == ref.shape
    size = np.dtype(got.dtype).itemsize // (2 if np.iscomplexobj(got) else 1)
    meth = "direct" if method == "direct" else "fft"
    rtol = RTOL[(meth, size)]
    if meth == "direct":
        scale = scipy.signal.fftconvolve(np.abs(a), np.abs(v), mode, axes=axes)
        scale = np.abs(scale) + np.abs(ref).max() * 1e-3  # FFT reference's own error
    else:
        scale = np.abs(ref).max()
    np.testing.assert_array_less(np.abs(got - ref), rtol * scale + 1e-300)


@st.composite
def conv_case(draw):
    ndim = draw(st.integers(1, 3))
    nconv = draw(st.integers(1, ndim))
    axes = sorted(draw(st.permutations(range(ndim)))[:nconv])
    s1, s2 = [], []
    for d in range(ndim):
        if d in axes:
            s1.append(draw(st.integers(1, 12)))
            s2.append(draw(st.integers(1, 12)))
        else:
            n = draw(st.integers(1, 3))
            s1.append(draw(st.sampled_from([n, 1])))
            s2.append(draw(st.sampled_from([n, 1])))
    mode = draw(st.sampled_from(MODES))
    if mode == "valid":  # one input must cover the other
        big = draw(st.booleans())
        for d in axes:
            lo, hi = sorted((s1[d], s2[d]))
            s1[d], s2[d] = (hi, lo) if big else (lo, hi)
    use_axes = None if len(axes) == ndim and draw(st.booleans()) else axes
    return tuple(s1), tuple(s2), use_axes, mode, draw(st.booleans())


@given(
    case=conv_case(),
    method=st.sampled_from(METHODS),
    seed=st.integers(0, 99),
    route=st.sampled_from(ROUTES),
)
def test_convolve_matches_scipy(case, method, seed, route):
    s1, s2, axes, mode, cplx = case
    rng = _rng(seed)
    a, v = _data(rng, s1, cplx), _data(rng, s2)
    ref, ab, vb = _reference(a, v, mode, axes)
    got = _route(route, probconv.convolve, a, v, mode, method=method, axes=axes)
    _assert_close(got, ab, vb, mode, axes, method, ref)


@given(
    case=conv_case(),
    method=st.sampled_from(METHODS),
    seed=st.integers(0, 99),
    route=st.sampled_from(ROUTES),
)
def test_correlate_matches_scipy(case, method, seed, route):
    s1, s2, axes, mode, cplx = case
    rng = _rng(seed)
    a, v = _data(rng, s1), _data(rng, s2, cplx)
    ref, ab, vb = _reference(a, v, mode, axes, corr=True)
    got = _route(route, probconv.correlate, a, v, mode, method=method, axes=axes)
    _assert_close(got, ab, vb, mode, axes, method, ref)


@pytest.mark.parametrize(
    "route, mode, method", _pairwise(ROUTES, MODES, ["direct", "fft"])
)
def test_correlate_1d_against_scipy_and_numpy(mode, method, route):
    rng = _rng(1)
    a, v = _data(rng, 40, True), _data(rng, 9, True)
    ref = scipy.signal.correlate(a, v, mode)
    got = np.asarray(_route(route, probconv.correlate, a, v, mode, method=method))
    np.testing.assert_allclose(got, ref, atol=1e-12 * np.abs(ref).max())
    if mode != "same":  # numpy's "same" centres differently for even lengths
        np.testing.assert_allclose(
            got, np.correlate(a, v, mode), atol=1e-12 * np.abs(ref).max()
        )


def test_correlate_is_convolve_with_conjugate_flip():
    rng = _rng(2)
    a, v = _data(rng, (3, 30), True), _data(rng, (3, 7), True)
    c = probconv.correlate(a, v, axes=1, method="fft")
    d = probconv.convolve(a, np.conj(v[:, ::-1]), axes=1, method="fft")
    np.testing.assert_allclose(np.asarray(c), np.asarray(d), atol=1e-12)


def test_large_1d_all_methods_agree_with_scipy():
    rng = _rng(3)
    a, v = rng.standard_normal(20_000), rng.standard_normal(129)
    for mode in MODES:
        ref = scipy.signal.oaconvolve(a, v, mode)
        for method in ("direct", "fft", "overlap_add"):
            got = probconv.convolve(a, v, mode, method=method)
            _assert_close(got, a, v, mode, None, method, ref)


def test_overlap_add_2d_batched():
    rng = _rng(4)
    a, v = rng.standard_normal((2, 300, 200)), rng.standard_normal((1, 9, 5))
    ref = scipy.signal.oaconvolve(a, np.broadcast_to(v, (2, 9, 5)), axes=(1, 2))
    got = probconv.convolve(a, v, method="overlap_add", axes=(1, 2))
    _assert_close(got, a, v, "full", (1, 2), "overlap_add", ref)


def test_size_one_batch_axis_broadcasts_in_same_mode():
    # scipy issue 21876: fftconvolve returns shape (1, 100) here.
    a, v = np.ones((1, 100)), _data(_rng(5), (7, 3))
    got = probconv.convolve(a, v, "same", axes=1)
    assert got.shape == (7, 100)
    ref = np.stack([np.convolve(a[0], row, "same") for row in v])
    np.testing.assert_allclose(np.asarray(got), ref, atol=1e-12)


@pytest.mark.parametrize(
    "route, method, maxlag",
    _pairwise(ROUTES, ["direct", "fft", "overlap_add"], [0, 5, 60]),
)
def test_maxlag_slices_the_full_correlation(method, maxlag, route):
    rng = _rng(6)
    a, v = rng.standard_normal(50), rng.standard_normal(20)
    full = scipy.signal.correlate(a, v)
    lags = scipy.signal.correlation_lags(50, 20)
    want = np.array(
        [full[lags == k][0] if k in lags else 0.0 for k in range(-maxlag, maxlag + 1)]
    )
    got = _route(route, probconv.correlate, a, v, method=method, maxlag=maxlag)
    np.testing.assert_allclose(np.asarray(got), want, atol=1e-12 * np.abs(full).max())
    assert list(probconv.correlation_lags(50, 20, maxlag=maxlag)) == list(
        range(-maxlag, maxlag + 1)
    )


def test_maxlag_fft_uses_a_short_transform():
    # Lags -m..m of two inputs of n need a circular length of n + m, not 2n - 1.
    from probconv.conv._plan import plan_of as _plan

    a = jnp.zeros(1000)
    plan = _plan(a, a, "full", None, maxlag=10)
    assert plan.start == (989,) and plan.length == (21,)
    assert probconv.conv.internal.circular_size(1000, 1000, 989, 21) == 1010


@pytest.mark.parametrize("n1,n2", [(4, 3), (3, 4), (5, 2), (2, 7), (6, 6), (1, 5)])
@pytest.mark.parametrize("mode", MODES)
def test_correlation_lags_label_the_entries(n1, n2, mode):
    rng = _rng(7)
    a, v = rng.standard_normal(n1), rng.standard_normal(n2)
    full = np.asarray(probconv.correlate(a, v, method="direct"))
    part = np.asarray(probconv.correlate(a, v, mode, method="direct"))
    lags = probconv.correlation_lags(n1, n2, mode)
    full_lags = probconv.correlation_lags(n1, n2)
    assert len(lags) == len(part)
    for lag, value in zip(lags, part):
        np.testing.assert_allclose(value, full[full_lags == lag][0], atol=1e-12)
    if not (mode == "same" and n1 % 2 == 1 and n2 % 2 == 0):
        # scipy's 'same' lags are off by one for odd n1, even n2.
        assert list(lags) == list(scipy.signal.correlation_lags(n1, n2, mode))


@pytest.mark.parametrize("mode", probconv.conv.internal.BOUNDARY_MODES)
@pytest.mark.parametrize("width", [1, 3, 7])
def test_pad_matches_scipy_ndimage(mode, width):
    # Correlating with a kernel that picks one shifted sample reads exactly
    # the padded values that ndimage puts beyond the edge.
    x = _rng(8).standard_normal(5)
    padded = np.asarray(probconv.pad(x, width, mode, cval=2.5))
    assert padded.shape == (5 + 2 * width,)
    for shift in range(-width, width + 1):
        k = np.zeros(2 * width + 1)
        k[width + shift] = 1.0
        ref = scipy.ndimage.correlate1d(x, k, mode=mode, cval=2.5)
        np.testing.assert_allclose(padded[width + shift : width + shift + 5], ref)


def test_pad_axes_and_pairs():
    x = np.arange(12.0).reshape(3, 4)
    got = probconv.pad(x, [(1, 2)], "nearest", axes=1)
    np.testing.assert_array_equal(np.asarray(got), np.pad(x, [(0, 0), (1, 2)], "edge"))


def _is_5_smooth(n):
    for p in (2, 3, 5):
        while n % p == 0:
            n //= p
    return n == 1


@pytest.mark.parametrize("n", [16384, 19999, 10**5 + 2999, 1_999_999, 4_000_000])
def test_pfa_factors_are_the_shortest_coprime_split(n):
    a, b = _pfa.pfa_factors(n)
    assert a & (a - 1) == 0 and b % 2 == 1 and _is_5_smooth(b)
    assert a >= 16 and b >= 81 and a * b >= n
    # no 5-smooth period in [n, a*b) splits into admissible factors
    for p in range(n, a * b):
        if _is_5_smooth(p):
            odd = p // (p & -p)
            assert p // odd < 16 or odd < 81
    assert _pfa.pfa_factors(1000) is None
    assert _pfa.uses_pfa(n, "cpu") and not _pfa.uses_pfa(n, "gpu")


@st.composite
def pfa_case(draw):
    a = draw(st.sampled_from([2, 4, 8, 16]))
    b = draw(st.sampled_from([3, 5, 9, 15, 25, 27]))
    n1, n2 = draw(st.integers(1, 40)), draw(st.integers(1, 40))
    full = n1 + n2 - 1
    start = draw(st.integers(0, full - 1))
    length = draw(st.integers(1, full - start))
    period = _transforms.circular_size(n1, n2, start, length)
    batch = draw(st.sampled_from([((), ()), ((3,), (1,)), ((2,), (2,))]))
    return a, b, n1, n2, start, length, period, batch, draw(st.booleans())


# Each example compiles anew: one program under jax.jit (0.4 s), where eager
# calls compiled each of its operations (1.2 s; the engine runs the mapping
# only inside its jitted programs); test_long_1d_fft_runs_as_2d_transforms
# runs the mapping through the engine.
@settings(max_examples=5)
@given(case=pfa_case(), seed=st.integers(0, 99))
def test_prime_factor_mapping_matches_numpy(case, seed):
    # The 2-D form of a circular convolution, on factors small enough to
    # reach every window, batch and dtype; the period must cover the window.
    a, b, n1, n2, start, length, period, (b1, b2), cplx = case
    rng = _rng(seed)
    x, v = _data(rng, b1 + (n1,), cplx), _data(rng, b2 + (n2,))
    if a * b < period:
        a = 2 ** int(np.ceil(np.log2(-(-period // b))))
    got = jax.jit(_fft.pfa_convolve_window, static_argnums=(2, 3, 4, 5))(
        x, v, start, length, (a, b), not cplx
    )
    shape = np.broadcast_shapes(x.shape[:-1], v.shape[:-1])
    xs = np.broadcast_to(x, shape + (n1,)).reshape(-1, n1)
    vs = np.broadcast_to(v, shape + (n2,)).reshape(-1, n2)
    full = np.array([np.convolve(r, s) for r, s in zip(xs, vs)])
    ref = full.reshape(shape + (-1,))[..., start : start + length]
    np.testing.assert_allclose(got, ref, atol=1e-12 * max(1.0, np.abs(full).max()))


@pytest.mark.parametrize("cplx", [False, True])
@pytest.mark.parametrize("mode", MODES)
def test_long_1d_fft_runs_as_2d_transforms(mode, cplx):
    # 2e4 points: the engine's fft method maps them onto 32 x 625 on the CPU.
    rng = _rng(31)
    a, v = _data(rng, 12_000, cplx), _data(rng, 8_001)
    if jax.default_backend() == "cpu":
        assert _pfa.uses_pfa(20_000, "cpu")
    got = probconv.convolve(a, v, mode, method="fft")
    _assert_close(got, a, v, mode, None, "fft", scipy.signal.fftconvolve(a, v, mode))
    ref = scipy.signal.fftconvolve(a, v, mode)
    a32 = a.astype(np.complex64 if cplx else np.float32)
    got32 = probconv.convolve(a32, v.astype(np.float32), mode, method="fft")
    _assert_close(got32, a, v, mode, None, "fft", ref)
    lags = probconv.correlate(a, v, maxlag=30, method="fft")
    full = scipy.signal.correlate(a, v)
    np.testing.assert_allclose(
        lags, full[8000 - 30 : 8000 + 31], atol=1e-10 * np.abs(full).max()
    )


def test_prime_factor_mapping_grad_jit_vmap():
    rng = _rng(32)
    x, v = rng.standard_normal(50), rng.standard_normal(30)

    def f(x, v):  # the full convolution, period 8 * 15 = 120 >= 79
        return _fft.pfa_convolve_window(x, v, 0, 79, (8, 15), True)

    # (jitted only: the engine never runs this internal function op by op,
    # which compiled each of its operations, 30 programs)
    np.testing.assert_allclose(jax.jit(f)(x, v), np.convolve(x, v), atol=1e-12)
    xs = rng.standard_normal((3, 50))
    np.testing.assert_allclose(
        jax.jit(jax.vmap(f, in_axes=(0, None)))(xs, v),  # one program, not one per op
        np.stack([np.convolve(r, v) for r in xs]),
        atol=1e-12,
    )
    check_grads(jax.jit(f), (x, v), order=1, modes=("fwd", "rev"))  # bilinear


@pytest.mark.parametrize("method", ["direct", "fft", "overlap_add"])
def test_jit_vmap_and_grad(method):
    rng = _rng(9)
    a, v = rng.standard_normal(40), rng.standard_normal(6)

    def f(a, v):
        return probconv.convolve(a, v, "same", method=method)

    np.testing.assert_allclose(jax.jit(f)(a, v), f(a, v), atol=1e-12)
    batch = rng.standard_normal((3, 40))
    np.testing.assert_allclose(
        jax.jit(jax.vmap(f, in_axes=(0, None)))(batch, v),  # one program
        np.stack([f(b, v) for b in batch]),
        atol=1e-12,
    )
    check_grads(f, (a, v), order=2, modes=("fwd", "rev"))


@pytest.mark.parametrize("form", ["shifted", "conv"])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "s1,s2",
    [
        ((40,), (31,)),
        ((40,), (1,)),
        ((5,), (40,)),
        ((3, 40), (3, 7)),  # both batched: the grouped case
        ((3, 40), (1, 7)),
        ((1, 12), (4, 3)),
    ],
)
def test_both_forms_of_direct_match_scipy(form, mode, s1, s2, monkeypatch):
    # `_direct` picks a form by cost; each must be right on its own.
    from probconv.conv import _direct
    from probconv.conv._plan import plan_of as _plan

    rng = _rng(21)
    a, v = _data(rng, s1, complex_=True), _data(rng, s2)
    plan = _plan(jnp.asarray(a), jnp.asarray(v), mode, -1)
    # Under jax.jit, as the engine runs them: one program (these internal
    # functions run eagerly op by op, one program per shifted product).
    if form == "shifted":
        got = jax.jit(
            lambda a, v: _direct._shifted_window(a, v, plan.start[0], plan.length[0])
        )(jnp.asarray(a), jnp.asarray(v))
    else:
        monkeypatch.setattr(_choose, "SHIFT_MAX_TAPS", 0)  # one XLA convolution
        got = jax.jit(
            lambda a, v: _direct.convolve_window(
                a,
                v,
                (0,),
                (s1[-1] + s2[-1] - 1,),
                precision=jax.lax.Precision.HIGHEST,
            )
        )(jnp.asarray(a), jnp.asarray(v))
        got = got[..., plan.start[0] : plan.start[0] + plan.length[0]]
    ref, ab, vb = _reference(a, v, mode, -1)
    _assert_close(got, ab, vb, mode, -1, "direct", ref)


@pytest.mark.skipif(jax.default_backend() != "cpu", reason="the CPU's cost model")
def test_short_kernels_on_both_batched_inputs_stay_direct():
    # XLA:CPU's grouped convolution is ~1000x slow; shifted sums are not.
    a, v = np.ones((64, 1000)), np.ones((64, 31))
    assert probconv.choose_method(a, v, axes=-1) == "direct"
    assert probconv.choose_method(a, np.ones((64, 129)), axes=-1) != "direct"


def test_grad_complex_and_batched_direct():
    rng = _rng(10)
    a = rng.standard_normal((2, 15)) + 1j * rng.standard_normal((2, 15))
    v = rng.standard_normal((2, 4))

    def f(a, v):
        return probconv.correlate(a, v, axes=1, method="direct")

    check_grads(f, (a, v), order=1, modes=("rev",))


def test_dtypes_follow_inputs():
    f32 = np.ones(10, np.float32)
    assert probconv.convolve(f32, f32).dtype == jnp.float32
    assert probconv.convolve(f32, np.ones(3)).dtype == jnp.float64
    assert probconv.convolve([1, 2, 3], [1, 1]).dtype == jnp.float64  # x64 on
    assert probconv.convolve(f32, np.ones(3, np.complex64)).dtype == jnp.complex64
    assert probconv.convolve([True, False], [1, 1]).tolist() == [1.0, 1.0, 0.0]


@pytest.mark.parametrize("method", ["direct", "fft", "overlap_add"])
def test_float32_accuracy(method):
    rng = _rng(11)
    a, v = rng.standard_normal(3000), rng.standard_normal(50)
    ref = np.convolve(a, v)
    got = probconv.convolve(a.astype(np.float32), v.astype(np.float32), method=method)
    assert got.dtype == jnp.float32
    _assert_close(got, a, v, "full", None, method, ref)


def test_precision_keyword():
    a, v = _data(_rng(12), 30), _data(_rng(13), 5)
    ref = np.convolve(a, v)
    for p in (None, "highest", "high", "default", jax.lax.Precision.HIGHEST):
        got = probconv.convolve(a, v, method="direct", precision=p)
        np.testing.assert_allclose(np.asarray(got), ref, atol=1e-10)
    with pytest.raises(ValueError, match="`precision` must be"):
        probconv.convolve(a, v, precision="bf16")


def test_choose_method_is_what_auto_runs():
    assert probconv.choose_method(np.ones(100), np.ones(3)) == "direct"
    assert probconv.choose_method(np.ones(10**5), np.ones(10**5)) == "fft"
    assert probconv.choose_method(np.ones(10**6), np.ones(301)) == "overlap_add"
    # Both inputs batched: XLA:CPU's grouped convolution is far too slow.
    both = probconv.choose_method(np.ones((32, 1025)), np.ones((32, 1025)), axes=1)
    assert both != "direct"
    assert probconv.choose_method(np.ones((32, 1025)), np.ones((1, 5)), axes=1) == (
        "direct"
    )
    spec = jax.ShapeDtypeStruct((10**6,), jnp.float64)
    assert probconv.choose_method(spec, np.ones(301)) == "overlap_add"
    for backend in ("cpu", "gpu"):
        from probconv.conv._plan import plan_of as _plan

        plan = _plan(jnp.zeros(1000), jnp.zeros(31), "full", None)
        est = _choose.estimate(plan, backend)
        assert set(est) == {"direct", "fft", "overlap_add"}
        assert all(t > 0 for t in est.values())


def test_zero_dimensional_inputs_multiply():
    assert float(probconv.convolve(2.0, 3.0)) == 6.0
    assert float(probconv.correlate(2.0, 3.0j).imag) == -6.0


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (
            {"mode": "middle"},
            ValueError,
            "`mode` must be one of 'full', 'same', 'valid'; got 'middle'",
        ),
        ({"method": "fast"}, ValueError, "`method` must be one of 'auto', 'direct'"),
        ({"axes": 2}, ValueError, "`axes` entry 2 is out of range"),
        ({"axes": (0, 0)}, ValueError, "must not repeat an axis"),
        ({"axes": ()}, ValueError, "must name at least one axis"),
        ({"axes": 0.5}, TypeError, "`axes` must hold integers"),
    ],
)
def test_bad_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        probconv.convolve(np.ones((3, 4)), np.ones((2, 2)), **kwargs)


def test_bad_inputs():
    with pytest.raises(ValueError, match="`in1` must not be empty"):
        probconv.convolve(np.ones(0), np.ones(3))
    with pytest.raises(ValueError, match="`in2` must not be empty"):
        probconv.correlate(np.ones(3), [])
    with pytest.raises(TypeError, match="`in1` must be a numeric array"):
        probconv.convolve(["a", "b"], [1.0])
    with pytest.raises(TypeError, match="`in2` must be a numeric array"):
        probconv.convolve([1.0], np.array([None, 1], dtype=object))
    with pytest.raises(ValueError, match="same number of dimensions"):
        probconv.convolve(np.ones((3, 3)), np.ones(3))
    with pytest.raises(ValueError, match="same number of dimensions"):
        probconv.convolve(np.ones(3), 2.0)
    with pytest.raises(ValueError, match="one input must be at least as large"):
        probconv.convolve(np.ones((5, 2)), np.ones((2, 5)), "valid")
    with pytest.raises(ValueError, match="sizes must match or one must be 1"):
        probconv.convolve(np.ones((2, 5)), np.ones((3, 5)), axes=1)
    with pytest.raises(ValueError, match="`maxlag` must be at least 0; got -1"):
        probconv.correlate(np.ones(5), np.ones(5), maxlag=-1)
    with pytest.raises(ValueError, match="`in1_len` must be a positive integer"):
        probconv.correlation_lags(0, 3)
    with pytest.raises(ValueError, match="`mode` must be one of 'constant'"):
        probconv.pad(np.ones(3), 1, "symmetric")
    with pytest.raises(ValueError, match="`pad_width` must hold non-negative"):
        probconv.pad(np.ones(3), -1)
    with pytest.raises(ValueError, match="one width or one"):
        probconv.pad(np.ones((3, 3)), [1, 2, 3])


def test_long_batches_go_a_few_rows_at_a_time_on_a_cpu():
    # Batches of more than 2^19 transform points go by `lax.map` on a CPU
    # with one device (`_fft.by_rows`): the same numbers as scipy's FFT
    # convolution row by row (float64 FFTs of 7e4 points: 1e-12 of the
    # largest entry), for both inputs batched, a shared kernel, broadcast
    # batches and two convolved axes; and gradients through the loop.
    rng = np.random.default_rng(11)
    a = rng.standard_normal((9, 40_000))
    b = rng.standard_normal((9, 30_000))
    cases = [
        (a, b, -1),
        (a, b[:1], -1),
        (a.reshape(3, 3, 40_000)[:, :1], b[:3].reshape(1, 3, 30_000), -1),
        (rng.random((4, 300, 300)), rng.random((4, 200, 200)), (1, 2)),
    ]

    def fft(x, v, axes):
        return probconv.convolve(x, v, method="fft", axes=axes)

    for x, v, axes in cases:
        text = jax.jit(fft, static_argnums=2).lower(x, v, axes).as_text()
        assert "while" in text  # the loop over rows
        want = scipy.signal.fftconvolve(x, v, axes=axes)
        np.testing.assert_allclose(
            fft(x, v, axes), want, rtol=0, atol=1e-12 * np.abs(want).max()
        )
    w = rng.standard_normal((9, 69_999))
    g = jax.grad(lambda x: jnp.sum(w * fft(x, b, -1)))(jnp.asarray(a))
    want = scipy.signal.fftconvolve(w, b[:, ::-1], "valid", axes=-1)
    np.testing.assert_allclose(g, want, rtol=0, atol=1e-11 * np.abs(want).max())
