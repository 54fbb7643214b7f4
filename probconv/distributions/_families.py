"""Constructors for the common discrete families, dice, and scipy.stats laws.

Parameterizations and supports follow scipy.stats. Infinite supports are cut
where the mass beyond is below `tail` (default: the dtype's machine epsilon);
that mass is kept in the `truncated` attribute.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import scipy.special
import scipy.stats
from jax.scipy.special import gammainc, gammaln, xlog1py, xlogy
from jax.typing import ArrayLike

from .._checks import check_int, check_number, check_range, concrete
from ..conv import to_device
from ._base import Distribution, pytree_dataclass, static_field
from ._base import eps as _eps
from ._families_continuous import from_scipy_continuous
from ._family_tails import CLOSED_TAILS, log_pmf, log_sf
from ._grid import Lattice, make
from ._grid_args import check_grid
from ._host import FAMILIES, as_host, family_query, host_values, leaf, on_cpu
from ._lattice_ops import iid_sum_lattice
from ._params import as_param, default_float, float_dtype


@pytree_dataclass
class Parametric(Distribution):
    """A lattice `Distribution` that remembers its family and parameters (final).

    Returned by the family constructors, so that `compound` can use the
    family's closed-form probability generating function. It is a
    `Distribution` in every other respect; operations on it return plain
    `Distribution` objects.

    A law of scalar parameters built eagerly on the CPU (``poisson(4.0)``)
    builds its grid when something first reads it (`masses`, a sum, a
    moment, `isf`, `jax.jit`); its eager `pmf`, `logpmf`, `cdf`, `sf` and
    `ppf` at NumPy points are scipy.stats' formulas and need no grid.

    Attributes
    ----------
    family : str
        ``'bernoulli'``, ``'binomial'``, ``'poisson'``, ``'geometric'``,
        ``'negative_binomial'``, or ``'scipy'`` for a discrete law from
        `from_scipy` (static).
    params : tuple of jax.Array or numpy.ndarray
        The family's parameters, each of the batch shape (leaves; NumPy
        arrays for a law built on the host, see `Distribution`).
    frozen : scipy.stats frozen distribution or None
        For ``family='scipy'``: the law itself (static), so that
        ``accuracy='relative'`` can extend the grid through its ``logpmf``.
    """

    family: str = static_field("")
    params: tuple = ()
    frozen: object = static_field(None)

    _zero_padding_is_exact = True  # a lattice: queries may pad its masses

    @property
    def kind(self) -> str:
        """``'lattice'``."""
        return "lattice"

    # -- a law of scalar parameters built eagerly: its grid on first use ------
    def __getattr__(self, name: str):
        # Reached only for attributes not set: the grid of a deferred law.
        recipe = self.__dict__.get("_recipe") if name in _GRID_FIELDS else None
        if recipe is None:
            raise AttributeError(
                f"{type(self).__name__!r} object has no attribute {name!r}"
            )
        grid = _grid_leaves(recipe)
        self.__dict__.update(grid)
        return grid[name]

    # -- eager queries of concrete laws: scipy.stats on the host --------------
    def _scipy_query(self, name: str, x) -> np.ndarray | None:
        """Return scipy.stats' answer to an eager query on the CPU, or None.

        An unbatched family law with concrete parameters, asked at points
        that are not JAX arrays, is answered by the family's scipy.stats
        formulas on the host (nothing compiled, a few microseconds), in the
        law's dtype (see `_host.family_query`). These are the values the
        grid approximates, exact where the grid is cut; the traced, batched
        and JAX-array queries go through the grid (differentiable,
        jit-compatible) and agree to rounding. A deferred law (`_deferred`)
        answers from its recipe, without building its grid.
        """
        recipe = self.__dict__.get("_recipe")
        if recipe is not None:
            if isinstance(x, jax.Array) or not on_cpu():
                return None
            return family_query(
                self.family, name, x, recipe.args, recipe.upper, recipe.dtype
            )
        if (
            self.family not in FAMILIES
            or self.masses.ndim != 1
            or isinstance(x, jax.Array)
            or isinstance(self.masses, jax.core.Tracer)
            or any(isinstance(v, jax.core.Tracer) for v in self.params)
            or not on_cpu()
        ):
            return None  # under jit, vmap or grad: the grid, differentiable
        upper = self.size - 1
        args = [upper, *self.params] if self.family == "binomial" else self.params
        args = [float(np.asarray(v)) for v in args]
        return family_query(self.family, name, x, args, upper, self.dtype)

    def ppf(self, q: ArrayLike) -> jax.Array:
        """Percent point function (see `Distribution.ppf`); scipy's where eager."""
        fast = self._scipy_query("ppf", q)
        if fast is not None:
            recipe = self.__dict__.get("_recipe")
            if recipe is not None:  # the grid's end, without the grid
                origin, size = np.asarray(recipe.origin, recipe.dtype), recipe.size
            else:
                origin, size = concrete(self.origin), self.size
            last = origin + (size - 1) * self.step
            if not (fast > last).any():  # the answer lies on the grid
                return to_device(fast)
        return Distribution.ppf(self, q)

    # -- queries past the grid: the family's own tail, never a bare 0 ---------
    def _beyond(self, x):
        """``(x, past, k)``: points, which lie past the grid, their floor there."""
        x = jnp.asarray(x, self.dtype)
        last = self.origin + (self.size - 1) * self.step
        past = x > last
        return x, past, jnp.floor(jnp.where(past, x, last))

    def _host_tail(self, x, log_query: str):
        """Return a scipy law's own `log_query` past the grid (eager), or None."""
        if self.family != "scipy" or isinstance(x, jax.core.Tracer):
            return None
        xv = np.asarray(x, np.float64)
        last = float(np.asarray(self.origin).ravel()[0]) + self.size - 1
        with np.errstate(divide="ignore", invalid="ignore"):
            val = np.asarray(getattr(self.frozen, log_query)(xv), np.float64)
            up = float(self.frozen.sf(last))  # the mass past the grid
        return jnp.asarray(val, self.dtype), jnp.asarray(xv > last), up

    def logpmf(self, x: ArrayLike) -> jax.Array:
        """Log of the pmf; past the grid, from the family's formula (not ``-inf``).

        Examples
        --------
        >>> from probconv import distributions as dist
        >>> d = dist.poisson(3.0)   # 27 grid points
        >>> round(float(d.logpmf(200)), 6)
        -646.509529
        """
        fast = self._scipy_query("logpmf", x)
        if fast is not None:
            return to_device(fast)
        out = jnp.log(Distribution.pmf(self, x))
        host = self._host_tail(x, "logpmf")
        if host is not None:
            return jnp.where(host[1], host[0], out)
        if self.family not in CLOSED_TAILS:
            return out
        x, past, k = self._beyond(x)
        on = past & (x == k) & jnp.isfinite(x)
        return jnp.where(on, log_pmf(self.family, self.params, k), out)

    def pmf(self, x: ArrayLike) -> jax.Array:
        """Probability mass function; past the grid, from the family's formula."""
        fast = self._scipy_query("pmf", x)
        if fast is not None:
            return to_device(fast)
        if self.family not in (*CLOSED_TAILS, "scipy"):
            return Distribution.pmf(self, x)
        return jnp.exp(self.logpmf(x))

    def logsf(self, x: ArrayLike) -> jax.Array:
        r"""Log of :math:`P(X > x)`: the grid's tail sum plus the mass cut off.

        Past the grid, the family's own tail (see `_family_tails`), so a
        query far out returns its value, not ``-inf``.

        Examples
        --------
        >>> import math
        >>> from probconv import distributions as dist
        >>> d = dist.geometric(0.5)  # 53 grid points
        >>> round(float(d.logsf(1000)) / math.log(0.5), 9)
        1000.0
        """
        # Not scipy's: its logsf is log(sf), -inf past 1e-308; the closed-form
        # tails below keep going.
        grid = Distribution.sf(self, x)
        inside = jnp.log(grid + self.truncated)
        host = self._host_tail(x, "logsf")
        if host is not None:
            return jnp.where(host[1], host[0], jnp.log(grid + host[2]))
        if self.family not in CLOSED_TAILS:
            return jnp.log(grid)
        x, past, k = self._beyond(x)
        out = jnp.where(past, log_sf(self.family, self.params, k), inside)
        out = jnp.where(jnp.isposinf(x), -jnp.inf, out)  # P(X > inf) = 0
        return jnp.where(jnp.isnan(x), jnp.nan, out)

    def sf(self, x: ArrayLike) -> jax.Array:
        """Survival function, with the mass cut off the grid (see `logsf`)."""
        fast = self._scipy_query("sf", x)
        if fast is not None:
            return to_device(fast)
        if self.family not in (*CLOSED_TAILS, "scipy"):
            return Distribution.sf(self, x)
        return jnp.exp(self.logsf(x))

    def cdf(self, x: ArrayLike, *, interpolation: str = "linear") -> jax.Array:
        """Cumulative distribution function; past the grid, ``1 - sf`` exactly."""
        fast = self._scipy_query("cdf", x)
        if fast is not None and interpolation == "linear":
            return to_device(fast)
        out = Distribution.cdf(self, x, interpolation=interpolation)
        if self.family not in (*CLOSED_TAILS, "scipy"):
            return out
        x = jnp.asarray(x, self.dtype)
        past = x > self.origin + (self.size - 1) * self.step
        return jnp.where(past, -jnp.expm1(self.logsf(x)), out)

    def logcdf(self, x: ArrayLike) -> jax.Array:
        """Log of the cdf; past the grid, ``log1p(-sf)``."""
        return jnp.log(self.cdf(x))


def _parametric(masses, origin, truncated, family, params) -> Parametric:
    d = make(masses, origin, truncated, 1.0, "lattice")
    batch = d.batch_shape
    params = tuple(jnp.broadcast_to(p, batch) for p in params)
    return Parametric(d.masses, d.origin, d.truncated, 1.0, family, params)


def _host(*params) -> tuple[list[np.ndarray], bool] | None:
    """Return the parameters as real NumPy arrays if all are known now, else None.

    An eager call with concrete parameters builds its masses on the host with
    scipy.special (one vectorized pass, nothing compiled); under `jit`,
    `vmap` or `grad` the parameters are tracers and the masses are computed
    in JAX, differentiably. The flag says whether the law may keep NumPy
    leaves (`_host.host_values`: no JAX array among the parameters, on the
    CPU); otherwise its leaves are copied to the device, as JAX arrays.
    """
    keep = host_values(*params)
    if keep is not None:
        return keep, True
    out = []
    for x in params:
        v = as_host(x, jax_arrays=True)
        if v is None:
            return None
        out.append(v)
    return out, False


def _parametric_host(
    masses, origin, truncated, family, params, dt, keep: bool
) -> Parametric:
    """Build a `Parametric` law from host arrays, uncompiled.

    With `keep`, its leaves stay NumPy arrays (see `_host`); otherwise they
    are copied to the device as JAX arrays.
    """
    masses = np.asarray(masses, dt)
    batch = masses.shape[:-1]
    if keep:
        return Parametric(
            leaf(masses, dt, owned=True),
            leaf(origin, dt, batch),
            leaf(truncated, dt, batch),
            1.0,
            family,
            tuple(leaf(p, dt, batch) for p in params),
        )

    def dev(x):
        return to_device(np.broadcast_to(np.asarray(x, dt), batch).copy())

    return Parametric(
        to_device(masses),
        dev(origin),
        dev(truncated),
        1.0,
        family,
        tuple(dev(p) for p in params),
    )


# -- laws of scalar parameters built eagerly: the grid deferred ----------------
_GRID_FIELDS = ("masses", "origin", "truncated")
_FLOAT64 = np.dtype(np.float64)


class _Recipe(NamedTuple):
    """What a deferred law holds in place of its grid (see `_deferred`).

    `grid` computes ``(masses, origin, truncated)`` as the host constructors
    do (a `functools.partial` of a ``_<family>_grid`` function); `args` are
    scipy.stats' parameters as Python floats (binomial's `n` first), `upper`
    binomial's `n` (the end of its support), `origin` and `size` the grid's
    first point and length, `dtype` the law's.
    """

    grid: Callable
    args: tuple
    upper: int | None
    origin: float
    size: int
    dtype: np.dtype


def _deferred(family, grid, values, dt, size, origin=0.0, upper=None) -> Parametric:
    """Return a host law of scalar parameters whose grid is built on first use.

    An eager query of it (`sf`, `cdf`, `pmf`, `logpmf`, `ppf` at NumPy
    points) is answered from scipy.stats' formulas, which need no grid
    (the grid's pmf, its leaves: most of a small eager call). Its
    parameters are leaves as usual; the first read of `masses`, `origin` or
    `truncated` (by any other query, an operation, a transform, pytree
    flattening) builds the grid the constructor builds otherwise, the same
    arrays, so every use but those queries sees the law it always saw. The
    grid's length (and its checks) is computed now, as before.
    """
    params = [leaf(v, dt, ()) for v in values]
    # scipy's parameters: the law's (rounded to its dtype), as Python floats
    args = [v.item() for v in (values if dt == _FLOAT64 else params)]
    if upper is not None:
        args.insert(0, float(upper))
    law = object.__new__(Parametric)
    law.__dict__.update(
        step=1.0,
        family=family,
        params=tuple(params),
        frozen=None,
        _recipe=_Recipe(grid, tuple(args), upper, origin, size, dt),
    )
    return law


def _grid_leaves(recipe: _Recipe) -> dict:
    """Return the grid fields of a deferred law, as `_parametric_host` makes them."""
    masses, origin, truncated = recipe.grid()
    dt = recipe.dtype
    return {
        "masses": leaf(np.asarray(masses, dt), dt, owned=True),
        "origin": leaf(origin, dt, ()),
        "truncated": leaf(truncated, dt, ()),
    }


def _scalars(*values) -> tuple[list[np.ndarray], list[float]] | None:
    """Return the parameters where a deferred law applies, else None.

    That is where a law of them lives on the host (`_host.host_values`) and
    each is a scalar (a Python number, a NumPy scalar or 0-d array): then
    as 0-d float64 arrays, and as Python floats (for the range checks).
    """
    vals = host_values(*values)
    if vals is None or any(v.ndim for v in vals):
        return None
    vals = [v.astype(np.float64) for v in vals]
    return vals, [v.item() for v in vals]


def _scalar_size(family: str, size, tail: float, values) -> int:
    """Return the grid length of a law of valid scalar parameters (`_size`)."""
    if size is not None:
        return check_int("size", size, minimum=1)
    return _cached_size(family, tail, tuple(values))


@functools.lru_cache(maxsize=4096)
def _cached_size(family: str, tail: float, args: tuple) -> int:
    rule = functools.partial(_SIZE_RULES[family], tail)
    return _size(None, "", [np.float64(a) for a in args], rule)


def _tail(tail, dtype) -> float:
    if tail is None:
        return _eps(dtype)
    return check_number("tail", tail, low=0.0, high=1.0, low_open=True, high_open=True)


def _size(size, name, params, fn) -> int:
    """Return the grid length: `size`, or ``fn(*concrete params)`` where known."""
    if size is not None:
        return check_int("size", size, minimum=1)
    vals = [concrete(p) for p in params]
    if any(v is None for v in vals):
        raise ValueError(
            f"`size` must be given when `{name}` is traced (under jit or vmap): "
            "the length of the grid must be static."
        )
    vals = [np.asarray(v, np.float64) for v in vals]
    if not all(v.ndim == 0 and np.isfinite(v) for v in vals):
        vals = [np.nan_to_num(v) for v in vals]
    n = int(np.asarray(fn(*vals)).max()) if all(v.size for v in vals) else 1
    if n > 10**8:
        raise ValueError(
            f"The grid would need {n} points; choose a larger `tail` or a `size`."
        )
    return max(n, 1)


def _cut(sf, tail, *args):
    """Smallest integer ``k`` with ``sf(k, *args) <= tail``, per batch entry.

    `sf` is a survival function from scipy.special, evaluated at ``k >= 0``
    only (a ufunc: microseconds, where a frozen scipy.stats law costs a
    millisecond to build). Bisection on the integers, from ``k = -1``
    (where ``sf = 1 > tail``) and an upper end found by doubling; entries
    with NaN parameters give 0. Scalar parameters take a loop on Python
    floats (a tenth of the cost of the same steps on 0-d arrays).
    """
    if all(np.ndim(a) == 0 for a in args):
        with np.errstate(all="ignore"):
            return np.float64(_cut_scalar(sf, tail, tuple(float(a) for a in args)))
    args = np.broadcast_arrays(*(np.asarray(a, np.float64) for a in args))
    with np.errstate(all="ignore"):
        bad = ~np.isfinite(sf(np.zeros(args[0].shape), *args))
        lo = np.full(args[0].shape, -1.0)
        hi = np.full(args[0].shape, 64.0)
        while True:
            above = (sf(hi, *args) > tail) & ~bad
            if not above.any():
                break
            _check_doubling(hi.max())
            lo = np.where(above, hi, lo)
            hi = np.where(above, 2 * hi, hi)
        while np.any(hi - lo > 1):
            mid = np.floor((lo + hi) / 2)
            above = sf(mid, *args) > tail
            lo = np.where(above, mid, lo)
            hi = np.where(above, hi, mid)
    return np.where(bad, 0.0, hi)


@functools.lru_cache(maxsize=4096)
def _cut_scalar(sf, tail, args: tuple) -> float:
    """`_cut` for scalar parameters (floats), the same steps.

    Cached: the grid length is the static part of a law (its shape), and
    loops that rebuild a law with the same parameters (a query per call)
    skip its 10-20 us of bisection.
    """
    if not np.isfinite(sf(0.0, *args)):
        return 0.0
    lo, hi = -1.0, 64.0
    while sf(hi, *args) > tail:
        _check_doubling(hi)
        lo, hi = hi, 2 * hi
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if sf(mid, *args) > tail:
            lo = mid
        else:
            hi = mid
    return hi


def _check_doubling(hi) -> None:
    if hi > 2.0**52:
        raise ValueError("The grid would need more than 2**52 points.")


def _poisson_sf(k, mu):
    return scipy.special.pdtrc(k, mu)


def _geom_sf(k, p):
    return np.exp(k * np.log1p(-p))


def _nbinom_sf(k, n, p):
    return scipy.special.betainc(k + 1, n, 1 - p)


# The grid length of each family with an infinite support, from valid
# concrete parameters: ``rule(tail, *params)`` (see `_size`).
_SIZE_RULES = {
    "poisson": lambda tail, m: _cut(_poisson_sf, tail, m) + 1,
    "geometric": lambda tail, q: _cut(_geom_sf, tail, q),
    "negative_binomial": lambda tail, a, b: _cut(_nbinom_sf, tail, a, b) + 1,
}


# The host grids, ``(masses, origin, truncated)`` in float64, of valid
# parameters (float64 arrays, a batch or 0-d) and the grid length.
def _bernoulli_grid(pv):
    return np.stack([1 - pv, pv], axis=-1), 0.0, 0.0


def _binomial_grid(n, pv):
    return _pmf(scipy.stats.binom, np.arange(n + 1.0), n, pv[..., None]), 0.0, 0.0


def _poisson_grid(mv, n):
    m = _pmf(scipy.stats.poisson, np.arange(float(n)), mv[..., None])
    return m, 0.0, scipy.special.gammainc(n, mv)  # P(X >= n)


def _geometric_grid(pv, n):
    m = _pmf(scipy.stats.geom, np.arange(1.0, n + 1), pv[..., None])
    with np.errstate(divide="ignore"):  # p = 1: log1p(-1) = -inf
        return m, 1.0, np.exp(n * np.log1p(-pv))  # P(X > n)


def _negative_binomial_grid(rv, pv, n):
    m = _pmf(scipy.stats.nbinom, np.arange(float(n)), rv[..., None], pv[..., None])
    return m, 0.0, scipy.special.betainc(n, rv, 1 - pv)  # P(X >= n)


def _pmf(law, k, *args) -> np.ndarray:
    """Masses from a scipy.stats family's formula, for valid parameters.

    The ``_pmf`` through which scipy.stats defines the law (scipy.special's
    functions), clipped to [0, 1] as `scipy.stats.rv_discrete.pmf` does:
    its values, without its argument checks (the constructors make them).
    """
    with np.errstate(all="ignore"):  # np.clip's own overhead is 5-7 us
        return np.minimum(np.maximum(law._pmf(k, *args), 0.0), 1.0)


def _nanify(masses, ok):
    return jnp.where(ok[..., None], masses, jnp.nan)


def bernoulli(p: ArrayLike) -> Parametric:
    r"""Bernoulli law: 1 with probability `p`, else 0.

    Like `scipy.stats.bernoulli`. `p` may be an array (a batch) and traced.

    Parameters
    ----------
    p : array_like
        Success probability in [0, 1]; its shape is the batch shape.

    Returns
    -------
    Parametric
        A lattice law on ``0, 1``.

    Raises
    ------
    ValueError
        If `p` lies outside [0, 1] (under `jax.jit`: NaN masses instead).

    Examples
    --------
    >>> from probconv import distributions as dist
    >>> dist.bernoulli(0.25).masses.tolist()
    [0.75, 0.25]
    """
    scalar = _scalars(p)
    if scalar is not None and 0.0 <= scalar[1][0] <= 1.0:
        (pv,) = scalar[0]
        grid = functools.partial(_bernoulli_grid, pv)
        return _deferred("bernoulli", grid, scalar[0], float_dtype(p=p), 2)
    host = _host(p)
    if host is not None:
        dt = float_dtype(p=p)
        pv = host[0][0].astype(np.float64)
        check_range("p", pv, low=0.0, high=1.0)
        m, _, _ = _bernoulli_grid(pv)
        return _parametric_host(m, 0.0, 0.0, "bernoulli", (pv,), dt, host[1])
    p_raw, p = p, as_param(p, "p", float_dtype(p=p))
    ok = check_range("p", p, low=0.0, high=1.0, raw=p_raw)
    m = jnp.stack([1 - p, p], axis=-1)
    return _parametric(_nanify(m, ok), 0.0, 0.0, "bernoulli", (p,))


def binomial(n: int, p: ArrayLike) -> Parametric:
    r"""Binomial law: successes in `n` trials of probability `p`.

    Like `scipy.stats.binom`: :math:`P(k) = \binom{n}{k} p^k (1-p)^{n-k}`,
    ``k = 0..n``. `n` is a static integer; `p` may be an array and traced.

    Parameters
    ----------
    n : int
        Number of trials (static, ``>= 0``).
    p : array_like
        Success probability in [0, 1]; its shape is the batch shape.

    Returns
    -------
    Parametric
        A lattice law on ``0, ..., n``.

    Raises
    ------
    ValueError
        If `n` is negative or `p` lies outside [0, 1].

    Examples
    --------
    >>> from probconv import distributions as dist
    >>> [round(v, 12) for v in dist.binomial(3, 0.5).masses.tolist()]
    [0.125, 0.375, 0.375, 0.125]
    """
    n = check_int("n", n)
    scalar = _scalars(p)
    if scalar is not None and 0.0 <= scalar[1][0] <= 1.0:
        grid = functools.partial(_binomial_grid, n, scalar[0][0])
        dt = float_dtype(p=p)
        return _deferred("binomial", grid, scalar[0], dt, n + 1, upper=n)
    host = _host(p)
    if host is not None:
        dt = float_dtype(p=p)
        pv = host[0][0].astype(np.float64)
        check_range("p", pv, low=0.0, high=1.0)
        m, _, _ = _binomial_grid(n, pv)
        return _parametric_host(m, 0.0, 0.0, "binomial", (pv,), dt, host[1])
    p_raw, p = p, as_param(p, "p", float_dtype(p=p))
    ok = check_range("p", p, low=0.0, high=1.0, raw=p_raw)
    k = jnp.arange(n + 1, dtype=p.dtype)
    pp = p[..., None]
    logc = gammaln(n + 1.0) - gammaln(k + 1) - gammaln(n - k + 1)
    m = jnp.exp(logc + xlogy(k, pp) + xlog1py(n - k, -pp))
    return _parametric(_nanify(m, ok), 0.0, 0.0, "binomial", (p,))


def poisson(
    mu: ArrayLike, *, tail: float | None = None, size: int | None = None
) -> Parametric:
    r"""Poisson law of mean `mu`, cut where the tail mass falls below `tail`.

    Like `scipy.stats.poisson`: :math:`P(k) = e^{-\mu} \mu^k / k!`.

    Parameters
    ----------
    mu : array_like
        The mean, ``>= 0``; an array gives a batch. May be traced.
    tail : float, optional
        Cut the grid at the first ``k`` with :math:`P(X > k) \le` `tail`
        (default: machine epsilon of the dtype).
    size : int, optional
        The number of grid points ``0..size-1``. Required when `mu` is
        traced under `jax.jit` or `jax.vmap` (grid lengths are static);
        under `jax.grad` alone the value is still known.

    Returns
    -------
    Parametric
        With ``truncated`` :math:`= P(X \ge \mathrm{size})`.

    Raises
    ------
    ValueError
        For a negative or non-finite `mu`, a bad `tail`, or a traced `mu`
        without `size`.

    Examples
    --------
    >>> from probconv import distributions as dist
    >>> d = dist.poisson(3.0)
    >>> d.size, float(d.truncated) < 2.3e-16, round(float(d.cdf(2)), 12)
    (27, True, 0.423190081127)
    """
    dt = float_dtype(mu=mu)
    tail = _tail(tail, dt)
    scalar = _scalars(mu)
    if scalar is not None and 0.0 <= scalar[1][0] < math.inf:
        n = _scalar_size("poisson", size, tail, scalar[1])
        grid = functools.partial(_poisson_grid, scalar[0][0], n)
        return _deferred("poisson", grid, scalar[0], dt, n)
    host = _host(mu)
    if host is not None:
        mv = host[0][0].astype(np.float64)
        check_range("mu", mv, low=0.0)
        rule = functools.partial(_SIZE_RULES["poisson"], tail)
        n = _size(size, "mu", [mv], rule)
        m, _, trunc = _poisson_grid(mv, n)
        return _parametric_host(m, 0.0, trunc, "poisson", (mv,), dt, host[1])
    mu_raw, mu = mu, as_param(mu, "mu", dt)
    ok = check_range("mu", mu, low=0.0, raw=mu_raw)
    n = _size(size, "mu", [mu_raw], lambda m: _cut(_poisson_sf, tail, m) + 1)
    k = jnp.arange(n, dtype=dt)
    mm = mu[..., None]
    m = jnp.exp(xlogy(k, mm) - mm - gammaln(k + 1))
    trunc = gammainc(jnp.asarray(n, dt), mu)
    return _parametric(_nanify(m, ok), 0.0, trunc, "poisson", (mu,))


def geometric(
    p: ArrayLike, *, tail: float | None = None, size: int | None = None
) -> Parametric:
    r"""Geometric law: the trial of the first success, on ``1, 2, ...``.

    Like `scipy.stats.geom`: :math:`P(k) = (1-p)^{k-1} p`, ``k >= 1``. The
    grid starts at 1; `tail` and `size` as in `poisson` (`size` points
    ``1..size``).

    Parameters
    ----------
    p : array_like
        Success probability in (0, 1]; its shape is the batch shape.
    tail : float, optional
        Cut the grid where the mass beyond is below `tail` (default: the
        dtype's machine epsilon); that mass is kept in ``truncated``.
    size : int, optional
        The number of grid points; required when `p` is traced under jit.

    Returns
    -------
    Parametric
        A lattice law on ``1, ..., size``.

    Examples
    --------
    >>> from probconv import distributions as dist
    >>> d = dist.geometric(0.5, size=4)
    >>> d.masses.tolist(), float(d.truncated), float(d.origin)
    ([0.5, 0.25, 0.125, 0.0625], 0.0625, 1.0)
    """
    dt = float_dtype(p=p)
    tail = _tail(tail, dt)
    scalar = _scalars(p)
    if scalar is not None and 0.0 < scalar[1][0] <= 1.0:
        n = _scalar_size("geometric", size, tail, scalar[1])
        grid = functools.partial(_geometric_grid, scalar[0][0], n)
        return _deferred("geometric", grid, scalar[0], dt, n, origin=1.0)
    host = _host(p)
    if host is not None:
        pv = host[0][0].astype(np.float64)
        check_range("p", pv, low=0.0, high=1.0, low_open=True)
        n = _size(size, "p", [pv], functools.partial(_SIZE_RULES["geometric"], tail))
        m, _, trunc = _geometric_grid(pv, n)
        return _parametric_host(m, 1.0, trunc, "geometric", (pv,), dt, host[1])
    p_raw, p = p, as_param(p, "p", dt)
    ok = check_range("p", p, low=0.0, high=1.0, low_open=True, raw=p_raw)
    n = _size(
        size,
        "p",
        [p_raw],
        lambda q: _cut(_geom_sf, tail, np.clip(q, 1e-300, 1)),
    )
    k = jnp.arange(n, dtype=dt)
    pp = p[..., None]
    m = pp * jnp.exp(xlog1py(k, -pp))
    trunc = jnp.exp(xlog1py(jnp.asarray(n, dt), -p))
    return _parametric(_nanify(m, ok), 1.0, trunc, "geometric", (p,))


def negative_binomial(
    n: ArrayLike, p: ArrayLike, *, tail: float | None = None, size: int | None = None
) -> Parametric:
    r"""Negative binomial law: failures before the `n`-th success.

    Like `scipy.stats.nbinom`:
    :math:`P(k) = \binom{k + n - 1}{k} p^n (1-p)^k`, ``k >= 0``, for real
    ``n > 0`` and ``0 < p <= 1``. `tail` and `size` as in `poisson`.

    Parameters
    ----------
    n : array_like
        Number of successes, real and ``> 0``.
    p : array_like
        Success probability in (0, 1].
    tail : float, optional
        Cut the grid where the mass beyond is below `tail`; that mass is
        kept in ``truncated``.
    size : int, optional
        The number of grid points; required when a parameter is traced.

    Returns
    -------
    Parametric
        A lattice law on ``0, ..., size - 1``.

    Examples
    --------
    >>> from probconv import distributions as dist
    >>> d = dist.negative_binomial(2, 0.5)
    >>> round(float(d.pmf(1)), 12), round(float(d.mean()), 10)
    (0.25, 2.0)
    """
    dt = float_dtype(n=n, p=p)
    tail = _tail(tail, dt)
    n_raw, p_raw = n, p
    scalar = _scalars(n_raw, p_raw)
    if scalar is not None and 0 < scalar[1][0] < math.inf and 0 < scalar[1][1] <= 1:
        size = _scalar_size("negative_binomial", size, tail, scalar[1])
        grid = functools.partial(_negative_binomial_grid, *scalar[0], size)
        return _deferred("negative_binomial", grid, scalar[0], dt, size)
    host = _host(n_raw, p_raw)
    if host is not None:
        rv, pv = np.broadcast_arrays(*(h.astype(np.float64) for h in host[0]))
        check_range("n", rv, low=0.0, low_open=True)
        check_range("p", pv, low=0.0, high=1.0, low_open=True)
        rule = functools.partial(_SIZE_RULES["negative_binomial"], tail)
        size = _size(size, "n` or `p", [rv, pv], rule)
        m, _, trunc = _negative_binomial_grid(rv, pv, size)
        params = (rv, pv)
        return _parametric_host(m, 0.0, trunc, "negative_binomial", params, dt, host[1])
    r = as_param(n, "n", dt)
    p = as_param(p, "p", dt)
    ok = check_range("n", r, low=0.0, low_open=True, raw=n_raw) & check_range(
        "p", p, low=0.0, high=1.0, low_open=True, raw=p_raw
    )
    r, p = jnp.broadcast_arrays(r, p)
    size = _size(
        size,
        "n` or `p",
        [n_raw, p_raw],
        lambda a, b: _cut(_nbinom_sf, tail, np.maximum(a, 1e-300), b) + 1,
    )
    k = jnp.arange(size, dtype=dt)
    rr, pp = r[..., None], p[..., None]
    logc = gammaln(k + rr) - gammaln(k + 1) - gammaln(rr)
    m = jnp.exp(logc + xlogy(rr, pp) + xlog1py(k, -pp))
    # P(X >= size), differentiable in n too (JAX's betainc is not in b).
    last = jnp.full(r.shape, size - 1.0, dt)
    trunc = jnp.exp(log_sf("negative_binomial", (r, p), last))
    return _parametric(_nanify(m, ok), 0.0, trunc, "negative_binomial", (r, p))


def uniform_int(low: int, high: int) -> Distribution:
    """Discrete uniform law on ``low, ..., high - 1``.

    Like `scipy.stats.randint`. `low` and `high` are static integers.

    Parameters
    ----------
    low, high : int
        The support is ``low, ..., high - 1`` (``high > low``).

    Returns
    -------
    Distribution
        A lattice law with masses ``1 / (high - low)``.

    Examples
    --------
    >>> from probconv import distributions as dist
    >>> dist.uniform_int(-1, 3).masses.tolist()
    [0.25, 0.25, 0.25, 0.25]
    """
    low = check_int("low", low, minimum=-(2**62))
    high = check_int("high", high, minimum=-(2**62))
    if high <= low:
        raise ValueError(f"`high` must exceed `low`; got low={low}, high={high}.")
    n = high - low
    dt = jnp.result_type(float)
    return make(jnp.full((n,), 1.0 / n, dt), float(low), 0.0, 1.0, "lattice")


def die(sides: int = 6) -> Distribution:
    """Return a fair die with faces ``1, ..., sides``.

    Parameters
    ----------
    sides : int
        The number of faces (``>= 1``).

    Returns
    -------
    Distribution
        A lattice law with masses ``1 / sides`` on ``1, ..., sides``.

    Examples
    --------
    >>> from probconv import distributions as dist
    >>> float(dist.die(20).mean())
    10.5
    """
    sides = check_int("sides", sides, minimum=1)
    return uniform_int(1, sides + 1)


def dice(n: int, sides: int = 6) -> Distribution:
    """Return the law of the total of `n` fair dice with faces ``1..sides``.

    Parameters
    ----------
    n : int
        The number of dice (``>= 1``).
    sides : int
        The number of faces of each die.

    Returns
    -------
    Distribution
        A lattice law on ``n, ..., n * sides``. On the CPU, up to
        `HOST_DICE_POINTS` points, built on the host by direct convolutions
        (powers by squaring, sums of non-negative terms: no FFT round-off)
        and kept as NumPy leaves (see `Distribution`); otherwise by one
        transform power (`iid_sum`).

    Examples
    --------
    >>> from probconv import distributions as dist
    >>> d = dist.dice(2)
    >>> round(float(d.pmf(7)) * 36, 10), float(d.support()[0])
    (6.0, 2.0)
    """
    n = check_int("n", n)
    sides = check_int("sides", sides, minimum=1)
    if n >= 1 and n * (sides - 1) + 1 <= HOST_DICE_POINTS and on_cpu():
        return _dice_host(n, sides)
    return iid_sum_lattice(die(sides), n)


# Dice laws up to this many points are built on the host: the last squaring
# costs at most (2048)^2 multiply-adds (about 2 ms), less than one XLA
# compilation of the transform power.
HOST_DICE_POINTS = 4096


def _dice_host(n: int, sides: int) -> Distribution:
    """Return the law of `n` fair dice by direct convolutions on the host."""
    dt = default_float()
    base = np.full(sides, 1.0 / sides)
    out, k = None, n
    while k:
        if k & 1:
            out = base if out is None else np.convolve(out, base)
        k >>= 1
        if k:
            base = np.convolve(base, base)
    return Lattice(leaf(out, dt, owned=True), leaf(n, dt), leaf(0.0, dt), 1.0)


def from_scipy(
    frozen,
    *,
    tail: float | None = None,
    step: float | None = None,
    support: tuple[float, float] | None = None,
    tol: float = 1e-6,  # the grid spec's defaults (_grid_args.DEFAULTS), written
    max_size: int = 2**20,  # out so that the API pages show them
) -> Distribution:
    r"""Convert a frozen scipy.stats distribution to a grid.

    A discrete law (`scipy.stats.rv_discrete`) becomes a lattice on its
    integer support, through its `pmf`. A continuous law
    (`scipy.stats.rv_continuous`) becomes a density on cells of width `step`
    centred on multiples of `step`, each cell's mass a difference of the
    CDF (of the survival function in the right half, for accurate tails);
    never by sampling the pdf at points. An infinite support is cut where
    the mass beyond falls below `tail` (split between the two ends); the
    mass cut is kept in `truncated`.

    Parameters
    ----------
    frozen : scipy.stats frozen distribution
        For example ``scipy.stats.zipf(2.5)`` or ``scipy.stats.norm(0, 1)``.
    tail : float, optional
        Total mass that may be cut off (default: float64 epsilon).
    step : float, optional
        The cell width, for (and only for) continuous laws. Default: chosen
        from `tol` (see `probconv.distributions.normal`); `support`, `tol` and
        `max_size` as there. A continuous law becomes a `Continuous` (with
        the jumps of its density at finite ends of its support recorded, so
        that sums stay fourth order).

    Returns
    -------
    Distribution

    Raises
    ------
    TypeError
        If `frozen` is not a frozen scipy.stats distribution.
    ValueError
        For a superfluous `step`, a bad `tail`, or a grid over
        ``10**8`` points.

    Notes
    -----
    For a continuous law with CDF :math:`F`, cell :math:`k` has mass
    :math:`F(x_k + h/2) - F(x_k - h/2)`.

    Examples
    --------
    >>> import scipy.stats
    >>> from probconv import distributions as dist
    >>> d = dist.from_scipy(scipy.stats.hypergeom(20, 7, 12))
    >>> float(d.origin), d.size, round(float(d.mean()), 12)
    (0.0, 8, 4.2)
    >>> n = dist.from_scipy(scipy.stats.norm(), step=0.1)
    >>> n.kind, round(float(n.cdf(0.0)), 12)
    ('density', 0.5)
    """
    dist_obj = getattr(frozen, "dist", None)
    if not isinstance(dist_obj, (scipy.stats.rv_discrete, scipy.stats.rv_continuous)):
        raise TypeError(
            "`frozen` must be a frozen scipy.stats distribution such as "
            f"scipy.stats.poisson(3); got {type(frozen).__name__}."
        )
    tail = _tail(tail, np.float64)
    dt = jnp.result_type(float)
    lo, hi = (float(v) for v in frozen.support())
    if isinstance(dist_obj, scipy.stats.rv_discrete):
        if step is not None:
            raise ValueError(
                f"`step` applies to continuous laws only; got step={step!r} for "
                "a discrete one (its step is 1)."
            )
        both = np.isinf(lo) and np.isinf(hi)
        cut = tail / 2 if both else tail
        a = lo if np.isfinite(lo) else float(frozen.ppf(cut))
        b = hi if np.isfinite(hi) else float(frozen.isf(cut))
        n = int(round(b - a)) + 1
        _check_points(n)
        x = a + np.arange(n)
        m = np.clip(np.asarray(frozen.pmf(x), np.float64), 0, None)
        t = float(frozen.cdf(a - 1)) + float(frozen.sf(b))
        law = make(jnp.asarray(m, dt), a, max(t, 0.0), 1.0, "lattice")
        # Kept with its law, so that relative accuracy can extend the grid.
        return Parametric(
            law.masses, law.origin, law.truncated, 1.0, "scipy", (), frozen
        )
    grid = {"step": step, "support": support, "tol": tol, "tail": tail}
    return from_scipy_continuous(
        frozen, check_grid("from_scipy", {**grid, "max_size": max_size})
    )


def _check_points(n: int) -> None:
    if n > 10**8:
        raise ValueError(
            f"The grid would need {n} points (over 10**8); choose a larger `tail`."
        )
