"""Weighted sliding sums along axes: boundaries, output modes, NaN-aware.

Everything in this package that slides a kernel over data comes through
`smooth_axes`: it correlates with the engine's boundary-aware filters
(`probconv.conv.correlate1d`, `correlate_nd`, and `running_sum` for a
boxcar; "renormalize" is a zero fill, edges treated as missing), and with
``nan_policy='omit'`` divides by the same correlation of the mask of present
values (normalized convolution).
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from probconv import conv
from probconv.conv.internal import bounded_jit, halo_map, split_axes

from .._checks import concrete

# Where the present weights of a window sum to less than this fraction of the
# kernel's total, the window holds no data worth the name: NaN.
_DEN_RTOL = 100


def _engine_boundary(boundary: str, cval):
    """Return the engine's boundary and fill ('renormalize' is a zero fill)."""
    if boundary == "renormalize":
        return "constant", 0.0
    return boundary, cval


def _filter1d(x, k, ax: int, left: int, uniform: bool, boundary, cval, mode, method):
    """Correlate `x` with the 1-D `k` along `ax`: the engine's filters."""
    w = k.shape[0]
    boundary, cval = _engine_boundary(boundary, cval)
    options = dict(
        boundary=boundary,
        cval=cval,
        origin=left - w // 2 if mode == "same" else 0,
        mode=mode,
    )
    if uniform:  # a boxcar: running sums, O(n) whatever its length
        # The weight goes in with the sums (one pass); a product afterwards
        # costs a pass over the output, and more where XLA fuses it badly.
        return conv.running_sum(x, w, ax, weight=k[0], **options)
    return conv.correlate1d(x, k, ax, method=method, **options)


def _apply(x, kernels, axes, lefts, uniform, bounds, cval, mode, method):
    """Correlate along each axis in turn (separable) or all at once.

    `bounds` holds one boundary mode per axis in `axes`.
    """
    if len(kernels) == len(axes):
        for k, ax, left, uni, b in zip(kernels, axes, lefts, uniform, bounds):
            x = _filter1d(x, k, ax, left, uni, b, cval, mode, method)
        return x
    (k,) = kernels
    # 'renormalize' comes with no 'constant' axis and a zero `cval` (`_smooth`).
    bounds = tuple(_engine_boundary(b, cval)[0] for b in bounds)
    origins = [
        left - n // 2 if mode == "same" else 0 for n, left in zip(k.shape, lefts)
    ]
    return conv.correlate_nd(
        x,
        k,
        tuple(axes),
        boundary=bounds,
        cval=cval,
        origin=origins,
        mode=mode,
        method=method,
    )


def check_sizes(x, kernels, axes: Sequence[int], mode: str) -> None:
    """Check that with 'valid' each axis is at least as long as the kernel."""
    if mode != "valid":
        return
    sizes = (
        [k.shape[0] for k in kernels] if len(kernels) == len(axes) else kernels[0].shape
    )
    for ax, n in zip(axes, sizes):
        if x.shape[ax] < n:
            raise ValueError(
                f"mode='valid' needs axis {ax} (length {x.shape[ax]}) to be at "
                f"least as long as the window ({n})."
            )


def unit_weights(k, dtype) -> np.ndarray:
    """Return ``k / sum(k)`` rounded to the real dtype of `dtype`, summing to one.

    Normalized in float64 on the host (the kernel is static), then rounded;
    the rounding error of the sum is given back to the largest weight, so the
    rounded weights sum to one as closely as the dtype allows (normalized in
    float32, a 9-tap Gaussian summed to ``1 - 4.7e-8``).
    """
    k = np.asarray(k, np.float64)
    k = k / k.sum()
    real = jnp.finfo(np.dtype(dtype)).dtype
    out = k.astype(real)
    if real != np.float64:
        i = np.unravel_index(np.argmax(np.abs(k)), k.shape)
        out[i] = real.type(float(out[i]) + (1.0 - out.astype(np.float64).sum()))
    return out


def smooth_axes(
    x: jax.Array,
    kernels: Sequence[jax.Array],
    axes: Sequence[int],
    lefts: Sequence[int],
    *,
    boundary: str | Sequence[str],
    cval,
    mode: str,
    nan_policy: str,
    normalize: bool,
    uniform: Sequence[bool] | None = None,
    method: str = "auto",
    unit_sum: bool = False,
) -> jax.Array:
    r"""Correlate `x` with kernels along `axes`, NaN- and edge-aware.

    ``kernels`` holds one 1-D kernel per axis (a separable product) or a
    single kernel with one dimension per axis. Output sample ``i`` sums
    ``k[j] * x[i - left + j]``. With ``normalize`` the sum is divided by the
    kernel's total over the samples present (all of them unless NaNs are
    omitted or the edges renormalized); without, it is returned as is.
    `boundary` is one mode or one per axis. ``unit_sum`` says that the
    kernels already sum to one (a smoothing kernel, normalized by the
    caller with `unit_weights`).

    Concrete kernels are normalized on the host in float64. A filter whose
    weights sum to one is computed in float32 (or narrower) about a
    reference sample of each row (``ref + sum_j k_j (x_j - ref)``), so that
    a constant signal stays exactly constant whatever the rounding of the
    weights and the summation order; in float64 that error is below 1e-15
    and the extra pass is skipped.
    """
    axes = tuple(axes)
    bounds = (boundary,) * len(axes) if isinstance(boundary, str) else tuple(boundary)
    uniform = tuple(uniform) if uniform is not None else (False,) * len(kernels)
    check_sizes(x, kernels, axes, mode)
    try:
        cval_np = float(cval)
    except (TypeError, jax.errors.ConcretizationTypeError):
        cval_np = None
    if cval_np is not None and np.isnan(cval_np) and nan_policy == "omit":
        # A NaN fill is missing data: the same as renormalizing that edge.
        bounds = tuple("renormalize" if b == "constant" else b for b in bounds)
    ratio = nan_policy == "omit" or "renormalize" in bounds  # normalizes itself
    if normalize and not ratio:
        # Only kernels that are not differentiated are normalized in NumPy
        # (an eager jax.grad's tracer has a value, but NumPy drops its
        # gradient).
        values = [
            None if isinstance(k, jax.core.Tracer) else concrete(k) for k in kernels
        ]
        if all(v is not None for v in values):
            kernels = [unit_weights(v, x.dtype) for v in values]
            normalize, unit_sum = False, True
    real_bits = jnp.finfo(x.dtype).bits
    shift = (normalize or unit_sum) and real_bits <= 32 and "constant" not in bounds
    kernels = tuple(jnp.asarray(k) for k in kernels)
    options = dict(
        axes=axes,
        lefts=tuple(int(v) for v in lefts),
        bounds=bounds,
        mode=mode,
        nan_policy=nan_policy,
        normalize=normalize,
        uniform=uniform,
        method=method,
        shift=shift,
    )
    split = split_axes(x)
    if split and mode == "same":
        y = _smooth_split(x, kernels, cval, split, options)
        if y is not None:
            return y
    return _smooth(x, kernels, cval, **options)


def _smooth_split(x, kernels, cval, split: dict, options: dict):
    """`_smooth` of `x` split over devices along one smoothed axis, or None.

    Each shard receives the samples its windows read from its neighbours
    (`conv.internal.halo_map`), is smoothed ('same', so the smoothed axes
    that are not split keep their boundaries), and keeps the outputs of its
    own samples. NaN-aware (a data and a mask correlated together) in
    pieces of the shard, one after the other (`_pieces`), so that a
    device's scratch is the shard and a piece's work, not several shards.
    None where this does not apply: several smoothed axes split, or windows
    wider than a shard with a boundary that copies samples, or
    'renormalize' on the split axis without ``nan_policy='omit'`` (those
    take the unsharded route, where XLA lays out the data).
    """
    axes, bounds = options["axes"], options["bounds"]
    hit = [i for i, a in enumerate(axes) if a in split]
    if len(hit) != 1:
        return None
    (i,) = hit
    ax = axes[i]
    w = kernels[i].shape[0] if len(kernels) == len(axes) else kernels[0].shape[i]
    before = options["lefts"][i]
    after = w - 1 - before
    boundary, fill = bounds[i], cval
    if boundary == "renormalize":
        if options["nan_policy"] != "omit":
            return None
        boundary, fill = "constant", jnp.nan  # missing samples past the ends
    size = x.shape[ax] // split[ax]
    if boundary != "constant" and boundary != "wrap" and max(before, after) >= size:
        return None
    ratio = options["nan_policy"] == "omit" or "renormalize" in bounds
    count = _pieces(size, w) if ratio else 1
    piece = size // count

    def smooth_piece(ext, j):
        # Outputs j * piece onwards: their windows' samples, smoothed whole.
        e = jax.lax.dynamic_slice_in_dim(ext, j * piece, piece + w - 1, axis=ax)
        y = _smooth(e, kernels, cval, **options)
        return jax.lax.slice_in_dim(y, before, before + piece, axis=ax)

    def block(ext):
        first = smooth_piece(ext, 0)
        if count == 1:
            return first
        # One loop writes each piece in place, starting from the first one
        # padded (not from zeros: see `conv.internal`'s spectral blocks).
        pad = [(0, 0)] * first.ndim
        pad[ax] = (0, size - piece)
        return jax.lax.fori_loop(
            1,
            count,
            lambda j, out: jax.lax.dynamic_update_slice_in_dim(
                out, smooth_piece(ext, j), j * piece, ax
            ),
            jnp.pad(first, pad),
        )

    return halo_map(block, x, ax, before, after, boundary=boundary, cval=fill)


# The pieces of a shard smoothed one at a time on the NaN-aware route: its
# data, its mask and both their correlations (each with the method's own
# buffers) held for the whole shard came to 1.8 signals of scratch per
# device on four devices (2^16 samples, a 301-tap window; 2.1 with a
# 'constant' fill, whose edge weights are one more correlation). At most
# this many, each at least `_PIECE_WINDOWS` windows long, so that the
# windows' overlap (recomputed once per piece) stays under a quarter.
_MAX_PIECES = 8
_PIECE_WINDOWS = 4


def _pieces(size: int, window: int) -> int:
    """Return how many equal pieces of a shard of `size` samples to smooth."""
    return max(
        d
        for d in range(1, _MAX_PIECES + 1)
        if size % d == 0 and (d == 1 or size // d >= _PIECE_WINDOWS * window)
    )


def _reference(x, axes, omit: bool):
    """Return a sample of each row along `axes` (0 where none is finite).

    The first sample; with NaNs omitted, the largest present one (a row may
    start with a gap).
    """
    if omit:
        ref = jnp.max(jnp.where(jnp.isnan(x), -jnp.inf, x), axis=axes, keepdims=True)
    else:
        idx = tuple(slice(0, 1) if a in axes else slice(None) for a in range(x.ndim))
        ref = x[idx]
    return jnp.where(jnp.isfinite(ref), ref, 0.0)


@bounded_jit(
    static_argnames=(
        "axes",
        "lefts",
        "bounds",
        "mode",
        "nan_policy",
        "normalize",
        "uniform",
        "method",
        "shift",
    ),
)
def _smooth(
    x,
    kernels,
    cval,
    *,
    axes,
    lefts,
    bounds,
    mode,
    nan_policy,
    normalize,
    uniform,
    method,
    shift,
):
    kernels = [k.astype(x.dtype) for k in kernels]
    omit = nan_policy == "omit"
    renorm = "renormalize" in bounds
    ref = _reference(x, axes, omit) if shift else None
    if ref is not None:
        x = x - ref
    if not (omit or renorm):
        if normalize:  # into the kernels: no pass over the output to divide
            kernels = [k / jnp.sum(k) for k in kernels]
        y = _apply(x, kernels, axes, lefts, uniform, bounds, cval, mode, method)
        return y if ref is None else y + ref
    # Normalized convolution: the data with missing values zeroed, and the
    # mask of present values, in one batched pass. A constant edge is padded
    # with zeros here and its fill value added below.
    present = ~jnp.isnan(x) if omit else jnp.ones(x.shape, bool)
    x0 = jnp.where(present, x, 0.0) if omit else x
    stacked = jnp.stack([x0, present.astype(x.dtype)])
    zero_pad = tuple("renormalize" if b == "constant" else b for b in bounds)
    both = _apply(
        stacked,
        kernels,
        [a + 1 for a in axes],
        lefts,
        uniform,
        zero_pad,
        0.0,
        mode,
        method,
    )
    num, den = both[0], both[1]
    if "constant" in bounds:
        # The fill value counts as data: with the kernel's weight outside the
        # array, ``outside``, the numerator gains ``cval * outside`` and the
        # denominator ``outside``.
        ones = jnp.ones(
            [x.shape[a] if a in axes else 1 for a in range(x.ndim)], x.dtype
        )
        inside = _apply(
            ones, kernels, axes, lefts, uniform, zero_pad, 0.0, mode, method
        )
        outside = _total(kernels) - inside
        num = num + cval * outside
        den = den + outside
    scale = 1.0
    for k in kernels:
        scale = scale * jnp.sum(jnp.abs(k))
    tiny = _DEN_RTOL * jnp.finfo(x.dtype).eps * scale
    ok = jnp.abs(den) > tiny
    y = jnp.where(ok, num / jnp.where(ok, den, 1.0), jnp.nan)
    return y if ref is None else y + ref


def _total(kernels):
    total = 1.0
    for k in kernels:
        total = total * jnp.sum(k)
    return total
