"""Every public function of probconv.distributions over every parameter dtype.

Issue 19: a documented result dtype and values that agree with float64, or a
TypeError naming the argument; never an exception from the library's
internals. The rule (``_params.law_dtype``): a law keeps float32 for float32
and half-precision parameters (float16, bfloat16: three significant digits
and no probabilities below 6e-8 are no use for a law's tails), float64 for
float64, integer and boolean ones (x64 is on in the tests), and refuses
complex ones.

The reference is the same call in float64 on the very values the narrow dtype
holds, so the tolerance covers only the computation: float32 arithmetic over
grids of up to a few thousand points, 2e-5 relative to the largest value.
"""

import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats

import probconv
from probconv import distributions as dist

DTYPES = ["float16", "bfloat16", "float32", "float64", "complex64", "complex128"]
DTYPES += ["int32", "uint8", "bool"]
TOL = {"float32": 2e-5, "float64": 1e-12}


def law_dtype(dtype: str) -> str:
    if dtype in ("float16", "bfloat16", "float32"):
        return "float32"
    return "float64"


def values(x, dtype):
    """`x` in `dtype`; integers and booleans get values their dtype holds."""
    x = np.asarray(x, np.float64)
    if dtype == "bool":
        return jnp.asarray(x > 0.5)
    if dtype in ("int32", "uint8"):
        return jnp.asarray(np.ceil(x)).astype(dtype)
    return jnp.asarray(x).astype(dtype)


POINTS = np.array([-0.5, 0.0, 1.0, 2.0, 3.5, 7.0])


def query(law):
    """A few answers that depend on every mass of the law."""
    pts = np.asarray(POINTS, law.dtype) if hasattr(law, "dtype") else POINTS
    return [law.cdf(pts), law.sf(pts)]


# name -> (build from a caster `c`, the arguments the caster is applied to)
# A case whose integer or boolean version is not a valid law is marked
# floats_only: those dtypes are checked for their clear error instead.
CASES = {
    "bernoulli": (lambda c: dist.bernoulli(c(0.3)), "p"),
    "binomial": (lambda c: dist.binomial(6, c(0.3)), "p"),
    "poisson": (lambda c: dist.poisson(c(2.5)), "mu"),
    "geometric": (lambda c: dist.geometric(c(0.4)), "p"),
    "negative_binomial": (lambda c: dist.negative_binomial(c(3.0), c(0.4)), "n"),
    "poisson_binomial": (lambda c: dist.poisson_binomial(c([0.1, 0.2, 0.6])), "p"),
    "from_masses": (lambda c: dist.from_masses(c([0.25, 0.5, 0.25]) / 2.0), "masses"),
    "mixture": (
        lambda c: dist.mixture(
            c([0.25, 0.75]), [dist.poisson(c(2.0)), dist.poisson(c(5.0))]
        ),
        "weights",
    ),
    "add": (lambda c: dist.add(dist.binomial(4, c(0.3)), dist.poisson(c(1.5))), "p"),
    "iid_sum": (lambda c: dist.iid_sum(dist.geometric(c(0.6)), 3), "p"),
    "compound": (
        lambda c: dist.compound(dist.poisson(c(1.5)), dist.geometric(c(0.7))),
        "mu",
    ),
    "normal": (lambda c: dist.normal(c(0.5), c(2.0), step=0.05), "loc"),
    "exponential": (lambda c: dist.exponential(c(0.0), c(2.0), step=0.05), "loc"),
    "gamma": (lambda c: dist.gamma(c(2.0), step=0.05), "a"),
    "beta": (lambda c: dist.beta(c(2.0), c(3.0), c(0.0), c(4.0), step=0.01), "a"),
    "cauchy": (lambda c: dist.cauchy(c(1.0), c(1.0), step=0.05, tol=1e-3), "loc"),
    "laplace": (lambda c: dist.laplace(c(1.0), c(1.0), step=0.05), "loc"),
    "lognormal": (lambda c: dist.lognormal(c(0.5), step=0.05), "s"),
    "pareto": (lambda c: dist.pareto(c(3.0), step=0.05, tol=1e-4), "b"),
    "student_t": (lambda c: dist.student_t(c(5.0), step=0.05, tol=1e-4), "df"),
    "uniform": (lambda c: dist.uniform(c(0.0), c(4.0), step=0.05), "loc"),
    "regrid": (
        lambda c: dist.regrid(dist.normal(c(0.5), c(2.0), step=0.05), 0.1),
        "loc",
    ),
}
# Parameters that integers or booleans turn into an invalid law: the check
# must say so (a ValueError naming the parameter), not compute nonsense.
INVALID_AS_INT = {"bernoulli", "binomial", "geometric", "negative_binomial"}
INVALID_AS_INT |= {"poisson_binomial", "from_masses", "mixture", "add", "iid_sum"}
INVALID_AS_INT |= {"compound", "beta", "lognormal", "regrid"}


# float32 first: the half-precision laws that follow are float32 laws and
# reuse its compiled programs, as the integer ones reuse float64's.
ORDER = ["float32", "float16", "bfloat16", "float64", "int32", "uint8", "bool"]
ORDER += ["complex64", "complex128"]
assert sorted(ORDER) == sorted(DTYPES)


# Every continuous family converts its parameters by the same rule
# (`_params.float_dtype`) before it builds its grid; the default run checks
# two of them end to end and the slow run all, because each builds its grid
# with programs of its own (about 10 s per family on 2 cores).
SLOW = {"beta", "cauchy", "gamma", "laplace", "lognormal", "pareto"}
SLOW |= {"student_t", "uniform", "regrid"}


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n
        for n in sorted(CASES)
    ],
)
def test_result_dtype_and_values(name):
    """One of each kind of dtype; the slow run below takes every dtype."""
    build, first = CASES[name]
    for dtype in ["float32", "bfloat16", "float64", "bool", "complex64"]:
        check_one(build, name, dtype)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CASES))
def test_result_dtype_and_values_every_dtype(name):
    build, first = CASES[name]
    for dtype in ORDER:
        check_one(build, name, dtype)


def check_one(build, name, dtype):
    cast = lambda x: values(x, dtype)  # noqa: E731
    if dtype.startswith("complex"):
        with pytest.raises(TypeError, match="must be real"):
            build(cast)
        return
    if dtype in ("int32", "uint8", "bool") and name in INVALID_AS_INT:
        try:
            law = build(cast)
        except ValueError as err:
            assert "`" in str(err)  # names the argument
            return
    else:
        law = build(cast)
    # (float64 parameters are their own reference: the same call)
    wide = (
        law
        if dtype == "float64"
        else build(lambda x: jnp.asarray(values(x, dtype), np.float64))
    )
    for got, want in zip(query(law), query(wide)):
        assert got.dtype == jnp.dtype(law_dtype(dtype)), (name, dtype, got.dtype)
        got, want = np.asarray(got, np.float64), np.asarray(want)
        assert np.isfinite(got).all() and np.isfinite(want).all()
        scale = max(1.0, float(np.abs(want).max()))
        atol = TOL[law_dtype(dtype)] * scale
        np.testing.assert_allclose(got, want, rtol=0, atol=atol, err_msg=dtype)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32"])
def test_narrow_laws_still_match_their_closed_form(dtype):
    """Not only self-consistent: a float32 law against scipy's float64 pmf."""
    p = values([0.1, 0.2, 0.6, 0.35], dtype)
    got = dist.poisson_binomial(p).pmf(np.arange(5))
    want = scipy.stats.poisson_binom(np.asarray(p, np.float64)).pmf(np.arange(5))
    assert got.dtype == jnp.float32
    np.testing.assert_allclose(np.asarray(got), want, rtol=0, atol=2e-7)
    got = dist.binomial(20, values(0.3, dtype)).sf(np.arange(0, 21, 5))
    want = scipy.stats.binom(20, float(values(0.3, dtype))).sf(np.arange(0, 21, 5))
    # JAX's float32 regularized incomplete beta: about 1e-5 relative.
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-5, atol=1e-12)


def test_log_space_functions_follow_the_rule():
    a = np.log(np.array([0.2, 0.3, 0.5]))
    for dtype in ("float16", "bfloat16", "float32", "float64"):
        got = dist.logconvolve(values(a, dtype), values(a, dtype))
        want = np.log(
            np.convolve(
                np.exp(np.asarray(values(a, dtype), np.float64)),
                np.exp(np.asarray(values(a, dtype), np.float64)),
            )
        )
        assert got.dtype == jnp.dtype(law_dtype(dtype))
        np.testing.assert_allclose(
            np.asarray(got, np.float64), want, atol=TOL[law_dtype(dtype)] * 10
        )
    with pytest.raises(TypeError, match="`log_in1` must be real"):
        dist.logconvolve(a.astype(np.complex64), a)
    law = dist.iid_sum(dist.geometric(np.float32(0.6)), 4, accuracy="relative")
    assert dist.relative_error(law).dtype == jnp.float32


@pytest.mark.parametrize("dtype", ["int8", "int32", "int64", "uint16"])
def test_integer_parameters_take_every_integer_dtype(dtype):
    int_ = np.dtype(dtype).type  # numpy integer scalars are static values too
    six = int_(6)
    assert float(dist.die(six).sf(3)) == pytest.approx(0.5)
    assert float(dist.dice(int_(2), six).pmf(7)) == pytest.approx(1 / 6)
    assert float(dist.uniform_int(int_(1), six).mean()) == pytest.approx(
        3.0
    )  # 1, ..., 5
    assert float(dist.binomial(int_(4), 0.5).pmf(2)) == pytest.approx(0.375)


@pytest.mark.parametrize("bad", [6.5, np.float32(6.0), 6 + 0j, "6", None])
def test_integer_parameters_refuse_other_types(bad):
    with pytest.raises(TypeError, match="`sides`"):
        dist.die(bad)
    with pytest.raises(TypeError, match="`n`"):
        dist.dice(bad, 6)


def test_scipy_laws_are_float64_whatever_their_parameters():
    law = dist.from_scipy(scipy.stats.norm(np.float32(0.5), np.float32(2.0)), step=0.05)
    assert law.cdf(np.float64(0.5)).dtype == jnp.float64
    law = dist.from_scipy(scipy.stats.poisson(np.float32(2.5)))
    np.testing.assert_allclose(
        np.asarray(law.pmf(np.arange(6))),
        scipy.stats.poisson(2.5).pmf(np.arange(6)),
        rtol=1e-12,
    )


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "int32", "bool"])
def test_top_level_names_are_the_same_functions(dtype):
    """probconv re-exports the distributions: one function, one dtype rule."""
    p = values([0.1, 0.7], dtype)
    a = probconv.poisson_binomial(p)
    b = dist.poisson_binomial(p)
    assert a.pmf(1).dtype == b.pmf(1).dtype == jnp.dtype(law_dtype(dtype))
