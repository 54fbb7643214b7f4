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

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from ..conv import bucket_length
from ..conv.internal import bounded_jit, from_host
from . import _queries, _tilt
from ._base import Distribution, _point, pytree_dataclass
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
    log_truncated : jax.Array
        Batch shape: the log of the mass cut off past the last grid point,
        or of a bound on it (a Chernoff bound for compound sums and for
        iid sums whose grid stops where their masses leave the float range).
        It holds where that mass is below the smallest float, where
        ``truncated`` holds the smallest normal float instead (a bound: XLA
        flushes subnormals to 0 on the CPU, and a 0 would say that nothing
        was cut); ``-inf`` where nothing was cut (a Poisson binomial, sums
        of laws of finite support).

    Notes
    -----
    Sums of densities with ``accuracy='relative'`` return a
    `RelativeDensity` instead (the same log-masses, on cells).

    Past the grid. A relative law's grid runs on until its masses leave the
    float range (unless a `size` was given), so every value past it is below
    ``exp(log_truncated)``, and no float can say more. There the log-space
    queries (`logpmf`, `logsf`) return NaN, not a ``-inf`` that would pass for
    an impossible value, wherever mass was cut (``log_truncated > -inf``);
    where nothing was cut they return ``-inf``, which is exact. The linear
    queries (`pmf`, `sf`) read 0 there, as `masses` does for masses below
    the smallest float. `probconv.distributions.bounds` gives the honest
    answer past the grid: ``[0, truncated]`` for `sf` and `pmf`, the cut
    mass, at least the smallest normal float where anything was cut.

    Operations other than the relative-accuracy ones (shifts, scalings,
    mixtures, the plain ``X + Y``) return a plain `Distribution`: the
    log-masses are dropped, the masses kept. `add` and `iid_sum` with
    ``accuracy="relative"`` read the log-masses of their inputs, so chains
    of relative-accuracy operations never underflow.
    """

    log_masses: jax.Array = None
    log_error: jax.Array = None
    log_truncated: jax.Array = None

    @property
    def kind(self) -> str:
        """``'lattice'`` (the relative-accuracy methods apply to lattices)."""
        return "lattice"

    def _unknown(self, past: jax.Array) -> jax.Array:
        """Value of a log query at points `past` the grid: NaN where mass was cut.

        The cut mass (``log_truncated``) may lie anywhere past the last grid
        point; where nothing was cut the answer there is exactly ``-inf``.
        """
        cut = jnp.asarray(self.log_truncated) > -jnp.inf
        return jnp.where(past & cut, jnp.nan, -jnp.inf)

    def logpmf(self, x: ArrayLike) -> jax.Array:
        r"""Log of the probability mass function, from the log-masses.

        Unlike ``log(pmf(x))`` it stays finite far below the smallest float.
        Past the last grid point it is NaN where mass was cut there (the
        value is below ``exp(log_truncated)``, which no float resolves; see
        `probconv.distributions.bounds`), ``-inf`` where nothing was cut.

        Examples
        --------
        >>> from probconv import distributions as dist
        >>> s = dist.iid_sum(dist.bernoulli(0.01), 200, accuracy="relative")
        >>> round(float(s.logpmf(200)) / 2.302585092994046, 6)
        -400.0
        >>> float(s.logpmf(201))  # nothing cut: impossible, exactly
        -inf
        >>> import math
        >>> c = dist.compound(dist.poisson(1.0), dist.bernoulli(0.5) + 1,
        ...                   accuracy="relative")
        >>> math.isnan(c.logpmf(c.size + 5))  # mass was cut: below truncated
        True
        """
        self._need("lattice", "logpmf", "logpdf")
        return bucketed_query(self, "_logpmf", x)

    def _logpmf(self, x, n):
        """`logpmf` of the first `n` points (a traced size; the rest is padding)."""
        x, k = _queries._k(self, x)
        j = jnp.round(k)
        on = (jnp.abs(k - j) <= _queries._tol(self, k)) & (j >= 0) & (j <= n - 1)
        ji = jnp.clip(j, 0, n - 1).astype(jnp.int32)
        off = self._unknown(k > n - 1)
        val = jnp.where(on, _queries._take(self.log_masses, ji), off)
        return jnp.where(jnp.isnan(x), jnp.nan, val)

    def _log_cumulative(self, x, upper: bool, strict: bool = True):
        """``log P(X <= x)`` (or ``log P(X > x)`` with `upper`) in log space.

        With `strict`, ``log P(X > x)`` is NaN from the last grid point on
        where mass was cut (see `_unknown`); otherwise ``-inf`` there.
        """
        return bucketed_query(self, "_log_cumulative_body", x, upper, strict)

    def _log_cumulative_body(self, x, n, upper: bool, strict: bool):
        x, k = _queries._k(self, x)
        lm = self.log_masses
        j = jnp.floor(k + _queries._tol(self, k))
        ji = jnp.clip(j, 0, n - 1).astype(jnp.int32)
        if upper:
            inc = _tilt.logcumsumexp(lm, reverse=True)  # sum over i >= k
            after = jnp.concatenate(
                [inc[..., 1:], jnp.full(inc.shape[:-1] + (1,), -jnp.inf, inc.dtype)],
                axis=-1,
            )
            past = self._unknown(j >= n - 1) if strict else unresolved(self, j >= n - 1)
            val = jnp.where(j < 0, _queries._take(inc, jnp.zeros_like(ji)), past)
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

        From the last grid point on it is NaN where mass was cut there (see
        `logpmf`), ``-inf`` where nothing was cut.

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
        """Survival function, from the log-space tail sums (never ``1 - cdf``).

        0 past the grid where the cut mass is below 1e-300 (1e-30 in
        float32: the grid ran on until the masses left the float range),
        NaN where a larger mass was cut; the cut mass bounds it there (see
        `probconv.distributions.bounds`).
        """
        return jnp.exp(self._log_cumulative(x, upper=True, strict=False))


def unresolved(d, past: jax.Array) -> jax.Array:
    """`sf`'s log past the grid: ``-inf`` where the cut mass underflows, else NaN.

    Where the grid ran on until its masses left the float range, the true
    value there is below the range that relative accuracy covers (1e-300
    in float64), and 0 stands for it; where a
    larger mass was cut (a law that could not extend), no float is known,
    and `sf` says so with NaN, as `logsf` does.
    """
    # 1e8 tiny: 2e-300 in float64, 1e-30 in float32, where the relative
    # accuracy's promise ends (the cut of a law continued to the float
    # range is below it: lattice laws' tiny * eps, a density's 1e3 tiny, a
    # bound of tiny per dropped cell).
    floor = math.log(1e8 * float(jnp.finfo(d.dtype).tiny))
    big = jnp.asarray(d.log_truncated) >= floor
    return jnp.where(past & big, jnp.nan, -jnp.inf)


@bounded_jit(static_argnames=("name", "args"))
def _query(d, x, n, name, args):
    if n is None:
        return getattr(d, name)(x, *args)
    return getattr(d, name)(x, n, *args)


def query(d: Distribution, name: str, x, *args, n=None):
    """Run the method `name` of `d` at points `x` as one compiled program.

    Eagerly, a log-space query ran a dozen single operations, each compiled
    for the grid's length (issue 14); jitted, a new length compiles one
    program. `args` are static (flags); `n`, where given, is passed to the
    method before them as a traced value (a law's true size).
    """
    return _query(d, _point(x), n, name=name, args=args)


# Eager relative-accuracy calls pad their stages' inputs to
# `probconv.conv.bucket_length` (issue 14: a loop over a thousand sizes then
# compiles a few programs per operation, not a thousand); tests turn it off
# to compare against the unpadded programs.
BUCKETS = True


def bucketable(*arrays) -> bool:
    """Whether an eager call on `arrays` may pad them to a bucket.

    Only where no leaf is a tracer: padding and trimming run on the host,
    which `jax.jit`, `jax.vmap` and an eager `jax.grad` (whose tracers carry
    values) must not see.
    """
    leaves = jax.tree.leaves(arrays)
    return BUCKETS and not any(isinstance(a, jax.core.Tracer) for a in leaves)


def pad_last(a, length: int, fill: float) -> np.ndarray:
    """Return `a` on the host, its last axis padded with `fill` to `length` entries."""
    a = np.asarray(a)
    n = a.shape[-1]
    if n >= length:
        return a
    out = np.full(a.shape[:-1] + (length,), fill, a.dtype)
    out[..., :n] = a
    return out


def trimmed(d: RelativeDistribution, size: int) -> RelativeDistribution:
    """Return `d` cut to its first `size` points on the host (nothing compiled).

    The relative operations compute on inputs padded to a bucket, with
    ``-inf`` log-masses (no mass) past the true grid; this cuts their
    results back to it.
    """
    if d.size == size:
        return d

    def cut(a):
        return from_host(np.ascontiguousarray(np.asarray(a)[..., :size]))

    return dataclasses.replace(
        d, **{f: cut(getattr(d, f)) for f in _PER_POINT if hasattr(d, f)}
    )


# The per-point arrays of a relative law (a density's also has its errors
# without the cut mass), and what pads them past the grid.
_PER_POINT = {
    "masses": 0.0,
    "log_masses": -np.inf,
    "log_error": -np.inf,
    "log_resolved_error": -np.inf,
}


def bucketed_query(d: RelativeDistribution, name: str, x, *args):
    """`query` with the true size traced, on a law padded to its bucket.

    Eagerly, the law's arrays are padded on the host (``-inf`` log-masses
    and errors, zero masses) to `probconv.conv.bucket_length` of its size,
    so that laws of many sizes share one compiled query per bucket; the
    methods read the true size `n` (a traced value) for what lies past the
    grid.
    """
    n = d.size
    fields = [f for f in _PER_POINT if hasattr(d, f)]
    # Buckets of the points after the first (a sum's span: the trials of a
    # Poisson binomial, ``n (m - 1)`` of an iid sum), as the operations pad.
    nb = bucket_length(n - 1) + 1 if n > 1 else n
    if nb != n and bucketable([getattr(d, f) for f in fields]):
        d = dataclasses.replace(
            d, **{f: pad_last(getattr(d, f), nb, _PER_POINT[f]) for f in fields}
        )
    if getattr(d, "densities", 1) != 1:
        # A static field that no query reads (a density sum's count of
        # summands): one value, so that laws of other counts share the program.
        d = dataclasses.replace(d, densities=1)
    return query(d, name, x, *args, n=np.int32(n))


def _relative(
    log_m, log_err, origin, truncated, step, kind, log_truncated=None
) -> RelativeDistribution:
    """Build a `RelativeDistribution` (broadcasts, no checks).

    `log_truncated`, where given, is the log of the cut mass (or a bound on
    it) and sets ``truncated`` to its exponential; otherwise it is the log
    of `truncated`. One compiled program per shape (issue 14).
    """
    return _relative_jit(
        log_m, log_err, origin, truncated, log_truncated, step=float(step), kind=kind
    )


@bounded_jit(static_argnames=("step", "kind"))
def _relative_jit(log_m, log_err, origin, truncated, log_truncated, step, kind):
    log_m = jnp.asarray(log_m)
    batch = log_m.shape[:-1]
    if log_truncated is None:
        t = jnp.broadcast_to(jnp.asarray(truncated, log_m.dtype), batch)
        log_truncated = jnp.log(jnp.maximum(t, 0.0))
    else:
        log_truncated = jnp.broadcast_to(jnp.asarray(log_truncated, log_m.dtype), batch)
        # A cut mass below the smallest normal float is kept as that float
        # (a bound): XLA flushes subnormals to 0 on CPU, and a 0 would say
        # that nothing was cut.
        tiny = float(jnp.finfo(log_m.dtype).tiny)
        kept = jnp.maximum(jnp.exp(jnp.minimum(log_truncated, 0.0)), tiny)
        truncated = jnp.where(log_truncated > -jnp.inf, kept, 0.0)
    d = make(jnp.exp(log_m), origin, truncated, step, kind)
    return RelativeDistribution(
        d.masses, d.origin, d.truncated, d.step, log_m, log_err, log_truncated
    )


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

    For a result of ``accuracy="relative"`` (a `RelativeDistribution` or a
    `RelativeDensity`), the
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
    log_error = getattr(d, "log_error", None)  # a RelativeDensity has one too
    if log_error is not None:
        return jnp.exp(log_error)
    m = d.masses
    top = jnp.max(m, -1, keepdims=True)
    floor = _tilt.eps(d.dtype) * (d.size + 16) * top
    above = m > 2 * floor
    return jnp.where(above, floor / jnp.where(above, m - floor, 1.0), jnp.inf)
