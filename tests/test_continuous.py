"""Continuous families on a grid: masses, queries, grid choice, transforms.

Tolerances (float64 unless stated), used throughout this file:

| comparison                        | tolerance       | why                         |
| --------------------------------- | --------------- | --------------------------- |
| masses vs scipy cdf differences   | rtol 1e-9,      | JAX's incomplete gamma/beta |
|                                   | atol 1e-15      | and ndtr vs scipy's         |
| cdf at cell edges vs scipy        | atol 1e-13      | sums of <= 1e4 masses       |
| pdf at grid points vs scipy       | h^2 max|f''|/6  | cell average (h^2/24 f'')   |
|                                   |                 | + interpolation (h^2/8 f'') |
| mean, var vs scipy                | 2 h^2, rtol 1e-3| midpoint rule; Sheppard     |
| sample mean vs mean               | 5 SE            | seeded                      |
| grad vs finite differences        | JAX defaults;   | order 2 central differences |
|                                   | rtol 1e-6       | of scipy's cdf              |
| float32 cdf vs float64            | atol 1e-5       | float32 cumulative sums     |
"""

import inspect

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats
from _reference import check_grads
from hypothesis import given
from hypothesis import strategies as st

import probconv.distributions as dist
from probconv.distributions import _grid_args

H = 2.0**-5

FAMILIES = {
    "normal": (lambda **g: dist.normal(0.5, 1.5, **g), scipy.stats.norm(0.5, 1.5)),
    "uniform": (lambda **g: dist.uniform(-1.0, 3.0, **g), scipy.stats.uniform(-1, 3)),
    "exponential": (
        lambda **g: dist.exponential(0.3, 2.0, **g),
        scipy.stats.expon(0.3, 2.0),
    ),
    "gamma": (
        lambda **g: dist.gamma(2.5, 0.0, 1.5, **g),
        scipy.stats.gamma(2.5, 0, 1.5),
    ),
    "beta": (lambda **g: dist.beta(2.0, 3.5, **g), scipy.stats.beta(2.0, 3.5)),
    "lognormal": (
        lambda **g: dist.lognormal(0.6, 0.0, 2.0, **g),
        scipy.stats.lognorm(0.6, 0, 2.0),
    ),
    "laplace": (lambda **g: dist.laplace(1.0, 0.7, **g), scipy.stats.laplace(1.0, 0.7)),
    "cauchy": (lambda **g: dist.cauchy(0.0, 0.5, **g), scipy.stats.cauchy(0.0, 0.5)),
    "student_t": (
        lambda **g: dist.student_t(4.0, 0.0, 1.2, **g),
        scipy.stats.t(4.0, 0, 1.2),
    ),
    "pareto": (lambda **g: dist.pareto(2.5, 0.0, 1.0, **g), scipy.stats.pareto(2.5)),
}


def _edges(d):
    x = np.asarray(d.points)
    return np.concatenate([x - d.step / 2, [x[-1] + d.step / 2]])


def _law(name):
    """The family's law on the grid of step H that cuts tails of q each."""
    make, frozen = FAMILIES[name]
    q = {"cauchy": 2e-3, "pareto": 1e-5}.get(name, 1e-7)
    return make(step=H, support=(frozen.ppf(q), frozen.isf(q)))


@pytest.fixture(scope="module", params=sorted(FAMILIES))
def family(request):
    return request.param, _law(request.param), FAMILIES[request.param][1]


def test_masses_are_cdf_differences(family):
    name, d, frozen = family
    e = _edges(d)
    f, s = frozen.cdf(e), frozen.sf(e)
    ref = np.where(f[1:] <= 0.5, np.diff(f), -np.diff(s))
    np.testing.assert_allclose(d.masses, ref, rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(d.truncated, f[0] + s[-1], rtol=1e-9, atol=1e-15)
    assert isinstance(d, dist.Continuous) and d.kind == "density"
    assert d.step == H


def test_cdf_sf_at_edges_are_exact(family):
    _, d, frozen = family
    e = _edges(d)[1:-1:7]
    lo = frozen.cdf(_edges(d)[0])
    np.testing.assert_allclose(d.cdf(e), frozen.cdf(e) - lo, atol=1e-13)
    hi = frozen.sf(_edges(d)[-1])
    np.testing.assert_allclose(d.sf(e), frozen.sf(e) - hi, atol=1e-13)


def test_pdf_is_second_order(family):
    name, d, frozen = family
    x = np.asarray(d.points)[2:-2]
    x = x[(x > frozen.ppf(1e-3)) & (x < frozen.isf(1e-3))]
    f2 = np.abs(np.gradient(np.gradient(frozen.pdf(x), x), x))
    if name in ("uniform", "exponential", "laplace", "pareto"):
        keep = np.ones_like(x, bool)  # away from the jump or kink only
        for a in frozen.support() + (frozen.median(),):
            keep &= np.abs(x - a) > 3 * H
        x, f2 = x[keep], f2[keep]
    err = np.abs(np.asarray(d.pdf(x)) - frozen.pdf(x))
    assert np.all(err <= H**2 * np.max(f2) / 6 + 1e-12)


def check_sample_mean(d):
    s = d.sample(jax.random.key(3), (4000,))
    se = float(d.std()) / np.sqrt(4000)
    assert abs(float(s.mean()) - float(d.mean())) < 5 * se


def test_moments_ppf_sample(family):
    name, d, frozen = family
    q = np.array([0.01, 0.3, 0.5, 0.9])
    np.testing.assert_allclose(d.cdf(d.ppf(q)), q - float(d.cdf(-np.inf)), atol=1e-12)
    if name in ("cauchy",):
        return
    if name not in ("student_t", "pareto"):  # heavy tails: the cut shows in var
        np.testing.assert_allclose(d.mean(), frozen.mean(), atol=2 * H**2)
        np.testing.assert_allclose(d.var(), frozen.var() + H**2 / 12, rtol=1e-3)
    check_sample_mean(d)


def test_jumps_recorded_only_where_the_density_jumps():
    assert dist.normal(step=H).jumps is None
    assert dist.lognormal(1.0, step=H).jumps is None
    e = dist.exponential(step=H)
    assert e.jumps is not None and abs(float(e.jumps.sum())) < 1e-15
    k = int(round(-float(e.origin) / H))  # grid index of 0
    np.testing.assert_allclose(e.jumps[k + 1], -e.jumps[k - 1])
    np.testing.assert_allclose(e.jumps[k + 1], -H / 48)  # J h B2(1/2) / 4
    assert float(e.masses[k - 1]) == 0.0  # the empty margin cell


def test_auto_grid_meets_its_targets():
    d = dist.normal(0.0, 2.0, tol=1e-7)
    slope = scipy.stats.norm(0, 2).pdf(2.0) / 2.0  # max |f'| at one sigma
    assert np.log2(d.step) == round(np.log2(d.step))
    assert d.step**2 * slope / 8 <= 1e-7 < (2 * d.step) ** 2 * slope / 8
    assert float(d.truncated) <= 1e-7
    g = dist.gamma([2.0, 5.0], tol=1e-5)  # one grid covers the batch
    assert g.masses.shape[0] == 2 and float(g.truncated.max()) <= 1e-5


def test_heavy_tail_balances_cut_and_step():
    c = dist.cauchy(max_size=4096)
    assert c.size <= 4096
    t = float(c.truncated)
    assert 1e-6 < t < 0.05
    np.testing.assert_allclose(t, 2 * scipy.stats.cauchy.sf(c.support()[1]), rtol=1e-6)
    p = dist.pareto(1.2, step=0.5, max_size=1000)
    assert p.size <= 1000 and float(p.truncated) > 0


def test_from_scipy_any_continuous_law():
    frozen = scipy.stats.weibull_min(1.0, scale=2.0)  # an exponential, jump at 0
    d = dist.from_scipy(frozen, step=H)
    ref = dist.exponential(0.0, 2.0, step=H, tail=2.220446049250313e-16)
    np.testing.assert_allclose(d.masses, ref.masses, atol=1e-15)
    np.testing.assert_allclose(d.jumps, ref.jumps, rtol=1e-5, atol=1e-12)
    g = dist.from_scipy(scipy.stats.gumbel_r(), tol=1e-6)
    assert g.jumps is None and np.log2(g.step) == round(np.log2(g.step))
    e = _edges(g)[::50]
    np.testing.assert_allclose(g.cdf(e), scipy.stats.gumbel_r.cdf(e), atol=1e-14)


def test_cubic_cdf_between_edges_is_fourth_order():
    ref = scipy.stats.norm(0.3, 1.1)
    x = np.linspace(-2.0, 2.0, 17) + 0.01
    errs = {}
    for h in (0.25, 0.125):
        d = dist.normal(0.3, 1.1, step=h, tail=1e-14)
        errs[h] = (
            np.max(np.abs(np.asarray(d.cdf(x)) - ref.cdf(x))),
            np.max(np.abs(np.asarray(d.cdf(x, interpolation="cubic")) - ref.cdf(x))),
        )
    assert errs[0.125][1] < errs[0.125][0] / 20
    assert errs[0.25][1] / errs[0.125][1] > 12  # order 4: ratio 16


# -- transformations ------------------------------------------------------------

GRID = {"step": H, "support": (-8.0, 8.0)}


def test_jit_matches_eager():
    def f(loc, scale):
        return dist.normal(loc, scale, **GRID).cdf(jnp.array([0.015625, 1.015625]))

    np.testing.assert_allclose(jax.jit(f)(0.3, 1.2), f(0.3, 1.2), rtol=1e-14)


def test_vmap_over_parameters_matches_loop():
    grid = {"step": H, "support": (0.0, 30.0)}

    def f(s):
        return dist.lognormal(s, **grid).cdf(2.015625)

    s = jnp.array([0.3, 0.7, 1.1])
    # jitted: eager vmap compiles one program per operation
    np.testing.assert_allclose(jax.jit(jax.vmap(f))(s), [f(v) for v in s], rtol=1e-14)


@pytest.mark.parametrize(
    "name, fn, x0, ref",
    [
        (
            "normal loc",
            lambda t: dist.normal(t, 1.3, **GRID).cdf(0.515625),
            0.2,
            lambda t: scipy.stats.norm(t, 1.3).cdf(0.515625),
        ),
        (
            "gamma a",
            lambda t: dist.gamma(t, step=H, support=(0.0, 40.0)).cdf(2.015625),
            2.5,
            lambda t: scipy.stats.gamma(t).cdf(2.015625),
        ),
        (
            "lognormal s",
            lambda t: dist.lognormal(t, step=H, support=(0.0, 60.0)).cdf(1.515625),
            0.8,
            lambda t: scipy.stats.lognorm(t).cdf(1.515625),
        ),
        (
            "pareto b",
            lambda t: dist.pareto(t, step=H, support=(1.0, 50.0)).sf(3.015625),
            2.5,
            lambda t: (
                scipy.stats.pareto(t).sf(3.015625) - scipy.stats.pareto(t).sf(50.015625)
            ),
        ),
    ],
)
def test_grad_of_cdf_against_finite_differences(name, fn, x0, ref):
    fn = jax.jit(fn)
    check_grads(fn, (x0,), order=1, modes=("rev",))
    eps = 1e-6
    fd = (ref(x0 + eps) - ref(x0 - eps)) / (2 * eps)
    np.testing.assert_allclose(jax.jit(jax.jacfwd(fn))(x0), fd, rtol=1e-6)


def test_float32():
    d32 = dist.normal(np.float32(0.0), np.float32(1.0), step=H, support=(-6.0, 6.0))
    d64 = dist.normal(0.0, 1.0, step=H, support=(-6.0, 6.0))
    assert d32.dtype == jnp.float32
    x = np.linspace(-3, 3, 13)
    np.testing.assert_allclose(d32.cdf(x), d64.cdf(x), atol=1e-5)


@given(
    a=st.floats(0.5, 20.0),
    scale=st.floats(0.2, 5.0),
    loc=st.floats(-3.0, 3.0),
)
def test_gamma_invariants(a, scale, loc):
    d = dist.gamma(a, loc, scale, step=0.125, support=(-3.0, 1100.0))
    m = np.asarray(d.masses)
    assert np.all(m >= 0)
    np.testing.assert_allclose(m.sum() + float(d.truncated), 1.0, atol=1e-12)
    x = np.linspace(loc - 1, loc + 10 * scale, 9)
    c = np.asarray(d.cdf(x))
    assert np.all(np.diff(c) >= -1e-15)


# -- bad input --------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (
            lambda: dist.normal(0.0, -1.0, step=H),
            ValueError,
            "`scale` must be finite and positive; got -1.0",
        ),
        (
            lambda: dist.gamma(0.0),
            ValueError,
            "`a` must be finite and positive; got 0.0",
        ),
        (
            lambda: dist.normal(step=0.0),
            ValueError,
            "`step` must be finite and positive",
        ),
        (
            lambda: dist.normal(support=(1.0, -1.0)),
            ValueError,
            "`support` must be finite with lo < hi",
        ),
        (lambda: dist.normal(support=3.0), TypeError, "`support` must be a pair"),
        (
            lambda: dist.normal(tail=0.6),
            ValueError,
            r"`tail` must be finite and lie in \(0, 0.5\)",
        ),
        (
            lambda: dist.normal(step=H).cdf(0.0, interpolation="spline"),
            ValueError,
            "`interpolation` must be 'linear' or 'cubic'; got 'spline'",
        ),
        (lambda: dist.normal(max_size=4), ValueError, "`max_size` must be at least 16"),
        (lambda: dist.normal(max_size=2.5), TypeError, "`max_size` must be an integer"),
        (lambda: dist.normal("a"), TypeError, "`loc` must be a real number"),
        (
            lambda: jax.jit(lambda s: dist.normal(0.0, s).masses)(1.0),
            ValueError,
            "`step` and `support` must be given when the parameters are traced",
        ),
        (
            lambda: dist.normal(step=1e-9, support=(-1.0, 1.0)),
            ValueError,
            r"over 10\*\*8",
        ),
        (
            lambda: dist.pareto(0.5, step=1.0, max_size=16),
            ValueError,
            "No grid of step 1.0 fits in `max_size`=16",
        ),
    ],
)
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_traced_parameters_give_nan_for_bad_values():
    f = jax.jit(lambda s: dist.normal(0.0, s, **GRID).masses)
    assert np.all(np.isnan(f(-1.0)))


CONTINUOUS_FAMILIES = (
    "normal uniform exponential gamma beta lognormal laplace cauchy student_t pareto"
).split()


@pytest.mark.parametrize("name", CONTINUOUS_FAMILIES)
def test_families_take_the_grid_arguments_of_one_spec(name):
    """Signature and docstring: the family's own parameters, then the spec's."""
    fn = getattr(dist, name)
    params = list(inspect.signature(fn).parameters.values())
    grid = [p for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY]
    assert {p.name: p.default for p in grid} == _grid_args.DEFAULTS
    assert params[-len(grid) :] == grid
    doc = inspect.getdoc(fn)
    section = doc.split("Parameters\n----------\n")[1].split("\n\nReturns\n")[0]
    assert section.endswith(_grid_args.DOC.rstrip())
    assert doc.count("max_size : int") == 1
    own = [1.5] * sum(p.default is p.empty for p in params)
    with pytest.raises(TypeError, match=f"{name}\\(\\) got an unexpected keyword"):
        fn(*own, stpe=0.25)
    with pytest.raises(TypeError, match="positional"):
        fn(*[1.5] * (len(params) - len(grid) + 1))


def test_from_scipy_has_the_grid_defaults_of_the_spec():
    params = inspect.signature(dist.from_scipy).parameters
    for name in ("step", "support", "tol", "max_size"):
        assert params[name].default == _grid_args.DEFAULTS[name]


def test_sampling_draws_each_point_with_its_mass():
    # Inverse cdf over the grid: points without mass (inside the grid and at
    # its ends) are never drawn, and the frequencies of 200,000 draws pass a
    # chi-square test against the masses (fixed keys, so the test is
    # deterministic); batched laws draw each batch entry from its own masses.
    m = np.array([0.0, 0.2, 0.0, 0.5, 0.3, 0.0])
    for dt in (np.float64, np.float32):
        s = np.asarray(
            dist.from_masses(m.astype(dt)).sample(jax.random.key(1), (200_000,))
        )
        assert s.dtype == dt
        values, counts = np.unique(s, return_counts=True)
        np.testing.assert_array_equal(values, [1.0, 3.0, 4.0])
        assert scipy.stats.chisquare(counts, 200_000 * m[m > 0]).pvalue > 1e-3
    law = dist.binomial(5, jnp.array([[0.1, 0.9], [0.5, 0.3]]))
    s = np.asarray(law.sample(jax.random.key(2), (50_000,)))
    assert s.shape == (50_000, 2, 2)
    se = np.sqrt(5 * 0.25 / 50_000)
    assert np.all(np.abs(s.mean(0) - [[0.5, 4.5], [2.5, 1.5]]) < 5 * se)
    assert law.sample(jax.random.key(2)).shape == (2, 2)
