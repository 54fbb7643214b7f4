"""Relative accuracy for sums of densities (issue 15: ``accuracy='relative'``).

References are closed forms in float64 (scipy.stats): the Gamma(n) law for a
sum of n Exp(1), the normal law for a sum of normals; for a sum of two
lognormal laws, :math:`P(X + Y > x) = P(X > x) + \\int_0^x f(y) P(X > x - y) dy`
by adaptive quadrature (scipy.integrate.quad), far more accurate than the
grids here.

Tolerance, stated once: every value is within the library's own stated
estimate (`relative_error` for the density at grid points, `sf_error` for
`sf`), and that estimate is at most a few 1e-3 for the steps used (the
discretization error is second order: about ``d (theta h)^2 / 12`` for ``d``
density summands and a tail ``exp(-theta x)``).
"""

import math

import jax
import numpy as np
import pytest
import scipy.integrate
import scipy.special
import scipy.stats

import probconv.distributions as dist

H = 0.1


@pytest.fixture(autouse=True)
def _x64():
    with jax.enable_x64(True):
        yield


def _check(s, ref, xs, worst):
    """Relative errors of logsf and logpdf at `xs` within the stated ones."""
    xs = np.asarray(xs, float)
    err_sf = np.abs(np.expm1(np.asarray(s.logsf(xs)) - ref.logsf(xs)))
    est_sf = np.asarray(s.sf_error(xs))
    k = np.round((xs - float(s.origin)) / s.step).astype(int)
    err_pdf = np.abs(np.expm1(np.asarray(s.logpdf(xs)) - ref.logpdf(xs)))
    est_pdf = np.asarray(dist.relative_error(s))[k]
    assert np.all(err_sf <= est_sf), (err_sf, est_sf)
    assert np.all(err_pdf <= est_pdf), (err_pdf, est_pdf)
    assert np.all(est_sf <= worst) and np.all(est_pdf <= worst), (est_sf, est_pdf)


@pytest.fixture(scope="module")
def gamma4():
    with jax.enable_x64(True):
        e = dist.exponential(step=H, support=(0.0, 720.0))
        return e, dist.iid_sum(e, 4, accuracy="relative")


def test_iid_sum_of_exponentials_is_gamma_down_to_1e_296(gamma4):
    _, s = gamma4
    assert isinstance(s, dist.RelativeDensity) and s.kind == "density"
    xs = [2.0, 4.0, 10.0, 50.0, 200.0, 400.0, 600.0, 700.0]
    _check(s, scipy.stats.gamma(4), xs, 1e-2)
    _check(s, scipy.stats.gamma(4), [0.5], 0.3)  # density ~ x^3: steep
    assert float(s.logsf(700.0)) / math.log(10) < -295  # sf about 1e-296
    # The plain sum stops at its absolute floor; the relative one does not.
    assert float(dist.iid_sum(dist.exponential(step=H), 4).sf(100.0)) == 0.0


def test_reach_is_the_summands_grid_then_nan_never_minus_inf(gamma4):
    e, s = gamma4
    # Exp(1) cells reach the underflow level near x = 700: from there the
    # cut mass (bounded by the smallest float per cell) weighs in the stated
    # error, which still holds; past the sum's own grid: NaN, not -inf.
    ref = scipy.stats.gamma(4)
    for at in (705.0, 712.0, 716.0):
        err = abs(math.expm1(float(s.logsf(at)) - ref.logsf(at)))
        assert err <= float(s.sf_error(at)), at
    assert float(s.sf_error(716.0)) > 100 * float(s.sf_error(690.0))
    far = float(s.points[-1]) + 10.0
    assert math.isnan(float(s.logsf(far))) and math.isnan(float(s.logpdf(far)))
    assert float(s.sf(far)) == 0.0 and float(s.truncated) > 0.0


def test_add_normals_is_normal_down_to_1e_270():
    x = dist.normal(step=H, support=(-40.0, 40.0))
    y = dist.normal(1.0, 2.0, step=H, support=(-80.0, 80.0))
    s = dist.add(x, y, accuracy="relative")
    ref = scipy.stats.norm(1.0, math.sqrt(5.0))
    _check(s, ref, [-3.0, 0.0, 3.0, 10.0], 0.03)
    # (theta h)^2 grows as x^2: at x = 80 (sf 1e-273), theta h = 1.6 and
    # the second-order model is past its range: the error is about 20 %,
    # the estimate about 1 (a finer step is what reaches further).
    _check(s, ref, [30.0, 50.0], 0.4)
    _check(s, ref, [80.0], 2.0)
    assert float(s.logsf(80.0)) / math.log(10) < -270


def test_add_exponentials_is_gamma2():
    e = dist.exponential(step=H, support=(0.0, 720.0))
    s = e.add(e, accuracy="relative")
    _check(s, scipy.stats.gamma(2), [1.0, 5.0, 100.0, 690.0], 1e-2)


def _sf2(law, x):
    """``P(X + Y > x)`` for i.i.d. X, Y of `law` on (0, inf), by quadrature."""
    inner, _ = scipy.integrate.quad(
        lambda y: law.pdf(y) * law.sf(x - y),
        0.0,
        x,
        limit=400,
        epsabs=0.0,
        epsrel=1e-12,
        points=[1.0, x - 1.0],
    )
    return law.sf(x) + inner


def test_lognormal_heavy_tail_resolved_to_its_grid_end():
    law = scipy.stats.lognorm(0.5)
    x = dist.lognormal(0.5, step=H, support=(0.0, 60.0))
    s = dist.iid_sum(x, 2, accuracy="relative")
    errs = []
    for at in (3.0, 10.0, 30.0, 45.0, 55.0):
        want = _sf2(law, at)
        err = abs(float(s.sf(at)) / want - 1)
        assert err <= float(s.sf_error(at)), at
        errs.append(float(s.sf_error(at)))
    assert max(errs[:3]) < 1e-2  # sf(30) ~ 1e-11
    # Subexponential: far out the sum's tail is about twice one summand's,
    # and the mass cut past the summands' grid (sf(60) ~ 1e-16) weighs in:
    # the stated error grows as the cut mass nears the sum's tail.
    ratios = [float(s.sf(at)) / law.sf(at) for at in (10.0, 30.0, 45.0)]
    assert ratios[0] > ratios[1] > ratios[2] > 2.0
    assert errs[-1] > 0.1


def test_jit_agrees_with_eager():
    e = dist.exponential(step=H, support=(0.0, 40.0))

    def f(d):
        s = dist.iid_sum(d, 3, accuracy="relative")
        return s.logsf(30.0), s.sf_error(30.0)

    eager, jitted = f(e), jax.jit(f)(e)
    # Under jit the grid is not shortened where the sum leaves the float
    # range (that needs concrete masses): the cut mass, hence the stated
    # error, differs in the last digits.
    np.testing.assert_allclose(jitted[0], eager[0], rtol=1e-12)
    np.testing.assert_allclose(jitted[1], eager[1], rtol=1e-6)
    ref = scipy.stats.gamma(3).logsf(30.0)
    assert abs(math.expm1(float(jitted[0]) - ref)) <= float(jitted[1])


def test_batched_scales_match_a_loop():
    e = dist.exponential(scale=np.array([1.0, 2.0]), step=H, support=(0.0, 40.0))
    s = dist.iid_sum(e, 3, accuracy="relative")
    for i, c in enumerate((1.0, 2.0)):
        one = dist.iid_sum(
            dist.exponential(scale=c, step=H, support=(0.0, 40.0)),
            3,
            accuracy="relative",
        )
        np.testing.assert_allclose(s.logsf(20.0)[i], one.logsf(20.0), rtol=1e-9)


# -- laws that extend themselves past their grid (issue 15) ------------------
# Tolerance: each value within its own stated error (the second-order
# discretization estimate at h = 0.1, round-off far below it); references
# are scipy closed forms in float64 (N + N is normal, Exp sums are Gamma).


def test_default_grid_normals_extend_to_the_far_tail():
    x = dist.normal(0.0, 1.0, step=0.1)
    y = dist.normal(1.0, 2.0, step=0.1)
    s = dist.add(x, y, accuracy="relative")
    ref = scipy.stats.norm(1.0, math.sqrt(5.0))
    for at, worst in ((18.0, 0.1), (25.0, 0.2)):
        err = abs(math.expm1(float(s.logsf(at)) - ref.logsf(at)))
        stated = float(s.sf_error(at))
        assert err <= stated <= worst, (at, err, stated)
    # (before: logsf(18) = -35.05 against -31.86, and NaN at 25)
    # An explicit support is the user's grid: it is kept, and stated.
    cut = dist.normal(0.0, 1.0, step=0.1, support=(-6.0, 6.0))
    c = dist.add(cut, cut, accuracy="relative")
    assert c.size == 2 * cut.size - 1 and not float(c.sf_error(12.5)) < 1.0


def test_default_grid_exponential_sum_far_out_is_gamma():
    e = dist.exponential(step=0.1)  # grid to x = 21.5, extended to ~700
    s = dist.iid_sum(e, 4, accuracy="relative")
    ref = scipy.stats.gamma(4)
    for at in (100.0, 300.0, 600.0):
        err = abs(math.expm1(float(s.logsf(at)) - ref.logsf(at)))
        stated = float(s.sf_error(at))
        assert err <= stated <= 1e-2, (at, err, stated)


def test_default_grid_lognormal_keeps_a_cut_and_says_so():
    # Heavy tail: not extended (its tail would not reach the float range's
    # end within the cap); the sum's grid ends at twice the law's.
    law = scipy.stats.lognorm(0.5)
    x = dist.lognormal(0.5, step=0.1)
    s = dist.iid_sum(x, 2, accuracy="relative")
    assert s.size == 2 * x.size - 1
    for at in (3.0, 10.0):
        want = _sf2(law, at)
        assert abs(float(s.sf(at)) / want - 1) <= float(s.sf_error(at)) <= 1e-2
    # Past the grid: no bare 0, but NaN and bounds that hold the exact value
    # (P(X + Y > x) >= P(max > x) = 1 - F(x)^2, and <= 2 P(X > x / 2)).
    far = 60.0
    assert np.isnan(float(s.sf_error(far)))
    # (the cut mass, 8e-10, is far above 1e-300: sf and logsf are NaN there)
    assert np.isnan(float(s.sf(far))) and np.isnan(float(s.logsf(far)))
    assert np.isnan(float(s.pdf(far)))
    b = dist.bounds(s, far)
    low, high = -math.expm1(2 * law.logcdf(far)), 2 * law.sf(far / 2)
    assert float(b.lower) <= low and high <= float(b.upper)


def test_from_scipy_extends_and_an_operated_law_forgets():
    # `from_scipy` of a continuous law remembers it too: N(0,1) + N(0,1).
    x = dist.from_scipy(scipy.stats.norm(0.0, 1.0), step=0.1)
    s = dist.add(x, x, accuracy="relative")
    ref = scipy.stats.norm(0.0, math.sqrt(2.0))
    for at in (10.0, 20.0):  # sf 1e-12, 1e-45: past the default grid's 2 x 6.4
        err = abs(math.expm1(float(s.logsf(at)) - ref.logsf(at)))
        assert err <= float(s.sf_error(at)) <= 0.5, at
    # A law through a pytree map (as through jit) has no scipy law: its grid.
    y = jax.tree_util.tree_map(lambda a: a, x)
    assert dist.add(y, y, accuracy="relative").size <= 2 * x.size - 1


@pytest.mark.slow  # compiles a compound's own programs (3.3 s alone)
def test_compound_of_a_default_grid_exponential_far_out():
    # Poisson(5) of Exp(1): sum_n P(N = n) Gamma(n), in log space (scipy).
    e = dist.exponential(step=0.1)  # grid to x = 21.5, continued upward
    c = dist.compound(dist.poisson(5.0), e, accuracy="relative")
    n = np.arange(1, 2000)
    log_pn = scipy.stats.poisson(5.0).logpmf(n)
    for at in (20.0, 150.0, 400.0):
        ref = scipy.special.logsumexp(log_pn + scipy.stats.gamma.logsf(at, n))
        err = abs(math.expm1(float(c.logsf(at)) - ref))
        assert err <= float(c.sf_error(at)) <= 2e-2, at


def test_default_grid_gammas_and_float32_normals_extend():
    # Gamma(3) + Gamma(3) = Gamma(6): scipy's gamma logsf is the log of its
    # sf (subnormal below e^-708): the law is continued to e^-701.5.
    g = dist.gamma(3.0, step=0.1)
    s = dist.add(g, g, accuracy="relative")
    for at in (300.0, 680.0):
        ref = scipy.stats.gamma(6.0).logsf(at)
        err = abs(math.expm1(float(s.logsf(at)) - ref))
        assert err <= float(s.sf_error(at)) <= 1e-2, at
    # float32: continued to its own float range's end (e^-103.3); the
    # stated error (4e-2 at 18) is far above float32 round-off.
    with jax.enable_x64(False):
        x = dist.normal(0.0, 1.0, step=0.1)
        y = dist.normal(1.0, 2.0, step=0.1)
        s32 = dist.add(x, y, accuracy="relative")
        got, stated = float(s32.logsf(18.0)), float(s32.sf_error(18.0))
    ref = scipy.stats.norm(1.0, math.sqrt(5.0)).logsf(18.0)
    assert abs(math.expm1(got - ref)) <= stated <= 0.1
