"""Compound (random) sums through the probability generating function."""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import scipy.special
from jax import lax

from ..conv import fft_nd, ifft_nd, spectral_length
from ._checks import check_accuracy, check_int, concrete
from ._families import Parametric
from ._grid import Distribution, _eps, make
from ._ops import _check_dist, _clip_to_total, _place

_CLOSED = ("bernoulli", "binomial", "poisson", "geometric", "negative_binomial")


def _pgf(fam: str, k: int, params: tuple, z):
    """Evaluate the generating function of a frequency at complex `z`.

    `fam` is a family name or ``'poly'`` (coefficients ``params[0]`` on
    ``k, k+1, ...``); `k` is the number of trials of a binomial law. The
    parameters' batch axes broadcast against those of `z`.
    """
    ps = [p[..., None] for p in params]
    if fam in ("bernoulli", "binomial"):
        (p,) = ps
        return (1 - p + p * z) ** k
    if fam == "poisson":
        (mu,) = ps
        return jnp.exp(mu * (z - 1))
    if fam == "geometric":
        (p,) = ps
        return p * z / (1 - (1 - p) * z)
    if fam == "negative_binomial":
        r, p = ps
        return (p / (1 - (1 - p) * z)) ** r
    # Horner's rule over the coefficients, highest first.
    c = jnp.moveaxis(params[0][..., None], -2, 0)[::-1]  # (K, ..., 1)

    def body(acc, ck):
        return acc * z + ck, None

    acc, _ = lax.scan(body, jnp.zeros_like(z * c[0]), c)
    return acc * z**k


def _frequency_spec(n: Distribution):
    """Return ``(fam, k, params, log_pgf_np, total, shift)`` for `n`; see `_pgf`."""
    if isinstance(n, Parametric) and n.family in _CLOSED:
        fam = n.family
        cp = [concrete(p) for p in n.params]
        known = all(c is not None for c in cp)
        cp = [np.asarray(c, np.float64) if known else None for c in cp]
        k = n.size - 1 if fam in ("bernoulli", "binomial") else 0
        if fam in ("bernoulli", "binomial"):

            def lg(z):
                return k * np.log1p(cp[0] * (z - 1))

        elif fam == "poisson":

            def lg(z):
                return cp[0] * (z - 1)

        elif fam == "geometric":

            def lg(z):
                d = 1 - (1 - cp[0]) * z
                with np.errstate(divide="ignore", invalid="ignore"):
                    return np.where(d > 0, np.log(cp[0] * z) - np.log(d), np.inf)

        else:

            def lg(z):
                d = 1 - (1 - cp[1]) * z
                with np.errstate(divide="ignore", invalid="ignore"):
                    return np.where(d > 0, cp[0] * (np.log(cp[1]) - np.log(d)), np.inf)

        total = jnp.ones(n.batch_shape, n.dtype)
        return fam, k, tuple(n.params), (lg if known else None), total, 0
    if n.kind != "lattice" or n.step != 1.0:
        raise ValueError(
            "The frequency `N` must be a lattice on the integers (step 1); got "
            f"kind={n.kind!r}, step={n.step!r}."
        )
    o = concrete(n.origin)
    if o is None:
        raise ValueError(
            "The frequency `N` must have a concrete origin (its grid start); it is "
            "traced here."
        )
    o = np.asarray(o)
    if o.size and (np.any(o != np.round(o)) or np.any(o < 0) or np.ptp(o) != 0):
        raise ValueError(
            "The frequency `N` must live on 0, 1, 2, ... : its origin must be a "
            f"non-negative integer shared by the batch; got {o.tolist()!r}."
        )
    shift = int(o.ravel()[0]) if o.size else 0
    cm = concrete(n.masses)

    def lg(z):
        k = shift + np.arange(cm.shape[-1])
        with np.errstate(divide="ignore"):
            lm = np.log(np.clip(np.asarray(cm, np.float64), 0, None))
            return scipy.special.logsumexp(lm + np.log(z) * k, -1)

    lg = lg if cm is not None else None
    return "poly", shift, (n.masses,), lg, n.total + n.truncated, shift


def _frequency(n: Distribution):
    """Return ``(pgf, log_pgf_np, total, shift)`` for the frequency `n`.

    `pgf` maps complex transforms to the frequency's generating function
    (batch axes broadcast, the transform axis last); `log_pgf_np` is the
    same in NumPy on real ``z >= 1`` for the tail bound, or None when the
    parameters are traced.
    """
    fam, k, params, lg, total, shift = _frequency_spec(n)
    return functools.partial(_pgf, fam, k, params), lg, total, shift


@functools.partial(jax.jit, static_argnames=("fam", "k", "size", "length"))
def _transform(params, xm, offs, tilt, *, fam, k, size, length):
    """Masses of S on ``0..size-1`` by one tilted FFT pair (see `compound`)."""
    dt = xm.dtype
    xm = _place(xm, offs, size + xm.shape[-1])[..., :size]
    kx = jnp.arange(size, dtype=dt)
    xt = xm * jnp.exp(-tilt * kx / length)
    f = fft_nd(xt, (length,), (-1,), True, ordered=False)
    y = ifft_nd(_pgf(fam, k, params, f), (length,), (-1,), True, ordered=False)
    y = y[..., :size]
    y = y.astype(dt) * jnp.exp(tilt * kx / length)
    return _clip_to_total(y)


def _cgf(log_mgf_x, lg, thetas: np.ndarray) -> np.ndarray:
    """``log G_N(M_X(t))`` at each `t`, cached on `log_mgf_x` (a closure)."""
    cache = log_mgf_x.__dict__.setdefault("_cgf", {})
    key = (id(lg), thetas.tobytes())
    if key not in cache:
        out = np.empty(thetas.shape)
        for i, t in enumerate(thetas):
            with np.errstate(over="ignore", invalid="ignore"):
                out[i] = float(np.max(lg(np.exp(np.max(log_mgf_x(t))))))
        cache[key] = (lg, out)  # holding `lg` keeps its id unique
    return cache[key][1]


def _log_tail_bound(log_mgf_x, lg, s_points: np.ndarray, thetas: np.ndarray):
    """Chernoff: ``log P(S >= s) <= min_t log G_N(M_X(t)) - t s`` per `s`.

    Batches take the largest bound (`G_N` increases with its argument).
    """
    k = _cgf(log_mgf_x, lg, thetas)
    keep = np.isfinite(k)
    if not keep.any():
        return np.full(np.shape(s_points), np.inf)
    s = np.asarray(s_points, np.float64)
    vals = k[keep][None, :] - thetas[keep][None, :] * s.reshape(-1, 1)
    return vals.min(axis=1).reshape(s.shape)


def _chernoff_size(log_mgf_x, lg, thetas, span, tail) -> int:
    """Smallest grid length beyond which the Chernoff bound is below `tail`."""
    hi = np.logspace(0, 12, 400) * max(span, 1)
    bound = _log_tail_bound(log_mgf_x, lg, hi, thetas)
    ok = np.nonzero(bound <= math.log(tail))[0]
    if ok.size == 0:
        raise ValueError(
            "The tail of `S` decays too slowly for a grid of 10**12 points; "
            "pass `size` (and a `tilt`)."
        )
    lo_s = hi[ok[0] - 1] if ok[0] > 0 else 0.0
    fine = np.linspace(lo_s, hi[ok[0]], 200)
    fb = _log_tail_bound(log_mgf_x, lg, fine, thetas)
    size = int(np.ceil(fine[np.nonzero(fb <= math.log(tail))[0][0]])) + 1
    if size > 10**8:
        raise ValueError(
            f"The grid would need {size} points; pass a smaller `size` with a "
            "`tilt`, or a larger `tail`."
        )
    return size


def compound(
    N: Distribution,
    X: Distribution,
    *,
    size: int | None = None,
    tail: float | None = None,
    padding: int = 1,
    tilt: float | None = None,
    accuracy: str = "absolute",
    full_output: bool = False,
):
    r"""Law of the random sum :math:`S = X_1 + \dots + X_N`.

    `N` (the frequency) is independent of the iid severities :math:`X_i`
    with the law `X`. Computed in the Fourier domain: the frequency's
    probability generating function applied to the transform of `X`, one
    forward and one inverse real FFT, with the wrap-around of the circular
    transform suppressed by padding and exponential tilting.

    Parameters
    ----------
    N : Distribution
        The frequency. `poisson`, `binomial`, `negative_binomial`,
        `geometric` and `bernoulli` use their closed-form generating
        function (exact whatever their grid); any other lattice on
        ``0, 1, 2, ...`` (step 1) uses its masses as polynomial
        coefficients (Horner's rule; cost grows with its length).
    X : Distribution
        The severity: a lattice whose grid starts at a non-negative
        multiple of its step (``X >= 0``), or a density on cells centred on
        multiples of its step, empty below 0 (a continuous severity: the
        result is then a mixed law with its atom :math:`P(N = 0)` at 0,
        fourth order where its density is smooth). Where its origin is traced and
        breaks this, the masses are NaN.
    size : int, optional
        Number of grid points of `S` kept, ``0, h, ..., (size-1) h``.
        Default: from a Chernoff bound on :math:`P(S \ge s)` so that the
        mass beyond is below `tail` (needs concrete values; required under
        `jax.jit` or `jax.vmap`).
    tail : float, optional
        Target mass beyond the grid for the default `size` (default:
        machine epsilon of the dtype).
    padding : int
        The transform length is the fast length ``>= size * 2**padding``
        (default 1: doubling), as in the aggregate package.
    tilt : float, optional
        Exponential tilt :math:`c \ge 0`: masses are weighted by
        :math:`\theta^k`, :math:`\theta = e^{-c/P}`, before the transform
        and unweighted after, which damps the mass wrapped around by
        :math:`e^{-c}` and amplifies round-off by at most
        :math:`e^{c \cdot \mathrm{size}/P}`. Default: the value that
        balances the two from the Chernoff bound where values are concrete,
        0 where they are traced.
    accuracy : {'absolute', 'relative'}
        ``'absolute'`` (default, fastest): plain convolution; every mass has
        an absolute error near ``eps * max(masses)``, so masses far below
        the largest are noise (clipped at 0, never negative).
        ``'relative'``: exponentially tilted FFTs (see
        `probconv.distributions.RelativeDistribution`); every mass keeps a small
        relative error (about 1e-10 in float64, 1e-4 in float32) however
        small it is, and the log-space queries reach far below the smallest
        float. Returns a `RelativeDistribution`; the FFT length is at least
        four times `size`, and `tilt` and `padding` are not used.
    full_output : bool
        Also return a dict of diagnostics: ``fft_length``, ``tilt``,
        ``alias_bound`` (a bound on the mass wrapped around into the kept
        grid; a Chernoff bound where concrete, else ``e^{-c}`` times the
        truncated mass) and ``noise_bound``.

    Returns
    -------
    Distribution, or (Distribution, dict) with `full_output`
        A lattice from 0 with the step of `X`. Its `truncated` is the mass
        of `S` beyond the grid, plus any mass the inputs had lost.

    Raises
    ------
    TypeError
        If `N` or `X` is not a Distribution, or static arguments are not.
    ValueError
        For an `X` below 0 or off its own grid from 0, a
        frequency off ``0, 1, 2, ...``, a traced input without `size`, a
        negative `tilt`, or an unknown `accuracy`.

    Notes
    -----
    With :math:`G_N(z) = E[z^N]` and :math:`\hat x_\ell = \sum_k \theta^k
    x_k e^{-2\pi i k\ell/P}`,

    .. math:: P(S = kh) \approx \theta^{-k} \frac{1}{P} \sum_{\ell}
              G_N(\hat x_\ell)\, e^{2\pi i k \ell/P},

    exact up to the aliased terms :math:`\sum_{j \ge 1} \theta^{jP}
    P(S = (k + jP) h) \le e^{-c} P(S \ge P h)`. Severity mass at or beyond
    ``size`` only reaches `S` at or beyond ``size``, so it is dropped before
    the transform.

    See Also
    --------
    iid_sum, poisson, negative_binomial

    Examples
    --------
    >>> from probconv import distributions as dist
    >>> s = dist.compound(dist.poisson(2.0), dist.bernoulli(0.5))
    >>> p1 = dist.poisson(1.0)   # thinning: Poisson(2) of Bernoulli(1/2)
    >>> bool(abs(s.pmf(3) - p1.pmf(3)) < 1e-15), float(s.truncated) < 1e-15
    (True, True)
    """
    if accuracy != "relative":
        check_accuracy(accuracy)
    N = _check_dist(N, "N")
    X = _check_dist(X, "X")
    padding = check_int(padding, "padding")
    if full_output not in (True, False):
        raise TypeError(f"`full_output` must be True or False; got {full_output!r}.")
    if X.kind == "density" and accuracy == "relative":
        raise ValueError(
            "`accuracy='relative'` needs a lattice severity (sums of densities "
            "use a correction it cannot keep accurate); `X` has kind='density'."
        )
    if X.kind == "density":
        from ._compound_density import compound_density

        return compound_density(
            N,
            X,
            size=size,
            tail=tail,
            padding=padding,
            tilt=tilt,
            full_output=full_output,
        )
    dt = jnp.result_type(X.dtype, N.dtype)
    eps = _eps(dt)
    if tail is None:
        tail = eps
    elif not (isinstance(tail, (int, float)) and 0 < tail < 1):
        raise ValueError(f"`tail` must lie in (0, 1); got {tail!r}.")
    if tilt is not None:
        if not isinstance(tilt, (int, float)) or isinstance(tilt, bool):
            raise TypeError(f"`tilt` must be a Python number; got {tilt!r}.")
        if not (math.isfinite(tilt) and tilt >= 0):
            raise ValueError(f"`tilt` must be finite and >= 0; got {tilt!r}.")
    # Severity on the grid 0, h, 2h, ...: grid offsets of the origins.
    kf = X.origin.astype(dt) / X.step
    kr = jnp.round(kf)
    okx = (jnp.abs(kf - kr) <= 1e-9 * jnp.maximum(1, jnp.abs(kf))) & (kr >= 0)
    o = concrete(X.origin)
    if o is not None and not np.all(concrete(okx)):
        raise ValueError(
            "The severity `X` must be >= 0 on a grid from 0: its origin must "
            f"be a non-negative multiple of its step {X.step}; got "
            f"{np.asarray(o).tolist()!r}."
        )
    j0 = concrete(kr)  # per batch row, where known
    xm = X.masses.astype(dt)
    fam, k_n, params, lg, n_total, _ = _frequency_spec(N)
    xc = concrete(xm)

    def log_mgf_x(t):
        kk = np.asarray(j0)[..., None] + np.arange(xc.shape[-1])
        with np.errstate(divide="ignore"):
            lm = np.log(np.clip(np.asarray(xc, np.float64), 0, None))
            return scipy.special.logsumexp(lm + t * kk, axis=-1)

    known = lg is not None and xc is not None and j0 is not None
    thetas = np.logspace(-10, 1.5, 185)
    if size is None:
        if not known:
            raise ValueError(
                "`size` must be given when `N` or `X` is traced (under jit or "
                "vmap): the length of the grid must be static."
            )
        span = int(np.max(j0, initial=0)) + xm.shape[-1]
        size = _chernoff_size(log_mgf_x, lg, thetas, span, tail)
    else:
        size = check_int(size, "size", 1)
    length = spectral_length(size * 2**padding)
    ratio = size / length
    if known:
        log_a = float(
            _log_tail_bound(log_mgf_x, lg, np.array([float(length)]), thetas)[0]
        )
        log_a = min(log_a, 0.0)
    else:
        log_a = None
    if tilt is None:
        if log_a is None:
            tilt = 0.0
        else:
            tilt = max(0.0, (log_a - math.log(eps * ratio)) / (1 + ratio))
    tilt = float(tilt)
    # Tilted severity, cut at `size` (mass beyond only reaches S >= size).
    offs = jnp.clip(jnp.where(okx, kr, 0), 0, size).astype(jnp.int32)
    if accuracy == "relative":
        from ._relative import relative_compound

        cut = _place(xm, offs, size + xm.shape[-1])[..., :size]
        out = relative_compound(N, cut, length, X.step, okx)
        if not full_output:
            return out
        return out, {"fft_length": max(length, 4 * size)}
    params = tuple(jnp.asarray(p, dt) for p in params)
    y = _transform(
        params,
        xm,
        offs,
        jnp.asarray(tilt, dt),
        fam=fam,
        k=k_n,
        size=size,
        length=length,
    )
    whole = jnp.asarray(n_total, dt)
    lost = jnp.maximum(whole - jnp.sum(y, -1), 0.0)
    good = jnp.broadcast_to(okx, lost.shape)
    y = jnp.where(good[..., None], y, jnp.nan)
    out = make(y, 0.0, lost, X.step, "lattice")
    if not full_output:
        return out
    alias = (
        math.exp(log_a - tilt) if log_a is not None else math.exp(-tilt) * out.truncated
    )
    info = {
        "fft_length": length,
        "tilt": tilt,
        "alias_bound": alias,
        "noise_bound": eps * math.exp(tilt * ratio),
    }
    return out, info
