"""The Poisson binomial law: the number of successes in independent trials."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from ..conv import convolve
from ..conv.internal import SHIFT_MAX_TAPS
from ._base import Distribution
from ._checks import as_param, check_accuracy, check_range, float_dtype
from ._grid import make
from ._lattice_ops import _clip_to_total, _convolve_masses
from ._relative_ops import relative_poisson_binomial


@functools.partial(jax.jit, static_argnames="accuracy")
def _tree(p, accuracy):
    """Masses of the sum of the Bernoulli trials along the last axis of `p`."""
    n = p.shape[-1]
    width = 1 << (n - 1).bit_length()
    pad = [(0, 0)] * (p.ndim - 1) + [(0, width - n)]
    pp = jnp.pad(p, pad)
    m = jnp.stack([1 - pp, pp], axis=-1)  # (..., width, 2)
    while m.shape[-2] > 1:
        a, b = m[..., 0::2, :], m[..., 1::2, :]
        if a.shape[-1] <= SHIFT_MAX_TAPS:
            # Short laws: direct sums of non-negative terms (the engine's
            # shifted form), exact to rounding, nothing to clip. Clipping the
            # FFT's noise on these many short rows took a third of the time
            # (n = 1e5: 39 ms against 26 ms, the same error).
            m = convolve(a, b, axes=-1, method="direct")
        else:
            m = _convolve_masses(a, b, accuracy=accuracy)
    # Trials padded with p = 0 leave only round-off beyond n: drop it.
    masses = _clip_to_total(m[..., 0, : n + 1], jnp.ones(p.shape[:-1], p.dtype))
    return masses


def poisson_binomial(p: ArrayLike, *, accuracy: str = "absolute") -> Distribution:
    r"""Law of the number of successes in independent trials of probabilities `p`.

    The sum of independent Bernoulli variables with success probabilities
    :math:`p_1, \dots, p_n`, computed by a balanced tree of convolutions:
    the ``n`` two-point laws are convolved in pairs, the results in pairs
    again, and so on, each level one batched convolution of the engine
    (direct sums while the laws are short, FFTs after).
    ``O(n log^2 n)`` work in ``log2 n`` dependent steps, compiled once per
    shape of `p`.

    Parameters
    ----------
    p : array_like
        Shape ``(..., n)``, ``n >= 1``: success probabilities in [0, 1] along
        the last axis; leading axes are a batch. Differentiable.
    accuracy : {'absolute', 'relative'}
        ``'absolute'`` (default, fastest): plain convolution; every mass has
        an absolute error near ``eps * max(masses)``, so masses far below
        the largest are noise (clipped at 0, never negative).
        ``'relative'``: exponentially tilted FFTs (see
        `probconv.distributions.RelativeDistribution`); every mass keeps a small
        relative error (about 1e-10 in float64, 1e-4 in float32) however
        small it is, and the log-space queries reach far below the smallest
        float. Returns a `RelativeDistribution`.

    Returns
    -------
    Distribution
        A lattice on ``0, ..., n`` with the batch shape ``p.shape[:-1]``.

    Raises
    ------
    ValueError
        For a scalar or empty `p`, probabilities outside [0, 1] (under
        `jax.jit` these give NaN masses instead), or an unknown `accuracy`.
    TypeError
        For non-numeric or complex `p`.

    Notes
    -----
    .. math:: P(S = k) = [z^k] \prod_{i=1}^n (1 - p_i + p_i z).

    The number of trials is padded to a power of two with trials of
    probability 0, which change nothing.

    See Also
    --------
    binomial, iid_sum

    Examples
    --------
    >>> from probconv import distributions as dist
    >>> d = dist.poisson_binomial([0.1, 0.5, 0.9])
    >>> [round(v, 12) for v in d.masses.tolist()]
    [0.045, 0.455, 0.455, 0.045]
    """
    if accuracy == "relative":
        return relative_poisson_binomial(p)
    check_accuracy(accuracy)
    eager = _host_values(p)
    if eager is not None:
        return _poisson_binomial_eager(p, eager, accuracy)
    p_raw, p = p, as_param(p, "p", float_dtype(p=p))
    if p.ndim == 0 or p.shape[-1] == 0:
        raise ValueError(
            f"`p` must have at least one probability on its last axis; got shape "
            f"{p.shape}."
        )
    ok = jnp.all(check_range(p, "p", 0.0, 1.0, raw=p_raw), -1)
    masses = _tree(p, accuracy)
    masses = jnp.where(ok[..., None], masses, jnp.nan)
    return make(masses, 0.0, 0.0, 1.0, "lattice")


def _host_values(p) -> np.ndarray | None:
    """`p` as a real NumPy array when its values are known now (an eager call)."""
    if isinstance(p, jax.core.Tracer) or isinstance(p, (str, bytes)):
        return None
    if isinstance(p, (jax.Array, np.ndarray, list, tuple)):
        try:
            values = np.asarray(p)
        except Exception:  # noqa: BLE001 - e.g. a list holding tracers
            return None
        return values if values.dtype.kind in "biuf" else None
    return None


def _poisson_binomial_eager(p_raw, values: np.ndarray, accuracy: str):
    """Return the law of a concrete `p`, trials padded to a power of two.

    The tree pads the trials with probability-0 ones to a power of two in
    any case; doing it on the host first means that every number of trials
    up to that power shares one compiled program (a loop over portfolios of
    20..2019 loans compiles 7, not 2000), and the masses past `n` (round-off
    of trials that cannot succeed) are cut off here.
    """
    dtype = float_dtype(p=p_raw)
    if values.ndim == 0 or values.shape[-1] == 0:
        raise ValueError(
            f"`p` must have at least one probability on its last axis; got shape "
            f"{values.shape}."
        )
    v64 = values.astype(np.float64)
    if not (np.isfinite(v64) & (v64 >= 0) & (v64 <= 1)).all():
        check_range(v64, "p", 0.0, 1.0)  # raises the package's message
    n = values.shape[-1]
    width = 1 << (n - 1).bit_length()
    padded = np.zeros(values.shape[:-1] + (width,), dtype)
    padded[..., :n] = values
    masses = np.asarray(_tree(padded, accuracy))[..., : n + 1]
    return make(masses, 0.0, 0.0, 1.0, "lattice")
