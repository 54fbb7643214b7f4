"""Relative accuracy past the cut of unbounded families (issue 15).

References are closed forms evaluated in float64 log space, independently of
the library: the Polya-Aeppli law (compound Poisson of geometric severities)
as a log-sum-exp of non-negative terms, the negative binomial law (sums of
geometric and negative binomial variables) and the Poisson law (sums of
Poissons) through scipy.stats' logpmf.

Tolerances, stated once (as in test_tails.py):

| comparison                               | tolerance       | why               |
| ---------------------------------------- | --------------- | ----------------- |
| float64 relative method vs closed form,  | rel 1e-8        | documented 1e-10, |
| every point down to the float range      |                 | two digits spare  |
| true error vs the method's estimate      | err <= estimate | its contract      |
|                                          | + 4 ulp of log  |                   |
"""

import math

import jax
import numpy as np
import pytest
import scipy.special
import scipy.stats
from _reference import rel_err
from hypothesis import given, settings
from hypothesis import strategies as st

import probconv.distributions as dist
from probconv.distributions import RelativeDistribution, relative_error

F64 = 1e-8
TINY = np.finfo(np.float64).tiny


@pytest.fixture(autouse=True)
def _x64():
    with jax.enable_x64(True):
        yield


def _check(d, log_ref, tol=F64, ulp=None):
    """Every point in the float range within `tol`; the estimates cover the error.

    Past the float range, where the summands' own tails were cut (below
    tiny * eps), a point may be unresolved: its estimate then says so.
    """
    assert isinstance(d, RelativeDistribution)
    lm = np.asarray(d.log_masses, np.float64)
    err = rel_err(lm, log_ref)
    inside = log_ref > math.log(TINY)
    assert err[inside].max() <= tol, (err[inside].max(), np.argmax(err[inside]))
    est = np.asarray(relative_error(d), np.float64)
    if ulp is None:
        ulp = 4 * np.finfo(np.float64).eps * (np.abs(log_ref) + 1)
    assert np.all(err <= est + ulp), np.max(err - est - ulp)


def _polya_aeppli_log(lam, p, size):
    """log P(S = k), S a Poisson(lam) sum of geometric(p) on 1, 2, ..., k < size.

    P(S = k) = sum_n Pois(n; lam) C(k - 1, n - 1) p^n (1 - p)^(k - n), k >= 1.
    """
    k = np.arange(1, size)[:, None]
    n = np.arange(1, size)[None, :]
    with np.errstate(invalid="ignore"):
        t = (
            -lam
            + n * math.log(lam)
            - scipy.special.gammaln(n + 1)
            + scipy.special.gammaln(k)
            - scipy.special.gammaln(n)
            - scipy.special.gammaln(np.maximum(k - n + 1, 1))
            + n * math.log(p)
            + (k - n) * math.log1p(-p)
        )
    t = np.where(n <= k, t, -np.inf)
    return np.concatenate([[-lam], scipy.special.logsumexp(t, axis=1)])


def test_compound_grid_reaches_the_end_of_the_float_range():
    lam, p = 3.0, 0.5
    s = dist.compound(dist.poisson(lam), dist.geometric(p), accuracy="relative")
    # The plain grid stops near 1e-16; the relative one where masses leave
    # the float range (issue: 82 points, logpmf -inf one step further at 1e-28).
    assert s.size > 1000
    assert float(s.log_masses[-1]) < math.log(TINY)
    assert 0 <= float(s.truncated) <= TINY
    _check(s, _polya_aeppli_log(lam, p, s.size))
    # Masses plus the truncated mass sum to one.
    assert abs(float(s.masses.sum() + s.truncated) - 1) < 1e-13
    # A point the user names bounds the grid instead.
    n, x = dist.poisson(lam), dist.geometric(p)
    t = dist.compound(n, x, size=60, accuracy="relative")
    assert t.size == 60
    _check(t, _polya_aeppli_log(lam, p, 60))


def test_iid_sum_of_geometrics_at_log_probability_minus_500():
    # geometric(0.6) keeps 40 points in absolute mode; relative mode extends it.
    x = dist.geometric(0.6)
    assert x.size < 50
    n = 300
    s = dist.iid_sum(x, n, accuracy="relative")
    # The sum's grid ends where its masses leave the float range.
    assert float(s.log_masses[-1]) < math.log(TINY) and s.size < 2000
    k = np.arange(n, n + s.size)
    ref = scipy.stats.nbinom.logpmf(k - n, n, 0.6)
    assert np.any(np.abs(ref + 500) < 1)
    inside = ref > math.log(TINY)
    assert rel_err(s.logpmf(k), ref)[inside].max() <= F64
    # scipy sums gammaln terms of size G = gammaln(k + 1): a few ulps of G.
    est = np.asarray(relative_error(s))[k - n]
    ulp = 4 * np.finfo(np.float64).eps * (scipy.special.gammaln(k + 1) + 1)
    assert np.all(rel_err(s.logpmf(k), ref) <= est + ulp)


def test_sums_of_poissons_and_scipy_laws_extend():
    s = dist.add(dist.poisson(2.0), dist.poisson(3.0), accuracy="relative")
    k = np.arange(s.size)
    ref = scipy.stats.poisson.logpmf(k, 5.0)
    assert ref[-1] < -700
    _check(s, ref, ulp=4e-16 * (scipy.special.gammaln(k + 1) + 1))
    # A discrete scipy law extends through its own logpmf.
    x = dist.from_scipy(scipy.stats.nbinom(2.5, 0.3))
    assert isinstance(x, dist.Parametric) and x.family == "scipy"
    s4 = dist.iid_sum(x, 4, accuracy="relative")
    k = np.arange(s4.size)
    ref = scipy.stats.nbinom.logpmf(k, 10.0, 0.3)
    assert (ref > math.log(TINY)).sum() > 1500
    _check(s4, ref, ulp=4e-16 * (scipy.special.gammaln(k + 11) + 1))


def test_laws_that_cannot_extend_say_so_point_by_point():
    # Plain masses with a recorded truncated mass: the sum past the cut is
    # short by up to that mass, and the error estimate says so there.
    g = dist.geometric(0.5)
    plain = dist.from_masses(g.masses, 1.0, truncated=g.truncated)
    s = dist.iid_sum(plain, 3, accuracy="relative")
    ref = scipy.stats.nbinom.logpmf(np.arange(s.size), 3, 0.5)
    est = np.asarray(relative_error(s))
    err = rel_err(s.log_masses, ref)
    assert np.all(err <= est + 1e-15 * (np.abs(ref) + 1))
    first = g.size  # the first sum index the lost mass reaches
    assert est[:first].max() < 1e-10
    assert est[-1] > 1e-3 and err[-1] > 1e-3


# -- queries past the grid ------------------------------------------------------


def test_family_queries_past_the_grid_use_the_family_formula():
    cases = [
        (dist.poisson(3.0), scipy.stats.poisson(3.0)),
        (dist.geometric(0.3), scipy.stats.geom(0.3)),
        (dist.negative_binomial(2.5, 0.3), scipy.stats.nbinom(2.5, 0.3)),
        (dist.from_scipy(scipy.stats.nbinom(2.5, 0.3)), scipy.stats.nbinom(2.5, 0.3)),
    ]
    for d, ref in cases:
        last = int(np.asarray(d.support()[1]))
        k = np.array([1, 3, last - 1, last, last + 1, last + 20, 3 * last])
        # scipy's own values, representable here (rel 1e-12: its rounding).
        np.testing.assert_allclose(d.logpmf(k), ref.logpmf(k), rtol=1e-12)
        np.testing.assert_allclose(d.sf(k), ref.sf(k), rtol=1e-12, atol=0)
        np.testing.assert_allclose(d.logsf(k), ref.logsf(k), rtol=1e-12)
        np.testing.assert_allclose(d.cdf(k), ref.cdf(k), rtol=1e-15)
        b = dist.bounds(d, float(3 * last))
        assert float(b.lower) == float(b.upper) == float(b.value) > 0
    # Far below the smallest float, in log space: a sum of log-masses.
    far = np.arange(401, 5000)
    ref = scipy.special.logsumexp(scipy.stats.poisson.logpmf(far, 3.0))
    assert abs(float(dist.poisson(3.0).logsf(400)) / ref - 1) < 1e-12


def test_family_tails_jit_and_differentiate():
    def logsf(mu):
        return dist.poisson(mu, size=30).logsf(100.0)

    mu, h = 3.0, 1e-5
    fd = scipy.stats.poisson.logsf(100, mu + h) - scipy.stats.poisson.logsf(100, mu - h)
    # gradients jitted (eager grad compiles one program per operation); the
    # eager value is compared with the jitted one below
    assert abs(float(jax.jit(jax.grad(logsf))(mu)) / (fd / (2 * h)) - 1) < 1e-7
    assert float(jax.jit(logsf)(mu)) == pytest.approx(float(logsf(mu)), rel=1e-14)
    g = jax.jit(
        jax.grad(lambda r: dist.negative_binomial(r, 0.3, size=80).logsf(300.0))
    )(2.5)
    lr = [scipy.stats.nbinom.logsf(300, r, 0.3) for r in (2.5 + h, 2.5 - h)]
    assert abs(float(g) / ((lr[0] - lr[1]) / (2 * h)) - 1) < 1e-6


def test_bounds_hold_the_truth_past_the_grid():
    x = 10 * dist.lognormal(0.5)
    ref = scipy.stats.lognorm(0.5, scale=10)
    t = float(x.truncated)
    b = dist.bounds(x, np.array([30.0, 900.0]))
    # A density's cell masses also carry the discretization error (<= tol,
    # 1e-6, at default settings), which bounds do not cover.
    assert np.all(b.lower <= ref.sf([30.0, 900.0]) + 1e-6)
    assert np.all(ref.sf([30.0, 900.0]) <= b.upper + 1e-6)
    assert float(b.value[1]) == 0 and float(b.upper[1]) == pytest.approx(t)
    c = dist.bounds(x, 0.3, "cdf")  # below the grid: only the cut mass
    assert float(c.lower) == 0 and ref.cdf(0.3) <= float(c.upper)
    # A lattice with the cut mass past its grid: exact bounds.
    g = dist.geometric(0.5, size=10)
    plain = dist.from_masses(g.masses, 1.0, truncated=g.truncated)
    k = np.array([3.0, 10.0, 20.0])
    b = dist.bounds(plain, k)
    true = scipy.stats.geom(0.5).sf(k)
    rounding = 4 * np.finfo(np.float64).eps  # sums of ten masses
    assert np.all(b.lower <= true * (1 + rounding))
    assert np.all(true <= b.upper * (1 + rounding))
    assert float(b.value[-1]) == 0 and float(b.upper[-1]) > 0
    with pytest.raises(ValueError, match="`query` must be 'sf', 'cdf' or 'pmf'"):
        dist.bounds(x, 1.0, "logsf")
    with pytest.raises(TypeError, match="`d` must be"):
        dist.bounds([0.5, 0.5], 1.0)


# -- random parameters (hypothesis) ---------------------------------------------


def _tail_logs(log_pmf):
    """log P(S > k) for each k from log-masses that run past the float range."""
    rev = np.logaddexp.accumulate(log_pmf[::-1])[::-1]
    return np.concatenate([rev[1:], [-np.inf]])


def _check_queries(d, support, log_ref):
    """Every query of `d` above 1e-300 holds its relative accuracy; none is lost.

    `support` are the integers from the law's first grid point on, further
    than its grid, and `log_ref` their exact log-masses (closed forms).
    Inside the grid: logpmf and logsf within F64 of the closed forms. Past
    the grid: the exact masses there are below 1e-300 (the grid ran on
    until the masses left the float range); logpmf and logsf read NaN there
    (mass was cut, its place unknown below the cut mass), never a -inf
    that would pass for an impossible value, and `bounds` holds the truth.
    """
    n = d.size
    inside = log_ref[:n] > math.log(1e-300)
    err = rel_err(d.logpmf(support[:n]), log_ref[:n])
    assert err[inside].max() <= F64, err[inside].max()
    log_sf = _tail_logs(log_ref)
    inside_sf = log_sf[:n] > math.log(1e-300)
    err = rel_err(d.logsf(support[:n]), log_sf[:n])
    assert err[inside_sf].max() <= F64, err[inside_sf].max()
    assert np.all(log_ref[n:] < math.log(1e-300))
    past = support[n : n + 40 : 7].astype(float)
    assert float(d.log_truncated) > -np.inf and float(d.truncated) > 0
    assert np.all(np.isnan(d.logpmf(past))) and np.all(np.isnan(d.logsf(past)))
    b = dist.bounds(d, past, "sf")
    assert np.all(np.asarray(b.lower) <= np.exp(log_sf[n : n + 40 : 7]))
    assert np.all(np.exp(log_sf[n : n + 40 : 7]) <= np.asarray(b.upper))


# Each example builds laws of a new grid length (one compilation of each
# relative program, 3-7 s of CPU): one or two examples, the fixed cases
# above covering the rest (the suite's time on two cores).
@settings(max_examples=1)
@given(p=st.floats(0.15, 0.9), n=st.sampled_from([2, 9, 40]))
def test_iid_sums_of_geometrics_hold_relative_accuracy(p, n):
    s = dist.iid_sum(dist.geometric(p), n, accuracy="relative")
    assert float(s.origin) == n
    k = np.arange(n, n + 2 * s.size + 50)
    # Failures before the n-th success: scipy's nbinom in log space.
    _check_queries(s, k, scipy.stats.nbinom.logpmf(k - n, n, p))


# lam=1, p=0.5 cut its grid where P(S > last) is about 1e-313, a subnormal
# that XLA flushes to 0: the cut mass read 0 and the bounds missed the truth.
def test_compound_poisson_geometric_cut_at_a_subnormal_tail():
    _compound_poisson_geometric(1.0, 0.5)


@pytest.mark.slow  # each example compiles a new grid (about 10 s of CPU)
@settings(max_examples=2)
@given(lam=st.floats(0.5, 6.0), p=st.floats(0.2, 0.9))
def test_compound_poisson_geometric_holds_relative_accuracy(lam, p):
    _compound_poisson_geometric(lam, p)


def _compound_poisson_geometric(lam, p):
    s = dist.compound(dist.poisson(lam), dist.geometric(p), accuracy="relative")
    assert float(s.origin) == 0
    size = 2 * s.size + 50
    _check_queries(s, np.arange(size), _polya_aeppli_log(lam, p, size))


# -- the cut mass of relative laws, in log space ----------------------------------


def _two_point_compound_log(lam, size):
    """log P(S = k), S a Poisson(lam) sum of severities 1 or 2 (1/2 each), k < size.

    S = A + 2 B with A, B independent Poisson(lam / 2): a log-sum-exp over B.
    """
    k = np.arange(size)[:, None]
    j = np.arange(size)[None, :]
    a = scipy.stats.poisson.logpmf(k - 2 * j, lam / 2)
    return scipy.special.logsumexp(a + scipy.stats.poisson.logpmf(j, lam / 2), axis=1)


def test_relative_laws_record_the_cut_mass_in_log_space():
    sev = dist.bernoulli(0.5) + 1.0  # a plain lattice on 1, 2
    s = dist.compound(dist.poisson(2.0), sev, accuracy="relative")
    ref = _two_point_compound_log(2.0, s.size + 400)
    _check_queries(s, np.arange(s.size + 400), ref)
    # The cut mass's log bounds the exact tail P(S >= size), which underflows.
    exact = scipy.special.logsumexp(ref[s.size :])
    assert exact < math.log(TINY) and float(s.log_truncated) >= exact
    assert float(s.truncated) == TINY  # kept as a bound, never 0
    # S of bounded support inside the grid: nothing cut, -inf exactly.
    b = dist.compound(dist.binomial(5, 0.3), dist.die(6), accuracy="relative")
    assert b.size > 30 and float(b.log_truncated) == -np.inf
    assert float(b.truncated) == 0 and float(b.logpmf(b.size + 3)) == -np.inf
    assert float(b.logsf(30)) == -np.inf
    # A sum of extended families (the law of test_sums_of_poissons_and_
    # scipy_laws_extend, compiled once): the Chernoff bound past a shortened
    # grid, and the summands' own cut masses, in log space.
    pair = dist.add(dist.poisson(2.0), dist.poisson(3.0), accuracy="relative")
    _check_cut_sum(pair, 5.0)
    # jit keeps the field.
    j = jax.jit(lambda d: d)(s)
    assert float(j.log_truncated) == float(s.log_truncated)


def _check_cut_sum(law, mean):
    """A relative sum of Poisson laws bounds its cut mass, never -inf."""
    k = np.arange(law.size, law.size + 600)
    exact = scipy.special.logsumexp(scipy.stats.poisson.logpmf(k, mean))
    assert float(law.log_truncated) >= exact > -np.inf
    assert float(law.truncated) >= TINY
    assert np.isnan(float(law.logpmf(law.size + 2)))
    bd = dist.bounds(law, float(law.size + 2))
    assert float(bd.lower) == 0 and float(bd.upper) >= TINY


@pytest.mark.slow  # an iid sum's own programs (about 5 s); `add` is above
def test_iid_sums_of_extended_families_record_their_cut_mass():
    _check_cut_sum(dist.iid_sum(dist.poisson(3.0), 4, accuracy="relative"), 12.0)


def _exact_support(c, x, size):
    """``S = X_1 + ... + X_N`` can take each point: numpy.convolve of indicators.

    Counts of ways by numpy's direct convolution (exact integers in float64
    here: at most 2^12 ways per point), thresholded at 1/2.
    """
    a = (np.asarray(x) > 0).astype(np.float64)
    out = np.zeros(size, bool)
    acc = np.zeros(size)
    acc[0] = 1.0
    for cn in c:
        if cn > 0:
            out |= acc > 0.5
        acc = (np.convolve(acc, a)[:size] > 0.5).astype(np.float64)
    return out


def test_compound_count_of_200_masses_with_gaps_has_exact_support():
    # A count given by 200 masses, most of them 0 (more than `HORNER` = 64:
    # the support of S was the sumset of the counts' whole range, a
    # superset, with round-off noise there, up to 1e84), and a severity
    # with gaps: every impossible point of S is exactly -inf; a possible
    # one is finite, or stated unresolved (error inf: the tilts do not
    # resolve every point of so multimodal a law).
    rng = np.random.default_rng(7)
    c = np.zeros(200)
    at = np.sort(rng.choice(np.arange(1, 199), 6, replace=False))
    c[np.r_[0, at, 199]] = rng.random(8) + 0.1
    c /= c.sum()
    x = np.zeros(7)
    x[[2, 6]] = [0.5, 0.5]
    s = dist.compound(dist.from_masses(c), dist.from_masses(x), accuracy="relative")
    lm, le = np.asarray(s.log_masses), np.asarray(s.log_error)
    want = _exact_support(c, x, lm.size)
    assert np.all(np.isneginf(lm[~want]))
    assert np.all(np.isfinite(lm[want]) | np.isposinf(le[want]))
    assert np.isfinite(lm[want]).mean() > 0.9
    assert (~want).sum() > lm.size // 2  # gaps dominate: a real test


def test_density_families_answer_past_their_cells_from_their_formulas():
    # A density from a family constructor (default support, concrete
    # parameters) remembers its scipy law: eager queries past its cells
    # return the family's own values (scipy's, rel 1e-12: float64 rounding),
    # not the 0 or -inf of an empty grid; inside the cells the grid answers
    # as before. Batched parameters broadcast as the grid's queries do.
    x = dist.normal([0.0, 1.0], [1.0, 2.0])
    ref = scipy.stats.norm([0.0, 1.0], [1.0, 2.0])
    far = np.array([[-60.0], [30.0], [45.0]])
    for query in ("sf", "logsf", "cdf", "logcdf", "pdf", "logpdf"):
        got = np.asarray(getattr(x, query)(far))
        want = getattr(ref, query)(far)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)
    inside = np.asarray(x.sf(1.0))
    assert abs(inside[0] / scipy.stats.norm.sf(1.0) - 1) < 1e-5  # the cells'
    e = dist.exponential()
    assert float(e.logsf(1000.0)) == pytest.approx(-1000.0, rel=1e-12)
    # An explicit support, or an operation's result, answers from its cells
    # (0 past them, with `bounds`).
    assert float(dist.normal(support=(-5.0, 5.0), step=0.1).sf(8.0)) == 0.0
    y = 10 * dist.lognormal(0.5)
    b = dist.bounds(y, 900.0)
    assert float(y.sf(900.0)) == 0.0 and float(b.upper) > 0.0
