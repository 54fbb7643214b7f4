"""Relative accuracy (accuracy="relative"), log-space queries, error estimates.

References are exact or relatively accurate by construction: exact integer
arithmetic (dice), mpmath with 40 digits (binomial), log-space recursions
whose terms are all non-negative (Poisson binomial, Panjer's recursion for
compound Poisson sums), and numpy.convolve (direct sums of non-negative
terms) for pairwise convolutions.

Tolerances, stated once:

| comparison                         | tolerance         | why                       |
| ---------------------------------- | ----------------- | ------------------------- |
| float64 relative method vs exact,  | rel 1e-8          | the documented accuracy   |
| every point (below 1e-300 too)     |                   | (aim 1e-10: two digits    |
|                                    |                   | to spare)                 |
| float32 relative, points >= 1e-30  | rel 1e-3          | documented (aim 1e-4)     |
| true error vs the estimate         | err <= estimate   | the estimate's contract,  |
|                                    | + 4 ulp of log    | plus the reference's own  |
|                                    |                   | rounding of log-masses    |
| jit vs eager, vmap vs loop         | rel 1e-9 (f64)    | tilt counts differ under  |
|                                    |                   | tracing                   |
"""

import math
from fractions import Fraction

import jax
import jax.numpy as jnp
import mpmath
import numpy as np
import pytest
import scipy.special
import scipy.stats
from _reference import check_grads, rel_err
from hypothesis import given, settings
from hypothesis import strategies as st

import probconv.distributions as dist
from probconv.distributions import (
    RelativeDistribution,
    _extend,
    _tilt,
    logconvolve,
    relative_error,
)
from probconv.distributions._logconv import log_pair

F64, F32 = 1e-8, 1e-3
LOG10 = math.log(10.0)


def _check(d, log_ref, tol, floor=-np.inf, input_ref=None):
    """Every point with log-mass above `floor` within `tol`; estimates hold.

    The estimates cover the method's error for the input it was given:
    `input_ref` is the exact law for that input where it differs from
    `log_ref` (float32 inputs that do not represent the masses exactly).
    """
    assert isinstance(d, RelativeDistribution)
    lm = np.asarray(d.log_masses, np.float64)
    sel = log_ref > floor
    err = rel_err(lm, log_ref)[sel]
    assert err.max() <= tol, (err.max(), np.argmax(err))
    if input_ref is not None:
        err = rel_err(lm, input_ref)[sel]
    est = np.asarray(relative_error(d), np.float64)[sel]
    ulp = 4 * np.finfo(np.asarray(d.log_masses).dtype).eps * (np.abs(log_ref[sel]) + 1)
    assert np.all(err <= est + ulp), np.max(err - est - ulp)
    return err.max()


# -- references -------------------------------------------------------------


def _binom_log(n, p):
    mpmath.mp.dps = 40
    pm = mpmath.mpf(p)
    lp, lq = mpmath.log(pm), mpmath.log1p(-pm)
    return np.array(
        [
            float(mpmath.log(math.comb(n, k)) + k * lp + (n - k) * lq)
            for k in range(n + 1)
        ]
    )


@pytest.fixture(scope="module")
def dice_ref():
    """Exact log-law of the sum of 10,000 fair dice (integer recurrence)."""
    n = 10_000
    top = 5 * n
    c = [0] * (top + 1)
    c[0] = 1
    for s in range(top):
        acc = 0
        for i in range(1, 6):
            if s - i + 1 >= 0:
                acc += (n * i - s + i - 1) * c[s - i + 1]
        c[s + 1] = acc // (s + 1)
    return np.array([math.log(v) for v in c]) - n * math.log(6)


def _pb_log(p):
    """Log-law of a Poisson binomial by the log-space recursion (all terms >= 0)."""
    lg = np.array([0.0])
    for q in p:
        a = np.concatenate([lg + np.log1p(-q), [-np.inf]])
        b = np.concatenate([[-np.inf], lg + np.log(q)])
        lg = np.logaddexp(a, b)
    return lg


def _mixed_p(n, seed=1):
    rng = np.random.default_rng(seed)
    return np.concatenate(
        [
            rng.uniform(0, 1, n // 2),
            10 ** rng.uniform(-6, -1, n // 4),
            1 - 10 ** rng.uniform(-6, -1, n - n // 2 - n // 4),
        ]
    )


def _panjer_poisson(lam, x, size):
    """Log-law of a compound Poisson sum by Panjer's recursion (terms >= 0)."""
    with np.errstate(divide="ignore"):
        lx = np.log(x)
    f = np.full(size, -np.inf)
    f[0] = -lam * (1 - x[0])
    j = np.arange(x.size)
    for k in range(1, size):
        jj = j[1 : min(k, x.size - 1) + 1]
        f[k] = math.log(lam / k) + scipy.special.logsumexp(
            np.log(jj) + lx[jj] + f[k - jj]
        )
    return f


def _spanning(n, seed=0):
    """Two positive vectors whose values span 200 orders of magnitude."""
    rng = np.random.default_rng(seed)
    x = np.arange(n) / n
    la = -460 * x**2 + np.log(rng.uniform(0.5, 1.5, n))
    lb = -460 * (1 - x) ** 1.5 + np.log(rng.uniform(0.5, 1.5, n))
    return la, lb


# -- float64 accuracy ---------------------------------------------------------


@pytest.mark.parametrize("p", [0.5, 0.01])
def test_bernoulli_sums_float64(p):
    d = dist.iid_sum(dist.bernoulli(p), 1000, accuracy="relative")
    ref = _binom_log(1000, p)
    _check(d, ref, F64)
    # Far below the smallest float: 0.01**1000 = 1e-2000.
    assert abs(float(d.logpmf(1000)) - ref[-1]) <= 1e-8 * abs(ref[-1])


def test_ten_thousand_dice_float64(dice_ref):
    d = dist.iid_sum(dist.die(6), 10_000, accuracy="relative")
    assert float(d.origin) == 10_000.0
    _check(d, dice_ref, F64)


def test_poisson_binomial_float64():
    p = _mixed_p(1000)
    d = dist.poisson_binomial(p, accuracy="relative")
    _check(d, _pb_log(p), F64)


def test_poisson_binomial_exact_fractions():
    from fractions import Fraction

    p = _mixed_p(40, seed=3)
    poly = [Fraction(1)]
    for q in p:
        f = Fraction(q)
        new = [Fraction(0)] * (len(poly) + 1)
        for k, c in enumerate(poly):
            new[k] += c * (1 - f)
            new[k + 1] += c * f
        poly = new
    mpmath.mp.dps = 40
    ref = np.array(
        [float(mpmath.log(mpmath.mpf(c.numerator) / c.denominator)) for c in poly]
    )
    d = dist.poisson_binomial(p, accuracy="relative")
    _check(d, ref, 1e-12)


def test_pairwise_spanning_200_orders_float64():
    la, lb = _spanning(3000)
    ref = np.log(np.convolve(np.exp(la), np.exp(lb)))
    out, rel = logconvolve(la, lb, return_error=True)
    err = rel_err(out, ref)
    assert err.max() <= F64
    assert np.all(err <= np.exp(np.asarray(rel)) + 4e-16 * (np.abs(ref) + 1))


def test_pairwise_exponential_tails_resolved_by_one_flat_tilt():
    # An exponential's cell masses: half a cell at the origin, then r^k.
    # Their convolution in closed form: (2 c0 [1 <= k <= K] + #pairs) r^k.
    # The tilt at the decay rate makes both flat and their convolution a
    # ramp, which one FFT resolves to round-off everywhere (about
    # 4 eps log2(L) |a| |b| / entry: 2e-12 here); tilts spaced by arc
    # length alone miss that rate and left 1e-9 (direct fixes did the rest).
    big, rate = 3000, 0.1
    k = np.arange(big + 1.0)
    la = -rate * k
    la[0] = np.log(0.5)
    out, rel = logconvolve(la, la, return_error=True)
    kk = np.arange(2 * big + 1.0)
    pairs = np.maximum(0, np.minimum(kk - 1, big) - np.maximum(1, kk - big) + 1)
    edge = np.where((kk >= 1) & (kk <= big), 1.0, 0.0)
    with np.errstate(divide="ignore"):
        ref = np.log(edge + pairs) - rate * kk
    ref[0] = np.log(0.25)
    est = np.exp(np.asarray(rel))
    assert est.max() <= 1e-11
    assert np.all(rel_err(out, ref) <= est + 4e-16 * (np.abs(ref) + 1))
    # A caller's grid that ends early: the same entries, the fixes on them.
    head, head_rel = log_pair(jnp.asarray(la), jnp.asarray(la), keep=100)
    assert head.shape == (100,) and head_rel.shape == (100,)
    np.testing.assert_allclose(head, out[:100], rtol=1e-12)


@pytest.mark.slow
def test_pairwise_spanning_200_orders_1e5():
    la, lb = _spanning(100_000)
    ref = np.log(np.convolve(np.exp(la), np.exp(lb)))
    assert rel_err(logconvolve(la, lb), ref).max() <= F64


def test_add_matches_exact_binomial():
    # Inputs from the relative method keep masses below 1e-308 in log form.
    x = dist.iid_sum(dist.bernoulli(0.02), 250, accuracy="relative")
    d = x.add(x, accuracy="relative")
    _check(d, _binom_log(500, 0.02), F64)
    assert d.size == 501
    # A plain input works too (its masses are exact here).
    e = dist.bernoulli(0.02).add(x, accuracy="relative")
    _check(e, _binom_log(251, 0.02), F64)


def test_compound_poisson_float64():
    size, lam = 400, 5.0
    x = np.zeros(7)
    x[1:] = 1 / 6
    sev = dist.from_masses(x)
    d = dist.compound(dist.poisson(lam), sev, size=size, accuracy="relative")
    _check(d, _panjer_poisson(lam, np.pad(x, (0, size - 7)), size), F64)


def _panjer_nb(r, p, x, size):
    """Log-law of a compound negative binomial by Panjer's recursion (a, b >= 0)."""
    a, b = 1 - p, (r - 1) * (1 - p)
    with np.errstate(divide="ignore"):
        lx = np.log(x)
    f = np.full(size, -np.inf)
    f[0] = r * (math.log(p) - math.log1p(-(1 - p) * x[0]))
    j = np.arange(x.size)
    for k in range(1, size):
        jj = j[1 : min(k, x.size - 1) + 1]
        f[k] = scipy.special.logsumexp(np.log(a + b * jj / k) + lx[jj] + f[k - jj])
    return f


# Slow (8 s): NB counts are also in the gamma mixtures of
# test_tails_compound_density, frequencies by masses in test_dist_compound.
@pytest.mark.slow
def test_compound_other_frequencies():
    size = 200
    x = np.zeros(7)
    x[1:] = 1 / 6
    sev = dist.from_masses(x)
    d = dist.compound(
        dist.negative_binomial(3.0, 0.4), sev, size=size, accuracy="relative"
    )
    _check(d, _panjer_nb(3.0, 0.4, np.pad(x, (0, size - 7)), size), F64)
    # A frequency given by its masses: 0, 1 or 2 claims.
    n = dist.from_masses([0.2, 0.5, 0.3])
    e = dist.compound(n, sev, size=20, accuracy="relative")
    ref = 0.2 * np.eye(20)[0]
    ref[:7] += 0.5 * x
    ref[:13] += 0.3 * np.convolve(x, x)
    with np.errstate(divide="ignore"):
        _check(e, np.log(ref), F64)


def test_log_queries_reach_below_1e300():
    d = dist.iid_sum(dist.bernoulli(0.01), 1000, accuracy="relative")
    ref = _binom_log(1000, 0.01)
    k = np.array([0, 10, 600, 999, 1000])
    assert rel_err(d.logpmf(k), ref[k]).max() < 1e-10
    tail = np.array([scipy.special.logsumexp(ref[j + 1 :]) for j in k[:-1]])
    assert rel_err(d.logsf(k[:-1]), tail).max() < 1e-10
    head = np.array([scipy.special.logsumexp(ref[: j + 1]) for j in k])
    assert rel_err(d.logcdf(k), head).max() < 1e-10
    assert float(d.logsf(1000)) == -np.inf and float(d.logcdf(-1)) == -np.inf
    # scipy's sf is 1 - cdf here and returns 0; ours keeps the tail.
    assert scipy.stats.binom(1000, 0.01).sf(700) == 0.0
    assert float(d.logsf(700)) / LOG10 < -300
    # Queries off the lattice and NaN.
    assert float(d.logpmf(10.5)) == -np.inf and np.isnan(d.logpmf(np.nan))


def test_sf_cdf_match_scipy_where_representable():
    d = dist.iid_sum(dist.bernoulli(0.3), 80, accuracy="relative")
    ref = scipy.stats.binom(80, 0.3)
    k = np.arange(-1, 81)
    np.testing.assert_allclose(d.sf(k), ref.sf(k), rtol=1e-10, atol=1e-300)
    np.testing.assert_allclose(d.cdf(k[:60]), ref.cdf(k[:60]), rtol=1e-10)


def test_density_kinds_give_relative_densities():
    # Sums of densities are tested in test_tails_density.py; a lattice plus
    # a density is an exact convolution of masses, kept relatively.
    base = dist.from_masses([0.2, 0.5, 0.3], step=0.5, kind="density")
    s = dist.iid_sum(base, 3, accuracy="relative")
    assert isinstance(s, dist.RelativeDensity) and s.kind == "density"
    m = dist.die(6).add(base, accuracy="relative")
    assert isinstance(m, dist.RelativeDensity)
    np.testing.assert_allclose(m.masses, (dist.die(6) + base).masses, rtol=1e-12)
    mixed = dist.mixture([0.5, 0.5], [base, dist.from_masses([1.0], step=0.5)])
    with pytest.raises(ValueError, match="without atoms"):
        dist.compound(dist.poisson(1.0), mixed, accuracy="relative")


# -- float32 --------------------------------------------------------------------

FLOOR32 = math.log(1e-30)


# p = 0.5 under slow: the float32 relative path is the same code as p = 0.01
# (and the float32 dice, Poisson binomial and pairwise tests below); each p
# compiles its own tilt count.
@pytest.mark.parametrize("p", [pytest.param(0.5, marks=pytest.mark.slow), 0.01])
def test_bernoulli_sums_float32(p):
    x = dist.from_masses(np.array([1 - p, p], np.float32))
    d = dist.iid_sum(x, 1000, accuracy="relative")
    assert d.dtype == jnp.float32
    _check(d, _binom_log(1000, float(np.float32(p))), F32, FLOOR32)


# Slow (5.5 s): float32 tilts in the Bernoulli, Poisson binomial and
# pairwise float32 tests.
@pytest.mark.slow
def test_ten_thousand_dice_float32(dice_ref):
    d = dist.iid_sum(
        dist.from_masses(np.full(6, 1 / 6, np.float32)), 10_000, accuracy="relative"
    )
    assert d.dtype == jnp.float32
    # dice_ref is the exact law of fair dice; float32(1/6) differs by 3e-8,
    # i.e. 3e-4 on the law of 10,000 of them: inside the tolerance.
    shift = 10_000 * math.log(6 * float(np.float32(1 / 6)))
    _check(d, dice_ref, F32, FLOOR32, input_ref=dice_ref + shift)


def test_poisson_binomial_float32():
    p = _mixed_p(1000).astype(np.float32)
    d = dist.poisson_binomial(p, accuracy="relative")
    _check(d, _pb_log(p.astype(np.float64)), F32, FLOOR32)


def test_pairwise_float32():
    la, lb = _spanning(3000)
    la, lb = la.astype(np.float32), lb.astype(np.float32)
    ref = np.log(
        np.convolve(np.exp(la.astype(np.float64)), np.exp(lb.astype(np.float64)))
    )
    out = logconvolve(la, lb)
    assert out.dtype == jnp.float32
    sel = ref > FLOOR32
    assert rel_err(out, ref)[sel].max() <= F32


# -- the plain method, estimates --------------------------------------------------


def test_plain_method_is_never_negative_and_its_estimate_flags_noise():
    plain = dist.iid_sum(dist.bernoulli(0.5), 1000)
    assert float(plain.masses.min()) >= 0.0
    est = np.asarray(relative_error(plain))
    ref = _binom_log(1000, 0.5)
    with np.errstate(divide="ignore"):
        err = rel_err(np.log(np.asarray(plain.masses)), ref)
    ok = np.isfinite(est)
    assert np.all(err[ok] <= est[ok])
    assert np.isinf(est[0])  # 2**-1000 is below the plain method's noise
    assert ok.sum() > 200


def test_relative_beats_plain_in_the_tail():
    ref = _binom_log(1000, 0.5)
    with np.errstate(divide="ignore"):
        plain = np.log(np.asarray(dist.iid_sum(dist.bernoulli(0.5), 1000).masses))
    rel = dist.iid_sum(dist.bernoulli(0.5), 1000, accuracy="relative").log_masses
    tail = ref < math.log(1e-12)
    assert np.nanmax(rel_err(plain, ref)[tail]) > 1e-5
    assert rel_err(rel, ref)[tail].max() < 1e-9


# -- transformations ---------------------------------------------------------------


def test_jit_equals_eager():
    # The law of test_vmap_and_batches_equal_a_loop: its eager programs are
    # compiled once for both tests.
    x = dist.bernoulli(0.5)
    eager = dist.iid_sum(x, 100, accuracy="relative")
    jitted = jax.jit(lambda d: dist.iid_sum(d, 100, accuracy="relative"))(x)
    assert isinstance(jitted, RelativeDistribution)
    np.testing.assert_allclose(jitted.log_masses, eager.log_masses, rtol=1e-9)
    la, lb = _spanning(300)
    np.testing.assert_allclose(
        jax.jit(logconvolve)(la, lb), logconvolve(la, lb), rtol=1e-9
    )


def test_vmap_and_batches_equal_a_loop():
    ps = np.array([0.5, 0.02])
    batch = dist.iid_sum(dist.bernoulli(ps), 100, accuracy="relative")
    assert batch.log_masses.shape == (2, 101)
    # Jitted: eager vmap compiles one program per operation and shape.
    vm = jax.jit(
        jax.vmap(
            lambda q: (
                dist.iid_sum(dist.bernoulli(q), 100, accuracy="relative").log_masses
            )
        )
    )(jnp.asarray(ps))
    for i, q in enumerate(ps):
        one = dist.iid_sum(dist.bernoulli(q), 100, accuracy="relative").log_masses
        np.testing.assert_allclose(batch.log_masses[i], one, rtol=1e-9)
        np.testing.assert_allclose(vm[i], one, rtol=1e-9)
    rng = np.random.default_rng(5)
    la, lb = np.log(rng.random((2, 300))), np.log(rng.random((1, 320)))
    both = logconvolve(la, lb)
    for i in range(2):
        np.testing.assert_allclose(both[i], logconvolve(la[i], lb[0]), rtol=1e-9)


def test_gradients():
    def logp(q):
        d = dist.iid_sum(dist.bernoulli(q), 30, accuracy="relative")
        return d.logpmf(25)

    q = jnp.asarray(0.3)
    # d/dq [log C(30,25) + 25 log q + 5 log(1-q)]; jitted (eager grad compiles
    # one program per operation; eager relative sums: test_jit_equals_eager)
    g = jax.jit(jax.grad(logp))(q)
    np.testing.assert_allclose(g, 25 / 0.3 - 5 / 0.7, rtol=1e-8)
    rng = np.random.default_rng(2)
    la, lb = jnp.log(rng.random(300)), jnp.log(rng.random(260))  # tilted path
    f = lambda a, b: logconvolve(a, b)[::37]  # noqa: E731
    # Reverse mode here; forward mode (the same operations, no custom rules)
    # in test_logconvolve_forward_mode_gradients, -m slow.
    check_grads(f, (la, lb), order=1, modes=["rev"], atol=1e-5, rtol=1e-5)
    p0 = jnp.asarray(np.random.default_rng(4).uniform(0.05, 0.95, 40))
    g = jax.jit(
        jax.grad(lambda p: dist.poisson_binomial(p, accuracy="relative").logpmf(0))
    )(p0)
    np.testing.assert_allclose(g, -1 / (1 - p0), rtol=1e-8)  # log P(0) = sum log(1-p)


@pytest.mark.slow
def test_logconvolve_forward_mode_gradients():
    rng = np.random.default_rng(2)
    la, lb = jnp.log(rng.random(300)), jnp.log(rng.random(260))  # tilted path
    f = lambda a, b: logconvolve(a, b)[::37]  # noqa: E731
    check_grads(f, (la, lb), order=1, modes=["fwd"], atol=1e-5, rtol=1e-5)


# -- invariants (hypothesis) ------------------------------------------------------


# Each example compiles its own tilted program (the tilt count is taken from
# the data), about a second of CPU each: 4 examples, both shapes.
@settings(max_examples=4)
@given(
    shape=st.sampled_from([(300, 260), (420, 300)]),
    span=st.floats(1.0, 300.0),
    seed=st.integers(0, 2**31 - 1),
)
def test_logconvolve_matches_direct_sums(shape, span, seed):
    n, m = shape
    rng = np.random.default_rng(seed)
    la = -span * rng.random() * np.linspace(0, 1, n) ** 2 + np.log(
        rng.uniform(0.2, 1, n)
    )
    lb = -span * np.linspace(1, 0, m) + np.log(rng.uniform(0.2, 1, m))
    ref = np.log(np.convolve(np.exp(la), np.exp(lb)))
    out, rel = logconvolve(la, lb, return_error=True)
    err = rel_err(out, ref)
    assert err.max() <= F64
    assert np.all(err <= np.exp(np.asarray(rel)) + 4e-16 * (np.abs(ref) + 1))


@settings(max_examples=5)
@given(n=st.sampled_from([7, 60]), seed=st.integers(0, 2**31 - 1))
def test_poisson_binomial_masses_sum_to_one(n, seed):
    p = np.random.default_rng(seed).random(n)
    d = dist.poisson_binomial(p, accuracy="relative")
    assert abs(float(d.total) - 1) < 1e-12
    assert float(d.masses.min()) >= 0
    _check(d, _pb_log(p), 1e-10)


def test_zeros_supports_and_small_cases():
    x = dist.from_masses([0.0, 0.3, 0.7, 0.0])  # support 1..2 of 0..3
    d = dist.iid_sum(x, 5, accuracy="relative")
    ref = np.full(16, -np.inf)
    ref[5:11] = _binom_log(5, 0.7)
    _check(d, ref, 1e-12)
    assert dist.iid_sum(x, 1, accuracy="relative").size == 4
    z = dist.iid_sum(x, 0, accuracy="relative")
    assert float(z.pmf(0)) == 1.0
    pb = dist.poisson_binomial([0.0, 1.0, 0.5], accuracy="relative")
    np.testing.assert_allclose(pb.masses, [0.0, 0.5, 0.5, 0.0], atol=1e-15)
    out = logconvolve([0.0], [np.log(0.5), -np.inf])
    np.testing.assert_allclose(out, [np.log(0.5), -np.inf])


# -- bad input ---------------------------------------------------------------------


def test_bad_input():
    with pytest.raises(
        ValueError, match="`accuracy` must be one of 'absolute', 'relative'"
    ):
        dist.iid_sum(dist.die(6), 3, accuracy="exact")
    with pytest.raises(ValueError, match="`log_in1` must hold logs"):
        logconvolve([0.0, np.nan], [0.0])
    with pytest.raises(ValueError, match="`log_in2` must hold logs"):
        logconvolve([0.0], [np.inf])
    with pytest.raises(ValueError, match="at least one entry"):
        logconvolve([], [0.0])
    with pytest.raises(TypeError, match="must be real"):
        logconvolve([1j], [0.0])
    with pytest.raises(TypeError, match="`return_error` must be True or False"):
        logconvolve([0.0], [0.0], return_error=1)
    with pytest.raises(TypeError, match="`d` must be a Distribution"):
        relative_error(np.ones(3))
    with pytest.raises(ValueError, match="`p` must be finite and lie in"):
        dist.poisson_binomial([0.5, 1.5], accuracy="relative")
    with pytest.raises(TypeError, match="`x` must be a Distribution"):
        dist.iid_sum([0.5, 0.5], 3, accuracy="relative")


def test_public_names_have_docstrings():
    for name in ("RelativeDistribution", "logconvolve", "relative_error"):
        assert getattr(dist, name).__doc__


# -- shape buckets (issue 14) -------------------------------------------------
#
# Eager relative sums pad their stages' inputs to `probconv.conv.bucket_length`
# (-inf log-masses, trials of probability 0, zero masses past a grid) and cut
# the results back: a new size inside a bucket seen before compiles nothing.
# Each case: (a law of the first size, of the second size in the same bucket,
# the exact log-law of the second).


def _compound_case(lam):
    return dist.compound(
        dist.poisson(lam), dist.bernoulli(0.3) + 1, accuracy="relative"
    )


_PB_P = lambda n: np.linspace(0.02, 0.97, n)  # noqa: E731

BUCKET_CASES = {
    # 18 and 19 trials: bucket 20
    "poisson_binomial": (
        lambda: dist.poisson_binomial(_PB_P(18), accuracy="relative"),
        lambda: dist.poisson_binomial(_PB_P(19), accuracy="relative"),
        lambda size: _pb_log(_PB_P(19)),
    ),
    # 18- and 19-fold sums: bucket 20
    "iid_sum": (
        lambda: dist.iid_sum(dist.bernoulli(0.3), 18, accuracy="relative"),
        lambda: dist.iid_sum(dist.bernoulli(0.3), 19, accuracy="relative"),
        lambda size: _binom_log(19, 0.3),
    ),
    # 28 and 29 points: bucket 29 (28 after the first)
    "add": (
        lambda: dist.add(
            dist.binomial(18, 0.3), dist.binomial(9, 0.5), accuracy="relative"
        ),
        lambda: dist.add(
            dist.binomial(19, 0.3), dist.binomial(9, 0.5), accuracy="relative"
        ),
        lambda size: np.log(
            np.convolve(
                scipy.stats.binom(19, 0.3).pmf(np.arange(20)),
                scipy.stats.binom(9, 0.5).pmf(np.arange(10)),
            )
        ),
    ),
    # grids of 326 and 335 points: bucket 384
    "compound": (
        lambda: _compound_case(2.2),
        lambda: _compound_case(2.5),
        lambda size: _panjer_poisson(2.5, np.array([0.0, 0.7, 0.3]), size),
    ),
}


@pytest.mark.parametrize("case", sorted(BUCKET_CASES))
def test_a_new_size_in_a_seen_bucket_compiles_nothing(case, count_compiles):
    first, second, exact = BUCKET_CASES[case]
    warm = first()
    warm.logpmf([0, 3]), warm.logsf(3)  # the bucket's query programs too
    with count_compiles() as events:
        d = second()
        got = d.logpmf([0, 3]), d.logsf(3)
    assert len(events) == 0, events
    # The cut-back law is the unpadded one: its size, and against the exact
    # log-law every point within the documented accuracy and its estimate.
    ref = exact(d.size)
    assert d.size == ref.size and d.log_masses.shape == (ref.size,)
    _check(d, ref, F64, floor=-700.0)
    np.testing.assert_allclose(got[0], ref[[0, 3]], rtol=F64)
    # Past the true grid (inside the padding): -inf where nothing was cut,
    # NaN where mass was (as without padding).
    past = float(d.logpmf(d.size + 1))
    cut = float(d.log_truncated) > -np.inf
    assert math.isnan(past) if cut else past == -np.inf


@pytest.mark.parametrize("case", ["add", "iid_sum", "poisson_binomial"])
def test_bucketed_and_unbucketed_relative_sums_agree(case, monkeypatch):
    # The padded programs plan for the bucket (longer windows, a tilt count
    # for its largest size), so the two agree to the method's rounding, not
    # bit for bit: within the sum of both error estimates at every point.
    # Small sums (`add` here) are direct sums in log space, whose padding
    # adds exact zeros: the same log-masses and estimates, bit for bit.
    from probconv.distributions import _relative

    _, second, _ = BUCKET_CASES[case]
    padded = second()
    monkeypatch.setattr(_relative, "BUCKETS", False)
    plain = second()
    a, b = (np.asarray(v.log_masses) for v in (padded, plain))
    assert a.shape == b.shape
    np.testing.assert_array_equal(np.isfinite(a), np.isfinite(b))
    fin = np.isfinite(b)
    est = np.asarray(relative_error(padded)) + np.asarray(relative_error(plain))
    ulp = 4 * np.finfo(a.dtype).eps * (np.abs(b) + 1)
    assert np.all(np.abs(a - b)[fin] <= (est + ulp)[fin])
    assert float(padded.log_truncated) == float(plain.log_truncated)
    if case == "add":
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(padded.log_error, plain.log_error)


def _log_compound_exact(weights, sev, size):
    """Log-law of a compound sum on ``0..size-1`` by exact integer arithmetic.

    `sev`: the severity's masses on ``0, 1, ...`` as Fractions; `weights`:
    ``P(N = n)`` for n = 0, 1, ... (Fractions, or floats taken exactly: all
    terms are non-negative, so the sum keeps their few ulps). ``-inf`` where
    no sum of severities reaches a point.
    """
    den = math.lcm(*(f.denominator for f in sev))
    x = [int(f * den) for f in sev]
    conv = [1] + [0] * (size - 1)  # den^n P(X_1 + ... + X_n = k), exactly
    total = [Fraction(0)] * size
    for n, w in enumerate(weights):
        for k, c in enumerate(conv):
            if c:
                total[k] += Fraction(w) * Fraction(c, den**n)
        conv = [
            sum(x[j] * conv[k - j] for j in range(min(k, len(x) - 1) + 1))
            for k in range(size)
        ]
    return np.array(
        [
            math.log(t.numerator) - math.log(t.denominator) if t else -np.inf
            for t in total
        ]
    )


def test_compound_impossible_points_are_exact_zeros():
    # Severities from 0, 1, 2 and 3, with gaps (a lattice with zero masses):
    # points no sum of severities reaches are exactly -inf, and every other
    # point is within F64 and its error estimate (issue 15: the severity
    # {2, 3} of `bernoulli(0.5) + 2` gave a log-mass near +26 at S = 1).
    half, quarter = Fraction(1, 2), Fraction(1, 4)
    sevs = [
        [quarter, 0, quarter, half],  # {0, 2, 3}
        [0, half, 0, half],  # {1, 3}
        [0, 0, half, half],  # {2, 3}: bernoulli(0.5) + 2
        [0, 0, 0, half, 0, half],  # {3, 5}: die(2) * 2 + 1 on a unit step
    ]
    sevs = [s + [0] * (6 - len(s)) for s in sevs]
    lam = [2.0, 3.0, 2.0, 1.5]
    size = 60
    x = dist.from_masses(np.array(sevs, np.float64))
    # Poisson counts, n < size: a severity >= 1 reaches no point of the grid
    # with more summands; from 0 ({0, 2, 3}) the cut terms weigh at most
    # P(N >= size), relatively below 1e-20 of every mass of the grid.
    d = dist.compound(dist.poisson(np.array(lam)), x, size=size, accuracy="relative")
    assert d.log_masses.shape == (4, size)
    for i in range(4):
        w = scipy.stats.poisson.pmf(np.arange(size), lam[i])
        ref = _log_compound_exact(w, sevs[i], size)
        log_cut = scipy.stats.poisson.logsf(size - 1, lam[i])  # P(N >= size)
        assert log_cut < np.min(ref[np.isfinite(ref)]) - 46  # e^-46 < 1e-20
        _check_row(d, i, ref)
    assert np.isneginf(ref[[1, 2, 4, 7]]).all()  # {3, 5}: 1, 2, 4, 7 impossible


def _check_row(d, i, ref):
    """Row `i` of `d` against `ref`: -inf where `ref` is, else as `_check`."""
    lm = np.asarray(d.log_masses[i], np.float64)
    assert np.all(np.isneginf(lm[np.isneginf(ref)])), (i, lm[np.isneginf(ref)])
    on = np.isfinite(ref)
    err = rel_err(lm[on], ref[on])
    assert err.max() <= F64, (i, err.max())
    est = np.asarray(relative_error(d)[i], np.float64)[on]
    assert np.all(err <= est + 4 * np.finfo(np.float64).eps * (np.abs(ref[on]) + 1))


def _log_int_power(x, n):
    """Log-law of the `n`-fold sum of masses ``x / sum(x)`` (integers), exactly."""
    law = [1]
    for _ in range(n):
        law = [
            sum(x[j] * law[k - j] for j in range(len(x)) if 0 <= k - j < len(law))
            for k in range(len(law) + len(x) - 1)
        ]
    log_den = n * math.log(sum(x))
    return np.array([math.log(c) - log_den if c else -np.inf for c in law])


@pytest.mark.parametrize("n", [3, 40])
def test_iid_sum_and_add_of_lattices_with_gaps(n):
    # {2, 5, 6} (origin 2, zero masses between): its n-fold sum has gaps
    # near both ends, which must be -inf (issue 15: the tilts gave e^-41.7
    # at an impossible point of the 3-fold sum); other points within F64.
    w = [1, 0, 0, 1, 2]
    x = dist.from_masses(np.array(w) / 4, origin=2)
    s = dist.iid_sum(x, n, accuracy="relative")
    assert float(s.origin) == 2 * n
    _check_row(s, (), _log_int_power(w, n))
    if n == 3:
        # add of two such laws (origins 2 and 3): exact by construction.
        y = dist.from_masses([0.5, 0, 0, 0, 0.5], origin=3)
        a = dist.add(x, y, accuracy="relative")
        assert float(a.origin) == 5
        with np.errstate(divide="ignore"):  # sums of two dyadic terms: exact
            ref = np.log(np.convolve(np.array(w) / 4, [0.5, 0, 0, 0, 0.5]))
        _check_row(a, (), ref)


def test_compound_frequency_with_zero_masses_between():
    # N in {0, 3} (a frequency by masses, zero masses between), X in {1, 2}:
    # S is 0 or 3..6, never 1 or 2 (the window gave e^-40 there), exactly.
    half = Fraction(1, 2)
    d = dist.compound(
        dist.from_masses([0.5, 0, 0, 0.5]), dist.from_masses([0, 0.5, 0.5]),
        size=12, accuracy="relative",
    )  # fmt: skip
    ref = _log_compound_exact([half, 0, 0, half], [0, half, half], 12)
    assert np.isfinite(ref).sum() == 5
    _check_row(d, (), ref)


def test_log_add_and_mark_unresolved_agree_with_numpy():
    """The error-estimate helpers against numpy's float64 `logaddexp`.

    `_tilt.log_add` takes ``log(1 + e)`` instead of ``log1p(e)``: an
    absolute error of a few ulps of 1 (tolerance 4 eps of float64, plus
    4 ulps of the result), and ``-inf``/``inf`` as numpy has them.
    `mark_unresolved` returns its input unchanged where nothing was lost
    (the `lax.cond` branch), also under `vmap`, where one row lost mass.
    """
    rng = np.random.default_rng(7)
    a = rng.normal(-50.0, 30.0, 64)
    b = a + rng.normal(0.0, 3.0, 64)
    a[:3] = [-np.inf, np.inf, -np.inf]
    b[:3] = [-np.inf, 1.0, 2.0]
    with jax.enable_x64(True):
        got = np.asarray(_tilt.log_add(jnp.asarray(a), jnp.asarray(b)))
    ref = np.logaddexp(a, b)
    assert np.array_equal(np.isfinite(got), np.isfinite(ref))
    assert np.array_equal(got[~np.isfinite(ref)], ref[~np.isfinite(ref)])
    fin = np.isfinite(ref)
    tol = 4 * np.finfo(np.float64).eps * (1.0 + np.abs(ref[fin]))
    assert np.all(np.abs(got[fin] - ref[fin]) <= tol)

    log_m = rng.normal(-40.0, 10.0, (2, 16))
    log_err = np.full((2, 16), math.log(1e-12))
    log_t = np.array([-np.inf, -30.0])
    with jax.enable_x64(True):
        args = [jnp.asarray(v) for v in (log_err, log_m)]
        same = _extend.mark_unresolved(args[0][0], args[1][0], 4.0, -jnp.inf)
        rows = jax.vmap(_extend.mark_unresolved, (0, 0, None, 0))(
            *args, 4.0, jnp.asarray(log_t)
        )
    assert np.array_equal(np.asarray(same), log_err[0])
    k = np.arange(16)
    want = np.where(k >= 4, np.logaddexp(log_err, log_t[:, None] - log_m), log_err)
    want[0] = log_err[0]
    np.testing.assert_allclose(np.asarray(rows), want, rtol=4e-16, atol=0)


def test_logconvolve_of_long_slowly_decaying_rows_picks_tilts_by_their_means():
    # Two geometric rows of ratio e^(-1/512), 12,000 entries each: their
    # convolution is (min(k, 2n - 2 - k) + 1) e^(-k/512) exactly. The plan's
    # tilted means, interpolated between its grid points, were thousands of
    # entries off here, and entries read noise (log values up to +64 against
    # -5). Each entry now takes its tilts by the rows' own tilted means:
    # float64 round-off of ~20 tilted FFTs of 24,000 points (1e-12 relative),
    # and every error within its stated one.
    n = 12_000
    la = -np.arange(n) / 512.0
    out, rel = dist.logconvolve(la, la, return_error=True)
    k = np.arange(2 * n - 1)
    exact = np.log(np.minimum(k, 2 * n - 2 - k) + 1.0) - k / 512.0
    err = np.abs(np.expm1(np.asarray(out) - exact))
    assert err.max() < 1e-12
    assert np.all(err <= 1.001 * np.exp(np.asarray(rel)))


def test_logconvolve_of_long_heavy_tails_states_what_it_cannot_resolve():
    # Lognormal(0.5) cells of 0.1 on 8,192 cells: a heavy tail, whose sum's
    # log is convex far out, below the reach of any exponential tilt, with
    # more such entries than the direct fixes cover. Those entries read an
    # infinite stated error (they read finite estimates of e^8 at values
    # of +3e4 before), never above sum(p) max(q); every entry's error is
    # within its stated one against the float64 direct sum.
    n = 8192
    edges = (np.arange(n + 1) - 0.5) * 0.1
    law = scipy.stats.lognorm(0.5)
    lsf = law.logsf(np.maximum(edges, 1e-300))
    la = lsf[:-1] + np.log(-np.expm1(lsf[1:] - lsf[:-1]))
    la[0] = law.logcdf(0.05)
    out, rel = (np.asarray(v) for v in dist.logconvolve(la, la, return_error=True))
    exact = np.log(np.convolve(np.exp(la), np.exp(la)))
    assert out.max() <= scipy.special.logsumexp(la) + la.max()
    with np.errstate(over="ignore", invalid="ignore"):
        err = np.abs(np.expm1(out - exact))
    assert np.all((err <= 1.001 * np.exp(rel)) | np.isinf(rel))
    assert np.isinf(rel).sum() > 1000  # the far tail: unresolved, and said so
    resolved = rel < math.log(1e-9)
    assert resolved.sum() > 2000 and err[resolved].max() < 1e-9
