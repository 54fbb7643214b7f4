"""Relative accuracy for compounds of a density severity (issue 15).

``compound(N, X, accuracy='relative')`` with a density `X`. References are
independent, in float64 log space: a compound of Exp(rate) is the mixture
``sum_n P(N = n) Gamma(n, rate)`` (log-sum-exp of scipy.stats' logsf and
logpdf), and the compound geometric of Exp(1) (a negative binomial count
with ``r = 1``: ``P(N = n) = (1 - rho) rho^n`` from 0) is the Cramer-Lundberg
ruin probability ``psi(u) = rho exp(-(1 - rho) u)``, ``rho = 1 / (1 + t)``
for the safety loading `t`, an atom ``1 - rho`` at 0 plus an exponential.

Tolerance, stated once: every value is within the library's own stated
estimate (`sf_error` for `logsf`, `relative_error` at the nearest grid point
for `logpdf`), down to 1e-300; and that estimate is at most `WORST` where
the grid resolves the law (the discretization, about
``E[N | S = x] (theta h)^2 / 24`` relative, is the dominant error).

The default run draws few hypothesis examples (each grid compiles its own
tilts); ``HYPOTHESIS_PROFILE=thorough`` draws more.
"""

import math
import os

import jax
import numpy as np
import pytest
import scipy.special
import scipy.stats
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

import probconv.distributions as dist
from probconv.distributions._continuous import parts
from probconv.distributions._drift import rounding_drift
from probconv.distributions._relative_ops import relative_compound

H = 0.1
LOG_FLOOR = math.log(1e-300)
WORST = 1.0  # at 1e-300 with h = 0.1; a few 1e-3 near the body

# Each example compiles the tilts of its own grid (4-8 s of CPU): one by
# default, more with HYPOTHESIS_PROFILE=thorough.
THOROUGH = os.environ.get("HYPOTHESIS_PROFILE") == "thorough"
FEW = settings(
    max_examples=20 if THOROUGH else 1,
    deadline=None,
    derandomize=not THOROUGH,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # no slow shrinking
)


@pytest.fixture(autouse=True)
def _x64():
    with jax.enable_x64(True):
        yield


def _gamma_mixture(log_pn, n, rate):
    """``(logsf, logpdf)`` of ``sum_n P(N = n) Gamma(n, rate)`` for ``n >= 1``."""
    keep = (n >= 1) & np.isfinite(log_pn)
    n, log_pn = n[keep][:, None], log_pn[keep][:, None]

    def logsf(x):
        x = np.asarray(x, float)[None, :]
        return scipy.special.logsumexp(
            log_pn + scipy.stats.gamma.logsf(x * rate, n), axis=0
        )

    def logpdf(x):
        x = np.asarray(x, float)[None, :]
        g = scipy.stats.gamma.logpdf(x * rate, n) + math.log(rate)
        return scipy.special.logsumexp(log_pn + g, axis=0)

    return logsf, logpdf


def _check(s, logsf, logpdf, xs, worst=WORST):
    """Errors of logsf and logpdf at `xs` within the stated ones, and those small."""
    xs = np.asarray(xs, float)
    got_sf, got_pdf = np.asarray(s.logsf(xs)), np.asarray(s.logpdf(xs))
    assert np.all(np.isfinite(got_sf)) and np.all(np.isfinite(got_pdf))
    err_sf = np.abs(np.expm1(got_sf - logsf(xs)))
    est_sf = np.asarray(s.sf_error(xs))
    k = np.round((xs - float(s.origin)) / s.step).astype(int)
    err_pdf = np.abs(np.expm1(got_pdf - logpdf(xs)))
    est_pdf = np.asarray(dist.relative_error(s))[k]
    assert np.all(err_sf <= est_sf), (xs, err_sf, est_sf)
    assert np.all(err_pdf <= est_pdf), (xs, err_pdf, est_pdf)
    assert np.all(est_sf <= worst) and np.all(est_pdf <= worst), (est_sf, est_pdf)


def _points(logsf, lo, hi, levels=12):
    """Points in ``[lo, hi]`` where the reference sf is at least 1e-300."""
    xs = np.linspace(lo, hi, 200)
    xs = xs[logsf(xs) >= LOG_FLOOR]
    return xs[np.linspace(0, xs.size - 1, levels).astype(int)]


@pytest.fixture(scope="module")
def poisson_exp():
    with jax.enable_x64(True):
        e = dist.exponential(step=H, support=(0.0, 720.0))
        return e, dist.compound(dist.poisson(2.0), e, accuracy="relative")


def test_compound_poisson_of_exponentials_down_to_1e_300(poisson_exp):
    e, s = poisson_exp
    assert isinstance(s, dist.RelativeDensity) and s.kind == "density"
    n = np.arange(0, 3000)
    logsf, logpdf = _gamma_mixture(scipy.stats.poisson.logpmf(n, 2.0), n, 1.0)
    xs = [0.5, 1.0, 3.0, 10.0, 50.0, 200.0, 400.0, 600.0, 690.0]
    _check(s, logsf, logpdf, xs)
    assert float(s.logsf(690.0)) / math.log(10) < -270
    # The plain compound stops at its absolute floor; the relative one does not.
    assert float(dist.compound(dist.poisson(2.0), e).sf(100.0)) < 1e-30
    # Cost against the plain method: tests/benchmarks, not timed here.


def test_atom_is_exact_and_masses_are_whole(poisson_exp):
    _, s = poisson_exp
    assert float(s.log_atom) == -2.0  # P(N = 0), exactly
    # The atom counts in the cdf from 0 on and in the sf below 0 only.
    assert float(s.logsf(-1.0)) == pytest.approx(0.0, abs=1e-12)
    assert math.exp(float(s.logcdf(0.0))) >= math.exp(-2.0)
    assert float(s.logcdf(-0.2)) < -1e3 or math.isinf(float(s.logcdf(-0.2)))
    assert float(s.masses.sum()) == pytest.approx(1.0, abs=1e-12)
    # Mean: E N E X = 2 (second order in the step).
    assert float(s.mean()) == pytest.approx(2.0, rel=1e-2)
    # The continuous part's cell 0: G_N(x_0) - P(N = 0), in closed form.
    x0 = 1 - math.exp(-H / 2)
    want = -2.0 + math.log(math.expm1(2.0 * x0))
    assert float(s.log_masses[0]) == pytest.approx(want, rel=1e-12)


def test_past_the_grid_nan_never_minus_inf_and_bounds_hold(poisson_exp):
    _, s = poisson_exp
    far = float(s.points[-1]) + 10.0
    assert math.isnan(float(s.logsf(far))) and math.isnan(float(s.logpdf(far)))
    assert float(s.sf(far)) == 0.0 and float(s.truncated) > 0.0
    b = dist.bounds(s, far)
    n = np.arange(0, 3000)
    logsf, _ = _gamma_mixture(scipy.stats.poisson.logpmf(n, 2.0), n, 1.0)
    assert float(b.lower) <= math.exp(logsf([far])[0]) <= float(b.upper)
    # Mass the severity lost past its grid (x = 699) reaches S from there:
    # the points past it are marked, by the cut's share of their mass.
    assert float(s.sf_error(800.0)) > 100 * float(s.sf_error(650.0))


def test_sum_of_a_compound_and_a_density_keeps_the_atom(poisson_exp):
    e, s = poisson_exp
    t = dist.add(s, e, accuracy="relative")  # S + Exp(1): sum_n P(N=n) Gamma(n+1)
    n = np.arange(0, 3000)
    logsf, logpdf = _gamma_mixture(scipy.stats.poisson.logpmf(n - 1, 2.0), n, 1.0)
    _check(t, logsf, logpdf, [2.0, 10.0, 100.0, 400.0, 650.0])


@pytest.mark.slow  # 10 s; NB counts of exponentials: the gamma mixtures below
@FEW
@given(t=st.floats(1.0, 3.0))  # rho in [0.25, 0.5]: grids to u ~ 1,400
def test_ruin_probability_is_the_cramer_lundberg_closed_form(t):
    rho = 1.0 / (1.0 + t)
    with jax.enable_x64(True):
        e = dist.exponential(step=H, support=(0.0, 720.0))
        s = dist.compound(dist.negative_binomial(1.0, 1 - rho), e, accuracy="relative")

        def logsf(u):
            return math.log(rho) - (1 - rho) * np.asarray(u)

        def logpdf(u):
            return math.log(rho * (1 - rho)) - (1 - rho) * np.asarray(u)

        assert float(s.log_atom) == pytest.approx(math.log(1 - rho), rel=1e-14)
        top = float(s.points[-1]) - 1.0
        # The error grows along the tail (E[N | S = u] = 1 + rho u severities
        # behind each point); the stated one with it (0.58 at 1e-300, t = 1).
        assert float(s.sf_error(5.0)) < 1e-2
        _check(s, logsf, logpdf, _points(logsf, 0.5, top), worst=WORST)
        # It reaches 1e-300: the whole float range.
        assert logsf(top) < LOG_FLOOR + 20


COUNTS = st.one_of(
    st.tuples(st.just("poisson"), st.floats(0.2, 6.0), st.just(0.0)),
    st.tuples(st.just("negative_binomial"), st.floats(0.5, 4.0), st.floats(0.3, 0.8)),
    st.tuples(st.just("binomial"), st.integers(1, 12), st.floats(0.05, 0.95)),
)


@FEW
@given(count=COUNTS, rate=st.floats(0.5, 2.0))
def test_compounds_of_exponentials_are_gamma_mixtures(count, rate):
    fam, a, b = count
    n = np.arange(0, 4000)
    with jax.enable_x64(True):
        if fam == "poisson":
            N, log_pn = dist.poisson(a), scipy.stats.poisson.logpmf(n, a)
        elif fam == "negative_binomial":
            N, log_pn = dist.negative_binomial(a, b), scipy.stats.nbinom.logpmf(n, a, b)
        else:
            N, log_pn = dist.binomial(a, b), scipy.stats.binom.logpmf(n, a, b)
        e = dist.exponential(
            scale=1 / rate, step=0.2 / rate, support=(0.0, 720.0 / rate)
        )
        s = dist.compound(N, e, accuracy="relative")
        logsf, logpdf = _gamma_mixture(log_pn, n, rate)
        assert float(s.log_atom) == pytest.approx(float(log_pn[0]), rel=1e-12)
        top = min(float(s.points[-1]), 690.0 / rate)
        _check(s, logsf, logpdf, _points(logsf, 2.0 / rate, top), worst=WORST)


def _small_logsf(lam):
    # The severity's grid is static (built outside `jit`); the count is traced.
    n = dist.poisson(lam, size=60)
    return dist.compound(n, SMALL, size=400, accuracy="relative").logsf(30.0)


with jax.enable_x64(True):
    SMALL = dist.exponential(step=0.25, support=(0.0, 60.0))


def _small_reference(lam):
    k = np.arange(0, 60)
    logsf, _ = _gamma_mixture(scipy.stats.poisson.logpmf(k, lam), k, 1.0)
    return logsf([30.0])[0]


@pytest.mark.slow  # a second compilation of every tilt's program (about 9 s)
def test_jit_with_a_static_size_agrees_with_eager():
    eager = float(_small_logsf(2.0))
    assert float(jax.jit(_small_logsf)(2.0)) == pytest.approx(eager, rel=1e-12)
    assert abs(math.expm1(eager - _small_reference(2.0))) < 2e-2


@pytest.mark.slow  # compiles the tilts' derivatives (about 15 s of CPU)
def test_grad_matches_the_reference():
    # d/d lam log P(S > x), against central differences of the reference.
    d = 1e-5
    fd = (_small_reference(2.0 + d) - _small_reference(2.0 - d)) / (2 * d)
    assert float(jax.grad(_small_logsf)(2.0)) == pytest.approx(fd, rel=1e-2)


def test_bad_severities_and_arguments_are_refused():
    e = dist.exponential(step=0.25, support=(0.0, 20.0))
    mixed = dist.mixture([0.5, 0.5], [e, dist.from_masses([1.0], step=0.25)])
    with pytest.raises(ValueError, match="without atoms"):
        dist.compound(dist.poisson(1.0), mixed, accuracy="relative")
    with pytest.raises(ValueError, match="must be >= 0"):
        dist.compound(dist.poisson(1.0), dist.normal(), accuracy="relative")
    with pytest.raises(ValueError, match="`tail`"):
        dist.compound(dist.poisson(1.0), e, tail=2.0, accuracy="relative")
    with pytest.raises(ValueError, match="`size` must be given"):
        jax.jit(
            lambda lam: (
                dist.compound(dist.poisson(lam, size=30), e, accuracy="relative").masses
            )
        )(1.0)


# 9 s of CPU; its two parts (the relative compound of a count from 0, the
# relative sum of two density laws) are in the default run above and in
# tests/test_tails_density.py.
@pytest.mark.slow
def test_a_geometric_count_from_1_is_one_severity_plus_a_count_from_0():
    # Geometric(p) on 1, 2, ... of Exp(1) severities is Exp(p), no atom: the
    # closed form below. The law is X plus the compound of N - 1 (from 0);
    # its stated error is the compound's carried through the sum plus that
    # sum's own (5e-3 to 0.16 here, growing along the tail as the true error
    # does, from 3e-4 to 8e-3; it was 0.18, flat, from the count behind the
    # farthest point).
    p = 0.4
    e = dist.exponential(step=H, support=(0.0, 400.0))
    s = dist.compound(dist.geometric(p), e, accuracy="relative")

    def logsf(x):
        return -p * np.asarray(x)

    def logpdf(x):
        return math.log(p) - p * np.asarray(x)

    assert s.log_atom is None  # no atom at 0: P(S = 0) = P(N = 0) = 0
    top = min(float(s.points[-1]), 390.0)
    xs = _points(logsf, 0.5, top)
    _check(s, logsf, logpdf, xs, worst=WORST)
    assert logsf(top) < math.log(1e-60)  # far below the absolute method's reach
    # Useful, not only an upper bound: within 100 times the true error (12
    # to 66 times here), and small in the body.
    err = np.abs(np.expm1(np.asarray(s.logsf(xs)) - logsf(xs)))
    stated = np.asarray(s.sf_error(xs))
    assert np.all(stated <= 100 * err), stated / err
    assert float(s.sf_error(5.0)) < 1e-2


def test_a_new_grid_in_a_seen_bucket_compiles_nothing(poisson_exp, count_compiles):
    # Eagerly the severity and the grid are padded to buckets: Poisson(2.1)
    # of an Exp(1) on (0, 700) (7,002 cells; a grid of 8,226 points) shares
    # every program of the module's Poisson(2) on (0, 720) (7,202 cells;
    # 8,217 points), queries included; only the new severity's own
    # discretization compiles, outside the count.
    _, s = poisson_exp
    xs = np.array([0.5, 3.0, 50.0, 300.0, 650.0])
    s.logsf(xs), s.logpdf(xs), s.sf_error(xs)
    e = dist.exponential(step=H, support=(0.0, 700.0))
    with count_compiles() as events:
        t = dist.compound(dist.poisson(2.1), e, accuracy="relative")
        t.logsf(xs), t.logpdf(xs), t.sf_error(xs)
    assert len(events) == 0, events
    # Cut back to its own grid (not the bucket's), and against the closed
    # form (a Gamma mixture) within its stated errors.
    assert t.size != s.size and t.log_masses.shape == t.log_error.shape == (t.size,)
    n = np.arange(0, 3000)
    logsf, logpdf = _gamma_mixture(scipy.stats.poisson.logpmf(n, 2.1), n, 1.0)
    _check(t, logsf, logpdf, xs)
    assert math.isnan(float(t.logsf(float(t.points[-1]) + 1.0)))


def test_rounding_drift_restores_the_ruin_probabilitys_decay_rate():
    # The rounded severities' compound decays at a rate off by O(h^2): for
    # the ruin at loading 0.25 (rho = 0.8, h = 0.25) its cells are 22 % off
    # the true cells' at u = 990. The drift (`_drift`), added to its log
    # masses, leaves 4e-4. Reference: the true cells of the continuous part,
    # rho (1 - e^{-(1 - rho) h}) e^{-(1 - rho)(k - 1/2) h} (closed form);
    # the rounded compound exact by Panjer's recursion (positive terms,
    # float64, relative round-off near k eps = 1e-12). Tolerance: 2e-3, the
    # one-cell box's (theta h)^2 / 24 = 1e-4 times a safety of 20; the
    # uncorrected cells miss it by 100 times.
    h, rho = 0.25, 0.8
    e = dist.exponential(step=h, support=(0.0, 720.0))
    m, d = np.asarray(e.masses), np.asarray(parts(e)[1])
    first = int(round(float(e.origin) / h))  # -1: the empty cell below 0
    f = np.zeros(4000)
    f[: m.size + first] = m[-first:][: f.size]
    g = np.zeros(f.size)  # the continuous part; the atom 1 - rho apart
    g[0] = (1 - rho) * (1 / (1 - rho * f[0]) - 1)
    for k in range(1, f.size):
        total = f[1 : k + 1] @ g[k - 1 :: -1] + f[k] * (1 - rho)
        g[k] = rho / (1 - rho * f[0]) * total
    lm = np.log(g)

    def lg(z):
        return np.log(1 - rho) - np.log(1 - rho * z)

    drift, applied, _ = rounding_drift(m, first, d, first, lg, math.log(1 - rho), lm)
    k = np.arange(f.size)
    true = math.log(rho * -math.expm1(-(1 - rho) * h)) - (1 - rho) * (k - 0.5) * h
    body = k >= 40  # from u = 10 (cell 0 and the atom are exact apart)
    before = np.abs(np.expm1(lm - true))[body]
    after = np.abs(np.expm1(lm + drift - true))[body]
    assert before.max() > 0.2
    assert after.max() < 2e-3, after.max()
    assert not applied[k < 10].any()  # below the mean: a constant only


@pytest.mark.slow  # 12 s of CPU: the tilts of a 14,420-point grid compile
def test_ruin_at_loading_one_quarter_down_to_1e_300():
    # Public path, h = 0.25: the error 0.58 at 1e-300 (u = 3,450), stated
    # 5.8, is now 1.5e-3, stated 9e-2 (held at every point).
    rho = 0.8
    e = dist.exponential(step=0.25, support=(0.0, 720.0))
    s = dist.compound(dist.negative_binomial(1.0, 1 - rho), e, accuracy="relative")

    def logsf(u):
        return math.log(rho) - (1 - rho) * np.asarray(u)

    def logpdf(u):
        return math.log(rho * (1 - rho)) - (1 - rho) * np.asarray(u)

    top = float(s.points[-1]) - 1.0
    xs = _points(logsf, 0.5, top)
    _check(s, logsf, logpdf, xs, worst=0.2)
    err = np.abs(np.expm1(np.asarray(s.logsf(xs)) - logsf(xs)))
    assert err.max() < 5e-3, err.max()
    assert logsf(top) < LOG_FLOOR + 20


@pytest.mark.parametrize(
    "family",
    [
        # The public path takes this route for negative binomial counts;
        # `_tails_compound` gives the same for Poisson and binomial ones.
        ("negative_binomial", (1.5, 0.3), scipy.stats.nbinom),
        ("poisson", (3.0,), scipy.stats.poisson),
        ("binomial", (40, 0.3), scipy.stats.binom),
    ],
    ids=lambda f: f[0],
)
def test_the_count_behind_each_point_comes_from_the_compounds_own_tilts(family):
    """``E[N | S = k]`` from the tilts of `S` itself (`COUNT_FAMILIES`).

    Reference: the exact posterior mean of a lattice compound with a
    severity on ``1..199`` (``x_j ~ 0.7^j``), so that ``S = k`` needs at
    most ``k`` severities: ``sum_n n P(N = n) x^{*n}_k / sum_n P(N = n)
    x^{*n}_k`` by direct convolutions of positive terms (float64, relative
    round-off about ``k * eps``). Tolerance: the stated error itself,
    which must also be small (below 1e-8: round-off of the tilted
    transforms, a few hundred eps) everywhere.
    """
    with jax.enable_x64(True):
        name, params, law = family
        size = 200
        x = np.zeros(size)
        x[1:] = 0.7 ** np.arange(1, size)
        x /= x.sum()
        pn = law.pmf(np.arange(size), *params)
        xn = np.zeros(size)
        xn[0] = 1.0
        num = np.zeros(size)
        den = pn[0] * xn
        for n in range(1, size):
            xn = np.convolve(xn, x)[:size]
            num += n * pn[n] * xn
            den += pn[n] * xn
        want = num[1:] / den[1:]
        N = getattr(dist, name)(*params)
        _, log_n, rel_n = relative_compound(
            N, jax.numpy.asarray(x), 2 * size, 1.0, counts=True
        )
        got = np.exp(np.asarray(log_n)[1:])
        bound = np.exp(np.asarray(rel_n)[1:])
        assert np.all(bound < 1e-8), bound.max()
        assert np.all(np.abs(got / want - 1) <= bound), np.max(np.abs(got / want - 1))


@pytest.mark.slow  # 4.5 s: three programs of its own
def test_a_batch_of_negative_binomial_counts_agrees_with_its_rows():
    """A batched count over one severity: each row's values as computed alone.

    The values come from the same tilts (the batch shares its FFT length
    only), so they agree to round-off (1e-12 in log). The stated errors
    may not: a batch gets no drift correction (`_drift`: unbatched laws
    only), so it states the discretization of all the severities behind a
    point where a row alone states one severity's; it states at least as
    much (less 1e-4 relative: the counts' round-off moves with the length).
    """
    with jax.enable_x64(True):
        e = dist.exponential(step=0.5, support=(0.0, 40.0))
        r, p = np.array([1.0, 2.0]), np.array([0.5, 0.4])
        xs = np.array([1.0, 10.0, 30.0, 60.0])
        nb = dist.negative_binomial
        s = dist.compound(nb(r, p), e, accuracy="relative", size=150)
        for i in range(2):
            t = dist.compound(nb(r[i], p[i]), e, accuracy="relative", size=150)
            np.testing.assert_allclose(
                np.asarray(s.logsf(xs[:, None]))[:, i], t.logsf(xs), rtol=1e-12
            )
            stated = np.asarray(s.sf_error(xs[:, None]))[:, i]
            assert np.all(stated >= (1 - 1e-4) * np.asarray(t.sf_error(xs)))
