"""Missing values (NaN) in probconv.similarity: nan_policy of xcorr, gcc and
estimate_delay (acf/ccf's are in test_similarity.py), against float64
references written as loops over the pairs of each lag."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _reference import check_grads
from hypothesis import given, settings
from hypothesis import strategies as hst

from probconv.similarity import estimate_delay, gcc, xcorr

NA, NB = 40, 25


def gappy_pair(seed=0):
    r = np.random.default_rng(seed)
    a, b = r.standard_normal(NA), r.standard_normal(NB)
    a[[2, 17, 18, NA - 1]] = np.nan
    b[[0, 11]] = np.nan
    return a, b


def reference(a, b, normalize, omit):
    """Lag by lag, in float64: sums over the pairs (present ones if `omit`)."""
    out = []
    n_max = max(len(a), len(b))
    for k in range(-(len(b) - 1), len(a)):
        idx = [i for i in range(len(b)) if 0 <= i + k < len(a)]
        x = np.array([a[i + k] for i in idx])
        y = np.array([b[i] for i in idx])
        m = len(idx)
        ok = ~(np.isnan(x) | np.isnan(y))
        if not omit and not ok.all():
            out.append(np.nan)
            continue
        x, y = x[ok], y[ok]
        p = len(x)
        if normalize == "coeff":
            if p < 2 or np.all(x == x[0]) or np.all(y == y[0]):
                out.append(0.0)
                continue
            xc, yc = x - x.mean(), y - y.mean()
            out.append(np.sum(xc * yc) / np.sqrt(np.sum(xc**2) * np.sum(yc**2)))
            continue
        if p == 0:
            out.append(np.nan)
            continue
        s = np.sum(x * y)
        out.append(
            {
                None: s * m / p,
                "biased": s * m / p / n_max,
                "unbiased": s / p,
            }[normalize]
        )
    return np.array(out)


@pytest.mark.parametrize("normalize", [None, "biased", "unbiased", "coeff"])
@pytest.mark.parametrize("method", ["direct", "fft"])
def test_xcorr_propagate_and_omit_match_pairwise_reference(normalize, method):
    a, b = gappy_pair()
    for omit in (False, True):
        policy = "omit" if omit else "propagate"
        got = xcorr(a, b, normalize=normalize, nan_policy=policy, method=method)
        want = reference(a, b, normalize, omit)
        np.testing.assert_array_equal(np.isnan(got.values), np.isnan(want))
        np.testing.assert_allclose(got.values, want, rtol=1e-10, atol=1e-12)
    # Without NaN every policy is the plain computation, bit for bit.
    clean = np.nan_to_num(a), np.nan_to_num(b)
    base = xcorr(*clean, normalize=normalize, method=method).values
    for policy in ("omit", "raise"):
        got = xcorr(*clean, normalize=normalize, nan_policy=policy, method=method)
        np.testing.assert_allclose(got.values, base, rtol=1e-12, atol=1e-13)


@settings(max_examples=20)
@given(
    na=hst.sampled_from([6, 11]),
    nb=hst.sampled_from([6, 11]),
    normalize=hst.sampled_from([None, "coeff"]),
    gaps=hst.sets(hst.integers(0, 16), max_size=5),
    seed=hst.integers(0, 2**16),
)
def test_xcorr_nan_policy_property(na, nb, normalize, gaps, seed):
    """NaN exactly where a NaN takes part; omit is the pairwise value."""
    r = np.random.default_rng(seed)
    a, b = r.standard_normal(na), r.standard_normal(nb)
    for g in gaps:
        (a if g % 2 else b)[(g // 2) % (na if g % 2 else nb)] = np.nan
    for policy, omit in (("propagate", False), ("omit", True)):
        got = np.asarray(xcorr(a, b, normalize=normalize, nan_policy=policy).values)
        want = reference(a, b, normalize, omit)
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-11)
        if normalize == "coeff":
            assert np.all(np.abs(got[~np.isnan(got)]) <= 1)


def test_xcorr_nan_policy_maxlag_batch_jit_vmap_grad():
    a, b = gappy_pair(1)
    full = xcorr(a, b, normalize="coeff", nan_policy="omit").values
    lags, part = xcorr(a, b, normalize="coeff", nan_policy="omit", maxlag=6)
    np.testing.assert_allclose(part, full[NB - 1 - 6 : NB + 6], atol=1e-12)
    a2 = np.stack([a, np.nan_to_num(a)])

    def f(x, y):
        return xcorr(x, y, normalize="coeff", nan_policy="omit", maxlag=6).values

    np.testing.assert_allclose(jax.jit(f)(a, b), f(a, b), atol=1e-14)
    # vmap under jit: one program (eager vmap compiles one per operation)
    vf = jax.jit(jax.vmap(f, (0, None)))(a2, b)
    np.testing.assert_allclose(vf, jnp.stack([f(x, b) for x in a2]), atol=1e-14)
    np.testing.assert_allclose(f(a2, b), vf, atol=1e-12)
    check_grads(lambda x: f(x, b), (a,), order=1)
    # 'propagate' under jit: NaN exactly where a NaN takes part.
    g = jax.jit(lambda x, y: xcorr(x, y).values)(a, b)
    np.testing.assert_array_equal(np.isnan(g), np.isnan(reference(a, b, None, False)))


def test_gcc_nan_policy():
    a, b = gappy_pair(2)
    # The unweighted GCC is the plain correlation: the same omit rule.
    got = gcc(a, b, weighting="none", nan_policy="omit").values
    np.testing.assert_allclose(got, reference(a, b, None, True), atol=1e-12)
    assert np.all(np.isnan(gcc(a, b).values))  # 'propagate': NaN throughout
    clean = np.nan_to_num(a), np.nan_to_num(b)
    np.testing.assert_allclose(
        gcc(*clean, nan_policy="omit").values, gcc(*clean).values, atol=1e-14
    )


def test_estimate_delay_nan_policy():
    r = np.random.default_rng(3)
    a = r.standard_normal(600)
    b = np.roll(a, 9)
    a[::31] = np.nan
    b[5::43] = np.nan
    assert np.isnan(float(estimate_delay(a, b)))  # was -99994.0, a wrong number
    for kw in ({}, {"method": "gcc"}, {"method": "gcc", "weighting": "scot"}):
        got = float(estimate_delay(a, b, nan_policy="omit", subsample=False, **kw))
        assert got == 9.0, kw
        assert abs(float(estimate_delay(a, b, nan_policy="omit", **kw)) - 9) < 0.05
    f = jax.jit(lambda x, y: estimate_delay(x, y, nan_policy="omit"))
    np.testing.assert_allclose(f(a, b), estimate_delay(a, b, nan_policy="omit"))
    assert np.isnan(float(jax.jit(estimate_delay)(a, b)))


def test_nan_policy_errors():
    a, b = gappy_pair(4)
    clean = np.nan_to_num(b)
    with pytest.raises(ValueError, match="`a` contains NaN and nan_policy='raise'"):
        xcorr(a, clean, nan_policy="raise")
    with pytest.raises(ValueError, match="`b` contains NaN and nan_policy='raise'"):
        gcc(clean, b, nan_policy="raise")
    with pytest.raises(ValueError, match="`a` contains NaN and nan_policy='raise'"):
        estimate_delay(a, clean, nan_policy="raise")
    for f in (xcorr, gcc, estimate_delay):
        with pytest.raises(ValueError, match="`nan_policy` must be one of"):
            f(a, b, nan_policy="ignore")
