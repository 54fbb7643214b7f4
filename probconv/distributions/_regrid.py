"""Moving a distribution to another grid (step and origin)."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from .._checks import check_int, check_number, concrete
from ..conv.internal import bounded_jit
from ._base import Distribution, check_dist
from ._continuous import Continuous, make_continuous
from ._grid import make

METHODS = ("pchip", "linear")


def _pchip_slopes(delta):
    """Fritsch-Carlson (scipy `PchipInterpolator`) slopes on a uniform grid.

    `delta` holds the secants of the non-decreasing data (last axis); the
    result has one more entry (the slopes at the ``n + 1`` nodes).
    """
    n = delta.shape[-1]
    if n == 1:
        return jnp.concatenate([delta, delta], axis=-1)
    a, b = delta[..., :-1], delta[..., 1:]
    pos = (a > 0) & (b > 0)
    den = jnp.where(pos, a + b, 1.0)
    inner = jnp.where(pos, 2 * a * b / den, 0.0)

    def edge(d0, d1):
        s = (3 * d0 - d1) / 2
        s = jnp.where(jnp.sign(s) != jnp.sign(d0), 0.0, s)
        big = (jnp.sign(d0) != jnp.sign(d1)) & (jnp.abs(s) > 3 * jnp.abs(d0))
        return jnp.where(big, 3 * d0, s)

    first = edge(delta[..., 0], delta[..., 1])[..., None]
    last = edge(delta[..., -1], delta[..., -2])[..., None]
    return jnp.concatenate([first, inner, last], axis=-1)


def _hermite(values, slopes, u):
    """Cubic Hermite interpolant at fractional node index `u` (per batch row).

    `values` and `slopes` have ``n + 1`` entries on the last axis; `u`
    (shape ``batch + (k,)``) is clipped to ``[0, n]``.
    """
    n = values.shape[-1] - 1
    uc = jnp.clip(u, 0.0, float(n))
    i = jnp.clip(jnp.floor(uc), 0, n - 1).astype(jnp.int32)
    s = uc - i
    f0 = jnp.take_along_axis(values, i, -1)
    f1 = jnp.take_along_axis(values, i + 1, -1)
    d0 = jnp.take_along_axis(slopes, i, -1)
    d1 = jnp.take_along_axis(slopes, i + 1, -1)
    s2, s3 = s * s, s * s * s
    return (
        f0 * (2 * s3 - 3 * s2 + 1)
        + d0 * (s3 - 2 * s2 + s)
        + f1 * (-2 * s3 + 3 * s2)
        + d1 * (s3 - s2)
    )


def _cell_cdf(masses, u, method):
    """Return ``(F(u), S(u))`` of cell masses at fractional edge index `u`."""
    zero = jnp.zeros(masses.shape[:-1] + (1,), masses.dtype)
    cdf = jnp.concatenate([zero, jnp.cumsum(masses, -1)], -1)
    rev = jnp.flip(jnp.cumsum(jnp.flip(masses, -1), -1), -1)
    sf = jnp.concatenate([rev, zero], -1)
    if method == "linear":
        n = masses.shape[-1]
        uc = jnp.clip(u, 0.0, float(n))
        i = jnp.clip(jnp.floor(uc), 0, n - 1).astype(jnp.int32)
        s = uc - i
        m = jnp.take_along_axis(masses, i, -1)
        f = jnp.take_along_axis(cdf, i, -1) + s * m
        g = jnp.take_along_axis(sf, i + 1, -1) + (1 - s) * m
        return f, g
    slopes = _pchip_slopes(masses)
    return _hermite(cdf, slopes, u), _hermite(sf, -slopes, u)


def regrid(
    d: Distribution,
    step: float,
    *,
    origin=None,
    size: int | None = None,
    method: str = "pchip",
) -> Distribution:
    r"""Move a distribution onto the grid ``origin + k * step``.

    A density gets the cell masses of a monotone piecewise-cubic (PCHIP)
    interpolant of its CDF through the old cell edges (``method='pchip'``:
    third order where the density is smooth, never a negative mass), or of
    the piecewise-linear CDF (``method='linear'``: exact for the histogram
    law). A lattice has each atom split between the two nearest new points
    in proportion to its distance (total and mean preserved; exact where the
    new grid holds the old points).

    Parameters
    ----------
    d : Distribution
        The law to move.
    step : float
        The new step (static).
    origin : float or array, optional
        The new first grid point (the centre of the first cell). Default:
        the multiple of `step` that covers `d`'s grid (needs a concrete
        origin). May be traced when `size` is given.
    size : int, optional
        The number of new grid points. Default: enough to cover `d`'s grid.
    method : {'pchip', 'linear'}
        Interpolation of a density's CDF.

    Returns
    -------
    Distribution
        Of the same kind; the mass of `d` off the new grid is added to
        ``truncated``. A `Continuous` keeps its atoms when every old grid
        point is a new one, and loses its jump corrections (sums of the
        result are then second order near the jumps).

    Raises
    ------
    ValueError
        For a bad `step`, `size` or `method`, or a traced origin without
        `size`.

    Notes
    -----
    With :math:`F` the interpolated CDF and :math:`e_j` the new cell edges,
    the new masses are :math:`F(e_{j+1}) - F(e_j)` (from the survival
    function right of the median, for accurate tails).

    Examples
    --------
    >>> from probconv import distributions as dist
    >>> x = dist.from_masses([0.25, 0.5, 0.25], step=1.0, kind="density")
    >>> y = dist.regrid(x, 0.5, method="linear")
    >>> float(y.origin), y.masses.tolist()
    (-0.5, [0.0625, 0.125, 0.1875, 0.25, 0.1875, 0.125, 0.0625])
    """
    d = check_dist(d, "d")
    h = check_number("step", step, low=0.0, low_open=True)
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(f"`method` must be 'pchip' or 'linear'; got {method!r}.")
    if size is not None:
        size = check_int("size", size, minimum=1)
    lat = d.kind == "lattice"
    if origin is None or size is None:
        o = concrete(d.origin)
        if o is None:
            raise ValueError(
                "`origin` and `size` must be given when `d`'s origin is traced "
                "(under jit or vmap): the grid must be static."
            )
        o = np.asarray(o, np.float64)
        half = 0.0 if lat else d.step / 2
        lo = float(np.min(o)) - half
        hi = float(np.max(o)) + d.step * (d.size - 1) + half
        if lat:
            k0, k1 = math.floor(lo / h + 1e-9), math.ceil(hi / h - 1e-9)
        else:
            k0, k1 = math.floor(lo / h + 0.5), math.floor(hi / h + 0.5)
        if origin is None:
            origin = k0 * h
        if size is None:
            start = float(np.min(np.asarray(concrete(jnp.asarray(origin)))))
            size = max(k1 - math.floor(start / h + 0.5) + 1, 1)
            if size > 10**8:
                raise ValueError(
                    f"The new grid would need {size} points; choose a larger `step`."
                )
    keep_atoms = False
    if not lat and isinstance(d, Continuous) and d.atoms is not None:
        # atoms stay atoms when every old grid point is a new one (decided
        # here, on concrete values: inside the program below they are traced)
        r = d.step / h
        do, no = concrete(d.origin), concrete(jnp.asarray(origin))
        if abs(r - round(r)) < 1e-9 and do is not None and no is not None:
            oc = (np.asarray(do, np.float64) - np.asarray(no, np.float64)) / h
            keep_atoms = bool(np.all(np.abs(oc - np.round(oc)) < 1e-9))
    return _regrid_core(d, origin, h, size, method, lat, keep_atoms)


@bounded_jit(static_argnums=(2, 3, 4, 5, 6))
def _regrid_core(d, origin, h, size, method, lat, keep_atoms):
    """Run the interpolation of `regrid` as one program (per grid and size)."""
    dt = d.dtype
    new_o = jnp.broadcast_to(jnp.asarray(origin, dt), d.batch_shape)
    if lat:
        u = (d.points - new_o[..., None]) / h
        lo_i = jnp.floor(u)
        frac = u - lo_i
        idx = lo_i.astype(jnp.int32)

        def scatter(i, v):
            out = jnp.zeros(d.batch_shape + (size + 2,), dt)
            ii = jnp.clip(i + 1, 0, size + 1)
            return _scatter_add(out, ii, v)

        out = scatter(idx, d.masses * (1 - frac)) + scatter(idx + 1, d.masses * frac)
        m = out[..., 1:-1]
        lost = d.total - jnp.sum(m, -1)
        return make(m, new_o, d.truncated + jnp.maximum(lost, 0.0), h, "lattice")
    atoms = d.atoms if isinstance(d, Continuous) else None
    masses = d.masses if atoms is None else d.masses - atoms
    edges = new_o[..., None] + (jnp.arange(size + 1, dtype=dt) - 0.5) * h
    u = (edges - (d.origin[..., None] - d.step / 2)) / d.step
    f, g = _cell_cdf(masses, u, method)
    total = jnp.sum(masses, -1)[..., None]
    use_f = f[..., 1:] <= total / 2
    m = jnp.where(use_f, f[..., 1:] - f[..., :-1], g[..., :-1] - g[..., 1:])
    m = jnp.maximum(m, 0.0)
    new_atoms = None
    if atoms is not None:
        pos = jnp.round((d.points - new_o[..., None]) / h)
        inside = (pos >= 0) & (pos <= size - 1)
        placed = _scatter_add(
            jnp.zeros(d.batch_shape + (size,), dt),
            jnp.clip(pos, 0, size - 1).astype(jnp.int32),
            jnp.where(inside, atoms, 0.0),
        )
        m = m + placed
        if keep_atoms:
            new_atoms = placed
    lost = d.total - jnp.sum(m, -1)
    return make_continuous(
        m, new_o, d.truncated + jnp.maximum(lost, 0.0), h, new_atoms, None
    )


def _scatter_add(out, idx, vals):
    """``out[..., idx] += vals`` row by row (batch axes broadcast)."""
    batch = out.shape[:-1]
    idx = jnp.broadcast_to(idx, batch + idx.shape[-1:])
    vals = jnp.broadcast_to(vals, batch + vals.shape[-1:])
    flat_o = out.reshape(-1, out.shape[-1])
    flat_i = idx.reshape(-1, idx.shape[-1])
    flat_v = vals.reshape(-1, vals.shape[-1])
    res = jax.vmap(lambda o, i, v: o.at[i].add(v))(flat_o, flat_i, flat_v)
    return res.reshape(out.shape)
