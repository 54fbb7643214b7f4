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
from probconv.conv import bucket_length, to_device

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
    # NumPy probabilities: laws and queries on the host, nothing compiled.
    with count_compiles() as compiles:
        for n in range(20, 2020, 97):
            p = rng.uniform(0, 0.1, n)
            got = dist.poisson_binomial(p).sf(np.array([n // 20, n // 10]))
            want = scipy.stats.poisson_binom.sf([n // 20, n // 10], p)
            np.testing.assert_allclose(np.asarray(got), want, rtol=0, atol=1e-14)
    assert compiles == []
    # JAX arrays: the jitted tree, one program per width and query bucket.
    dist.poisson_binomial(to_device(rng.uniform(0, 0.1, 70))).sf(3)  # 128, 80
    with count_compiles() as compiles:
        for n in range(65, 129):  # one tree width, 4 query buckets
            p = rng.uniform(0, 0.1, n)
            got = float(dist.poisson_binomial(to_device(p)).sf(n // 10))
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
            # The host law's tail sums (NumPy) and the grid's (XLA): rounding.
            np.testing.assert_allclose(
                np.asarray(host), np.asarray(grid), rtol=4 * EPS, atol=4 * EPS
            )
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
    # One point at a time (the scalar route of `_host.family_query`): scipy's.
    with np.errstate(all="ignore"):
        for name, points in [(n, x) for n in ("pmf", "logpmf", "sf", "cdf")] + [
            ("ppf", q)
        ]:
            want = getattr(ref, name)(points)
            got = [getattr(law, name)(float(v)) for v in points]
            if name == "ppf":  # scipy's on the grid, the grid's past it
                want = np.asarray(law.ppf(jnp.asarray(points)))
            assert all(g.shape == () and g.dtype == np.float64 for g in got)
            np.testing.assert_array_equal(np.array(got), want, err_msg=name)


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
        with np.errstate(divide="ignore"):  # scipy's sf at p = 1: log1p(-1)
            assert scipy.stats.geom.sf(n, p) <= EPS
        assert n == 1 or scipy.stats.geom.sf(n - 1, p) > EPS


# -- laws built on the host (NumPy leaves) -------------------------------------
HOST_LAWS = {
    "binomial": lambda: dist.binomial(20, 0.3),
    "poisson": lambda: dist.poisson(4.0),
    "geometric": lambda: dist.geometric(np.float64(0.35)),
    "negative_binomial": lambda: dist.negative_binomial(5, np.array(0.4)),
    "bernoulli": lambda: dist.bernoulli(0.3),
    "dice": lambda: dist.dice(10, 6),
    "poisson_binomial": lambda: dist.poisson_binomial(
        np.random.default_rng(3).uniform(0, 0.3, 700)
    ),
}


def test_eager_laws_from_numpy_keep_numpy_leaves_and_lose_no_mass():
    for name, build in HOST_LAWS.items():
        law = build()
        leaves = jax.tree_util.tree_leaves(law)
        assert all(isinstance(v, np.ndarray) for v in leaves), name
        assert not any(v.flags.writeable for v in leaves), name
        assert law.dtype == np.float64
        total = float(law.masses.sum() + law.truncated)
        assert abs(total - 1) <= 8 * EPS * np.sqrt(law.size), (name, total)
        assert float(law.masses.min()) >= 0.0
        for got in (law.sf(3), law.cdf([3.0]), law.pmf(np.int32(3)), law.ppf(0.5)):
            assert isinstance(got, jax.Array) and got.dtype == np.float64
    # The caller's arrays are copied, never frozen.
    p = np.array([0.2, 0.4])
    dist.binomial(4, p), dist.poisson_binomial(p)
    assert p.flags.writeable
    # JAX arrays in: JAX leaves, as before; float32 in: float32 leaves.
    for law in (
        dist.binomial(20, jnp.asarray(0.3)),
        dist.poisson_binomial(jnp.asarray([0.2, 0.4])),
    ):
        assert all(isinstance(v, jax.Array) for v in jax.tree_util.tree_leaves(law))
    for law in (dist.poisson(np.float32(4.0)), dist.poisson_binomial(p[:1] * 0.5)):
        assert law.masses.dtype == law.truncated.dtype == law.masses.dtype
    assert dist.poisson(np.float32(4.0)).masses.dtype == np.float32
    assert dist.poisson_binomial(np.float32([0.1, 0.2])).masses.dtype == np.float32


@pytest.mark.parametrize("name", ["dice", "poisson_binomial"])
def test_host_lattice_queries_equal_the_jitted_ones(name):
    """The host's pmf, cdf, sf, ppf and isf (arrays and single points) equal
    the jitted queries of the same law (its leaves as JAX arrays) to 4 eps
    times the grid length: the same sums, associated differently."""
    law = HOST_LAWS[name]()
    lo, hi = float(law.origin), float(law.origin) + law.size - 1
    x = np.array([-np.inf, lo - 1, lo, lo + 0.5, (lo + hi) // 2, hi, hi + 3])
    x = np.concatenate([x, [np.inf, np.nan]])
    q = np.array([0.0, 1e-300, 1e-9, 0.3, 0.5, 1 - 1e-12, 1.0, -0.1, np.nan])
    jitted = jax.jit(lambda d, x, q: [d.pmf(x), d.cdf(x), d.sf(x), d.ppf(q), d.isf(q)])
    want = jitted(jax.tree_util.tree_map(to_device, law), x, q)
    tol = 4 * EPS * law.size
    for qname, points, w in zip(
        ("pmf", "cdf", "sf", "ppf", "isf"), [x] * 3 + [q] * 2, want
    ):
        got = getattr(law, qname)(points)
        np.testing.assert_allclose(got, w, rtol=tol, atol=tol, err_msg=qname)
        one = [float(getattr(law, qname)(v)) for v in points]
        np.testing.assert_allclose(one, w, rtol=tol, atol=tol, err_msg=qname)
    # -inf lies below every grid: cdf 0, sf the whole mass (the grid too).
    assert float(law.cdf(-np.inf)) == 0.0 and float(law.sf(-np.inf)) > 1 - tol


def test_host_poisson_binomial_against_scipy_every_route():
    rng = np.random.default_rng(5)
    cases = [
        rng.uniform(0, 1, 40),  # trial by trial
        rng.uniform(0, 0.2, 700),  # blocks, direct pairs (both kinds), FFTs
        rng.uniform(0, 1, (3, 40)),  # a batch: blocks, one convolve per pair
    ]
    for p in cases:
        law = dist.poisson_binomial(p)
        assert isinstance(law.masses, np.ndarray)
        rows = p.reshape(-1, p.shape[-1])
        for row, got in zip(rows, law.masses.reshape(len(rows), -1)):
            want = scipy.stats.poisson_binom.pmf(np.arange(row.size + 1), row)
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-15)


def test_host_dice_are_exact():
    from fractions import Fraction
    from itertools import product

    counts = {}
    for faces in product(range(1, 5), repeat=3):
        counts[sum(faces)] = counts.get(sum(faces), 0) + 1
    law = dist.dice(3, 4)
    assert float(law.origin) == 3.0 and law.size == 10
    want = [float(Fraction(counts[k], 4**3)) for k in range(3, 13)]
    np.testing.assert_allclose(law.masses, want, rtol=2 * EPS, atol=0)
    big = dist.dice(10, 6)
    grid = dist.iid_sum(dist.die(6), 10)  # the transform power
    np.testing.assert_allclose(big.masses, grid.masses, rtol=0, atol=1e-16)
    assert dist.dice(0).size == 1 and float(dist.dice(0).masses[0]) == 1.0
    with pytest.raises(ValueError, match="`sides` must be at least 1"):
        dist.dice(2, 0)


def test_host_sums_equal_the_jitted_ones_and_compile_nothing(count_compiles):
    x = dist.negative_binomial(2.5, 0.3, tail=1e-9)  # a truncated tail
    with count_compiles() as compiles:
        for n in (7, 9, 30):
            s = dist.binomial(n, 0.4) + dist.dice(2, 4) + x
            assert isinstance(s.masses, np.ndarray)
            assert s.sf(np.array([5.0, 50.0])).shape == (2,)
    assert compiles == []
    device = jax.tree_util.tree_map(to_device, (dist.binomial(30, 0.4), x))
    want = jax.jit(lambda a, b: a + b)(*device)
    got = dist.binomial(30, 0.4) + x
    for field in ("masses", "origin", "truncated"):
        e, t = getattr(got, field), np.asarray(getattr(want, field))
        assert e.dtype == t.dtype and e.shape == t.shape
        np.testing.assert_allclose(e, t, rtol=0, atol=1e-16, err_msg=field)
    assert abs(float(got.masses.sum() + got.truncated) - 1) <= 1e-14
    assert float(got.truncated) > 1e-10  # kept, not lost
    f32 = dist.poisson(np.float32(3.0)) + dist.bernoulli(np.float32(0.5))
    assert f32.masses.dtype == f32.truncated.dtype == np.float32


def test_host_clip_equals_the_jitted_clip():
    from probconv.distributions._lattice_ops import _clip_to_total

    rng = np.random.default_rng(7)
    clean = rng.uniform(0, 1, (3, 40)) * 10.0 ** -rng.uniform(0, 20, 40)
    noisy = clean + rng.normal(0, 1e-17, clean.shape)  # FFT-like round-off
    assert (noisy < 0).any() and not (clean < 0).any()
    total = np.array([1.0, 0.5, 2.0])
    for y in (clean, noisy):
        for t in (None, total):
            got = _clip_to_total(y, t, xp=np)
            want = np.asarray(_clip_to_total(jnp.asarray(y), t))
            assert isinstance(got, np.ndarray) and got.min() >= 0
            np.testing.assert_allclose(got, want, rtol=4 * EPS, atol=0)
            if t is not None:
                np.testing.assert_allclose(got.sum(-1), t, rtol=4 * EPS)


# -- family laws of scalar parameters: the grid deferred -----------------------
def _deferred(law) -> bool:
    """Whether `law`'s grid is still unbuilt (a deferred family law)."""
    return "_recipe" in vars(law) and "masses" not in vars(law)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_deferred_family_law_answers_without_its_grid_and_builds_the_same_grid(
    family,
):
    """A family law of scalar parameters answers eager NumPy queries from
    scipy's formulas without building its grid; the answers and, once built,
    the grid and leaves equal bit for bit those of the law built at once (a
    batch of one, which takes the constructor's host path)."""
    build, _ = FAMILIES[family]
    x = np.array([-1.0, 0.0, 2.0, 7.0, 400.0, np.inf, np.nan])
    q = np.array([0.0, 1e-12, 0.3, 0.99, 1.0, np.nan])
    lazy, built = build(), build()
    assert _deferred(lazy) and _deferred(built)
    built.masses  # noqa: B018 - builds the grid
    assert not _deferred(built)
    # q = 1 answers past the grid's end: the grid's answer, which builds it.
    cases = [(n, x) for n in ("pmf", "logpmf", "sf", "cdf")] + [("ppf", q[:4])]
    for name, points in [*cases, ("ppf", q)]:
        if name == "ppf" and points.size == q.size:
            assert _deferred(lazy)  # answered from the recipe so far
        for p in (points, *points[:3].tolist(), int(points[2])):
            got, want = getattr(lazy, name)(p), getattr(built, name)(p)
            assert isinstance(got, jax.Array) and got.dtype == want.dtype
            np.testing.assert_array_equal(got, want, err_msg=name)
    row = jax.tree_util.tree_map(lambda v: v[None], lazy)  # builds, then a batch
    assert not _deferred(lazy)
    batch = {
        "binomial": lambda: dist.binomial(30, [0.3]),
        "poisson": lambda: dist.poisson([4.5]),
        "geometric": lambda: dist.geometric([0.35]),
        "negative_binomial": lambda: dist.negative_binomial([2.5], [0.3]),
        "bernoulli": lambda: dist.bernoulli([0.3]),
    }[family]()
    assert jax.tree_util.tree_structure(row) == jax.tree_util.tree_structure(batch)
    for a, b in zip(jax.tree_util.tree_leaves(row), jax.tree_util.tree_leaves(batch)):
        assert isinstance(a, np.ndarray) and a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    assert not any(v.flags.writeable for v in jax.tree_util.tree_leaves(lazy))


def test_deferred_laws_check_eagerly_and_serve_every_other_use():
    import copy
    import pickle

    # The grid's length and its checks are computed with the law, as before.
    with pytest.raises(ValueError, match="`mu` must be finite and non-negative"):
        dist.poisson(-1.0)
    with pytest.raises(ValueError, match="The grid would need"):
        dist.poisson(1e300)
    with pytest.raises(ValueError, match="`size` must be at least 1"):
        dist.negative_binomial(2.0, 0.5, size=0)
    with pytest.raises(ValueError, match="`p` must be finite and lie in"):
        dist.binomial(3, np.float64(np.nan))
    law = dist.poisson(np.float32(2.5), size=12)
    assert _deferred(law) and law.size == 12 and law.masses.dtype == np.float32
    assert law.params[0].dtype == np.float32
    # Copies and pickles keep the law (deferred or built); isf uses the grid.
    for make in (copy.copy, copy.deepcopy, lambda d: pickle.loads(pickle.dumps(d))):
        a, b = make(dist.negative_binomial(2.5, 0.3)), dist.negative_binomial(2.5, 0.3)
        np.testing.assert_array_equal(a.masses, b.masses)
        assert a.family == b.family and a.params[1] == b.params[1]
    d, e = dist.geometric(0.35), dist.geometric(0.35)
    np.testing.assert_array_equal(d.isf([0.25, 1e-9]), e.isf([0.25, 1e-9]))
    assert not _deferred(d) and float(d.isf(0.25)) == scipy.stats.geom.isf(0.25, 0.35)
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        dist.poisson(1.0).nothing  # noqa: B018
