"""Continuous sums meet the stated `tol` in both tails at default settings.

Every summand cuts ``tol / 1024`` of its mass (the tail budget shared over
up to ~1000 summands), so the cut masses of a sum no longer add up past
`tol` (issue 15: the sum of ten Exp(1) laws missed 5e-6 of its sf).

References are closed forms in float64: the Gamma(10) law for a sum of ten
Exp(1), the exponentially modified normal (scipy.stats.exponnorm) for a
normal plus an exponential, and for a compound Poisson sum of Exp(1)
severities the mixture :math:`\\sum_n P(N = n)\\, \\Gamma(n).sf(x)`.

Tolerance, stated once: the default ``tol = 1e-6`` (absolute, on cdf and sf
at every point of the support).
"""

import jax
import numpy as np
import pytest
import scipy.stats

import probconv.distributions as dist

TOL = 1e-6


@pytest.fixture(autouse=True)
def _x64():
    with jax.enable_x64(True):
        yield


def _worst(d, ref, xs):
    sf = np.abs(np.asarray(d.sf(xs)) - ref.sf(xs)).max()
    cdf = np.abs(np.asarray(d.cdf(xs)) - ref.cdf(xs)).max()
    return max(sf, cdf)


def test_iid_sum_of_exponentials_meets_tol_everywhere():
    s = dist.iid_sum(dist.exponential(), 10)
    ref = scipy.stats.gamma(10)
    xs = np.linspace(0.0, 60.0, 241)
    assert _worst(s, ref, xs) <= TOL
    # The point: sf(25) ~ 2.2e-4 was off by 2e-6.
    assert abs(float(s.sf(25.0)) - ref.sf(25.0)) <= TOL / 10


def test_normal_plus_exponential_meets_tol():
    s = dist.normal() + dist.exponential()
    ref = scipy.stats.exponnorm(1.0)
    xs = np.linspace(-8.0, 25.0, 133)
    assert _worst(s, ref, xs) <= TOL


class _CompoundPoissonExp:
    """S = X_1 + ... + X_N, N ~ Poisson(lam), X ~ Exp(1)."""

    def __init__(self, lam):
        self.n = np.arange(1, 200)
        self.w = scipy.stats.poisson(lam).pmf(self.n)
        self.p0 = scipy.stats.poisson(lam).pmf(0)

    def sf(self, x):
        x = np.asarray(x, np.float64)[..., None]
        return np.sum(self.w * scipy.stats.gamma(self.n).sf(x), -1)

    def cdf(self, x):
        return 1.0 - self.sf(x)


def test_compound_with_exponential_severities_meets_tol():
    s = dist.compound(dist.poisson(5.0), dist.exponential())
    ref = _CompoundPoissonExp(5.0)
    xs = np.linspace(0.5, 40.0, 80)
    assert _worst(s, ref, xs) <= TOL
