r"""Poisson binomial laws of trials split over devices: windowed trees.

When the trial axis of `p` is split over devices, each device builds the law
of its own trials with the one-device tree, and the devices' laws are then
convolved across the devices in ``log2(P)`` rounds of pairwise exchange
(recursive doubling: in round ``r`` device ``i`` swaps its group's law with
device ``i XOR 2**r`` and both convolve the two, lower group first, so
that every device computes the same numbers); for a number of devices that
is not a power of two the devices' laws are gathered and convolved on every
device instead.

No device holds the law of all ``n`` trials on ``0, ..., n``. Every law,
the devices' own and each round's, is cut to a window around its mean
whose size depends on its number of trials ``m`` only (static) and whose
place depends on the mean (a traced value, the law's origin). By
Hoeffding's inequality,

.. math:: P(|S - \mu| \ge t) \le 2 e^{-2 t^2 / m},

so a window of ``2t + 2`` points, ``t = \lceil \sqrt{m L / 2} \rceil`` with
``e^{-L}`` the smallest positive (subnormal) number of the dtype
(``L = 744.4`` in float64), leaves out masses that are each below the
dtype's range, and changes every mass it keeps by less than that. The law
of ``10**9`` trials keeps ``1.2 * 10**6`` points instead of ``10**9 + 1``;
2**16 trials keep 9,882 points. What the windows cut off (zero, or the
round-off noise of FFT convolutions there) is recorded as the truncated
mass.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.sharding import PartitionSpec as P

from .._checks import check_range
from ..conv import choose_method, convolve
from ..conv.internal import Split, bounded_jit
from ._grid import make
from ._lattice_ops import _convolve_masses


def window_size(trials: int, dtype) -> int:
    """Return the points of the windowed law of `trials` Bernoulli trials.

    ``2t + 2`` with ``t = ceil(sqrt(trials * L / 2))`` and ``e^{-L}`` the
    smallest positive number of `dtype`, at most ``trials + 1`` (the whole
    support).

    Examples
    --------
    >>> import numpy as np
    >>> window_size(2**16, np.float64), window_size(10, np.float64)
    (9882, 11)
    """
    tiny = float(np.finfo(dtype).smallest_subnormal)
    t = math.ceil(math.sqrt(trials * -math.log(tiny) / 2))
    return min(2 * t + 2, trials + 1)


def _window(masses, start, mean, trials: int, last: int | None = None):
    """Cut `masses` (grid ``start, start + 1, ...``) to the window of `mean`.

    Returns the window's masses, its first point and the mass cut off. The
    window is placed at ``floor(mean) - t``, moved inside the masses' own
    range (and below `last`, the largest possible value) where that would
    leave it.
    """
    length = masses.shape[-1]
    w = min(window_size(trials, masses.dtype), length)
    zero = jnp.zeros(masses.shape[:-1], masses.dtype)
    if w == length and last is None:
        return masses, start, zero
    t = (w - 2) // 2
    first = jnp.floor(lax.stop_gradient(mean)).astype(start.dtype) - t
    high = start + length - w
    if last is not None:
        high = jnp.minimum(high, last + 1 - w)
    first = jnp.clip(first, start, high)
    offset = (first - start)[..., None]
    index = offset + jnp.arange(w, dtype=start.dtype)
    kept = jnp.take_along_axis(masses, index, axis=-1)
    k = jnp.arange(length, dtype=start.dtype)
    outside = (k < offset) | (k >= offset + w)
    cut = jnp.sum(jnp.where(outside, lax.stop_gradient(masses), 0), -1)
    return kept, first, cut


def _pair(a, b, accuracy: str):
    """Convolve masses `a` and `b` as the one-device tree does."""
    if choose_method(a, b, axes=-1) == "direct":
        return convolve(a, b, axes=-1)  # non-negative sums: nothing to clip
    return _convolve_masses(a, b, accuracy=accuracy)


def _merge(a, b, trials: int, accuracy: str, last: int | None = None):
    """Convolve two windowed laws ``(masses, start, mean, cut)``; window it."""
    masses = _pair(a[0], b[0], accuracy)
    start, mean = a[1] + b[1], a[2] + b[2]
    masses, start, cut = _window(masses, start, mean, trials, last)
    return masses, start, mean, a[3] + b[3] + cut


def _merge_stacked(laws, trials: int, accuracy: str, last: int | None):
    """Convolve windowed laws stacked along axis 0 (of `trials` trials each)."""
    group = 1
    while laws[0].shape[0] > 1:
        k = laws[0].shape[0]
        lo = tuple(x[0 : k - 1 : 2] for x in laws)
        hi = tuple(x[1:k:2] for x in laws)
        group *= 2
        merged = _merge(lo, hi, trials * group, accuracy, last if k == 2 else None)
        if k % 2:  # the odd one out joins the next round, padded to the
            # merged length with zero masses
            odd = [x[k - 1 :] for x in laws]
            pad = merged[0].shape[-1] - odd[0].shape[-1]
            odd[0] = jnp.pad(odd[0], [(0, 0)] * (odd[0].ndim - 1) + [(0, pad)])
            merged = tuple(jnp.concatenate([x, y]) for x, y in zip(merged, odd))
        laws = merged
    return tuple(x[0] for x in laws)


# A device's trials are cut into this many pieces, whose laws are built one
# after another (`lax.map`) and windowed before they are combined: the
# one-device tree's scratch is about eight times its trials' bytes, so the
# pieces' stays near the device's own share of `p`.
_PIECES = 8
_PIECE_MIN = 2048


def local_law(p, tree, accuracy: str = "absolute"):
    """Return the windowed law of the trials along the last axis of `p`.

    `tree(p, accuracy)` gives the full masses of a block of trials (the
    one-device product tree). Blocks of at least ``_PIECES * _PIECE_MIN``
    trials are cut into `_PIECES` pieces built one after another. Returns
    ``(masses, start, mean, cut)``: masses on ``start, start + 1, ...``,
    the trials' mean, and the mass cut off by the windows.
    """
    m = p.shape[-1]
    # (the default integer: int64 under x64, for more than 2**31 trials)
    zero = jnp.zeros(p.shape[:-1], int)

    def one(q):
        mean = jnp.sum(q, -1)
        masses, start, cut = _window(tree(q, accuracy), zero, mean, q.shape[-1])
        return masses, start, mean, cut

    if m % _PIECES or m < _PIECES * _PIECE_MIN:
        return one(p)
    piece = m // _PIECES
    pieces = jnp.moveaxis(p.reshape(p.shape[:-1] + (_PIECES, piece)), -2, 0)
    return _merge_stacked(lax.map(one, pieces), piece, accuracy, m)


def _body(p, *, names, shards: int, trials: int, tree, accuracy: str):
    """One device's part: its trials' law, then the rounds across devices."""
    m = p.shape[-1]
    inside = jnp.isfinite(p) & (p >= 0) & (p <= 1)
    bad = lax.psum(jnp.sum(~inside, -1), names)
    law = local_law(p, tree, accuracy)
    if shards & (shards - 1) == 0:  # recursive doubling
        me = lax.axis_index(names)
        r = 1
        while r < shards:
            perm = [(i, i ^ r) for i in range(shards)]
            other = tuple(lax.ppermute(x, names, perm) for x in law)
            upper = (me & r) != 0  # this device holds the upper group
            lo = tuple(jnp.where(upper, o, x) for x, o in zip(law, other))
            hi = tuple(jnp.where(upper, x, o) for x, o in zip(law, other))
            r *= 2
            law = _merge(lo, hi, m * r, accuracy, trials if r == shards else None)
    else:  # gather the devices' short laws; the same tree on every device
        laws = tuple(lax.all_gather(x, names, axis=0) for x in law)
        law = _merge_stacked(laws, m, accuracy, trials)
    masses, start, _, cut = law
    masses = jnp.where((bad > 0)[..., None], jnp.nan, masses)
    return masses, start, cut


def poisson_binomial_split(p: jax.Array, split: Split, tree, accuracy: str):
    """Return the windowed law of `p`, whose last (trial) axis is split.

    `tree(p, accuracy)` gives the masses of the trials along the last axis
    of a block (the one-device tree). The result's masses are replicated
    along the trial axis' mesh axes and split like `p` along its batch axes.
    """
    names = split.names(p.ndim - 1)
    shards = split.counts[-1]
    if not isinstance(p, jax.core.Tracer):
        inside = jnp.isfinite(p) & (p >= 0) & (p <= 1)
        if not bool(jnp.all(inside)):  # one scalar comes back, not `p`
            value = jnp.max(jnp.where(inside, -jnp.inf, p))  # NaN if any is
            check_range("p", np.asarray(value), low=0.0, high=1.0)
    masses, start, truncated = _program(
        p, split.mesh, tuple(split.spec), shards, names, p.shape[-1], tree, accuracy
    )
    return make(masses, start.astype(masses.dtype), truncated, 1.0, "lattice")


@functools.partial(bounded_jit, static_argnums=(1, 2, 3, 4, 5, 6, 7))
def _program(p, mesh, spec, shards, names, trials, tree, accuracy):
    """Run `_body` in a `shard_map` (one program per mesh, layout, accuracy)."""
    ospec, bspec = P(*spec[:-1], None), P(*spec[:-1])
    body = functools.partial(
        _body,
        names=names,
        shards=shards,
        trials=trials,
        tree=tree,
        accuracy=accuracy,
    )
    # Every device ends with the same law (each pair convolves in the same
    # order), which the type system cannot see through `ppermute`.
    mapped = jax.shard_map(
        body,
        mesh=mesh,
        in_specs=P(*spec),
        out_specs=(ospec, bspec, bspec),
        check_vma=False,
    )
    return mapped(p)
