"""diffuse against analytic solutions and the matrix exponential.

Tolerances (float64 unless stated), stated once:

| comparison | tol | why |
| --- | --- | --- |
| gaussian kind vs closed forms | atol 1e-12 * peak | FFT rounding; aliasing < 1e-19 |
| lattice kind vs expm of the FV matrix | atol 1e-13 | expm and FFT rounding |
| mass conservation / reported loss | 1e-13 * mass | sums of n values |
| float32 vs float64 | atol 1e-5 * peak | float32 FFT: eps * log n |
| jit / vmap vs eager / loop | rtol 1e-12 | XLA reorders |
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg
import scipy.special as sp
from _reference import check_grads
from hypothesis import given
from hypothesis import strategies as hst

from probconv.physics import diffuse

TOL = 1e-12
BOUNDARIES = ["free", "periodic", "reflect", "absorb"]


def gauss(x, mu, var):
    return np.exp(-((x - mu) ** 2) / (2 * var)) / np.sqrt(2 * np.pi * var)


def images(x, mu, var, L, boundary):
    """Sum of the images of a Gaussian on [0, L] (periodic or reflecting)."""
    q = np.arange(-20, 21)[:, None]
    if boundary == "periodic":
        return gauss(x, mu + q * L, var).sum(0)
    return (gauss(x, mu + 2 * q * L, var) + gauss(x, -mu + 2 * q * L, var)).sum(0)


def grid(n, h):
    return (np.arange(n) + 0.5) * h  # cell centres of [0, n h]


@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_gaussian_stays_gaussian_with_variance_sigma2_plus_2Dt(boundary):
    n, h = 200, 0.1
    x = grid(n, h)
    mu, var0, D, t = 10.0, 0.25, 0.3, 0.5  # far from the walls
    out = diffuse(gauss(x, mu, var0), D, t, step=h, boundary=boundary)
    ref = gauss(x, mu, var0 + 2 * D * t)
    np.testing.assert_allclose(out, ref, atol=TOL * ref.max())


def test_periodic_wraps_with_the_periodized_gaussian():
    n, h = 100, 0.1
    L = n * h
    x = grid(n, h)
    u0 = sum(gauss(x, 2.0 + q * L, 0.09) for q in range(-3, 4))
    D, t = 0.8, 2.0  # sigma(t) = 1.8 > L / 6: strong wrap-around
    out = diffuse(u0, D, t, step=h, boundary="periodic")
    ref = sum(gauss(x, 2.0 + q * L, 0.09 + 2 * D * t) for q in range(-8, 9))
    np.testing.assert_allclose(out, ref, atol=TOL * ref.max())
    assert abs(float(out.sum() - u0.sum())) < 1e-13 * u0.sum()


@pytest.mark.parametrize("t", [0.2, 3.0, 400.0])
def test_point_source_between_reflecting_walls_is_the_image_sum(t):
    n, h, D = 64, 0.125, 0.5
    L = n * h
    x = grid(n, h)
    j0 = 11
    u0 = np.zeros(n)
    u0[j0] = 1.0 / h  # unit mass in one cell
    out = diffuse(u0, D, t, step=h, boundary="reflect")
    x0 = x[j0]
    var = 2 * D * t
    q = np.arange(-60, 61)[:, None]
    ref = (gauss(x, x0 + 2 * q * L, var) + gauss(x, -x0 + 2 * q * L, var)).sum(0)
    np.testing.assert_allclose(out, ref, atol=TOL * ref.max())
    assert abs(float(out.sum() * h) - 1.0) < 1e-13


@pytest.mark.parametrize("t", [0.05, 1.0, 30.0])
def test_absorbing_walls_follow_the_sine_series_and_report_the_loss(t):
    n, h, D = 80, 0.05, 0.7
    L = n * h
    x = grid(n, h)
    modes = {1: 1.0, 3: 0.4, 7: -0.2}
    u0 = sum(a * np.sin(k * np.pi * x / L) for k, a in modes.items())
    out, lost = diffuse(u0, D, t, step=h, boundary="absorb", full_output=True)
    ref = sum(
        a * np.exp(-D * (k * np.pi / L) ** 2 * t) * np.sin(k * np.pi * x / L)
        for k, a in modes.items()
    )
    np.testing.assert_allclose(out, ref, atol=TOL * np.abs(u0).max())
    ref_lost = (u0.sum() - ref.sum()) * h
    assert abs(float(lost) - ref_lost) < 1e-13 * np.abs(u0).sum() * h


def _fv_laplacian(n, boundary):
    A = -2 * np.eye(n) + np.eye(n, k=1) + np.eye(n, k=-1)
    if boundary == "periodic":
        A[0, -1] = A[-1, 0] = 1
    elif boundary == "reflect":
        A[0, 0] = A[-1, -1] = -1
    elif boundary == "absorb":
        A[0, 0] = A[-1, -1] = -3  # ghost cell -u at the face
    return A


@pytest.mark.parametrize("boundary", BOUNDARIES)
@pytest.mark.parametrize("t", [0.3, 50.0])
def test_lattice_kind_is_the_exact_semi_discrete_solution(boundary, t):
    rng = np.random.default_rng(3)
    n, h, D = 12, 0.5, 0.7
    u0 = rng.random(n)
    out = diffuse(u0, D, t, step=h, boundary=boundary, kind="lattice")
    if boundary == "free":
        # The infinite lattice: the Bessel kernel, or expm on a wide domain.
        s = 2 * D * t / h**2
        k = sp.ive(np.arange(-(n - 1), n), s)
        ref = np.convolve(u0, k)[n - 1 : 2 * n - 1]
        if t < 1:
            pad = 60
            big = np.zeros(n + 2 * pad)
            big[pad : pad + n] = u0
            A = _fv_laplacian(n + 2 * pad, "absorb")
            ref2 = (scipy.linalg.expm(t * D / h**2 * A) @ big)[pad : pad + n]
            np.testing.assert_allclose(ref, ref2, atol=1e-13)
    else:
        A = _fv_laplacian(n, boundary)
        ref = scipy.linalg.expm(t * D / h**2 * A) @ u0
    np.testing.assert_allclose(out, ref, atol=1e-13)


def test_long_times_free_window_sees_the_flat_kernel():
    rng = np.random.default_rng(4)
    n, h, D, t = 30, 1.0, 2.0, 1e7
    u0 = rng.random(n)
    x = np.arange(-(n - 1), n) * h
    kernels = {
        "gaussian": gauss(x, 0.0, 2 * D * t) * h,
        "lattice": sp.ive(np.arange(-(n - 1), n), 2 * D * t / h**2),
    }
    for kind, k in kernels.items():
        out = diffuse(u0, D, t, step=h, kind=kind)
        ref = np.convolve(u0, k)[n - 1 : 2 * n - 1]
        np.testing.assert_allclose(out, ref, rtol=1e-12)
    for boundary in ["periodic", "reflect"]:
        out = diffuse(u0, D, t, step=h, boundary=boundary)
        np.testing.assert_allclose(out, np.full(n, u0.mean()), rtol=1e-13)
    out, lost = diffuse(u0, D, t, step=h, boundary="absorb", full_output=True)
    assert np.abs(out).max() < 1e-300 or np.abs(out).max() < 1e-12
    np.testing.assert_allclose(lost, u0.sum(), rtol=1e-13)


def test_anisotropic_2d_with_mixed_boundaries():
    n0, n1, h = (48, 64, 0.2)
    x0, x1 = grid(n0, h), grid(n1, h)
    var0 = 0.3
    D = np.array([0.2, 0.9])
    u = gauss(x0, 4.8, var0)[:, None] * gauss(x1, 6.4, var0)[None, :]
    t = 0.4
    out = diffuse(u, D, t, step=h, boundary=("periodic", "free"))
    L0 = n0 * h
    ref = images(x0, 4.8, var0 + 2 * D[0] * t, L0, "periodic")[:, None] * gauss(
        x1, 6.4, var0 + 2 * D[1] * t
    )
    u = images(x0, 4.8, var0, L0, "periodic")[:, None] * gauss(x1, 6.4, var0)[None, :]
    out = diffuse(u, D, t, step=h, boundary=("periodic", "free"))
    np.testing.assert_allclose(out, ref, atol=TOL * ref.max())
    # Per-axis steps: the same field on a grid twice as fine along axis 1.
    h2 = np.array([h, h / 2])
    x1b = grid(2 * n1, h / 2)
    L1 = n1 * h

    def field(var_a, var_b):
        a = images(x0, 4.8, var_a, L0, "reflect")
        return a[:, None] * images(x1b, 6.4, var_b, L1, "reflect")[None, :]

    out2 = diffuse(field(var0, var0), D, t, step=h2, boundary="reflect")
    ref2 = field(var0 + 2 * D[0] * t, var0 + 2 * D[1] * t)
    np.testing.assert_allclose(out2, ref2, atol=TOL * ref2.max())


@pytest.mark.parametrize("boundary", ["free", "periodic"])
def test_drift_shifts_the_kernel(boundary):
    n, h = 200, 0.1
    x = grid(n, h)
    D, t, v = 0.3, 0.5, -1.7
    out = diffuse(gauss(x, 10.0, 0.25), D, t, step=h, boundary=boundary, drift=v)
    ref = gauss(x, 10.0 + v * t, 0.25 + 2 * D * t)
    np.testing.assert_allclose(out, ref, atol=TOL * ref.max())


def test_batch_axes_complex_and_float32():
    rng = np.random.default_rng(5)
    u = rng.random((3, 40))
    out = diffuse(u, 0.5, 2.0, axes=1, boundary="reflect")
    for i in range(3):
        np.testing.assert_allclose(
            out[i], diffuse(u[i], 0.5, 2.0, boundary="reflect"), rtol=1e-13
        )
    z = u[0] + 1j * u[1]
    outz = diffuse(z, 0.5, 2.0, boundary="periodic")
    ref = diffuse(u[0], 0.5, 2.0, boundary="periodic") + 1j * diffuse(
        u[1], 0.5, 2.0, boundary="periodic"
    )
    np.testing.assert_allclose(outz, ref, atol=1e-14)
    for boundary in BOUNDARIES:
        o32 = diffuse(u.astype(np.float32), 0.5, 2.0, boundary=boundary, axes=1)
        assert o32.dtype == jnp.float32
        o64 = diffuse(u, 0.5, 2.0, boundary=boundary, axes=1)
        np.testing.assert_allclose(o32, o64, atol=1e-5 * u.max())


@pytest.mark.parametrize(
    "boundary, kind",
    [
        ("free", "gaussian"),
        ("free", "lattice"),
        ("periodic", "gaussian"),
        ("reflect", "lattice"),
        ("absorb", "gaussian"),
    ],
)
def test_jit_vmap_and_grad_in_D_and_t(boundary, kind):
    rng = np.random.default_rng(6)
    u = jnp.asarray(rng.random(24))
    w = jnp.asarray(rng.normal(size=24))

    @jax.jit
    def f(D, t):
        return diffuse(u, D, t, step=0.5, boundary=boundary, kind=kind)

    np.testing.assert_allclose(
        f(0.7, 0.3),
        diffuse(u, 0.7, 0.3, step=0.5, boundary=boundary, kind=kind),
        rtol=1e-12,
        atol=1e-15,
    )
    Ds, ts = jnp.array([0.1, 0.7, 2.0]), jnp.array([0.05, 0.3, 9.0])
    batched = jax.vmap(f)(Ds, ts)
    for i in range(3):
        np.testing.assert_allclose(batched[i], f(Ds[i], ts[i]), rtol=1e-12, atol=1e-15)

    def loss(D, t):
        return jnp.sum(w * f(D, t))

    for args in [(0.7, 0.3), (0.05, 40.0)]:
        check_grads(loss, args, order=1, modes=["fwd", "rev"])


def test_errors():
    u = np.ones(8)
    with pytest.raises(ValueError, match="`boundary` must be one of"):
        diffuse(u, 1.0, 1.0, boundary="open")
    with pytest.raises(ValueError, match="`boundary` must be one name or one per"):
        diffuse(u, 1.0, 1.0, boundary=("free", "free"))
    with pytest.raises(ValueError, match="`kind` must be one of"):
        diffuse(u, 1.0, 1.0, kind="sampled")
    with pytest.raises(ValueError, match="`drift` requires kind='gaussian'"):
        diffuse(u, 1.0, 1.0, kind="lattice", drift=1.0)
    with pytest.raises(ValueError, match="`drift` is only supported with the"):
        diffuse(u, 1.0, 1.0, boundary="reflect", drift=1.0)
    with pytest.raises(ValueError, match="`drift` must be finite"):
        diffuse(u, 1.0, 1.0, drift=np.nan)
    with pytest.raises(ValueError, match="`D` must be non-negative"):
        diffuse(u, -1.0, 1.0)
    with pytest.raises(ValueError, match="`t` must be non-negative"):
        diffuse(u, 1.0, -1.0)
    with pytest.raises(ValueError, match="`t` must be a scalar"):
        diffuse(u, 1.0, [1.0, 2.0])
    with pytest.raises(ValueError, match="`step` must be positive"):
        diffuse(u, 1.0, 1.0, step=0.0)
    with pytest.raises(ValueError, match="`D` must be a scalar or hold one value"):
        diffuse(u, [1.0, 2.0], 1.0)
    with pytest.raises(ValueError, match="`u` must not be empty"):
        diffuse(np.ones(0), 1.0, 1.0)
    with pytest.raises(TypeError, match="`u` must be a numeric array"):
        diffuse(np.array(["a"]), 1.0, 1.0)
    with pytest.raises(ValueError, match="`axes` must not repeat"):
        diffuse(np.ones((2, 2)), 1.0, 1.0, axes=(0, -2))
    with pytest.raises(TypeError, match="`axes` must hold integers"):
        diffuse(u, 1.0, 1.0, axes=0.5)
    out = jax.jit(lambda D: diffuse(u, D, 1.0))(-1.0)
    assert np.isnan(out).all()


@given(
    n=hst.sampled_from([5, 16]),
    t1=hst.floats(0.0, 30.0),
    t2=hst.floats(0.0, 30.0),
    boundary=hst.sampled_from(BOUNDARIES),
    seed=hst.integers(0, 2**16),
)
def test_lattice_semigroup_positivity_and_mass(n, t1, t2, boundary, seed):
    u = np.random.default_rng(seed).random(n)
    b = diffuse(u, 0.4, t1 + t2, boundary=boundary, kind="lattice")
    if boundary != "free":  # a window of free space loses what leaves it
        a = diffuse(u, 0.4, t1, boundary=boundary, kind="lattice")
        a = diffuse(a, 0.4, t2, boundary=boundary, kind="lattice")
        np.testing.assert_allclose(a, b, atol=1e-13)
    assert (np.asarray(b) >= -1e-15).all()
    if boundary in ("periodic", "reflect"):
        assert abs(float(b.sum()) - u.sum()) < 1e-13 * n
    else:
        assert float(b.sum()) <= u.sum() + 1e-13 * n


def test_split_halo_block_convolved_in_pieces():
    """A split axis's extended block, convolved in pieces (`_valid_pieces`).

    Against NumPy's float64 'valid' convolution: each output is the same
    sum of 2R + 1 products as in one piece, by the engine's transform
    method of the piece, so the pieces agree to that method's rounding
    (a few eps of the sum of |terms|: 1e-13 of the largest output).
    Shards of 1,024 with R = 128 (the cost model's FFT: 8 pieces of 128
    outputs), 2-D along either axis.
    """
    from probconv.conv import choose_method
    from probconv.physics._split import _valid_pieces

    rng = np.random.default_rng(4)
    radius, size = 128, 1024
    ext = rng.standard_normal((3, size + 2 * radius))
    taps = rng.standard_normal(2 * radius + 1)
    method = choose_method(
        jax.ShapeDtypeStruct((size + 2 * radius,), np.float64),
        jax.ShapeDtypeStruct(taps.shape, np.float64),
        "valid",
    )
    if jax.default_backend() == "cpu":  # (the CPU's cost model; a GPU's differs)
        assert method == "fft"
    ref = np.stack([np.convolve(row, taps, "valid") for row in ext])
    got = _valid_pieces(jnp.asarray(ext), jnp.asarray(taps)[None], 1, radius)
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-13 * abs(ref).max())
    got = _valid_pieces(jnp.asarray(ext.T), jnp.asarray(taps)[:, None], 0, radius)
    np.testing.assert_allclose(got, ref.T, rtol=0, atol=1e-13 * abs(ref).max())


def test_cut_multiplier_is_the_cut_kernels_transform():
    """`_cut_multiplier` against the direct sum in float64.

    ``H(k) = sum_{|m| < n} K_m e^{-i pi k m / n}`` (period ``2 n``) at
    every ``k``, for the lattice kernel (``scipy.special.ive``) and the
    sampled Gaussian (normalized over Z by a direct sum), from a
    near-identity kernel to ones far wider than the axis (where the cut
    matters: the folded kernel's transform would differ by O(1)). Both
    sides are sums of terms of at most 1 whose absolute values add to at
    most 1; 1e-13 absolute covers their rounding and the quadrature's
    (measured: below 7e-15). Gradients in ``s`` by `check_grads`.
    """
    import scipy.special

    from probconv.physics._split import _cut_multiplier

    n = 40
    k = np.arange(-n, n)
    m = np.arange(-(n - 1), n)
    j = np.arange(-60000, 60001)  # past 18 sigma of s = 1e7
    phase = np.cos(np.pi * k[:, None] * m / n)
    cut = jax.jit(_cut_multiplier, static_argnums=(1, 2, 3))
    for s in (0.0, 0.3, 30.0, 1e4, 1e7):
        if s == 0:
            gauss = (m == 0).astype(float)
        else:
            gauss = np.exp(-(m**2) / (2 * s)) / np.exp(-(j**2) / (2 * s)).sum()
        got = cut(jnp.asarray(k), 2 * n, n, "gaussian", jnp.float64(s))
        np.testing.assert_allclose(got, phase @ gauss, rtol=0, atol=1e-13)
        walk = scipy.special.ive(np.abs(m), s)
        got = cut(jnp.asarray(k), 2 * n, n, "lattice", jnp.float64(s))
        np.testing.assert_allclose(got, phase @ walk, rtol=0, atol=1e-13)

    def lattice(s):
        return _cut_multiplier(jnp.asarray(k), 2 * n, n, "lattice", s)

    check_grads(lattice, (2e3,), order=1, modes=["fwd", "rev"])


def test_window_multiplier_is_the_cut_kernels_transform():
    """`_window_multiplier` against the direct sum in float64.

    ``h(k) = sum_{|m| < n} K_m cos(pi k m / n)`` at ``k = r + M1 k2`` and
    ``h(n - k)``, for a narrow kernel and one far wider than the axis
    (where the cut matters: the folded kernel's transform would differ by
    O(1)); shifted by ``a`` cells, the complex ``H(k) = sum_{|m| < n} K_m
    e^{-i pi k m / n}`` and ``H(k + n)``. Both are sums of ``2n - 1`` terms
    of at most 1, so 1e-13 absolute covers their rounding. Gradients in
    ``s`` and the shift by `check_grads`.
    """
    from probconv.conv.internal import SplitLayout
    from probconv.physics._split import _window_multiplier

    n, rows, cols = 96, 12, 8  # n = rows * cols
    lay = SplitLayout(4, 24, 24, 1, rows, cols, True)
    r = np.arange(7)
    m = np.arange(-(n - 1), n)
    k = r[:, None] + rows * np.arange(cols)
    fold = jax.jit(_window_multiplier, static_argnums=(3, 4))
    for s in (3.0, 1e6):
        # normalized over Z: sqrt(2 pi s) (1 + 2 e^{-2 pi^2 s} + ...), Poisson
        norm = np.sqrt(2 * np.pi * s) * (1 + 2 * np.exp(-2 * np.pi**2 * s))
        kern = np.exp(-(m**2) / (2 * s)) / norm
        h = np.cos(np.pi * k[..., None] * m / n) @ kern
        back = np.cos(np.pi * (n - k)[..., None] * m / n) @ kern
        got = np.asarray(fold(jnp.float64(s), None, jnp.asarray(r), lay, np.float64))
        np.testing.assert_allclose(got[:, :cols], h, rtol=0, atol=1e-13)
        np.testing.assert_allclose(got[:, cols:], back, rtol=0, atol=1e-13)
    for s, a in ((3.0, 2.6), (1e6, -75.5)):
        z = -((m - a) ** 2) / (2 * s)
        j = np.arange(-20000, 20001)  # past 20 sigma of s = 1e6
        kern = np.exp(z) / np.exp(-((j - a) ** 2) / (2 * s)).sum()
        h = np.exp(-1j * np.pi * k[..., None] * m / n) @ kern
        back = np.exp(-1j * np.pi * (k + n)[..., None] * m / n) @ kern
        got = np.asarray(
            fold(jnp.float64(s), jnp.float64(a), jnp.asarray(r), lay, np.float64)
        )
        np.testing.assert_allclose(got[:, :cols], h, rtol=0, atol=1e-13)
        np.testing.assert_allclose(got[:, cols:], back, rtol=0, atol=1e-13)

    def real_sum(s, a):  # a real function of the complex multiplier
        h = _window_multiplier(s, a, jnp.asarray(r), lay, np.float64)
        return jnp.sum(h.real * np.cos(np.arange(2 * cols)) + h.imag)

    check_grads(real_sum, (2e3, 13.7), order=1, modes=["fwd", "rev"])


def test_cut_multiplier_with_the_nodes_a_known_s_needs():
    """The window's quadrature with `cut_nodes` for a known `s`, against the
    direct sum ``sum_{|m| < n} K_m cos(pi k m / n)`` in float64 (scipy's
    `ive` for the lattice kernel, the normalized Gaussian): the aliases of
    the trapezoidal rule clear the window and the kernel, so the fewer
    nodes keep it within 1e-13 absolute (sums of ``2n - 1`` terms of at
    most 1). Wide kernels take far fewer than `_CUT_NODES`.
    """
    from probconv.physics._split import _CUT_NODES, _cut_multiplier, cut_nodes

    n = 300
    k = np.arange(0, 2 * n, 7)
    m = np.arange(-(n - 1), n)
    j = np.arange(-600000, 600001)  # past 18 sigma of s = 1e9
    phase = np.cos(np.pi * k[:, None] * m / n)
    cut = jax.jit(_cut_multiplier, static_argnums=(1, 2, 3, 5))
    for s in (3.0, 2e3, 1e5, 1e9):
        walk = sp.ive(np.abs(m), s)
        gauss = np.exp(-(m**2) / (2 * s)) / np.exp(-(j**2) / (2 * s)).sum()
        for kind, ref in (("lattice", phase @ walk), ("gaussian", phase @ gauss)):
            nodes = cut_nodes(kind, s, n)
            got = cut(jnp.asarray(k), 2 * n, n, kind, jnp.float64(s), nodes)
            np.testing.assert_allclose(got, ref, rtol=0, atol=1e-13)
    assert cut_nodes("lattice", 1e9, n) <= _CUT_NODES["lattice"] // 4
    assert cut_nodes("gaussian", 1e9, n) <= _CUT_NODES["gaussian"] // 2


@pytest.mark.parametrize("kind", ["gaussian", "lattice"])
def test_narrow_kernels_by_their_first_images_match_the_transforms(kind):
    # Concrete D and t: a kernel whose 1e-20 radius R has 2R + 1 <= n / 4
    # is convolved on |m| <= R with the field's first images padded at its
    # ends; traced t (under jit) takes the transforms, exact at any width.
    # The two agree to the dropped tail (4e-20) and the FFTs' rounding:
    # 1e-13 of max|u|.
    from probconv.physics._diffuse import _narrow_radii

    rng = np.random.default_rng(3)
    u = rng.random((24, 301))
    u[:, 150] += 50.0  # a spike: values far below it must stay >= 0
    cases = [("free", None), ("reflect", None), ("absorb", None), ("free", 0.8)]
    for boundary, drift in cases:
        kw = dict(boundary=boundary, kind=kind, axes=-1)
        if drift is not None:
            if kind == "lattice":
                continue
            kw["drift"] = drift
        assert _narrow_radii(u, (1,), (boundary,), kind, 0.5, 3.0, 1.0, drift)
        near = np.asarray(diffuse(u, 0.5, 3.0, **kw))
        far = np.asarray(jax.jit(lambda v, t, kw=kw: diffuse(v, 0.5, t, **kw))(u, 3.0))
        np.testing.assert_allclose(near, far, rtol=0, atol=1e-13 * 51.0)
        assert near.min() >= 0.0
        if boundary == "reflect":  # conserved to rounding
            np.testing.assert_allclose(near.sum(-1), u.sum(-1), rtol=1e-13)
    # 2-D, a wall and free space: both axes narrow.
    v = rng.random((129, 130))
    kw = dict(boundary=("reflect", "free"), kind=kind)
    near = np.asarray(diffuse(v, [0.5, 0.2], 2.0, **kw))
    far = np.asarray(jax.jit(lambda w, t: diffuse(w, [0.5, 0.2], t, **kw))(v, 2.0))
    np.testing.assert_allclose(near, far, rtol=0, atol=1e-13)
    # Periodic axes, and kernels too wide for the axis, keep the transforms.
    assert _narrow_radii(u, (1,), ("periodic",), kind, 0.5, 3.0, 1.0, None) is None
    assert _narrow_radii(u, (1,), ("reflect",), kind, 0.5, 3e3, 1.0, None) is None
    assert _narrow_radii(u, (1,), ("reflect",), kind, jnp.asarray(0.5), 3.0, 1.0, None)


def test_cut_multiplier_of_a_shifted_kernel():
    """`_cut_multiplier` with a shift (a drifting Gaussian's window on the
    cyclic layout), against the direct sum in float64.

    ``H(k) = sum_{|m| < n} K_m e^{-i pi k m / n}`` with ``K_m`` the
    Gaussian centred at ``a`` and normalized over Z (a direct sum), its
    phases from ``k m`` reduced modulo ``2 n`` exactly: shifts inside the
    window, at its edge (half the kernel cut), past it (``H = 0`` to
    e^-50), a near-identity kernel and ones far wider than the window,
    with the static nodes and with `cut_nodes` for the known ``s`` and
    ``a``. Sums of ``2n - 1`` terms of at most 1 whose absolute values add
    to at most 1: 1e-13 absolute covers their rounding (measured 2e-15).
    Gradients in ``s`` and the shift by `check_grads`.
    """
    from probconv.physics._split import _cut_multiplier, cut_nodes

    n = 150
    k = np.arange(0, n + 1, 3)
    m = np.arange(-(n - 1), n)
    turn = np.exp(-2j * np.pi * ((k[:, None] * m) % (2 * n)) / (2 * n))
    cut = jax.jit(_cut_multiplier, static_argnums=(1, 2, 3, 5))
    for s, a in [(0.3, 0.4), (40.0, -7.3), (40.0, 148.6), (1e3, -170.0),
                 (1e3, 60.25), (1e5, -90.5), (1e8, 1000.5), (3.0, 400.5)]:
        j = np.arange(np.floor(a - 30 * np.sqrt(s) - 30), a + 30 * np.sqrt(s) + 30)
        top = (-((j - a) ** 2) / (2 * s)).max()
        norm = np.exp(-((j - a) ** 2) / (2 * s) - top).sum()
        ref = turn @ (np.exp(-((m - a) ** 2) / (2 * s) - top) / norm)
        for nodes in (None, cut_nodes("gaussian", s, n, a)):
            got = cut(jnp.asarray(k), 2 * n, n, "gaussian", jnp.float64(s), nodes,
                      jnp.float64(a))
            np.testing.assert_allclose(got, ref, rtol=0, atol=1e-13)

    def real_sum(s, a):  # a real function of the complex multiplier
        h = _cut_multiplier(jnp.asarray(k), 2 * n, n, "gaussian", s, None, a)
        return jnp.sum(h.real * np.cos(k / 7.0) + h.imag)

    check_grads(real_sum, (2e3, 13.7), order=1, modes=["fwd", "rev"])
