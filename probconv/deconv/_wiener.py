"""Wiener deconvolution in the Fourier domain."""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from probconv._checks import (
    as_field,
    check_choice,
    check_param,
    compute_dtype,
    normalize_axes,
    real_dtype,
)
from probconv.conv.internal import fft_nd, ifft_nd, pad

from ._split import check_whole
from ._transfer import as_kernel, transfer

WIENER_BOUNDARIES = ("periodic", "reflect")


def wiener(
    y: ArrayLike,
    kernel: ArrayLike,
    *,
    noise_power: ArrayLike | None = None,
    snr: ArrayLike | None = None,
    signal_power: ArrayLike | None = None,
    reg: str | ArrayLike | None = None,
    axes: int | Sequence[int] | None = None,
    boundary: str = "periodic",
) -> jax.Array:
    r"""Deconvolve by the Wiener filter.

    Like `skimage.restoration.wiener`, but with the classical (identity)
    regularizer by default, the regularization given as a noise power or a
    signal-to-noise ratio, no clipping of the result to [-1, 1], batch axes,
    and jit, vmap and grad.

    Parameters
    ----------
    y : array_like
        The blurred, noisy observation (real or complex). Axes not in `axes`
        are batch axes.
    kernel : array_like
        The blur, real, centred at index ``(size - 1) // 2`` along each axis
        (as for ``probconv.convolve(x, kernel, 'same')``): one dimension per
        deconvolved axis, or as many as `y`.
    noise_power : array_like, optional
        Variance of the additive white noise per sample, :math:`\sigma^2`.
    snr : array_like, optional
        Signal-to-noise power ratio: a scalar, or one value per frequency
        (broadcasting against the transform of `y`; real FFT layout for a real
        `y`). Give exactly one of `noise_power` and `snr`.
    signal_power : array_like, optional
        Power of the unblurred signal per sample, used with `noise_power`;
        by default estimated as ``max(mean(|y|^2) - noise_power, noise_power
        * 1e-6)`` over the deconvolved axes.
    reg : {None, 'laplacian'} or array_like
        Regularization operator :math:`R`: None for the identity (the
        classical Wiener filter), ``'laplacian'`` for the discrete Laplacian
        (scikit-image's default, which penalizes roughness), or a kernel laid
        out like `kernel`.
    axes : int or sequence of int, optional
        The axes to deconvolve (default: all).
    boundary : {'periodic', 'reflect'}
        The blur model at the edges: ``'periodic'`` (circular, as
        scikit-image), or ``'reflect'``, which deconvolves the even extension
        of `y` (twice as long per axis) and so avoids the ringing that a
        jump between opposite edges causes; exact for a symmetric kernel and
        a blur with reflecting edges.

    Returns
    -------
    jax.Array
        The estimate of the unblurred signal, shape and dtype of `y`
        (integers and booleans: the default float; float16 and bfloat16
        are computed in float32 and rounded back).

    Raises
    ------
    ValueError
        If neither or both of `noise_power` and `snr` are given; they, or
        `signal_power`, are negative or not finite; `reg` or `boundary` is
        unknown; `kernel` is longer than `y` or of the wrong rank; bad `axes`;
        `y` split over devices along a deconvolved axis (the transform needs
        whole axes: gather them first). Under `jax.jit` a negative power
        gives NaN.
    TypeError
        For non-numeric inputs or a complex kernel.

    See Also
    --------
    richardson_lucy, deconvolve_distribution, skimage.restoration.wiener

    Notes
    -----
    With :math:`H` the transfer function of the kernel and
    :math:`\lambda = 1/\mathrm{snr}` or
    :math:`\sigma^2 / P_{\mathrm{signal}}`,

    .. math:: \hat x = \mathcal F^{-1}\Big[\frac{\overline{H}}
              {|H|^2 + \lambda |R|^2}\, \mathcal F[y]\Big].

    This is the minimum mean-square-error linear estimate for a signal and
    a noise with flat spectra in the ratio :math:`1/\lambda`. With
    ``boundary='reflect'`` the same filter runs on the even extension of
    `y` (a division of spectra on one period of the cosine series, not a
    correlation, so not one of the engine's boundary filters). The result
    matches ``skimage.restoration.wiener(y, kernel, balance, clip=False)``
    with ``snr = 1 / balance`` and ``reg='laplacian'`` (for odd kernel
    sizes, where the centring conventions agree).

    Examples
    --------
    >>> import jax.numpy as jnp, probconv
    >>> from probconv.deconv import wiener
    >>> x = jnp.array([0.0, 0.0, 1.0, 3.0, 1.0, 0.0, 0.0, 2.0])
    >>> k = jnp.array([0.2, 0.6, 0.2])
    >>> y = probconv.convolve(probconv.pad(x, 1, "wrap"), k, "valid")
    >>> wiener(y, k, snr=1e12).round(6) + 0.0
    Array([0., 0., 1., 3., 1., 0., 0., 2.], dtype=float64)
    """
    boundary = check_choice("boundary", boundary, WIENER_BOUNDARIES)
    if (noise_power is None) == (snr is None):
        raise ValueError(
            "Give exactly one of `noise_power` and `snr`; got "
            f"noise_power={noise_power!r}, snr={snr!r}."
        )
    for name, v in (
        ("noise_power", noise_power),
        ("snr", snr),
        ("signal_power", signal_power),
    ):
        if v is not None:
            check_param(name, v)
    y = as_field(y, "y")
    out_dtype = y.dtype
    y = y.astype(compute_dtype(y.dtype))
    ax = normalize_axes("axes", axes, y.ndim)
    check_whole(y, ax, "y", "wiener")
    kern = as_kernel(kernel, y.ndim, ax)
    dtype = compute_dtype(real_dtype(y, kern))
    sizes = {a: y.shape[a] for a in ax}
    if boundary == "reflect":
        # Not a pad before a correlation: the filter divides spectra (the
        # inverse of a circular convolution), which the engine's boundary
        # filters (`conv.correlate1d`, `correlate_nd`) do not compute. The
        # even extension is one period of the field's cosine series, whose
        # circular deconvolution is the reflecting-edge one; the engine's
        # `pad` defines it ('reflect': the edge sample repeated, the mirror
        # at the outer cell face), once, before the one transform.
        y_ext = pad(y, [(0, sizes[a]) for a in ax], "reflect", axes=ax)
    else:
        y_ext = y
    shape = tuple(y_ext.shape[a] for a in ax)
    real = not jnp.iscomplexobj(y)
    h = transfer(kern.astype(dtype), shape, ax, real)
    if reg is None:
        r2 = 1.0
    else:
        r2 = (
            jnp.abs(transfer(_reg_kernel(reg, y.ndim, ax, dtype), shape, ax, real)) ** 2
        )
    if snr is not None:
        lam = 1.0 / jnp.asarray(snr, dtype)
        ok = jnp.all(jnp.asarray(snr) >= 0)
    else:
        npow = jnp.asarray(noise_power, dtype)
        if signal_power is None:
            power = jnp.mean(jnp.abs(y) ** 2, axis=ax, keepdims=True)
            spow = jnp.maximum(power - npow, npow * 1e-6)
            ok = npow >= 0
        else:
            spow = jnp.asarray(signal_power, dtype)
            ok = (npow >= 0) & jnp.all(spow >= 0)
        lam = npow / spow
    spec = fft_nd(y_ext, shape, ax, real)
    filt = jnp.conj(h) / (jnp.abs(h) ** 2 + lam * r2)
    out = ifft_nd(filt * spec, shape, ax, real)
    for a in ax:
        out = jax.lax.slice_in_dim(out, 0, sizes[a], axis=a)
    return jnp.where(ok, out.astype(y.dtype), jnp.nan).astype(out_dtype)


def _reg_kernel(reg, ndim: int, axes: tuple[int, ...], dtype):
    if isinstance(reg, str):
        if reg != "laplacian":
            raise ValueError(
                f"`reg` must be None, 'laplacian' or an array; got {reg!r}."
            )
        k = len(axes)
        lap = np.zeros((3,) * k)
        centre = (1,) * k
        lap[centre] = 2.0 * k
        for i in range(k):
            for off in (0, 2):
                idx = list(centre)
                idx[i] = off
                lap[tuple(idx)] = -1.0
        return as_kernel(jnp.asarray(lap, dtype), ndim, axes, "reg")
    return as_kernel(reg, ndim, axes, "reg").astype(dtype)
