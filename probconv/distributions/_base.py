"""The abstract `Distribution`: masses on a regular grid, and its queries.

The bottom of the package's classes. It holds what every law shares (the
grid, the masses, the queries) and no operation between laws: the
arithmetic operators look up their implementation in `_ARITHMETIC`, which
the routing module (`_ops`, above every kind) fills when the package is
imported, so that imports only go down.

Also here: `pytree_dataclass`, the one helper that makes a final class a
frozen dataclass registered as a JAX pytree.
"""

from __future__ import annotations

import abc
import dataclasses
import functools
import numbers
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
import scipy.stats
from jax.typing import ArrayLike

from .._checks import check_int, concrete
from ..conv import bucket_length
from . import _host, _queries

INTERPOLATIONS = ("linear", "cubic")


def static_field(default=dataclasses.MISSING):
    """Declare a static (metadata) field of a `pytree_dataclass`.

    Static fields are hashed into the pytree structure (the grid step, a
    family name); every other field is a leaf (arrays, traced under `jit`).
    """
    return dataclasses.field(default=default, metadata={"static": True})


def pytree_dataclass(cls):
    """Make `cls` a final, frozen dataclass registered as a JAX pytree.

    Fields declared with `static_field` are metadata; the others are leaves
    (`jax.tree_util.register_dataclass`). The class is marked final: the
    abstract `Distribution` refuses subclasses of it.
    """
    cls = dataclasses.dataclass(frozen=True, eq=False)(cls)
    fields = dataclasses.fields(cls)
    meta = [f.name for f in fields if f.metadata.get("static", False)]
    data = [f.name for f in fields if not f.metadata.get("static", False)]
    jax.tree_util.register_dataclass(cls, data_fields=data, meta_fields=meta)
    cls.__final__ = True
    return cls


# Filled by `_ops` (the routing module) at import time: "add", "negate",
# "shift", "scale".
_ARITHMETIC: dict[str, Callable] = {}


def register_arithmetic(**ops: Callable) -> None:
    """Install the operations behind ``+``, ``-`` and ``*`` (called by `_ops`)."""
    _ARITHMETIC.update(ops)


def _arithmetic(name: str) -> Callable:
    try:
        return _ARITHMETIC[name]
    except KeyError:  # pragma: no cover - the package __init__ imports _ops
        raise RuntimeError(
            f"The operation {name!r} is not registered: import "
            "`probconv.distributions` (its `_ops` module installs the operators)."
        ) from None


@functools.lru_cache(maxsize=64)
def eps(dtype) -> float:
    """Machine epsilon of a floating dtype (cached: `jnp.finfo` costs 1-2 us)."""
    return float(jnp.finfo(dtype).eps)


@dataclasses.dataclass(frozen=True, eq=False)
class Distribution(abc.ABC):
    r"""The law of a real random variable, as masses on a regular grid.

    The abstract base of every law in `probconv.distributions`: each law is
    an instance of one of its final (never subclassed) classes, one per kind
    of data it holds (a lattice, a density, a `Continuous` density that
    knows its singular part, a `Parametric` family, a
    `RelativeDistribution`); ``isinstance(x, Distribution)`` holds for all.

    Grid point ``k`` is :math:`x_k = \mathrm{origin} + k \cdot \mathrm{step}`,
    ``k = 0, ..., n - 1``. Build one with `from_masses`, a family constructor
    (`binomial`, `poisson`, ...), `from_scipy`, or by operations on others
    (``X + Y``, `iid_sum`, `compound`, ...). Instances are immutable pytrees:
    `masses`, `origin` and `truncated` are leaves (they can be traced,
    batched by `jax.vmap` and differentiated); `step` is static, and `kind`
    a read-only property of the class.

    Attributes
    ----------
    masses : jax.Array or numpy.ndarray
        Shape ``(..., n)``: leading axes are a batch of distributions, the
        last axis the grid. A law built eagerly on the CPU from NumPy
        arrays or Python numbers (a family, `dice`, `poisson_binomial`)
        keeps its leaves as read-only NumPy arrays, computed on the host;
        every other law holds JAX arrays. Queries return JAX arrays either
        way.
    origin : jax.Array or numpy.ndarray
        Shape ``(...)`` (the batch shape): the first grid point.
    truncated : jax.Array or numpy.ndarray
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
    step: float = static_field(1.0)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for base in cls.__mro__[1:]:
            if base.__dict__.get("__final__", False):
                raise TypeError(
                    f"{base.__name__} is final; subclass the abstract "
                    "`Distribution` instead."
                )

    @property
    @abc.abstractmethod
    def kind(self) -> str:
        """``'lattice'`` (a discrete variable) or ``'density'`` (a continuous one)."""

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

    # -- arithmetic (implemented in `_ops`, installed in `_ARITHMETIC`) -------
    def add(self, other: Distribution, *, accuracy: str = "absolute"):
        """Return the law of ``X + Y`` for independent ``X`` (self) and ``Y``.

        The method behind ``X + Y``; see `probconv.distributions.add` for details.
        """
        return _arithmetic("add")(self, other, accuracy=accuracy)

    def __add__(self, other):
        if isinstance(other, Distribution):
            return _arithmetic("add")(self, other)
        if _is_scalar_like(other):
            return _arithmetic("shift")(self, other)
        return NotImplemented

    def __radd__(self, other):
        return self.__add__(other)

    def __neg__(self):
        return _arithmetic("negate")(self)

    def __sub__(self, other):
        if isinstance(other, Distribution):
            return _arithmetic("add")(self, _arithmetic("negate")(other))
        if _is_scalar_like(other):
            return _arithmetic("shift")(self, -jnp.asarray(other))
        return NotImplemented

    def __rsub__(self, other):
        if _is_scalar_like(other):
            return _arithmetic("shift")(_arithmetic("negate")(self), other)
        return NotImplemented

    def __mul__(self, other):
        if isinstance(other, Distribution):
            raise TypeError(
                "The product of two random variables is not a convolution; "
                "`*` takes a Python number (c * X scales the grid)."
            )
        if isinstance(other, (numbers.Real, np.integer, np.floating)) and not (
            isinstance(other, (bool, np.bool_))
        ):
            return _arithmetic("scale")(self, other)
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
        host = _host.lattice_query(self, "pmf", x)
        if host is not None:
            return host
        return _queries.pmf(self._padded(), _point(x))

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
        return _queries.pdf(self, _point(x))

    def logpdf(self, x: ArrayLike) -> jax.Array:
        """Log of the probability density function (``kind='density'``)."""
        return jnp.log(self.pdf(x))

    # Whether appending zero masses leaves every query's answer unchanged
    # (true of a plain lattice; not of densities, whose pdf interpolates
    # across the last cell edge).
    _zero_padding_is_exact = False

    def _padded(self):
        """Return this law for a query, zero-padded to a bucket length.

        The queries are compiled once per shape; a concrete lattice (an eager
        call) is padded on the host to `probconv.conv.bucket_length` of its
        size, so that laws of a thousand sizes share a few programs. Traced
        laws and the other kinds are returned unchanged.
        """
        m = self.masses
        if not self._zero_padding_is_exact or isinstance(m, jax.core.Tracer):
            return self
        n = m.shape[-1]
        nb = bucket_length(n)
        if nb == n:
            return self
        padded = np.zeros(m.shape[:-1] + (nb,), m.dtype)
        padded[..., :n] = np.asarray(m)
        return dataclasses.replace(self, masses=padded)

    def _need(self, kind, query, other):
        if self.kind != kind:
            raise TypeError(
                f"`{query}` needs a distribution of kind {kind!r}; this one is "
                f"{self.kind!r}: use `{other}`."
            )

    def cdf(self, x: ArrayLike, *, interpolation: str = "linear") -> jax.Array:
        r"""Cumulative distribution function, :math:`P(X \le x)`.

        Sums the masses from the left (for ``kind='density'``, linear within
        a cell). Counts only the mass on the grid.

        Parameters
        ----------
        x : array_like
            Points; they broadcast against the batch shape (``'linear'``),
            or have shape ``batch + (k,)`` or ``(k,)`` (``'cubic'``).
        interpolation : {'linear', 'cubic'}
            For ``kind='density'``, between cell edges (where both are
            exact): ``'linear'`` (the mass spread evenly over each cell,
            consistent with `ppf` and `sample`; error :math:`h^2 \max|f'|/8`)
            or ``'cubic'`` (four-point Lagrange interpolation of the edge
            values: fourth order where the cdf is smooth). A lattice takes
            ``'linear'`` only.

        Returns
        -------
        jax.Array

        Examples
        --------
        >>> from probconv import distributions as dist
        >>> dist.die(6).cdf([0, 2, 2.5, 6]).tolist()
        [0.0, 0.3333333333333333, 0.3333333333333333, 1.0]
        >>> x = dist.normal(step=0.25, tail=1e-14)  # exact: 0.5398278
        >>> [round(float(x.cdf(0.1, interpolation=m)), 6) for m in ("linear", "cubic")]
        [0.539791, 0.539827]
        """
        if self._check_interpolation(interpolation) == "cubic":
            return _queries.edge_cdf(self, x)
        host = _host.lattice_query(self, "cdf", x)
        if host is not None:
            return host
        return _queries.cdf(self._padded(), _point(x))

    def _check_interpolation(self, interpolation) -> str:
        if not isinstance(interpolation, str) or interpolation not in INTERPOLATIONS:
            raise ValueError(
                f"`interpolation` must be 'linear' or 'cubic'; got {interpolation!r}."
            )
        if interpolation == "cubic" and self.kind != "density":
            raise ValueError(
                "`interpolation='cubic'` needs a distribution of kind 'density'; "
                f"this one is {self.kind!r}."
            )
        return interpolation

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
        host = _host.lattice_query(self, "sf", x)
        if host is not None:
            return host
        return _queries.sf(self._padded(), _point(x))

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
        host = _host.lattice_query(self, "ppf", q)
        if host is not None:
            return host
        return _queries.ppf(self._padded(), _point(q))

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
        host = _host.lattice_query(self, "isf", q)
        if host is not None:
            return host
        return _queries.isf(self._padded(), _point(q))

    # -- moments -------------------------------------------------------------
    def mean(self) -> jax.Array:
        r"""Return the mean, :math:`\sum_k x_k m_k / \sum_k m_k`.

        Examples
        --------
        >>> from probconv import distributions as dist
        >>> float(dist.dice(3).mean())
        10.5
        """
        return _queries.mean(self._padded())

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
        return _queries.var(self._padded())

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
        order = check_int("order", order)
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

    def to_numpyro(self, *, validate_args: bool | None = None):
        r"""Return this law as a `numpyro.distributions.Distribution`.

        The adapter (a `NumpyroLaw`) observes or samples the law inside a
        numpyro model: `log_prob` (the `logpmf` of a lattice, ``-inf`` off
        the grid; the `logpdf` of a density), `sample` (inverse cdf), `cdf`,
        `icdf`, `mean`, `variance`, `support`, and `enumerate_support` for a
        lattice. It is a pytree holding this law, so gradients flow from
        `log_prob` to every parameter that built the law (NUTS and SVI work
        unchanged). Needs numpyro (``pip install probconv[numpyro]``).

        Parameters
        ----------
        validate_args : bool, optional
            numpyro's switch (default: numpyro's global setting): check the
            law's concrete masses, and warn of `log_prob` values outside the
            support.

        Returns
        -------
        numpyro.distributions.Distribution
            With ``batch_shape`` this law's batch shape and ``event_shape``
            ``()``.

        Raises
        ------
        ImportError
            If numpyro is not installed.

        Examples
        --------
        >>> import math
        >>> from probconv import distributions as dist
        >>> d = (dist.binomial(3, 0.5) + dist.bernoulli(0.5)).to_numpyro()
        >>> d.batch_shape, round(math.exp(float(d.log_prob(2))) * 16, 9)
        ((), 6.0)
        """
        try:
            from . import _numpyro
        except ImportError as err:
            raise ImportError(
                "`to_numpyro` needs numpyro: pip install 'probconv[numpyro]'."
            ) from err
        return _numpyro.to_numpyro(self, validate_args=validate_args)


def to_numpyro(law: Distribution, *, validate_args: bool | None = None):
    r"""Return a probconv law as a `numpyro.distributions.Distribution`.

    The same as ``law.to_numpyro()``; see `Distribution.to_numpyro` and the
    guide "probconv in numpyro models".

    Parameters
    ----------
    law : Distribution
        Any probconv law (a batch of laws gives the `batch_shape`).
    validate_args : bool, optional
        numpyro's switch (default: numpyro's global setting).

    Returns
    -------
    numpyro.distributions.Distribution

    Raises
    ------
    TypeError
        If `law` is not a Distribution, or `validate_args` not a bool.

    Examples
    --------
    >>> import jax
    >>> import numpyro
    >>> from probconv import distributions as dist
    >>> def model(y):
    ...     lam = numpyro.sample("lam", numpyro.distributions.Exponential(1.0))
    ...     law = dist.binomial(5, 0.5) + dist.poisson(lam, size=30)
    ...     numpyro.sample("y", dist.to_numpyro(law), obs=y)
    >>> tr = numpyro.handlers.trace(numpyro.handlers.seed(model, 0)).get_trace(3)
    >>> tr["y"]["fn"].batch_shape, bool(tr["y"]["fn"].log_prob(3) < 0)
    ((), True)
    """
    return check_dist(law, "law").to_numpyro(validate_args=validate_args)


def _point(x):
    """Return a query's points: JAX arrays as they are, others as NumPy.

    The jitted queries take NumPy arrays directly; `jnp.asarray` would first
    dispatch (and, for each new shape, compile) a program of its own.
    """
    if isinstance(x, jax.Array):
        return x
    try:
        return np.asarray(x)
    except Exception:  # noqa: BLE001 - e.g. a list holding tracers
        return jnp.asarray(x)


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


def check_dist(x, name: str) -> Distribution:
    """Return `x` if it is a `Distribution`, else raise a TypeError naming it."""
    if not isinstance(x, Distribution):
        raise TypeError(f"`{name}` must be a Distribution; got {type(x).__name__}.")
    return x
