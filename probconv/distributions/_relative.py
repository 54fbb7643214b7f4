"""`RelativeDistribution`: a lattice law that keeps its log-masses.

`RelativeDistribution` is a `Distribution` that also carries the logs of its
masses and of their estimated relative errors. Its log-space queries
(`logpmf`, `logcdf`, `logsf`) read the log-masses, so they reach far below
the smallest float (``1e-300`` and beyond in float64, ``1e-38`` and beyond in
float32); its `masses` are their exponentials, so every other query works
as for any distribution. `accuracy="relative"` in `add`, `iid_sum`,
`poisson_binomial` and `compound` returns one (the methods are in
`_relative_ops`).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from . import _queries, _tilt
from ._base import Distribution, pytree_dataclass
from ._grid import make


@pytree_dataclass
class RelativeDistribution(Distribution):
    r"""A lattice `Distribution` whose masses keep a small relative error (final).

    Returned by the operations called with ``accuracy="relative"``. Besides
    the attributes of `Distribution`, it holds the logs of the masses and of
    their estimated relative errors; `masses` is ``exp(log_masses)`` (masses
    below the smallest float are 0 there, but not in `log_masses`).

    Attributes
    ----------
    log_masses : jax.Array
        Shape ``(..., n)``: :math:`\log m_k` (``-inf`` for exact zeros).
    log_error : jax.Array
        Shape ``(..., n)``: the log of each mass's estimated relative error
        (an estimate from the method's round-off model, validated against
        exact references, not a rigorous bound; ``-inf`` for exact zeros,
        ``inf`` where the method could not resolve a point).

    Notes
    -----
    The relative-accuracy methods apply to lattice laws (``kind='lattice'``):
    sums of densities use a fourth-order correction whose weights are not
    all positive, which exponential tilting cannot keep accurate.

    Operations other than the relative-accuracy ones (shifts, scalings,
    mixtures, the plain ``X + Y``) return a plain `Distribution`: the
    log-masses are dropped, the masses kept. `add` and `iid_sum` with
    ``accuracy="relative"`` read the log-masses of their inputs, so chains
    of relative-accuracy operations never underflow.
    """

    log_masses: jax.Array = None
    log_error: jax.Array = None

    @property
    def kind(self) -> str:
        """``'lattice'`` (the relative-accuracy methods apply to lattices)."""
        return "lattice"

    def logpmf(self, x: ArrayLike) -> jax.Array:
        r"""Log of the probability mass function, from the log-masses.

        Unlike ``log(pmf(x))`` it stays finite far below the smallest float.

        Examples
        --------
        >>> from probconv import distributions as dist
        >>> s = dist.iid_sum(dist.bernoulli(0.01), 200, accuracy="relative")
        >>> round(float(s.logpmf(200)) / 2.302585092994046, 6)
        -400.0
        """
        self._need("lattice", "logpmf", "logpdf")
        x, k = _queries._k(self, x)
        j = jnp.round(k)
        on = (
            (jnp.abs(k - j) <= _queries._tol(self, k)) & (j >= 0) & (j <= self.size - 1)
        )
        ji = jnp.clip(j, 0, self.size - 1).astype(jnp.int32)
        val = jnp.where(on, _queries._take(self.log_masses, ji), -jnp.inf)
        return jnp.where(jnp.isnan(x), jnp.nan, val)

    def _log_cumulative(self, x, upper: bool):
        """``log P(X <= x)`` (or ``log P(X > x)`` with `upper`) in log space."""
        x, k = _queries._k(self, x)
        n = self.size
        lm = self.log_masses
        j = jnp.floor(k + _queries._tol(self, k))
        ji = jnp.clip(j, 0, n - 1).astype(jnp.int32)
        if upper:
            inc = _tilt.logcumsumexp(lm, reverse=True)  # sum over i >= k
            after = jnp.concatenate(
                [inc[..., 1:], jnp.full(inc.shape[:-1] + (1,), -jnp.inf, inc.dtype)],
                axis=-1,
            )
            val = jnp.where(j < 0, _queries._take(inc, jnp.zeros_like(ji)), -jnp.inf)
            val = jnp.where((j >= 0) & (j < n - 1), _queries._take(after, ji), val)
        else:
            inc = _tilt.logcumsumexp(lm)  # sum over i <= k
            val = jnp.where(j < 0, -jnp.inf, _queries._take(inc, ji))
        return jnp.where(jnp.isnan(x), jnp.nan, val)

    def logcdf(self, x: ArrayLike) -> jax.Array:
        r"""Log of the cumulative distribution function, summed in log space.

        Examples
        --------
        >>> from probconv import distributions as dist
        >>> s = dist.iid_sum(dist.bernoulli(0.5), 1000, accuracy="relative")
        >>> round(float(s.logcdf(0)) / 2.302585092994046, 6)
        -301.029996
        """
        return self._log_cumulative(x, upper=False)

    def logsf(self, x: ArrayLike) -> jax.Array:
        r"""Log of the survival function :math:`P(X > x)`, summed from the tail.

        Examples
        --------
        >>> from probconv import distributions as dist
        >>> s = dist.iid_sum(dist.bernoulli(0.5), 1000, accuracy="relative")
        >>> round(float(s.logsf(999)) / 2.302585092994046, 6)
        -301.029996
        """
        return self._log_cumulative(x, upper=True)

    def cdf(self, x: ArrayLike, *, interpolation: str = "linear") -> jax.Array:
        """Cumulative distribution function, from the log-space sums."""
        self._check_interpolation(interpolation)
        return jnp.exp(self.logcdf(x))

    def sf(self, x: ArrayLike) -> jax.Array:
        """Survival function, from the log-space tail sums (never ``1 - cdf``)."""
        return jnp.exp(self.logsf(x))


def _lattice_only(d: Distribution, name: str) -> None:
    if d.kind != "lattice":
        raise ValueError(
            "`accuracy='relative'` needs lattice laws (sums of densities use a "
            f"correction it cannot keep accurate); `{name}` has kind={d.kind!r}."
        )


def _relative(log_m, log_err, origin, truncated, step, kind) -> RelativeDistribution:
    d = make(jnp.exp(log_m), origin, truncated, step, kind)
    return RelativeDistribution(d.masses, d.origin, d.truncated, d.step, log_m, log_err)


def _logs(d: Distribution):
    """Log-masses and log relative errors of any distribution's masses."""
    if isinstance(d, RelativeDistribution):
        return d.log_masses, d.log_error
    lm = _tilt.safe_log(d.masses)
    return lm, jnp.where(jnp.isfinite(lm), math.log(_tilt.eps(d.dtype)), -jnp.inf)


def _worst(log_err: jax.Array) -> jax.Array:
    """Largest finite log relative error per row (``-inf`` if none)."""
    fin = jnp.isfinite(log_err) | (log_err > 0)
    return jnp.max(jnp.where(fin, log_err, -jnp.inf), -1)


def relative_error(d: Distribution) -> jax.Array:
    r"""Estimated relative error of each mass of `d`, shape ``(..., n)``.

    For a result of ``accuracy="relative"`` (a `RelativeDistribution`), the
    per-point estimate its method computed. For any other distribution, the
    estimate of the plain (FFT) method, whose absolute error is at most
    about :math:`\epsilon\, n \max_j m_j` on a grid of `n` points (an FFT
    power of a law on ``n / k`` points has ``n / k`` times the round-off of
    one FFT): its relative error at mass :math:`m_k` is that over
    :math:`m_k`, and
    unknown (``inf``) where :math:`m_k` is within twice that of 0.

    Parameters
    ----------
    d : Distribution

    Returns
    -------
    jax.Array
        Non-negative estimates (0 for exact zeros of a relative result,
        ``inf`` where a point is unresolved, or a plain mass is noise).

    Raises
    ------
    TypeError
        If `d` is not a Distribution.

    Notes
    -----
    The estimates of the relative method model its FFT round-off (relative
    to each tilt's peak), the mass folded in from outside its windows, and
    the rounding of the log-space arithmetic. They are estimates, not
    rigorous bounds: the tests check that the true errors against exact
    references stay below them.

    Examples
    --------
    >>> from probconv import distributions as dist
    >>> s = dist.iid_sum(dist.die(6), 100, accuracy="relative")
    >>> bool(dist.relative_error(s).max() < 1e-9)
    True
    """
    if not isinstance(d, Distribution):
        raise TypeError(f"`d` must be a Distribution; got {type(d).__name__}.")
    if isinstance(d, RelativeDistribution):
        return jnp.exp(d.log_error)
    m = d.masses
    top = jnp.max(m, -1, keepdims=True)
    floor = _tilt.eps(d.dtype) * (d.size + 16) * top
    above = m > 2 * floor
    return jnp.where(above, floor / jnp.where(above, m - floor, 1.0), jnp.inf)
