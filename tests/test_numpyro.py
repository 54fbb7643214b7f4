"""probconv laws as numpyro distributions (issue 18): `to_numpyro`.

References are independent of probconv: scipy.stats pmfs convolved with
np.convolve, closed forms, and the same likelihood written as a hand sum
over the binomial count with jax.scipy.stats.

Tolerances (float64, x64 on in conftest):

- lattice `log_prob` where the mass is above 1e-8: 1e-9 relative (the FFT
  convolution's absolute error is near eps * max mass, so a mass of 1e-8
  keeps about 1e-8 relative, its log 1e-8 absolute; 1e-9 leaves room for
  the smaller masses of these tests, all above 1e-6);
- pmf (= exp(log_prob)) everywhere: 1e-14 absolute;
- density `log_prob` in the body: 1e-4 absolute (the constructors' default
  `tol=1e-6` discretization and the linear interpolation of cell masses,
  relative errors near h^2 f''/(8 f));
- gradients: 1e-7 relative against the hand sum's autodiff, and
  `check_grads` at its default (finite differences, eps 1e-6 in float64);
- sampling: a seeded chi-square / KS test, p-value above 1e-3 (a false
  alarm once in a thousand seeds; the seed is fixed).
"""

import functools
import sys
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.special
import scipy.stats
from jax.test_util import check_grads

numpyro = pytest.importorskip("numpyro")
nd = pytest.importorskip("numpyro.distributions")

from numpyro.infer import MCMC, NUTS  # noqa: E402
from numpyro.infer.util import log_density  # noqa: E402

from probconv import distributions as dist  # noqa: E402

N_TRIALS, POIS_SIZE = 6, 40  # binomial(6, p) + poisson(lam, size=40): 0..45


def two_sources(p, lam, n=N_TRIALS):
    return dist.binomial(n, p) + dist.poisson(lam, size=POIS_SIZE)


def reference_pmf(p, lam, n=N_TRIALS):
    """np.convolve of scipy pmfs on 0..n+POIS_SIZE-1."""
    b = scipy.stats.binom.pmf(np.arange(n + 1), n, p)
    q = scipy.stats.poisson.pmf(np.arange(POIS_SIZE), lam)
    return np.convolve(b, q)


def hand_sum_logpmf(y, p, lam, n=N_TRIALS):
    """log P(Y = y) as a sum over the binomial count, in jax.scipy."""
    k = jnp.arange(n + 1)
    y = jnp.asarray(y)[..., None]
    terms = jax.scipy.stats.binom.logpmf(k, n, p) + jax.scipy.stats.poisson.logpmf(
        y - k, lam
    )
    terms = jnp.where(y - k >= 0, terms, -jnp.inf)
    return jax.scipy.special.logsumexp(terms, axis=-1)


# -- log_prob against references ------------------------------------------------


def test_lattice_log_prob_matches_scipy_convolution_on_and_off_support():
    p, lam = 0.37, 2.3
    d = dist.to_numpyro(two_sources(p, lam))
    ref = reference_pmf(p, lam)
    y = np.arange(ref.size)
    lp = np.asarray(d.log_prob(y))
    np.testing.assert_allclose(np.exp(lp), ref, rtol=0, atol=1e-14)
    big = ref > 1e-8
    np.testing.assert_allclose(lp[big], np.log(ref[big]), rtol=1e-9)
    # Integer values, float values and jax arrays agree.
    np.testing.assert_array_equal(np.asarray(d.log_prob(jnp.asarray(y))), lp)
    # Off the support: below, between grid points, beyond the grid. No raise.
    d_quiet = dist.to_numpyro(two_sources(p, lam), validate_args=False)
    off = d_quiet.log_prob(jnp.array([-1.0, 2.5, 0.999, ref.size, 1e6]))
    assert np.all(np.asarray(off) == -np.inf)
    assert bool(jnp.isnan(d_quiet.log_prob(jnp.nan)))


def test_batched_law_log_prob_against_scipy():
    rng = np.random.default_rng(0)
    p = rng.uniform(0.1, 0.9, 3)
    d = dist.to_numpyro(dist.binomial(5, jnp.asarray(p)) + dist.poisson(1.5))
    assert d.batch_shape == (3,) and d.event_shape == ()
    y = rng.integers(0, 10, (4, 3))
    q = scipy.stats.poisson.pmf(np.arange(40), 1.5)
    ref = np.stack(
        [np.convolve(scipy.stats.binom.pmf(np.arange(6), 5, pi), q) for pi in p]
    )
    expect = np.log(ref[np.arange(3), y])
    np.testing.assert_allclose(np.asarray(d.log_prob(y)), expect, rtol=1e-9)


def test_relative_law_keeps_the_far_tail():
    # P(200 successes in 200 trials of p = 0.01) = 1e-400, below the smallest
    # float: the relative-accuracy law's log-masses keep it, the plain law's
    # masses underflow to 0.
    rel = dist.iid_sum(dist.bernoulli(0.01), 200, accuracy="relative").to_numpyro()
    lp = float(rel.log_prob(200))
    assert lp == pytest.approx(200 * np.log(0.01), rel=1e-9)
    plain = dist.iid_sum(dist.bernoulli(0.01), 200).to_numpyro()
    assert float(plain.log_prob(200)) == -np.inf


@functools.cache
def normal_sum():
    """N(0, 1) + N(1, 2^2) = N(1, 5), built once (its compilation is the cost)."""
    return dist.normal(0.0, 1.0) + dist.normal(1.0, 2.0)


def test_density_log_prob_matches_closed_forms():
    x = np.linspace(-6.0, 8.0, 15)
    d = normal_sum().to_numpyro(validate_args=False)
    ref = scipy.stats.norm.logpdf(x, 1.0, np.sqrt(5.0))
    np.testing.assert_allclose(np.asarray(d.log_prob(x)), ref, rtol=0, atol=1e-4)
    lo, hi = (float(v) for v in d.law.support())
    out = d.log_prob(jnp.array([lo - 0.01, hi + 0.01, -1e3]))
    assert np.all(np.asarray(out) == -np.inf)


# -- cdf, icdf, moments, support ------------------------------------------------


def test_cdf_icdf_and_moments_against_scipy():
    p, lam = 0.37, 2.3
    d = dist.to_numpyro(two_sources(p, lam))
    ref = reference_pmf(p, lam)
    y = np.arange(ref.size)
    np.testing.assert_allclose(np.asarray(d.cdf(y)), np.cumsum(ref), atol=1e-14)
    ref_law = scipy.stats.rv_discrete(values=(y, ref / ref.sum()))
    q = np.array([0.01, 0.2, 0.5, 0.77, 0.99])
    np.testing.assert_array_equal(np.asarray(d.icdf(q)), ref_law.ppf(q))
    assert float(d.mean) == pytest.approx(N_TRIALS * p + lam, rel=1e-12)
    h = -np.sum(scipy.special.xlogy(ref, ref))
    assert float(d.entropy()) == pytest.approx(h, rel=1e-12)
    assert float(d.variance) == pytest.approx(N_TRIALS * p * (1 - p) + lam, rel=1e-10)
    dn = dist.normal(1.0, 2.0).to_numpyro()
    assert float(dn.cdf(1.0)) == pytest.approx(0.5, abs=1e-6)
    assert float(dn.icdf(0.975)) == pytest.approx(
        1.0 + 2.0 * 1.959963984540054, abs=1e-4
    )


def test_support_constraints():
    d = dist.to_numpyro(dist.die(6) * 0.5 + 0.25)  # 0.75, 1.25, ..., 3.25
    c = d.support
    assert c.is_discrete and d.is_discrete and d.has_enumerate_support
    got = np.asarray(c(jnp.array([0.75, 1.25, 3.25, 1.0, 0.25, 3.75])))
    np.testing.assert_array_equal(got, [True, True, True, False, False, False])
    assert "LatticePoints" in repr(c) and "NumpyroLaw" in repr(d)
    # numpyro's equality of constraints: static `==` is False for jax arrays,
    # `eq` compares values.
    assert bool(c.eq(d.support))
    assert not bool(c.eq(dist.to_numpyro(dist.die(6)).support))
    assert np.asarray(c.feasible_like(jnp.zeros(2))).tolist() == [0.75, 0.75]
    dn = normal_sum().to_numpyro()
    assert isinstance(dn.support, type(nd.constraints.interval(0.0, 1.0)))
    assert not dn.support.is_discrete and dn.has_rsample and not d.has_rsample


def test_enumerate_support():
    d = dist.to_numpyro(dist.binomial(3, jnp.array([0.2, 0.6])))
    full = d.enumerate_support()
    assert full.shape == (4, 2)
    np.testing.assert_array_equal(np.asarray(full[:, 1]), [0, 1, 2, 3])
    assert d.enumerate_support(expand=False).shape == (4, 1)
    total = jnp.exp(d.log_prob(full)).sum(0)
    np.testing.assert_allclose(np.asarray(total), [1.0, 1.0], rtol=1e-14)
    shifted = dist.to_numpyro(dist.from_masses([[0.5, 0.5], [0.3, 0.7]], [0.0, 1.0]))
    np.testing.assert_array_equal(
        np.asarray(shifted.enumerate_support()), [[0.0, 1.0], [1.0, 2.0]]
    )
    with pytest.raises(ValueError, match="same grid for the whole batch"):
        shifted.enumerate_support(expand=False)
    with pytest.raises(TypeError, match="needs a law of kind 'lattice'"):
        dist.normal().to_numpyro().enumerate_support()


# -- sampling -------------------------------------------------------------------


def test_lattice_samples_follow_the_pmf():
    p, lam = 0.37, 2.3
    d = dist.to_numpyro(two_sources(p, lam))
    s = np.asarray(d.sample(jax.random.key(1), (20_000,)))
    ref = reference_pmf(p, lam)
    assert np.all(s == np.round(s)) and s.min() >= 0
    counts = np.bincount(s.astype(int), minlength=ref.size)
    # Bins with expected count >= 5; the rest pooled into one.
    exp = ref * s.size
    keep = exp >= 5
    obs = np.append(counts[keep], counts[~keep].sum())
    ex = np.append(exp[keep], exp[~keep].sum())
    ex *= obs.sum() / ex.sum()
    assert scipy.stats.chisquare(obs, ex).pvalue > 1e-3


def test_density_samples_follow_the_cdf():
    d = normal_sum().to_numpyro()
    s = np.asarray(d.sample(jax.random.key(2), (20_000,)))
    assert scipy.stats.kstest(s, scipy.stats.norm(1.0, np.sqrt(5.0)).cdf).pvalue > 1e-3
    # Samples are reparameterized: d sample / d loc = 1 (a pure shift).
    g = jax.grad(lambda m: dist.normal(m, 1.0).to_numpyro().sample(jax.random.key(3)))
    assert float(g(0.5)) == pytest.approx(1.0, abs=1e-3)


# -- numpyro's shape conventions --------------------------------------------------


def test_shapes_sample_shape_expand_and_mask():
    key = jax.random.key(4)
    d = dist.to_numpyro(
        dist.binomial(4, jnp.array([0.2, 0.5, 0.7])) + dist.poisson(2.0),
        validate_args=False,
    )
    assert d.batch_shape == (3,) and d.event_shape == () and d.event_dim == 0
    assert d.sample(key).shape == (3,)
    assert d.sample(key, (2, 5)).shape == (2, 5, 3)
    assert d.shape((2, 5)) == (2, 5, 3)
    assert d.log_prob(jnp.ones((5, 1))).shape == (5, 3)
    assert d.log_prob(2.0).shape == (3,)
    e = d.expand((4, 3))
    se = e.sample(key, (2,))
    assert e.batch_shape == (4, 3) and se.shape == (2, 4, 3)
    assert bool(jnp.all(d.support(se)))
    x = jnp.arange(12.0).reshape(4, 3)
    np.testing.assert_array_equal(np.asarray(e.log_prob(x)), np.asarray(d.log_prob(x)))
    assert d.expand_by((2,)).batch_shape == (2, 3)
    m = d.mask(jnp.array([True, False, True]))
    lp = np.asarray(m.log_prob(jnp.array([1.0, 100.0, 2.0])))
    ref = np.asarray(d.log_prob(jnp.array([1.0, 100.0, 2.0])))
    np.testing.assert_array_equal(lp[[0, 2]], ref[[0, 2]])
    assert lp[1] == 0.0
    ind = d.to_event(1)
    assert ind.event_shape == (3,) and ind.log_prob(x).shape == (4,)


def test_jit_and_vmap_over_the_adapter():
    d = dist.to_numpyro(
        dist.binomial(4, jnp.array([0.2, 0.5, 0.7])) + dist.poisson(2.0)
    )
    x = jnp.array([1.0, 2.0, 3.0])
    eager = np.asarray(d.log_prob(x))
    jitted = jax.jit(lambda dd, v: dd.log_prob(v))(d, x)
    np.testing.assert_allclose(np.asarray(jitted), eager, rtol=1e-14)
    # vmaps jitted: eagerly they compile one program per operation
    mapped = jax.jit(jax.vmap(lambda dd, v: dd.log_prob(v)))(d, x)
    np.testing.assert_allclose(np.asarray(mapped), eager, rtol=1e-14)
    # The adapter built inside vmap (the law's parameters batched by vmap).
    ps = jnp.array([0.2, 0.5, 0.7])
    inner = jax.jit(
        jax.vmap(
            lambda p, v: (
                (dist.binomial(4, p) + dist.poisson(2.0)).to_numpyro().log_prob(v)
            )
        )
    )(ps, x)
    np.testing.assert_allclose(np.asarray(inner), eager, rtol=1e-14)
    leaves, tree = jax.tree_util.tree_flatten(d)
    back = jax.tree_util.tree_unflatten(tree, leaves)
    assert back.batch_shape == (3,) and type(back) is type(d)


# -- gradients ----------------------------------------------------------------------

Y_OBS = np.array([0, 2, 3, 5, 7, 11])


def _loglik(p, lam):
    return jnp.sum(dist.to_numpyro(two_sources(p, lam)).log_prob(Y_OBS))


def test_gradients_match_the_hand_sum_and_finite_differences():
    p, lam = 0.37, 2.3
    ref = jax.jit(jax.grad(lambda a, b: jnp.sum(hand_sum_logpmf(Y_OBS, a, b)), (0, 1)))(
        p, lam
    )
    got = jax.jit(jax.grad(_loglik, argnums=(0, 1)))(p, lam)
    np.testing.assert_allclose(np.array(got), np.array(ref), rtol=1e-7)
    check_grads(jax.jit(_loglik), (p, lam), order=1, modes=("rev",))

    # A masked-out value off the support leaves the gradient finite.
    def masked(pp):
        d = dist.to_numpyro(two_sources(pp, lam), validate_args=False)
        keep = jnp.array([True, False])
        return jnp.sum(d.mask(keep).log_prob(jnp.array([3.0, 1e4])))

    g = jax.jit(jax.grad(masked))(p)
    assert np.isfinite(float(g))


def test_density_gradient_matches_closed_form():
    def f(mu, s):
        law = dist.normal(mu, s, step=1 / 64, support=(-20.0, 20.0))
        return law.to_numpyro().log_prob(0.3)

    g = jax.jit(jax.grad(f, argnums=(0, 1)))(1.0, 2.0)
    # d/dmu log N(x; mu, s) = (x - mu)/s^2; d/ds = -1/s + (x - mu)^2/s^3.
    np.testing.assert_allclose(np.array(g), [-0.7 / 4, -0.5 + 0.49 / 8], atol=1e-4)


# -- in numpyro models ---------------------------------------------------------------

N_OBS = np.array([2] * 60 + [40] * 60)


def two_source_model(n_small, y_small, y_large, *, hand_sum=False):
    p = numpyro.sample("p", nd.Beta(1.0, 1.0))
    lam = numpyro.sample("lam", nd.Exponential(0.2))
    for name, n, y in (("small", n_small, y_small), ("large", 40, y_large)):
        with numpyro.plate(name + "_obs", y.shape[0]):
            if hand_sum:
                numpyro.factor(name, hand_sum_logpmf(y, p, lam, n))
            else:
                law = dist.binomial(n, p) + dist.poisson(lam, size=30)
                numpyro.sample(name, law.to_numpyro(), obs=y)


def _data(seed=5):
    rng = np.random.default_rng(seed)
    y = rng.binomial(N_OBS, 0.3) + rng.poisson(2.5, N_OBS.size)
    return jnp.asarray(y[:60]), jnp.asarray(y[60:])


def test_model_log_density_equals_the_hand_sum_model():
    ys, yl = _data()

    @functools.partial(jax.jit, static_argnums=1)
    @functools.partial(jax.value_and_grad)
    def joint(params, hand_sum):
        ld, _ = log_density(
            two_source_model, (2, ys, yl), {"hand_sum": hand_sum}, params
        )
        return ld

    for p, lam in ((0.3, 2.5), (0.1, 4.0)):
        params = {"p": jnp.asarray(p), "lam": jnp.asarray(lam)}
        a, ga = joint(params, False)
        b, gb = joint(params, True)
        assert float(a) == pytest.approx(float(b), rel=1e-10)
        for k in params:
            assert float(ga[k]) == pytest.approx(float(gb[k]), rel=1e-7)


# About 20 s, nearly all of it compiling NUTS (a second run in the same
# process takes 4 s, 150 or 300 draws alike). What NUTS evaluates, the model's
# log density and its gradient under jit, is checked against the hand sum by
# test_model_log_density_equals_the_hand_sum_model in the default run.
@pytest.mark.slow
def test_nuts_recovers_known_parameters():
    ys, yl = _data()
    mcmc = MCMC(
        NUTS(two_source_model), num_warmup=300, num_samples=300, progress_bar=False
    )
    mcmc.run(jax.random.key(6), 2, ys, yl)
    s = mcmc.get_samples()
    for name, truth in (("p", 0.3), ("lam", 2.5)):
        m, sd = float(s[name].mean()), float(s[name].std())
        assert 0 < sd < 0.5 * truth
        assert abs(m - truth) < 4 * sd, (name, m, sd)


# -- validation and errors -------------------------------------------------------------


def test_validate_args_follows_numpyro():
    bad = jax.jit(lambda p: dist.binomial(3, p))(1.5)  # NaN masses under jit
    with pytest.raises(ValueError, match="masses must be finite and non-negative"):
        dist.to_numpyro(bad, validate_args=True)
    quiet = dist.to_numpyro(bad, validate_args=False)
    assert bool(jnp.isnan(quiet.log_prob(1)))
    with pytest.raises(RuntimeError, match="inside jitted code"):
        jax.jit(lambda law: law.to_numpyro(validate_args=False).validate_args())(bad)
    d = dist.to_numpyro(dist.die(6), validate_args=True)
    with pytest.warns(UserWarning, match="Out-of-support"):
        assert float(d.log_prob(7.0)) == -np.inf
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert float(
            dist.to_numpyro(dist.die(6), validate_args=False).log_prob(7.0)
        ) == (-np.inf)


def test_bad_arguments():
    with pytest.raises(TypeError, match="`law` must be a Distribution; got int"):
        dist.to_numpyro(3)
    with pytest.raises(TypeError, match="`validate_args` must be None, True or False"):
        dist.to_numpyro(dist.die(6), validate_args="yes")
    with pytest.raises(TypeError, match="NumpyroLaw is final"):
        type("Sub", (type(dist.to_numpyro(dist.die(6))),), {})
    with pytest.raises(TypeError, match="`law` must be a probconv Distribution"):
        type(dist.to_numpyro(dist.die(6)))(np.ones(3))


def test_missing_numpyro_gives_a_clear_import_error(monkeypatch):
    # As if numpyro were not installed: the adapter's module cannot import.
    monkeypatch.delattr(dist, "_numpyro", raising=False)
    monkeypatch.delitem(sys.modules, "probconv.distributions._numpyro", raising=False)
    monkeypatch.setitem(sys.modules, "numpyro", None)
    monkeypatch.setitem(sys.modules, "numpyro.distributions", None)
    with pytest.raises(ImportError, match=r"pip install 'probconv\[numpyro\]'"):
        dist.die(6).to_numpyro()


# That importing probconv does not import numpyro is checked in a fresh
# interpreter by test_smooth_eager.py::test_routes_agree_without_x64 (one
# subprocess for both checks).
