"""The free particle, split-operator steps and position probabilities.

Tolerances (float64 unless stated), stated once:

| comparison | tol | why |
| --- | --- | --- |
| propagator, Schrodinger residual | rtol 1e-10 | 2nd derivatives by autodiff |
| evolve_free vs the analytic packet | atol 1e-12 | FFT rounding; band limit |
| norm after evolution | 1e-12 | unitary factors, FFT rounding |
| propagator convolution by quadrature | 1e-8 | grid's discretization (3e-17 seen) |
| split operator vs coherent state | O(dt^2) | Strang splitting; order tested |
| position moments | 1e-10 | grid sums of a resolved Gaussian |
| cdf / ppf of the density law | atol step^2 | histogram's linear interpolation |
| float32 | atol 1e-5 | float32 FFT rounding |
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats as st
from _reference import check_grads

from probconv.physics import (
    evolve_free,
    evolve_split,
    free_particle_propagator,
    position_probability,
)

N, L = 1024, 160.0
H = L / N
X = (np.arange(N) - N // 2) * H


def packet(x, x0, p0, s0, t=0.0, m=1.0, hbar=1.0):
    """The exact free Gaussian packet (Griffiths' convention)."""
    st_ = s0 * (1 + 1j * hbar * t / (2 * m * s0**2))
    k0 = p0 / hbar
    v = p0 / m
    return (
        (2 * np.pi) ** -0.25
        / np.sqrt(st_)
        * np.exp(
            -((x - x0 - v * t) ** 2) / (4 * s0 * st_)
            + 1j * k0 * (x - x0)
            - 1j * hbar * k0**2 * t / (2 * m)
        )
    )


def test_propagator_closed_form_and_schrodinger_equation():
    x = np.linspace(-3, 3, 13)
    m, hbar = 2.0, 0.7
    for t in (0.4, -1.3):
        k = free_particle_propagator(x, t, mass=m, hbar=hbar)
        ref = np.sqrt(m / (2j * np.pi * hbar * t)) * np.exp(
            1j * m * x**2 / (2 * hbar * t)
        )
        np.testing.assert_allclose(k, ref, rtol=1e-13)

    def re_im(x, t):
        v = free_particle_propagator(x, t, mass=m, hbar=hbar)
        return jnp.stack([v.real, v.imag])

    # jitted: one program each (eager jacfwd compiles one per operation)
    d_t = jax.jit(jax.jacfwd(re_im, argnums=1))
    d_xx = jax.jit(jax.jacfwd(jax.jacfwd(re_im, argnums=0), argnums=0))
    for xv, tv in [(0.3, 0.8), (-1.1, 2.0)]:
        dt = d_t(xv, tv)
        dxx = d_xx(xv, tv)
        lhs = 1j * hbar * (dt[0] + 1j * dt[1])
        rhs = -(hbar**2) / (2 * m) * (dxx[0] + 1j * dxx[1])
        np.testing.assert_allclose(lhs, rhs, rtol=1e-10)


def test_propagator_nd_and_errors():
    x = np.array([[0.3, -0.5], [1.0, 2.0]])
    k2 = free_particle_propagator(x, 0.9, ndim=2)
    ref = free_particle_propagator(x[:, 0], 0.9) * free_particle_propagator(
        x[:, 1], 0.9
    )
    np.testing.assert_allclose(k2, ref, rtol=1e-13)
    with pytest.raises(ValueError, match="`mass` must be positive"):
        free_particle_propagator(0.0, 1.0, mass=0.0)
    with pytest.raises(ValueError, match="`hbar` must be positive"):
        free_particle_propagator(0.0, 1.0, hbar=-1.0)
    with pytest.raises(ValueError, match="`t` must be finite"):
        free_particle_propagator(0.0, np.nan)
    with pytest.raises(ValueError, match="`x` must hold 2 coordinates"):
        free_particle_propagator(np.zeros(3), 1.0, ndim=2)


@pytest.mark.parametrize("m, hbar", [(1.0, 1.0), (2.5, 0.6)])
def test_gaussian_packet_width_centre_and_norm(m, hbar):
    s0, x0, p0 = 1.5, -30.0, 1.2
    psi0 = packet(X, x0, p0, s0, m=m, hbar=hbar)
    for t in (0.0, 7.0, 15.0):  # the packet stays 9 widths from the edges
        psi = np.asarray(evolve_free(psi0, t, step=H, mass=m, hbar=hbar))
        np.testing.assert_allclose(
            psi, packet(X, x0, p0, s0, t, m=m, hbar=hbar), atol=1e-12
        )
        prob = np.abs(psi) ** 2 * H
        assert abs(prob.sum() - 1) < 1e-12
        mean = (X * prob).sum()
        width = np.sqrt(((X - mean) ** 2 * prob).sum())
        assert abs(mean - (x0 + p0 / m * t)) < 1e-10
        sig_t = s0 * np.sqrt(1 + (hbar * t / (2 * m * s0**2)) ** 2)
        assert abs(width - sig_t) < 1e-10


def test_evolution_is_the_propagator_convolution():
    # The integral of K(x_j - y) psi_0(y) over [-15, 15] (psi_0 below 1e-48
    # outside), by composite Gauss-Legendre in float64: 600 panels of 20
    # nodes, about 40 nodes per period of K's fastest oscillation (|x - y|
    # <= 22 here: 20 rad per unit of y), so the rule errs far below 1e-12.
    # K is evaluated at all the nodes in one call (scipy's quad took one
    # eager call per node: thousands).
    s0, x0, p0, t = 1.0, 0.0, 0.8, 1.1
    psi = np.asarray(evolve_free(packet(X, x0, p0, s0), t, step=H))
    u, wu = np.polynomial.legendre.leggauss(20)
    edges = np.linspace(-15.0, 15.0, 601)
    half = np.diff(edges)[:, None] / 2
    y = ((edges[:-1, None] + edges[1:, None]) / 2 + half * u).ravel()
    wy = (half * wu).ravel()
    for j in (N // 2 - 40, N // 2 + 3):
        k = np.asarray(free_particle_propagator(X[j] - y, t))
        want = np.sum(wy * k * packet(y, x0, p0, s0))
        assert abs(psi[j] - want) < 1e-8


def test_time_reversal_2d_batch_and_float32():
    rng = np.random.default_rng(0)
    psi = rng.normal(size=(2, 32, 48)) + 1j * rng.normal(size=(2, 32, 48))
    fwd = evolve_free(psi, 3.0, step=(0.5, 0.25), axes=(1, 2))
    back = evolve_free(fwd, -3.0, step=(0.5, 0.25), axes=(1, 2))
    np.testing.assert_allclose(back, psi, atol=1e-12)
    norms = np.sum(np.abs(np.asarray(fwd)) ** 2, axis=(1, 2))
    np.testing.assert_allclose(norms, np.sum(np.abs(psi) ** 2, axis=(1, 2)), rtol=1e-13)
    one = evolve_free(psi[1], 3.0, step=(0.5, 0.25))
    np.testing.assert_allclose(fwd[1], one, atol=1e-13)
    p32 = packet(X, 0.0, 1.0, 2.0).astype(np.complex64)
    out32 = evolve_free(p32, 4.0, step=np.float32(H))
    assert out32.dtype == jnp.complex64
    np.testing.assert_allclose(out32, packet(X, 0.0, 1.0, 2.0, 4.0), atol=1e-5)


def test_jit_vmap_and_grad_in_t():
    psi0 = jnp.asarray(packet(X, 0.0, 0.5, 1.0))

    @jax.jit
    def spread(t, m):
        p = jnp.abs(evolve_free(psi0, t, step=H, mass=m)) ** 2 * H
        mean = jnp.sum(X * p)
        return jnp.sum((X - mean) ** 2 * p)

    ts = jnp.array([0.0, 1.0, 3.0])
    vals = jax.vmap(spread, in_axes=(0, None))(ts, 1.0)
    for i, t in enumerate(ts):
        # sigma(t)^2 = 1 + t^2 / 4 for s0 = 1, m = hbar = 1
        assert abs(float(vals[i]) - (1 + float(t) ** 2 / 4)) < 1e-10
    g = jax.grad(spread)(2.0, 1.0)
    assert abs(float(g) - 1.0) < 1e-9  # d/dt (1 + t^2/4) = t/2
    check_grads(spread, (2.0, 1.3), order=1, modes=["fwd", "rev"])


def test_evolve_errors():
    psi = np.ones(8, complex)
    with pytest.raises(ValueError, match="`step` must be positive"):
        evolve_free(psi, 1.0, step=0.0)
    with pytest.raises(ValueError, match="`t` must be a scalar"):
        evolve_free(psi, [1.0, 2.0], step=1.0)
    with pytest.raises(ValueError, match="`psi` must not be empty"):
        evolve_free(np.ones(0), 1.0, step=1.0)
    with pytest.raises(TypeError, match="`psi` must be a numeric array"):
        evolve_free(np.array(["x"]), 1.0, step=1.0)
    with pytest.raises(ValueError, match="`step` must be a scalar or hold one"):
        evolve_free(psi, 1.0, step=[1.0, 1.0])
    with pytest.raises(ValueError, match="`steps` must be at least 1"):
        evolve_split(psi, np.zeros(8), 1.0, step=1.0, steps=0)
    with pytest.raises(TypeError, match="`steps` must be an integer"):
        evolve_split(psi, np.zeros(8), 1.0, step=1.0, steps=2.0)
    with pytest.raises(TypeError, match="`potential` must be real"):
        evolve_split(psi, np.zeros(8, complex), 1.0, step=1.0, steps=2)
    with pytest.raises(ValueError, match="`potential` must broadcast to the shape"):
        evolve_split(psi, np.zeros(5), 1.0, step=1.0, steps=2)
    assert np.isnan(
        jax.jit(lambda m: evolve_free(psi, 1.0, step=1.0, mass=m))(-1.0)
    ).all()


def test_split_operator_is_exact_without_potential_and_second_order():
    psi = packet(X, 5.0, -1.0, 2.0)
    a = evolve_split(psi, np.zeros(N), 6.0, step=H, steps=7)
    np.testing.assert_allclose(a, evolve_free(psi, 6.0, step=H), atol=1e-13)
    # Coherent state of the oscillator V = x^2/2 (omega = m = hbar = 1):
    # |psi|^2 is N(3 cos t, 1/2) at every t.
    n, length = 256, 24.0
    x = (np.arange(n) - n // 2) * (length / n)
    h = length / n
    psi0 = np.pi**-0.25 * np.exp(-((x - 3.0) ** 2) / 2)
    t = 2.0
    ref = st.norm.pdf(x, 3.0 * np.cos(t), np.sqrt(0.5)) * h
    errs = []
    for steps in (40, 80):
        out = np.asarray(evolve_split(psi0, x**2 / 2, t, step=h, steps=steps))
        prob = np.abs(out) ** 2 * h
        assert abs(prob.sum() - 1) < 1e-12
        errs.append(np.abs(prob - ref).max())
    assert errs[1] < 1e-3
    assert 3.6 < errs[0] / errs[1] < 4.4  # second order in dt


def test_position_probability_is_a_density_distribution():
    s0 = 1.5
    psi = packet(X, 2.0, 0.7, s0)
    origin = float(X[0])
    P = position_probability(psi, step=H, origin=origin)
    assert P.kind == "density" and P.step == H
    np.testing.assert_allclose(P.masses, np.abs(psi) ** 2 * H, atol=1e-15)
    assert abs(float(P.mean()) - 2.0) < 1e-10
    assert abs(float(P.var()) - s0**2) < 1e-10
    # Through a detector of resolution 0.8: variance s0^2 + 0.8^2, and the
    # cdf of N(2, s0^2 + 0.64) up to the histogram's linear interpolation.
    Q = position_probability(3.0 * psi, step=H, origin=origin, resolution=0.8)
    sd = np.sqrt(s0**2 + 0.64)
    assert abs(float(Q.var()) - sd**2) < 1e-10
    np.testing.assert_allclose(Q.ppf(0.5), 2.0, atol=H**2)
    q = np.array([-1.0, 2.0, 4.0])
    np.testing.assert_allclose(Q.cdf(q), st.norm.cdf(q, 2.0, sd), atol=H**2)
    assert float(Q.truncated) < 1e-14


def test_position_probability_truncation_batch_jit_and_errors():
    x = np.linspace(0, 10, 200, endpoint=False)
    psi = np.exp(-((x - 0.5) ** 2) / 2)  # near the grid's left edge
    P = position_probability(psi, step=0.05, resolution=1.0)
    assert 0.2 < float(P.truncated) < 0.5
    assert abs(float(P.masses.sum() + P.truncated) - 1) < 1e-13
    batch = position_probability(np.stack([psi, psi[::-1]]), step=0.05, resolution=1.0)
    np.testing.assert_allclose(batch.masses[0], P.masses, atol=1e-15)

    @jax.jit
    def mean(r):
        return position_probability(psi, step=0.05, resolution=r).mean()

    np.testing.assert_allclose(
        mean(0.3),
        position_probability(psi, step=0.05, resolution=0.3).mean(),
        rtol=1e-12,
    )
    with pytest.raises(ValueError, match="`step` must be positive"):
        position_probability(psi, step=-1.0)
    with pytest.raises(ValueError, match="`resolution` must be non-negative"):
        position_probability(psi, step=1.0, resolution=-1.0)
    with pytest.raises(ValueError, match="`psi` must have a position axis"):
        position_probability(np.array(1.0), step=1.0)


def test_position_probability_compiles_one_program_per_signature(count_compiles):
    rng = np.random.default_rng(7)
    psi = rng.standard_normal(96) + 1j * rng.standard_normal(96)
    P = position_probability(psi, step=0.1, origin=-2.0, resolution=0.4)
    other = rng.standard_normal(96) + 1j * rng.standard_normal(96)
    with count_compiles() as events:  # new values of every traced argument
        Q = position_probability(other, step=0.1, origin=1.5, resolution=0.7)
    assert len(events) == 0, events
    with count_compiles() as events:  # a new length: its one program
        R = position_probability(other[:80], step=0.1, origin=1.5, resolution=0.7)
    assert len(events) == 1, events
    # The same masses as the formula: |psi|^2 normalized, blurred on the grid.
    g = np.exp(-0.5 * (np.arange(-95, 96) * 0.1 / 0.7) ** 2)
    g /= np.exp(-0.5 * (np.arange(-4000, 4001) * 0.1 / 0.7) ** 2).sum()
    p = np.abs(other) ** 2 / np.sum(np.abs(other) ** 2)
    ref = np.convolve(p, g)[95 : 95 + 96]
    np.testing.assert_allclose(Q.masses, ref, atol=1e-15)
    assert float(P.origin) == -2.0 and float(Q.origin) == 1.5
    assert R.masses.shape == (80,)
    for bad in (np.zeros(8), np.array([1.0, np.nan, 2.0])):
        with pytest.raises(ValueError, match="`psi` must be finite and not zero"):
            position_probability(bad, step=1.0)
