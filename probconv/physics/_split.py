"""Diffusion along axes split over devices: by halo, or by the distributed transform.

A field split over devices along a diffused axis (a `jax.sharding.NamedSharding`
seen by the engine's `split_axes`) cannot take the FFT route of `diffuse`'s
periodic, reflecting and absorbing boundaries, nor the free boundary's kernel
as wide as the axis, without bringing the whole axis to every device. The heat
kernel decays like a Gaussian, though: past a radius `tail_radius` its mass is
below 1e-20, so along a split axis `diffuse` convolves with the kernel on the
offsets ``|m| <= R`` only, each shard extended by the ``R`` samples its
neighbours hold (`conv.internal.halo_map`) and, at the ends of the field, by
the boundary's images:

- ``'free'``: zeros (the window sees nothing beyond the grid);
- ``'periodic'``: the other end of the field (``'wrap'``);
- ``'reflect'``: the mirror image about the outer cell face (``'reflect'``);
- ``'absorb'``: the same image with its sign flipped (the odd extension).

This is the method of images of the unsplit `diffuse` with the images
summed in space instead of in the kernel's transform; the two agree to the
dropped tail, ``4e-20 * max|u|``. The halo keeps the engine's memory rule
for halos: at most a shard from each side (two in all), and never the whole
axis on one device (`halo_radius`); each extended block is convolved in
pieces where the cost model would use a transform (`_valid_pieces`), whose
buffers for a whole block come to the field's size on four devices. Past
it, a periodic axis goes by the engine's distributed transform of exactly
one period (`spectral_layout`, `diffuse_spectral`): the unsplit program's
product of the field's spectrum with the kernel's transform, class by
class, so that no device holds the axis and any width (a traced `D` or `t`
too) is exact; a free axis whose radius ``R`` is at most the axis goes the
same way with a period of ``n + R`` or more (zeros past the field), its
images beyond the window below 1e-20. A reflecting or absorbing axis goes
by the transform of one period too (`diffuse_mirror`: the even or odd
extension's product, by ``n`` points in Makhoul's order, `mirror_permute`)
past the rule, wherever its halo's block would be convolved by one FFT, and
with its radius unknown (a traced `D`, `t` or `step`). A free axis past
that (a kernel wider than the axis, or a traced parameter; Gaussian,
drifting or not, or lattice) goes by the same layout: the mean of the even
and odd extensions' transforms with the cut kernel's transform in place of
the kernel's, and their sine parts too where a drift makes the kernel
asymmetric (`diffuse_window`), the cut kernel's transform computed on each
device (folded from the Gaussian's values, `_window_multiplier`; the lattice
kernel's from its transform by a quadrature, `_cut_multiplier`). Shards
that no multiple of the device count divides have none of the engine's
layouts: their transforms go on the cyclic layout (`_cyclic`,
`transform_block`), Makhoul's order of odd blocks by `_mirror_permute_odd`
(on an even or an odd device count: an odd number of cells in all too),
free space by the window (the Gaussian's cut transform by the quadrature,
of the shifted kernel with a drift). The window's phase indices (``r m``
up to ``2 n^2``) are reduced modulo ``2 n`` exactly in 32 bits too
(`mulmod`). Elsewhere (shards of unequal lengths; without 64-bit integers,
a free axis of ``4 n >= 2^31`` cells) the axis is gathered instead
(`gather`): the ordinary program runs on it, and the result is split again
like the input. The axes a split field holds whole are diffused on each
device's block, a few pieces of it at a time (`per_block`), and a field on
a mesh of `Auto` axes is seen through the same devices marked `Explicit`
(`explicit`).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.sharding import AxisType, Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from probconv.conv import choose_method, convolve
from probconv.conv.internal import (
    SplitLayout,
    halo_map,
    spectral_block,
    split_layout,
)

from . import _lattice
from ._cyclic import CyclicLayout, cyclic_block, cyclic_layout

# The routes of an axis past the halo's rule (`radii`): (TRANSFORM, period),
# or (WINDOW, n): free space with the kernel cut to the window
# (`diffuse_window`), (WINDOW, n, nodes) with a known `s` whose quadrature
# takes fewer nodes (`cut_nodes`).
TRANSFORM = "transform"
WINDOW = "window"
# The boundaries whose images are the axis's mirror (`diffuse_mirror`).
MIRRORS = ("reflect", "absorb")
# -ln(1e-20): the kernel's mass beyond the radius, per side, is below e^-_TAIL.
_TAIL = 46.0
# Radii are rounded up to 8 * 2^k or 12 * 2^k cells, so that an eager loop
# over many times compiles a few programs (the extra taps are exact values).
_BUCKET_MIN = 8

HALO_BOUNDARY = {
    "free": "constant",
    "periodic": "wrap",
    "reflect": "reflect",
    "absorb": "reflect",
}


def tail_radius(s: float, shift: float, kind: str) -> int:
    r"""Return a radius in cells past which the heat kernel's mass is below 1e-20.

    For variance `s` (cells squared), centre shifted by `shift` cells, per
    side: the sampled Gaussian (normalized over the integers) is
    sub-Gaussian, its tail beyond ``m`` below :math:`2 e^{-m^2 / 2 s}`; the
    lattice kernel :math:`e^{-s} I_m(s)`, the law of a walk whose moment
    generating function is :math:`e^{s (\cosh\theta - 1)}`, has Chernoff's
    bound :math:`\exp(s (\sqrt{1 + (m/s)^2} - 1) - m\,\mathrm{asinh}(m/s))`.
    The smallest ``m`` whose bound is below :math:`e^{-46}/2`, plus
    ``|shift| + 1``, rounded up to a bucket.
    """
    s = max(float(s), 0.0)
    goal = _TAIL + math.log(4.0)
    if kind == "lattice" and s > 0:
        lo, hi = 0.0, goal / 3 + math.sqrt((goal / 3) ** 2 + 2 * goal * s)

        def log_bound(m):
            q = m / s
            return s * (math.sqrt(1.0 + q * q) - 1.0) - m * math.asinh(q)

        for _ in range(60):  # bisection; `hi` is Bernstein's (looser) radius
            mid = 0.5 * (lo + hi)
            lo, hi = (lo, mid) if log_bound(mid) <= -goal else (mid, hi)
        m = hi
    else:
        m = math.sqrt(2.0 * s * goal)
    return _bucket(math.ceil(m + abs(float(shift))) + 1)


def _bucket(r: int) -> int:
    size = _BUCKET_MIN
    while True:
        for b in (size, 3 * size // 2):
            if b >= r:
                return b
        size *= 2


def halo_radius(radius: int | None, boundary: str, n: int, shards: int) -> int | None:
    """Return the halo of a split axis of `n` cells over `shards` (None: no halo).

    The engine's memory rule for halos (`probconv.conv`'s route): each side
    at most one shard (``R <= n/p``: two shards received in all) and the
    extended shard less than the whole axis (``n/p + 2 R < n``); a free axis
    never needs more than ``n - 1``. None for an unknown radius.
    """
    if radius is None:
        return None
    size = n // shards
    if boundary == "free":
        radius = min(radius, n - 1)
    if radius > size or size + 2 * radius >= n:
        return None
    if boundary in ("reflect", "absorb") and radius >= size:
        return None  # the images would reach into the neighbour's samples
    return radius


def _smooth_length(m: int) -> bool:
    for f in (2, 3, 5, 7):
        while m % f == 0:
            m //= f
    return m == 1


def spectral_layout(n: int, shards: int, real: bool, period: int):
    """Return the distributed transform's layout of `period` points, or None.

    ``M = period`` exactly (``n`` for a periodic axis: a circular
    convolution of period ``n`` is the product of the transforms of that
    length), else ``M >= period``: ``cols`` columns, a multiple of the
    shards dividing a shard, and ``rows`` a multiple of the shards (so that
    the spectrum goes class by class) and even. For ``M = period``: rows
    ``period / cols`` with small prime factors first, then columns nearest
    ``sqrt(M)``; for ``M >= period`` the engine's layout
    (`probconv.conv.internal.split_layout`). Where none fits (a shard with
    no divisor that is a multiple of the shards, or odd rows only), the
    cyclic layout of ``M = n`` (`_cyclic.cyclic_layout`: `transform_block`
    takes either); None for a longer `period` there, or unequal shards.
    """
    size = n // shards
    if size * shards != n:
        return None
    if period != n:
        lay = split_layout(shards, size, size, 1, real, period)
        if lay is None or lay.rows % shards:
            return cyclic_layout(n, shards, real, period)
        return lay
    cands = [
        c
        for c in range(shards, size + 1, shards)
        if size % c == 0 and (n // c) % 2 == 0
    ]
    if not cands:
        return cyclic_layout(n, shards, real, period)
    cols = min(
        cands,
        key=lambda c: (not _smooth_length(n // c), abs(math.log(c / math.sqrt(n)))),
    )
    return SplitLayout(shards, size, size, 1, n // cols, cols, real)


def cyclic(lay) -> bool:
    """Whether `lay` is the cyclic layout (`_cyclic`), not the engine's."""
    return isinstance(lay, CyclicLayout)


def transform_block(x, lay, names, fn, out_dtype):
    """Return this device's block of ``ifft(fn(fft(x)))`` on the layout `lay`.

    The engine's `spectral_block` on its layout (`SplitLayout`), the
    cyclic layout's `cyclic_block` on a `CyclicLayout` (shards that no
    multiple of the device count divides): the same contract.
    """
    if cyclic(lay):
        return cyclic_block(x, lay, names, fn, out_dtype)
    return spectral_block(x, lay, names, fn, out_dtype)


def alternate(x, names, flip=True):
    """Return `x` times ``(-1)^j`` at its cells ``j`` of the field (last axis).

    Inside `jax.shard_map`, `x` the block of the device of index ``q``
    along the mesh axes `names`: cells ``j = q b + i``, so ``(-1)^i`` (a
    constant) times ``(-1)^{q b}`` (a scalar, 1 for an even ``b``). `flip`
    (a boolean scalar, traced or not): `x` itself where it is False.
    """
    b = x.shape[-1]
    local = np.where(np.arange(b) % 2, -1.0, 1.0).astype(jnp.finfo(x.dtype).dtype)
    scale = 1 - 2 * (lax.axis_index(names) % 2) if b % 2 else 1
    # One scalar, 0 where not flipped: no array of signs is held (or hoisted
    # out of a loop of passes that flip some of them).
    scale = jnp.where(flip, scale, 0).astype(local.dtype)
    return x * (local * scale + (1 - jnp.abs(scale)))


def mirror_permute(x, names, shards: int, inverse: bool = False):
    """Return this device's block of the axis in Makhoul's order, or back.

    Inside `jax.shard_map`, `x` this device's block (index ``d`` of ``p =
    shards``, ``b`` cells, last axis; ``b`` even, or odd with any ``p``)
    of an axis of ``n = p b`` cells. The order ``v[k] = u[2 k]``,
    ``v[n - 1 - k] = u[2 k + 1]`` (``k < n / 2``) turns the field's
    mirror extension of ``2 n`` points into ``n`` (`diffuse_mirror`):
    block ``d``'s even cells go to half ``d mod 2`` of device ``d // 2``,
    its odd cells reversed to the other half of device ``p - 1 - d //
    2``. Two collective permutes of half a block each: in the first, even
    devices send their even cells and odd ones their odd cells, in the
    second the others; halves that arrive from the mirrored side are
    reversed. `inverse` undoes it. Blocks of an odd number of cells go by
    `_mirror_permute_odd`.
    """
    p = shards
    if x.shape[-1] % 2:
        return _mirror_permute_odd(x, names, p, inverse)
    half = x.shape[-1] // 2
    d = lax.axis_index(names)
    even = d % 2 == 0
    perms = []
    for second in (0, 1):
        src = []
        for q in range(p):
            j = 2 * q + second
            src.append(j if j < p else 2 * (p - 1 - q) + 1 - second)
        perms.append([(src[q], q) for q in range(p)])

    def turned(a, second):  # reversed where it holds the mirrored side
        return jnp.where(2 * d + second >= p, jnp.flip(a, -1), a)

    if not inverse:
        ev, od = x[..., 0::2], x[..., 1::2]
        got = [
            turned(lax.ppermute(jnp.where(even, ev, od), names, perms[0]), 0),
            turned(lax.ppermute(jnp.where(even, od, ev), names, perms[1]), 1),
        ]
        return jnp.concatenate(got, axis=-1)
    back = [
        lax.ppermute(turned(x[..., :half], 0), names, [(b, a) for a, b in perms[0]]),
        lax.ppermute(turned(x[..., half:], 1), names, [(b, a) for a, b in perms[1]]),
    ]
    ev = jnp.where(even, back[0], back[1])
    od = jnp.where(even, back[1], back[0])
    return jnp.stack([ev, od], axis=-1).reshape(x.shape)


def _mirror_permute_odd(x, names, shards: int, inverse: bool):
    """`mirror_permute` for blocks of an odd ``b`` cells (any `shards`).

    Cell ``i`` of block ``q`` is cell ``j = q b + i`` of the field, even
    where ``i`` and ``q`` are alike. Block ``q``'s ``(b + 1) / 2`` cells of
    even ``i`` form the first part of a block of the order, its ``(b - 1)
    / 2`` cells of odd ``i`` the rest of another: of block ``q // 2`` (the
    field's even cells, in order) or of block ``p - 1 - q // 2`` (its odd
    cells, reversed). One collective permute of each part. The odd cells
    fill the first parts of devices ``2 d > p`` and the rests of devices
    ``2 d + 1 >= p``: on an odd ``p`` (an odd ``n``, whose order holds
    ``(n + 1) / 2`` even cells) the middle device's rest is the last
    block's odd cells, reversed. Makhoul's relations between the order's
    transform and the cosine series hold for an odd ``n`` as for an even
    one.
    """
    p, b = shards, x.shape[-1]
    d = lax.axis_index(names)
    # Where each block's even-i part (to_a) and odd-i part (to_b) go.
    to_a = [q // 2 if q % 2 == 0 else p - 1 - q // 2 for q in range(p)]
    to_b = [p - 1 - q // 2 if q % 2 == 0 else q // 2 for q in range(p)]

    def turned(a, rest):  # reversed in the blocks of the odd cells
        # (the first parts from device p - 1 - d // 2 up; the rests from
        # device (p - 1) // 2 up: the middle device's rest, for an odd p, is
        # the last block's odd cells)
        return jnp.where(2 * d + rest >= p, jnp.flip(a, -1), a)

    if not inverse:
        first = lax.ppermute(x[..., 0::2], names, list(enumerate(to_a)))
        rest = lax.ppermute(x[..., 1::2], names, list(enumerate(to_b)))
        return jnp.concatenate([turned(first, 0), turned(rest, 1)], axis=-1)
    head = (b + 1) // 2
    back_a = [(t, q) for q, t in enumerate(to_a)]
    back_b = [(t, q) for q, t in enumerate(to_b)]
    even = lax.ppermute(turned(x[..., :head], 0), names, back_a)
    odd = lax.ppermute(turned(x[..., head:], 1), names, back_b)
    odd = jnp.pad(odd, [(0, 0)] * (x.ndim - 1) + [(0, 1)])
    return jnp.stack([even, odd], axis=-1).reshape(x.shape[:-1] + (b + 1,))[..., :b]


def mirror_layout(n: int, shards: int, real: bool):
    """Return the layout of `diffuse_mirror` on a split axis of `n`, or None.

    One period's (`spectral_layout` of ``n`` points: the engine's, or the
    cyclic one where the shards have none, as for any odd ``n``), for
    shards of equal lengths (`mirror_permute`: of an even number of cells,
    or of an odd number on any number of devices); else None.
    """
    if n % shards:
        return None
    return spectral_layout(n, shards, real, n)


def diffuse_mirror(u, axis: int, lay, s, kind: str, boundary: str):
    r"""Diffuse `u` along its split `axis` between reflecting or absorbing walls.

    The unsplit program (`_diffuse._spectral`) multiplies the transform of
    the even (``'reflect'``) or odd (``'absorb'``) extension of the axis to
    ``2 n`` points by the kernel's, :math:`\hat K(\pi k / n)`. Here the
    same product goes by ``n`` points (Makhoul's fast cosine transform):
    with ``v`` the field in `mirror_permute`'s order and ``V`` its DFT, the
    cosine coefficients are ``Re Z[k]``, ``-Im Z[k]`` those of ``n - k``,
    with ``Z[k] = e^{-i pi k / 2 n} V[k]``, so the product is, entry by
    entry, ``W[k] = e^{i pi k / 2 n} (h(k) Re Z[k] + i h(n - k) Im Z[k])``,
    ``h(k) = \hat K(\pi k / n)``; its inverse is the result in the same
    order. The odd extension of ``u`` is ``(-1)^m`` times the even one of
    ``(-1)^m u``, its kernel's transform :math:`\hat K(\theta + \pi)`.
    By the engine's distributed transform of one period, class by class
    (all the images: any width and a traced `s` exact); no device holds the
    axis, and the result is split like `u`. `lay`: `mirror_layout`. A
    complex field goes as its real and imaginary parts (the coefficients'
    relation above holds for a real ``v``).
    """
    if jnp.iscomplexobj(u):
        lay = lay._replace(real=True)
        parts = (
            diffuse_mirror(p, axis, lay, s, kind, boundary) for p in (u.real, u.imag)
        )
        return lax.complex(*parts)
    mesh, spec = _layout(u)
    entry = spec[axis]
    names = (entry,) if isinstance(entry, str) else tuple(entry)
    n = lay.length
    turn = 0.0 if boundary == "reflect" else np.pi
    real = jnp.finfo(u.dtype).dtype

    def body(block, s):
        x = jnp.moveaxis(block, axis, -1)
        if boundary == "absorb":  # (-1)^m, m the field's cell
            x = alternate(x, names)
        x = mirror_permute(x, names, lay.shards)

        def fn(spectrum, rows):
            k = rows[:, None] + lay.rows * jnp.arange(lay.cols, dtype=rows.dtype)
            k = k.astype(real)
            phase = jnp.exp(1j * (np.pi / (2 * n)) * k).astype(spectrum.dtype)
            z = spectrum * jnp.conj(phase)
            h0 = _multiplier(kind, s, None, k * (np.pi / n) + turn)
            h1 = _multiplier(kind, s, None, (n - k) * (np.pi / n) + turn)
            w = lax.complex(h0 * z.real, h1 * z.imag)
            return phase * w.astype(spectrum.dtype)

        y = transform_block(x, lay, names, fn, x.dtype)
        y = mirror_permute(y, names, lay.shards, inverse=True)
        if boundary == "absorb":
            y = alternate(y, names)
        return jnp.moveaxis(y, -1, axis)

    return jax.shard_map(body, mesh=mesh, in_specs=(P(*spec), P()), out_specs=P(*spec))(
        u, s
    )


def diffuse_window(u, axis: int, lay, s, shift, kind: str, nodes: int | None = None):
    r"""Diffuse `u` along its split `axis` in free space, any kernel width.

    The unsplit program convolves the window of ``n`` cells with the
    kernel (Gaussian, shifted by `shift` or not, or lattice) cut at ``|m|
    <= n - 1`` (all the window sees): ``2 n - 1`` taps whose width may be
    unknown at trace time (a traced `s` or `shift`). That is the circular
    convolution of period ``2 n`` of the field, zeros past it, with the
    cut kernel ``T`` (``T_m = K_m`` for ``|m| < n``, ``T_n = 0``), and so
    the mean of the convolutions of the field's even and odd extensions
    (``u_e + u_o`` is twice the field and zeros past it) with ``T``, each
    by `diffuse_mirror`'s transform of ``n`` points in Makhoul's order.
    With ``T``'s transform :math:`H(k) = \sum_{|m| < n} T_m e^{-i \pi k m /
    n} = H_c(k) - i H_s(k)` and ``C``, ``C'`` the cosine coefficients of
    ``u`` and ``(-1)^j u``:

    - ``u_e * T`` is the cosine series of ``H_c(k) C(k)`` plus ``(-1)^j``
      times that of ``H_s(n - k) C(n - k)`` (a sine series, reversed);
    - ``u_o * T = (-1)^j ((u')_e * T')``, ``T'_m = (-1)^m T_m`` of
      transform ``H(k + n)``: ``(-1)^j`` times the cosine series of
      ``H_c(n - k) C'(k)``, plus that of ``-H_s(k) C'(n - k)``.

    Four transforms one after the other (two where ``T`` is symmetric,
    `shift` None: ``H_s = 0``), each the field's block and ``n / p``
    points of spectrum. Each device computes ``H`` at its own rows of the
    spectrum: the Gaussian's by folding its values per row
    (`_window_multiplier`), the lattice kernel's, whose values have no
    cheap form, from its transform (`_cut_multiplier`; the Gaussian's too
    without a shift on the cyclic layout, whose rows of ``p`` columns make
    the fold cost ``(n / p)^2``); no device holds the axis, the result is
    split like `u`, and nothing inside the window is cut: exact for any
    `s`. `lay`: `mirror_layout`; `nodes`: the quadrature's, for a known
    `s` (`cut_nodes`). A complex field goes as its real and imaginary
    parts.
    """
    if jnp.iscomplexobj(u):
        lay = lay._replace(real=True)
        parts = (
            diffuse_window(part, axis, lay, s, shift, kind, nodes)
            for part in (u.real, u.imag)
        )
        return lax.complex(*parts)
    mesh, spec = _layout(u)
    entry = spec[axis]
    names = (entry,) if isinstance(entry, str) else tuple(entry)
    n = lay.length
    real = jnp.finfo(u.dtype).dtype
    passes = 2 if shift is None else 4

    # The Gaussian's values folded per row: ``2 n`` per row, about ``n^1.5 /
    # p`` per device on the engine's layout, ``n^2 / p^2`` on the cyclic one
    # (rows of ``p`` columns), where the quadrature goes instead (shifted or
    # not: 4 x 16,385 cells with a drift, 21 s a call by the fold).
    fold = kind == "gaussian" and not cyclic(lay)

    # Recomputed for a gradient: its residuals would be many spectra.
    @jax.checkpoint
    def cut(rows, s, shift):  # H(k) and H(n - k), k = rows + M1 k2
        if fold:
            h = _window_multiplier(s, shift, rows, lay, real)
            hn = h[:, lay.cols :]
            return h[:, : lay.cols], hn if shift is None else jnp.conj(hn)
        k = rows[:, None] + lay.rows * jnp.arange(lay.cols, dtype=rows.dtype)
        return tuple(
            _cut_multiplier(j, 2 * n, n, kind, s, nodes, shift) for j in (k, n - k)
        )

    def body(block, params):
        s, shift = params
        x = jnp.moveaxis(block, axis, -1)

        @jax.checkpoint  # (a gradient recomputes each pass, its loops' carries)
        def part(i, out):  # i = 2 wall + part (wall 0 the even extension, 1 the odd)
            i = i * (4 // passes)  # (without a shift the cosine parts alone)
            odd_ext, odd_part = i // 2 == 1, i % 2 == 1
            v = mirror_permute(alternate(x, names, odd_ext), names, lay.shards)

            def fn(spectrum, rows):
                k = rows[:, None] + lay.rows * jnp.arange(lay.cols, dtype=rows.dtype)
                phase = jnp.exp(1j * (np.pi / (2 * n)) * k.astype(real))
                phase = phase.astype(spectrum.dtype)
                z = spectrum * jnp.conj(phase)
                hk, hn = cut(rows, s, shift)
                if shift is None:  # H_c only: (h0 Re z) + i (h1 Im z)
                    h0 = jnp.where(odd_ext, hn, hk)
                    h1 = jnp.where(odd_ext, hk, hn)
                    w = lax.complex(h0 * z.real, h1 * z.imag)
                else:  # the cosine part, or the sine part across: (k, n - k)
                    ck, cn, sk, sn = hk.real, hn.real, -hk.imag, -hn.imag
                    even_w = lax.complex(
                        jnp.where(odd_ext, cn, ck) * z.real,
                        jnp.where(odd_ext, ck, cn) * z.imag,
                    )
                    odd_w = lax.complex(
                        jnp.where(odd_ext, sk, -sn) * z.imag,
                        jnp.where(odd_ext, sn, -sk) * z.real,
                    )
                    w = jnp.where(odd_part, odd_w, even_w)
                return phase * w.astype(spectrum.dtype)

            y = transform_block(v, lay, names, fn, x.dtype)
            y = mirror_permute(y, names, lay.shards, inverse=True)
            return out + 0.5 * alternate(y, names, odd_ext != odd_part)

        # A loop, so that the transforms' buffers are not held at once
        # (side by side two were: 1.43 of the field, 2^14 cells, 4 devices).
        # (varying over every mesh axis the field is split along, not only
        # this axis's: a field split both ways)
        vary = tuple(a for e in spec if e for a in ((e,) if isinstance(e, str) else e))
        zero = lax.pcast(jnp.zeros(x.shape, x.dtype), vary, to="varying")
        out = lax.fori_loop(0, passes, part, zero)
        return jnp.moveaxis(out, -1, axis)

    return jax.shard_map(body, mesh=mesh, in_specs=(P(*spec), P()), out_specs=P(*spec))(
        u, (s, shift)
    )


# The fold of `_window_multiplier` takes at most n / _FOLD_SHARE kernel values
# at a time: a chunk and its indices and phases are several arrays of that
# size (n / 8: 1.03 of the field in scratch, 2^14 cells on four devices).
_FOLD_SHARE = 32


def _window_multiplier(s, shift, rows, lay, real):
    r"""Return the Gaussian's cut transform of `diffuse_window` at rows `rows`.

    For ``k = r + M1 k2`` (``r`` in `rows`, all ``M2 = lay.cols`` columns
    ``k2``; ``n = M1 M2``): with ``m = mu + 2 M2 g`` the phase :math:`e^{-i
    \pi k m / n}` is :math:`e^{-i \pi r m / n} e^{-i \pi k_2 \mu / M_2}`,
    so the cut kernel's transform at a row's ``M2`` frequencies is a ``2
    M2``-point FFT of the fold :math:`F_r[\mu] = \sum_g T_{\mu + 2 M_2 g}
    e^{-i \pi r m / n}`, and its second half holds ``h(n - k)``
    (:math:`(-1)^m = (-1)^\mu`); each phase's index ``r m mod 2 n`` is
    exact in the rows' integer type (32 bits without x64 too: `mulmod`,
    the product ``r m`` reaching ``2 n^2``). The fold goes ``M1`` steps of ``2 M2``
    kernel values, a chunk of steps at a time (at most ``n / 32`` values:
    computed, never stored whole), each chunk a product of
    the rows' phases by step (``e^{-i pi r 2 M2 g / n}``) with the chunk's
    values, times the phase ``e^{-i pi r mu / n}`` at the end: per row
    ``2 n`` multiply-adds, ``n^2 / (p M2)`` per device in all (``M1 / 2p``
    rows), about ``n^{1.5} / p``, and ``2 n`` kernel values per class.
    The result is ``(rows, 2 M2)``: ``H(k)`` in the first ``M2`` columns,
    ``H(k + n)`` in the rest (``h(k)`` and ``h(n - k)`` without a shift:
    real; with one, the kernel shifted by `shift` cells, complex, ``H(k +
    n)`` the conjugate of ``H(n - k)``).
    """
    n, width = lay.length, 2 * lay.cols
    it = rows.dtype
    steps = 2 * n // width  # M1
    # Steps in chunks of at most 1/_FOLD_SHARE of the field's kernel values.
    fits = [d for d in range(1, steps + 1) if _FOLD_SHARE * d * width <= n]
    chunk = max([1] + [d for d in fits if steps % d == 0])
    mu = jnp.arange(width, dtype=it)
    r = rows[:, None] % (2 * n)
    centre = jnp.zeros((), real) if shift is None else shift

    def phase(a, b):  # e^{-i pi a b / n} of integers below 2 n, reduced exactly
        angle = mulmod(a, b, 2 * n).astype(real) * (np.pi / n)
        return jnp.cos(angle), jnp.sin(angle)

    def term(c):  # the steps g of chunk c: sum_g e^{-i pi r W g / n} T_{mu + W g}
        g = c * chunk + jnp.arange(chunk, dtype=it)
        m = mu[None, :] + width * g[:, None]
        offset = jnp.where(m < n, m, m - 2 * n)
        t = jnp.where(m == n, 0.0, _lattice.gauss_values(s, centre, offset))
        cos, sin = phase(r, (width * g)[None, :])
        t = t.astype(real)
        return lax.complex(cos @ t, -(sin @ t))

    # (each loop starts from its first term: the carry varies over devices)
    total = lax.fori_loop(1, steps // chunk, lambda c, a: a + term(c), term(0))
    cos, sin = phase(r, mu[None, :])
    out = jnp.fft.fft(total * lax.complex(cos, -sin), axis=-1)
    return out.real if shift is None else out


def mulmod(a, b, m: int):
    """Return ``(a b) mod m`` for integers ``0 <= a, b < m``, exactly.

    In `a`'s integer type: the product itself where ``(m - 1)^2`` fits
    (with 64-bit integers, always), else by doubling (``b``'s bits from the
    highest, each step ``2 acc`` and ``acc + a`` reduced modulo ``m``,
    whose sums stay below ``m``: no intermediate passes ``m - 1``, so any
    ``m`` below ``2^31`` in 32 bits; a few element-wise operations per bit,
    fused).
    """
    a, b = jnp.asarray(a), jnp.asarray(b)
    if (m - 1) ** 2 <= jnp.iinfo(a.dtype).max:
        return (a * b) % m
    b = b.astype(a.dtype)

    def add(x, y):  # (x + y) mod m for x, y in [0, m): x + y not formed past m
        gap = m - y
        return jnp.where(x >= gap, x - gap, x + y)

    acc = jnp.zeros(jnp.broadcast_shapes(a.shape, b.shape), a.dtype)
    for bit in reversed(range((m - 1).bit_length())):
        acc = add(acc, acc)
        acc = jnp.where((b >> bit) & 1 == 1, add(acc, a), acc)
    return acc


def _multiplier(kind, s, shift, theta):
    """Return the heat kernel's transform at `theta` (a spectrum's shape)."""
    if kind == "lattice":
        return _lattice.lattice_dtft(s, theta)
    if shift is None:
        return _lattice.gauss_dtft_terms(s, theta)
    return _lattice.gauss_dtft(s, shift, theta)


def diffuse_spectral(u, axis: int, lay, s, shift, kind: str):
    """Diffuse `u` along its split `axis` by the distributed transform.

    The DFT of ``M = lay.length`` points of the field (zeros past its ``n``
    cells), ``X[k]``, times the kernel's transform at ``theta = 2 pi k /
    M`` (`_lattice`: the kernel of the infinite lattice, all its images
    folded), inverted: a circular convolution of period ``M``
    (`spectral_axis`). With ``M = n`` that is the periodic boundary, the
    unsplit program's spectral product (`_diffuse._spectral`) exactly;
    with ``M >= n + R`` (``R`` the tail radius) the free boundary, the
    kernel's images beyond ``M - n`` cells below 1e-20. `s`, `shift`: the
    kernel's variance and shift in cells (scalars, traced or not; `shift`
    None without drift).
    """

    def multiplier(theta, params):
        return _multiplier(kind, *params, theta)

    return spectral_axis(u, axis, lay, multiplier, (s, shift))


# The cut kernel's transform (`_cut_multiplier`): the kernel's transform is
# below e^-_CUT_GOAL past the quadrature's interval and the kernel past the
# window it sums; the trapezoidal rule's nodes, as many as its aliases at
# ``2 pi / h`` need to clear twice that window for either kernel over all
# ``s`` (at most 70 and 142: ``2 R theta_max / pi``, s near 10 and 25).
_CUT_GOAL = 50.0
_CUT_NODES = {"gaussian": 96, "lattice": 176}
# A known s's nodes go in steps of this many (`cut_nodes`).
_CUT_CHUNK = 8
# Nodes evaluated at once (a divisor of _CUT_CHUNK): an array of the spectrum
# piece times these is held for their sum (8: 1.05 of the field in scratch, 3 x
# 21,847 cells, the window; 4: 0.80, 12 % slower than 8's 0.93 with the
# numerator in floats; node by node, fused: 0.72 and 35 % slower).
_CUT_AT_ONCE = 4


def _cut_span(kind: str, s, xp):
    """Return the kernel's radius and its transform's half-width (`_CUT_GOAL`).

    Past the radius the kernel, past the half-width ``theta_max`` its
    transform, is below ``e^-50`` (`xp`: `numpy` for a known `s`, else
    `jax.numpy`).
    """
    goal = _CUT_GOAL
    pos = s > 0
    s_safe = xp.where(pos, s, 1.0)
    if kind == "lattice":  # Bernstein's radius; exp(-2 s sin^2) below e^-goal
        radius = goal / 3 + xp.sqrt((goal / 3) ** 2 + 2 * goal * s)
        y = xp.sqrt(goal / 2 / s_safe)
        wide = pos & (y < 1)
        top = xp.where(wide, 2 * xp.arcsin(xp.where(wide, y, 0.5)), np.pi)
    else:
        radius = xp.sqrt(2 * goal * s) + 1
        y = xp.sqrt(2 * goal / s_safe)
        top = xp.where(pos & (y < np.pi), y, np.pi)
    return radius, top


def _cut_interval(n: int, radius, shift, xp):
    """Return the offsets ``lo .. hi`` of the window that the quadrature sums.

    ``|m| < n`` (the window) within ``ceil(radius) + 1`` cells of the
    kernel's centre `shift` (0 for None), past which its mass is below
    ``e^-50``; widened by one cell inside the window where needed so that
    ``hi - lo`` is even (the Dirichlet kernel of an odd count is
    ``2 pi``-periodic). ``hi < lo`` where the kernel lies outside the window.
    (`xp`: `numpy` for known values, else `jax.numpy`; floats of integers.)
    """
    reach = xp.ceil(radius) + 1
    centre = 0.0 if shift is None else shift
    lo = xp.maximum(-(n - 1.0), xp.floor(centre) - reach)
    hi = xp.minimum(n - 1.0, xp.ceil(centre) + reach)
    odd = (hi - lo) % 2 == 1
    up = odd & (hi < n - 1)
    return xp.where(odd & ~up, lo - 1, lo), xp.where(up, hi + 1, hi)


def cut_nodes(kind: str, s: float, n: int, shift: float | None = None) -> int | None:
    """Return the quadrature's nodes for a known `s` (None: `_CUT_NODES`).

    The trapezoidal rule of `_cut_multiplier` is exact but for aliases
    ``2 pi / h`` cells away, which clear the window's offsets ``lo .. hi``
    (`_cut_interval`) and the kernel's ``R`` cells about its centre ``a``
    (`shift`, or 0) once ``nodes > theta_max (w + R) / pi``, ``w =
    max(hi - a, a - lo)``: with a margin of a quarter (that of
    `_CUT_NODES` at its worst ``s``), in steps of `_CUT_CHUNK`. None where
    that is not below `_CUT_NODES`.
    """
    radius, top = _cut_span(kind, float(s), np)
    lo, hi = _cut_interval(n, radius, shift, np)
    centre = 0.0 if shift is None else float(shift)
    window = max(float(hi) - centre, centre - float(lo), 0.0)
    need = 1.25 * float(top) * (window + float(radius)) / np.pi
    nodes = _CUT_CHUNK * max(1, math.ceil(need / _CUT_CHUNK))
    return nodes if nodes < _CUT_NODES[kind] else None


def _cut_multiplier(
    k, period: int, n: int, kind: str, s, nodes: int | None = None, shift=None
):
    r"""Return the transform of the kernel cut to ``|m| < n`` at frequencies `k`.

    :math:`H(\phi) = \sum_{|m| < n} K_m e^{-i m \phi}`, ``phi = 2 pi k /
    period`` (`k` integers), for the lattice kernel, whose values at any
    offset have no cheap form, or the Gaussian, shifted by `shift` cells or
    not, from its transform :math:`\hat K(\theta)` alone: with the
    kernel's mass past ``R`` cells of its centre (`_CUT_GOAL`: below
    ``e^{-50}``) dropped, the sum runs over the offsets ``lo .. hi``
    (`_cut_interval`: ``N`` of them, an odd count, about ``c``) and

    .. math::
        H(\phi) = \frac{e^{-i c \phi}}{2 \pi} \int \hat K(\theta)
        e^{i c \theta} \frac{\sin(N (\phi - \theta) / 2)}
        {\sin((\phi - \theta) / 2)} d\theta,

    the Dirichlet kernel of the offsets kept, the integral over
    :math:`|\theta| \le \theta_{max}` where :math:`\hat K` is above
    ``e^{-50}``, by the trapezoidal rule of `_CUT_NODES` nodes: exact but
    for the kernel's aliases ``2 pi / h`` cells away, below ``e^{-50}``.
    :math:`\hat K(\theta) e^{i c \theta}` is the transform of the kernel
    moved by the integer ``c`` (`_lattice.gauss_dtft` at the shift ``a -
    c``, of at most ``R + 1`` cells: its phases within ``100`` radians),
    and :math:`e^{-i c \phi}` is taken from the integer ``c k`` reduced
    modulo `period`, exactly; the Dirichlet kernel's numerator
    :math:`\sin(N (\phi - \theta) / 2)` from ``N k`` reduced modulo twice
    the period and :math:`N \theta / 2` (within 100 radians), as the
    sine of their difference. The nodes go `_CUT_AT_ONCE` at a time, a few
    operations per entry each. The lattice kernel's transform as ``exp(-2
    s sin^2(theta / 2))`` (`_lattice.lattice_dtft`). Of `k`'s shape: real
    for a symmetric kernel (`shift` None), else complex.
    """
    real = jnp.result_type(s, 0.0)
    nodes = _CUT_NODES[kind] if nodes is None else nodes
    radius, top = _cut_span(kind, s, jnp)
    lo, hi = _cut_interval(n, radius, shift, jnp)
    count = jnp.maximum(hi - lo + 1, 0.0)  # N (0: the kernel outside the window)
    h = 2 * top / nodes
    theta = -top + h * jnp.arange(nodes, dtype=real)
    if kind == "lattice":
        kq = _lattice.lattice_dtft(s, theta)
    elif shift is None:
        kq = _lattice.gauss_dtft(s, None, theta)
    else:
        centre = 0.5 * (lo + hi)  # an integer: the shift less it below R + 1
        kq = _lattice.gauss_dtft(s, shift - centre, theta)
    g = (h / (2 * np.pi)) * kq
    # The numerator sin(N (phi - theta) / 2) as sin(a - b): a = N phi / 2 from
    # the integer N k reduced modulo twice the period, exactly (N phi / 2 in
    # floats is off by N eps pi / 2 radians, N up to 2 n: 3e-5 of max|u| in
    # float32 on 4 x 16,385 cells), and b = N theta / 2 (|b| <= N theta_max / 2,
    # about 100 radians at most: `_cut_span`).
    twice = 2 * period
    a = mulmod(count.astype(k.dtype) % twice, k % twice, twice)
    a = a.astype(real) * (np.pi / period)

    def chunk(i, acc):
        def part(v):
            return lax.dynamic_slice_in_dim(v, i * _CUT_AT_ONCE, _CUT_AT_ONCE)

        th = part(theta)
        phi = k.astype(real) * (2 * np.pi / period)  # (from k, held anyway)
        y = phi[..., None] - th
        turns = jnp.round(y / (2 * np.pi))
        x = y - (2 * np.pi) * turns  # into [-pi, pi]
        sign = 1 - 2 * (turns % 2)  # (N odd: sin(N x / 2) = sign sin(N y / 2))
        small = jnp.abs(count * x) < 1e-4
        num = sign * jnp.sin(a[..., None] - 0.5 * count * th)
        ratio = num / jnp.sin(jnp.where(small, 1.0, 0.5 * x))
        dirichlet = jnp.where(small, count * (1 - (count**2 - 1) * x * x / 24), ratio)
        return acc + jnp.sum(part(g) * dirichlet, axis=-1)

    zero = jnp.zeros(k.shape, g.dtype)
    acc = lax.fori_loop(1, nodes // _CUT_AT_ONCE, chunk, chunk(0, zero))
    if shift is None:
        return acc
    # e^{-i c phi}: c k reduced modulo the period in k's integer type (exactly,
    # in 32 bits too: `mulmod`)
    c = jnp.where(count > 0, 0.5 * (lo + hi), 0.0).astype(k.dtype)
    turn = mulmod(c % period, k % period, period)
    angle = turn.astype(real) * (2 * np.pi / period)
    return acc * lax.complex(jnp.cos(angle), -jnp.sin(angle))


def spectral_axis(u, axis: int, lay, multiplier, params):
    """Multiply the spectrum of `u` along its split `axis` entry by entry.

    ``ifft(fft(u, M) * multiplier(theta, params))`` along `axis`, its first
    ``n`` points, with ``theta = 2 pi k / M`` for the frequency ``k`` of
    each entry taken in ``[-M/2, M/2)`` (`numpy.fft.fftfreq`'s order),
    ``M = lay.length``: inside `jax.shard_map`, by the engine's
    `spectral_block` on `lay` (`spectral_layout`), class by class, each
    device computing the multiplier of its own rows of the spectrum from
    their global indices. `params` (a pytree of arrays, traced or not) is
    the same on every device; the multiplier must keep the symmetry of a
    real signal's spectrum where `lay` is real. Split like `u`.
    """
    mesh, spec = _layout(u)
    entry = spec[axis]
    names = (entry,) if isinstance(entry, str) else tuple(entry)
    n = lay.length  # M

    def body(block, params):
        x = jnp.moveaxis(block, axis, -1)

        def fn(spectrum, rows):
            # Entry [j, k2] is X[rows[j] + M1 k2]; frequencies in [-n/2, n/2).
            k = rows[:, None] + lay.rows * jnp.arange(lay.cols, dtype=rows.dtype)
            k = jnp.where(2 * k >= n, k - n, k)
            real = jnp.finfo(spectrum.dtype).dtype
            theta = k.astype(real) * (2 * np.pi / n)
            return spectrum * multiplier(theta, params).astype(spectrum.dtype)

        y = transform_block(x, lay, names, fn, x.dtype)
        return jnp.moveaxis(y, -1, axis)

    return jax.shard_map(body, mesh=mesh, in_specs=(P(*spec), P()), out_specs=P(*spec))(
        u, params
    )


def _layout(x) -> tuple[object, tuple]:
    """Return the mesh and the spec (one entry per axis) of a split array."""
    sharding = jax.typeof(x).sharding
    spec = tuple(sharding.spec) + (None,) * (x.ndim - len(sharding.spec))
    return sharding.mesh, spec


def diffuse_axis(u, axis: int, kernel, radius: int, boundary: str, shards: int):
    """Convolve `u` along its split `axis` with `kernel` (offsets -R..R), by halo.

    `kernel` holds the ``2 R + 1`` values of the heat kernel at offsets
    ``-R .. R``; `u` is split over `shards` devices along `axis`, and so is
    the result. Each extended block is convolved by `_valid_pieces`.
    """
    shape = [1] * u.ndim
    shape[axis] = 2 * radius + 1
    kernel = kernel.reshape(shape)
    _, spec = _layout(u)
    entry = spec[axis]
    names = (entry,) if isinstance(entry, str) else tuple(entry)

    def block(ext):
        if boundary == "absorb" and radius:
            # The reflected images past the field's ends change sign: the odd
            # reflection is not one of the engine's boundaries, so the halo
            # brings the 'reflect' images and the end shards negate them here
            # (their R samples only, not the field).
            p = lax.axis_index(names)
            m = ext.shape[axis]
            left = lax.slice_in_dim(ext, 0, radius, axis=axis)
            mid = lax.slice_in_dim(ext, radius, m - radius, axis=axis)
            right = lax.slice_in_dim(ext, m - radius, m, axis=axis)
            left = jnp.where(p == 0, -left, left)
            right = jnp.where(p == shards - 1, -right, right)
            ext = jnp.concatenate([left, mid, right], axis=axis)
        return _valid_pieces(ext, kernel, axis, radius)

    return halo_map(
        block, u, axis, radius, radius, boundary=HALO_BOUNDARY[boundary], cval=0.0
    )


def _valid_pieces(ext, kernel, axis: int, radius: int):
    """Return the 'valid' convolution of `ext` and `kernel` along `axis`, in pieces.

    `ext` is a shard extended by `radius` samples on each side, `kernel`
    its ``2 R + 1`` taps. Where the cost model would convolve the block by
    a transform (FFT or overlap-add), the outputs go in ``c`` equal pieces
    one after the other, each the 'valid' convolution of its ``b + 2 R``
    samples (``c`` the largest divisor of the shard up to `_MAX_PIECES`
    whose pieces ``b`` hold at least ``R`` outputs, so that no piece reads
    more than three times what it writes): a block's transforms, padding
    and overlap-add buffers held at once come to about four extended
    shards, the whole field on four devices (2^14 cells: 0.99 / 1.06 of
    the field at ``R`` = 128 / 192, periodic or reflecting), those of one
    piece of eight far less (0.38 / 0.55 in all). A direct sum holds
    little: one piece.
    """
    size = ext.shape[axis] - 2 * radius
    whole = jax.ShapeDtypeStruct((ext.shape[axis],), ext.dtype)
    taps = jax.ShapeDtypeStruct((kernel.shape[axis],), kernel.dtype)
    count = max(
        d
        for d in range(1, _MAX_PIECES + 1)
        if size % d == 0 and (d == 1 or size // d >= radius)
    )
    if count == 1 or choose_method(whole, taps, "valid") == "direct":
        return convolve(ext, kernel, "valid", axes=axis)
    b = size // count

    def piece(i):
        part = lax.dynamic_slice_in_dim(ext, i * b, b + 2 * radius, axis)
        return convolve(part, kernel, "valid", axes=axis)

    return _in_turn(piece, count, b, axis)


def gather(u, axes):
    """Return `u` with `axes` whole on every device (the others stay split)."""
    mesh, spec = _layout(u)
    spec = tuple(None if d in axes else e for d, e in enumerate(spec))
    return jax.sharding.reshard(u, NamedSharding(mesh, P(*spec)))


def per_block(fn, u, params):
    """Return ``fn(block, params)`` on each device's block of `u`, split like `u`.

    For work along axes that `u` does not split: inside `jax.shard_map`
    each device transforms its own block (XLA would otherwise gather the
    batch of an FFT), in pieces along the first split axis, one after the
    other (`_pieces`). `params` (a pytree of arrays) is the same on all.
    """
    mesh, spec = _layout(u)
    axis = next(d for d, e in enumerate(spec) if e is not None)
    names = (spec[axis],) if isinstance(spec[axis], str) else spec[axis]
    local = u.shape[axis] // math.prod(mesh.shape[n] for n in names)

    def body(block, params):
        return _pieces(lambda piece: fn(piece, params), block, axis, local)

    return jax.shard_map(body, mesh=mesh, in_specs=(P(*spec), P()), out_specs=P(*spec))(
        u, params
    )


# A block transformed in at most this many pieces along a batch axis: the
# FFT of a reflecting or absorbing axis holds its extension to twice the
# length, the spectrum and the inverse, about four blocks; rows split two
# ways (a block of half the field) came to 2.2 fields of scratch per device
# in one piece, 0.5 in three (6 rows of 4096 cells on a 2 x 2 mesh).
_MAX_PIECES = 8


def _pieces(fn, block, axis: int, length: int):
    """Return ``fn`` of `block` computed in equal pieces along `axis`.

    ``fn`` maps a piece to an array of its shape, along `axis`
    independently (a batch axis). The pieces, as many as the largest
    divisor of `length` up to `_MAX_PIECES`, go one after the other, each
    written in place into one array that starts as the first one padded.
    """
    count = max(d for d in range(1, _MAX_PIECES + 1) if length % d == 0)
    if count == 1:
        return fn(block)
    size = length // count

    def piece(i):
        return fn(lax.dynamic_slice_in_dim(block, i * size, size, axis))

    return _in_turn(piece, count, size, axis)


def _in_turn(piece, count: int, width: int, axis: int):
    """Return ``piece(0)``, ..., ``piece(count - 1)`` joined along `axis`.

    Each piece is `width` long along `axis`; they are computed one after
    the other (a `fori_loop`), each written in place into one array that
    starts as the first piece padded, so that one piece's buffers are
    alive at a time.
    """
    first = piece(0)
    pad = [(0, 0)] * first.ndim
    pad[axis] = (0, (count - 1) * width)
    return lax.fori_loop(
        1,
        count,
        lambda i, out: lax.dynamic_update_slice_in_dim(out, piece(i), i * width, axis),
        jnp.pad(first, pad),
    )


def explicit(u):
    """Return `u` on a mesh of `Explicit` axes, and its own mesh if that is Auto.

    A concrete array split over a mesh of `Auto` axes hides its layout from
    the trace of a jitted function; the same devices with `Explicit` axes
    show it, so an eager call on it runs the split program. ``(u, None)``
    for any other array.
    """
    sharding = getattr(u, "sharding", None)
    if isinstance(u, jax.core.Tracer) or type(sharding) is not NamedSharding:
        return u, None
    mesh = sharding.mesh
    if not mesh.shape or any(t != AxisType.Auto for t in mesh.axis_types):
        return u, None
    if all(e is None for e in sharding.spec):
        return u, None
    seen = Mesh(
        mesh.devices,
        mesh.axis_names,
        axis_types=(AxisType.Explicit,) * len(mesh.axis_names),
    )
    return jax.device_put(u, NamedSharding(seen, sharding.spec)), mesh


def on_mesh(y, mesh):
    """Return the concrete `y` laid out alike on `mesh` (the same devices)."""
    return jax.device_put(y, NamedSharding(mesh, y.sharding.spec))


def split_like(y, like):
    """Return `y` laid out over the devices as `like` is."""
    if not isinstance(like, jax.core.Tracer):  # eagerly: placed
        return jax.device_put(y, like.sharding)
    mesh, spec = _layout(like)
    return jax.sharding.reshard(y, NamedSharding(mesh, P(*spec)))


def radii(u, ax, boundaries, kind, s, shift, split, drift: bool = False) -> tuple:
    """Return the route of each diffused axis: a halo radius, a transform or None.

    `s` and `shift` are the kernels' variances and shifts in cells (NumPy,
    one per diffused axis), or None where traced; `split` maps split axes to
    their shard counts. An int: by halo of that radius (`halo_radius`);
    ``(TRANSFORM, period)``: past the halo's rule, or a halo of more than an
    eighth of a shard by one local FFT (`_wide_halo`; reflecting and
    absorbing halos by one local FFT at any radius), by the distributed
    transform of ``M >= period`` points (`spectral_layout`,
    `diffuse_spectral`), where it has a layout: a periodic axis (``M = n``,
    any radius, known or not), a free one whose radius ``R`` is known and at
    most ``n`` (``M >= n + R``), a reflecting or absorbing one (``M = n``,
    any radius, known or not: `mirror_layout`, `diffuse_mirror`); ``(WINDOW,
    n)``: a free axis past that (``R > n``, or unknown; any kernel, a drift
    too), or whose ``n + R`` points have only the cyclic layout, by
    `diffuse_window` on the mirror's layout (``(WINDOW, n, nodes)`` where
    its cut transform goes by the quadrature, `s` is known and takes fewer
    nodes: `cut_nodes`); None: not split, or gathered (shards of unequal
    lengths; without 64-bit integers, a free window of ``4 n >= 2^31``
    cells, its phases' modulus past 32 bits: below that `mulmod` reduces
    the fold's and the quadrature's indices exactly).
    """
    out = []
    real = not jnp.iscomplexobj(u)
    for i, (a, b) in enumerate(zip(ax, boundaries)):
        if a not in split:
            out.append(None)
            continue
        n = u.shape[a]
        r = tail = None
        if s is not None:
            tail = tail_radius(s[i], 0.0 if shift is None else shift[i], kind)
            r = halo_radius(tail, b, n, split[a])
        share = None if b in MIRRORS else _HALO_SHARE
        wide = r is None or _wide_halo(r, n // split[a], u.dtype, share)
        if wide and b == "periodic":
            period = n
        elif wide and b == "free" and _engine_layout(n, split[a], real, tail):
            period = n + tail
        elif wide and b == "free":
            lay = mirror_layout(n, split[a], real)
            # (phases reduced modulo 4 n at most in the index type: `mulmod`)
            if not jax.config.jax_enable_x64 and 4 * n >= 2**31:
                lay = None
            quadrature = kind == "lattice" or cyclic(lay)
            nodes = None
            if lay is not None and quadrature and s is not None:
                a_i = float(shift[i]) if drift and shift is not None else None
                nodes = cut_nodes(kind, s[i], n, a_i)  # fewer for a known s
            route = (WINDOW, n) if nodes is None else (WINDOW, n, nodes)
            out.append(route if lay is not None else r)
            continue
        elif wide and b in MIRRORS:
            lay = mirror_layout(n, split[a], real)
            out.append((TRANSFORM, n) if lay is not None else r)
            continue
        else:
            out.append(r)
            continue
        lay = spectral_layout(n, split[a], real, period)
        out.append((TRANSFORM, period) if lay is not None else r)
    return tuple(out)


def _engine_layout(n: int, shards: int, real: bool, tail: int | None) -> bool:
    """Whether a free axis's ``n + R`` points have the engine's layout.

    ``R <= n`` known; elsewhere the window (on shards with none, the
    cyclic layout of ``n`` points: a cyclic transform of ``n + R`` held
    1.03 of the field in scratch for 4 x 1,001 cells, the window 0.86).
    """
    if tail is None or tail > n:
        return False
    return spectral_layout(n, shards, real, n + tail) is not None


# A halo of more than 1/_HALO_SHARE of a shard each side, convolved by one
# FFT of the extended block: periodic and free axes go by the transform
# instead. The block, its halo and that FFT of a kernel so wide hold the
# field's size and more per device (2^16 cells on four devices: 0.90 of the
# field at R = 1,024, 1.32 at 4,096, 2.29 at 16,384, the engine's rule
# allowing a whole shard); the transform holds about 0.65 whatever the
# radius. Below it the halo stays, its block convolved in pieces where the
# cost model picks a transform (`_valid_pieces`: 2^14 cells on four devices,
# periodic or free, R = 256 / 512 from 1.13 / 1.25 of the field in one piece
# to 0.60 / 0.78; 2^16 cells, R = 1,536 / 2,048: 0.69 / 0.78); direct sums
# (short shards, a 128 x 128 field's 64-cell blocks with R = 24) go whole.
_HALO_SHARE = 8


def _wide_halo(radius: int, size: int, dtype, share: int | None) -> bool:
    """Whether a halo of `radius` on shards of `size` should be a transform.

    Where the cost model would convolve the extended block by one local FFT
    and the halo passes ``1 / share`` of a shard (`share` None: at any
    radius, for the reflecting and absorbing images, whose halo holds more:
    2^14 cells on four devices, ``R`` = 256 / 512 held 1.13 / 1.25 of the
    field by halo, 0.72 by the transform of `diffuse_mirror`).
    """
    if share is not None and share * radius <= size:
        return False
    block = jax.ShapeDtypeStruct((size + 2 * radius,), dtype)
    kernel = jax.ShapeDtypeStruct((2 * radius + 1,), dtype)
    return choose_method(block, kernel, "valid") == "fft"
