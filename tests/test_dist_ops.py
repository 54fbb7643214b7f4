"""Sums, differences, shifts, scalings, iid sums and mixtures.

Tolerances (float64 unless stated):

| comparison | tolerance | why |
| --- | --- | --- |
| sums vs closed forms / exact fractions | atol 1e-14 | (1) |
| moments of sums vs sums of moments | rtol 1e-10 | sums over <= 200 grid points |
| float32 vs float64 | atol 2e-6 | float32 rounding |

(1) FFT or direct convolution: error near eps * max mass on every entry
"""

from fractions import Fraction

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st
from jax.test_util import check_grads

import probconv.distributions as dist
from probconv.distributions import from_masses

ATOL = 1e-14
RTOL_MOM = 1e-10
ATOL32 = 2e-6


def _exact(*laws):
    """Exact law of a sum: laws are dicts value -> Fraction."""
    out = {0: Fraction(1)}
    for law in laws:
        new = {}
        for a, pa in out.items():
            for b, pb in law.items():
                new[a + b] = new.get(a + b, 0) + pa * pb
        out = new
    return out


def _die(sides, mult=1):
    return {mult * k: Fraction(1, sides) for k in range(1, sides + 1)}


def _check_exact(d, law):
    x = np.asarray(d.points)
    want = np.array([float(law.get(int(round(v)), 0)) for v in x])
    assert set(law) <= {int(round(v)) for v in x}
    np.testing.assert_allclose(d.masses, want, atol=ATOL, rtol=0)


def test_binomial_sum():
    d = dist.binomial(10, 0.3) + dist.binomial(15, 0.3)
    np.testing.assert_allclose(
        d.masses, scipy.stats.binom(25, 0.3).pmf(np.arange(26)), atol=ATOL
    )


def test_poisson_sum_and_truncated_mass():
    d = dist.poisson(3.0) + dist.poisson(4.5)
    k = np.asarray(d.points)
    np.testing.assert_allclose(d.masses, scipy.stats.poisson(7.5).pmf(k), atol=ATOL)
    assert float(d.truncated) > 0
    np.testing.assert_allclose(d.total + d.truncated, 1.0, atol=1e-14)


def test_negative_binomial_as_sum_of_geometrics():
    for r, p in [(3, 0.4), (7, 0.75)]:
        d = dist.iid_sum(dist.geometric(p), r) - r  # failures = trials - r
        k = np.asarray(d.points)
        assert k[0] == 0
        np.testing.assert_allclose(d.masses, scipy.stats.nbinom(r, p).pmf(k), atol=ATOL)


def test_skellam():
    d = dist.poisson(3.0) - dist.poisson(2.0)
    x = np.asarray(d.points)
    np.testing.assert_allclose(
        d.masses, scipy.stats.skellam(3.0, 2.0).pmf(x), atol=ATOL
    )
    np.testing.assert_allclose(d.mean(), 1.0, rtol=1e-12)
    np.testing.assert_allclose(d.var(), 5.0, rtol=1e-12)


@pytest.mark.parametrize("n", [1, 2, 5, 12])
def test_dice_sums_exact(n):
    _check_exact(dist.iid_sum(dist.die(6), n), _exact(*[_die(6)] * n))


def test_mixed_dice_and_scaled_dice_exact():
    _check_exact(
        dist.die(6) + dist.die(8) + dist.die(20), _exact(_die(6), _die(8), _die(20))
    )
    d = 3 * dist.die(6)  # step 3: {3, 6, ..., 18}
    assert d.step == 3.0
    # a step-3 lattice plus a step-1 lattice: the coarser one is refined
    _check_exact(dist.die(4) + d, _exact(_die(4), _die(6, 3)))
    _check_exact(-2 * dist.die(4), {-2 * k: Fraction(1, 4) for k in range(1, 5)})


def test_iid_sum_matches_repeated_addition():
    x = from_masses([0.1, 0.0, 0.35, 0.25, 0.3], origin=-1.0, step=0.5)
    acc = x
    for _ in range(6):
        acc = acc + x
    got = dist.iid_sum(x, 7)
    np.testing.assert_allclose(got.masses, acc.masses, atol=ATOL)
    np.testing.assert_allclose(got.origin, acc.origin)
    zero = dist.iid_sum(x, 0)
    assert zero.masses.tolist() == [1.0] and float(zero.origin) == 0.0
    assert dist.iid_sum(x, 1) is x


def test_iid_sum_truncated_mass():
    d = dist.poisson(2.0, size=6)
    s = dist.iid_sum(d, 5)
    t = float(d.truncated)
    np.testing.assert_allclose(s.truncated, 1 - (1 - t) ** 5, rtol=1e-12)
    np.testing.assert_allclose(s.total + s.truncated, 1.0, atol=1e-14)


def test_shift_and_scale():
    x = dist.die(6)
    y = x + 2.5
    assert float(y.origin) == 3.5 and float((2.5 + x).origin) == 3.5
    assert float((10 - x).origin) == 4.0
    np.testing.assert_allclose((10 - x).mean(), 6.5)
    z = 0 * x
    assert z.size == 1 and float(z.origin) == 0.0
    np.testing.assert_allclose(z.masses, [1.0], rtol=1e-15)
    h = 0.5 * x
    assert h.step == 0.5 and float(h.origin) == 0.5
    g = jax.grad(lambda c: (x + c).mean())(1.0)
    assert float(g) == 1.0
    with pytest.raises(ValueError, match="scale factor must be finite"):
        np.inf * x


def test_steps_that_do_not_nest():
    a = from_masses([0.5, 0.5], step=1.0)
    b = from_masses([0.5, 0.5], step=0.3)
    with pytest.raises(
        ValueError, match=r"integer multiples of each other.*0\.3, 1\.0"
    ):
        a + b
    c = from_masses([0.5, 0.5], step=1.5)
    d = from_masses([0.25, 0.75], step=0.5) + c  # ratio 3
    assert d.step == 0.5
    np.testing.assert_allclose(d.mean(), 0.375 + 0.75, rtol=1e-12)


def test_density_sums():
    a = from_masses([0.2, 0.5, 0.3], origin=1.0, step=0.5, kind="density")
    b = from_masses([0.6, 0.4], origin=-1.0, step=0.5, kind="density")
    s = a + b
    assert s.kind == "density" and s.step == 0.5
    # density + density: point weights (-1, 26, -1)/24 * m convolved, one box
    # (1, 22, 1)/24 put back, one cell of margin at each end (_density_ops)

    def fir(x, side, mid):
        p = np.pad(x, 1)
        return mid * x + side * (p[:-2] + p[2:])

    wa = fir(np.pad([0.2, 0.5, 0.3], 1), -1 / 24, 26 / 24)
    wb = fir(np.pad([0.6, 0.4], 1), -1 / 24, 26 / 24)
    ref = np.clip(fir(np.convolve(wa, wb), 1 / 24, 22 / 24)[1:-1], 0, None)
    np.testing.assert_allclose(s.masses, ref / ref.sum(), atol=ATOL)
    assert float(s.origin) == -0.5
    np.testing.assert_allclose(s.mean(), a.mean() + b.mean(), rtol=1e-12)
    lat = from_masses([0.5, 0.5], origin=0.0, step=1.0)
    m = a + lat  # a lattice plus a density is a density; the lattice is refined
    assert m.kind == "density" and m.step == 0.5
    np.testing.assert_allclose(m.mean(), a.mean() + 0.5, rtol=1e-12)
    coarse = from_masses([0.5, 0.5], origin=0.0, step=1.0, kind="density")
    fine = from_masses([1.0], origin=0.0, step=0.5)
    r = coarse + fine  # cells of the coarse density split in two
    assert r.step == 0.5 and r.masses.tolist() == [0.25] * 4
    np.testing.assert_allclose(r.origin, -0.25)
    np.testing.assert_allclose(r.cdf(0.5), coarse.cdf(0.5), rtol=1e-12)


def test_batched_sums_jit_vmap():
    rng = np.random.default_rng(1)
    m = rng.random((4, 6))
    m /= m.sum(-1, keepdims=True)
    xb = from_masses(m, origin=np.arange(4.0))
    y = dist.die(4)
    s = xb + y
    assert s.batch_shape == (4,)
    for i in range(4):
        one = from_masses(m[i], origin=float(i)) + y
        np.testing.assert_allclose(s.masses[i], one.masses, atol=ATOL)
        np.testing.assert_allclose(s.origin[i], one.origin)
    both = xb + xb
    looped = jnp.stack(
        [(from_masses(m[i]) + from_masses(m[i])).masses for i in range(4)]
    )
    np.testing.assert_allclose(both.masses, looped, atol=ATOL)
    f = jax.jit(lambda a, b: (a + b).cdf(5.0))
    np.testing.assert_allclose(f(xb, y), s.cdf(5.0), atol=ATOL)
    v = jax.jit(jax.vmap(lambda a: dist.iid_sum(a, 3).mean()))(xb)  # one program
    np.testing.assert_allclose(v, 3 * xb.mean(), rtol=1e-12)


def test_sums_under_vmap_of_jit_take_the_engine_method():
    # Laws of 300 and 64 points mapped on both sides of a jitted sum: the
    # engine sees the mapped batch (no override in the layer): NumPy's
    # values, non-negative masses, exact totals, and gradients.
    rng = np.random.default_rng(7)
    p, q = 0.5 + rng.random((5, 300)), 0.5 + rng.random((5, 64))
    p /= p.sum(-1, keepdims=True)
    q /= q.sum(-1, keepdims=True)

    @jax.jit
    def add(a, b):
        return (from_masses(a) + from_masses(b)).masses

    out = jax.vmap(add)(p, q)
    ref = np.stack([np.convolve(a, b) for a, b in zip(p, q)])
    np.testing.assert_allclose(out, ref, atol=1e-15)
    assert float(out.min()) >= 0.0
    np.testing.assert_allclose(out.sum(-1), 1.0, rtol=1e-14)

    def loss(a, b):
        a, b = a / a.sum(-1, keepdims=True), b / b.sum(-1, keepdims=True)
        return jnp.sum(jax.vmap(add)(a, b)[:, ::7] ** 2)

    # Small steps: the masses stay a law (positive, total 1).
    check_grads(loss, (p, q), order=1, modes=("fwd", "rev"), eps=1e-6)


def test_large_batch_of_sums_is_fast_enough():
    rng = np.random.default_rng(2)
    m = rng.random((2000, 9))
    m /= m.sum(-1, keepdims=True)
    x = from_masses(m)
    s = x + x
    np.testing.assert_allclose(s.total, 1.0, atol=1e-14)
    np.testing.assert_allclose(s.mean(), 2 * x.mean(), rtol=1e-12)


def test_gradients_of_sums():
    def f(p):
        return (dist.binomial(3, p) + dist.bernoulli(p)).sf(2.0)

    check_grads(jax.jit(f), (0.3,), order=1)

    def g(p):
        return dist.iid_sum(dist.bernoulli(p), 6).cdf(2.0)

    check_grads(jax.jit(g), (0.3,), order=1)
    # d/dp of P(Bin(6, p) <= 2) = -6 * P(Bin(5, p) = 2)
    np.testing.assert_allclose(
        jax.jit(jax.grad(g))(0.3), -6 * scipy.stats.binom(5, 0.3).pmf(2), rtol=1e-10
    )


def test_float32_sums():
    a = from_masses(np.array([0.2, 0.5, 0.3], np.float32))
    b = dist.die(6)
    s32 = a + from_masses(b.masses.astype(np.float32), origin=np.float32(1.0))
    assert s32.masses.dtype == jnp.float32
    s64 = from_masses([0.2, 0.5, 0.3]) + b
    np.testing.assert_allclose(s32.masses, s64.masses, atol=ATOL32)
    i32 = dist.iid_sum(a, 10)
    assert i32.masses.dtype == jnp.float32
    np.testing.assert_allclose(
        i32.masses, dist.iid_sum(from_masses([0.2, 0.5, 0.3]), 10).masses, atol=ATOL32
    )


def _law(draw_seed, n):
    rng = np.random.default_rng(draw_seed)
    m = rng.random(n) ** 3
    return m / m.sum()


# Sizes in pairs, each a short and a long law: every size pair compiles its
# own programs (about 30), and two pairs cover both ends of each side; ten
# examples reach both pairs with several seeds and origins each.
@settings(max_examples=10)
@given(
    seed=st.integers(0, 2**31),
    sizes=st.sampled_from([(3, 200), (40, 5)]),
    o1=st.floats(-20, 20),
    o2=st.floats(-20, 20),
)
def test_mean_variance_additivity(seed, sizes, o1, o2):
    n1, n2 = sizes
    x = from_masses(_law(seed, n1), origin=o1)
    y = from_masses(_law(seed + 1, n2), origin=o2, step=0.5)
    s = x + y
    np.testing.assert_allclose(s.mean(), x.mean() + y.mean(), rtol=RTOL_MOM, atol=1e-10)
    np.testing.assert_allclose(s.var(), x.var() + y.var(), rtol=RTOL_MOM)
    d = x - y
    np.testing.assert_allclose(d.var(), x.var() + y.var(), rtol=RTOL_MOM)
    assert float(jnp.min(s.masses)) >= 0.0 and float(jnp.min(d.masses)) >= 0.0
    np.testing.assert_allclose(s.total + s.truncated, 1.0, atol=1e-14)
    k = dist.iid_sum(y, 7)
    np.testing.assert_allclose(k.var(), 7 * y.var(), rtol=RTOL_MOM)
    assert float(jnp.min(k.masses)) >= 0.0


# -- mixture ---------------------------------------------------------------------


def test_mixture():
    a, b = dist.die(4), dist.die(6) + 2
    m = dist.mixture([0.25, 0.75], [a, b])
    x = np.arange(0, 10.0)
    np.testing.assert_allclose(m.pmf(x), 0.25 * a.pmf(x) + 0.75 * b.pmf(x), atol=ATOL)
    np.testing.assert_allclose(m.mean(), 0.25 * a.mean() + 0.75 * b.mean(), rtol=1e-12)
    # different steps, one nested in the other
    c = dist.mixture([0.5, 0.5], [dist.die(3), 2 * dist.die(3)])
    assert c.step == 1.0
    np.testing.assert_allclose(
        c.pmf([1, 2, 3, 4, 6]), [1 / 6, 1 / 3, 1 / 6, 1 / 6, 1 / 6]
    )
    # truncated mass is the weighted sum
    p = dist.mixture([0.5, 0.5], [dist.poisson(3.0, size=5), dist.die(2)])
    np.testing.assert_allclose(p.truncated, 0.5 * dist.poisson(3.0, size=5).truncated)


def test_mixture_traced():
    a, b = dist.poisson(2.0, size=20), dist.binomial(10, 0.4)

    def f(w):
        return dist.mixture(jnp.stack([w, 1 - w]), [a, b]).cdf(3.0)

    np.testing.assert_allclose(jax.jit(f)(0.3), f(0.3), rtol=1e-14)
    np.testing.assert_allclose(
        jax.jit(jax.grad(f))(0.3), a.cdf(3.0) - b.cdf(3.0), rtol=1e-12
    )
    # traced origins: the grid is as long as the longest component (20 points);
    # offsets that fit are placed at run time, others give NaN
    g = jax.jit(lambda o: dist.mixture([0.5, 0.5], [a, b + o]).cdf(3.0))
    want = dist.mixture([0.5, 0.5], [a, b + 1.0]).cdf(3.0)
    np.testing.assert_allclose(g(1.0), want, rtol=1e-14)
    assert np.isnan(g(15.0)) and np.isnan(g(0.5))


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: dist.mixture([1.0], []), ValueError, "at least one Distribution"),
        (lambda: dist.mixture([0.5, 0.5], dist.die(2)), TypeError, "sequence of Distr"),
        (
            lambda: dist.mixture([1.0], [dist.die(2), dist.die(3)]),
            ValueError,
            "must have 2 entries",
        ),
        (
            lambda: dist.mixture([0.6, 0.6], [dist.die(2), dist.die(3)]),
            ValueError,
            "must sum to 1",
        ),
        (
            lambda: dist.mixture([-0.5, 1.5], [dist.die(2), dist.die(3)]),
            ValueError,
            "`weights` must be finite",
        ),
        (
            lambda: dist.mixture([0.5, 0.5], [dist.die(2), dist.die(3) + 0.5]),
            ValueError,
            "common grid",
        ),
        (
            lambda: dist.mixture([0.5, 0.5], [dist.die(2), 3]),
            TypeError,
            r"`dists\[1\]` must be a Distribution",
        ),
        (
            lambda: dist.add(dist.die(2), dist.die(2), accuracy="exact"),
            ValueError,
            "`accuracy` must be .*got 'exact'",
        ),
        (
            lambda: dist.die(2).add(dist.die(2), accuracy="fast"),
            ValueError,
            "`accuracy` must be",
        ),
        (lambda: dist.add(dist.die(2), 3.0), TypeError, "`y` must be a Distribution"),
        (
            lambda: dist.iid_sum(dist.die(2), -1),
            ValueError,
            "`n` must be at least 0",
        ),
        (
            lambda: dist.iid_sum(dist.die(2), 2.0),
            TypeError,
            r"`n` must be an integer \(a static Python int\)",
        ),
        (lambda: dist.iid_sum(dist.die(2), 3, accuracy="x"), ValueError, "`accuracy`"),
        (lambda: dist.iid_sum([0.5, 0.5], 3), TypeError, "`x` must be a Distribution"),
    ],
)
def test_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
