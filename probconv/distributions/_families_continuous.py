r"""Constructors for continuous laws: cell masses from CDF differences.

Parameterizations follow scipy.stats (shape parameters first, then ``loc``
and ``scale``); every constructor then takes the grid arguments of
`_grid_args` (``step``, ``support``, ``tol``, ``tail``, ``max_size``),
declared, checked and documented there once.

Parameters may be arrays (a batch on one common grid) and traced; under
`jax.jit` or `jax.vmap` the grid must be static, so `step` and `support` are
then required.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import jax.numpy as jnp
import numpy as np
import scipy.stats
from jax.scipy.special import betainc, gammainc, gammaincc, ndtr

from .._checks import check_range, concrete
from ..conv.internal import bounded_jit
from ._continuous import (
    Continuous,
    auto_grid,
    cell_masses,
    cells,
    jump_correction,
    make_continuous,
)
from ._extend_density import remember
from ._grid_args import Grid, check_grid, grid_family
from ._params import as_param
from ._params import float_dtype as _float_dtype


@dataclasses.dataclass(frozen=True, eq=False)
class _Formulas:
    """A family's cdf, sf and singular points, identified by the family's name.

    The constructors pass new closures on every call; keyed by name, the
    cell masses of one family compile one program per grid length and
    dtype, not one per call (the closures take every parameter as an
    argument, so those of one family compute the same function).
    """

    name: str
    cdf: Callable
    sf: Callable
    singular: Callable

    def __hash__(self) -> int:
        return hash(self.name)

    def __eq__(self, other) -> bool:
        return isinstance(other, _Formulas) and other.name == self.name


@bounded_jit(static_argnums=(0, 1, 2))
def _discretize(formulas: _Formulas, n: int, step: float, ps, ok, k0, origin):
    """Cell masses, cut mass, origin and jump corrections: one program.

    Eagerly these are about fifty operations, each compiled for its own
    shape; as one program a new grid length compiles once. `k0` (the first
    cell's index) and `origin` (its centre, ``k0 * step``) are Python floats
    given as arguments, so that laws that differ only in location share the
    program; weakly typed, they take the laws' dtype as before.
    """
    dt = ps[0].dtype
    edges = (k0 + jnp.arange(n + 1, dtype=dt) - 0.5) * step
    pe = [p[..., None] for p in ps]
    m, trunc = cell_masses(
        lambda e: formulas.cdf(e, *pe), lambda e: formulas.sf(e, *pe), edges
    )
    origin = jnp.asarray(origin, dt)
    jumps = None
    for at, jump, kink in formulas.singular(*ps):
        d = jump_correction(n, origin, step, at, jump, kink)
        jumps = d if jumps is None else jumps + d
    m = jnp.where(ok[..., None], m, jnp.nan)
    return make_continuous(m, origin, trunc, step, None, jumps)


def _build(
    name,
    params,
    names,
    cdf,
    sf,
    frozen,
    ends,
    singular,
    grid,
):
    """Discretize a family with CDF `cdf` and SF `sf` of ``(x, *params)``.

    `frozen(*floats)` gives the scipy law for the grid choice, `ends` the
    static finiteness of the support's ends, `singular(*params)` a list of
    ``(at, jump, kink)`` of the density.
    """
    step, support, tol, tail, max_size = check_grid(name, grid)
    for p, n in zip(params, names):
        as_param(p, n, jnp.float32)  # type check before the dtype is chosen
    dt = _float_dtype(*params)
    ps = [as_param(p, n, dt) for p, n in zip(params, names)]
    ps = list(jnp.broadcast_arrays(*ps))
    ok = jnp.ones(ps[0].shape, bool)
    for p, n, rng in zip(ps, names, _RANGES[name]):
        ok = ok & check_range(n, p, **rng)
    given = support is not None
    vals = [concrete(p) for p in ps]
    if step is None or support is None:
        if any(v is None for v in vals):
            raise ValueError(
                "`step` and `support` must be given when the parameters are "
                "traced (under jit or vmap): the grid must be static."
            )
        flat = [np.asarray(v, np.float64).ravel() for v in vals]
        laws = [frozen(*[f[i] for f in flat]) for i in range(flat[0].size)]
        if support is None:
            step, lo, hi, _ = auto_grid(
                laws, tol=tol, tail=tail, max_size=max_size, step=step
            )
        else:
            lo, hi = support
            step = auto_grid(laws, tol=tol, tail=0.25, max_size=2**62)[0]
    else:
        lo, hi = support
    k0, n = cells(lo, hi, step, *ends)
    formulas = _Formulas(name, cdf, sf, singular)
    law = _discretize(formulas, n, float(step), ps, ok, float(k0), k0 * step)
    if not given and all(v is not None for v in vals):
        # The scipy law, for relative sums to continue the grid
        # (`_extend_density`; made on first use); an explicit `support`
        # keeps its grid.
        def scipy_law():
            good = concrete(ok)
            if good is None or not np.all(good):
                return None
            return frozen(*[np.asarray(v, np.float64)[..., None] for v in vals])

        law = remember(law, scipy_law)
    return law


_POS = {"low": 0.0, "low_open": True}
_REAL: dict = {}
_RANGES = {
    "normal": (_REAL, _POS),
    "uniform": (_REAL, _POS),
    "exponential": (_REAL, _POS),
    "gamma": (_POS, _REAL, _POS),
    "beta": (_POS, _POS, _REAL, _POS),
    "lognormal": (_POS, _REAL, _POS),
    "laplace": (_REAL, _POS),
    "cauchy": (_REAL, _POS),
    "student_t": (_POS, _REAL, _POS),
    "pareto": (_POS, _REAL, _POS),
}


@grid_family
def normal(loc=0.0, scale=1.0, **grid) -> Continuous:
    r"""Return the normal law on a grid of cells.

    Like `scipy.stats.norm`: density
    :math:`e^{-z^2/2} / (\sigma\sqrt{2\pi})`, :math:`z = (x - \mu)/\sigma`.
    Cell masses are differences of :math:`\Phi(z)` (of :math:`\Phi(-z)` in
    the right half).

    Parameters
    ----------
    loc, scale : array_like
        Mean and standard deviation (``scale > 0``); arrays give a batch.
        Differentiable.

    Returns
    -------
    Continuous
        Of kind ``'density'``; ``truncated`` is the mass outside the cells.

    Raises
    ------
    ValueError
        For bad parameters or grid arguments, or traced parameters without
        `step` and `support`.

    Examples
    --------
    >>> from probconv import distributions as dist
    >>> x = dist.normal(1.0, 2.0, step=0.01)
    >>> round(float(x.cdf(1.0)), 10), round(float(x.mean()), 8)
    (0.5, 1.0)
    """
    return _build(
        "normal",
        [loc, scale],
        ["loc", "scale"],
        lambda x, m, s: ndtr((x - m) / s),
        lambda x, m, s: ndtr((m - x) / s),
        lambda m, s: scipy.stats.norm(m, s),
        (False, False),
        lambda m, s: [],
        grid,
    )


@grid_family
def uniform(loc=0.0, scale=1.0, **grid) -> Continuous:
    r"""Uniform law on ``[loc, loc + scale]``, on a grid of cells.

    Like `scipy.stats.uniform`. Its density jumps at both ends; the jumps
    are recorded so that sums stay fourth order.

    Parameters
    ----------
    loc, scale : array_like
        Left end and width (``scale > 0``). Differentiable.

    Returns
    -------
    Continuous

    Examples
    --------
    >>> from probconv import distributions as dist
    >>> u = dist.uniform(0.0, 1.0, step=0.125)
    >>> u.masses.tolist()[:3], float(u.cdf(0.5))
    ([0.0, 0.0625, 0.125], 0.5)
    """
    return _build(
        "uniform",
        [loc, scale],
        ["loc", "scale"],
        lambda x, m, s: jnp.clip((x - m) / s, 0.0, 1.0),
        lambda x, m, s: jnp.clip((m + s - x) / s, 0.0, 1.0),
        lambda m, s: scipy.stats.uniform(m, s),
        (True, True),
        lambda m, s: [(m, 1 / s, 0.0 * s), (m + s, -1 / s, 0.0 * s)],
        grid,
    )


def _expon_cdf(z):
    return jnp.where(z > 0, -jnp.expm1(-jnp.maximum(z, 0.0)), 0.0)


def _expon_sf(z):
    return jnp.where(z > 0, jnp.exp(-jnp.maximum(z, 0.0)), 1.0)


@grid_family
def exponential(loc=0.0, scale=1.0, **grid) -> Continuous:
    r"""Exponential law on a grid of cells.

    Like `scipy.stats.expon`: density :math:`e^{-z}/\sigma` for
    :math:`z = (x - \mathrm{loc})/\sigma \ge 0` (rate :math:`1/\sigma`).

    Parameters
    ----------
    loc, scale : array_like
        Start of the support and scale (the mean is ``loc + scale``).
        Differentiable.

    Returns
    -------
    Continuous

    Examples
    --------
    >>> from probconv import distributions as dist
    >>> e = dist.exponential(scale=2.0, step=0.01)
    >>> round(float(e.cdf(2.005)), 12) == round(1 - 2.718281828459045**-1.0025, 12)
    True
    """
    return _build(
        "exponential",
        [loc, scale],
        ["loc", "scale"],
        lambda x, m, s: _expon_cdf((x - m) / s),
        lambda x, m, s: _expon_sf((x - m) / s),
        lambda m, s: scipy.stats.expon(m, s),
        (True, False),
        lambda m, s: [(m, 1 / s, -1 / s**2)],
        grid,
    )


@grid_family
def gamma(a, loc=0.0, scale=1.0, **grid) -> Continuous:
    r"""Gamma law on a grid of cells.

    Like `scipy.stats.gamma`: density
    :math:`z^{a-1} e^{-z} / (\Gamma(a)\sigma)`, :math:`z \ge 0`; cell masses
    from the regularized incomplete gamma function.

    Parameters
    ----------
    a : array_like
        Shape, ``> 0``. Differentiable.
    loc, scale : array_like
        Location and scale. Differentiable.

    Returns
    -------
    Continuous

    Notes
    -----
    For ``a < 2`` the density or its slope is unbounded or jumps at ``loc``;
    ``a = 1`` (a jump) and ``a = 2`` (a kink) are corrected exactly in sums,
    other ``a < 2`` keep a lower order near ``loc``.

    Examples
    --------
    >>> from probconv import distributions as dist
    >>> g = dist.gamma(3.0, step=0.01)
    >>> round(float(g.mean()), 6)
    3.0
    """

    def sing(a, m, s):
        jump = jnp.where(a == 1, 1 / s, 0.0)
        kink = jnp.where(a == 1, -1 / s**2, jnp.where(a == 2, 1 / s**2, 0.0))
        return [(m, jump, kink)]

    return _build(
        "gamma",
        [a, loc, scale],
        ["a", "loc", "scale"],
        lambda x, a, m, s: gammainc(a, jnp.maximum((x - m) / s, 0.0)),
        lambda x, a, m, s: gammaincc(a, jnp.maximum((x - m) / s, 0.0)),
        lambda a, m, s: scipy.stats.gamma(a, m, s),
        (True, False),
        sing,
        grid,
    )


@grid_family
def beta(a, b, loc=0.0, scale=1.0, **grid) -> Continuous:
    r"""Beta law on ``[loc, loc + scale]``, on a grid of cells.

    Like `scipy.stats.beta`: density
    :math:`z^{a-1}(1-z)^{b-1} / (B(a, b)\sigma)`; cell masses from the
    regularized incomplete beta function.

    Parameters
    ----------
    a, b : array_like
        Shapes, ``> 0``.
    loc, scale : array_like
        Location and scale. Differentiable.

    Returns
    -------
    Continuous

    Notes
    -----
    JAX has no derivative of the incomplete beta function in `a` and `b`:
    `jax.grad` with respect to them raises; `loc` and `scale` are
    differentiable.

    Examples
    --------
    >>> from probconv import distributions as dist
    >>> x = dist.beta(2.0, 3.0, step=2.0**-8)
    >>> round(float(x.cdf(0.5)), 12)
    0.6875
    """

    def zc(x, m, s):
        return jnp.clip((x - m) / s, 0.0, 1.0)

    def sing(a, b, m, s):
        j0 = jnp.where(a == 1, b / s, 0.0)
        k0 = jnp.where(a == 1, -b * (b - 1), jnp.where(a == 2, b * (b + 1), 0.0))
        j1 = jnp.where(b == 1, -a / s, 0.0)
        k1 = jnp.where(b == 1, -a * (a - 1), jnp.where(b == 2, a * (a + 1), 0.0))
        return [(m, j0, k0 / s**2), (m + s, j1, k1 / s**2)]

    return _build(
        "beta",
        [a, b, loc, scale],
        ["a", "b", "loc", "scale"],
        lambda x, a, b, m, s: betainc(a, b, zc(x, m, s)),
        lambda x, a, b, m, s: betainc(b, a, 1 - zc(x, m, s)),
        lambda a, b, m, s: scipy.stats.beta(a, b, m, s),
        (True, True),
        sing,
        grid,
    )


def _log_z(x, m, s):
    z = (x - m) / s
    return z > 0, jnp.log(jnp.where(z > 0, z, 1.0))


@grid_family
def lognormal(s, loc=0.0, scale=1.0, **grid) -> Continuous:
    r"""Lognormal law on a grid of cells.

    Like `scipy.stats.lognorm`: :math:`\log((X - \mathrm{loc})/\sigma)` is
    normal with mean 0 and standard deviation `s` (``scale = exp(mu)``).
    Heavy right tail: the default grid balances the cut and the step.

    Parameters
    ----------
    s : array_like
        Shape (the log's standard deviation), ``> 0``. Differentiable.
    loc, scale : array_like
        Location and scale. Differentiable.

    Returns
    -------
    Continuous

    Examples
    --------
    >>> from probconv import distributions as dist
    >>> x = dist.lognormal(0.5, step=2.0**-8)
    >>> round(float(x.cdf(1.0)), 12)
    0.5
    """

    def cdf(x, s_, m, sc):
        pos, lz = _log_z(x, m, sc)
        return jnp.where(pos, ndtr(lz / s_), 0.0)

    def sf(x, s_, m, sc):
        pos, lz = _log_z(x, m, sc)
        return jnp.where(pos, ndtr(-lz / s_), 1.0)

    return _build(
        "lognormal",
        [s, loc, scale],
        ["s", "loc", "scale"],
        cdf,
        sf,
        lambda s_, m, sc: scipy.stats.lognorm(s_, m, sc),
        (True, False),
        lambda s_, m, sc: [],
        grid,
    )


@grid_family
def laplace(loc=0.0, scale=1.0, **grid) -> Continuous:
    r"""Laplace (double exponential) law on a grid of cells.

    Like `scipy.stats.laplace`: density :math:`e^{-|z|} / (2\sigma)`. Its
    kink at `loc` is recorded for sums.

    Parameters
    ----------
    loc, scale : array_like
        Centre and scale. Differentiable.

    Returns
    -------
    Continuous

    Examples
    --------
    >>> from probconv import distributions as dist
    >>> x = dist.laplace(step=0.01, tail=1e-14)
    >>> round(float(x.cdf(0.0)), 12), round(float(x.sf(1.005)), 12)
    (0.5, 0.183022317402)
    """

    def cdf(x, m, s):
        z = (x - m) / s
        return jnp.where(
            z < 0,
            0.5 * jnp.exp(jnp.minimum(z, 0.0)),
            1 - 0.5 * jnp.exp(-jnp.maximum(z, 0.0)),
        )

    return _build(
        "laplace",
        [loc, scale],
        ["loc", "scale"],
        cdf,
        lambda x, m, s: cdf(2 * m - x, m, s),
        lambda m, s: scipy.stats.laplace(m, s),
        (False, False),
        lambda m, s: [(m, 0.0 * s, -1 / s**2)],
        grid,
    )


@grid_family
def cauchy(loc=0.0, scale=1.0, **grid) -> Continuous:
    r"""Cauchy law on a grid of cells.

    Like `scipy.stats.cauchy`: density :math:`1 / (\pi\sigma(1 + z^2))`.
    No mean: the default grid balances the tail cut against the step under
    `max_size`; the mass cut is in ``truncated``.

    Parameters
    ----------
    loc, scale : array_like
        Median and half width at half maximum. Differentiable.

    Returns
    -------
    Continuous

    Examples
    --------
    >>> from probconv import distributions as dist
    >>> x = dist.cauchy(step=0.01, support=(-100.0, 100.0))
    >>> round(float(x.truncated), 6), round(float(x.cdf(1.005)), 12)
    (0.006366, 0.75)
    """

    def sf(x, m, s):
        return jnp.arctan2(1.0, (x - m) / s) / jnp.pi

    return _build(
        "cauchy",
        [loc, scale],
        ["loc", "scale"],
        lambda x, m, s: sf(2 * m - x, m, s),
        sf,
        lambda m, s: scipy.stats.cauchy(m, s),
        (False, False),
        lambda m, s: [],
        grid,
    )


@grid_family
def student_t(df, loc=0.0, scale=1.0, **grid) -> Continuous:
    r"""Student's t law on a grid of cells.

    Like `scipy.stats.t`: :math:`P(T > t) = \tfrac12 I_{\nu/(\nu+t^2)}(\nu/2,
    1/2)` for :math:`t \ge 0`.

    Parameters
    ----------
    df : array_like
        Degrees of freedom :math:`\nu > 0`.
    loc, scale : array_like
        Location and scale. Differentiable.

    Returns
    -------
    Continuous

    Notes
    -----
    JAX has no derivative of the incomplete beta function in its shape
    arguments: `jax.grad` with respect to `df` raises.

    Examples
    --------
    >>> from probconv import distributions as dist
    >>> x = dist.student_t(3.0, step=0.01, support=(-50.0, 50.0))
    >>> round(float(x.cdf(0.0)), 12)
    0.5
    """

    def upper(t, nu):
        ta = jnp.abs(t)
        return 0.5 * betainc(nu / 2, 0.5, nu / (nu + ta * ta))

    def sf(x, nu, m, s):
        t = (x - m) / s
        u = upper(t, nu)
        return jnp.where(t >= 0, u, 1 - u)

    return _build(
        "student_t",
        [df, loc, scale],
        ["df", "loc", "scale"],
        lambda x, nu, m, s: sf(2 * m - x, nu, m, s),
        sf,
        lambda nu, m, s: scipy.stats.t(nu, m, s),
        (False, False),
        lambda nu, m, s: [],
        grid,
    )


@grid_family
def pareto(b, loc=0.0, scale=1.0, **grid) -> Continuous:
    r"""Pareto law on a grid of cells.

    Like `scipy.stats.pareto`: :math:`P(X > x) = z^{-b}` for
    :math:`z = (x - \mathrm{loc})/\sigma \ge 1`. For ``b < 2`` the variance
    is infinite (``b <= 1``: the mean too); the default grid balances the
    tail cut against the step under `max_size`, and the jump of the density
    at ``loc + scale`` is recorded for sums.

    Parameters
    ----------
    b : array_like
        Tail index, ``> 0``. Differentiable.
    loc, scale : array_like
        Location and scale. Differentiable.

    Returns
    -------
    Continuous

    Examples
    --------
    >>> from probconv import distributions as dist
    >>> x = dist.pareto(1.5, step=0.01, support=(1.0, 100.0))
    >>> t = float(x.truncated)  # P(X > 100.005): sf counts the grid only
    >>> round(t, 9), round(float(x.sf(4.005)) + t, 12) == round(4.005**-1.5, 12)
    (0.000999925, True)
    """

    def parts_(x, b_, m, s):
        z = (x - m) / s
        above = z > 1
        lz = jnp.log(jnp.where(above, z, 1.0))
        return above, -b_ * lz

    def cdf(x, b_, m, s):
        above, e = parts_(x, b_, m, s)
        return jnp.where(above, -jnp.expm1(e), 0.0)

    def sf(x, b_, m, s):
        above, e = parts_(x, b_, m, s)
        return jnp.where(above, jnp.exp(e), 1.0)

    return _build(
        "pareto",
        [b, loc, scale],
        ["b", "loc", "scale"],
        cdf,
        sf,
        lambda b_, m, s: scipy.stats.pareto(b_, m, s),
        (True, False),
        lambda b_, m, s: [(m + s, b_ / s, -b_ * (b_ + 1) / s**2)],
        grid,
    )


def from_scipy_continuous(frozen, grid: Grid) -> Continuous:
    r"""Discretize a frozen continuous scipy.stats law onto cells.

    Cell masses are differences of ``frozen.cdf`` (of ``frozen.sf`` right of
    the median), never samples of the pdf. A finite end of the support where
    the density is finite and non-zero is recorded as a jump (its size from
    ``frozen.pdf`` at the end, its kink from a one-sided difference), so
    that sums stay fourth order. Computed in NumPy (float64): not traceable.
    `grid`: the checked grid arguments (`_grid_args.check_grid`).
    """
    step, support, tol, tail, max_size = grid
    lo_s, hi_s = (float(v) for v in frozen.support())
    if support is None:
        step, lo, hi, _ = auto_grid(
            [frozen], tol=tol, tail=tail, max_size=max_size, step=step
        )
    else:
        lo, hi = support
        if step is None:
            step = auto_grid([frozen], tol=tol, tail=0.25, max_size=2**62)[0]
    fin = (bool(np.isfinite(lo_s)), bool(np.isfinite(hi_s)))
    k0, n = cells(lo, hi, step, *fin)
    edges = (k0 + np.arange(n + 1) - 0.5) * step
    with np.errstate(all="ignore"):
        f = np.asarray(frozen.cdf(edges), np.float64)
        s = np.asarray(frozen.sf(edges), np.float64)
    m = np.where(f[1:] <= 0.5, f[1:] - f[:-1], s[:-1] - s[1:])
    m = np.clip(np.nan_to_num(m), 0.0, None)
    trunc = max(float(f[0] + s[-1]), 0.0)
    dt = jnp.result_type(float)
    origin = jnp.asarray(k0 * step, dt)
    jumps = None
    scale = max(hi - lo, step)
    for end, sign, finite in ((lo_s, 1.0, fin[0]), (hi_s, -1.0, fin[1])):
        if not finite:
            continue
        delta = 1e-4 * min(step, scale)
        with np.errstate(all="ignore"):
            p = np.asarray(
                frozen.pdf(end + sign * np.array([0.0, delta, 2 * delta])), np.float64
            )
        if not np.all(np.isfinite(p)) or p[0] == 0:
            continue
        slope = sign * (-3 * p[0] + 4 * p[1] - p[2]) / (2 * delta)
        d = jump_correction(
            n, origin, step, jnp.asarray(end, dt), sign * p[0], sign * slope
        )
        jumps = d if jumps is None else jumps + d
    law = make_continuous(jnp.asarray(m, dt), origin, trunc, step, None, jumps)
    # The law itself, for relative sums to continue the grid
    # (`_extend_density`); an explicit `support` keeps its grid.
    return law if support is not None else remember(law, frozen)
