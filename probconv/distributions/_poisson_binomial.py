"""The Poisson binomial law: the number of successes in independent trials."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import scipy.fft
from jax.typing import ArrayLike

from .._checks import check_range
from ..conv import choose_method, convolve
from ..conv.internal import bounded_jit, split_of
from ._base import Distribution
from ._grid import Lattice, make
from ._host import host_values, leaf
from ._lattice_ops import _clip_to_total, _convolve_masses
from ._params import as_param, check_accuracy, float_dtype
from ._poisson_binomial_split import poisson_binomial_split
from ._relative_ops import relative_poisson_binomial


@bounded_jit(static_argnames="accuracy")
def _tree(p, accuracy):
    """Masses of the sum of the Bernoulli trials along the last axis of `p`."""
    n = p.shape[-1]
    width = 1 << (n - 1).bit_length()
    pad = [(0, 0)] * (p.ndim - 1) + [(0, width - n)]
    pp = jnp.pad(p, pad)
    m = jnp.stack([1 - pp, pp], axis=-1)  # (..., width, 2)
    while m.shape[-2] > 1:
        a, b = m[..., 0::2, :], m[..., 1::2, :]
        if choose_method(a, b, axes=-1) == "direct":
            # Where the engine sums directly (short laws, as shifted copies),
            # it adds non-negative terms: exact to rounding, nothing to clip.
            # Clipping on these many short rows took a third of the time
            # (n = 1e5: 39 ms against 26 ms, the same error).
            m = convolve(a, b, axes=-1)
        else:
            m = _convolve_masses(a, b, accuracy=accuracy)
    # Trials padded with p = 0 leave only round-off beyond n: drop it.
    masses = _clip_to_total(m[..., 0, : n + 1], jnp.ones(p.shape[:-1], p.dtype))
    return masses


# Eager laws of at most this many trials (all batch rows together) from NumPy
# probabilities are built on the host (`tree_host`): about 1 ms for 2,000
# trials and 10 ms for 10**4 (as fast as the jitted tree there, which
# compiles once per power of two, 0.1-0.5 s each); the jitted tree is
# faster beyond about 2 * 10**4 (2-core CPU).
HOST_MAX_TRIALS = 2**14

# Trials per leaf of the host tree, multiplied in directly (sums of
# non-negative terms); single laws of at most `_HOST_LOOP_TRIALS` trials are
# multiplied out one trial at a time (about 1.5 us each). Pairs of laws of
# at most `_HOST_DIRECT` points are convolved by direct sums, longer ones by
# FFTs.
_HOST_BLOCK = 16
_HOST_LOOP_TRIALS = 64
_HOST_DIRECT = 256


def tree_host(p: np.ndarray) -> np.ndarray:
    r"""Return the Poisson binomial masses of each row of `p`, on the host.

    `p` has shape ``(rows, n)`` (float64); the result ``(rows, n + 1)``. A
    single short row is multiplied out trial by trial (`numpy.convolve`
    with ``(1 - p_i, p_i)``). Otherwise the trials are padded with
    probability-0 ones into blocks of `_HOST_BLOCK`, each block's law found
    by the same recursion (vectorized over blocks), and the blocks' laws
    convolved in pairs, level by level: by direct sums while short, then by
    real FFTs with negative round-off clipped without changing the total
    (`_clip_to_total`), as the jitted tree does.
    """
    rows, n = p.shape
    if rows == 1 and n <= _HOST_LOOP_TRIALS:
        m = np.ones(1)
        for pi in p[0].tolist():
            m = np.convolve(m, (1.0 - pi, pi))
        return m[None]
    blocks = 1 << (-(-n // _HOST_BLOCK) - 1).bit_length()
    pp = np.zeros((rows, blocks * _HOST_BLOCK))
    pp[:, :n] = p
    pp = pp.reshape(rows * blocks, _HOST_BLOCK)
    qq = 1.0 - pp
    m = np.zeros((rows * blocks, _HOST_BLOCK + 1))
    m[:, 0] = 1.0
    for i in range(_HOST_BLOCK):
        pi, qi = pp[:, i : i + 1], qq[:, i : i + 1]
        m[:, 1 : i + 2] = m[:, 1 : i + 2] * qi + m[:, : i + 1] * pi
        m[:, :1] *= qi
    m = m.reshape(rows, blocks, _HOST_BLOCK + 1)
    while m.shape[1] > 1:
        a, b = m[:, 0::2], m[:, 1::2]
        if a.shape[-1] <= _HOST_DIRECT:
            m = _pairs_direct(a, b)
            continue
        size = 2 * a.shape[-1] - 1
        length = scipy.fft.next_fast_len(size, real=True)
        f = scipy.fft.rfft(a, length) * scipy.fft.rfft(b, length)
        y = scipy.fft.irfft(f, length)[..., :size]
        m = _clip_to_total(y, a.sum(-1) * b.sum(-1), xp=np)
    # Trials padded with p = 0 leave only round-off beyond n: drop it.
    return _clip_to_total(m[:, 0, : n + 1], np.ones(rows), xp=np)


def _pairs_direct(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Convolve rows of `a` with rows of `b` (last axis) by direct sums.

    Few pairs: one `numpy.convolve` per pair; many short ones: one
    vectorized multiply-add per point of the law.
    """
    length = a.shape[-1]
    lead = a.shape[:-1]
    a2, b2 = a.reshape(-1, length), b.reshape(-1, length)
    out = np.zeros((a2.shape[0], 2 * length - 1))
    if a2.shape[0] <= length:
        for r in range(a2.shape[0]):
            out[r] = np.convolve(a2[r], b2[r])
    else:
        for j in range(length):
            out[:, j : j + length] += a2[:, j : j + 1] * b2
    return out.reshape(lead + (2 * length - 1,))


def poisson_binomial(p: ArrayLike, *, accuracy: str = "absolute") -> Distribution:
    r"""Law of the number of successes in independent trials of probabilities `p`.

    The sum of independent Bernoulli variables with success probabilities
    :math:`p_1, \dots, p_n`, computed by a balanced tree of convolutions:
    the ``n`` two-point laws are convolved in pairs, the results in pairs
    again, and so on, each level one batched convolution of the engine
    (direct sums while the laws are short, FFTs after).
    ``O(n log^2 n)`` work in ``log2 n`` dependent steps, compiled once per
    power of two. An eager call with NumPy probabilities (up to
    `HOST_MAX_TRIALS` of them) on the CPU runs the same tree on the host
    instead (`tree_host`) and returns a law with NumPy leaves: nothing is
    compiled, whatever the number of trials.

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

    Trials split over devices: a `jax.Array` `p` whose last axis is split
    over devices by a `jax.sharding.NamedSharding` (eagerly, or under
    `jax.jit` on a mesh of `Explicit` axes, the default of `jax.make_mesh`)
    never comes together on one device. Each device builds the law of its
    own trials, and the devices' laws are convolved across the devices
    (``log2 P`` rounds of pairwise exchange for ``P`` a power of two, else
    a gather of the devices' short laws). Every law is cut to a window of
    ``2t + 2`` points around its mean, ``t = \lceil \sqrt{m L / 2} \rceil``
    for ``m`` trials and ``e^{-L}`` the dtype's smallest positive number:
    by Hoeffding's inequality the masses left out are below the dtype's
    range. So the law of ``n`` split trials lies on ``origin, ...,
    origin + W - 1`` with ``W`` about ``38.6 sqrt(n)`` points in float64
    (1.2 million for ``10**9`` trials), its masses the same on every
    device of the trial axis (split like `p` along batch axes), and what
    the windows cut off (zero, or FFT round-off) in `truncated`. Only
    ``accuracy='absolute'`` takes this path. See the sharding guide,
    "Distributions of sums".

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
    split = split_of(p) if isinstance(p, jax.Array) else None
    if split is not None and split.counts[-1] > 1:
        return poisson_binomial_split(p, split, _tree, accuracy)
    eager = _host_values(p)
    if eager is not None:
        return _poisson_binomial_eager(p, eager, accuracy)
    p_raw, p = p, as_param(p, "p", float_dtype(p=p))
    if p.ndim == 0 or p.shape[-1] == 0:
        raise ValueError(
            f"`p` must have at least one probability on its last axis; got shape "
            f"{p.shape}."
        )
    ok = jnp.all(check_range("p", p, low=0.0, high=1.0, raw=p_raw), -1)
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
    """Return the law of a concrete `p`.

    NumPy (or list) probabilities on the CPU, up to `HOST_MAX_TRIALS` of
    them, give a law built on the host (`tree_host`; NumPy leaves, see
    `_host`): nothing compiled, nothing copied. Otherwise the jitted tree,
    which pads the trials with probability-0 ones to a power of two in any
    case; doing it on the host first means that every number of trials
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
    host = host_values(p_raw) is not None
    v64 = values.astype(np.float64)
    if not (np.isfinite(v64) & (v64 >= 0) & (v64 <= 1)).all():
        check_range("p", v64, low=0.0, high=1.0)  # raises the package's message
    n = values.shape[-1]
    if host and values.size <= HOST_MAX_TRIALS and accuracy == "absolute":
        batch = values.shape[:-1]
        masses = tree_host(v64.reshape(-1, n)).reshape(batch + (n + 1,))
        zero = leaf(0.0, dtype, batch)
        return Lattice(leaf(masses, dtype, owned=True), zero, zero, 1.0)
    width = 1 << (n - 1).bit_length()
    padded = np.zeros(values.shape[:-1] + (width,), dtype)
    padded[..., :n] = values
    masses = np.asarray(_tree(padded, accuracy))[..., : n + 1]
    return make(masses, 0.0, 0.0, 1.0, "lattice")
