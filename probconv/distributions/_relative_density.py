r"""`RelativeDensity`: a density law that keeps its log cell masses.

The density counterpart of `RelativeDistribution`: the logs of its cell
masses and of their estimated relative errors, and log-space queries
(`logpdf`, `logcdf`, `logsf`) that read them, so a sum of densities
answers :math:`P(S > x)` far below the smallest float. `add` and `iid_sum`
with ``accuracy="relative"`` return one when a summand is a density (the
methods are in `_relative_density_ops`), and `compound` when the severity
is one (`_relative_compound_density`: a mixed law, its atom
:math:`P(N = 0)` at the origin kept apart, in log space).

Within a cell the queries interpolate in log space: the density is taken
log-linear between grid points (exact for an exponential tail, where the
plain linear interpolation of `Distribution.pdf` errs by
:math:`(\theta h)^2/8` between the points), and the part of a cell's mass
above a point follows the same local exponential.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from . import _queries, _tilt
from ._base import Distribution, pytree_dataclass, static_field
from ._relative import bucketed_query, unresolved


def _fraction_above(a: jax.Array, f: jax.Array) -> jax.Array:
    r"""Log of the share of a cell above its fraction `f` (density :math:`e^{-a u}`).

    ``u`` runs over the cell in units of the step; the share is
    :math:`e^{-a f} (1 - e^{-a (1 - f)}) / (1 - e^{-a})`, which tends to
    :math:`1 - f` as :math:`a \to 0`.
    """
    small = jnp.abs(a) < 1e-6
    a_ = jnp.where(small, 1.0, a)
    exact = -a_ * f + jnp.log(jnp.expm1(-a_ * (1 - f)) / jnp.expm1(-a_))
    return jnp.where(small, jnp.log(jnp.maximum(1 - f, 0.0)), exact)


def _slope(lm: jax.Array) -> jax.Array:
    """Local decay ``-d log m / dk`` per grid point (one-sided at the ends)."""
    fin = jnp.where(jnp.isfinite(lm), lm, jnp.nan)
    n = lm.shape[-1]
    if n < 2:
        return jnp.zeros_like(lm)
    d = fin[..., :-1] - fin[..., 1:]
    lo = jnp.concatenate([d[..., :1], d], -1)
    hi = jnp.concatenate([d, d[..., -1:]], -1)
    s = 0.5 * (lo + hi)
    s = jnp.where(jnp.isnan(s), jnp.where(jnp.isnan(lo), hi, lo), s)
    return jnp.where(jnp.isfinite(s), s, 0.0)


@pytree_dataclass
class RelativeDensity(Distribution):
    r"""A density `Distribution` whose cell masses keep a stated relative error (final).

    Returned by `add` and `iid_sum` with ``accuracy="relative"`` when a
    summand is a density, and by `compound` with a density severity.
    Besides the attributes of `Distribution`, it holds the logs of the cell
    masses and of their estimated relative errors; `masses` is
    ``exp(log_masses)``, plus the atom (if any) in the origin's cell.

    Attributes
    ----------
    log_masses : jax.Array
        Shape ``(..., n)``: log of the mass of each cell (``-inf`` for exact
        zeros).
    log_error : jax.Array
        Shape ``(..., n)``: log of the estimated relative error of each cell
        mass and of the density at each grid point (``inf`` where a point
        is unresolved). It is dominated by the discretization (see Notes),
        not by round-off.
    log_truncated : jax.Array
        Batch shape: log of the mass cut off (or of a bound on it).
    log_resolved_error : jax.Array
        Shape ``(..., n)``: `log_error` without the share of the cut mass
        (which `log_error` adds to every cell it may reach, and `sf_error`
        adds once, as a whole).
    densities : int
        Static: how many density summands the law is the sum of (for a
        compound sum, about the largest expected count of summands behind
        a point; it scales the discretization estimate of later sums).
    log_atom : jax.Array or None
        Batch shape: log of a point mass at the origin (a compound sum's
        :math:`P(N = 0)`, exact), or None for none. `log_masses`,
        `logpdf` and the errors describe the continuous part only;
        `logcdf`, `logsf` and `masses` count the atom too.

    Notes
    -----
    The cells' masses of a sum are the convolution of the summands' cell
    masses: all weights non-negative, so exponential tilting keeps every
    sum of them to a relative round-off error. That is the law of the sum
    of the *rounded* summands: with `d` density summands it carries
    :math:`d - 1` boxes of one cell more than the sum's true cell masses
    (one more than its density at the grid points), each the law of a
    uniform variable on :math:`[-h/2, h/2]`, so to leading order

    .. math:: \frac{\delta m_k}{m_k} \approx \frac{d}{24}
              \frac{m_{k-1} - 2 m_k + m_{k+1}}{m_k},

    computed from the log masses (for a tail :math:`e^{-\theta x}` it is
    :math:`d(\theta h)^2/24`). `log_error` states four times that, with the
    curvature's largest value within two cells, and at least
    :math:`h^2/\sigma^2` of it (:math:`\sigma^2` the sum's variance): near
    the summands' jumps (an exponential's origin) the error decays like
    :math:`1/x` into the tail, and between the inflection points the
    curvature nears 0 but the error does not. The
    relative error of `sf` at `x` is at most the mass-weighted mean of the
    cells' errors above `x` (`sf_error`).

    The grid's reach limits the rest: mass cut past a summand's grid (its
    ``truncated``; at least the smallest normal float wherever the last
    cell has mass, since a tail below it underflows to 0) reaches the sum
    from that summand's last point on, and the points there whose mass is
    not far above it are marked unresolved. For a light tail, give the
    summands a `support` reaching as far as the queries (an exponential to
    700 reaches 1e-300). A heavy tail (lognormal, Pareto) cannot reach the
    float range's end on any grid; a sum of `n` of them is resolved up to
    the summands' last point, where its tail is about `n` times theirs
    (subexponential), and past the grid the log queries return NaN, never
    ``-inf``.

    Under `jax.jit` (masses traced) the summands' underflowed far cells are
    kept and the sum's grid is not shortened where its masses leave the
    float range: there, give supports whose far ends stay above the
    smallest float (an Exp(1) to about 700).
    """

    log_masses: jax.Array = None
    log_error: jax.Array = None
    log_truncated: jax.Array = None
    log_resolved_error: jax.Array = None
    densities: int = static_field(1)
    log_atom: jax.Array | None = None

    @property
    def kind(self) -> str:
        """``'density'``."""
        return "density"

    # The queries read the true size `n` (traced): eagerly, the arrays are
    # padded to a bucket (`bucketed_query`), so that laws of many sizes
    # share one compiled query.
    def _cell(self, x, n):
        """``(x, u, j, f)``: position `u` from the grid's lower edge in cells."""
        x, k = _queries._k(self, x)
        u = k + 0.5
        j = jnp.clip(jnp.floor(u), 0, n - 1)
        return x, u, j.astype(jnp.int32), jnp.clip(u - j, 0.0, 1.0)

    def _past(self, u, n):
        cut = jnp.asarray(self.log_truncated) > -jnp.inf
        return jnp.where((u >= n) & cut, jnp.nan, -jnp.inf)

    def logpdf(self, x: ArrayLike) -> jax.Array:
        r"""Log of the density, log-linear between grid points.

        ``log(mass / step)`` at the grid points; NaN past the grid where mass
        was cut, ``-inf`` where nothing was (or below the grid).

        Examples
        --------
        >>> import math
        >>> from probconv import distributions as dist
        >>> e = dist.exponential(step=0.05, support=(0.0, 200.0))
        >>> g = dist.iid_sum(e, 3, accuracy="relative")   # Gamma(3)
        >>> exact = math.log(150.0**2 / 2) - 150.0
        >>> abs(float(g.logpdf(150.0)) - exact) < 1e-3
        True
        """
        return bucketed_query(self, "_logpdf", x)

    def _logpdf(self, x, n):
        x, k = _queries._k(self, x)
        lm = self.log_masses
        kk = jnp.clip(k, 0.0, n - 1.0)
        j = jnp.clip(jnp.floor(kk), 0, jnp.maximum(n - 2, 0)).astype(jnp.int32)
        w = kk - j
        a = _queries._take(lm, j)
        b = _queries._take(lm, jnp.minimum(j + 1, n - 1))
        both = jnp.isfinite(a) & jnp.isfinite(b)
        near = jnp.where(w < 0.5, a, b)
        val = jnp.where(both, a + w * (b - a), near) - math.log(self.step)
        val = jnp.where(k < -0.5, -jnp.inf, val)
        val = jnp.where(k > n - 0.5, self._past(k + 0.5, n), val)
        return jnp.where(jnp.isnan(x), jnp.nan, val)

    def pdf(self, x: ArrayLike) -> jax.Array:
        """Density, the exponential of `logpdf`.

        Past the grid, as `sf`: 0 where the cut mass is below 1e-300 (1e-30
        in float32), NaN where a larger mass was cut.
        """
        v = self.logpdf(x)
        past = jnp.isnan(v) & ~jnp.isnan(jnp.asarray(x))
        return jnp.where(past, jnp.exp(unresolved(self, past)), jnp.exp(v))

    def _log_cumulative(self, x, upper: bool, strict: bool = True):
        """Log-space cumulative sums (see `logcdf`, `logsf`), one program per shape."""
        return bucketed_query(self, "_log_cumulative_body", x, upper, strict)

    def _log_cumulative_body(self, x, n, upper: bool, strict: bool):
        x, u, j, f = self._cell(x, n)
        lm = self.log_masses
        a = _queries._take(_slope(lm), j)
        up = _fraction_above(a, f)
        down = _fraction_above(-a, 1 - f)
        mj = _queries._take(lm, j)
        if upper:
            inc = _tilt.logcumsumexp(lm, reverse=True)
            after = _queries._take(inc, jnp.minimum(j + 1, n - 1))
            after = jnp.where(j + 1 <= n - 1, after, -jnp.inf)
            val = jnp.logaddexp(after, mj + up)
            whole = _queries._take(inc, jnp.zeros_like(j))
            val = jnp.where(u <= 0, whole, val)
            past = self._past(u, n) if strict else unresolved(self, u >= n)
            val = jnp.where(u >= n, past, val)
        else:
            inc = _tilt.logcumsumexp(lm)
            before = _queries._take(inc, jnp.maximum(j - 1, 0))
            before = jnp.where(j >= 1, before, -jnp.inf)
            val = jnp.logaddexp(before, mj + down)
            val = jnp.where(u <= 0, -jnp.inf, val)
            val = jnp.where(u >= n, _queries._take(inc, j), val)
        if self.log_atom is not None:
            # The atom sits at the origin: below it for sf, at or above for cdf.
            below = x < self.origin
            atom = jnp.broadcast_to(self.log_atom, val.shape)
            on = below if upper else ~below
            val = jnp.where(on, jnp.logaddexp(val, atom), val)
        return jnp.where(jnp.isnan(x), jnp.nan, val)

    def sf_error(self, x: ArrayLike) -> jax.Array:
        r"""Estimated relative error of `sf` (and `logsf`'s absolute error) at `x`.

        The cells' resolved errors weighted by their masses from the cell
        of `x` up, plus the whole cut mass :math:`t`:
        :math:`(t + \sum_{i \ge j} m_i r_i) / \sum_{i \ge j} m_i`. A sum of
        masses each within :math:`r_i` of its value, missing at most
        :math:`t`, is within that share of its own. NaN past the grid where
        mass was cut.

        Examples
        --------
        >>> from probconv import distributions as dist
        >>> e = dist.exponential(step=0.05, support=(0.0, 720.0))
        >>> g = dist.iid_sum(e, 2, accuracy="relative")
        >>> bool(g.sf_error(690.0) < 1e-3)
        True
        """
        return bucketed_query(self, "_sf_error", x)

    def _sf_error(self, x, n):
        x, u, j, _ = self._cell(x, n)
        lm, le = self.log_masses, self.log_resolved_error
        num = _tilt.logcumsumexp(jnp.where(jnp.isfinite(lm), lm + le, -jnp.inf), True)
        den = _tilt.logcumsumexp(lm, reverse=True)
        top = jnp.logaddexp(_queries._take(num, j), self.log_truncated)
        den = _queries._take(den, j)
        if self.log_atom is not None:  # exact, and below `x` only left of 0
            den = jnp.where(x < self.origin, jnp.logaddexp(den, self.log_atom), den)
        val = jnp.exp(top - den)
        val = jnp.where(u >= n, self._past(u, n), val)
        return jnp.where(jnp.isnan(x), jnp.nan, val)

    def logcdf(self, x: ArrayLike) -> jax.Array:
        """Log of the cumulative distribution function, summed in log space."""
        return self._log_cumulative(x, upper=False)

    def logsf(self, x: ArrayLike) -> jax.Array:
        r"""Log of the survival function :math:`P(X > x)`, summed from the tail.

        NaN past the grid where mass was cut there (``-inf`` where nothing
        was).

        Examples
        --------
        >>> import math
        >>> from probconv import distributions as dist
        >>> e = dist.exponential(step=0.05, support=(0.0, 720.0))
        >>> g = dist.iid_sum(e, 2, accuracy="relative")   # Gamma(2)
        >>> exact = math.log(1 + 690.0) - 690.0            # about 1e-297
        >>> abs(float(g.logsf(690.0)) - exact) < 1e-3
        True
        """
        return self._log_cumulative(x, upper=True)

    def cdf(self, x: ArrayLike, *, interpolation: str = "linear") -> jax.Array:
        """Cumulative distribution function, from the log-space sums."""
        self._check_interpolation(interpolation)
        return jnp.exp(self.logcdf(x))

    def sf(self, x: ArrayLike) -> jax.Array:
        """Survival function from the log-space tail sums.

        Past the grid: 0 where the cut mass is below 1e-300 (1e-30 in
        float32), NaN where a larger mass was cut (a heavy tail that kept
        its grid; see `probconv.distributions.bounds`).
        """
        return jnp.exp(self._log_cumulative(x, upper=True, strict=False))
