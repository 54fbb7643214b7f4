"""probconv.smooth.kde, kde_dist and kde_bandwidth.

Tolerances, stated once (density units; test densities peak near 0.4):

| comparison                          | tol        | why                            |
| ----------------------------------- | ---------- | ------------------------------ |
| same binned estimator, NumPy sum    | 1e-12      | FFT rounding only              |
| KDEpy FFTKDE, compact kernels       | 1e-12      | same binning, same kernel      |
| KDEpy FFTKDE, Gaussian              | 1e-4       | KDEpy drops kernel < 1e-4      |
| exact Gaussian KDE, delta/h = 0.04  | 2e-5       | binning ~ delta^2 f''/8        |
| statsmodels KDEUnivariate(fft=True) | 1e-4       | its FFT period b - a for M     |
|                                     |            | points (b-a)/(M-1) apart: bw   |
|                                     |            | off by M/(M-1)                 |
| scipy gaussian_kde, 2-D, 128^2      | 4e-3 * max | 2-D binning (measured 2e-3)    |
| bandwidths vs statsmodels           | 1e-12 rel  | same formulas                  |
| ISJ vs KDEpy (range >= 12)          | 1e-6 rel   | KDEpy's brentq xtol=2e-12 in t |
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _reference import check_grads
from hypothesis import given
from hypothesis import strategies as st
from KDEpy import FFTKDE
from KDEpy.bw_selection import improved_sheather_jones
from scipy.stats import gaussian_kde
from statsmodels.nonparametric.bandwidths import bw_scott, bw_silverman
from statsmodels.nonparametric.kde import KDEUnivariate

from probconv.smooth import kde, kde_bandwidth, kde_dist

KDEPY_NAMES = {
    "epanechnikov": "epa",
    "tophat": "box",
    "triangular": "tri",
    "biweight": "biweight",
    "triweight": "triweight",
    "cosine": "cosine",
}


@pytest.fixture(scope="module")
def sample():
    rng = np.random.default_rng(11)
    return np.concatenate([rng.normal(0, 1, 1400), rng.normal(3, 0.4, 600)])


def binned_reference(x, grid, bw, w=None):
    """Linear binning in NumPy, then the direct sum of Gaussians."""
    w = np.ones_like(x) if w is None else np.asarray(w, float)
    w = w / w.sum()
    d = grid[1] - grid[0]
    u = (x - grid[0]) / d
    j = np.floor(u).astype(int)
    f = u - j
    c = np.zeros(grid.size)
    np.add.at(c, j, w * (1 - f))
    np.add.at(c, j + 1, w * f)
    lag = (grid[:, None] - grid[None, :]) / bw
    return (np.exp(-0.5 * lag**2) / (bw * np.sqrt(2 * np.pi))) @ c


def test_matches_direct_binned_sum_and_exact_kde(sample):
    g = np.linspace(-5, 6, 1101)
    _, dens = kde(sample, bandwidth=0.25, grid=g)
    np.testing.assert_allclose(dens, binned_reference(sample, g, 0.25), atol=1e-12)
    exact = np.exp(-0.5 * ((g[:, None] - sample) / 0.25) ** 2).sum(1)
    exact /= sample.size * 0.25 * np.sqrt(2 * np.pi)
    np.testing.assert_allclose(dens, exact, atol=2e-5)


def test_many_samples_binned_in_chunks():
    """Past 65,536 samples the binning runs a chunk at a time (loop and rest).

    Weighted samples against NumPy's linear binning and direct sum; in 2-D
    the counts against NumPy's corner weights; the compiled program's
    scratch is the grid and a chunk, below the samples' size.
    """
    from probconv.smooth._split import binned

    rng = np.random.default_rng(5)
    n = 2 * 65536 + 123
    x = rng.normal(0, 1, n)
    w = rng.uniform(0.5, 2.0, n)
    g = np.linspace(-5, 5, 512)
    _, dens = kde(x, bandwidth=0.2, grid=g, weights=w)
    np.testing.assert_allclose(dens, binned_reference(x, g, 0.2, w), atol=1e-12)

    pts = rng.uniform(0, 1, (n, 2))
    # jitted: called eagerly, the chunk loop's operations compile one by one
    # (45 programs, 4 s); kde above runs the same chunked path in 1-D
    counts = jax.jit(binned, static_argnums=(2, 3, 4, 5))(
        jnp.asarray(pts), jnp.asarray(w), (0.0, 0.0), (1 / 31, 1 / 31), (32, 32), ()
    )
    u = pts * 31
    j = np.floor(u).astype(int)
    f = u - j
    ref = np.zeros((32, 32))
    for a in (0, 1):
        for b in (0, 1):
            wa = f[:, 0] if a else 1 - f[:, 0]
            wb = f[:, 1] if b else 1 - f[:, 1]
            np.add.at(ref, (j[:, 0] + a, j[:, 1] + b), w * wa * wb)
    np.testing.assert_allclose(counts, ref, rtol=1e-12, atol=1e-12 * ref.max())

    # Scratch: the chunk's corner weights and indices (a few arrays of
    # 65,536) and the grid, against 2**20 samples (8 MB); the whole KDE adds
    # one array of the samples' size (their unit weights). One scatter over
    # all samples held 2.5 times their size, the KDE 3.5 times.
    xs = jnp.asarray(rng.normal(0, 1, 1 << 20))
    ws = jnp.ones(xs.size)
    b = jax.jit(lambda v, u: binned(v[:, None], u, (-5.0,), (0.01,), (1000,), ()))
    c = b.lower(xs, ws).compile()
    assert c.memory_analysis().temp_size_in_bytes < 0.5 * xs.nbytes
    c = jax.jit(lambda v: kde(v, bandwidth=0.2, grid=4096)[1]).lower(xs).compile()
    assert c.memory_analysis().temp_size_in_bytes < 1.5 * xs.nbytes


@pytest.mark.parametrize("kernel", list(KDEPY_NAMES))
def test_compact_kernels_match_kdepy(sample, kernel):
    g = np.linspace(-5, 6, 1024)
    ref = FFTKDE(kernel=KDEPY_NAMES[kernel], bw=0.3).fit(sample).evaluate(g)
    _, dens = kde(sample, bandwidth=0.3, grid=g, kernel=kernel)
    np.testing.assert_allclose(dens, ref, atol=1e-12)


def test_gaussian_matches_kdepy_and_weights(sample):
    g = np.linspace(-5, 6, 1024)
    w = np.random.default_rng(1).uniform(0.2, 2.0, sample.size)
    ref = FFTKDE(bw=0.3).fit(sample, weights=w).evaluate(g)
    _, dens = kde(sample, bandwidth=0.3, grid=g, weights=w)
    np.testing.assert_allclose(dens, ref, atol=1e-4)
    np.testing.assert_allclose(dens, binned_reference(sample, g, 0.3, w), atol=1e-12)


def test_matches_statsmodels_fft(sample):
    k = KDEUnivariate(sample)
    k.fit(bw=0.3, fft=True, gridsize=1024, cut=3)
    _, dens = kde(sample, bandwidth=0.3, grid=k.support)
    np.testing.assert_allclose(dens, k.density, atol=1e-4)


def test_never_circular_unlike_statsmodels():
    # Mass piled at the right end: a circular FFT wraps it to the left edge.
    x = np.concatenate([np.zeros(10), np.full(990, 10.0)])
    k = KDEUnivariate(x)
    k.fit(bw=1.0, fft=True, gridsize=256, cut=0.5)
    _, dens = kde(x, bandwidth=1.0, grid=k.support)
    direct = np.exp(-0.5 * (k.support[:, None] - x) ** 2).sum(1)
    direct /= x.size * np.sqrt(2 * np.pi)
    np.testing.assert_allclose(dens, direct, atol=2e-3)
    assert abs(k.density[0] - direct[0]) > 0.05  # statsmodels' wrap-around


def test_reflection_at_bounds():
    rng = np.random.default_rng(2)
    x = rng.exponential(1.0, 4000)
    g, dens = kde(x, bandwidth=0.1, bounds=(0, None), grid=2048)
    step = float(g[1] - g[0])
    assert float(g[0]) == pytest.approx(0.5 * step)
    assert float(dens.sum()) * step == pytest.approx(1.0, abs=1e-6)
    # Reflection formula, summed directly: f(x) + f(-x).
    gg = np.asarray(g)
    refl = (
        np.exp(-0.5 * ((gg[:, None] - x) / 0.1) ** 2)
        + np.exp(-0.5 * ((gg[:, None] + x) / 0.1) ** 2)
    ).sum(1)
    refl /= x.size * 0.1 * np.sqrt(2 * np.pi)
    np.testing.assert_allclose(dens, refl, atol=2e-3)
    assert float(dens[0]) > 0.8  # the true density at 0 is 1; unreflected ~0.5
    u = rng.uniform(0, 1, 3000)
    g, dens = kde(u, bandwidth=0.05, bounds=(0.0, 1.0), grid=500)
    assert float(dens.sum()) * 0.002 == pytest.approx(1.0, abs=1e-9)
    assert 0.9 < float(dens[0]) < 1.1 and 0.9 < float(dens[-1]) < 1.1


def test_reflection_is_once_about_each_bound_for_wide_kernels():
    # A kernel wider than the interval: each sample and its one image about
    # each bound (the reflection estimator), not ndimage's repeated images.
    rng = np.random.default_rng(7)
    x = rng.uniform(1.0, 1.8, 300)
    a, b, h = 1.0, 2.0, 0.7
    g, dens = kde(x, bandwidth=h, bounds=(a, b), grid=500)
    gg = np.asarray(g)[:, None]
    refl = sum(np.exp(-0.5 * ((gg - c) / h) ** 2) for c in (x, 2 * a - x, 2 * b - x))
    refl = refl.sum(1) / (x.size * h * np.sqrt(2 * np.pi))
    np.testing.assert_allclose(dens, refl, atol=1e-4)


def test_2d_matches_scipy_gaussian_kde():
    rng = np.random.default_rng(3)
    y = rng.normal(size=(400, 2)) @ np.array([[1.0, 0.6], [0.0, 0.8]])
    w = rng.uniform(0.5, 1.5, 400)
    (g1, g2), dens = kde(y, grid=128, weights=w)
    ref_kde = gaussian_kde(y.T, weights=w)
    pts = np.stack(np.meshgrid(np.asarray(g1), np.asarray(g2), indexing="ij"))
    ref = ref_kde(pts.reshape(2, -1)).reshape(128, 128)
    np.testing.assert_allclose(dens, ref, atol=4e-3 * ref.max())
    # Per-axis bandwidths on explicit grids: the same binned estimator in NumPy.
    # Under jax.jit: the eager 2-D estimate runs op by op (one program per
    # operation, about 60 here); the call above covers the eager path.
    g1, g2 = np.linspace(-6, 6, 121), np.linspace(-5, 5, 101)
    _, dens = jax.jit(lambda v: kde(v, bandwidth=[0.3, 0.2], grid=(g1, g2)))(y)
    c = np.zeros((121, 101))
    u, v = (y[:, 0] - g1[0]) / 0.1, (y[:, 1] - g2[0]) / 0.1
    i, j = np.floor(u).astype(int), np.floor(v).astype(int)
    fu, fv = u - i, v - j
    for di, wi in ((0, 1 - fu), (1, fu)):
        for dj, wj in ((0, 1 - fv), (1, fv)):
            np.add.at(c, (i + di, j + dj), wi * wj / len(y))
    k1 = np.exp(-0.5 * ((g1[:, None] - g1) / 0.3) ** 2) / (0.3 * np.sqrt(2 * np.pi))
    k2 = np.exp(-0.5 * ((g2[:, None] - g2) / 0.2) ** 2) / (0.2 * np.sqrt(2 * np.pi))
    np.testing.assert_allclose(dens, k1 @ c @ k2.T, atol=1e-12)


def test_bandwidth_rules_match_statsmodels(sample):
    assert float(kde_bandwidth(sample, "scott")) == pytest.approx(
        bw_scott(sample), 1e-12
    )
    assert float(kde_bandwidth(sample, "silverman")) == pytest.approx(
        bw_silverman(sample), 1e-12
    )
    w = np.random.default_rng(4).integers(1, 4, sample.size)
    rep = np.repeat(sample, w)  # integer weights = repeated samples, up to n
    scale_w = float(kde_bandwidth(sample, "scott", weights=w))
    neff = w.sum() ** 2 / (w**2).sum()
    assert scale_w == pytest.approx(bw_scott(rep) * (rep.size / neff) ** 0.2, rel=2e-2)


def test_isj_matches_kdepy_and_is_equivariant(sample):
    x = 6.0 * sample  # data range >= 12: KDEpy's relative padding applies
    ours = float(kde_bandwidth(x, "isj"))
    # Same t*; Botev's code rescales by the grid width (twice the data range
    # with this padding), KDEpy by the data range (KDEpy issue 199).
    assert ours == pytest.approx(2 * improved_sheather_jones(x[:, None]), rel=1e-6)
    for scale in (1e-4, 1e-2, 1e3):
        assert float(kde_bandwidth(scale * x, "isj")) == pytest.approx(
            scale * ours, rel=1e-9
        )
    assert float(kde_bandwidth(x + 1e3, "isj")) == pytest.approx(ours, rel=1e-9)
    # KDEpy is not equivariant below a range of 12 (issue 201).
    small = improved_sheather_jones(x[:, None] * 1e-2) / 1e-2
    assert abs(small / improved_sheather_jones(x[:, None]) - 1) > 0.1
    # For normal data ISJ approaches the normal-reference rule.
    z = np.random.default_rng(5).normal(size=20000)
    assert float(kde_bandwidth(z, "isj")) == pytest.approx(
        1.059 * 20000**-0.2, rel=0.15
    )


def test_isj_bandwidth_in_kde(sample):
    _, a = kde(sample, bandwidth="isj", grid=512)
    _, b = kde(sample, bandwidth=float(kde_bandwidth(sample, "isj")), grid=512)
    np.testing.assert_allclose(a, b, atol=1e-12)


def test_float32():
    x = np.random.default_rng(6).normal(size=3000)
    g = np.linspace(-4, 4, 257)
    _, d64 = kde(x, bandwidth=0.3, grid=g)
    _, d32 = kde(x.astype(np.float32), bandwidth=0.3, grid=g.astype(np.float32))
    assert d32.dtype == jnp.float32
    np.testing.assert_allclose(d32, d64, atol=2e-6)
    assert np.isfinite(float(kde_bandwidth(x.astype(np.float32), "isj")))


@given(seed=st.integers(0, 2**31), bw=st.floats(0.05, 2.0))
def test_hypothesis_density_integrates_to_one(seed, bw):
    x = np.random.default_rng(seed).standard_gamma(2.0, 300)
    g, d = kde(x, bandwidth=bw, grid=512)
    step = float(g[1] - g[0])
    assert np.all(np.asarray(d) > -1e-12)
    assert float(d.sum()) * step == pytest.approx(1.0, abs=1e-3)


def test_transforms(sample):
    x = sample[:300]
    g = np.linspace(-4, 5, 128)
    f = jax.jit(lambda v: kde(v, bandwidth="scott", grid=128))
    a, b = f(x), kde(x, bandwidth="scott", grid=128)
    np.testing.assert_allclose(a[1], b[1], atol=1e-14)
    batch = jnp.asarray(np.stack([x, x[::-1] * 0.5]))
    # vmap under jit: one program (eager vmap compiles one per operation)
    vm = jax.jit(jax.vmap(lambda v: kde(v, bandwidth="silverman", grid=g)[1]))(batch)
    for row, v in zip(vm, batch):
        np.testing.assert_allclose(
            row, kde(v, bandwidth="silverman", grid=g)[1], atol=1e-14
        )
    check_grads(lambda h: kde(x, bandwidth=h, grid=g)[1], (0.4,), 1)
    w = jnp.asarray(np.random.default_rng(0).uniform(0.5, 1.5, 300))
    check_grads(
        lambda w: kde(x, bandwidth=0.4, grid=g, weights=w)[1], (w,), 1, modes=("rev",)
    )
    check_grads(
        lambda v: kde_bandwidth(v, "isj"),
        (jnp.asarray(x),),
        1,
        eps=1e-6,
        modes=("rev",),
    )


def test_kde_dist():
    pytest.importorskip("probconv.distributions")
    x = np.random.default_rng(8).normal(1.0, 2.0, 2000)
    X = kde_dist(x, bandwidth=0.4)
    assert X.kind == "density"
    total = float(X.masses.sum() + X.truncated)
    assert total == pytest.approx(1.0, abs=1e-12)
    assert float(X.mean()) == pytest.approx(x.mean(), abs=1e-3)
    assert float(X.var()) == pytest.approx(x.var() + 0.4**2, rel=1e-3)
    g, d = kde(x, bandwidth=0.4)
    np.testing.assert_allclose(X.masses, d * (g[1] - g[0]), rtol=1e-3)
    Y = kde_dist(np.abs(x), bandwidth=0.3, bounds=(0, None), kernel="epanechnikov")
    assert float(Y.truncated) == 0.0
    with pytest.raises(TypeError, match="kde_dist needs a concrete grid step"):
        jax.jit(lambda v: kde_dist(v, bandwidth=0.3).masses)(x)
    with pytest.raises(ValueError, match="kde_dist needs 1-D samples"):
        kde_dist(np.ones((5, 2)))


BAD = [
    (lambda: kde(np.ones((5, 3))), ValueError, r"`samples` must have shape \(n,\)"),
    (lambda: kde([1.0]), ValueError, "with n >= 2"),
    (lambda: kde([1.0, 2.0], kernel="box"), ValueError, "`kernel` must be one of"),
    (
        lambda: kde([1.0, 2.0], bandwidth="normal"),
        ValueError,
        "`bandwidth` must be one of 'scott', 'silverman', 'isj'",
    ),
    (
        lambda: kde(np.ones((5, 2)), bandwidth="isj"),
        ValueError,
        "`bandwidth` must be one of 'scott', 'silverman'; got 'isj'",
    ),
    (
        lambda: kde([1.0, 2.0], bandwidth=-1.0),
        ValueError,
        "`bandwidth` must be finite and positive",
    ),
    (
        lambda: kde([1.0, 2.0], bandwidth=[1.0, 2.0]),
        ValueError,
        "In 1-D `bandwidth` must be a scalar",
    ),
    (
        lambda: kde(np.ones((5, 2)), bandwidth=np.ones(3)),
        ValueError,
        "In 2-D `bandwidth` must be a rule name",
    ),
    (
        lambda: kde(np.ones((5, 2)), bandwidth=[[1.0, 2.0], [0.0, 1.0]]),
        ValueError,
        "symmetric positive definite",
    ),
    (
        lambda: kde(np.ones((5, 2)), kernel="epanechnikov"),
        ValueError,
        "2-D estimates support kernel='gaussian'",
    ),
    (lambda: kde(np.ones((5, 2)), bounds=(0, 1)), ValueError, "1-D data only"),
    (
        lambda: kde(np.ones((5, 2)), grid=[1, 2, 3]),
        ValueError,
        "In 2-D `grid` must be None, an int, or a pair",
    ),
    (lambda: kde([1.0, 2.0], grid=1), ValueError, "`grid` must be at least 2; got 1"),
    (
        lambda: kde([1.0, 2.0], grid=[0.0, 1.0, 3.0]),
        ValueError,
        "must be increasing and equally spaced",
    ),
    (
        lambda: kde([1.0, 2.0], grid=[[0.0, 1.0]]),
        ValueError,
        "equally spaced 1-D array of at least two points",
    ),
    (
        lambda: kde([1.0, 2.0], bounds=(0, 3), grid=[0.0, 1.0]),
        ValueError,
        "give `grid` as None or a number of points",
    ),
    (lambda: kde([1.0, 2.0], bounds=(0,)), ValueError, r"`bounds` must be a pair"),
    (lambda: kde([1.0, 2.0], bounds=(3, 1)), ValueError, "must have low < high"),
    (
        lambda: kde([1.0, 2.0], bounds=(-np.inf, 3)),
        ValueError,
        "finite numbers or None",
    ),
    (lambda: kde([1.0, 5.0], bounds=(0, 3)), ValueError, "must lie within `bounds`"),
    (
        lambda: kde([1.0, 2.0], weights=[1.0]),
        ValueError,
        "`weights` must have one entry per sample",
    ),
    (
        lambda: kde([1.0, 2.0], weights=[1.0, -1.0]),
        ValueError,
        "finite and non-negative with a positive sum",
    ),
    (lambda: kde([1.0, 2.0], cut=0), ValueError, "`cut` must be finite and positive"),
    (lambda: kde_bandwidth([1.0, 2.0], "normal"), ValueError, "`rule` must be one of"),
    (lambda: kde_bandwidth(np.ones((3, 2))), ValueError, "must be 1-D with at least"),
]


@pytest.mark.parametrize("fn, exc, match", BAD)
def test_bad_input(fn, exc, match):
    with pytest.raises(exc, match=match):
        fn()


def test_eager_2d_kde_and_kde_dist_compile_little_per_new_size(count_compiles):
    # A 2-D estimate is one program per signature, and kde_dist's masses one
    # more: a new sample size compiles a couple of programs, new values none.
    rng = np.random.default_rng(11)
    for n in (301, 302):
        xy = rng.standard_normal((n, 2))
        s = rng.standard_normal(n)
        (g1, g2), dens = kde(xy, grid=32)
        law = kde_dist(s, grid=64)
        with count_compiles() as again:
            (h1, h2), moved = kde(xy + 0.5, grid=32)
            moved_law = kde_dist(s + 0.5, grid=64)
        assert again == []
        # New values are traced, not baked in: the shifted samples give the
        # same estimate on a grid shifted with them.
        np.testing.assert_allclose(h1, np.asarray(g1) + 0.5, atol=1e-12)
        np.testing.assert_allclose(h2, np.asarray(g2) + 0.5, atol=1e-12)
        np.testing.assert_allclose(moved, dens, atol=1e-12)
        assert float(moved_law.origin) == pytest.approx(float(law.origin) + 0.5)
        np.testing.assert_allclose(moved_law.masses, law.masses, atol=1e-12)
    with count_compiles() as new_size:
        kde(rng.standard_normal((303, 2)), grid=32)
    assert len(new_size) <= 3, len(new_size)
