"""deconvolve_distribution: the law of X from the laws of X + Y and Y.

Tolerances, stated once (total-variation distance to the true law of X):

| case | tol | why |
| --- | --- | --- |
| exact Z, em 2000 iter. | 1e-6 | EM converges sublinearly; measured 2e-7 |
| exact Z, tikhonov (alpha 0) 2000 iter. | 1e-5 | FISTA O(1/k^2); measured 2e-6 |
| Z a histogram of 10^5 draws | 0.05 | sampling noise sqrt(n_bins / N) ~ 0.015, |
| | | amplified by 1/|y_hat| |
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats as st

from probconv.deconv import deconvolve_distribution
from probconv.distributions import from_masses


def tv(p, q):
    return 0.5 * np.abs(np.asarray(p) - np.asarray(q)).sum(-1)


X_TRUE = st.binom(20, 0.3).pmf(np.arange(21))
Y_MASS = st.poisson(2.0).pmf(np.arange(15))
Y_MASS /= Y_MASS.sum()
Z_MASS = np.convolve(X_TRUE, Y_MASS)


@pytest.mark.parametrize("method, tol", [("em", 1e-6), ("tikhonov", 1e-5)])
def test_recovers_a_known_law_from_the_exact_sum(method, tol):
    Z = from_masses(Z_MASS, origin=3.0)
    Y = from_masses(Y_MASS, origin=1.0)
    X = deconvolve_distribution(Z, Y, method=method, iterations=2000)
    assert X.kind == "lattice" and X.step == 1.0
    assert float(X.origin) == 2.0
    assert X.masses.shape == (21,)
    assert (np.asarray(X.masses) >= 0).all()
    assert abs(float(X.masses.sum()) - 1) < 1e-13
    assert tv(X.masses, X_TRUE) < tol


def test_recovers_from_a_noisy_histogram():
    rng = np.random.default_rng(0)
    n = 100_000
    draws = rng.binomial(20, 0.3, n) + rng.poisson(2.0, n)
    counts = np.bincount(draws, minlength=Z_MASS.size)[: Z_MASS.size]
    Z = from_masses(counts / n)
    Y = from_masses(Y_MASS)
    for method, alpha in [("em", 0.0), ("em", 0.05), ("tikhonov", 1e-3)]:
        X = deconvolve_distribution(Z, Y, method=method, iterations=300, alpha=alpha)
        assert tv(X.masses, X_TRUE) < 0.05
    # Without deconvolution the law of Z is far from that of X.
    assert tv(Z_MASS[:21] / Z_MASS[:21].sum(), X_TRUE) > 0.3


def test_density_kind_and_batches():
    step = 0.1
    grid = np.arange(-40, 41) * step
    x = st.norm.pdf(grid, 0.5, 0.6)
    x /= x.sum()
    y = st.expon.pdf(np.arange(30) * step, scale=0.4)
    y /= y.sum()
    z = np.convolve(x, y)
    Z = from_masses(
        np.stack([z, z]), origin=np.array([-4.0, -3.0]), step=step, kind="density"
    )
    Y = from_masses(y, origin=0.0, step=step, kind="density")
    X = deconvolve_distribution(Z, Y, method="em", iterations=3000)
    assert X.kind == "density" and X.masses.shape == (2, 81)
    np.testing.assert_allclose(X.origin, [-4.0, -3.0])
    assert (tv(X.masses, x) < 1e-3).all()
    assert abs(float(X.mean()[0]) - (x * grid).sum()) < 1e-3


def test_jit_and_float32():
    f = jax.jit(
        lambda z: (
            deconvolve_distribution(
                from_masses(z), from_masses(Y_MASS), iterations=200
            ).masses
        )
    )
    np.testing.assert_allclose(
        f(jnp.asarray(Z_MASS)),
        deconvolve_distribution(
            from_masses(Z_MASS), from_masses(Y_MASS), iterations=200
        ).masses,
        rtol=1e-10,
        atol=1e-15,
    )
    X32 = deconvolve_distribution(
        from_masses(Z_MASS.astype(np.float32)),
        from_masses(Y_MASS.astype(np.float32)),
        iterations=500,
    )
    assert X32.masses.dtype == jnp.float32
    assert tv(X32.masses, X_TRUE) < 1e-3


def test_errors():
    Z = from_masses(Z_MASS)
    Y = from_masses(Y_MASS)
    with pytest.raises(ValueError, match="`method` must be one of"):
        deconvolve_distribution(Z, Y, method="fft")
    with pytest.raises(ValueError, match="`alpha` must be at most 1"):
        deconvolve_distribution(Z, Y, alpha=2.0)
    with pytest.raises(ValueError, match="`alpha` must be non-negative"):
        deconvolve_distribution(Z, Y, method="tikhonov", alpha=-1.0)
    with pytest.raises(ValueError, match="`iterations` must be at least 0"):
        deconvolve_distribution(Z, Y, iterations=-1)
    with pytest.raises(ValueError, match="must have the same step"):
        deconvolve_distribution(Z, from_masses(Y_MASS, step=0.5))
    with pytest.raises(ValueError, match="must have the same kind"):
        deconvolve_distribution(Z, from_masses(Y_MASS, kind="density"))
    with pytest.raises(ValueError, match="`Y` must not have more grid points"):
        deconvolve_distribution(Y, Z)
    with pytest.raises(
        TypeError, match="`Z` must be a probconv.distributions.Distribution"
    ):
        deconvolve_distribution(Z_MASS, Y)
