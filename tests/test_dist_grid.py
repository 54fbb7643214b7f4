"""The Distribution pytree: construction checks, queries against scipy.stats.

Tolerances (float64 unless stated), used throughout this file:

| comparison | tolerance | why |
| --- | --- | --- |
| queries vs scipy rv_discrete / rv_histogram | rtol 1e-12 | (1) |
| float32 queries vs float64 | atol 2e-6 | float32 cumulative sums |
| sample mean vs mean | 5 SE | seeded, deterministic |

(1) sums of <= 40 masses, a few ulps each
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.special
import scipy.stats
from hypothesis import given
from hypothesis import strategies as st

import probconv.distributions as dist
from probconv.distributions import Distribution, from_masses

RTOL = 1e-12
ATOL32 = 2e-6


def _masses(seed, n, zeros=True):
    rng = np.random.default_rng(seed)
    m = rng.random(n)
    if zeros:
        m[rng.random(n) < 0.2] = 0.0
        m[0] = max(m[0], 0.1)
    return m / m.sum()


@pytest.fixture(scope="module")
def lattice():
    m = _masses(0, 17)
    d = from_masses(m, origin=-3.0, step=0.5)
    ref = scipy.stats.rv_discrete(values=(-3.0 + 0.5 * np.arange(17), m))
    return d, ref


@pytest.fixture(scope="module")
def density():
    m = _masses(1, 13)
    d = from_masses(m, origin=1.0, step=0.25, kind="density")
    x = 1.0 + 0.25 * np.arange(13)
    edges = np.concatenate([x - 0.125, [x[-1] + 0.125]])
    return d, scipy.stats.rv_histogram((m, edges), density=False), m


X_LAT = np.concatenate([np.linspace(-5, 7, 97), [-3.0, 5.0, 0.25, 2.0]])
QS = np.array([1e-9, 0.01, 0.2, 0.5, 0.77, 0.99, 1 - 1e-12])


@pytest.mark.parametrize("query", ["pmf", "cdf", "sf", "logpmf", "logsf"])
def test_lattice_queries_match_scipy(lattice, query):
    d, ref = lattice
    got = np.asarray(getattr(d, query)(X_LAT))
    want = getattr(ref, query)(X_LAT)
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=1e-15)


@pytest.mark.parametrize("query", ["ppf", "isf"])
def test_lattice_quantiles_match_scipy(lattice, query):
    d, ref = lattice
    got = np.asarray(getattr(d, query)(QS))
    np.testing.assert_array_equal(got, getattr(ref, query)(QS))


def test_quantile_ends_follow_scipy_on_integer_lattices():
    m = _masses(9, 6, zeros=False)
    d = from_masses(m, origin=2.0)
    ref = scipy.stats.rv_discrete(values=(2 + np.arange(6), m))
    q = np.array([0.0, 1.0])
    np.testing.assert_array_equal(d.ppf(q), ref.ppf(q))  # [1, 7]: one below
    np.testing.assert_array_equal(d.isf(q), ref.isf(q))
    # On a non-integer lattice "one below" is one step below (scipy: x0 - 1).
    h = from_masses(m, origin=2.0, step=0.5)
    assert float(h.ppf(0.0)) == 1.5 and float(h.isf(1.0)) == 1.5


def test_quantiles_at_exact_cdf_values(lattice):
    d, ref = lattice
    x = -3.0 + 0.5 * np.arange(17)
    c, s = ref.cdf(x), ref.sf(x)
    np.testing.assert_array_equal(d.ppf(c[c > 0]), ref.ppf(c[c > 0]))
    # scipy's rv_sample.isf goes through 1 - q and misses exact sf values;
    # the definition (smallest grid x with sf(x) <= q) is checked directly.
    want = [x[np.argmax(s <= sk * (1 + 1e-13))] for sk in s]
    np.testing.assert_array_equal(d.isf(s), want)


def test_grid_points_found_up_to_rounding():
    d = from_masses([0.25, 0.25, 0.5], origin=0.1, step=0.1)
    x = 0.1 + 0.2  # 0.30000000000000004, grid point 2 up to rounding
    assert float(d.pmf(x)) == 0.5 and float(d.cdf(x)) == 1.0
    assert float(d.pmf(0.2 + 1e-9)) == 0.0


def test_lattice_moments_match_scipy(lattice):
    d, ref = lattice
    np.testing.assert_allclose(d.mean(), ref.mean(), rtol=RTOL)
    np.testing.assert_allclose(d.var(), ref.var(), rtol=RTOL)
    np.testing.assert_allclose(d.std(), ref.std(), rtol=RTOL)
    for k in range(5):
        np.testing.assert_allclose(d.moment(k), ref.moment(k), rtol=RTOL)
    np.testing.assert_allclose(d.entropy(), ref.entropy(), rtol=RTOL)
    lo, hi = d.support()
    assert (float(lo), float(hi)) == (-3.0, 5.0)


def test_query_outside_unit_interval_and_nan(lattice):
    d, _ = lattice
    assert np.isnan(d.ppf([-0.1, 1.1, np.nan])).all()
    assert np.isnan(d.isf([-0.1, 1.1])).all()
    assert (
        np.isnan(d.cdf(np.nan)) and np.isnan(d.sf(np.nan)) and np.isnan(d.pmf(np.nan))
    )


@pytest.mark.parametrize("query", ["cdf", "sf"])
def test_density_cdf_sf_match_rv_histogram(density, query):
    d, ref, _ = density
    x = np.linspace(0.5, 5, 211)
    got = np.asarray(getattr(d, query)(x))
    np.testing.assert_allclose(got, getattr(ref, query)(x), rtol=RTOL, atol=1e-15)


@pytest.mark.parametrize("query", ["ppf", "isf"])
def test_density_quantiles_match_rv_histogram(density, query):
    d, ref, _ = density
    q = np.array([1e-6, 0.01, 0.2, 0.5, 0.77, 0.99, 1.0 - 1e-9])
    got = np.asarray(getattr(d, query)(q))
    np.testing.assert_allclose(got, getattr(ref, query)(q), rtol=1e-10)


def test_density_pdf_interpolates_and_integrates(density):
    d, _, m = density
    x = np.linspace(0.5, 5, 1001)
    k = (x - 1.0) / 0.25
    want = np.interp(k, np.arange(13), m / 0.25)
    want[(k < -0.5) | (k > 12.5)] = 0
    np.testing.assert_allclose(d.pdf(x), want, rtol=RTOL, atol=1e-15)
    fine = np.linspace(0.875, 4.125, 200001)
    np.testing.assert_allclose(np.trapezoid(d.pdf(fine), fine), 1.0, rtol=1e-6)
    ent = scipy.special.entr(m).sum() + np.log(0.25)
    np.testing.assert_allclose(d.entropy(), ent, rtol=RTOL)
    lo, hi = d.support()
    assert (float(lo), float(hi)) == (0.875, 4.125)


def test_kind_specific_queries_raise(lattice, density):
    with pytest.raises(TypeError, match="kind 'density'.*use `pmf`"):
        lattice[0].pdf(0.0)
    with pytest.raises(TypeError, match="kind 'lattice'.*use `pdf`"):
        density[0].pmf(1.0)


def test_batch_broadcasting_of_queries():
    m = np.stack([_masses(s, 9) for s in range(3)])
    d = from_masses(m, origin=[0.0, 1.0, -2.0])
    assert d.batch_shape == (3,) and d.origin.shape == (3,)
    x = np.arange(-3, 11, dtype=float)[:, None]
    got = d.cdf(x)
    assert got.shape == (14, 3)
    for i in range(3):
        one = from_masses(m[i], origin=[0.0, 1.0, -2.0][i])
        np.testing.assert_allclose(got[:, i], one.cdf(x[:, 0]), rtol=RTOL)
        np.testing.assert_allclose(d.ppf(0.4)[i], one.ppf(0.4), rtol=RTOL)
    np.testing.assert_allclose(
        d.mean(),
        [from_masses(m[i]).mean() for i in range(3)] + np.array([0.0, 1.0, -2.0]),
        rtol=RTOL,
    )


def test_sample_matches_masses():
    m = _masses(3, 8)
    d = from_masses(m, origin=2.0, step=0.5)
    s = np.asarray(d.sample(jax.random.key(7), (20000,)))
    assert s.shape == (20000,)
    assert set(np.unique(s)) <= set(2.0 + 0.5 * np.arange(8)[m > 0])
    counts = np.array([(s == 2.0 + 0.5 * k).sum() for k in range(8)])
    keep = m > 0
    _, pval = scipy.stats.chisquare(counts[keep], 20000 * m[keep])
    assert pval > 1e-4
    dd = from_masses(m, origin=2.0, step=0.5, kind="density")
    s2 = np.asarray(dd.sample(jax.random.key(8), (20000,)))
    se = float(dd.std()) / np.sqrt(20000)
    assert abs(s2.mean() - float(dd.mean())) < 5 * se
    batch = from_masses(np.stack([m, m[::-1]]))
    assert batch.sample(jax.random.key(0), (5, 4)).shape == (5, 4, 2)


def test_to_scipy_round_trip(lattice, density):
    d, ref = lattice
    sp = d.to_scipy()
    np.testing.assert_allclose(sp.cdf(X_LAT), ref.cdf(X_LAT), rtol=RTOL)
    dd, href, _ = density
    np.testing.assert_allclose(dd.to_scipy().cdf(2.3), href.cdf(2.3), rtol=RTOL)
    with pytest.raises(ValueError, match="single distribution; got batch shape"):
        from_masses(np.ones((2, 3)) / 3).to_scipy()


def test_pytree_jit_vmap_grad():
    m = jnp.asarray(_masses(4, 10))
    d = from_masses(m, origin=0.5)
    leaves, tree = jax.tree_util.tree_flatten(d)
    assert len(leaves) == 3
    assert jax.tree_util.tree_unflatten(tree, leaves).step == 1.0

    def f(d, x):
        return d.cdf(x) + d.sf(x) + d.pmf(x)

    np.testing.assert_allclose(jax.jit(f)(d, 3.5), f(d, 3.5), rtol=1e-15)
    batch = from_masses(jnp.stack([m, m[::-1]]), origin=jnp.array([0.0, 1.0]))
    # vmap and grad jitted: eagerly they compile one program per operation
    got = jax.jit(jax.vmap(lambda dd: dd.ppf(0.3)))(batch)
    np.testing.assert_array_equal(got, batch.ppf(0.3))
    # origin is differentiable: d/do E[X + o] = 1, d/do P(X <= x) for density
    g = jax.jit(jax.grad(lambda o: from_masses(m, origin=o).mean()))(0.5)
    assert float(g) == 1.0
    dens = jax.jit(
        jax.grad(lambda o: from_masses(m, origin=o, kind="density").cdf(3.3))
    )(0.5)
    # the cdf is the histogram's: its slope is the mass of the cell (3) over h
    np.testing.assert_allclose(dens, -m[3], rtol=1e-12)


def test_from_masses_under_jit_gives_nan_for_bad_masses():
    f = jax.jit(lambda m: from_masses(m).cdf(1.0))
    assert np.isfinite(f(jnp.array([0.5, 0.5])))
    assert np.isnan(f(jnp.array([-0.5, 1.5])))
    assert np.isnan(f(jnp.array([0.9, 0.9])))


def test_float32_follows_input():
    m = _masses(5, 12)
    d32 = from_masses(m.astype(np.float32), origin=np.float32(1.0))
    d64 = from_masses(m, origin=1.0)
    assert d32.masses.dtype == jnp.float32
    for q in ("cdf", "sf", "pmf"):
        r = getattr(d32, q)(np.arange(14, dtype=np.float32))
        assert r.dtype == jnp.float32
        np.testing.assert_allclose(r, getattr(d64, q)(np.arange(14.0)), atol=ATOL32)
    assert d32.mean().dtype == jnp.float32
    np.testing.assert_allclose(d32.mean(), d64.mean(), rtol=1e-6)


def test_integer_masses_become_floating():
    d = from_masses([0, 1, 0])
    assert jnp.issubdtype(d.masses.dtype, jnp.floating)
    assert float(d.mean()) == 1.0


@given(
    n=st.sampled_from([1, 30]),  # few shapes and steps: one compile each
    seed=st.integers(0, 10**6),
    origin=st.floats(-50, 50),
    step=st.sampled_from([0.1]),
    kind=st.sampled_from(["lattice", "density"]),
)
def test_query_invariants(n, seed, origin, step, kind):
    m = _masses(seed, n)
    d = from_masses(m, origin=origin, step=step, kind=kind)
    x = origin + step * np.random.default_rng(seed).uniform(-2, n + 2, 40)
    c, s = np.asarray(d.cdf(x)), np.asarray(d.sf(x))
    assert (c >= 0).all() and (s >= 0).all()
    np.testing.assert_allclose(c + s, 1.0, atol=1e-13)
    order = np.argsort(x)
    assert (np.diff(c[order]) >= -1e-15).all()
    q = np.random.default_rng(seed + 1).uniform(0, 1, 20)
    xq = np.asarray(d.ppf(q))
    assert (np.asarray(d.cdf(xq)) >= q - 1e-12).all()
    xi = np.asarray(d.isf(q))
    assert (np.asarray(d.sf(xi)) <= q + 1e-12).all()


# -- bad input ---------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"masses": [0.5, -0.1]}, ValueError, r"finite and non-negative; got .*-0\.1"),
        ({"masses": [0.5, np.nan]}, ValueError, "finite and non-negative"),
        ({"masses": [0.7, 0.7]}, ValueError, "sum to at most 1.*1.4"),
        ({"masses": [0.5], "truncated": 0.6}, ValueError, "sum to at most 1"),
        ({"masses": [0.5], "truncated": -0.1}, ValueError, "`truncated` must be"),
        ({"masses": 0.5}, ValueError, "at least one grid point"),
        ({"masses": []}, ValueError, "at least one grid point"),
        ({"masses": ["a"]}, TypeError, "real numeric array"),
        ({"masses": [0.5j]}, TypeError, "`masses` must be real"),
        (
            {"masses": [1.0], "step": 0.0},
            ValueError,
            "`step` must be finite and positive",
        ),
        (
            {"masses": [1.0], "step": "1"},
            TypeError,
            r"`step` must be a Python number \(a static real value\)",
        ),
        ({"masses": [1.0], "kind": "cont"}, ValueError, "'lattice' or 'density'; got"),
        (
            {"masses": np.ones((2, 3)) / 3, "origin": [1.0, 2, 3]},
            ValueError,
            "broadcast to the batch shape",
        ),
        ({"masses": [1.0], "origin": [1.0, 2.0]}, ValueError, "broadcast to the batch"),
    ],
)
def test_from_masses_errors(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        from_masses(**kwargs)


def test_operator_and_argument_errors():
    d = dist.die(6)
    with pytest.raises(TypeError, match="product of two random variables"):
        d * d
    with pytest.raises(TypeError):
        d + "a"
    with pytest.raises(
        TypeError, match=r"`order` must be an integer \(a static Python int\)"
    ):
        d.moment(1.5)
    with pytest.raises(ValueError, match="`order` must be at least 0"):
        d.moment(-1)
    with pytest.raises(ValueError, match="`shape` must be a tuple of non-negative"):
        d.sample(jax.random.key(0), (-1,))
    with pytest.raises(TypeError, match="`shape` must be a tuple of integers"):
        d.sample(jax.random.key(0), 2.5)


def test_public_names_have_docstrings():
    for name in dist.__all__:
        obj = getattr(dist, name)
        assert obj.__doc__ and obj.__doc__.strip(), name
    for name in (
        "pmf",
        "cdf",
        "sf",
        "ppf",
        "isf",
        "mean",
        "var",
        "moment",
        "entropy",
        "support",
        "sample",
        "to_scipy",
        "pdf",
        "add",
    ):
        assert getattr(Distribution, name).__doc__, name
