"""The engine's boundary-aware filters against scipy.ndimage."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.ndimage as ndi
from _reference import check_grads
from hypothesis import given
from hypothesis import strategies as st

from probconv import conv
from probconv.conv._choose import running_method

BOUNDARIES = ("reflect", "mirror", "nearest", "wrap", "constant")
# numpy.pad's names for the 'full' references.
NUMPY = {
    "reflect": "symmetric",
    "mirror": "reflect",
    "nearest": "edge",
    "wrap": "wrap",
    "constant": "constant",
}
# A few shared sizes keep the compiled programs few; kernels longer than
# the signal are among them.
SIZES = (1, 2, 5, 16, 40)
TAPS = (1, 2, 3, 4, 7, 33, 50)
TOL = {np.float64: 1e-10, np.complex128: 1e-10, np.float32: 2e-4}


def _data(rng, shape, dtype):
    x = rng.standard_normal(shape)
    if np.dtype(dtype).kind == "c":
        x = x + 1j * rng.standard_normal(shape)
    return x.astype(dtype)


def _close(got, ref, dtype):
    got = np.asarray(got)
    scale = max(1.0, float(np.max(np.abs(ref))))
    np.testing.assert_allclose(got, ref, rtol=0, atol=TOL[dtype] * scale)


@given(
    n=st.sampled_from(SIZES),
    w=st.sampled_from(TAPS),
    boundary=st.sampled_from(BOUNDARIES),
    dtype=st.sampled_from((np.float64, np.float32, np.complex128)),
    axis=st.sampled_from((0, -1)),
    shift=st.floats(0, 1),
    convolve=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_filters_match_ndimage(n, w, boundary, dtype, axis, shift, convolve, seed):
    rng = np.random.default_rng(seed)
    origin = int(round(-(w // 2) + shift * ((w - 1) // 2 + w // 2)))
    shape = (n, 3) if axis == 0 else (3, n)
    x = _data(rng, shape, dtype)
    k = _data(rng, w, dtype)
    ours, ref = (
        (conv.convolve1d, ndi.convolve1d)
        if convolve
        else (conv.correlate1d, ndi.correlate1d)
    )
    got = ours(x, k, axis, boundary=boundary, cval=0.7, origin=origin)
    want = ref(x, k, axis, mode=boundary, cval=0.7, origin=origin)
    assert got.dtype == dtype
    _close(got, want, dtype)


@given(
    n=st.sampled_from(SIZES),
    w=st.sampled_from(TAPS),
    boundary=st.sampled_from(BOUNDARIES),
    method=st.sampled_from(("auto", "direct", "running")),
    shift=st.floats(0, 1),
    weight=st.sampled_from((None, 0.25, -3.0)),
    seed=st.integers(0, 2**16),
)
def test_running_sum_matches_ndimage(n, w, boundary, method, shift, weight, seed):
    rng = np.random.default_rng(seed)
    origin = int(round(-(w // 2) + shift * ((w - 1) // 2 + w // 2)))
    x = rng.standard_normal((2, n))
    got = conv.running_sum(
        x, w, weight=weight, boundary=boundary, cval=-0.3, origin=origin, method=method
    )
    k = np.full(w, 1.0 if weight is None else weight)
    want = ndi.correlate1d(x, k, mode=boundary, cval=-0.3, origin=origin)
    _close(got, want, np.float64)


def test_running_mean_is_ndimage_uniform_filter():
    rng = np.random.default_rng(6)
    # Shifted copies, and blocks (the ends too: 500 >= 2 * 201, so they are
    # summed apart from the interior).
    x = rng.standard_normal((3, 500))
    for w in (21, 201):
        for boundary in BOUNDARIES:
            got = conv.running_sum(x, w, weight=1 / w, boundary=boundary, cval=0.4)
            want = ndi.uniform_filter1d(x, w, mode=boundary, cval=0.4)
            _close(got, want, np.float64)


def test_running_sum_weight_dtypes():
    x = np.arange(12)
    # A Python number keeps the input's dtype; an integer weight keeps
    # integer sums exact.
    assert conv.running_sum(x.astype(np.float32), 3, weight=0.5).dtype == jnp.float32
    got = conv.running_sum(x.astype(np.int32), 3, weight=2, mode="valid")
    assert got.dtype == jnp.int32
    np.testing.assert_array_equal(
        np.asarray(got), 2 * np.convolve(x, np.ones(3, int), "valid")
    )
    assert conv.running_sum(x, 3, weight=0.5).dtype == jnp.float64


@pytest.mark.parametrize("method", ["direct", "running"])
def test_running_sum_of_integers_is_exact(method):
    rng = np.random.default_rng(1)
    x = rng.integers(-(2**20), 2**20, 300).astype(np.int32)
    got = conv.running_sum(x, 100, mode="valid", method=method)
    assert got.dtype == jnp.int32
    want = np.convolve(x.astype(np.int64), np.ones(100, np.int64), "valid")
    np.testing.assert_array_equal(np.asarray(got), want)


@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_full_and_valid_modes(boundary):
    rng = np.random.default_rng(2)
    x, k = rng.standard_normal(16), rng.standard_normal(5)
    ext = np.pad(
        x,
        4,
        NUMPY[boundary],
        **({"constant_values": 0.5} if boundary == "constant" else {}),
    )
    want = np.correlate(ext, k, "valid")
    got = conv.correlate1d(x, k, boundary=boundary, cval=0.5, mode="full")
    _close(got, want, np.float64)
    got = conv.running_sum(x, 5, boundary=boundary, cval=0.5, mode="full")
    _close(got, np.correlate(ext, np.ones(5), "valid"), np.float64)
    valid = conv.correlate1d(x, k, boundary=boundary, mode="valid")
    _close(valid, np.correlate(x, k, "valid"), np.float64)


@pytest.mark.parametrize("method", ["direct", "fft"])
def test_correlate_nd_matches_ndimage(method):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 12, 9))
    k = rng.standard_normal((3, 4))
    for boundary in BOUNDARIES:
        got = conv.correlate_nd(
            x, k, (1, 2), boundary=boundary, cval=0.2, origin=(1, -1), method=method
        )
        want = ndi.correlate(x, k[None], mode=boundary, cval=0.2, origin=(0, 1, -1))
        _close(got, want, np.float64)
    # The kernel's dimensions follow `axes`, whatever their order.
    got = conv.correlate_nd(x, k.T, (2, 1), boundary="wrap", method=method)
    _close(got, ndi.correlate(x, k[None], mode="wrap"), np.float64)


def test_long_kernels_by_fft_and_overlap_add():
    rng = np.random.default_rng(4)
    x, k = rng.standard_normal(3000), rng.standard_normal(301)
    want = ndi.correlate1d(x, k, mode="mirror")
    for method in ("fft", "overlap_add", "auto"):
        got = conv.correlate1d(x, k, boundary="mirror", method=method)
        _close(got, want, np.float64)


def test_jit_vmap_and_grad():
    rng = np.random.default_rng(5)
    x = jnp.asarray(rng.standard_normal((4, 40)))
    k = jnp.asarray(rng.standard_normal(5))

    def f(x, k):
        return conv.correlate1d(x, k, boundary="reflect", origin=1)

    np.testing.assert_allclose(jax.jit(f)(x, k), f(x, k), rtol=1e-12)
    one = jax.vmap(f, in_axes=(0, None))(x, k)
    np.testing.assert_allclose(one, f(x, k), rtol=1e-12)
    check_grads(f, (x[0], k), order=1, modes=("fwd", "rev"))

    def g(x):
        return conv.running_sum(x, 33, boundary="mirror") ** 2

    np.testing.assert_allclose(jax.jit(g)(x), g(x), rtol=1e-12)
    check_grads(g, (x[0],), order=1, modes=("fwd", "rev"))


def test_cost_model_picks_running_sums_for_long_windows():
    assert running_method(8, 10**6, np.float64, "cpu", "auto") == "direct"
    assert running_method(1001, 10**6, np.float64, "cpu", "auto") == "blocks"
    assert running_method(1001, 10**6, np.int32, "cpu", "auto") == "prefix"
    assert running_method(1001, 10**6, np.float64, "cpu", "direct") == "direct"


def test_bad_arguments():
    x = np.arange(6.0)
    with pytest.raises(ValueError, match="`boundary` must be one of"):
        conv.correlate1d(x, [1.0], boundary="edge")
    with pytest.raises(
        ValueError, match="`mode` must be one of 'same', 'full', 'valid'"
    ):
        conv.correlate1d(x, [1.0], mode="circular")
    with pytest.raises(ValueError, match="`method` must be one of"):
        conv.correlate1d(x, [1.0], method="running")
    with pytest.raises(ValueError, match=r"`origin` must lie in \[-1, 1\]"):
        conv.correlate1d(x, [1.0, 2.0, 3.0], origin=2)
    with pytest.raises(ValueError, match="`origin` applies to mode='same' only"):
        conv.correlate1d(x, [1.0, 2.0, 3.0], origin=1, mode="full")
    with pytest.raises(TypeError, match="`origin` must be an integer"):
        conv.correlate1d(x, [1.0], origin=0.5)
    with pytest.raises(ValueError, match="`weights` must be a non-empty 1-D array"):
        conv.correlate1d(x, [[1.0]])
    with pytest.raises(ValueError, match="`input` must not be empty"):
        conv.correlate1d([], [1.0])
    with pytest.raises(ValueError, match="`weights` must not be empty"):
        conv.correlate1d(x, [])
    with pytest.raises(TypeError, match="`input` must be a numeric array"):
        conv.running_sum(["a", "b"], 2)
    with pytest.raises(TypeError, match="`weights` must be a numeric array"):
        conv.correlate_nd(x, ["a"])
    with pytest.raises(ValueError, match="mode='valid' needs the axis"):
        conv.correlate1d(x, np.ones(7), mode="valid")
    with pytest.raises(ValueError, match="`axis`"):
        conv.correlate1d(x, [1.0], axis=1)
    with pytest.raises(ValueError, match="`size` must be at least 1"):
        conv.running_sum(x, 0)
    with pytest.raises(TypeError, match="`size` must be an integer"):
        conv.running_sum(x, 2.0)
    with pytest.raises(ValueError, match="`method` must be one of"):
        conv.running_sum(x, 2, method="fft")
    with pytest.raises(
        ValueError, match=r"`weight` must be a scalar; got shape \(2,\)"
    ):
        conv.running_sum(x, 2, weight=[1.0, 2.0])
    with pytest.raises(ValueError, match="one dimension per axis"):
        conv.correlate_nd(np.ones((3, 3)), np.ones((2, 2)), axes=0)
    with pytest.raises(
        ValueError,
        match=r"`boundary` must be a scalar or hold one entry per axis \(2\)",
    ):
        conv.correlate_nd(np.ones((3, 3)), np.ones((2, 2)), boundary=("wrap",))


def test_eager_filters_run_as_one_program_per_signature(count_compiles):
    # Each public filter is one bounded program per signature: an eager call
    # compiles it once (not op by op), and new values (input, weights, cval,
    # weight) compile nothing and are not baked in (checked against ndimage).
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 77))
    calls = [
        (
            lambda x, c: conv.running_sum(x, 9, weight=c, boundary="reflect"),
            lambda x, c: 9 * c * ndi.uniform_filter1d(x, 9, mode="reflect"),
        ),
        (
            lambda x, c: conv.correlate1d(x, [c, 1.0, 2.0], boundary="mirror"),
            lambda x, c: ndi.correlate1d(x, [c, 1.0, 2.0], mode="mirror"),
        ),
        (
            lambda x, c: conv.correlate_nd(
                x, np.full((3, 3), c), boundary="constant", cval=c
            ),
            lambda x, c: ndi.correlate(x, np.full((3, 3), c), mode="constant", cval=c),
        ),
    ]
    for f, ref in calls:
        with count_compiles() as first:
            _close(f(x, 0.5), ref(x, 0.5), np.float64)
        assert 1 <= len(first) <= 2, len(first)
        with count_compiles() as again:
            out = f(x + 1.0, 0.25)
        assert again == []
        _close(out, ref(x + 1.0, 0.25), np.float64)
