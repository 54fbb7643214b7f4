"""Template matching by normalized cross-correlation (N-D)."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from .._checks import check_choice
from ..conv import correlate
from ..conv.internal import METHODS, bounded_jit, check_boundary, pad
from ._args import as_array, half_dtype, mean_shift, restore, to_float
from ._windows import box_sum, constant_boxes, pearson


def match_template(
    image: ArrayLike,
    template: ArrayLike,
    *,
    pad_input: bool = False,
    mode: str = "constant",
    constant_values: float = 0.0,
    method: str = "auto",
) -> jax.Array:
    r"""Match a template to an image by normalized cross-correlation.

    Like `skimage.feature.match_template`, but for any number of dimensions,
    jit-compiled, differentiable, always within :math:`[-1, 1]` (scikit-image
    can leave that range through cancellation, its issue 1712), and exact
    where the image is constant: each output is the Pearson correlation
    coefficient between the template and the image window under it.

    Parameters
    ----------
    image : array_like
        The image, of any number of dimensions.
    template : array_like
        The template, with as many dimensions as `image` and no larger along
        any axis.
    pad_input : bool
        If False, only windows inside the image: the output has shape
        ``image.shape - template.shape + 1`` and entry ``i`` matches the
        template's corner at ``i``. If True, the image is padded so that the
        output has the image's shape and entry ``i`` matches the template's
        centre (index ``t // 2`` along an axis of length ``t``) at ``i``,
        as in scikit-image.
    mode : {'constant', 'reflect', 'mirror', 'nearest', 'wrap'}
        How the image is padded when `pad_input` is True, with probconv's
        (scipy.ndimage's) names: numpy.pad's ``'symmetric'`` is
        ``'reflect'`` here, numpy's ``'reflect'`` is ``'mirror'`` and
        ``'edge'`` is ``'nearest'``.
    constant_values : float
        The fill value for ``mode='constant'`` (scikit-image's default, 0).
    method : {'auto', 'direct', 'fft', 'overlap_add'}
        How the engine computes the correlation (see `probconv.correlate`).

    Returns
    -------
    jax.Array
        The correlation coefficients, with the dtype of the inputs (float for
        integer images; half precision is computed in float32 and returned
        in its own dtype).

    Raises
    ------
    ValueError
        If the dimensions differ, the template is larger than the image along
        an axis, an input is empty, or `mode` is unknown.
    TypeError
        For non-numeric or complex inputs.

    See Also
    --------
    xcorr, probconv.correlate, skimage.feature.match_template

    Notes
    -----
    With :math:`t` the template minus its mean and :math:`W_i` the window of
    the image :math:`f` at :math:`i` (of :math:`m` pixels),

    .. math::

        \gamma_i = \frac{\sum_{j} t_j \, f_{i+j}}
                        {\sqrt{\sum_j t_j^2 \,
                               \left(\sum_{j} f_{i+j}^2
                                     - \tfrac{1}{m}(\sum_j f_{i+j})^2\right)}}

    (Lewis, "Fast normalized cross-correlation", 1995). The numerator is one
    engine correlation; the window sums are running sums along each axis in
    turn (integral images), not a loop over windows. The image is first
    shifted by its own mean (before padding), which leaves :math:`\gamma`
    unchanged and keeps the window sums of squares from cancelling
    (``1e8 + noise`` is as accurate as the noise alone); the window variance
    is still a difference of sums, so a window whose spread is tiny next to
    its distance from that mean loses relative accuracy. Where the image
    window is constant (found exactly, by counting changes between
    neighbours) or its variance is below 16 machine epsilons of its sum of
    squares, and everywhere if the template is constant, :math:`\gamma_i` is
    defined as 0 (as scikit-image does for a zero denominator), never NaN.

    Examples
    --------
    >>> import numpy as np
    >>> from probconv.similarity import match_template
    >>> image = np.zeros((6, 6))
    >>> image[1, 1], image[4, 4] = 1.0, -1.0
    >>> template = np.zeros((3, 3))
    >>> template[1, 1] = 1.0
    >>> np.round(np.asarray(match_template(image, template)), 3)
    array([[ 1.   , -0.125,  0.   ,  0.   ],
           [-0.125, -0.125,  0.   ,  0.   ],
           [ 0.   ,  0.   ,  0.125,  0.125],
           [ 0.   ,  0.   ,  0.125, -1.   ]])
    """
    image = as_array(image, "image", allow_complex=False)
    template = as_array(template, "template", allow_complex=False)
    if not isinstance(pad_input, (bool, np.bool_)):
        raise TypeError(f"`pad_input` must be True or False; got {pad_input!r}.")
    mode = check_boundary(mode, "mode")
    if image.ndim != template.ndim:
        raise ValueError(
            "`template` must have as many dimensions as `image`; got shapes "
            f"{template.shape} and {image.shape}."
        )
    if any(t > n for t, n in zip(template.shape, image.shape)):
        raise ValueError(
            "`template` must be no larger than `image` along every axis; got "
            f"shapes {template.shape} and {image.shape}."
        )
    try:
        constant_values = float(constant_values)
    except (TypeError, ValueError) as err:
        raise TypeError(
            f"`constant_values` must be a real number; got {constant_values!r}."
        ) from err
    method = check_choice("method", method, METHODS)
    return _match(image, template, bool(pad_input), mode, constant_values, method)


@bounded_jit(static_argnums=(2, 3, 4, 5))
def _match(image, template, pad_input, mode, constant_values, method):
    half = half_dtype(image, template)
    dtype = jnp.result_type(to_float(image).dtype, to_float(template).dtype)
    image = image.astype(dtype)
    template = template.astype(dtype)
    window = template.shape
    # Shift by the mean of the image itself, not of the padded image: a fill
    # value far from the image's level must not leave every window offset.
    shift = mean_shift(image, axis=None)
    f = image - shift
    if pad_input:
        # One extended copy (the engine's `pad`, scipy.ndimage's boundaries)
        # feeds four window computations: the correlation, the box sums of
        # f and f**2, and the exact test for constant boxes, which counts
        # changes between neighbours and so needs the extended values
        # themselves. The engine's boundary-aware filters would extend the
        # image once per computation (and a constant fill's corners would
        # need a fill scaled per axis); this copy is one pass over the
        # image, small next to the correlation's transforms.
        widths = [(t // 2, t - 1 - t // 2) for t in window]
        cval = jnp.asarray(constant_values, dtype) - shift.reshape(())
        f = pad(f, widths, mode, cval=cval)
    return restore(_ncc(f, template, window, method), half)


def _ncc(f, template, window, method):
    m = math.prod(window)
    t = template - jnp.mean(template)
    t = t - jnp.mean(t)
    num = correlate(f, t, "valid", method=method)
    s1 = box_sum(f, window)
    s2 = box_sum(f * f, window)
    # Only the template's variance enters (the window sum of t is zero), so
    # feed the Pearson helper a template "window" that sums to zero.
    tt = jnp.sum(t * t)
    t_const = jnp.all(template == template.reshape(-1)[0])
    return pearson(
        num,
        s1,
        jnp.zeros((), num.dtype),
        s2,
        tt,
        m,
        constant_boxes(f, window),
        t_const,
        s2,
        tt,
    )
