"""Kernels laid out for circular (FFT) deconvolution, shared by the methods."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from probconv.conv.internal import fft_nd


def as_kernel(kernel, y_ndim: int, axes: tuple[int, ...], name: str = "kernel"):
    """Return the kernel with ``y_ndim`` dimensions (size 1 on batch axes).

    A kernel may have one dimension per deconvolved axis, or as many as `y`
    (with size 1, or the batch size, on the other axes).
    """
    if not isinstance(kernel, jax.Array):
        arr = np.asarray(kernel)
        if arr.dtype.kind not in "biuf":
            raise TypeError(
                f"`{name}` must be a real numeric array; got dtype {arr.dtype}."
            )
        kernel = jnp.asarray(arr)
    if jnp.iscomplexobj(kernel):
        raise TypeError(f"`{name}` must be real; got dtype {kernel.dtype}.")
    if kernel.size == 0:
        raise ValueError(f"`{name}` must not be empty; got shape {kernel.shape}.")
    if kernel.ndim == len(axes) and kernel.ndim != y_ndim:
        shape = [1] * y_ndim
        for a, n in zip(axes, kernel.shape):
            shape[a] = n
        kernel = kernel.reshape(shape)
    if kernel.ndim != y_ndim:
        raise ValueError(
            f"`{name}` must have one dimension per deconvolved axis "
            f"({len(axes)}) or as many as `y` ({y_ndim}); got shape {kernel.shape}."
        )
    return kernel


def transfer(kernel, shape: tuple[int, ...], axes: tuple[int, ...], real: bool):
    """Transform of `kernel` centred at index ``(k - 1) // 2`` on a circle.

    The kernel is zero-padded to `shape` along `axes` and rolled so that its
    centre sits at index 0, so that multiplying by the result convolves as
    ``convolve(x, kernel, 'same')`` does away from the edges.
    """
    for a, n in zip(axes, shape):
        if kernel.shape[a] > n:
            raise ValueError(
                f"`kernel` must not be longer than the signal along axis {a}; got "
                f"{kernel.shape[a]} > {n}."
            )
    widths = [(0, 0)] * kernel.ndim
    for a, n in zip(axes, shape):
        widths[a] = (0, n - kernel.shape[a])
    placed = jnp.pad(kernel, widths)
    shifts = tuple(-((kernel.shape[a] - 1) // 2) for a in axes)
    placed = jnp.roll(placed, shifts, axis=axes)
    return fft_nd(placed, shape, axes, real)
