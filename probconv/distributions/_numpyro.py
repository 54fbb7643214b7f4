r"""A probconv law as a numpyro distribution: `NumpyroLaw`.

The one module of probconv that imports numpyro; it is imported by
`Distribution.to_numpyro` when called, never when probconv is imported. It
reads the law only through its public queries (`logpmf`, `logpdf`, `cdf`,
`ppf`, `mean`, `var`, `support`, `points`), so it sits above every kind of
law without importing any.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from numpyro.distributions import constraints
from numpyro.distributions.distribution import Distribution as _NumpyroDistribution

from .._checks import concrete

_LAW_ATTRIBUTES = ("masses", "origin", "step", "kind", "logpmf", "ppf")


class _LatticePoints(constraints.Constraint):
    r"""The points ``lower, lower + step, ..., upper`` of a lattice (discrete).

    Like `numpyro.distributions.constraints.integer_interval`, for a grid of
    any step and origin: a value is in the support when it lies within
    ``[lower, upper]`` and within a relative ``64 eps`` of a grid point (the
    tolerance of the law's own `pmf`).
    """

    is_discrete = True
    event_dim = 0

    def __init__(self, lower_bound, upper_bound, step: float):
        self.lower_bound = lower_bound
        self.upper_bound = upper_bound
        self.step = step

    def __call__(self, x):
        x = jnp.asarray(x)
        dt = jnp.result_type(x.dtype, jnp.asarray(self.lower_bound).dtype, float)
        k = (x.astype(dt) - self.lower_bound) / self.step
        top = (self.upper_bound - self.lower_bound) / self.step
        j = jnp.round(k)
        tol = 64 * float(jnp.finfo(dt).eps) * jnp.maximum(1.0, jnp.abs(k))
        return (jnp.abs(k - j) <= tol) & (j >= 0) & (j <= jnp.round(top))

    def __repr__(self) -> str:
        return (
            f"LatticePoints(lower_bound={self.lower_bound}, "
            f"upper_bound={self.upper_bound}, step={self.step})"
        )

    def feasible_like(self, prototype):
        return jnp.broadcast_to(self.lower_bound, jnp.shape(prototype))

    def tree_flatten(self):
        return (self.lower_bound, self.upper_bound), (
            ("lower_bound", "upper_bound"),
            {"step": self.step},
        )

    def eq(self, other, static: bool = False):
        if not isinstance(other, _LatticePoints) or other.step != self.step:
            return False
        same = constraints.array_equiv
        return same(self.lower_bound, other.lower_bound, static=static) & same(
            self.upper_bound, other.upper_bound, static=static
        )


class NumpyroLaw(_NumpyroDistribution):
    r"""A probconv law as a `numpyro.distributions.Distribution` (final).

    Made by `probconv.distributions.to_numpyro` (or ``law.to_numpyro()``).
    It holds the law (a pytree, so the adapter is one too: it passes through
    `jax.jit`, and gradients flow from `log_prob` into every parameter that
    built the law). Scalar events: ``event_shape == ()``, and the law's batch
    shape is the `batch_shape`.

    Parameters
    ----------
    law : Distribution
        A probconv law of any kind.
    validate_args : bool, optional
        numpyro's switch (default: numpyro's global setting). When on, a law
        whose concrete masses are not finite and non-negative (NaN masses are
        what a constructor returns under `jax.jit` for a parameter out of its
        range) raises a ValueError, and `log_prob` warns of values outside the
        `support` (as numpyro's own distributions do).

    Notes
    -----
    - `log_prob`: for a lattice, the law's `logpmf` (``-inf`` off the grid,
      between grid points, or beyond a truncated grid; far tails in log space
      for a `RelativeDistribution`, NaN past its grid where it cut mass
      there: a value its floats cannot resolve); for a density, its
      `logpdf` (the cell
      masses over the step, linearly interpolated between grid points).
    - `sample`: the inverse cdf of a uniform draw on the grid's masses,
      ``law.ppf(u * law.total)``; within a cell uniformly for a density (the
      histogram of the cells), so that `sample`, `cdf` and `icdf` agree.
      Lattice samples carry no gradient; density samples are
      reparameterized (differentiable in the law's parameters).
    - `support`: a `numpyro.distributions.constraints.interval` over the
      outer cell edges for a density; for a lattice, the grid points from its
      first to its last, a discrete constraint like ``integer_interval`` for
      any step (the law is defined on its grid only: choose `tail` or `size`
      so that the grid covers the data).
    - `mean` and `variance` are the law's `mean` and `var` (grid masses,
      normalized by their total); the samples of a density, spread over the
      cells, have a variance larger by ``step**2 / 12``.
    """

    arg_constraints: dict = {}
    pytree_data_fields = ("law",)

    def __init_subclass__(cls, **kwargs):
        raise TypeError(
            "NumpyroLaw is final; wrap it (numpyro's `Independent`, `expand`, "
            "`mask`) instead of subclassing it."
        )

    def __init__(self, law, *, validate_args=None):
        missing = [a for a in _LAW_ATTRIBUTES if not hasattr(law, a)]
        if missing:
            raise TypeError(
                f"`law` must be a probconv Distribution; got {type(law).__name__}."
            )
        if validate_args is not None and not isinstance(validate_args, bool):
            raise TypeError(
                f"`validate_args` must be None, True or False; got {validate_args!r}."
            )
        self.law = law
        super().__init__(tuple(law.batch_shape), (), validate_args=validate_args)

    # -- shape and support ------------------------------------------------------
    @property
    def batch_shape(self) -> tuple[int, ...]:
        """The law's batch shape (its `masses` without the grid axis)."""
        return tuple(jnp.shape(self.law.masses)[:-1])

    @property
    def support(self) -> constraints.Constraint:
        """The grid points (a lattice) or the interval of the cells (a density)."""
        lo, hi = self.law.support()
        if self.law.kind == "lattice":
            return _LatticePoints(lo, hi, self.law.step)
        return constraints.interval(lo, hi)

    @property
    def has_enumerate_support(self) -> bool:
        """True for a lattice law (its grid is finite)."""
        return self.law.kind == "lattice"

    @property
    def has_rsample(self) -> bool:
        """True for a density (samples by a differentiable inverse cdf)."""
        return self.law.kind == "density"

    @property
    def is_discrete(self) -> bool:
        """True for a lattice law."""
        return self.law.kind == "lattice"

    def validate_args(self, strict: bool = True) -> None:
        """Raise a ValueError if the law's concrete masses are not valid.

        Like numpyro's `Distribution.validate_args`: where the masses are
        traced (under `jax.jit`) nothing can be checked, and `strict` raises
        a RuntimeError as numpyro does.
        """
        m = concrete(self.law.masses)
        if m is None:
            if strict:
                raise RuntimeError("Cannot validate arguments inside jitted code.")
            return
        ok = np.isfinite(m) & (m >= 0)
        if not ok.all():
            bad = m[~ok][:3].tolist()
            raise ValueError(
                "NumpyroLaw got an invalid `law`: its masses must be finite and "
                f"non-negative; got values such as {bad} (NaN masses come from a "
                "parameter outside its range under jit)."
            )

    # -- densities ------------------------------------------------------------
    def log_prob(self, value):
        r"""Log of the pmf (a lattice) or of the pdf (a density) at `value`.

        Parameters
        ----------
        value : array_like
            Shape ``sample_shape + batch_shape`` (or broadcastable to it).

        Returns
        -------
        jax.Array
            ``-inf`` outside the support (off the grid, between grid points
            of a lattice, beyond a truncated grid); NaN for NaN values. Never
            raises.

        Examples
        --------
        >>> import math
        >>> from probconv import distributions as dist
        >>> d = dist.to_numpyro(dist.dice(2), validate_args=False)
        >>> round(math.exp(float(d.log_prob(7))) * 36, 9)
        6.0
        >>> d.log_prob([1.0, 2.5, 13.0]).tolist()
        [-inf, -inf, -inf]
        """
        if self.law.kind == "lattice":
            lp = self.law.logpmf(value)
        else:
            lp = self.law.logpdf(value)
        if self._validate_args:
            # numpyro's `validate_sample`, with the value as a jax array (the
            # support's bounds may be traced while the value is a number).
            lp = jnp.where(self._validate_sample(jnp.asarray(value)), lp, -jnp.inf)
        return lp

    def cdf(self, value):
        r"""Cumulative distribution function, :math:`P(X \le x)` (the law's `cdf`).

        Examples
        --------
        >>> from probconv import distributions as dist
        >>> round(float(dist.to_numpyro(dist.dice(2)).cdf(7)) * 36, 9)
        21.0
        """
        return self.law.cdf(value)

    def icdf(self, q):
        """Inverse of `cdf`: the law's `ppf` (scipy's convention for a lattice).

        Examples
        --------
        >>> from probconv import distributions as dist
        >>> float(dist.to_numpyro(dist.dice(2)).icdf(0.5))
        7.0
        """
        return self.law.ppf(q)

    # -- sampling -------------------------------------------------------------
    def sample(self, key, sample_shape=()):
        """Draw samples of shape ``sample_shape + batch_shape`` by inverse cdf.

        Examples
        --------
        >>> import jax
        >>> from probconv import distributions as dist
        >>> s = dist.to_numpyro(dist.dice(2)).sample(jax.random.key(0), (500,))
        >>> s.shape, float(s.min()) >= 2, float(s.max()) <= 12
        ((500,), True, True)
        """
        law = self.law
        shape = tuple(sample_shape) + self.batch_shape
        dt = law.dtype
        tiny = float(jnp.finfo(dt).tiny)
        u = jax.random.uniform(key, shape, dt, minval=tiny, maxval=1.0)
        x = law.ppf(u * law.total)
        lo, hi = law.support()
        x = jnp.clip(x, lo, hi)
        if law.kind == "lattice":
            x = jax.lax.stop_gradient(x)
        return x

    def enumerate_support(self, expand: bool = True):
        """Return the grid points, shape ``(n,) + batch_shape`` (a lattice).

        With ``expand=False`` the batch axes have length 1 (numpyro's
        convention), which needs the same grid across the batch: an
        unbatched law, or concrete origins that are all equal.

        Examples
        --------
        >>> from probconv import distributions as dist
        >>> dist.to_numpyro(dist.die(4)).enumerate_support().tolist()
        [1.0, 2.0, 3.0, 4.0]
        """
        law = self.law
        if law.kind != "lattice":
            raise TypeError(
                "`enumerate_support` needs a law of kind 'lattice'; this one is "
                f"{law.kind!r}."
            )
        pts = jnp.moveaxis(law.points, -1, 0)
        nb = len(self.batch_shape)
        if expand or nb == 0:
            return pts
        o = concrete(law.origin)
        if o is None or not np.all(o == o.ravel()[0]):
            raise ValueError(
                "`enumerate_support(expand=False)` needs the same grid for the "
                "whole batch (concrete, equal origins); use `expand=True`."
            )
        return pts[(slice(None),) + (slice(0, 1),) * nb]

    # -- moments --------------------------------------------------------------
    @property
    def mean(self):
        """The law's mean (grid masses normalized by their total)."""
        return self.law.mean()

    @property
    def variance(self):
        """The law's variance (grid masses normalized by their total)."""
        return self.law.var()

    def entropy(self):
        """Return the law's Shannon entropy in nats (differential for a density)."""
        return self.law.entropy()

    def __repr__(self) -> str:
        return (
            f"NumpyroLaw(kind={self.law.kind!r}, batch_shape={self.batch_shape}, "
            f"size={jnp.shape(self.law.masses)[-1]}, step={self.law.step})"
        )


def to_numpyro(law, *, validate_args=None) -> NumpyroLaw:
    """Return `law` as a numpyro distribution (see `NumpyroLaw`)."""
    return NumpyroLaw(law, validate_args=validate_args)
