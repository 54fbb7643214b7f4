"""Layout-free spectra: the distribution layers on 2-D transforms.

`fft_nd(..., ordered=False)` lets the engine run a long 1-D transform as a
2-D one (prime-factor mapping) for computations that treat the spectrum
entry by entry. On the CPU that happens from 16384 points; here the
threshold and the least factors are lowered so that every layout-free pair
of each layer runs as 2-D on small inputs, and the results are checked
against the same references as elsewhere.

Tolerances (float64):

| comparison | tolerance | why |
| --- | --- | --- |
| lattice masses vs direct sums / closed forms | atol 1e-14 | two FFTs: eps * max mass |
| relative method vs exact log-laws | rel 1e-8 | the documented accuracy |
| density laws, 2-D vs 1-D transforms | atol 1e-12 * max | (1) |

(1) the same grid; two FFT pairs of different periods round differently
"""

import contextlib
import itertools
import math

import jax
import numpy as np
import pytest
import scipy.special
import scipy.stats
from _reference import rel_err

import probconv.distributions as dist
from probconv.conv import _pfa
from probconv.conv.internal import fft_nd, ifft_nd, spectral_length

ATOL = 1e-14
REL = 1e-8


# The patched thresholds are read when a program is traced, so programs traced
# before (by this worker's other tests) must not be reused inside `two_d`, nor
# the 2-D programs outside it. A jit-key context with a fresh value per block
# does both without `jax.clear_caches()`, which would throw away every program
# of the worker (the files run after this one recompiled theirs). Created at
# import, i.e. at collection, before anything is compiled: adding a context
# changes the key of every program compiled before it. JAX releases without
# `make_user_context` clear the caches instead.
_LAYOUT = jax.make_user_context(None) if hasattr(jax, "make_user_context") else None
_BLOCKS = itertools.count(1)


@contextlib.contextmanager
def _fresh_programs():
    if _LAYOUT is not None:
        with _LAYOUT(("two_d", next(_BLOCKS))):
            yield
        return
    jax.clear_caches()
    try:
        yield
    finally:
        jax.clear_caches()


@contextlib.contextmanager
def two_d():
    """Run every layout-free transform as 2-D; yield the list of mappings made."""
    calls = []
    orig = _pfa.pfa_in

    def spy(x, a, b):
        calls.append((a, b))
        return orig(x, a, b)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_pfa, "_PFA_MIN_POINTS", 0)
        mp.setattr(_pfa, "_PFA_MIN_FACTORS", (2, 3))
        mp.setattr(_pfa, "pfa_in", spy)
        _pfa.pfa_factors.cache_clear()
        try:
            with _fresh_programs():
                yield calls
        finally:
            _pfa.pfa_factors.cache_clear()


@pytest.mark.parametrize("real", [True, False])
def test_layout_free_pair_round_trips_and_multiplies(real):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 1000))
    if not real:
        x = x + 1j * rng.standard_normal(x.shape)
    with two_d() as calls:
        n = spectral_length(1999, real)

        @jax.jit
        def run(x):
            f = fft_nd(x, (n,), (-1,), real, ordered=False)
            back = ifft_nd(f, (n,), (-1,), real, ordered=False)
            return back, ifft_nd(f * f, (n,), (-1,), real, ordered=False)

        back, sq = run(x)
    assert calls and n >= 1999
    np.testing.assert_allclose(back[:, :1000], x, atol=1e-12)
    np.testing.assert_allclose(back[:, 1000:], 0, atol=1e-12)
    ref = np.array([np.convolve(r, r) for r in x])
    np.testing.assert_allclose(sq[:, :1999], ref, atol=1e-11)
    # ordered transforms and 2-D axes are never remapped
    with two_d() as calls:
        jax.eval_shape(lambda x: fft_nd(x, (n,), (-1,), real), x)
        jax.eval_shape(lambda x: fft_nd(x, (4, n), (0, 1), real, ordered=False), x)
    assert not calls


def test_iid_sum_of_dice():
    with two_d() as calls:
        d = dist.iid_sum(dist.die(6), 30)
    assert calls
    ref = np.ones(1)
    for _ in range(30):
        ref = np.convolve(ref, np.ones(6) / 6)  # non-negative direct sums
    np.testing.assert_allclose(d.masses, ref, atol=ATOL)


def test_compound_poisson_logarithmic_is_negative_binomial():
    q, r = 0.6, 2.5
    lam = -r * np.log1p(-q)
    with two_d() as calls:
        s = dist.compound(dist.poisson(lam), dist.from_scipy(scipy.stats.logser(q)))
    assert calls
    k = np.asarray(s.points)
    np.testing.assert_allclose(s.masses, scipy.stats.nbinom(r, 1 - q).pmf(k), atol=ATOL)


@pytest.mark.parametrize("op", ["iid_sum", "compound"])
def test_density_laws_match_the_1d_transforms(op):
    x = np.arange(0.0, 12.0, 0.05)
    X = dist.from_masses(
        scipy.stats.gamma(2.0).pdf(x) * 0.05, 0.0, 0.05, kind="density"
    )

    def make():
        if op == "iid_sum":
            return dist.iid_sum(X, 3)
        return dist.compound(dist.poisson(2.0), X)

    want = make()
    with two_d() as calls:
        got = make()
    assert calls
    scale = float(np.max(np.abs(want.masses)))
    np.testing.assert_allclose(got.masses, want.masses, atol=1e-12 * scale)
    np.testing.assert_allclose(got.truncated, want.truncated, atol=1e-12)


def test_relative_bernoulli_sum():
    n, p = 1000, 0.01
    with two_d() as calls:
        d = dist.iid_sum(dist.bernoulli(p), n, accuracy="relative")
    assert calls
    ref = scipy.stats.binom(n, p).logpmf(np.arange(n + 1))
    assert rel_err(d.log_masses, ref).max() <= REL


def test_relative_compound_poisson():
    size, lam = 300, 5.0
    x = np.zeros(7)
    x[1:] = 1 / 6
    with two_d() as calls:
        d = dist.compound(
            dist.poisson(lam), dist.from_masses(x), size=size, accuracy="relative"
        )
    assert calls
    # Panjer's recursion in log space: every term non-negative.
    ref = np.full(size, -np.inf)
    ref[0] = -lam
    j = np.arange(1, 7)
    for k in range(1, size):
        jj = j[j <= k]
        ref[k] = math.log(lam / k) + scipy.special.logsumexp(
            np.log(jj * x[jj]) + ref[k - jj]
        )
    assert rel_err(d.log_masses, ref).max() <= REL


def test_logconvolve_spanning_orders():
    rng = np.random.default_rng(3)
    t = np.arange(600) / 600
    la = -300 * t**2 + np.log(rng.uniform(0.5, 1.5, 600))
    lb = -300 * (1 - t) ** 1.5 + np.log(rng.uniform(0.5, 1.5, 600))
    with two_d() as calls:
        out = dist.logconvolve(la, lb)
    assert calls
    ref = np.log(np.convolve(np.exp(la), np.exp(lb)))
    assert rel_err(out, ref).max() <= REL
