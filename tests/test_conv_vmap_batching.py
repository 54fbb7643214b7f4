"""The engine sees the batches that jax.vmap adds around a jitted call.

The direct method is a primitive whose batching rule re-plans with the
mapped axis explicit: no grouped convolution for inputs mapped on both
sides, values equal to NumPy's, and derivatives (forward and reverse, under
vmap and around it) that keep working.
"""

from __future__ import annotations

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from probconv.conv import convolve, correlate


def _reference(a, v):
    """Row-by-row float64 NumPy convolution (rows of `v` broadcast)."""
    v = np.broadcast_to(v, (len(a), v.shape[-1]))
    return np.stack([np.convolve(x, y) for x, y in zip(a, v)])


def _groups(fn, *args) -> list[int]:
    """Feature group counts of the convolutions in the lowered program."""
    text = jax.jit(fn).lower(*args).as_text()
    return [int(g) for g in re.findall(r"feature_group_count\s*=\s*(\d+)", text)]


@jax.jit
def _auto(x, y):
    return convolve(x, y)


@jax.jit
def _direct(x, y):
    return convolve(x, y, method="direct")


@pytest.mark.parametrize("kernel", [7, 64])
def test_vmap_of_jit_both_mapped_equals_numpy(kernel):
    rng = np.random.default_rng(0)
    a, v = rng.random((6, 300)), rng.random((6, kernel))
    for fn in (jax.vmap(_auto), jax.vmap(_direct), jax.vmap(convolve)):
        np.testing.assert_allclose(fn(a, v), _reference(a, v), rtol=1e-12, atol=1e-13)


def test_vmap_of_jit_has_no_grouped_convolution():
    # 1025 by 64 points: the unbatched plan is direct (one XLA convolution);
    # mapped on both sides, vmap made it a grouped convolution before.
    rng = np.random.default_rng(1)
    a, v = rng.random((8, 1025)), rng.random((8, 64))
    assert _groups(jax.vmap(_auto), a, v) == []
    # A short kernel is summed as shifted copies even when direct is asked.
    a, v = rng.random((8, 200)), rng.random((8, 9))
    assert _groups(jax.vmap(_direct), a, v) == []
    # One side mapped: the batch is folded into the convolution's batch.
    assert all(g == 1 for g in _groups(jax.vmap(_auto, (0, None)), a, v[0]))
    np.testing.assert_allclose(
        jax.vmap(_auto, (0, None))(a, v[0]), _reference(a, v[:1]), rtol=1e-12
    )


def test_nested_vmap_both_mapped():
    rng = np.random.default_rng(2)
    a, v = rng.random((2, 3, 100)), rng.random((2, 3, 40))
    out = jax.vmap(jax.vmap(_direct))(a, v)
    ref = _reference(a.reshape(6, 100), v.reshape(6, 40)).reshape(2, 3, -1)
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-13)


def test_large_mapped_batch_of_short_laws():
    # 10**4 pairs of 9-point laws: shifted copies, not a 10**4-group
    # convolution (which ran out of memory).
    rng = np.random.default_rng(3)
    a, v = rng.random((10**4, 9)), rng.random((10**4, 9))
    out = jax.vmap(_auto)(a, v)
    np.testing.assert_allclose(out[:50], _reference(a[:50], v[:50]), rtol=1e-12)
    assert out.shape == (10**4, 17)


def test_gradients_through_vmap_of_jit():
    rng = np.random.default_rng(4)
    a, v = rng.random((3, 12)), rng.random((3, 5))

    @jax.jit
    def same(x, y):
        return convolve(x, y, "same", method="direct")

    # (The unbatched jitted call's gradients, order 2: test_conv.py's
    # test_jit_vmap_and_grad[direct], the same program.)
    check_grads(jax.vmap(same), (a, v), order=2, modes=("fwd", "rev"))

    def loss(x, y):
        return jnp.sum(same(x, y) ** 2)

    # vmap of grad, and grad of vmap.
    check_grads(jax.vmap(jax.grad(loss)), (a, v), order=1, modes=("fwd", "rev"))
    check_grads(
        lambda x, y: jnp.sum(jax.vmap(same)(x, y) ** 2),
        (a, v),
        order=2,
        modes=("fwd", "rev"),
    )


def test_gradients_of_windows_broadcasts_and_complex():
    rng = np.random.default_rng(5)
    a, v = rng.random((3, 12)), rng.random((1, 5))
    check_grads(
        jax.jit(lambda x, y: convolve(x, y, axes=-1, method="direct")),
        (a, v),
        order=2,
        modes=("fwd", "rev"),
    )
    check_grads(
        jax.jit(lambda x, y: convolve(x, y, "valid", method="direct")),
        (rng.random((6, 7)), rng.random((3, 2))),
        order=1,
        modes=("fwd", "rev"),
    )
    lag = jax.jit(lambda x, y: correlate(x, y, maxlag=3, method="direct"))
    z = a + 1j * rng.random((3, 12))
    check_grads(jax.vmap(lag), (z, v.repeat(3, 0)), order=1, modes=("fwd", "rev"))


def test_gradient_equals_correlation():
    # The transpose of convolving by v is correlating with v.
    rng = np.random.default_rng(6)
    a, v, w = rng.random(20), rng.random(6), rng.random(25)
    g = jax.grad(lambda x: jnp.vdot(w, _direct(x, v)))(a)
    np.testing.assert_allclose(g, np.correlate(w, v, "valid"), rtol=1e-12)
