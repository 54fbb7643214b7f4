"""An a-posteriori estimate of a density's discretization error (step halving)."""

from __future__ import annotations

import math
from typing import NamedTuple

import jax.numpy as jnp
import numpy as np

from .._checks import check_number
from ._base import Distribution
from ._queries import edge_cdf


class StepError(NamedTuple):
    """Result of `discretization_error`.

    Attributes
    ----------
    dist : Distribution
        The law built at the finest step.
    error : float
        Estimated largest error of its cdf at the cell edges.
    order : float
        Observed order of convergence in the step.
    """

    dist: Distribution
    error: float
    order: float


def _edges(d: Distribution) -> np.ndarray:
    o = np.asarray(d.origin, np.float64).reshape(-1)[0]
    return o - d.step / 2 + d.step * np.arange(d.size + 1)


def _gap(fine: Distribution, coarse: Distribution) -> float:
    e = _edges(coarse)
    lo = max(_edges(fine)[0], e[0])
    hi = min(_edges(fine)[-1], e[-1])
    e = e[(e >= lo) & (e <= hi)]
    a = np.asarray(edge_cdf(fine, jnp.asarray(e)))
    b = np.asarray(edge_cdf(coarse, jnp.asarray(e)))
    return float(np.max(np.abs(a - b))) if e.size else 0.0


def discretization_error(build, step: float, *, order: float | None = None):
    r"""Estimate the discretization error of a law built at a given step.

    Builds ``build(step)``, ``build(2 * step)`` and (unless `order` is
    given) ``build(4 * step)``, and compares their cdfs at the coarser cell
    edges. With :math:`E_1 = \max|F_h - F_{2h}|`,
    :math:`E_2 = \max|F_{2h} - F_{4h}|` and the observed order
    :math:`p = \log_2(E_2/E_1)`, the error of :math:`F_h` is estimated as
    :math:`E_1 / (2^p - 1)` (Richardson).

    Parameters
    ----------
    build : callable
        ``step -> Distribution`` (density kind, unbatched), e.g.
        ``lambda h: dist.iid_sum(dist.exponential(step=h), 10)``.
    step : float
        The finest step.
    order : float, optional
        The order to assume (skips the third build).

    Returns
    -------
    StepError
        ``(dist, error, order)``: the law at `step`, the estimated largest
        cdf error at its cell edges, and the order used.

    Raises
    ------
    ValueError
        For a bad `step` or `order`.
    TypeError
        If `build` does not return a density-kind Distribution.

    Notes
    -----
    The estimate assumes the error behaves as :math:`C h^p` on all three
    grids, i.e. that the grids place the density's jumps alike (origins on
    multiples of the step, as the constructors do); it does not see the
    truncated mass, reported separately in ``truncated``. The order is
    clipped to [1, 8].

    Examples
    --------
    >>> from probconv import distributions as dist
    >>> r = dist.discretization_error(
    ...     lambda h: dist.iid_sum(dist.exponential(step=h, tail=1e-14), 10), 0.05)
    >>> bool(r.error < 1e-6), round(r.order)
    (True, 4)
    """
    step = check_number("step", step, low=0.0, low_open=True)
    if order is not None:
        order = check_number("order", order, low=0.0, low_open=True)
    levels = [build(step), build(2 * step)]
    if order is None:
        levels.append(build(4 * step))
    for d in levels:
        if not isinstance(d, Distribution) or d.kind != "density" or d.batch_shape:
            raise TypeError(
                "`build` must return an unbatched density-kind Distribution; got "
                f"{type(d).__name__}."
            )
    e1 = _gap(levels[0], levels[1])
    if order is None:
        e2 = _gap(levels[1], levels[2])
        p = math.log2(e2 / e1) if e1 > 0 and e2 > 0 else 8.0
        order = min(max(p, 1.0), 8.0)
    return StepError(levels[0], e1 / (2.0**order - 1.0), order)
