"""Never negative (issue 15): a non-negative field diffuses to a non-negative
field, and |psi|^2 through a detector is a non-negative law.

Tolerances (float64), stated once:

| comparison | tol | why |
| --- | --- | --- |
| mass, 'periodic' and 'reflect' | 1e-12 * sum(u) | rescaled to sum(u) |
| clipped vs unclipped (signed parts) | 1e-15 * max | clipping moves only round-off |
| numpy (host check) vs JAX array vs jit | exact | the same clipped values |
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as hst

from probconv.physics import diffuse, diffusion_kernel, position_probability

BOUNDARIES = ["free", "periodic", "reflect", "absorb"]
SHAPES = [(16,), (33,), (6, 9)]


def make_field(shape, kind, seed):
    r = np.random.default_rng(seed)
    if kind == "delta":  # true density far below eps * max away from the spike
        u = np.zeros(shape)
        u[tuple(r.integers(0, n) for n in shape)] = 1.0
    elif kind == "range":  # huge dynamic range: entries from 1e-300 to 1
        u = r.random(shape) * 10.0 ** r.uniform(-300, 0, shape)
    else:
        u = r.random(shape)
    return u


@given(
    shape=hst.sampled_from(SHAPES),
    field=hst.sampled_from(["delta", "range", "random"]),
    boundary=hst.sampled_from(BOUNDARIES),
    kind=hst.sampled_from(["gaussian", "lattice"]),
    D=hst.floats(0.0, 3.0),
    t=hst.floats(0.0, 20.0),
    as_jax=hst.booleans(),
    seed=hst.integers(0, 2**16),
)
def test_nonnegative_field_stays_nonnegative_and_keeps_its_mass(
    shape, field, boundary, kind, D, t, as_jax, seed
):
    u = make_field(shape, field, seed)
    arg = jnp.asarray(u) if as_jax else u
    out = np.asarray(diffuse(arg, D, t, boundary=boundary, kind=kind))
    assert out.min() >= 0.0
    if boundary in ("periodic", "reflect"):
        assert abs(out.sum() - u.sum()) <= 1e-12 * u.sum()
    else:  # mass leaves: never more than there was
        assert out.sum() <= u.sum() * (1 + 1e-12)


def test_issue_example_reflect_far_tail_is_not_negative():
    # the density 100 cells from a narrow source is ~1e-80; round-off gave -8e-18
    u = np.zeros(128)
    u[0] = 1.0
    out = diffuse(u, 1.0, 2.0, boundary="reflect")
    assert float(out.min()) >= 0.0
    assert abs(float(out.sum()) - 1.0) <= 1e-15
    # the source and its image in the wall at -1/2 (farther images < 1e-300);
    # the sampled kernel's normalization differs from 1 by ~e^{-2 pi^2 s}
    x = np.arange(128.0)
    exact = (np.exp(-(x**2) / 8) + np.exp(-((x + 1) ** 2) / 8)) / np.sqrt(8 * np.pi)
    np.testing.assert_allclose(out, exact, rtol=0, atol=1e-15)


def test_mixed_boundaries_conserve_only_if_every_axis_does():
    u = make_field((6, 9), "delta", 3)
    both = diffuse(u, 1.0, 3.0, boundary=["reflect", "periodic"])
    assert float(both.min()) >= 0 and abs(float(both.sum()) - 1.0) <= 1e-12
    leaky = diffuse(u, 1.0, 3.0, boundary=["reflect", "absorb"])
    assert float(leaky.min()) >= 0 and float(leaky.sum()) < 1.0


def test_host_check_jax_arrays_and_jit_agree():
    u = make_field((2, 33), "delta", 1)
    f = jax.jit(lambda v: diffuse(v, 0.7, 4.0, boundary="reflect", axes=1))
    host = diffuse(u, 0.7, 4.0, boundary="reflect", axes=1)
    device = diffuse(jnp.asarray(u), 0.7, 4.0, boundary="reflect", axes=1)
    np.testing.assert_array_equal(host, device)
    np.testing.assert_array_equal(host, f(jnp.asarray(u)))
    assert float(f(jnp.asarray(u)).min()) >= 0


@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_signed_input_is_not_clipped(boundary):
    u = np.zeros(33)
    u[10], u[12] = 1.0, -1.0  # a dipole: the exact result is negative on one side
    out = np.asarray(diffuse(u, 0.5, 2.0, boundary=boundary))
    assert out.min() < -1e-3
    # linearity: the signed result is the difference of the two parts' raw
    # results; the parts alone are clipped, which moves only round-off
    pos = np.asarray(diffuse(np.maximum(u, 0), 0.5, 2.0, boundary=boundary))
    neg = np.asarray(diffuse(np.maximum(-u, 0), 0.5, 2.0, boundary=boundary))
    np.testing.assert_allclose(out, pos - neg, rtol=0, atol=1e-15)
    # in a batch, each row is judged alone: the signed row is left as it is
    batch = np.stack([u, np.maximum(u, 0)])
    for arg in (batch, jnp.asarray(batch)):
        b = np.asarray(diffuse(arg, 0.5, 2.0, boundary=boundary, axes=1))
        np.testing.assert_array_equal(b[0], out)
        np.testing.assert_array_equal(b[1], pos)
    jitted = jax.jit(lambda v: diffuse(v, 0.5, 2.0, boundary=boundary))
    np.testing.assert_array_equal(jitted(jnp.asarray(u)), out)


def test_complex_field_is_not_clipped():
    u = np.zeros(16, complex)
    u[3] = 1.0
    out = diffuse(u, 1.0, 2.0, boundary="reflect")
    assert out.dtype == jnp.complex128
    assert float(jnp.abs(out).sum()) > 0


@given(
    n=hst.sampled_from([16, 40]),
    resolution=hst.floats(0.0, 3.0),
    seed=hst.integers(0, 2**16),
)
def test_position_probability_is_never_negative(n, resolution, seed):
    r = np.random.default_rng(seed)
    psi = np.zeros(n, complex)
    psi[r.integers(0, n)] = r.standard_normal() + 1j  # a spike: far tails ~0
    psi += 1e-200 * r.standard_normal(n)
    law = position_probability(psi, step=0.1, resolution=resolution)
    assert float(law.masses.min()) >= 0.0
    assert float(law.truncated) >= 0.0
    assert abs(float(law.masses.sum() + law.truncated) - 1.0) <= 1e-12


@pytest.mark.parametrize("kind", ["gaussian", "integrated", "lattice"])
@pytest.mark.parametrize("t", [0.01, 1.0, 500.0])
def test_diffusion_kernels_are_never_negative(kind, t):
    k = diffusion_kernel(1.0, 1.0, t, radius=30, kind=kind)
    assert float(k.min()) >= 0.0
    assert abs(float(k.sum()) - 1.0) <= 1e-13
