r"""Continuous laws on a grid: the `Continuous` pytree and its discretization.

A continuous law is stored as the probabilities of grid cells (kind
``'density'``), computed from differences of its CDF. The cell masses are
exact; what needs care is the *sum*: the convolution of two cell-mass
sequences is the law of the sum of the two *rounded* variables, whose error
is of second order in the step (each summand carries the smoothing of a box
of width :math:`h`, and a density that jumps at the edge of its support
adds a term of its own). `Continuous` carries the two things that make the
sum fourth order (see `probconv.distributions._density_ops`):

- ``jumps``: the aliasing of jumps and kinks of the density, as a lattice
  correction (a dipole and a second difference at the nearest grid point),
- ``atoms``: the part of each cell's mass that is a point mass (mixed laws).

Both are optional (None): a plain density is assumed smooth.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from ._base import Distribution, pytree_dataclass


@pytree_dataclass
class Continuous(Distribution):
    r"""A density-kind `Distribution` that knows its singular part (final).

    Returned by the continuous constructors (`normal`, `exponential`, ...)
    and by sums and mixtures of them. It is a `Distribution` of kind
    ``'density'`` in every respect (same queries); the extra leaves let
    sums keep a fourth-order discretization error where the density jumps
    or the law has atoms.

    Attributes
    ----------
    atoms : jax.Array or None
        Shape of `masses`: the part of each cell's mass that is a point mass
        at the cell's centre (a mixed law), or None for none.
    jumps : jax.Array or None
        Shape of `masses`: the lattice correction :math:`d` for the aliasing
        of the density's jumps and kinks, or None for a smooth density. For
        a jump :math:`J` and a kink (jump of the derivative) :math:`K` at
        :math:`a = x_c + \theta h`, :math:`|\theta| \le 1/2`,

        .. math:: d = \left(\frac{J h B_2}{4} - \frac{K h^2 B_3}{12}\right)
                  (\delta_{c+1} - \delta_{c-1})
                  + J h \left(\frac{\theta B_2}{2} - \frac{B_3}{3}\right)
                  (\delta_{c+1} - 2\delta_c + \delta_{c-1}),

        with the Bernoulli polynomials :math:`B_n = B_n(\theta + 1/2)`.

    Notes
    -----
    The cell masses :math:`m` are modelled as
    :math:`m = \beta \ast c + d + a`, with :math:`c` the point values
    :math:`h f(x_k)` of the continuous part, :math:`a` the atoms and
    :math:`\beta` the box of one cell, whose transform is
    :math:`\mathrm{sinc}(\omega h / 2)`; :math:`d` is the leading term of the
    aliasing of :math:`f`'s jumps and kinks (Poisson summation).
    """

    atoms: jax.Array | None = None
    jumps: jax.Array | None = None

    @property
    def kind(self) -> str:
        """``'density'``."""
        return "density"

    # A law from a family constructor (default support, concrete
    # parameters) remembers its scipy.stats law: eager queries past its
    # cells answer from it, not with a bare 0 or -inf (`past_grid`). The
    # log queries take the grid's own values (not this class's `sf`, which
    # would ask scipy a second time).
    def sf(self, x: ArrayLike) -> jax.Array:
        """Survival function; past the cells, the family's own (see `logsf`).

        Examples
        --------
        >>> from probconv import distributions as dist
        >>> x = dist.normal()  # cells to about +-6.4
        >>> round(float(x.sf(0.0)), 6), f"{float(x.sf(20.0)):.4e}"
        (0.5, '2.7536e-89')
        """
        return _past(self, x, "sf", Distribution.sf(self, x))

    def logsf(self, x: ArrayLike) -> jax.Array:
        """Log of `sf`.

        Past the cells of a law from a family constructor (default support,
        concrete parameters, an eager query): the family's own ``logsf``
        (scipy.stats), not the ``-inf`` of an empty grid. A law built
        otherwise (an explicit ``support``, an operation's result, traced
        values) answers from its cells: 0 or ``-inf`` there, within its
        ``truncated`` mass (see `probconv.distributions.bounds`).
        """
        return _past(self, x, "logsf", jnp.log(Distribution.sf(self, x)))

    def cdf(self, x: ArrayLike, *, interpolation: str = "linear") -> jax.Array:
        """Cumulative distribution function; past the cells, the family's own."""
        grid = Distribution.cdf(self, x, interpolation=interpolation)
        return _past(self, x, "cdf", grid)

    def logcdf(self, x: ArrayLike) -> jax.Array:
        """Log of `cdf`; past the cells, the family's own ``logcdf``."""
        return _past(self, x, "logcdf", jnp.log(Distribution.cdf(self, x)))

    def pdf(self, x: ArrayLike) -> jax.Array:
        """Density; past the cells, the family's own ``pdf``."""
        return _past(self, x, "pdf", Distribution.pdf(self, x))

    def logpdf(self, x: ArrayLike) -> jax.Array:
        """Log of the density; past the cells, the family's own ``logpdf``."""
        return _past(self, x, "logpdf", jnp.log(Distribution.pdf(self, x)))


def _past(d, x, query, grid):
    from ._extend_density import past_grid  # (it builds laws: imported late)

    return past_grid(d, x, query, grid)


def make_continuous(masses, origin, truncated, step, atoms=None, jumps=None):
    """Build a `Continuous` without checks (origin, truncated broadcast)."""
    masses = jnp.asarray(masses)
    batch = masses.shape[:-1]
    dt = masses.dtype
    origin = jnp.broadcast_to(jnp.asarray(origin, dt), batch)
    truncated = jnp.broadcast_to(jnp.asarray(truncated, dt), batch)
    if atoms is not None:
        atoms = jnp.broadcast_to(jnp.asarray(atoms, dt), masses.shape)
    if jumps is not None:
        jumps = jnp.broadcast_to(jnp.asarray(jumps, dt), masses.shape)
    return Continuous(masses, origin, truncated, float(step), atoms, jumps)


def parts(d: Distribution):
    """Return ``(atoms, jumps)`` of `d` (None where absent).

    A lattice is all atoms; a plain density has neither.
    """
    if d.kind == "lattice":
        return d.masses, None
    if isinstance(d, Continuous):
        return d.atoms, d.jumps
    return None, None


def _bernoulli2(x):
    return x * x - x + 1.0 / 6.0


def _bernoulli3(x):
    return x * (x - 0.5) * (x - 1.0)


def jump_correction(n, origin, step, at, jump, kink):
    r"""Return the lattice correction ``d`` of a jump and a kink (`Continuous`).

    Parameters
    ----------
    n : int
        Grid length.
    origin : array
        First grid point (batch shape).
    step : float
        Grid step.
    at, jump, kink : array
        Position, jump :math:`J = f(a^+) - f(a^-)` and kink
        :math:`K = f'(a^+) - f'(a^-)`, each broadcastable to the batch.

    Returns
    -------
    jax.Array
        Shape ``batch + (n,)``. Differentiable in `at`, `jump` and `kink`
        (away from half-way points between grid points, where the nearest
        point changes).
    """
    u = (at - origin) / step
    c = jnp.round(u)
    theta = u - c
    x = theta + 0.5
    b2, b3 = _bernoulli2(x), _bernoulli3(x)
    h = step
    c1 = jump * h * b2 / 4 - kink * h * h * b3 / 12
    c2 = jump * h * (theta * b2 / 2 - b3 / 3)
    k = jnp.arange(n, dtype=jnp.result_type(c1))
    cc = jax.lax.stop_gradient(c)[..., None]
    plus = (k == cc + 1).astype(k.dtype)
    mid = (k == cc).astype(k.dtype)
    minus = (k == cc - 1).astype(k.dtype)
    return c1[..., None] * (plus - minus) + c2[..., None] * (plus - 2 * mid + minus)


# -- grid choice ----------------------------------------------------------------


def auto_grid(frozen_list, *, tol: float, tail: float, max_size: int, step=None):
    """Choose ``(step, lo, hi, tail_used)`` for frozen scipy laws (concrete).

    The step is the largest power of two with ``step**2 * max|f'| / 8 <=
    tol`` (the error of the cdf's linear interpolation within a cell), so
    that steps chosen for different laws nest. The extent covers the
    ``tail / 2`` quantiles of every law of the batch; when that would exceed
    `max_size` cells, the tail cut and the step are balanced (heavy tails).
    """
    lo_fin = min(float(f.support()[0]) for f in frozen_list)
    hi_fin = max(float(f.support()[1]) for f in frozen_list)

    def span(t):
        a = min(float(f.ppf(t / 2)) for f in frozen_list)
        b = max(float(f.isf(t / 2)) for f in frozen_list)
        return max(a, lo_fin), min(b, hi_fin)

    if step is None:
        slope = max(_max_slope(f) for f in frozen_list)
        h = math.sqrt(8 * tol / slope) if slope > 0 else 1.0
        h = 2.0 ** math.floor(math.log2(h))
        fixed = False
    else:
        h, slope, fixed = float(step), 0.0, True
    a, b = span(tail)
    if (b - a) / h + 4 <= max_size:
        return h, a, b, tail
    best = None
    for t in np.geomspace(tail, 0.25, 240):
        a, b = span(float(t))
        hh = h
        if (b - a) / hh + 4 > max_size:
            if fixed:
                continue
            hh = 2.0 ** math.ceil(math.log2((b - a) / (max_size - 4)))
        err = max(float(t), hh * hh * slope / 8)
        if best is None or err < best[0]:
            best = (err, hh, a, b, float(t))
    if best is None:
        raise ValueError(
            f"No grid of step {h} fits in `max_size`={max_size} cells, even "
            "with a quarter of the mass cut off; give a larger `step` or "
            "`max_size`."
        )
    return best[1], best[2], best[3], best[4]


def _max_slope(frozen) -> float:
    """Largest ``|f'|`` over the body of a frozen scipy law (numerically)."""
    u = np.concatenate([np.geomspace(1e-9, 0.01, 200), np.linspace(0.01, 0.99, 2000)])
    u = np.concatenate([u, 1 - u[::-1]])
    x = np.unique(frozen.ppf(u))
    x = x[np.isfinite(x)]
    with np.errstate(all="ignore"):
        f = frozen.pdf(x)
        df = np.diff(f) / np.diff(x)
    df = df[np.isfinite(df)]
    return float(np.max(np.abs(df))) if df.size else 1.0


def cells(lo: float, hi: float, h: float, lo_finite: bool, hi_finite: bool):
    """Return ``(k0, n)``: cells centred on ``(k0 + k) h`` covering [lo, hi].

    A finite end of the support gets one empty cell beyond it, where the
    jump correction of the sum can live.
    """
    k0 = math.floor(lo / h + 0.5) - (1 if lo_finite else 0)
    k1 = math.floor(hi / h + 0.5) + (1 if hi_finite else 0)
    n = k1 - k0 + 1
    if n > 10**8:
        raise ValueError(
            f"The grid would need {n} points (over 10**8); choose a larger `step`."
        )
    return k0, max(n, 1)


def cell_masses(cdf, sf, edges):
    """Masses of the cells between `edges` (last axis), from the CDF or SF.

    Cells left of the median use CDF differences, the others SF differences,
    so that both tails keep their relative accuracy.
    """
    f = cdf(edges)
    s = sf(edges)
    left = f[..., 1:] - f[..., :-1]
    right = s[..., :-1] - s[..., 1:]
    m = jnp.where(f[..., 1:] <= 0.5, left, right)
    trunc = f[..., 0] + s[..., -1]
    return jnp.maximum(m, 0.0), jnp.maximum(trunc, 0.0)
