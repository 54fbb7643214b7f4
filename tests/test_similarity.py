"""Tests of probconv.similarity: xcorr, gcc, acf, ccf (references: numpy,
scipy.signal, statsmodels, brute-force Pearson sums in float64).

Delay estimation, template matching and rolling correlation are tested in
test_similarity_delay.py, test_similarity_template.py and
test_similarity_rolling.py, with the tolerances of the table below; missing
values of xcorr, gcc and estimate_delay in test_similarity_missing.py, and
every function over every input dtype in test_similarity_dtypes.py.
"""

import warnings
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.signal
import scipy.stats
import statsmodels.tsa.stattools as st
from _reference import check_grads
from hypothesis import example, given
from hypothesis import strategies as hst

import probconv.similarity as sim
from probconv.similarity import acf, ccf, gcc, xcorr

# Tolerance table (absolute, on values of order one; for raw correlations
# relative to the largest reference value). Justification: the engine's FFT
# path errs by about eps * ||a|| * ||b|| on every lag (a few hundred eps for
# the sizes here); running-sum Pearson coefficients err by about
# eps * n / m (n the length, m the overlap), again a few hundred eps here.
TOL = {
    "float64": 1e-10,
    "float32": 2e-4,
}


def rng(seed=0):
    return np.random.default_rng(seed)


def brute_pearson(a, b, lags):
    """Pearson of the overlapping parts at each lag, in float64, by loops."""
    out = []
    for k in lags:
        n = [i for i in range(len(b)) if 0 <= i + k < len(a)]
        x = np.array([a[i + k] for i in n])
        y = np.array([b[i] for i in n])
        if len(n) < 2 or np.all(x == x[0]) or np.all(y == y[0]):
            out.append(0.0)
            continue
        xc, yc = x - x.mean(), y - y.mean()
        out.append(
            np.sum(xc * np.conj(yc))
            / np.sqrt(np.sum(np.abs(xc) ** 2) * np.sum(np.abs(yc) ** 2))
        )
    return np.array(out)


# --------------------------------------------------------------------- API


def test_every_public_name_has_a_docstring():
    for name in sim.__all__:
        doc = getattr(sim, name).__doc__
        assert doc and len(doc.strip()) > 20, name


# ------------------------------------------------------------------- xcorr


@pytest.mark.parametrize("method", ["direct", "fft"])
@pytest.mark.parametrize("na,nb", [(37, 37), (50, 21), (13, 40)])
def test_xcorr_raw_matches_numpy_and_scipy(method, na, nb):
    r = rng(na + nb)
    a, b = r.standard_normal(na), r.standard_normal(nb)
    lags, c = xcorr(a, b, method=method)
    np.testing.assert_array_equal(lags, scipy.signal.correlation_lags(na, nb))
    ref = np.correlate(a, b, "full")
    np.testing.assert_allclose(c, ref, atol=TOL["float64"] * np.abs(ref).max())
    ref2 = scipy.signal.correlate(a, b, "full")
    np.testing.assert_allclose(c, ref2, atol=TOL["float64"] * np.abs(ref).max())


def test_xcorr_complex_and_maxlag():
    r = rng(1)
    a = r.standard_normal(30) + 1j * r.standard_normal(30)
    b = r.standard_normal(25) + 1j * r.standard_normal(25)
    lags, c = xcorr(a, b)
    ref = np.correlate(a, b, "full")
    np.testing.assert_allclose(c, ref, atol=TOL["float64"] * np.abs(ref).max())
    for m in (0, 5, 40):
        lm, cm = xcorr(a, b, maxlag=m)
        np.testing.assert_array_equal(lm, np.arange(-m, m + 1))
        full = dict(zip(lags.tolist(), ref))
        want = np.array([full.get(k, 0) for k in lm])
        np.testing.assert_allclose(cm, want, atol=TOL["float64"] * np.abs(ref).max())


def test_xcorr_biased_unbiased():
    r = rng(2)
    a, b = r.standard_normal(20), r.standard_normal(12)
    lags, raw = xcorr(a, b)
    _, biased = xcorr(a, b, normalize="biased")
    _, unbiased = xcorr(a, b, normalize="unbiased")
    overlap = np.array([sum(0 <= i + k < 20 for i in range(12)) for k in lags])
    np.testing.assert_allclose(biased, np.asarray(raw) / 20, atol=1e-12)
    np.testing.assert_allclose(unbiased, np.asarray(raw) / overlap, atol=1e-12)
    _, um = xcorr(a, b, normalize="unbiased", maxlag=25)
    assert np.all(np.asarray(um)[:2] == 0) and np.all(np.asarray(um)[-6:] == 0)


@pytest.mark.parametrize("maxlag", [None, 45])
def test_xcorr_pearson_matches_brute_force(maxlag):
    r = rng(3)
    a, b = r.standard_normal(40), r.standard_normal(25)
    a[5:19] = 2.5  # constant stretches: overlaps inside them have no variance
    b[:9] = -1.0
    lags, c = xcorr(a, b, normalize="coeff", maxlag=maxlag)
    np.testing.assert_allclose(c, brute_pearson(a, b, lags), atol=TOL["float64"])
    _, c2 = xcorr(a, b, normalize="pearson", maxlag=maxlag)
    np.testing.assert_array_equal(c, c2)


def test_xcorr_pearson_huge_offset_no_cancellation():
    # 1e8 + noise: naive sums of squares lose ~16 digits; the shift keeps them.
    r = rng(4)
    a = 1e8 + r.standard_normal(60)
    b = 1e8 + r.standard_normal(35)
    a[20:30] = 1e8 + 3.0
    lags, c = xcorr(a, b, normalize="coeff")
    # a - 1e8 is exact in float64, so this reference sees the same data.
    ref = brute_pearson(a - 1e8, b - 1e8, lags)
    np.testing.assert_allclose(c, ref, atol=1e-9)
    assert np.all(np.abs(np.asarray(c)) <= 1)


def test_xcorr_pearson_complex():
    r = rng(5)
    a = r.standard_normal(20) + 1j * r.standard_normal(20)
    b = r.standard_normal(15) + 1j * r.standard_normal(15)
    lags, c = xcorr(a, b, normalize="coeff")
    np.testing.assert_allclose(c, brute_pearson(a, b, lags), atol=TOL["float64"])


def test_xcorr_float32():
    r = rng(6)
    a = r.standard_normal(64).astype(np.float32)
    b = r.standard_normal(48).astype(np.float32)
    lags, c = xcorr(a, b, normalize="coeff")
    assert c.dtype == jnp.float32
    ref = brute_pearson(a.astype(float), b.astype(float), lags)
    np.testing.assert_allclose(c, ref, atol=TOL["float32"])
    _, raw = xcorr(a, b)
    ref = np.correlate(a.astype(float), b.astype(float), "full")
    np.testing.assert_allclose(raw, ref, atol=TOL["float32"] * np.abs(ref).max())


def test_xcorr_axis_and_batch_broadcast():
    r = rng(7)
    a = r.standard_normal((30, 4))
    b = r.standard_normal(20)
    lags, c = xcorr(a, b[:, None], axis=0, normalize="coeff")
    assert c.shape == (49, 4)
    for j in range(4):
        _, cj = xcorr(a[:, j], b, normalize="coeff")
        np.testing.assert_allclose(c[:, j], cj, atol=1e-14)


def test_xcorr_jit_vmap_grad():
    r = rng(8)
    a = jnp.asarray(r.standard_normal(24))
    b = jnp.asarray(r.standard_normal(16))

    def f(a, b):
        return xcorr(a, b, normalize="coeff", maxlag=6).values

    np.testing.assert_allclose(jax.jit(f)(a, b), f(a, b), atol=1e-14)
    batch = jnp.asarray(r.standard_normal((3, 24)))
    loop = jnp.stack([f(x, b) for x in batch])
    # vmap under jit: one program (eager vmap compiles one per operation)
    np.testing.assert_allclose(
        jax.jit(jax.vmap(f, (0, None)))(batch, b), loop, atol=1e-14
    )
    check_grads(jax.jit(f), (a, b), order=1, modes=("fwd", "rev"))
    check_grads(
        jax.jit(lambda a, b: xcorr(a, b, normalize="unbiased").values), (a, b), 1
    )


@given(
    # Each pair of lengths compiles its own programs: the shortest lengths
    # and a longer pair, plus the explicit example's (9, 17).
    na=hst.sampled_from([1, 24]),
    nb=hst.sampled_from([2, 17]),
    run=hst.integers(0, 12),
    offset=hst.sampled_from([0.0, 1e8, -3e5]),
    seed=hst.integers(0, 2**31),
)
# XLA once centred the cross sums and the window sums by shifts an ulp of
# 1e8 apart (the mean's scaling contracted differently in two fusions): a
# two-point coefficient of exactly 1 came out 0.999999.
@example(na=9, nb=17, run=4, offset=1e8, seed=122)
def test_xcorr_pearson_property(na, nb, run, offset, seed):
    r = rng(seed)
    a = offset + r.standard_normal(na)
    b = offset + r.standard_normal(nb)
    a[: min(run, na)] = offset + 1.0
    lags, c = xcorr(a, b, normalize="coeff")
    c = np.asarray(c)
    assert np.all(np.isfinite(c)) and np.all(np.abs(c) <= 1)
    ref = brute_pearson(a - offset, b - offset, lags)
    np.testing.assert_allclose(c, ref, atol=1e-8)


def test_xcorr_errors():
    with pytest.raises(ValueError, match="`normalize` must be one of"):
        xcorr([1.0, 2.0], [1.0], normalize="coef")
    with pytest.raises(ValueError, match="`maxlag` must be at least 0; got -1"):
        xcorr([1.0, 2.0], [1.0], maxlag=-1)
    with pytest.raises(TypeError, match="`maxlag` must be an integer"):
        xcorr([1.0, 2.0], [1.0], maxlag=1.5)
    with pytest.raises(
        ValueError, match="`axis` entry 1 is out of range for an array of 1"
    ):
        xcorr([1.0, 2.0], [1.0], axis=1)
    with pytest.raises(ValueError, match="`b` must not be empty"):
        xcorr([1.0, 2.0], [])
    with pytest.raises(TypeError, match="`a` must be a numeric array"):
        xcorr(["x", "y"], [1.0])
    with pytest.raises(ValueError, match="`a` must have at least one dimension"):
        xcorr(1.0, [1.0])
    with pytest.raises(ValueError, match="must broadcast"):
        xcorr(np.ones((3, 5)), np.ones((2, 5)))


# --------------------------------------------------------------------- gcc


def numpy_gcc(a, b, weighting, maxlag=None):
    """GCC by numpy.fft with the documented padding and weights."""
    na, nb = len(a), len(b)
    need = na + nb - 1 if maxlag is None else min(na + nb - 1, max(na, nb) + maxlag)
    p = scipy.fft.next_fast_len(need, real=True)
    fa, fb = np.fft.rfft(a, p), np.fft.rfft(b, p)
    g = fa * np.conj(fb)
    if weighting == "phat":
        den = np.abs(g)
        g = g / np.maximum(den, np.finfo(float).eps * den.max())
    r = np.fft.irfft(g, p)
    lags = np.arange(-(nb - 1), na)
    if maxlag is not None:
        lags = lags[np.abs(lags) <= maxlag]
    return r[lags % p]


def test_gcc_none_is_xcorr_and_phat_matches_numpy():
    r = rng(9)
    a, b = r.standard_normal(50), r.standard_normal(33)
    lags, c = gcc(a, b, weighting="none")
    _, ref = xcorr(a, b)
    np.testing.assert_allclose(c, ref, atol=TOL["float64"] * np.abs(ref).max())
    lags, c = gcc(a, b)
    np.testing.assert_allclose(c, numpy_gcc(a, b, "phat"), atol=TOL["float64"])
    # With maxlag the transform is shorter (max(na, nb) + maxlag).
    for m in (10, 40):
        lm, cm = gcc(a, b, maxlag=m)
        want = numpy_gcc(a, b, "phat", m)
        inside = (lm >= -(33 - 1)) & (lm <= 50 - 1)
        np.testing.assert_allclose(np.asarray(cm)[inside], want, atol=TOL["float64"])
        assert np.all(np.asarray(cm)[~inside] == 0)
        lm, cm = gcc(a, b, maxlag=m, weighting="none")
        np.testing.assert_allclose(cm, xcorr(a, b, maxlag=m).values, atol=1e-12)


def test_gcc_roth_recovers_impulse_response():
    # a = h * b exactly (zero-padded linear convolution): G_ab / G_bb = H.
    r = rng(10)
    b = r.standard_normal(64)
    h = np.array([1.0, -0.5, 0.25, 0.0, 0.3])
    a = np.convolve(b, h)
    lags, c = gcc(a, b, weighting="roth")
    got = np.asarray(c)[np.searchsorted(lags, 0) + np.arange(5)]
    np.testing.assert_allclose(got, h, atol=1e-9)


def test_gcc_scot_equals_phat_without_smoothing_and_differs_with_it():
    r = rng(11)
    a, b = r.standard_normal(40), r.standard_normal(40)
    _, phat = gcc(a, b, weighting="phat")
    _, scot = gcc(a, b, weighting="scot")
    np.testing.assert_allclose(scot, phat, atol=1e-12)
    _, scot5 = gcc(a, b, weighting="scot", smooth=5)
    assert np.max(np.abs(np.asarray(scot5) - np.asarray(phat))) > 1e-3


def test_gcc_grad_and_errors():
    r = rng(12)
    a, b = jnp.asarray(r.standard_normal(20)), jnp.asarray(r.standard_normal(20))
    check_grads(jax.jit(lambda a, b: gcc(a, b, maxlag=4).values), (a, b), order=1)
    check_grads(
        jax.jit(lambda a, b: gcc(a, b, weighting="scot", smooth=3).values),
        (a, b),
        order=1,
    )
    with pytest.raises(ValueError, match="`weighting` must be one of"):
        gcc(a, b, weighting="hat")
    with pytest.raises(ValueError, match="`smooth` must be an odd positive"):
        gcc(a, b, smooth=4)


# --------------------------------------------------------------------- acf


def sm_acf(x, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return st.acf(x, result_object=False, **kw)


@pytest.mark.parametrize("fft", [False, True])
@pytest.mark.parametrize("adjusted", [False, True])
def test_acf_matches_statsmodels(fft, adjusted):
    x = np.cumsum(rng(13).standard_normal(400))  # strongly autocorrelated
    for nlags in (None, 30, 399):
        ref = sm_acf(x, nlags=nlags, adjusted=adjusted, fft=fft)
        got = acf(x, nlags, adjusted=adjusted)
        np.testing.assert_allclose(got, ref, atol=TOL["float64"])
    ref = st.acovf(x, adjusted=adjusted, demean=False, fft=fft)
    got = acf(x, 20, adjusted=adjusted, demean=False)
    np.testing.assert_allclose(got, ref[:21] / ref[0], atol=TOL["float64"])


@pytest.mark.parametrize("bartlett", [True, False])
def test_acf_confint_matches_statsmodels(bartlett):
    x = rng(14).standard_normal(300)
    ref, ref_ci = sm_acf(x, nlags=25, alpha=0.05, bartlett_confint=bartlett)
    got, ci = acf(x, 25, alpha=0.05, bartlett_confint=bartlett)
    np.testing.assert_allclose(got, ref, atol=TOL["float64"])
    np.testing.assert_allclose(ci, ref_ci, atol=TOL["float64"])


def test_acf_huge_offset_and_constant_series():
    x = 1e8 + rng(15).standard_normal(500)
    x[100:200] = 1e8 + 0.5
    ref = sm_acf(x - 1e8, nlags=40)  # exact shift: the same series
    np.testing.assert_allclose(acf(x, 40), ref, atol=1e-12)
    assert np.all(np.isnan(np.asarray(acf(np.full(10, 3.0), 3))))


def test_acf_batch_axis_jit_vmap_grad_float32():
    r = rng(16)
    x = r.standard_normal((50, 3))
    got = acf(x, 10, axis=0)
    for j in range(3):
        np.testing.assert_allclose(got[:, j], sm_acf(x[:, j], nlags=10), atol=1e-12)
    rho, ci = acf(x, 10, axis=0, alpha=0.1)
    assert rho.shape == (11, 3) and ci.shape == (11, 3, 2)
    xj = jnp.asarray(x.T)

    def f(v):
        return acf(v, 6, alpha=0.05)[1]

    np.testing.assert_allclose(jax.jit(f)(xj[0]), f(xj[0]), atol=1e-14)
    np.testing.assert_allclose(
        jax.jit(jax.vmap(f))(xj), jnp.stack([f(v) for v in xj]), atol=1e-14
    )
    check_grads(jax.jit(f), (xj[0],), order=1)
    x32 = x[:, 0].astype(np.float32)
    got32 = acf(x32, 10)
    assert got32.dtype == jnp.float32
    np.testing.assert_allclose(got32, sm_acf(x[:, 0], nlags=10), atol=TOL["float32"])


def series_with_gaps(seed=20, n=200):
    """An autocorrelated series and a copy with NaNs (a run of two included)."""
    r = rng(seed)
    x = 0.1 * np.cumsum(r.standard_normal(n)) + r.standard_normal(n)
    xn = x.copy()
    xn[[3, n // 4, n // 4 + 1, n // 2, n - 1]] = np.nan
    return x, xn


@pytest.mark.parametrize("missing", ["none", "conservative", "drop"])
@pytest.mark.parametrize("adjusted", [False, True])
def test_acf_qstat_confint_missing_match_statsmodels(missing, adjusted):
    for x in series_with_gaps():
        ref = sm_acf(
            x, nlags=20, adjusted=adjusted, qstat=True, alpha=0.05, missing=missing
        )
        got = acf(x, 20, adjusted=adjusted, qstat=True, alpha=0.05, missing=missing)
        assert len(got) == 4
        for g, want in zip(got, ref):
            # statsmodels' 'none' with NaN: NaN everywhere, as here.
            np.testing.assert_allclose(g, want, rtol=1e-10, atol=1e-12)
        if missing != "none":
            policy = {"conservative": "omit"}.get(missing)
            if policy:
                same = acf(x, 20, adjusted=adjusted, nan_policy=policy)
                np.testing.assert_array_equal(same, got[0])


def test_acf_return_conventions_follow_statsmodels():
    x = series_with_gaps()[0]
    assert isinstance(acf(x, 5), jax.Array)
    rho, ci = acf(x, 5, alpha=0.1)
    assert ci.shape == (6, 2)
    rho, q, p = acf(x, 5, qstat=True)
    ref, ref_q, ref_p = sm_acf(x, nlags=5, qstat=True)
    assert q.shape == p.shape == (5,)
    np.testing.assert_allclose(q, ref_q, rtol=1e-12)
    np.testing.assert_allclose(p, ref_p, rtol=1e-10)
    np.testing.assert_allclose(p, scipy.stats.chi2.sf(ref_q, np.arange(1, 6)))
    # Batched: the lag axis where `axis` was, the interval's last.
    xb = np.stack([x, x[::-1]], axis=1)
    rho, ci, q, p = acf(xb, 5, axis=0, alpha=0.1, qstat=True)
    assert rho.shape == (6, 2) and ci.shape == (6, 2, 2) and q.shape == (5, 2)
    np.testing.assert_allclose(q[:, 1], sm_acf(x[::-1], nlags=5, qstat=True)[1])


def test_acf_stata_corrgram_reference():
    """statsmodels' own published case: Stata's corrgram of US real GDP."""
    import pandas as pd
    import statsmodels.tsa
    from statsmodels.datasets import macrodata

    tsa = Path(statsmodels.tsa.__file__).parent
    path = tsa / "tests" / "results" / "results_corrgram.csv"
    if not path.exists():
        pytest.skip("statsmodels installed without its test results")
    stata = pd.read_csv(path)
    x = macrodata.load_pandas().data["realgdp"].to_numpy()
    rho, ci, q, p = acf(x, 40, qstat=True, alpha=0.05)
    np.testing.assert_allclose(rho[1:41], stata["acvar"], atol=1e-8)
    centred = np.asarray(ci) - np.asarray(rho)[:, None]
    np.testing.assert_allclose(
        centred[1:41], stata[["acvar_lb", "acvar_ub"]], atol=1e-8
    )
    np.testing.assert_allclose(q, stata["Q1"], atol=5e-4 * stata["Q1"].max())


def test_acf_qstat_missing_under_jit_vmap_grad():
    x, xn = series_with_gaps(21, 64)

    def f(v):
        rho, ci, q, p = acf(v, 6, qstat=True, alpha=0.05, missing="conservative")
        return jnp.concatenate([rho, ci.ravel(), q, p])

    for v in (x, xn):
        np.testing.assert_allclose(jax.jit(f)(v), f(v), rtol=1e-12, atol=1e-14)
    xs = jnp.stack([jnp.asarray(x), jnp.asarray(xn)])
    np.testing.assert_allclose(
        jax.jit(jax.vmap(f))(xs), jnp.stack([f(v) for v in xs]), rtol=1e-12, atol=1e-14
    )
    # 'drop' under jit: the values present are moved first, NaN beyond them.
    short = np.array([1.0, np.nan, 3.0, 2.0, np.nan, np.nan])
    got = jax.jit(lambda v: acf(v, 4, missing="drop"))(short)
    ref = sm_acf(short, nlags=2, missing="drop")
    np.testing.assert_allclose(got[:3], ref, atol=1e-15)
    assert np.all(np.isnan(got[3:]))
    check_grads(lambda v: acf(v, 4, qstat=True, missing="drop")[1], (xn,), order=1)


def test_acf_missing_errors():
    x, xn = series_with_gaps(22, 30)
    with pytest.raises(ValueError, match="`x` contains NaN and missing='raise'"):
        acf(xn, 3, missing="raise")
    with pytest.raises(ValueError, match="`x` contains NaN and nan_policy='raise'"):
        acf(xn, 3, nan_policy="raise")
    np.testing.assert_array_equal(acf(x, 3, missing="raise"), acf(x, 3))
    with pytest.raises(ValueError, match="`missing` must be one of"):
        acf(x, 3, missing="skip")
    with pytest.raises(ValueError, match="`nan_policy` must be one of"):
        acf(x, 3, nan_policy="drop")
    with pytest.raises(ValueError, match="Give `missing` .* or `nan_policy`, not both"):
        acf(x, 3, missing="drop", nan_policy="omit")
    # Under jit the values are unknown: 'raise' gives NaN, as documented.
    assert np.all(np.isnan(jax.jit(lambda v: acf(v, 3, missing="raise"))(xn)))


# --------------------------------------------------------------------- ccf


@pytest.mark.parametrize("fft", [False, True])
@pytest.mark.parametrize("adjusted", [False, True])
@pytest.mark.parametrize("ny", [200, 150, 260])
def test_ccf_matches_statsmodels(fft, adjusted, ny):
    r = rng(17)
    x = r.standard_normal(200)
    y = r.standard_normal(ny)
    for nlags in (None, 1, 37):
        ref = st.ccf(x, y, adjusted=adjusted, fft=fft, nlags=nlags)
        got = ccf(x, y, nlags, adjusted=adjusted)
        np.testing.assert_allclose(got, ref, atol=TOL["float64"])


def test_ccf_confint_offset_and_transforms():
    r = rng(18)
    x = 1e8 + r.standard_normal(120)
    y = -5e7 + r.standard_normal(120)
    ref, ref_ci = st.ccf(x - 1e8, y + 5e7, nlags=15, alpha=0.05)
    got, ci = ccf(x, y, 15, alpha=0.05)
    np.testing.assert_allclose(got, ref, atol=1e-11)
    np.testing.assert_allclose(ci, ref_ci, atol=1e-11)
    xs, ys = jnp.asarray(r.standard_normal((3, 40))), jnp.asarray(r.standard_normal(40))

    def f(a, b):
        return ccf(a, b, 8)

    np.testing.assert_allclose(jax.jit(f)(xs[0], ys), f(xs[0], ys), atol=1e-14)
    vf = jax.jit(jax.vmap(f, (0, None)))(xs, ys)  # one program, not one per op
    np.testing.assert_allclose(vf, jnp.stack([f(a, ys) for a in xs]), atol=1e-14)
    check_grads(jax.jit(f), (xs[0], ys), order=1)
    np.testing.assert_allclose(ccf(xs, ys, 8), vf, 0, 1e-14)


def ccf_omit_reference(x, y, nlags, adjusted):
    """ccf over the values present, by loops in float64 (no peer has one)."""
    u = np.where(np.isnan(x), 0, x - np.nanmean(x))
    v = np.where(np.isnan(y), 0, y - np.nanmean(y))
    px, py = ~np.isnan(x), ~np.isnan(y)
    out = []
    for k in range(nlags):
        m = min(len(x) - k, len(y))
        c = np.sum(u[k : k + m] * v[:m])
        d = max(np.sum(px[k : k + m] & py[:m]), 1) if adjusted else px.sum()
        out.append(c / d)
    return np.array(out) / (np.nanstd(x) * np.nanstd(y))


@pytest.mark.parametrize("adjusted", [False, True])
def test_ccf_nan_policy(adjusted):
    x, xn = series_with_gaps(23, 120)
    y = rng(24).standard_normal(100)
    yn = y.copy()
    yn[[0, 40, 41]] = np.nan
    ref = st.ccf(x, y, adjusted=adjusted, nlags=15)
    np.testing.assert_allclose(ccf(x, y, 15, adjusted=adjusted, nan_policy="omit"), ref)
    got = ccf(xn, yn, 15, adjusted=adjusted, nan_policy="omit")
    want = ccf_omit_reference(xn, yn, 15, adjusted)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-13)
    assert np.all(np.isnan(ccf(xn, y, 15)))  # 'propagate', the default
    with pytest.raises(ValueError, match="`y` contains NaN and nan_policy='raise'"):
        ccf(x, yn, 15, nan_policy="raise")
    rho, ci = ccf(xn, yn, 15, alpha=0.05, nan_policy="omit")
    hw = scipy.stats.norm.ppf(0.975) / np.sqrt(np.sum(~np.isnan(xn)))
    np.testing.assert_allclose(ci, np.asarray(rho)[:, None] + [-hw, hw], atol=1e-14)


def test_acf_ccf_errors():
    x = np.arange(10.0)
    with pytest.raises(
        ValueError, match="`nlags` must be at least 0 and at most 9; got 10"
    ):
        acf(x, 10)
    with pytest.raises(
        ValueError, match="`nlags` must be at least 1 and at most 10; got 0"
    ):
        ccf(x, x, 0)
    with pytest.raises(ValueError, match="`alpha` must lie strictly between"):
        acf(x, 3, alpha=1.5)
    with pytest.raises(TypeError, match="`alpha` must be a number"):
        ccf(x, x, 3, alpha="x")
    with pytest.raises(TypeError, match="`x` must be real"):
        acf(x + 1j, 3)
    with pytest.raises(TypeError, match="`nlags` must be an integer"):
        acf(x, 2.0)
