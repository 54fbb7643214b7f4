"""Every function that `probconv` exports has a dtype test (issue 19).

The engine's functions are swept here; the layers' functions are swept by
their packages' dtype tests, and a registry below says which, so that a
function added to the top level without one fails this file.

The engine's rule: real inputs give the promoted dtype of the two inputs,
integers and booleans the default float (float64 with x64 on, as here),
complex inputs their complex dtype, half precision is computed in float32 and
returned in the half dtype. The reference is float64 (complex128) on the very
values the narrow dtype holds, so the tolerance covers only the arithmetic and
the final rounding: a few units in the last place of the result's dtype, times
the largest magnitude.
"""

import inspect

import jax.numpy as jnp
import numpy as np
import pytest
import scipy.signal

import probconv

DTYPES = ["float16", "bfloat16", "float32", "float64", "complex64", "complex128"]
DTYPES += ["int8", "int32", "uint8", "bool"]

# Where each exported function's dtypes are swept.
COVERED = {
    "convolve": "tests/test_dtypes_top_level.py",
    "correlate": "tests/test_dtypes_top_level.py",
    "choose_method": "tests/test_dtypes_top_level.py",
    "correlation_lags": "tests/test_dtypes_top_level.py",
    "use_compilation_cache": "no array arguments",
    "acf": "tests/test_similarity_dtypes.py",
    "ccf": "tests/test_similarity_dtypes.py",
    "xcorr": "tests/test_similarity_dtypes.py",
    "estimate_delay": "tests/test_similarity_dtypes.py",
    "match_template": "tests/test_similarity_dtypes.py",
    "ewma": "tests/test_smooth.py",
    "gaussian_smooth": "tests/test_smooth.py",
    "moving_average": "tests/test_smooth.py",
    "savgol": "tests/test_smooth.py",
    "kde": "tests/test_smooth.py",
    "diffuse": "tests/test_physics_deconv_dtypes.py",
}
DISTRIBUTIONS = {"bernoulli", "binomial", "compound", "dice", "die", "from_masses"}
DISTRIBUTIONS |= {"from_scipy", "geometric", "iid_sum", "mixture"}
DISTRIBUTIONS |= {"negative_binomial", "poisson", "poisson_binomial", "uniform_int"}
COVERED |= dict.fromkeys(DISTRIBUTIONS, "tests/test_distributions_dtypes.py")


def test_every_exported_function_has_a_dtype_test():
    exported = {
        name
        for name in probconv.__all__
        if callable(getattr(probconv, name))
        and not inspect.isclass(getattr(probconv, name))
    }
    assert exported == set(COVERED)
    root = __file__.rsplit("tests/", 1)[0]
    for name, where in COVERED.items():
        if where.startswith("tests/"):
            assert name in open(root + where).read(), (name, where)


def narrow(x, dtype):
    if dtype == "bool":
        return x > 0
    if dtype in ("int8", "int32", "uint8"):
        return np.round(np.abs(x) * 10).astype(dtype)
    if dtype.startswith("complex"):
        return (x + 0.5j * x[::-1]).astype(dtype)
    return jnp.asarray(x).astype(dtype)


def expected_dtype(dtype):
    if dtype in ("int8", "int32", "uint8", "bool", "float64"):
        return jnp.dtype("float64")
    return jnp.dtype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("fn", ["convolve", "correlate"])
def test_engine_over_every_dtype(fn, dtype):
    rng = np.random.default_rng(2)
    a, v = rng.standard_normal(200), rng.standard_normal(9)
    a, v = narrow(a, dtype), narrow(v, dtype)
    wide = "complex128" if dtype.startswith("complex") else "float64"
    ref_fn = getattr(scipy.signal, fn)
    ref = ref_fn(np.asarray(a).astype(wide), np.asarray(v).astype(wide), "same")
    out = expected_dtype(dtype)
    eps = float(jnp.finfo(out).eps)
    for x, k in [(np.asarray(a), np.asarray(v)), (jnp.asarray(a), jnp.asarray(v))]:
        for method in ("direct", "fft"):
            got = getattr(probconv, fn)(x, k, "same", method=method)
            assert got.dtype == out, (fn, dtype, method, got.dtype)
            # The fft's error grows with log2(n) units in the last place.
            err = np.abs(np.asarray(got).astype(wide) - ref).max()
            assert err <= 16 * eps * np.abs(ref).max() + 1e-300, (method, err)


def test_mixed_dtypes_promote_like_jax():
    f32, i8 = np.ones(8, np.float32), np.ones(3, np.int8)
    assert probconv.convolve(f32, i8).dtype == jnp.float32
    assert probconv.convolve(np.ones(8, np.float16), f32).dtype == jnp.float32
    c64 = np.ones(3, np.complex64)
    assert probconv.correlate(np.ones(8, "bfloat16"), c64).dtype == jnp.complex64


@pytest.mark.parametrize("bad", [np.array(["a", "b"]), np.array([object(), 1])])
def test_non_numeric_arrays_are_refused_by_name(bad):
    with pytest.raises(TypeError, match="`in1`"):
        probconv.convolve(bad, np.ones(3))
    with pytest.raises(TypeError, match="`in2`"):
        probconv.correlate(np.ones(3), bad)


@pytest.mark.parametrize("dtype", DTYPES)
def test_choose_method_and_lags_over_every_dtype(dtype):
    a = narrow(np.linspace(-1, 1, 5000), dtype)
    v = narrow(np.linspace(-1, 1, 700), dtype)
    assert probconv.choose_method(a, v) in ("direct", "fft", "overlap_add")
    lags = probconv.correlation_lags(len(a), len(v), "same")
    np.testing.assert_array_equal(
        lags, scipy.signal.correlation_lags(5000, 700, "same")
    )
