"""The plain laws on a grid: `Lattice` and `Density`, and `from_masses`."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from .._checks import check_number, concrete
from ..conv import to_device
from ._base import Distribution, pytree_dataclass
from ._params import as_real_array, given_eps

KINDS = ("lattice", "density")


def _check_kind(kind) -> str:
    if not isinstance(kind, str) or kind not in KINDS:
        raise ValueError(f"`kind` must be 'lattice' or 'density'; got {kind!r}.")
    return kind


@pytree_dataclass
class Lattice(Distribution):
    """A discrete law: ``P(X = x_k) = masses[k]`` (final; kind ``'lattice'``)."""

    _zero_padding_is_exact = True

    @property
    def kind(self) -> str:
        """``'lattice'``."""
        return "lattice"


@pytree_dataclass
class Density(Distribution):
    """A continuous law by its cell masses, with no singular part (final).

    Kind ``'density'``: ``masses[k]`` is the probability of the cell
    :math:`[x_k - h/2, x_k + h/2)`. A density that knows the jumps of its
    density or its atoms is a `Continuous`.
    """

    @property
    def kind(self) -> str:
        """``'density'``."""
        return "density"


_CLASSES = {"lattice": Lattice, "density": Density}


def make(masses, origin, truncated, step: float, kind: str) -> Distribution:
    """Build a plain `Lattice` or `Density` without checks (broadcasts)."""
    if isinstance(masses, np.ndarray):
        masses = to_device(masses)  # no program compiled per shape
    masses = jnp.asarray(masses)
    batch = masses.shape[:-1]
    origin = jnp.broadcast_to(jnp.asarray(origin, masses.dtype), batch)
    truncated = jnp.broadcast_to(jnp.asarray(truncated, masses.dtype), batch)
    return _CLASSES[kind](masses, origin, truncated, float(step))


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
    step = check_number("step", step, low=0.0, low_open=True)
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
    tol = 16 * given_eps(masses, dtype) * math.sqrt(m.shape[-1])
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
    if isinstance(x, Distribution):
        raise TypeError(f"`{name}` must be a real array; got {type(x).__name__}.")
    return as_real_array(x, name)
