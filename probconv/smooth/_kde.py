"""kde and kde_dist: binned kernel density estimates by one engine convolution."""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import ndtr
from jax.sharding import NamedSharding
from jax.typing import ArrayLike

from probconv import conv
from probconv.conv.internal import bounded_jit, split_axes

from .._checks import check_choice, check_int, concrete
from ._args import as_inexact, check_scale
from ._bandwidth import (
    bandwidth_1d,
    check_weights,
    covariance_rule,
    rule_1d,
    sample_covariance,
    weights_and_neff,
)
from ._binning import KERNELS, gaussian_2d, kernel_1d
from ._split import (
    binned,
    highest,
    lowest,
    on_mesh,
    prepare,
    sample_axes,
    split_call,
)

_DEFAULT_POINTS = {1: 1024, 2: 128}


def _samples_2d(samples):
    """Return the samples as ``(n, d)`` in the dtype computed in, and the result's."""
    x, result = as_inexact(samples, "samples", complex_ok=False)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[1] not in (1, 2) or x.shape[0] < 2:
        raise ValueError(
            "`samples` must have shape (n,) or (n, 1) for 1-D data or (n, 2) "
            f"for 2-D data, with n >= 2; got shape {np.shape(samples)}."
        )
    return x, result


def _bandwidth_cov(x, w, neff, bandwidth, d: int):
    """Return the kernel's covariance (d x d), or in 1-D its std (scalar)."""
    if isinstance(bandwidth, str):
        rule = bandwidth.lower()
        choices = ("scott", "silverman", "isj") if d == 1 else ("scott", "silverman")
        check_choice("bandwidth", rule, choices)
        if d == 1:
            return rule_1d(x[:, 0], w, neff, rule)
        return covariance_rule(x, w, neff, rule)
    bw = jnp.asarray(bandwidth, x.dtype)
    if d == 1:
        if bw.ndim != 0:
            raise ValueError(
                f"In 1-D `bandwidth` must be a scalar; got shape {bw.shape}."
            )
        check_scale("bandwidth", bw)
        return bw
    if bw.ndim == 0 or bw.shape == (2,):
        check_scale("bandwidth", bw)
        return jnp.diag(jnp.broadcast_to(bw, (2,)) ** 2)
    if bw.shape == (2, 2):
        bv = concrete(bw)
        if bv is not None and (
            not np.allclose(bv, bv.T) or np.any(np.linalg.eigvalsh(bv) <= 0)
        ):
            raise ValueError(
                "A (2, 2) `bandwidth` is the kernel's covariance matrix and must "
                f"be symmetric positive definite; got {bv.tolist()}."
            )
        return bw
    raise ValueError(
        "In 2-D `bandwidth` must be a rule name, a scalar, one standard "
        f"deviation per axis (shape (2,)) or a (2, 2) covariance; got shape {bw.shape}."
    )


def _grid_array(grid_axis, dtype, name: str) -> jax.Array:
    """Check an explicit grid axis: 1-D, two points or more, equally spaced."""
    g = jnp.asarray(grid_axis, dtype)
    if g.ndim != 1 or g.shape[0] < 2:
        raise ValueError(
            f"`{name}` must be an int or an equally spaced 1-D array of at least "
            f"two points; got shape {g.shape}."
        )
    gv = concrete(g)
    if gv is not None:
        d = np.diff(gv)
        if not (d > 0).all() or not np.allclose(d, d[0], rtol=1e-6, atol=0):
            raise ValueError(
                f"`{name}` must be increasing and equally spaced (linear binning "
                "needs a regular grid)."
            )
    return g


def kde(
    samples: ArrayLike,
    *,
    bandwidth: str | ArrayLike = "scott",
    grid: int | ArrayLike | Sequence | None = None,
    weights: ArrayLike | None = None,
    kernel: str = "gaussian",
    bounds: tuple | None = None,
    cut: float = 4.0,
) -> tuple:
    r"""Kernel density estimate on a regular grid, by binning and one convolution.

    Like KDEpy's ``FFTKDE`` and statsmodels' ``KDEUnivariate(fft=True)``,
    but never circular, with boundary correction for bounded data,
    weighted samples, a scale-equivariant ISJ bandwidth, 2-D data, and
    `jax.jit`/`jax.vmap`/`jax.grad` support (in the samples, the weights
    and the bandwidth).

    Parameters
    ----------
    samples : array_like
        Shape ``(n,)`` (or ``(n, 1)``) for 1-D data, ``(n, 2)`` for 2-D.
    bandwidth : str or array_like
        1-D: ``'scott'``, ``'silverman'``, ``'isj'`` (see `kde_bandwidth`)
        or a positive number, the kernel's standard deviation. 2-D:
        ``'scott'`` or ``'silverman'`` (`scipy.stats.gaussian_kde`'s
        factors times the data's covariance), a number (isotropic standard
        deviation), two numbers (one per axis) or a (2, 2) covariance.
    grid : int, array_like or sequence, optional
        Where the density is evaluated. None or an int ``m`` (per axis in
        2-D): ``m`` equally spaced points (default 1024 in 1-D, 128 per axis
        in 2-D) from ``cut`` bandwidths below the smallest sample to ``cut``
        above the largest. An equally spaced array (a pair of them in 2-D):
        those points; samples may lie outside it (they are binned on a grid
        three times as wide and still contribute).
    weights : array_like, optional
        Non-negative weights, one per sample (normalized to sum to one).
    kernel : str
        One of 'gaussian', 'epanechnikov', 'tophat', 'triangular',
        'biweight', 'triweight', 'cosine'; scaled so that `bandwidth` is its
        standard deviation (KDEpy's convention). 2-D supports ``'gaussian'``.
    bounds : (float or None, float or None), optional
        1-D only: the support of the data, e.g. ``(0, None)`` for positive
        data. The density is corrected by reflection at each finite bound
        (the samples' mirror images add their mass back inside) and the grid
        is the ``m`` cell centres between the bounds (or ``cut`` bandwidths
        past the data where a bound is None); `grid` must be None or an int.
    cut : float
        How many bandwidths the automatic grid extends beyond the data.

    Returns
    -------
    grid : jax.Array or tuple of jax.Array
        1-D: the ``m`` grid points. 2-D: a pair of 1-D axes ``(g1, g2)``.
    density : jax.Array
        The estimated density at the grid points, shape ``(m,)`` or
        ``(m1, m2)`` (``density[i, j]`` at ``(g1[i], g2[j])``).

    Raises
    ------
    ValueError
        For bad shapes, an unknown kernel or rule, a non-positive bandwidth,
        bad weights, a grid that is not equally spaced, bounds in 2-D or
        with an explicit grid array, or (concrete) samples outside `bounds`.

    See Also
    --------
    kde_dist, kde_bandwidth, scipy.stats.gaussian_kde

    Notes
    -----
    The estimate is :math:`\hat f(x) = \sum_i w_i K_h(x - x_i)`. Linear
    binning moves each sample's weight to the two grid points around it
    (four in 2-D), in proportion to its proximity, giving counts
    :math:`c_j`; then

    .. math:: \hat f(g_k) \approx \sum_j c_j K_h\big((k - j)\,\delta\big),

    one linear (never circular) convolution by the engine, with the kernel
    evaluated at every lag the grid needs. The binning error is
    :math:`O(\delta^2)` for grid spacing :math:`\delta`. Reflection adds
    :math:`\hat f(2a - x)` (and :math:`\hat f(2b - x)`) inside the bounds
    :math:`[a, b]`, so the estimate integrates to one over them. FFT
    rounding below zero (about :math:`\epsilon` times the peak) is clipped
    to zero. Samples
    outside `bounds` are dropped under `jax.jit` (checked eagerly
    otherwise).

    Samples (or weights) split over devices along the sample axis (a
    `jax.sharding.NamedSharding`; under `jax.jit` a mesh of `Explicit`
    axes) are never gathered: each device bins its own samples on the
    shared grid and the counts are summed across devices, as are the
    weights' totals, the moments and the extremes; the quartiles of the
    rules of thumb are selected exactly without sorting. The grid and the
    density come back on every device (replicated), equal to the
    one-device estimate to rounding. See the sharding guide.

    Examples
    --------
    >>> import numpy as np
    >>> from probconv.smooth import kde
    >>> x = np.random.default_rng(0).normal(size=500)
    >>> grid, dens = kde(x, bandwidth=0.3, grid=np.linspace(-4, 4, 801))
    >>> dens[::100].round(3).tolist()
    [0.005, 0.01, 0.042, 0.267, 0.365, 0.248, 0.057, 0.006, 0.0]
    >>> grid, dens = kde(np.abs(x), bandwidth=0.2, bounds=(0, None), grid=256)
    >>> round(float(dens.sum() * (grid[1] - grid[0])), 6)
    1.0
    """
    x, result = _samples_2d(samples)
    points, dens, _, _ = _estimate(x, bandwidth, grid, weights, kernel, bounds, cut)
    if isinstance(points, tuple):
        return tuple(p.astype(result) for p in points), dens.astype(result)
    return points.astype(result), dens.astype(result)


def _estimate(x, bandwidth, grid, weights, kernel, bounds, cut):
    """Kde's work on checked ``(n, d)`` samples; also the bandwidth and weights."""
    check_choice("kernel", kernel, tuple(KERNELS))
    check_scale("cut", cut)
    n, d = x.shape
    wts = check_weights(weights, n)
    if d == 2 and kernel != "gaussian":
        raise ValueError(f"2-D estimates support kernel='gaussian'; got {kernel!r}.")
    if bounds is not None and d == 2:
        raise ValueError("`bounds` (reflection) is supported for 1-D data only.")
    if 1 in split_axes(x):
        raise ValueError(
            "`samples` are split over devices along their second axis (the "
            "coordinates); a density estimate needs each sample's coordinates "
            "together: split them along the first axis (the samples) instead."
        )
    mesh, _ = sample_axes(x, wts)
    if mesh is not None:
        return _estimate_split(x, wts, bandwidth, grid, kernel, bounds, cut, mesh)
    w, neff = weights_and_neff(x[:, 0], wts) if d == 1 else (None, None)
    if d == 2:
        return _kde_2d(x, wts, bandwidth, grid, cut)
    bw = _bandwidth_cov(x, w, neff, bandwidth, d)
    return (*_kde_1d(x[:, 0], w, bw, grid, kernel, bounds, cut), bw, w)


def _estimate_split(x, wts, bandwidth, grid, kernel, bounds, cut, mesh):
    """`_estimate` for samples (or weights) split over devices along axis 0.

    One `shard_map` program: every device reduces its own samples (weights'
    totals, moments, extremes, quantiles by `split_quantile`, linear binning
    on the shared grid) and the grid-sized counts are summed over devices;
    the grid's convolution then runs on every device (the density is
    replicated). The samples are never gathered. A mesh of `Auto` axes is
    seen with the same devices marked `Explicit` and the result returned on
    it; the weights come back split like the samples.
    """
    x, wts, user_mesh = prepare(x, wts, mesh)
    d = x.shape[1]
    rule, bw = None, None
    if isinstance(bandwidth, str):
        choices = ("scott", "silverman", "isj") if d == 1 else ("scott", "silverman")
        rule = check_choice("bandwidth", bandwidth.lower(), choices)
    else:
        bw = _bandwidth_cov(x, None, None, bandwidth, d)
    if d == 2:
        points, dens, bw, w = _kde_2d(x, wts, None, grid, cut, rule=rule, bw=bw)
    else:
        points, dens, bw, w = _kde_1d(
            x[:, 0], wts, bw, grid, kernel, bounds, cut, rule=rule
        )
    if user_mesh is not None:
        points = jax.tree.map(lambda p: on_mesh(p, user_mesh), points)
        dens, bw = on_mesh(dens, user_mesh), on_mesh(bw, user_mesh)
        w = jax.device_put(w, NamedSharding(user_mesh, w.sharding.spec))
    return points, dens, bw, w


def _kernel_lags(kernel, size, step, bw, dtype):
    lags = jnp.arange(-(size - 1), size, dtype=dtype) * step
    return kernel_1d(kernel, lags, bw)


def _check_bounds(bounds, x):
    if not isinstance(bounds, (tuple, list)) or len(bounds) != 2:
        raise ValueError(f"`bounds` must be a pair (low, high); got {bounds!r}.")
    lo, hi = bounds
    xv = _sample_range(x)
    for b in (lo, hi):
        if b is not None:
            bv = concrete(b)
            if bv is not None and not np.isfinite(bv):
                raise ValueError(
                    f"`bounds` must be finite numbers or None; got {bounds!r}."
                )
    lv, hv = (
        concrete(lo) if lo is not None else None,
        concrete(hi) if hi is not None else None,
    )
    if lv is not None and hv is not None and not lv < hv:
        raise ValueError(f"`bounds` must have low < high; got {bounds!r}.")
    if xv is not None and (
        (lv is not None and xv.min() < lv) or (hv is not None and xv.max() > hv)
    ):
        raise ValueError(
            f"Every sample must lie within `bounds` {bounds!r}; got samples in "
            f"[{xv.min()!r}, {xv.max()!r}]."
        )
    return lo, hi


def _sample_range(x):
    """Return the least and largest sample if known now (split: on the devices)."""
    if isinstance(x, jax.Array) and not isinstance(x, jax.core.Tracer):
        if sample_axes(x)[0] is not None:
            return np.array([jnp.min(x), jnp.max(x)])
    return concrete(x)


def _kde_1d(x, w, bw, grid, kernel, bounds, cut, rule=None):
    """Check the 1-D grid and bounds, then run the compiled estimate.

    With `rule` (split samples, `w` the raw weights) the bandwidth rule and
    the weights' normalization run in the split program, which also returns
    the bandwidth and the normalized weights.
    """
    garr, lo, hi = None, None, None
    if bounds is not None:
        lo, hi = _check_bounds(bounds, x)
        if grid is not None and not isinstance(grid, (int, np.integer)):
            raise ValueError(
                "With `bounds` the grid is laid on cell centres between them: "
                "give `grid` as None or a number of points."
            )
        lo = None if lo is None else jnp.asarray(lo, x.dtype)
        hi = None if hi is None else jnp.asarray(hi, x.dtype)
    if grid is None or isinstance(grid, (int, np.integer)):
        m = _DEFAULT_POINTS[1] if grid is None else check_int("grid", grid, minimum=2)
    else:
        garr = _grid_array(grid, x.dtype, "grid")
        m = garr.shape[0]
    if sample_axes(x, w)[0] is not None:
        return _kde_1d_split(
            x,
            w,
            dict(bw=bw, garr=garr, lo=lo, hi=hi),
            m=m,
            kernel=kernel,
            cut=float(cut),
            bounded=bounds is not None,
            rule=rule,
        )
    return _kde_1d_jit(
        x,
        w,
        bw,
        garr,
        lo,
        hi,
        m=m,
        kernel=kernel,
        cut=float(cut),
        bounded=bounds is not None,
    )


def _reflected(counts, lo: bool, hi: bool, kernel, step, bw):
    """Return the density on `counts`' cells, samples reflected at the bounds.

    The reflection estimator (Silverman 1986, section 2.10) adds each
    sample's mirror image about each given bound, once: with cell ``j``'s
    image at ``-1 - j`` about the lower bound and at ``2m - 1 - j`` about
    the upper, the density is the zero-filled ('full') convolution ``g``
    read at ``i``, plus ``g`` at those images of ``i``. No boundary mode of
    the engine reflects once only (for a kernel wider than the interval,
    'reflect' reflects again and again, at each bound in turn), so the
    images are folded back here instead of padding the counts (which
    convolves ``m`` counts by ``4m - 1`` lags, not ``3m`` by ``6m - 1``).
    """
    m = counts.shape[0]
    k = _kernel_lags(kernel, 2 * m, step, bw, counts.dtype)  # lags -(2m-1)..2m-1
    g = conv.convolve(counts, k, "full")  # position t at index t + 2m - 1
    dens = g[2 * m - 1 : 3 * m - 1]
    if lo:  # positions -1 .. -m, the images of cells 0 .. m - 1
        dens = dens + jnp.flip(g[m - 1 : 2 * m - 1])
    if hi:  # positions 2m - 1 .. m
        dens = dens + jnp.flip(g[3 * m - 1 : 4 * m - 1])
    return jnp.maximum(dens, 0.0)  # FFT rounding can dip below zero


@bounded_jit(static_argnames=("m", "kernel", "cut", "bounded", "rule"))
def _kde_1d_split(x, w, rep, *, m, kernel, cut, bounded, rule):
    """Estimate the density of split 1-D samples (see `_estimate_split`)."""

    def body(x, w, rep, axes):
        w, neff = weights_and_neff(x, w, axes)
        bw = rep.get("bw")
        if rule is not None:
            bw = bandwidth_1d(x, w, neff, rule, axes)
        garr, lo, hi = rep.get("garr"), rep.get("lo"), rep.get("hi")
        points, dens = _kde_1d_body(
            x, w, bw, garr, lo, hi, m, kernel, cut, bounded, axes
        )
        return points, dens, bw, w

    rep = {k: v for k, v in rep.items() if v is not None}
    return split_call(body, x, w, rep, 3)


@bounded_jit(static_argnames=("m", "kernel", "cut", "bounded"))
def _kde_1d_jit(x, w, bw, garr, lo, hi, *, m, kernel, cut, bounded):
    return _kde_1d_body(x, w, bw, garr, lo, hi, m, kernel, cut, bounded, ())


def _kde_1d_body(x, w, bw, garr, lo, hi, m, kernel, cut, bounded, axes):
    """Estimate in 1-D; `axes`: the mesh axes splitting the samples (or ())."""
    dtype = x.dtype
    reach = cut * bw
    if bounded:
        a = lo if lo is not None else lowest(x, axes) - reach
        b = hi if hi is not None else highest(x, axes) + reach
        step = (b - a) / m
        origin = a + 0.5 * step
        # Bin on -1..m (a sample between a bound and the first centre lands
        # on -1); fold those ends onto their mirror images, then reflect.
        counts = binned(x[:, None], w, (origin - step,), (step,), (m + 2,), axes)
        body = counts[1:-1]
        if lo is not None:
            body = body.at[0].add(counts[0])
        if hi is not None:
            body = body.at[-1].add(counts[-1])
        points = origin + step * jnp.arange(m, dtype=dtype)
        lo_, hi_ = lo is not None, hi is not None
        return points, _reflected(body, lo_, hi_, kernel, step, bw)
    elif garr is None:
        a, b = lowest(x, axes) - reach, highest(x, axes) + reach
        step = (b - a) / (m - 1)
        origin = a
        ext = binned(x[:, None], w, (origin,), (step,), (m,), axes)
        offset = 0
    else:
        origin = garr[0]
        step = (garr[-1] - garr[0]) / (m - 1)
        ext = binned(x[:, None], w, (origin - m * step,), (step,), (3 * m,), axes)
        offset = m
    size = ext.shape[0]
    k = _kernel_lags(kernel, size, step, bw, dtype)
    dens = conv.convolve(ext, k, "valid")[offset : offset + m]
    dens = jnp.maximum(dens, 0.0)  # FFT rounding can dip below zero
    points = origin + step * jnp.arange(m, dtype=dtype)
    return points, dens


def _kde_2d(x, wts, bandwidth, grid, cut, rule=None, bw=None):
    """Check the 2-D arguments and run the estimate as one program.

    Split samples come with `bandwidth` None and the `rule` or `bw` checked.
    """
    if grid is None or isinstance(grid, (int, np.integer)):
        grid = (grid, grid)
    if not isinstance(grid, (tuple, list)) or len(grid) != 2:
        raise ValueError(
            "In 2-D `grid` must be None, an int, or a pair (one int or array per "
            f"axis); got {type(grid).__name__}."
        )
    sizes, arrays = [], []
    for gax in grid:
        if gax is None or isinstance(gax, (int, np.integer)):
            m = _DEFAULT_POINTS[2] if gax is None else check_int("grid", gax, minimum=2)
            sizes.append(m)
            arrays.append(None)
        else:
            g = _grid_array(gax, x.dtype, "grid")
            sizes.append(g.shape[0])
            arrays.append(g)
    if bandwidth is None:  # split samples
        rep = {"bw": bw, "arrays": tuple(arrays)}
        rep = {k: v for k, v in rep.items() if v is not None}
        return _kde_2d_split(x, wts, rep, rule=rule, sizes=tuple(sizes), cut=cut)
    if isinstance(bandwidth, str):
        rule = check_choice("bandwidth", bandwidth.lower(), ("scott", "silverman"))
        bw = None
    else:  # checked eagerly; the weights do not enter a given bandwidth
        rule, bw = None, _bandwidth_cov(x, None, None, bandwidth, 2)
    return _kde_2d_program(
        x, wts, bw, tuple(arrays), rule=rule, sizes=tuple(sizes), cut=float(cut)
    )


# One program per signature (sizes, rule, shapes): an eager 2-D estimate
# used to run op by op, 34-74 small programs for a new sample size.
@bounded_jit(static_argnames=("rule", "sizes", "cut"))
def _kde_2d_program(x, wts, bw, arrays, *, rule, sizes, cut):
    return _kde_2d_body(x, wts, bw, arrays, rule, sizes, cut, ())


@bounded_jit(static_argnames=("rule", "sizes", "cut"))
def _kde_2d_split(x, wts, rep, *, rule, sizes, cut):
    """Estimate the density of split 2-D samples (see `_estimate_split`)."""

    def body(x, wts, rep, axes):
        arrays = rep.get("arrays", (None, None))
        return _kde_2d_body(x, wts, rep.get("bw"), arrays, rule, sizes, cut, axes)

    return split_call(body, x, wts, rep, 3)


def _kde_2d_body(x, wts, bw, arrays, rule, sizes, cut, axes):
    """Estimate in 2-D; `axes`: the mesh axes splitting the samples (or ())."""
    dtype = x.dtype
    w, neff = weights_and_neff(x[:, 0], wts, axes)
    cov = bw if rule is None else sample_covariance(x, w, neff, rule, axes)
    origins, steps, user = [], [], []
    for axis, (m, g) in enumerate(zip(sizes, arrays)):
        if g is None:
            reach = cut * jnp.sqrt(cov[axis, axis])
            a = lowest(x[:, axis], axes) - reach
            b = highest(x[:, axis], axes) + reach
            origins.append(a)
            steps.append((b - a) / (m - 1))
        else:
            origins.append(g[0])
            steps.append((g[-1] - g[0]) / (m - 1))
        user.append(g is not None)
    bin_origin = [
        o - (m * s if u else 0) for o, s, m, u in zip(origins, steps, sizes, user)
    ]
    bin_sizes = tuple(3 * m if u else m for m, u in zip(sizes, user))
    counts = binned(x, w, bin_origin, steps, bin_sizes, axes)
    t1 = jnp.arange(-(bin_sizes[0] - 1), bin_sizes[0], dtype=dtype) * steps[0]
    t2 = jnp.arange(-(bin_sizes[1] - 1), bin_sizes[1], dtype=dtype) * steps[1]
    k = gaussian_2d(t1[:, None], t2[None, :], cov)
    dens = conv.convolve(counts, k, "valid")
    o1 = sizes[0] if user[0] else 0
    o2 = sizes[1] if user[1] else 0
    dens = jnp.maximum(dens[o1 : o1 + sizes[0], o2 : o2 + sizes[1]], 0.0)
    axes = tuple(
        o + s * jnp.arange(m, dtype=dtype) for o, s, m in zip(origins, steps, sizes)
    )
    return axes, dens, cov, w


def kde_dist(
    samples: ArrayLike,
    *,
    bandwidth: str | ArrayLike = "scott",
    grid: int | ArrayLike | None = None,
    weights: ArrayLike | None = None,
    kernel: str = "gaussian",
    bounds: tuple | None = None,
    cut: float = 4.0,
):
    r"""Return the kernel density estimate as a `probconv.distributions` distribution.

    Runs `kde` (1-D) and returns a ``kind='density'`` distribution on its
    grid, so that the estimate can be added to other variables, queried for
    ``cdf``/``ppf``/moments, or sampled.

    Parameters
    ----------
    samples, bandwidth, grid, weights, kernel, bounds, cut
        As in `kde`, for 1-D samples.

    Returns
    -------
    probconv.distributions.Distribution
        Masses of the grid cells (cell ``k`` centred on grid point ``k``):
        ``density * step``, normalized to sum to one minus the mass the
        kernels put outside the grid (the distribution's ``truncated`` mass;
        computed exactly for the Gaussian kernel, zero with `bounds`).

    Raises
    ------
    ValueError
        As `kde`, and for 2-D samples.
    TypeError
        Where the grid step is traced (under `jax.jit` with the default
        grid, which depends on the data): the distribution's step must be a
        static number. Pass a concrete grid, or call it outside `jit`.

    See Also
    --------
    kde, probconv.distributions.from_masses

    Notes
    -----
    The mass of cell :math:`k` is :math:`\hat f(g_k)\,\delta` rescaled so
    that the masses and the truncated tail sum to one; the rescaling
    removes the :math:`O(\delta^2)` quadrature error of the sum.

    Examples
    --------
    >>> import numpy as np
    >>> from probconv.smooth import kde_dist
    >>> x = np.random.default_rng(0).normal(size=500)
    >>> X = kde_dist(x, bandwidth=0.3)
    >>> round(float(X.masses.sum()), 6)
    1.0
    """
    from probconv.distributions import from_masses

    x, _ = _samples_2d(samples)  # half precision: a float32 law
    if x.shape[1] != 1:
        raise ValueError(
            "kde_dist needs 1-D samples (distributions are univariate); got "
            f"shape {x.shape}."
        )
    points, dens, bw, w = _estimate(x, bandwidth, grid, weights, kernel, bounds, cut)
    step = points[1] - points[0]
    # A traced step has no static value; under an eager jax.grad it has one,
    # but a static step would drop its gradient: both need a concrete grid.
    step_c = None if isinstance(step, jax.core.Tracer) else concrete(step)
    if step_c is None:
        raise TypeError(
            "kde_dist needs a concrete grid step (a distribution's step is "
            "static), but it is traced here: call kde_dist outside jax.jit, or "
            "pass `grid` as a concrete array and a numeric `bandwidth`."
        )
    step = float(step_c)
    cut_mass = (
        "none"
        if bounds is not None
        else ("gaussian" if kernel == "gaussian" else "rest")
    )
    masses, truncated = _law_masses(x[:, 0], w, dens, points, bw, step, cut_mass)
    return from_masses(
        masses, origin=points[0], step=step, kind="density", truncated=truncated
    )


# The cell masses and the mass past the grid, as one program per signature
# (the step is traced: a new sample's grid compiles nothing new).
@bounded_jit(static_argnums=(6,))
def _law_masses(x, w, dens, points, bw, step, cut_mass):
    masses = jnp.clip(dens, 0.0, None) * step
    if cut_mass == "none":  # reflected at the bounds: nothing leaves the grid
        truncated = jnp.zeros((), masses.dtype)
    elif cut_mass == "gaussian":
        lo = points[0] - 0.5 * step
        hi = points[-1] + 0.5 * step
        tail = ndtr((lo - x) / bw) + ndtr((x - hi) / bw)
        truncated = jnp.clip(jnp.sum(w * tail), 0.0, 1.0)
    else:
        truncated = jnp.clip(1.0 - jnp.sum(masses), 0.0, 1.0)
    return masses * ((1.0 - truncated) / jnp.sum(masses)), truncated
