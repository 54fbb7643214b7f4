"""The `Distribution` pytree: masses on a regular grid, and its queries."""

from __future__ import annotations

import dataclasses
import math
import numbers

import jax
import jax.numpy as jnp
import numpy as np
import scipy.stats
from jax.typing import ArrayLike

from . import _queries
from ._checks import check_int, check_positive_float, concrete

KINDS = ("lattice", "density")


def _check_kind(kind) -> str:
    if not isinstance(kind, str) or kind not in KINDS:
        raise ValueError(f"`kind` must be 'lattice' or 'density'; got {kind!r}.")
    return kind


def _eps(dtype) -> float:
    return float(jnp.finfo(dtype).eps)


@dataclasses.dataclass(frozen=True, eq=False)
class Distribution:
    r"""The law of a real random variable, as masses on a regular grid.

    Grid point ``k`` is :math:`x_k = \mathrm{origin} + k \cdot \mathrm{step}`,
    ``k = 0, ..., n - 1``. Build one with `from_masses`, a family constructor
    (`binomial`, `poisson`, ...), `from_scipy`, or by operations on others
    (``X + Y``, `iid_sum`, `compound`, ...). Instances are immutable pytrees:
    `masses`, `origin` and `truncated` are leaves (they can be traced,
    batched by `jax.vmap` and differentiated); `step` and `kind` are static.

    Attributes
    ----------
    masses : jax.Array
        Shape ``(..., n)``: leading axes are a batch of distributions, the
        last axis the grid.
    origin : jax.Array
        Shape ``(...)`` (the batch shape): the first grid point.
    truncated : jax.Array
        Shape ``(...)``: probability mass that lies off the grid (cut tails,
        mass lost to truncation in sums), so that
        ``masses.sum(-1) + truncated == 1`` up to rounding.
    step : float
        The grid spacing (static).
    kind : {'lattice', 'density'}
        ``'lattice'``: a discrete variable with ``P(X = x_k) = masses[k]``.
        ``'density'``: a continuous variable; ``masses[k]`` is the probability
        of cell ``k``, the interval :math:`[x_k - h/2, x_k + h/2)` with
        :math:`h` the step.

    Notes
    -----
    Conventions for ``kind='density'``: the cumulative distribution is linear
    within each cell (the mass is spread evenly over the cell, as in
    `scipy.stats.rv_histogram`), so `cdf`, `sf`, `ppf`, `isf` and `sample`
    agree with each other; `pdf` interpolates :math:`m_k / h` linearly between
    grid points (a smoother estimate of the same density). `mean`, `var`,
    `moment` and `entropy` use the masses at the grid points (the midpoint
    rule), so that they add exactly under sums; the histogram's own variance
    is larger by :math:`h^2/12` (Sheppard's correction).

    Queries condition on nothing: `cdf` and `sf` count the mass on the grid
    only, so ``cdf(x) + sf(x) == 1 - truncated``. Moments, `sample` and
    `to_scipy` use the grid masses normalized by their total (the truncated
    mass is assumed negligible, which the defaults of the constructors make
    it, near machine epsilon).
    """

    masses: jax.Array
    origin: jax.Array
    truncated: jax.Array
    step: float = 1.0
    kind: str = "lattice"

    # -- shape ---------------------------------------------------------------
    @property
    def batch_shape(self) -> tuple[int, ...]:
        """The leading (batch) shape of `masses`."""
        return tuple(self.masses.shape[:-1])

    @property
    def size(self) -> int:
        """The number of grid points, ``n``."""
        return int(self.masses.shape[-1])

    @property
    def dtype(self):
        """The floating dtype of the masses."""
        return self.masses.dtype

    @property
    def points(self) -> jax.Array:
        """The grid points ``x_k``, shape ``(..., n)``."""
        k = jnp.arange(self.size, dtype=self.dtype)
        return self.origin[..., None] + self.step * k

    @property
    def total(self) -> jax.Array:
        """The mass on the grid, ``masses.sum(-1)``."""
        return jnp.sum(self.masses, axis=-1)

    # -- arithmetic ----------------------------------------------------------
    def add(self, other: Distribution, *, accuracy: str = "absolute"):
        """Return the law of ``X + Y`` for independent ``X`` (self) and ``Y``.

        The method behind ``X + Y``; see `probconv.distributions.add` for details.
        """
        from ._ops import add

        return add(self, other, accuracy=accuracy)

    def __add__(self, other):
        from ._ops import add, shift

        if isinstance(other, Distribution):
            return add(self, other)
        if _is_scalar_like(other):
            return shift(self, other)
        return NotImplemented

    def __radd__(self, other):
        return self.__add__(other)

    def __neg__(self):
        from ._ops import negate

        return negate(self)

    def __sub__(self, other):
        from ._ops import add, negate, shift

        if isinstance(other, Distribution):
            return add(self, negate(other))
        if _is_scalar_like(other):
            return shift(self, -jnp.asarray(other))
        return NotImplemented

    def __rsub__(self, other):
        from ._ops import negate, shift

        if _is_scalar_like(other):
            return shift(negate(self), other)
        return NotImplemented

    def __mul__(self, other):
        from ._ops import scale

        if isinstance(other, Distribution):
            raise TypeError(
                "The product of two random variables is not a convolution; "
                "`*` takes a Python number (c * X scales the grid)."
            )
        if isinstance(other, (numbers.Real, np.integer, np.floating)) and not (
            isinstance(other, (bool, np.bool_))
        ):
            return scale(self, other)
        return NotImplemented

    __rmul__ = __mul__

    # -- point queries -------------------------------------------------------
    def pmf(self, x: ArrayLike) -> jax.Array:
        r"""Probability mass function, :math:`P(X = x)`.

        Like `scipy.stats.rv_discrete.pmf`: `x` broadcasts against the batch
        shape. Off-grid points get 0. Only for ``kind='lattice'``.

        Examples
        --------
        >>> from probconv import distributions as dist
        >>> dist.die(6).pmf([0, 1, 3.5, 6]).tolist()
        [0.0, 0.16666666666666666, 0.0, 0.16666666666666666]
        """
        self._need("lattice", "pmf", "pdf")
        return _queries.pmf(self, jnp.asarray(x))

    def logpmf(self, x: ArrayLike) -> jax.Array:
        """Log of the probability mass function (``-inf`` where it is 0)."""
        return jnp.log(self.pmf(x))

    def pdf(self, x: ArrayLike) -> jax.Array:
        r"""Probability density function, for ``kind='density'``.

        :math:`m_k / h` at grid point :math:`x_k`, linearly interpolated
        between grid points, constant over the outer half cells, and 0
        outside the cells; it integrates to the mass on the grid.

        Examples
        --------
        >>> from probconv import distributions as dist
        >>> d = dist.from_masses([0.25, 0.5, 0.25], step=0.5, kind="density")
        >>> d.pdf([-0.5, -0.2, 0.0, 0.25, 0.5, 1.2, 1.3]).tolist()
        [0.0, 0.5, 0.5, 0.75, 1.0, 0.5, 0.0]
        """
        self._need("density", "pdf", "pmf")
        return _queries.pdf(self, jnp.asarray(x))

    def logpdf(self, x: ArrayLike) -> jax.Array:
        """Log of the probability density function (``kind='density'``)."""
        return jnp.log(self.pdf(x))

    def _need(self, kind, query, other):
        if self.kind != kind:
            raise TypeError(
                f"`{query}` needs a distribution of kind {kind!r}; this one is "
                f"{self.kind!r}: use `{other}`."
            )

    def cdf(self, x: ArrayLike) -> jax.Array:
        r"""Cumulative distribution function, :math:`P(X \le x)`.

        Sums the masses from the left (for ``kind='density'``, linear within
        a cell). Counts only the mass on the grid.

        Examples
        --------
        >>> from probconv import distributions as dist
        >>> dist.die(6).cdf([0, 2, 2.5, 6]).tolist()
        [0.0, 0.3333333333333333, 0.3333333333333333, 1.0]
        """
        return _queries.cdf(self, jnp.asarray(x))

    def logcdf(self, x: ArrayLike) -> jax.Array:
        """Log of the cumulative distribution function."""
        return jnp.log(self.cdf(x))

    def sf(self, x: ArrayLike) -> jax.Array:
        r"""Survival function, :math:`P(X > x)`, summed from the tail.

        Like `scipy.stats.rv_discrete.sf`. Not computed as ``1 - cdf``, so
        tail probabilities far below machine epsilon keep their relative
        accuracy (as far as the masses themselves have it).

        Examples
        --------
        >>> from probconv import distributions as dist
        >>> [float(f"{v:.12g}") for v in dist.binomial(40, 0.5).sf([20, 39])]
        [0.43731465619, 9.09494701773e-13]
        """
        return _queries.sf(self, jnp.asarray(x))

    def logsf(self, x: ArrayLike) -> jax.Array:
        """Log of the survival function (from the tail sums, not ``1 - cdf``)."""
        return jnp.log(self.sf(x))

    # -- quantiles -----------------------------------------------------------
    def ppf(self, q: ArrayLike) -> jax.Array:
        r"""Percent point function (inverse of `cdf`).

        Like `scipy.stats.rv_discrete.ppf`: for a lattice, the smallest grid
        point :math:`x` with :math:`F(x) \ge q`; ``ppf(0)`` is one step below
        the grid, as in scipy. For a density, the inverse of the piecewise
        linear `cdf`. ``inf`` where `q` exceeds the mass on the grid; NaN for
        `q` outside [0, 1].

        Examples
        --------
        >>> from probconv import distributions as dist
        >>> dist.die(6).ppf([0.0, 0.5, 0.51, 1.0]).tolist()
        [0.0, 3.0, 4.0, 6.0]
        """
        return _queries.ppf(self, jnp.asarray(q))

    def isf(self, q: ArrayLike) -> jax.Array:
        r"""Inverse survival function (inverse of `sf`).

        Like `scipy.stats.rv_discrete.isf`: for a lattice, the smallest grid
        point :math:`x` with :math:`P(X > x) \le q` (one step below the grid
        when that holds there already, as scipy's ``isf(1)``); for a
        density, the inverse of the piecewise linear `sf`. Found from the
        tail sums, so small `q` keep their accuracy. ``inf`` where `q` is
        below the truncated mass; NaN for `q` outside [0, 1].

        Examples
        --------
        >>> from probconv import distributions as dist
        >>> dist.die(6).isf([1.0, 0.5, 0.1, 0.0]).tolist()
        [0.0, 3.0, 6.0, 6.0]
        """
        return _queries.isf(self, jnp.asarray(q))

    # -- moments -------------------------------------------------------------
    def mean(self) -> jax.Array:
        r"""Return the mean, :math:`\sum_k x_k m_k / \sum_k m_k`.

        Examples
        --------
        >>> from probconv import distributions as dist
        >>> float(dist.dice(3).mean())
        10.5
        """
        return _queries.mean(self)

    def var(self) -> jax.Array:
        r"""Return the variance, :math:`\sum_k (x_k - \mu)^2 m_k / \sum_k m_k`.

        Computed in two passes (about the mean), so it keeps its relative
        accuracy for a narrow law far from the origin.

        Examples
        --------
        >>> from probconv import distributions as dist
        >>> round(float(dist.dice(3).var()), 12)
        8.75
        """
        return _queries.var(self)

    def std(self) -> jax.Array:
        """Return the standard deviation, ``sqrt(var())``."""
        return jnp.sqrt(self.var())

    def moment(self, order: int) -> jax.Array:
        r"""Return the non-central moment :math:`E[X^r]`.

        :math:`E[X^r] = \sum_k x_k^r m_k / \sum_k m_k`.

        Like `scipy.stats.rv_discrete.moment`.

        Examples
        --------
        >>> from probconv import distributions as dist
        >>> round(float(dist.die(6).moment(2)), 10)
        15.1666666667
        """
        order = check_int(order, "order")
        return _queries.moment(self, order)

    def entropy(self) -> jax.Array:
        r"""Shannon entropy in nats (differential entropy for a density).

        :math:`-\sum_k p_k \log p_k` with :math:`p_k = m_k / \sum_j m_j` for a
        lattice, and :math:`-\sum_k p_k \log(p_k / h)` for a density.

        Examples
        --------
        >>> import math
        >>> from probconv import distributions as dist
        >>> math.isclose(float(dist.die(6).entropy()), math.log(6))
        True
        """
        return _queries.entropy(self)

    def support(self) -> tuple[jax.Array, jax.Array]:
        """Return the ends of the grid, ``(lower, upper)``.

        For a lattice the first and last grid points; for a density the outer
        edges of the first and last cells. Unlike scipy's ``support``, these
        are the ends of the (possibly truncated) grid.

        Examples
        --------
        >>> from probconv import distributions as dist
        >>> [float(v) for v in dist.die(6).support()]
        [1.0, 6.0]
        """
        lo = self.origin
        hi = self.origin + self.step * (self.size - 1)
        if self.kind == "density":
            return lo - self.step / 2, hi + self.step / 2
        return lo, hi

    # -- sampling and scipy ---------------------------------------------------
    def sample(self, key: jax.Array, shape: tuple[int, ...] = ()) -> jax.Array:
        """Draw samples, of shape ``shape + batch_shape``.

        Grid points are drawn with probabilities ``masses / total`` (the
        truncated mass is not drawn); for a density, uniformly within the
        drawn cell.

        Examples
        --------
        >>> import jax
        >>> from probconv import distributions as dist
        >>> s = dist.die(6).sample(jax.random.key(0), (1000,))
        >>> s.shape, bool(s.min() >= 1), bool(s.max() <= 6)
        ((1000,), True, True)
        """
        return _queries.sample(self, key, _check_shape(shape))

    def to_scipy(self):
        """Return an equivalent scipy.stats distribution (unbatched only).

        A lattice becomes `scipy.stats.rv_discrete` on the grid points, a
        density `scipy.stats.rv_histogram` on the cells; the masses are
        normalized by their total.

        Examples
        --------
        >>> from probconv import distributions as dist
        >>> round(float(dist.dice(2).to_scipy().cdf(7)) * 36, 10)
        21.0
        """
        if self.batch_shape:
            raise ValueError(
                "`to_scipy` needs a single distribution; got batch shape "
                f"{self.batch_shape}."
            )
        m = concrete(self.masses)
        o = concrete(self.origin)
        if m is None or o is None:
            raise TypeError("`to_scipy` needs concrete values; it cannot be traced.")
        m = np.asarray(m, np.float64)
        p = m / m.sum()
        x = float(o) + self.step * np.arange(m.size)
        if self.kind == "lattice":
            return scipy.stats.rv_discrete(values=(x, p))
        edges = np.concatenate([x - self.step / 2, [x[-1] + self.step / 2]])
        return scipy.stats.rv_histogram((p, edges), density=False)


jax.tree_util.register_dataclass(
    Distribution,
    data_fields=["masses", "origin", "truncated"],
    meta_fields=["step", "kind"],
)


def _is_scalar_like(x) -> bool:
    if isinstance(x, (bool, np.bool_)):
        return False
    return isinstance(x, (numbers.Real, np.integer, np.floating, jax.Array, np.ndarray))


def _check_shape(shape) -> tuple[int, ...]:
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (shape,)
    try:
        out = tuple(shape)
    except TypeError:
        raise TypeError(
            f"`shape` must be a tuple of integers; got {shape!r}."
        ) from None
    if not all(
        isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s >= 0
        for s in out
    ):
        raise ValueError(
            f"`shape` must be a tuple of non-negative integers; got {shape!r}."
        )
    return tuple(int(s) for s in out)


def make(masses, origin, truncated, step: float, kind: str) -> Distribution:
    """Build a `Distribution` without checks (origin, truncated broadcast)."""
    masses = jnp.asarray(masses)
    batch = masses.shape[:-1]
    origin = jnp.broadcast_to(jnp.asarray(origin, masses.dtype), batch)
    truncated = jnp.broadcast_to(jnp.asarray(truncated, masses.dtype), batch)
    return Distribution(masses, origin, truncated, float(step), kind)


def from_masses(
    masses: ArrayLike,
    origin: ArrayLike = 0.0,
    step: float = 1.0,
    *,
    kind: str = "lattice",
    truncated: ArrayLike = 0.0,
) -> Distribution:
    r"""Build a distribution from probability masses on a regular grid.

    Parameters
    ----------
    masses : array_like
        Shape ``(..., n)``, ``n >= 1``: the probability of each grid point
        (``kind='lattice'``) or cell (``kind='density'``). Leading axes are a
        batch. Non-negative, finite, and summing with `truncated` to at most
        one (up to rounding). Integer input gives floating masses.
    origin : array_like
        The first grid point, broadcastable to the batch shape.
        Differentiable.
    step : float
        The positive grid spacing (a static Python number).
    kind : {'lattice', 'density'}
        A discrete variable on the grid points, or a continuous one whose
        density is the mass per cell divided by `step` (see `Distribution`).
    truncated : array_like
        Mass known to lie off the grid (default 0), broadcastable to the
        batch shape.

    Returns
    -------
    Distribution

    Raises
    ------
    ValueError
        For empty or scalar masses; negative, non-finite masses or a total
        above one; a negative `truncated`; a bad `step` or `kind`.
    TypeError
        For non-numeric or complex masses, or a traced `step`.

    Notes
    -----
    The checks on values run where the masses are concrete. Under `jax.jit`
    they cannot raise: a distribution whose masses fail them gets NaN
    masses instead, so every query returns NaN.

    The total may exceed one by
    :math:`16\,\epsilon \sqrt{n}` (rounding in sums of masses).

    See Also
    --------
    Distribution, from_scipy

    Examples
    --------
    >>> from probconv import distributions as dist
    >>> d = dist.from_masses([0.2, 0.5, 0.3], origin=-1)
    >>> d.pmf(0).item(), d.cdf(0).item(), d.mean().item()
    (0.5, 0.7, 0.1)
    """
    kind = _check_kind(kind)
    step = check_positive_float(step, "step")
    m = _as_real(masses, "masses")
    if m.ndim == 0 or m.shape[-1] == 0:
        raise ValueError(
            f"`masses` must have at least one grid point (last axis); got shape "
            f"{m.shape}."
        )
    dtype = m.dtype
    org = _as_real(origin, "origin").astype(dtype)
    trunc = _as_real(truncated, "truncated").astype(dtype)
    batch = m.shape[:-1]
    for name, a in (("origin", org), ("truncated", trunc)):
        try:
            jnp.broadcast_shapes(a.shape, batch)
        except ValueError:
            raise ValueError(
                f"`{name}` must broadcast to the batch shape {batch}; got shape "
                f"{a.shape}."
            ) from None
    if len(org.shape) > len(batch) or len(trunc.shape) > len(batch):
        raise ValueError(
            f"`origin` and `truncated` must broadcast to the batch shape {batch}; "
            f"got shapes {org.shape} and {trunc.shape}."
        )
    tol = 16 * _eps(dtype) * math.sqrt(m.shape[-1])
    total = jnp.sum(m, -1) + trunc
    ok_m = jnp.all(jnp.isfinite(m) & (m >= 0), -1)
    ok_t = jnp.isfinite(trunc) & (trunc >= 0)
    ok_s = total <= 1 + tol
    cm = concrete(ok_m)
    if cm is not None and not cm.all():
        mv = np.asarray(concrete(m))
        bad = mv[~(np.isfinite(mv) & (mv >= 0))][:3].tolist()
        raise ValueError(
            f"`masses` must be finite and non-negative; got values such as {bad}."
        )
    ct = concrete(ok_t)
    if ct is not None and not ct.all():
        raise ValueError(
            "`truncated` must be finite and non-negative; got "
            f"{np.asarray(concrete(trunc)).ravel()[:3].tolist()}."
        )
    cs = concrete(ok_s)
    if cs is not None and not cs.all():
        worst = float(np.max(concrete(total)))
        raise ValueError(
            "`masses` plus `truncated` must sum to at most 1 (a probability); "
            f"got a total of {worst!r}."
        )
    ok = jnp.broadcast_to(ok_m & ok_t & ok_s, batch)
    m = jnp.where(ok[..., None], m, jnp.nan)
    return make(m, org, trunc, step, kind)


def _as_real(x, name: str) -> jax.Array:
    if isinstance(x, Distribution) or isinstance(x, str):
        raise TypeError(f"`{name}` must be a real array; got {type(x).__name__}.")
    if not isinstance(x, jax.Array):
        try:
            arr = np.asarray(x)
        except (TypeError, ValueError) as err:
            raise TypeError(f"`{name}` must be a real numeric array.") from err
        if arr.dtype.kind not in "biuf":
            raise TypeError(
                f"`{name}` must be a real numeric array; got dtype {arr.dtype}."
            )
        x = jnp.asarray(arr)
    if not (jnp.issubdtype(x.dtype, jnp.floating)):
        if jnp.issubdtype(x.dtype, jnp.complexfloating):
            raise TypeError(f"`{name}` must be real; got dtype {x.dtype}.")
        x = x.astype(jnp.result_type(float))
    return x
