"""heat_kernel and diffusion_kernel against scipy and closed forms.

Tolerances (float64 unless stated), stated once:

| quantity | tol | why |
| --- | --- | --- |
| closed forms evaluated directly | rtol 1e-13 | a few ulps of exp/log/erf |
| lattice values (FFT branch) | atol 1e-15 | inverse FFT: eps * peak absolute |
| lattice values (recurrence) | rtol 1e-12 | amplification exp(r^2/s) <= 5 |
| float32 | rtol 1e-5 | float32 eps 1.2e-7 times a few |
| jit / vmap against eager / a loop | rtol 1e-13 | XLA may fuse and reorder ops |
| gradients vs finite differences | check_grads | JAX's default (order 1) |
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.ndimage as ndi
import scipy.special as sp
import scipy.stats as st
from _reference import check_grads
from hypothesis import given
from hypothesis import strategies as hst

from probconv import physics
from probconv.physics import diffusion_kernel, heat_kernel

RTOL = 1e-13
ATOL_FFT = 1e-15


def test_every_public_name_has_a_docstring():
    import probconv.deconv

    for mod in (physics, probconv.deconv):
        for name in mod.__all__:
            assert getattr(mod, name).__doc__, name


def test_heat_kernel_is_the_normal_density():
    rng = np.random.default_rng(0)
    x = rng.normal(size=50) * 3
    for D, t in [(0.3, 2.0), (1.7, 0.01)]:
        ref = st.norm.pdf(x, scale=np.sqrt(2 * D * t))
        # XLA flushes subnormals to zero, hence the tiny atol.
        np.testing.assert_allclose(heat_kernel(x, D, t), ref, rtol=RTOL, atol=1e-300)


def test_heat_kernel_nd_anisotropic():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(20, 3))
    D = np.array([0.2, 1.0, 3.0])
    ref = st.multivariate_normal(np.zeros(3), np.diag(2 * D * 0.7)).pdf(x)
    np.testing.assert_allclose(heat_kernel(x, D, 0.7, ndim=3), ref, rtol=RTOL)


def test_heat_kernel_t0_is_a_delta_and_float32():
    out = heat_kernel(np.array([0.0, 1.0]), 1.0, 0.0)
    assert out.tolist() == [np.inf, 0.0]
    x32 = jnp.linspace(-2, 2, 9, dtype=jnp.float32)
    out = heat_kernel(x32, 0.5, 1.0)
    assert out.dtype == jnp.float32
    np.testing.assert_allclose(out, st.norm.pdf(np.asarray(x32)), rtol=1e-5)


def test_heat_kernel_errors():
    with pytest.raises(ValueError, match="`D` must be non-negative"):
        heat_kernel(0.0, -1.0, 1.0)
    with pytest.raises(ValueError, match="`t` must be finite"):
        heat_kernel(0.0, 1.0, np.inf)
    with pytest.raises(ValueError, match="`x` must hold 2 coordinates"):
        heat_kernel(np.zeros(3), 1.0, 1.0, ndim=2)
    with pytest.raises(ValueError, match="`D` must be a scalar or hold one"):
        heat_kernel(np.zeros((1, 2)), np.ones(3), 1.0, ndim=2)
    with pytest.raises(TypeError, match="`ndim` must be an integer"):
        heat_kernel(0.0, 1.0, 1.0, ndim=1.5)
    with pytest.raises(ValueError, match="`ndim` must be at least 1"):
        heat_kernel(0.0, 1.0, 1.0, ndim=0)
    # Under jit the checks cannot run: NaN.
    assert np.isnan(jax.jit(heat_kernel)(0.5, -1.0, 1.0))


def test_gaussian_kernel_matches_scipy_ndimage():
    for sigma, truncate in [(0.8, 4.0), (2.5, 3.0), (7.0, 4.0)]:
        k = diffusion_kernel(1.0, sigma**2 / 2, 1.0, truncate=truncate)
        r = (k.size - 1) // 2
        assert r == int(truncate * sigma + 0.5)
        delta = np.zeros(2 * r + 1)
        delta[r] = 1.0
        ref = ndi.gaussian_filter1d(delta, sigma, truncate=truncate, mode="constant")
        np.testing.assert_allclose(k, ref, rtol=RTOL, atol=1e-17)


def test_integrated_kernel_is_normal_cell_masses():
    s, r = 2.3, 9
    m = np.arange(-r, r + 1)
    sd = np.sqrt(s)
    # Each tail from its own side, so the reference keeps relative accuracy.
    ref = np.where(
        m > 0,
        st.norm.sf(m - 0.5, scale=sd) - st.norm.sf(m + 0.5, scale=sd),
        st.norm.cdf(m + 0.5, scale=sd) - st.norm.cdf(m - 0.5, scale=sd),
    )
    k = diffusion_kernel(0.5, s * 0.25 / 2, 1.0, radius=r, kind="integrated")
    np.testing.assert_allclose(k, ref / ref.sum(), rtol=RTOL)


def _lattice(s, r):
    from probconv.physics._lattice import lattice_values

    return lattice_values(s, r)


_LATTICE = jax.jit(_lattice, static_argnums=1)


@pytest.mark.parametrize("s", [1e-3, 0.3, 4.0, 60.0, 1e4, 1e6])
def test_lattice_kernel_against_bessel_closed_form(s):
    for r in (0, 1, 7, 150):
        vals = _LATTICE(jnp.float64(s), r)
        ref = sp.ive(np.arange(-r, r + 1), s)
        np.testing.assert_allclose(vals, ref, rtol=1e-12, atol=ATOL_FFT)


def test_lattice_kernel_is_a_semigroup_and_the_sampled_gaussian_is_not():
    def kern(var, kind):
        return np.asarray(diffusion_kernel(1.0, var / 2, 1.0, truncate=25, kind=kind))

    def conv_centre(a, b, r):
        c = np.convolve(a, b)
        mid = c.size // 2
        return c[mid - r : mid + r + 1]

    lat2 = kern(1.28, "lattice")
    lat1 = kern(0.64, "lattice")
    np.testing.assert_allclose(
        conv_centre(lat1, lat1, lat2.size // 2), lat2, atol=ATOL_FFT
    )
    g2 = kern(1.28, "gaussian")
    g1 = kern(0.64, "gaussian")
    gap = np.abs(conv_centre(g1, g1, g2.size // 2) - g2).max()
    assert 1.2e-3 < gap < 1.4e-3  # the figure quoted in the docs


def test_nd_kernel_is_the_outer_product():
    k = diffusion_kernel([1.0, 0.5], [0.3, 0.2], 1.5, radius=(3, 4), kind="lattice")
    assert k.shape == (7, 9)
    a = diffusion_kernel(1.0, 0.3, 1.5, radius=3, kind="lattice")
    b = diffusion_kernel(0.5, 0.2, 1.5, radius=4, kind="lattice")
    np.testing.assert_allclose(k, np.outer(a, b), rtol=RTOL)
    assert abs(float(k.sum()) - 1) < 1e-14


@pytest.mark.parametrize("kind", ["gaussian", "integrated", "lattice"])
def test_kernel_jit_vmap_grad(kind):
    def f(D, t):
        return diffusion_kernel(1.0, D, t, radius=6, kind=kind)

    jf = jax.jit(f)
    np.testing.assert_allclose(jf(0.4, 1.3), f(0.4, 1.3), rtol=RTOL)
    ts = jnp.array([0.5, 1.0, 2.0])
    batched = jax.vmap(lambda t: jf(0.4, t))(ts)
    for i, t in enumerate(ts):
        np.testing.assert_allclose(batched[i], f(0.4, t), rtol=RTOL)
    check_grads(jf, (0.4, 1.3), order=1, modes=["fwd", "rev"])


def test_kernel_float32():
    k = diffusion_kernel(jnp.float32(1.0), jnp.float32(0.7), jnp.float32(1.0))
    assert k.dtype == jnp.float32
    k64 = diffusion_kernel(1.0, 0.7, 1.0)
    np.testing.assert_allclose(k, k64, rtol=1e-5, atol=1e-7)


def test_kernel_errors():
    with pytest.raises(ValueError, match="`kind` must be one of"):
        diffusion_kernel(1.0, 1.0, 1.0, kind="box")
    with pytest.raises(ValueError, match="`step` must be positive"):
        diffusion_kernel(0.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="`D` must be non-negative"):
        diffusion_kernel(1.0, -1.0, 1.0)
    with pytest.raises(ValueError, match="`truncate` must be non-negative"):
        diffusion_kernel(1.0, 1.0, 1.0, truncate=-1.0)
    with pytest.raises(ValueError, match="`radius` must be one integer or one per"):
        diffusion_kernel(1.0, 1.0, 1.0, radius=(1, 2))
    with pytest.raises(ValueError, match="`radius` must be at least 0"):
        diffusion_kernel(1.0, 1.0, 1.0, radius=-1)
    with pytest.raises(TypeError, match="`radius` must be an integer"):
        diffusion_kernel(1.0, 1.0, 1.0, radius=2.5)
    with pytest.raises(ValueError, match="`D` and `step` must be scalars or 1-D"):
        diffusion_kernel([1.0, 1.0], [1.0, 1.0, 1.0], 1.0)
    with pytest.raises(ValueError, match="`radius` must be given when"):
        jax.jit(lambda t: diffusion_kernel(1.0, 1.0, t))(1.0)
    out = jax.jit(lambda D: diffusion_kernel(1.0, D, 1.0, radius=2))(-1.0)
    assert np.isnan(out).all()


@given(
    var=hst.floats(0.0, 400.0),
    r=hst.sampled_from([0, 5]),
    kind=hst.sampled_from(["gaussian", "integrated", "lattice"]),
)
def test_kernel_invariants(var, r, kind):
    k = np.asarray(diffusion_kernel(1.0, var / 2, 1.0, radius=r, kind=kind))
    assert k.shape == (2 * r + 1,)
    assert (k >= 0).all()
    assert abs(k.sum() - 1) < 1e-13
    np.testing.assert_allclose(k, k[::-1], atol=1e-16)
    assert k[r] == k.max()
