"""Every public function of probconv.similarity over every input dtype: a
documented result dtype and values that agree with float64, or a TypeError
naming the argument; never an internal exception.

Half precision (float16, bfloat16) is computed in float32 and returned in the
input's dtype, except by estimate_delay, which returns float32. The reference
is float64 applied to the very values the narrow dtype holds, so the
tolerance covers only the computation and the final rounding.
"""

import jax.numpy as jnp
import numpy as np
import pytest

from probconv import similarity as sim

N = 48
DTYPES = ["float16", "bfloat16", "float32", "float64", "complex64", "complex128"]
DTYPES += ["int32", "bool"]
# Relative tolerance (to the largest reference value) by input dtype.
TOL = {
    "float16": 4e-3,
    "bfloat16": 3e-2,
    "float32": 1e-4,
    "complex64": 1e-4,
    "float64": 1e-10,
    "complex128": 1e-10,
    "int32": 1e-10,
    "bool": 1e-10,
}
REAL_ONLY = {"acf", "ccf", "sliding_pearson", "match_template"}


def inputs(dtype):
    r = np.random.default_rng(0)
    a = 3 * r.standard_normal(N)
    b = np.roll(a, 3) + 0.3 * r.standard_normal(N)
    image = r.standard_normal((12, 12))
    if dtype.startswith("complex"):
        a = a + 1j * r.standard_normal(N)
        b = np.roll(a, 3)
    if dtype == "bool":
        a, b, image = a > 0, b > 0, image > 0
    return [jnp.asarray(v).astype(dtype) for v in (a, b, image)]


CASES = {
    "xcorr": lambda a, b, im: xcorr_values(a, b, None),
    "xcorr_coeff": lambda a, b, im: xcorr_values(a, b, "coeff"),
    "gcc": lambda a, b, im: sim.gcc(a, b, maxlag=8).values,
    "acf": lambda a, b, im: sim.acf(a, 6, alpha=0.05, qstat=True),
    "ccf": lambda a, b, im: sim.ccf(a, b, 6),
    "estimate_delay": lambda a, b, im: sim.estimate_delay(a, b),
    "sliding_pearson": lambda a, b, im: sim.sliding_pearson(a, b, 8),
    "match_template": lambda a, b, im: sim.match_template(im, im[2:6, 3:8]),
}


def xcorr_values(a, b, normalize):
    return sim.xcorr(a, b, normalize=normalize, maxlag=10).values


def expected_dtype(name, dtype):
    if dtype in ("int32", "bool", "float64"):
        return "float64"  # the tests run with x64 enabled
    if name == "estimate_delay":
        narrow = ("float16", "bfloat16", "float32", "complex64")
        return "float32" if dtype in narrow else "float64"
    return dtype


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(CASES))
def test_result_dtype_and_values(name, dtype):
    base = name.split("_coeff")[0]
    args = inputs(dtype)
    if base in REAL_ONLY and dtype.startswith("complex"):
        arg = "image" if base == "match_template" else "x"
        with pytest.raises(TypeError, match=f"`{arg}` must be real"):
            CASES[name](*args)
        return
    got = CASES[name](*args)
    wide = "complex128" if dtype.startswith("complex") else "float64"
    # (float64 and complex128 inputs are their own reference: the same call)
    want = got if dtype == wide else CASES[name](*[v.astype(wide) for v in args])
    got = got if isinstance(got, tuple) else (got,)
    want = want if isinstance(want, tuple) else (want,)
    for g, w in zip(got, want):
        assert g.dtype == jnp.dtype(expected_dtype(name, dtype)), (name, dtype)
        g64 = np.asarray(g.astype(wide))
        w = np.asarray(w)
        assert np.isfinite(g64).all() == np.isfinite(w).all()
        scale = max(np.nanmax(np.abs(w)), 1.0)
        np.testing.assert_allclose(g64, w, rtol=0, atol=TOL[dtype] * scale)
