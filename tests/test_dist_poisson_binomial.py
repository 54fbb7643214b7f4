"""poisson_binomial against exact rational recursion and a float64 recursion.

Tolerances:

| comparison | tolerance | why |
| --- | --- | --- |
| float64 masses vs exact / recursion | atol 1e-14 | FFT levels: eps * log2(n) * max |
| gradient vs exact identity | atol 1e-12 | derivative of the same sums |
| gradient vs finite differences | rtol 1e-6 | central differences, h = 1e-6 |
| float32 masses vs float64 | atol 1e-6 | float32 rounding |
"""

from fractions import Fraction

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats
from _reference import check_grads

import probconv.distributions as dist

ATOL = 1e-14


def _exact(ps):
    """P(S = k) by the recursion of adding one trial at a time, in Fractions."""
    law = [Fraction(1)]
    for p in ps:
        q = 1 - p
        law = [
            (law[k] * q if k < len(law) else 0) + (law[k - 1] * p if k > 0 else 0)
            for k in range(len(law) + 1)
        ]
    return law


def _recursion(p):
    """The same recursion in float64 (accurate to a few ulps per entry)."""
    law = np.ones(1)
    for pi in p:
        law = np.concatenate([law * (1 - pi), [0.0]]) + np.concatenate(
            [[0.0], law * pi]
        )
    return law


@pytest.mark.parametrize("n", [1, 2, 3, 7, 12])
def test_exact_small_n(n):
    rng = np.random.default_rng(n)
    ps = [Fraction(int(k), 97) for k in rng.integers(0, 98, n)]
    d = dist.poisson_binomial(np.array([float(p) for p in ps]))
    want = np.array([float(v) for v in _exact(ps)])
    np.testing.assert_allclose(d.masses, want, atol=ATOL, rtol=0)
    assert d.size == n + 1 and float(d.origin) == 0.0


def test_large_n_against_recursion():
    p = np.random.default_rng(5).random(3000)
    d = dist.poisson_binomial(p)
    np.testing.assert_allclose(d.masses, _recursion(p), atol=ATOL)
    assert float(jnp.min(d.masses)) >= 0.0
    np.testing.assert_allclose(d.mean(), p.sum(), rtol=1e-12)
    np.testing.assert_allclose(d.var(), (p * (1 - p)).sum(), rtol=1e-10)


def test_edge_probabilities():
    d = dist.poisson_binomial([0.0, 1.0, 1.0, 0.0, 0.3])
    np.testing.assert_allclose(d.masses, [0, 0, 0.7, 0.3, 0, 0], atol=ATOL)
    eq = dist.poisson_binomial(np.full(20, 0.35))
    np.testing.assert_allclose(
        eq.masses, scipy.stats.binom(20, 0.35).pmf(np.arange(21)), atol=ATOL
    )


def test_batches_broadcast_and_vmap_equals_loop():
    p = np.random.default_rng(6).random((3, 4, 17))
    d = dist.poisson_binomial(p)
    assert d.batch_shape == (3, 4) and d.masses.shape == (3, 4, 18)
    for i in np.ndindex(3, 4):
        np.testing.assert_allclose(d.masses[i], _recursion(p[i]), atol=ATOL)
    v = jax.jit(jax.vmap(dist.poisson_binomial))(jnp.asarray(p[0]))  # one program
    np.testing.assert_allclose(v.masses, d.masses[0], atol=ATOL)
    j = jax.jit(dist.poisson_binomial)(jnp.asarray(p))
    np.testing.assert_allclose(j.masses, d.masses, atol=1e-16)


def test_ten_thousand_laws_of_100_trials_in_one_vmap_call():
    p = jax.random.uniform(jax.random.key(3), (10_000, 100), dtype=jnp.float64)
    f = jax.jit(jax.vmap(lambda q: dist.poisson_binomial(q).sf(49.0)))
    tails = np.asarray(f(p))
    assert tails.shape == (10_000,)
    for i in (0, 4321, 9999):
        want = _recursion(np.asarray(p[i]))[50:].sum()
        np.testing.assert_allclose(tails[i], want, atol=1e-13)
    assert (tails >= 0).all() and (tails <= 1 + 1e-14).all()


def test_gradient_of_upper_tail():
    # d P(S >= s) / d p_i = P(S without trial i = s - 1), exactly.
    rng = np.random.default_rng(7)
    ps = [Fraction(int(k), 89) for k in rng.integers(1, 89, 9)]
    p = jnp.array([float(v) for v in ps])
    s = 4

    upper = jax.jit(lambda q: dist.poisson_binomial(q).sf(s - 1.0))
    g = jax.grad(upper)(p)
    want = [float(_exact(ps[:i] + ps[i + 1 :])[s - 1]) for i in range(9)]
    np.testing.assert_allclose(g, want, atol=1e-12)
    h = 1e-6
    eye = h * jnp.eye(9)
    fd = (jax.vmap(upper)(p + eye) - jax.vmap(upper)(p - eye)) / (2 * h)
    np.testing.assert_allclose(g, fd, rtol=1e-6)
    check_grads(upper, (p,), order=1, modes=("fwd", "rev"))


def test_float32():
    p = np.random.default_rng(8).random(50).astype(np.float32)
    d = dist.poisson_binomial(p)
    assert d.masses.dtype == jnp.float32
    np.testing.assert_allclose(d.masses, _recursion(p.astype(np.float64)), atol=1e-6)
    assert float(jnp.min(d.masses)) >= 0.0


def test_traced_invalid_probability_gives_nan():
    f = jax.jit(lambda q: dist.poisson_binomial(q).cdf(1.0))
    assert np.isfinite(f(jnp.array([0.2, 0.5])))
    assert np.isnan(f(jnp.array([0.2, 1.5])))


@pytest.mark.parametrize(
    "p, kwargs, exc, match",
    [
        (0.5, {}, ValueError, "at least one probability on its last axis"),
        (np.zeros((2, 0)), {}, ValueError, "at least one probability"),
        ([0.2, 1.2], {}, ValueError, r"`p` must be finite and lie in \[0, 1\]"),
        ([0.2, np.nan], {}, ValueError, "`p` must be finite"),
        (["a"], {}, TypeError, "`p` must be"),
        ([0.5], {"accuracy": "exact"}, ValueError, "`accuracy` must be .*got 'exact'"),
    ],
)
def test_errors(p, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        dist.poisson_binomial(p, **kwargs)


def test_gradient_through_a_list_holding_a_tracer():
    # P(S >= 1) = 1 - (1 - p)(1 - 0.25): its derivative in p is 0.75 exactly;
    # float64 sums of two trials: within a few eps (float32: 1e-6).
    def upper(p, accuracy="absolute"):
        return dist.poisson_binomial([p, 0.25], accuracy=accuracy).sf(0)

    assert float(upper(0.3)) == pytest.approx(1 - 0.7 * 0.75, abs=1e-15)
    np.testing.assert_allclose(jax.grad(upper)(0.3), 0.75, atol=1e-14)
    np.testing.assert_allclose(jax.jit(jax.grad(upper))(0.3), 0.75, atol=1e-14)
    g32 = jax.grad(upper)(jnp.float32(0.3))
    assert g32.dtype == jnp.float32  # the tracer's dtype, as `jnp.asarray` gives
    np.testing.assert_allclose(g32, 0.75, atol=1e-6)
    g = jax.grad(lambda p: upper(p, "relative"))(0.3)
    np.testing.assert_allclose(g, 0.75, atol=1e-14)
