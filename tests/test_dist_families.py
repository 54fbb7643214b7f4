"""Family constructors and from_scipy against scipy.stats.

Tolerances (float64 unless stated):

| comparison | tolerance | why |
| --- | --- | --- |
| family masses vs scipy pmf | rtol 1e-12 | (1) |
| truncated mass vs scipy sf | rtol 1e-9 | incomplete gamma/beta in JAX |
| from_scipy masses | rtol 1e-14 | the same scipy numbers |
| float32 masses | atol 1e-6 | float32 rounding |

(1) log-gamma formulas: a few ulps of terms up to ~300
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats
from jax.test_util import check_grads

import probconv.distributions as dist

RTOL = 1e-12
RTOL_TAIL = 1e-9


def _grid(d):
    return np.asarray(d.points)


@pytest.mark.parametrize("p", [0.0, 0.13, 0.5, 1.0])
def test_bernoulli(p):
    d = dist.bernoulli(p)
    np.testing.assert_allclose(d.masses, scipy.stats.bernoulli(p).pmf([0, 1]))


@pytest.mark.parametrize("n, p", [(0, 0.3), (1, 0.7), (40, 0.5), (200, 0.013)])
def test_binomial(n, p):
    d = dist.binomial(n, p)
    np.testing.assert_allclose(
        d.masses, scipy.stats.binom(n, p).pmf(np.arange(n + 1)), rtol=RTOL, atol=1e-300
    )
    assert float(d.truncated) == 0.0


@pytest.mark.parametrize("mu", [0.0, 0.2, 3.0, 57.5])
def test_poisson(mu):
    d = dist.poisson(mu)
    ref = scipy.stats.poisson(mu)
    k = _grid(d)
    np.testing.assert_allclose(d.masses, ref.pmf(k), rtol=RTOL, atol=1e-300)
    eps = np.finfo(np.float64).eps
    assert float(d.truncated) <= eps
    assert d.size == int(ref.isf(eps)) + 1
    np.testing.assert_allclose(d.truncated, ref.sf(k[-1]), rtol=RTOL_TAIL, atol=1e-300)
    np.testing.assert_allclose(d.total + d.truncated, 1.0, atol=1e-14)


def test_poisson_tail_and_size():
    d = dist.poisson(5.0, tail=1e-6)
    assert d.size == int(scipy.stats.poisson(5).isf(1e-6)) + 1
    d = dist.poisson(5.0, size=8)
    np.testing.assert_allclose(
        d.truncated, scipy.stats.poisson(5).sf(7), rtol=RTOL_TAIL
    )


@pytest.mark.parametrize("p", [0.05, 0.5, 1.0])
def test_geometric(p):
    d = dist.geometric(p)
    ref = scipy.stats.geom(p)
    k = _grid(d)
    assert k[0] == 1.0
    np.testing.assert_allclose(d.masses, ref.pmf(k), rtol=RTOL, atol=1e-300)
    with np.errstate(divide="ignore"):  # scipy's geom.sf at p = 1
        want = ref.sf(k[-1])
    np.testing.assert_allclose(d.truncated, want, rtol=RTOL_TAIL, atol=1e-300)
    assert float(d.truncated) <= np.finfo(float).eps


@pytest.mark.parametrize("n, p", [(1, 0.3), (2.5, 0.4), (10, 0.9)])
def test_negative_binomial(n, p):
    d = dist.negative_binomial(n, p)
    ref = scipy.stats.nbinom(n, p)
    k = _grid(d)
    np.testing.assert_allclose(d.masses, ref.pmf(k), rtol=RTOL, atol=1e-300)
    np.testing.assert_allclose(d.truncated, ref.sf(k[-1]), rtol=RTOL_TAIL, atol=1e-300)


def test_uniform_die():
    d = dist.uniform_int(-2, 5)
    ref = scipy.stats.randint(-2, 5)
    np.testing.assert_allclose(d.masses, ref.pmf(_grid(d)), rtol=RTOL)
    assert float(d.origin) == -2.0
    np.testing.assert_allclose(dist.die(20).var(), scipy.stats.randint(1, 21).var())


def test_batched_parameters():
    mu = np.array([[0.5, 4.0], [9.0, 1.0]])
    d = dist.poisson(mu)
    assert d.batch_shape == (2, 2) and d.params[0].shape == (2, 2)
    for i in np.ndindex(2, 2):
        k = _grid(d)[i]
        np.testing.assert_allclose(
            d.masses[i], scipy.stats.poisson(mu[i]).pmf(k), rtol=RTOL, atol=1e-300
        )
    b = dist.binomial(5, np.array([0.1, 0.6]))
    assert b.masses.shape == (2, 6)


def test_traced_parameters_jit_vmap():
    f = jax.jit(lambda mu: dist.poisson(mu, size=40).sf(6.0))
    np.testing.assert_allclose(f(3.0), scipy.stats.poisson(3.0).sf(6), rtol=1e-12)
    mus = jnp.array([0.5, 2.0, 7.0])
    # jitted vmaps: eager vmap compiles one program per operation
    d = jax.jit(jax.vmap(lambda m: dist.poisson(m, size=40)))(mus)
    assert isinstance(d, dist.Parametric) and d.masses.shape == (3, 40)
    for i, m in enumerate([0.5, 2.0, 7.0]):
        np.testing.assert_allclose(
            d.cdf(4.0)[i], scipy.stats.poisson(m).cdf(4), rtol=RTOL
        )
    g = jax.jit(jax.vmap(lambda p: dist.geometric(p, size=30).mean()))(
        jnp.array([0.3, 0.6])
    )
    assert g.shape == (2,)


def test_gradients():
    # d/dmu P(X > k) = pmf(k; mu) for the Poisson law (eager grad: no `size`)
    g = jax.grad(lambda mu: dist.poisson(mu).sf(4.0))(2.5)
    np.testing.assert_allclose(g, scipy.stats.poisson(2.5).pmf(4), rtol=1e-10)
    # jit once per function; check_grads compares with finite differences
    # first order (a second-order check of the binomial sf compiled for 8 s)
    check_grads(jax.jit(lambda p: dist.binomial(12, p).sf(5.0)), (0.37,), order=1)
    check_grads(jax.jit(lambda mu: dist.poisson(mu, size=30).cdf(3.0)), (2.5,), order=1)
    check_grads(jax.jit(lambda p: dist.geometric(p, size=60).cdf(3.0)), (0.3,), order=1)
    nb = jax.jit(lambda p: dist.negative_binomial(2.5, p, size=60).cdf(3.0))
    check_grads(nb, (0.4,), order=1)


def test_float32_parameters():
    d = dist.poisson(np.float32(4.0))
    assert d.masses.dtype == jnp.float32
    assert d.size < dist.poisson(4.0).size  # tail at float32 epsilon
    np.testing.assert_allclose(
        d.masses, scipy.stats.poisson(4).pmf(_grid(d)), atol=1e-6
    )
    b = dist.binomial(10, np.float32(0.3))
    assert b.masses.dtype == jnp.float32


def test_dice_is_iid_sum():
    np.testing.assert_allclose(
        dist.dice(3, 4).masses, dist.iid_sum(dist.die(4), 3).masses
    )


# -- from_scipy ---------------------------------------------------------------


@pytest.mark.parametrize(
    "frozen",
    [
        scipy.stats.hypergeom(20, 7, 12),
        scipy.stats.betabinom(9, 2.0, 3.0),
        scipy.stats.logser(0.7),
        scipy.stats.skellam(3.0, 2.0),
        scipy.stats.dlaplace(0.8),
        scipy.stats.poisson(4.0, loc=-2),
    ],
    ids=lambda f: f.dist.name,
)
def test_from_scipy_discrete(frozen):
    d = dist.from_scipy(frozen)
    k = _grid(d)
    assert d.kind == "lattice" and d.step == 1.0
    np.testing.assert_allclose(d.masses, frozen.pmf(k), rtol=1e-14, atol=1e-300)
    assert float(d.truncated) <= 2 * np.finfo(float).eps
    np.testing.assert_allclose(d.total + d.truncated, 1.0, atol=1e-14)
    np.testing.assert_allclose(d.mean(), frozen.mean(), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(d.var(), frozen.var(), rtol=1e-10)


@pytest.mark.parametrize(
    "frozen, step",
    [
        (scipy.stats.norm(1.0, 2.0), 0.05),
        (scipy.stats.expon(), 0.01),
        (scipy.stats.beta(2, 3), 0.01),
    ],
    ids=["norm", "expon", "beta"],
)
def test_from_scipy_continuous(frozen, step):
    d = dist.from_scipy(frozen, step=step)
    assert d.kind == "density" and d.step == step
    x = _grid(d)
    edges = np.concatenate([x - step / 2, [x[-1] + step / 2]])
    inner = edges[(edges > frozen.ppf(1e-6)) & (edges < frozen.isf(1e-6))]
    # the cdf at cell edges is exact (sums of cdf differences)
    np.testing.assert_allclose(d.cdf(inner), frozen.cdf(inner), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(d.sf(inner), frozen.sf(inner), rtol=1e-12, atol=1e-15)
    # grid moments carry Sheppard's h^2/12 in the variance
    np.testing.assert_allclose(d.mean(), frozen.mean(), atol=step**2)
    np.testing.assert_allclose(d.var(), frozen.var() + step**2 / 12, rtol=1e-3)


# -- bad input ----------------------------------------------------------------


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (
            lambda: dist.bernoulli(1.5),
            ValueError,
            r"`p` must be finite and lie in \[0, 1\]; got 1.5",
        ),
        (lambda: dist.binomial(3, [0.2, -0.1]), ValueError, r"values such as \[-0.1\]"),
        (lambda: dist.binomial(-1, 0.5), ValueError, "`n` must be at least 0"),
        (
            lambda: dist.binomial(2.5, 0.5),
            TypeError,
            r"`n` must be an integer \(a static Python int\)",
        ),
        (lambda: dist.poisson(-1.0), ValueError, "`mu` must be finite"),
        (lambda: dist.poisson(np.inf), ValueError, "`mu` must be finite"),
        (lambda: dist.poisson("3"), TypeError, "`mu` must be a real number or array"),
        (
            lambda: dist.poisson(3.0, tail=0.0),
            ValueError,
            r"`tail` must be finite and lie in \(0, 1\)",
        ),
        (
            lambda: dist.poisson(3.0, size=0),
            ValueError,
            "`size` must be at least 1",
        ),
        (
            lambda: jax.jit(lambda m: dist.poisson(m))(3.0),
            ValueError,
            "`size` must be given when `mu` is traced",
        ),
        (
            lambda: dist.geometric(0.0),
            ValueError,
            r"`p` must be finite and lie in \(0, 1\]",
        ),
        (lambda: dist.negative_binomial(0.0, 0.5), ValueError, "`n` must be finite"),
        (lambda: dist.uniform_int(3, 3), ValueError, "`high` must exceed `low`"),
        (lambda: dist.die(0), ValueError, "`sides` must be at least 1"),
        (lambda: dist.from_scipy(3.0), TypeError, "frozen scipy.stats distribution"),
        (
            lambda: dist.from_scipy(scipy.stats.norm(), step=-1.0),
            ValueError,
            "`step` must be finite and positive",
        ),
        (
            lambda: dist.from_scipy(scipy.stats.poisson(2), step=0.5),
            ValueError,
            "`step` applies to continuous laws only",
        ),
        (
            lambda: dist.from_scipy(scipy.stats.geom(1e-10)),
            ValueError,
            "over 10\\*\\*8",
        ),
        (lambda: dist.geometric(1e-10), ValueError, "grid would need"),
    ],
)
def test_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_traced_invalid_parameter_gives_nan():
    f = jax.jit(lambda p: dist.binomial(4, p).cdf(2.0))
    assert np.isfinite(f(0.3)) and np.isnan(f(1.3))
