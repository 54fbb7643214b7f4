"""The layers' compiled programs live in the engine's bounded cache (issue 14).

A module-level ``jax.jit`` keeps one executable per shape it ever saw; the
layers' jitted kernels use `probconv.conv.internal.bounded_jit` instead, so a
process that calls them on any number of shapes keeps at most
`set_max_programs` programs, and a program dropped from the bound is released
(its closure is garbage collected with the executable JAX keyed on it).
"""

import gc
import weakref

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats
import statsmodels.tsa.stattools as st

import probconv
from probconv import distributions as dist
from probconv import similarity as sim
from probconv.conv import _programs, set_max_programs
from probconv.conv.internal import bounded_jit


@pytest.fixture
def bound():
    """Set a small bound for the test and restore the old one after it."""
    olds = []

    def set_(n):
        olds.append(set_max_programs(n))

    yield set_
    set_max_programs(olds[0])


def test_layer_loop_over_sizes_keeps_the_bound(bound):
    bound(3)
    rng = np.random.default_rng(0)
    for n in range(40, 52):
        x = rng.standard_normal(n)
        got = sim.acf(x, 5)
        np.testing.assert_allclose(np.asarray(got), st.acf(x, nlags=5), atol=1e-12)
        assert len(_programs.PROGRAMS) <= 3


def test_a_dropped_program_is_released(bound):
    bound(2)

    @bounded_jit(static_argnums=1)
    def scale(x, k):
        return x * k

    scale(jnp.ones(3), 2)
    (closure,) = [
        f for key, f in _programs.PROGRAMS._items.items() if key[0] is scale.__wrapped__
    ]
    ref = weakref.ref(closure)
    del closure
    for n in (4, 5):  # two new signatures push the first one out
        scale(jnp.ones(n), 2)
    gc.collect()
    assert ref() is None


def test_signature_semantics(count_compiles):
    @bounded_jit(static_argnames="mode")
    def f(x, pair, mode="sum"):
        a, b = pair["a"], pair["b"]
        return (x + a * b) if mode == "sum" else (x * a * b)

    x = np.arange(4.0)
    pair = {"a": jnp.float64(2.0), "b": 3.0}
    np.testing.assert_allclose(f(x, pair), x + 6)
    np.testing.assert_allclose(f(x, pair, mode="prod"), x * 6)
    np.testing.assert_allclose(f(x, pair, "prod"), x * 6)  # static by position too
    with count_compiles() as compiles:
        for v in (4.0, 5.0, 6.0):  # values are traced, not baked in
            np.testing.assert_allclose(f(x, {"a": jnp.float64(v), "b": 3.0}), x + 3 * v)
    assert compiles == []
    # Inside the caller's jit the closure is traced into the caller's program
    g = jax.jit(jax.grad(lambda a: f(x, {"a": a, "b": 3.0}).sum()))
    assert float(g(1.0)) == pytest.approx(12.0)
    # and under an eager transformation it runs as one program, not one per
    # operation (a new value compiles nothing)
    h = jax.grad(lambda a: f(x, {"a": a, "b": 3.0}).sum())
    assert float(h(1.0)) == pytest.approx(12.0)
    with count_compiles() as compiles:
        assert float(h(2.0)) == pytest.approx(12.0)
        v = jax.vmap(lambda a: f(x, {"a": a, "b": 3.0}, mode="prod"))(jnp.ones(5))
    np.testing.assert_allclose(v, np.broadcast_to(x * 3, (5, 4)))
    assert len(compiles) <= 1, compiles  # the vmapped program


def test_layers_under_the_users_transformations():
    x = np.random.default_rng(1).standard_normal((3, 64))
    eager = sim.acf(x, 4)
    np.testing.assert_allclose(jax.jit(lambda v: sim.acf(v, 4))(x), eager, atol=1e-12)
    np.testing.assert_allclose(jax.vmap(lambda v: sim.acf(v, 4))(x), eager, atol=1e-12)
    u = probconv.diffuse(np.eye(1, 40, 20)[0], 0.5, 2.0)
    assert float(u.sum()) == pytest.approx(1.0)


def test_relative_sums_keep_the_bound(bound, count_compiles):
    # Relative mode's stages are bounded programs too: a relative sum
    # compiles no program that the bounded cache did not build, so a loop over
    # sizes never holds more than the bound (here fewer than one call's
    # stages: each call rebuilds what it needs, with the same values).
    bound(2)
    for n in (30, 31):
        builds = _programs.PROGRAMS.builds
        with count_compiles() as compiles:
            got = dist.add(
                dist.binomial(n, 0.3), dist.binomial(5, 0.5), accuracy="relative"
            )
        # (a build traced into another program compiles nothing of its own)
        assert 0 < len(compiles) <= _programs.PROGRAMS.builds - builds
        assert len(_programs.PROGRAMS) <= 2
        k = np.arange(n + 1)
        exact = np.convolve(
            scipy.stats.binom.pmf(k, n, 0.3),
            scipy.stats.binom.pmf(np.arange(6), 5, 0.5),
        )
        np.testing.assert_allclose(np.exp(got.log_masses), exact, rtol=1e-12)
