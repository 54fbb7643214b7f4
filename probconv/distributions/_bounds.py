"""`bounds`: a query's value with an interval that holds the exact answer."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from ._base import Distribution, check_dist
from ._families import Parametric
from ._family_tails import CLOSED_TAILS

QUERIES = ("sf", "cdf", "pmf")


class Bounds(NamedTuple):
    """A query's value and an interval ``[lower, upper]`` that holds the truth.

    Attributes
    ----------
    value : jax.Array
        What the query returns.
    lower, upper : jax.Array
        Bounds on the exact answer, given the law's masses: the mass cut off
        its grid (``truncated``) may lie anywhere past it, so a query that
        the cut reaches is known only up to that mass. Equal to `value` where
        the law's own formula answers (see `bounds`).
    """

    value: jax.Array
    lower: jax.Array
    upper: jax.Array


def bounds(d: Distribution, x: ArrayLike, query: str = "sf") -> Bounds:
    r"""Return `query` of `d` at `x` with bounds that hold the exact answer.

    A law on a grid has lost ``truncated`` of its mass past the grid (on
    either side): its ``sf``, ``cdf`` and ``pmf`` there read 0 for that
    mass, so the exact answer lies in ``[value, value + truncated]``. Past
    the grid that is all the grid knows: the bound says so, where the bare
    value (0, or ``-inf`` for a log) would pass for exact. The unbounded
    families (`poisson`, `geometric`, `negative_binomial`, and discrete
    laws from `from_scipy` in eager calls) answer past their grid from
    their own formulas: there ``lower == upper == value``.

    Parameters
    ----------
    d : Distribution
    x : array_like
        Points; they broadcast against the batch shape.
    query : {'sf', 'cdf', 'pmf'}
        ``'pmf'`` needs a lattice.

    Returns
    -------
    Bounds
        ``(value, lower, upper)``, each of the broadcast shape.

    Raises
    ------
    TypeError
        If `d` is not a Distribution.
    ValueError
        For an unknown `query`.

    Notes
    -----
    For a density, the cell masses also carry the discretization error of
    the grid (at most the constructors' `tol` on the cdf at default
    settings; `discretization_error` estimates it), which these bounds do
    not include: they bound what the truncation leaves unknown.

    With :math:`t` the truncated mass and :math:`v` the grid's answer,
    :math:`v \le P(X > x) \le v + t` (and the same for the cdf and pmf),
    whatever the cut mass's place.

    A `RelativeDistribution` records its cut mass in log space
    (``log_truncated``: a Chernoff bound for compound sums and shortened
    iid sums), since it lies below the smallest float; its ``truncated``
    is then the smallest normal float, a bound that survives XLA's flush
    of subnormals to 0, so past such a grid the bounds read
    ``[0, tiny]`` and hold the exact tail. Its log-space queries read NaN
    there (see `RelativeDistribution.logpmf`), and so does its `sf` where
    the cut mass is above the float range (a law that could not extend):
    these bounds, ``[0, truncated]`` there, are the honest answer.

    Examples
    --------
    >>> from probconv import distributions as dist
    >>> d = dist.from_masses([0.5, 0.25], truncated=0.25)
    >>> b = dist.bounds(d, 5.0)
    >>> float(b.value), float(b.lower), float(b.upper)
    (0.0, 0.0, 0.25)
    >>> b = dist.bounds(dist.geometric(0.5), 100.0)
    >>> round(float(b.upper) * 2.0**100, 12), bool(b.lower == b.upper)
    (1.0, True)
    """
    d = check_dist(d, "d")
    if not isinstance(query, str) or query not in QUERIES:
        raise ValueError(f"`query` must be 'sf', 'cdf' or 'pmf'; got {query!r}.")
    value = getattr(d, query)(x)
    if _closed(d, x):
        return Bounds(value, value, value)
    t = jnp.asarray(d.truncated, value.dtype)
    # A relative law's `sf` reads NaN past its grid where a mass above the
    # float range was cut (unknown): the bounds are then those of a 0.
    lo = jnp.where(jnp.isnan(value) & ~jnp.isnan(jnp.asarray(x)), 0.0, value)
    return Bounds(value, lo, lo + t)


def _closed(d: Distribution, x) -> bool:
    """Whether `d` answers every query from its family's formula."""
    if not isinstance(d, Parametric):
        return False
    if d.family in CLOSED_TAILS:
        return True
    if d.family != "scipy" or isinstance(x, jax.core.Tracer):
        return False
    return bool(np.isfinite(d.frozen.support()[0]))  # nothing cut below
