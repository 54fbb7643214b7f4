r"""Sums of continuous (density-kind) laws with a fourth-order correction.

The cell masses :math:`m` of a density are modelled (see `Continuous`) as
:math:`m = \beta \ast c + d + a`: the box :math:`\beta` of one cell applied
to the point values :math:`c` of the continuous part, plus the aliasing
:math:`d` of its jumps and kinks, plus its atoms :math:`a`. Convolving cell
masses directly convolves one box per summand, where the sum's cell masses
carry one box in all: an excess variance of :math:`h^2/12` per extra
summand, and an :math:`O(h^2)` error. Here the point weights
:math:`w = \beta^{-1} \ast (m - a - d) + a` are convolved instead, and the
box put back once:

.. math:: m_S = \beta \ast (w_X \ast w_Y - a_S) + a_S + d_S,
          \quad a_S = a_X \ast a_Y, \quad d_S = a_X \ast d_Y + d_X \ast a_Y,

with :math:`\beta \approx (1, 22, 1)/24` and
:math:`\beta^{-1} \approx (-1, 26, -1)/24` (their transforms match
:math:`\mathrm{sinc}(\omega h/2)^{\pm 1}` to :math:`O(h^4)`). Where the
sum's density is smooth the error is then :math:`O(h^4)`; near a kink of
the result (e.g. the origin of a sum of two exponentials) it stays
:math:`O(h^2)`. A lattice summand is all atoms, and its sum with a density
is exact (plain convolution).
"""

from __future__ import annotations

import functools

import jax.numpy as jnp

from .._checks import check_int
from ..conv import convolve
from ..conv.internal import bounded_jit, fft_nd, ifft_nd, spectral_length
from ._base import Distribution, check_dist
from ._continuous import Continuous, make_continuous, parts
from ._grid import make
from ._lattice_ops import (
    _clip_to_total,
    _common_step,
    _convolve_masses,
    _lost,
    _ratio,
    _refine,
    add_lattice,
)
from ._lattice_ops import scale as _scale
from ._lattice_ops import shift as _shift
from ._params import check_accuracy
from ._regrid import regrid


def _pad1(x):
    return jnp.pad(x, [(0, 0)] * (x.ndim - 1) + [(1, 1)])


def _fir3(x, side, mid):
    """``mid * x_k + side * (x_{k-1} + x_{k+1})`` (zeros beyond the ends)."""
    p = _pad1(x)
    return mid * x + side * (p[..., :-2] + p[..., 2:])


def box(x):
    r"""Apply the box of one cell, :math:`(1, 22, 1)/24`."""
    return _fir3(x, 1.0 / 24, 22.0 / 24)


def unbox(x):
    r"""Apply the inverse box of one cell, :math:`(-1, 26, -1)/24`."""
    return _fir3(x, -1.0 / 24, 26.0 / 24)


def point_weights(d: Distribution):
    """Return ``(w, a, j)`` on `d`'s grid padded by one cell at each end."""
    m = _pad1(d.masses)
    a, j = parts(d)
    a = None if a is None else _pad1(a.astype(m.dtype))
    j = None if j is None else _pad1(j.astype(m.dtype))
    c = m
    if a is not None:
        c = c - a
    if j is not None:
        c = c - j
    w = unbox(c)
    if a is not None:
        w = w + a
    return w, a, j


def _conv(p, q):
    """Full convolution of the last axes (leading axes broadcast), signed."""
    nd = max(p.ndim, q.ndim)
    p = p.reshape((1,) * (nd - p.ndim) + p.shape)
    q = q.reshape((1,) * (nd - q.ndim) + q.shape)
    return convolve(p, q, mode="full", axes=-1)


def _to_density_step(d: Distribution, h: float) -> Distribution:
    """Bring `d` to step `h` (an integer divisor of its step)."""
    if _ratio(d.step, h) == 1:
        return d
    if d.kind == "lattice":
        return _refine(d, h)
    r = _ratio(d.step, h)  # sub-cells nest in the old cells: old edges stay
    return regrid(d, h, origin=d.origin - (r - 1) * h / 2, size=d.size * r)


def add_density(x: Distribution, y: Distribution, *, accuracy: str = "absolute"):
    r"""Law of ``X + Y`` when either is a density (fourth-order correction).

    See the module notes. Lattice + density is a plain (exact) convolution
    that carries the density's jumps and atoms along; density + density
    convolves point weights and puts one box back. Steps must nest (the
    coarser density is regridded by `regrid`).
    """
    check_accuracy(accuracy)
    x, y = check_dist(x, "x"), check_dist(y, "y")
    if x.kind == "lattice" and y.kind == "lattice":
        return add_lattice(x, y, accuracy=accuracy)
    h = _common_step([x, y])
    x, y = _to_density_step(x, h), _to_density_step(y, h)
    if x.kind == "density" and y.kind == "density":
        return _add_densities(x, y)
    dt = jnp.result_type(x.dtype, y.dtype)
    trunc = _lost(x.truncated, x.total, y.truncated, y.total)
    ox, oy = jnp.broadcast_arrays(x.origin.astype(dt), y.origin.astype(dt))
    lat, den = (x, y) if x.kind == "lattice" else (y, x)
    p = lat.masses.astype(dt)
    masses = _convolve_masses(p, den.masses.astype(dt))
    a, j = parts(den)
    atoms = None if a is None else _conv(p, a.astype(dt))
    jumps = None if j is None else _conv(p, j.astype(dt))
    batch = masses.shape[:-1]
    return make_continuous(
        masses,
        jnp.broadcast_to(ox + oy, batch),
        jnp.broadcast_to(trunc, batch),
        h,
        atoms,
        jumps,
    )


@bounded_jit
def _add_densities(x: Distribution, y: Distribution) -> Continuous:
    """Density + density on one step (see `add_density`), as one program."""
    dt = jnp.result_type(x.dtype, y.dtype)
    h = x.step
    trunc = _lost(x.truncated, x.total, y.truncated, y.total)
    total = x.total * y.total
    ox, oy = jnp.broadcast_arrays(x.origin.astype(dt), y.origin.astype(dt))
    wx, ax, jx = point_weights(x)
    wy, ay, jy = point_weights(y)
    ws = _conv(wx.astype(dt), wy.astype(dt))
    atoms = None if ax is None or ay is None else _conv(ax, ay)
    jumps = None
    for a, j in ((ax, jy), (ay, jx)):
        if a is not None and j is not None:
            t = _conv(a, j)
            jumps = t if jumps is None else jumps + t
    cont = ws if atoms is None else ws - atoms
    m = box(cont)
    if atoms is not None:
        m = m + atoms
    if jumps is not None:
        m = m + jumps
    # Full grid from ox + oy - 2h; keep one cell of margin at each end.
    n = x.size + y.size + 1
    sl = slice(1, 1 + n)
    m = _clip_to_total(m[..., sl], total)
    batch = m.shape[:-1]
    crop = None if atoms is None else atoms[..., sl]
    cropj = None if jumps is None else jumps[..., sl]
    return make_continuous(
        m,
        jnp.broadcast_to(ox + oy - h, batch),
        jnp.broadcast_to(trunc, batch),
        h,
        crop,
        cropj,
    )


def iid_sum_density(x: Distribution, n: int, *, accuracy: str = "absolute"):
    r"""Law of :math:`X_1 + \dots + X_n` for a density `x` (fourth order).

    One real FFT of the point weights, the `n`-th power, one inverse FFT,
    and one box put back; atoms and jumps follow
    :math:`a_S = a^{\ast n}`, :math:`d_S = n\, a^{\ast(n-1)} \ast d`.
    """
    check_accuracy(accuracy)
    x = check_dist(x, "x")
    n = check_int("n", n)
    if n == 0:
        ones = jnp.ones(x.batch_shape + (1,), x.dtype)
        return make(ones, 0.0, 0.0, x.step, "lattice")
    if n == 1:
        return x
    return _iid_density(x, n)


@functools.partial(bounded_jit, static_argnums=(1,))
def _iid_density(x: Distribution, n: int) -> Continuous:
    """Run the transforms of `iid_sum_density` as one program (`n` >= 2).

    Eagerly its fifty-odd operations compile one program each for every new
    grid length; as one program, once.
    """
    w, a, j = point_weights(x)
    size = n * (w.shape[-1] - 1) + 1
    length = spectral_length(size)

    def fwd(v):
        return fft_nd(v, (length,), (-1,), True, ordered=False)

    def inv(v):
        y = ifft_nd(v, (length,), (-1,), True, ordered=False)
        return y[..., :size].astype(x.dtype)

    fw = fwd(w) ** n
    if a is None:
        ws = inv(fw)
        m = box(ws)
        atoms = jumps = None
    else:
        fa = fwd(a)
        fan = fa**n
        atoms = inv(fan)
        jumps = None if j is None else inv(n * fa ** (n - 1) * fwd(j))
        m = box(inv(fw - fan)) + atoms
        if jumps is not None:
            m = m + jumps
    # Full grid from n (o - h); keep one cell of margin: from n o - h.
    keep = n * (x.size - 1) + 3
    sl = slice(n - 1, n - 1 + keep)
    tot = x.total
    m = _clip_to_total(m[..., sl], tot**n)
    whole = tot + x.truncated
    frac = x.truncated / jnp.where(whole > 0, whole, 1.0)
    trunc = whole**n * -jnp.expm1(n * jnp.log1p(-frac))
    return make_continuous(
        m,
        n * x.origin - x.step,
        trunc,
        x.step,
        None if atoms is None else atoms[..., sl],
        None if jumps is None else jumps[..., sl],
    )


def negate_continuous(x: Continuous) -> Continuous:
    """Law of ``-X``, keeping a `Continuous`'s atoms and jumps."""
    last = x.origin + x.step * (x.size - 1)

    def flip(v):
        return None if v is None else jnp.flip(v, -1)

    return make_continuous(
        jnp.flip(x.masses, -1), -last, x.truncated, x.step, flip(x.atoms), flip(x.jumps)
    )


def shift_continuous(x: Continuous, c) -> Continuous:
    """Law of ``X + c``, keeping a `Continuous`'s atoms and jumps."""
    d = _shift(x, c)
    shape = d.masses.shape

    def bc(v):
        return None if v is None else jnp.broadcast_to(v, shape)

    return make_continuous(
        d.masses, d.origin, d.truncated, d.step, bc(x.atoms), bc(x.jumps)
    )


def scale_continuous(x: Continuous, c) -> Distribution:
    """Law of ``c X`` (Python number `c`), keeping atoms and jumps."""
    d = _scale(x, c)
    if d.kind != "density":  # c == 0: a point mass
        return d
    src = negate_continuous(x) if float(c) < 0 else x
    return make_continuous(
        d.masses, d.origin, d.truncated, d.step, src.atoms, src.jumps
    )
