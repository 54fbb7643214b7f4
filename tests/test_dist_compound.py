"""compound: random sums against closed forms and exact enumeration.

Tolerances (float64):

| comparison | tolerance | why |
| --- | --- | --- |
| masses vs closed forms / exact fractions | atol 1e-14 | two FFTs: eps * max mass |
| kept masses with a cut grid and auto tilt | atol 1e-10 | (1) |
| gradient vs finite differences | rtol 1e-6 | central differences, h = 1e-6 |

(1) tilt trades aliasing for noise: eps * e^(c/2) with c near 21
"""

from fractions import Fraction

import jax
import numpy as np
import pytest
import scipy.special
import scipy.stats
from _reference import check_grads

import probconv.distributions as dist
from probconv.distributions import compound, from_masses

ATOL = 1e-14
ATOL_TILT = 1e-10


def test_poisson_logarithmic_is_negative_binomial():
    q, r = 0.6, 2.5
    lam = -r * np.log1p(-q)
    s = compound(dist.poisson(lam), dist.from_scipy(scipy.stats.logser(q)))
    k = np.asarray(s.points)
    np.testing.assert_allclose(s.masses, scipy.stats.nbinom(r, 1 - q).pmf(k), atol=ATOL)
    assert float(s.truncated) < 1e-13
    assert float(scipy.stats.nbinom(r, 1 - q).sf(k[-1])) < 1e-15  # grid long enough


def _polya_aeppli(lam, p, n):
    out = np.zeros(n)
    out[0] = np.exp(-lam)
    for m in range(1, n):
        k = np.arange(1, m + 1)
        logt = (
            -lam
            + k * np.log(lam)
            - scipy.special.gammaln(k + 1)
            + np.log(scipy.special.comb(m - 1, k - 1))
            + k * np.log(p)
            + (m - k) * np.log1p(-p)
        )
        out[m] = np.exp(logt).sum()
    return out


def test_poisson_geometric_is_polya_aeppli():
    lam, p = 3.0, 0.4
    s = compound(dist.poisson(lam), dist.geometric(p))
    want = _polya_aeppli(lam, p, 80)
    np.testing.assert_allclose(s.masses[:80], want, atol=ATOL)
    np.testing.assert_allclose(s.mean(), lam / p, rtol=1e-10)
    np.testing.assert_allclose(s.var(), lam * (2 - p) / p**2, rtol=1e-9)


def test_thinning_binomial_and_negative_binomial():
    b = compound(dist.binomial(30, 0.6), dist.bernoulli(0.25))
    k = np.arange(b.size)  # the grid stops where the tail falls below eps
    np.testing.assert_allclose(b.masses, scipy.stats.binom(30, 0.15).pmf(k), atol=ATOL)
    r, p, q = 3.5, 0.3, 0.6
    nb = compound(dist.negative_binomial(r, p), dist.bernoulli(q))
    p2 = p / (p + q * (1 - p))
    k = np.asarray(nb.points)
    np.testing.assert_allclose(nb.masses, scipy.stats.nbinom(r, p2).pmf(k), atol=ATOL)


def _dice_law(n):
    """Exact law of the total of n six-sided dice."""
    law = {0: Fraction(1)}
    for _ in range(n):
        new = {}
        for a, pa in law.items():
            for b in range(1, 7):
                new[a + b] = new.get(a + b, 0) + pa * Fraction(1, 6)
        law = new
    return law


def test_general_frequency_against_exact_enumeration():
    w = [Fraction(1, 10), Fraction(2, 10), Fraction(3, 10), Fraction(4, 10)]
    s = compound(from_masses([float(v) for v in w]), dist.die(6))
    exact = {}
    for n, wn in enumerate(w):
        for v, pv in _dice_law(n).items():
            exact[v] = exact.get(v, 0) + wn * pv
    want = np.array([float(exact.get(k, 0)) for k in range(s.size)])
    np.testing.assert_allclose(s.masses, want, atol=ATOL)
    np.testing.assert_allclose(s.total + s.truncated, 1.0, atol=1e-14)
    # a frequency on 2, 3 (origin 2)
    s2 = compound(from_masses([0.5, 0.5], origin=2.0), dist.die(6))
    exact2 = {}
    for n in (2, 3):
        for v, pv in _dice_law(n).items():
            exact2[v] = exact2.get(v, 0) + pv / 2
    want2 = np.array([float(exact2.get(k, 0)) for k in range(s2.size)])
    np.testing.assert_allclose(s2.masses, want2, atol=ATOL)


def test_geometric_frequency_and_shifted_severity():
    # N geometric on 1, 2, ...: f_S = p f_X + (1 - p) f_X * f_S (renewal), solved
    # term by term in float64 (positive sums: accurate to a few ulps).
    p = 0.5
    s = compound(dist.geometric(p), dist.die(4))
    fx = np.array([0, 0.25, 0.25, 0.25, 0.25])
    want = np.zeros(s.size)
    for k in range(1, s.size):
        j = np.arange(1, min(k, 4) + 1)
        want[k] = p * (fx[k] if k <= 4 else 0) + (1 - p) * np.sum(fx[j] * want[k - j])
    np.testing.assert_allclose(s.masses, want, atol=ATOL)
    # severity on a step-0.5 grid starting at 1.0 (two steps from 0)
    h = compound(dist.poisson(2.0), 0.5 * (dist.die(3) + 1))
    assert h.step == 0.5
    np.testing.assert_allclose(h.mean(), 2.0 * 1.5, rtol=1e-10)


def test_traced_severity_origin():
    def f(shift):
        x = dist.die(4) + shift
        return compound(dist.poisson(3.0), x, size=80).cdf(12.0)

    jf = jax.jit(f)
    np.testing.assert_allclose(jf(2.0), f(2.0), atol=1e-14)
    assert np.isnan(jf(-2.0)) and np.isnan(jf(0.5))  # below 0, off the grid


def test_batched_frequency():
    mus = np.array([0.5, 4.0, 9.0])
    s = compound(dist.poisson(mus), dist.die(6))
    assert s.batch_shape == (3,)
    for i, mu in enumerate(mus):
        one = compound(dist.poisson(float(mu)), dist.die(6), size=s.size)
        np.testing.assert_allclose(s.masses[i], one.masses, atol=ATOL)
    np.testing.assert_allclose(s.mean(), mus * 3.5, rtol=1e-10)


def test_cut_grid_with_tilt_and_diagnostics():
    n, x = dist.poisson(20.0), dist.die(6)
    full = compound(n, x)
    cut, info = compound(n, x, size=60, full_output=True)
    assert set(info) == {"fft_length", "tilt", "alias_bound", "noise_bound"}
    assert info["tilt"] > 10 and info["fft_length"] >= 120
    np.testing.assert_allclose(cut.masses, full.masses[:60], atol=ATOL_TILT)
    np.testing.assert_allclose(cut.truncated, full.sf(59.0), atol=ATOL_TILT)
    assert info["alias_bound"] < 1e-10 and info["noise_bound"] < 1e-10
    # without the tilt the wrapped-around mass is visible
    raw = compound(n, x, size=60, tilt=0.0)
    assert float(np.max(np.abs(raw.masses - full.masses[:60]))) > 1e-7
    # more padding instead of a tilt also works
    pad = compound(n, x, size=60, tilt=0.0, padding=3)
    np.testing.assert_allclose(pad.masses, full.masses[:60], atol=1e-11)


def test_invariants():
    s = compound(dist.negative_binomial(2.0, 0.2), from_masses([0.0, 0.3, 0.0, 0.7]))
    assert float(np.min(s.masses)) >= 0.0
    np.testing.assert_allclose(s.total + s.truncated, 1.0, atol=1e-13)
    en, ex = 2.0 * 0.8 / 0.2, 0.3 + 2.1
    np.testing.assert_allclose(s.mean(), en * ex, rtol=1e-10)


def test_jit_and_grad():
    def f(mu):
        n = dist.poisson(mu, size=60)
        return compound(n, dist.die(6), size=300).cdf(40.0)

    jf = jax.jit(f)
    np.testing.assert_allclose(jf(8.0), f(8.0), atol=1e-14)
    np.testing.assert_allclose(
        jf(8.0), compound(dist.poisson(8.0), dist.die(6)).cdf(40.0), atol=1e-13
    )
    check_grads(jf, (8.0,), order=1)
    tail = jax.jit(
        lambda p: compound(dist.binomial(5, p), dist.die(4), size=30).sf(7.0)
    )
    eps = 1e-6
    fd = (tail(0.3 + eps) - tail(0.3 - eps)) / (2 * eps)
    np.testing.assert_allclose(jax.grad(tail)(0.3), fd, rtol=1e-6)


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (
            lambda: compound(
                dist.poisson(2.0), from_masses([1.0, 0.0], -1.0, kind="density")
            ),
            ValueError,
            "cells centred below 0 must hold no mass",
        ),
        (
            lambda: compound(dist.poisson(2.0), dist.die(2) - 3),
            ValueError,
            "non-negative multiple of its step",
        ),
        (
            lambda: compound(dist.poisson(2.0), dist.die(2) + 0.5),
            ValueError,
            "non-negative multiple of its step",
        ),
        (
            lambda: compound(from_masses([0.5, 0.5], step=0.5), dist.die(2)),
            ValueError,
            "frequency `N` must be a lattice on the integers",
        ),
        (
            lambda: compound(from_masses([0.5, 0.5], origin=-1.0), dist.die(2)),
            ValueError,
            "must live on 0, 1, 2",
        ),
        (
            lambda: jax.jit(lambda m: compound(dist.poisson(m, size=9), dist.die(2)))(
                1.0
            ),
            ValueError,
            "`size` must be given when `N` or `X` is traced",
        ),
        (
            lambda: compound(dist.poisson(2.0), dist.die(2), tilt=-1.0),
            ValueError,
            "`tilt` must be finite and non-negative",
        ),
        (
            lambda: compound(dist.poisson(2.0), dist.die(2), tilt="a"),
            TypeError,
            "`tilt` must be a Python number",
        ),
        (
            lambda: compound(dist.poisson(2.0), dist.die(2), accuracy="exact"),
            ValueError,
            "`accuracy` must be .*got 'exact'",
        ),
        (
            lambda: compound(dist.poisson(2.0), dist.die(2), padding=-1),
            ValueError,
            "`padding` must be at least 0",
        ),
        (
            lambda: compound(dist.poisson(2.0), dist.die(2), size=0),
            ValueError,
            "`size` must be at least 1",
        ),
        (
            lambda: compound(dist.poisson(2.0), dist.die(2), tail=2.0),
            ValueError,
            r"`tail` must be finite and lie in \(0, 1\)",
        ),
        (
            lambda: compound(dist.poisson(2.0), dist.die(2), full_output=1.5),
            TypeError,
            "`full_output` must be True or False",
        ),
        (lambda: compound(2.0, dist.die(2)), TypeError, "`N` must be a Distribution"),
    ],
)
def test_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
