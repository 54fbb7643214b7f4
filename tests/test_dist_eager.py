"""Eager laws: buckets for many sizes, answers equal to the traced path.

Tolerances (float64): padded and unpadded queries add the same masses, with
zeros appended, possibly associated differently by XLA: within 4 eps of the
total mass (of the mean's scale for moments). The Poisson binomial's eager
masses against scipy's: 1e-15 absolute (both are sums of non-negative terms
below 1).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats

from probconv import distributions as dist
from probconv.conv import bucket_length

EPS = np.finfo(np.float64).eps


@pytest.mark.parametrize("n", [1, 7, 33, 100])
def test_eager_poisson_binomial_matches_scipy_and_the_traced_path(n):
    p = np.random.default_rng(n).uniform(0, 1, n)
    eager = dist.poisson_binomial(p)
    traced = jax.jit(lambda q: dist.poisson_binomial(q).masses)(p)
    ref = scipy.stats.poisson_binom.pmf(np.arange(n + 1), p)
    assert eager.masses.shape == (n + 1,)
    np.testing.assert_allclose(np.asarray(eager.masses), ref, rtol=0, atol=1e-15)
    np.testing.assert_allclose(
        np.asarray(eager.masses), np.asarray(traced), rtol=0, atol=1e-15
    )
    assert float(eager.masses.min()) >= 0.0


def test_eager_poisson_binomial_batches_and_checks():
    p = np.random.default_rng(0).uniform(0, 0.3, (3, 10))
    d = dist.poisson_binomial(p)
    assert d.masses.shape == (3, 11)
    for row, law in zip(p, d.masses):
        ref = scipy.stats.poisson_binom.pmf(np.arange(11), row)
        np.testing.assert_allclose(np.asarray(law), ref, rtol=0, atol=1e-15)
    with pytest.raises(ValueError, match="`p` must be finite and lie in"):
        dist.poisson_binomial([0.2, 1.5])
    with pytest.raises(ValueError, match="at least one probability"):
        dist.poisson_binomial(np.zeros((2, 0)))


def test_portfolio_loop_compiles_per_bucket_not_per_size(count_compiles):
    rng = np.random.default_rng(1)
    dist.poisson_binomial(rng.uniform(0, 0.1, 70)).sf(3)  # width 128, bucket 80
    with count_compiles() as compiles:
        for n in range(65, 129):  # one tree width, 4 query buckets
            p = rng.uniform(0, 0.1, n)
            got = float(dist.poisson_binomial(p).sf(n // 10))
            want = scipy.stats.poisson_binom.sf(n // 10, p)
            assert abs(got - want) <= 1e-14
    buckets = {bucket_length(n + 1) for n in range(65, 129)}
    assert len(compiles) <= len(buckets), (len(compiles), sorted(buckets))


@pytest.mark.parametrize("n", [9, 30, 77])
def test_padded_lattice_queries_equal_unpadded(n):
    rng = np.random.default_rng(n)
    m = rng.dirichlet(np.ones(n)) * 0.999
    law = dist.from_masses(m, origin=-3.0, step=0.5, truncated=0.001)
    assert bucket_length(n) != n  # the eager queries below are padded
    x = np.array([-4.0, -3.0, -2.75, 0.0, 0.25, -3.0 + 0.5 * (n - 1), 100.0])
    q = np.array([0.0, 1e-3, 0.25, 0.5, 0.999, 1.0])

    def all_queries(d):
        return [d.pmf(x), d.cdf(x), d.sf(x), d.ppf(q), d.isf(q), d.mean(), d.var()]

    eager = all_queries(law)
    traced = jax.jit(all_queries)(law)  # traced laws are never padded
    for e, t in zip(eager, traced):
        e, t = np.asarray(e), np.asarray(t)
        assert e.shape == t.shape
        scale = max(1.0, np.abs(t[np.isfinite(t)]).max(initial=0.0))
        np.testing.assert_allclose(e, t, rtol=0, atol=4 * EPS * scale * n)


def test_densities_are_not_padded():
    d = dist.from_masses([0.25, 0.5, 0.25], step=0.5, kind="density")
    assert d._padded() is d
    lattice = dist.from_masses(np.full(9, 1 / 9))
    assert lattice._padded().masses.shape == (bucket_length(9),)
    assert jax.jit(lambda law: law._padded().masses.shape[-1])(lattice) == 9
    assert isinstance(jnp.asarray(lattice.sf(3)), jax.Array)


@pytest.mark.parametrize(
    "make_law",
    [
        lambda p: dist.binomial(30, p),
        lambda p: dist.poisson(40 * p, size=80),
        lambda p: dist.negative_binomial(3.5, p, size=120),
    ],
    ids=["binomial", "poisson", "negative_binomial"],
)
def test_eager_families_equal_the_traced_formulas(make_law):
    # Eager laws take their masses from scipy.special on the host; traced
    # ones from the JAX formulas. Both within 1e-14 relative of each other
    # (lgamma-based terms) on every mass above 1e-300.
    p = np.array([0.2, 0.55, 0.9])
    eager = make_law(p)
    traced = jax.jit(lambda q: make_law(q))(p)
    for field in ("masses", "origin", "truncated"):
        e, t = np.asarray(getattr(eager, field)), np.asarray(getattr(traced, field))
        assert e.shape == t.shape and e.dtype == t.dtype
        big = np.abs(t) > 1e-300
        np.testing.assert_allclose(e[big], t[big], rtol=1e-12, atol=0)
    assert type(eager) is type(traced) and eager.family == traced.family
    assert [x.shape for x in eager.params] == [x.shape for x in traced.params]


FAMILIES = {
    "binomial": (lambda: dist.binomial(30, 0.3), scipy.stats.binom(30, 0.3)),
    "poisson": (lambda: dist.poisson(4.5), scipy.stats.poisson(4.5)),
    "geometric": (lambda: dist.geometric(0.35), scipy.stats.geom(0.35)),
    "negative_binomial": (
        lambda: dist.negative_binomial(2.5, 0.3),
        scipy.stats.nbinom(2.5, 0.3),
    ),
    "bernoulli": (lambda: dist.bernoulli(0.3), scipy.stats.bernoulli(0.3)),
}


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_eager_family_queries_are_scipys_and_agree_with_the_grid(family):
    """Eager NumPy queries of a concrete family law: scipy.stats on the host.

    The same queries with JAX-array points go through the grid (the path
    under jit and grad); the two agree to the grid's accuracy: 1e-12
    relative where the value is above 1e-250, as the closed-form tails past
    the grid and the grid's own tail sums are (issue 15).
    """
    build, ref = FAMILIES[family]
    law = build()
    x = np.array([-1.0, 0.0, 0.5, 1.0, 2.0, 7.0, 25.0, 80.0, 400.0, np.inf, np.nan])
    for name in ("pmf", "logpmf", "sf", "logsf", "cdf"):
        with np.errstate(all="ignore"):
            want = getattr(ref, name)(x)
        host = getattr(law, name)(x)
        grid = getattr(law, name)(jnp.asarray(x))
        assert isinstance(host, jax.Array) and host.dtype == grid.dtype == np.float64
        if name == "logsf":  # scipy's is log(sf): -inf past 1e-308, ours goes on
            if family in ("poisson", "geometric", "negative_binomial"):
                assert np.asarray(host)[-3] > -np.inf  # x = 400
            np.testing.assert_array_equal(np.asarray(host), np.asarray(grid))
            want = np.where(np.isneginf(want) & (x < np.inf), np.asarray(grid), want)
        else:
            np.testing.assert_array_equal(np.asarray(host), want)
        big = np.abs(want) > 1e-250
        np.testing.assert_allclose(
            np.asarray(grid)[big], want[big], rtol=1e-12, atol=1e-300
        )
        same = ~big & ~np.isnan(want)
        if name.startswith("log"):
            same &= np.isneginf(want)  # log values near 0 are compared above
        np.testing.assert_allclose(np.asarray(grid)[same], want[same], atol=1e-250)
    q = np.array([0.0, 1e-12, 0.3, 0.5, 0.99, -0.5, np.nan])
    np.testing.assert_array_equal(
        np.asarray(law.ppf(q)), np.asarray(law.ppf(jnp.asarray(q)))
    )


def test_eager_family_queries_keep_the_laws_dtype_and_batches():
    law = dist.poisson(np.float32(2.5))
    got = law.sf(np.arange(5))
    assert got.dtype == np.float32
    np.testing.assert_allclose(
        got, scipy.stats.poisson.sf(np.arange(5), 2.5), rtol=1e-6
    )
    batch = dist.poisson(np.array([1.0, 3.0]))  # batched: the grid's answer
    np.testing.assert_allclose(
        batch.sf(2), scipy.stats.poisson.sf(2, [1.0, 3.0]), rtol=1e-12
    )


def test_constructor_grid_sizes_reach_any_tail():
    # The cut is the smallest k with sf(k) <= tail, for tails far below eps too.
    for mu, tail in ((3.0, 1e-300), (0.0, 1e-16), (1e4, 1e-16), (0.01, 1e-3)):
        k = dist.poisson(mu, tail=tail).size - 1
        assert scipy.stats.poisson.sf(k, mu) <= tail
        assert k == 0 or scipy.stats.poisson.sf(k - 1, mu) > tail
    for p in (0.01, 0.5, 1.0):
        n = dist.geometric(p).size
        assert scipy.stats.geom.sf(n, p) <= EPS
        assert n == 1 or scipy.stats.geom.sf(n - 1, p) > EPS
