"""Weighted sliding sums along axes: boundaries, output modes, NaN-aware.

Everything in this package that slides a kernel over data comes through
`smooth_axes`: it extends the edges (the engine's `pad`, or "renormalize":
edges treated as missing), correlates with the engine (or with the O(n)
`window_sums` for a boxcar), and with ``nan_policy='omit'`` divides by the
same correlation of the mask of present values (normalized convolution).
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from probconv import conv
from probconv.conv.internal import SHIFT_MAX_TAPS, bounded_jit, halo_map, split_axes

from ._checks import concrete
from ._running import window_sums

# A boxcar at least this long is summed in O(n) by `window_sums`; shorter
# ones go to the engine, whose direct method sums up to 31 shifted copies in
# one fused loop on a CPU (10^4 x 10^3 by 21 taps: 38 ms, against 148 ms by
# `window_sums`; see docs/performance.md).
RUNNING_MIN = SHIFT_MAX_TAPS + 1
# Where the present weights of a window sum to less than this fraction of the
# kernel's total, the window holds no data worth the name: NaN.
_DEN_RTOL = 100


def widths(w: int, left: int, mode: str) -> tuple[int, int]:
    """Return the samples added before and after an axis for `mode`."""
    if mode == "same":
        return left, w - 1 - left
    if mode == "full":
        return w - 1, w - 1
    return 0, 0


def _pad(x, axis: int, lo: int, hi: int, boundary: str, cval):
    if lo == 0 and hi == 0:
        return x
    if boundary == "renormalize":
        return conv.pad(x, [(lo, hi)], "constant", cval=0.0, axes=axis)
    return conv.pad(x, [(lo, hi)], boundary, cval=cval, axes=axis)


def _correlate_valid(xp, kernel, axes: tuple[int, ...], uniform: bool, method: str):
    """Correlate `xp` with `kernel` laid along `axes` ('valid')."""
    if uniform and len(axes) == 1 and kernel.shape[0] >= RUNNING_MIN:
        return window_sums(xp, kernel.shape[0], axes[0]) * kernel[0]
    if uniform and len(axes) == 1:  # plain sums, one product per output
        ones = jnp.ones(kernel.shape, xp.dtype)
        return _correlate_valid(xp, ones, axes, False, method) * kernel[0]
    shape = [1] * xp.ndim
    for ax, n in zip(axes, kernel.shape):
        shape[ax] = n
    order = np.argsort(axes)
    k = jnp.transpose(kernel, order) if kernel.ndim > 1 else kernel
    k = k.reshape(shape).astype(xp.dtype)
    return conv.correlate(xp, k, "valid", axes=axes, method=method)


def _edges_apart(w: int, n: int, uniform: bool, method: str, boundary: str) -> bool:
    """Whether to correlate the edges apart from the interior (see below).

    Only for the boundaries that copy samples (a constant pad fuses into the
    sum and costs nothing), and only where the sum is one pass.
    """
    running = uniform and w >= RUNNING_MIN  # window sums, whatever `method`
    short = w <= SHIFT_MAX_TAPS and method in ("auto", "direct")
    copies = boundary not in ("constant", "renormalize")
    return (running or short) and copies and n >= 2 * w


def _correlate_edges_apart(x, k, ax, lo, hi, boundary, cval, method, uniform):
    """`_correlate_valid` of the padded `x`, without padding all of `x`.

    A short kernel (shifted copies) or a boxcar (window sums) is summed in
    one pass over the data; a padded copy of the whole array would cost a
    second pass (XLA materializes the padded concatenation). The interior is
    correlated from `x` itself, and only the few outputs that reach into the
    padding from short padded ends, written into place afterwards.
    """
    w, n = k.shape[0], x.shape[ax]

    def take(a, b):
        return jax.lax.slice_in_dim(x, a, b, axis=ax)

    y = _correlate_valid(x, k, (ax,), uniform, method)
    if lo == 0 and hi == 0:
        return y
    pads = [(0, 0)] * x.ndim
    pads[ax] = (lo, hi)
    y = jnp.pad(y, pads)
    if lo:
        if boundary == "wrap":
            head = jnp.concatenate([take(n - lo, n), take(0, w - 1)], axis=ax)
        else:  # the other modes read at most w samples from this end
            head = _pad(take(0, w), ax, lo, 0, boundary, cval)
        head = jax.lax.slice_in_dim(head, 0, lo + w - 1, axis=ax)
        left = _correlate_valid(head, k, (ax,), False, method)
        y = jax.lax.dynamic_update_slice_in_dim(y, left, 0, axis=ax)
    if hi:
        if boundary == "wrap":
            tail = jnp.concatenate([take(n - (w - 1), n), take(0, hi)], axis=ax)
        else:
            tail = _pad(take(n - w, n), ax, 0, hi, boundary, cval)
            tail = jax.lax.slice_in_dim(tail, 1, w + hi, axis=ax)
        right = _correlate_valid(tail, k, (ax,), False, method)
        y = jax.lax.dynamic_update_slice_in_dim(
            y, right, n + lo + hi - w + 1 - hi, axis=ax
        )
    return y


def _apply(x, kernels, axes, lefts, uniform, bounds, cval, mode, method):
    """Correlate along each axis in turn (separable) or all at once.

    `bounds` holds one boundary mode per axis in `axes`.
    """
    if len(kernels) == len(axes):
        for k, ax, left, uni, b in zip(kernels, axes, lefts, uniform, bounds):
            lo, hi = widths(k.shape[0], left, mode)
            if _edges_apart(k.shape[0], x.shape[ax], uni, method, b):
                x = _correlate_edges_apart(x, k, ax, lo, hi, b, cval, method, uni)
                continue
            x = _pad(x, ax, lo, hi, b, cval)
            x = _correlate_valid(x, k, (ax,), uni, method)
        return x
    (k,) = kernels
    for ax, n, left, b in zip(axes, k.shape, lefts, bounds):
        lo, hi = widths(n, left, mode)
        x = _pad(x, ax, lo, hi, b, cval)
    return _correlate_valid(x, k, tuple(axes), False, method)


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
    real = np.finfo(np.dtype(dtype)).dtype
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
        values = [concrete(k) for k in kernels]
        if all(v is not None for v in values):
            kernels = [unit_weights(v, x.dtype) for v in values]
            normalize, unit_sum = False, True
    real_bits = np.finfo(np.dtype(x.dtype)).bits
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
    (`conv.internal.halo_map`), is smoothed as a whole ('same', so the smoothed
    axes that are not split keep their boundaries), and keeps the outputs
    of its own samples. None where this does not apply: several smoothed
    axes split, or windows wider than a shard with a boundary that copies
    samples, or 'renormalize' on the split axis without ``nan_policy=
    'omit'`` (those take the unsharded route, where XLA lays out the data).
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

    def block(ext):
        y = _smooth(ext, kernels, cval, **options)
        return jax.lax.slice_in_dim(y, before, before + size, axis=ax)

    return halo_map(block, x, ax, before, after, boundary=boundary, cval=fill)


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
