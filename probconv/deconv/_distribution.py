"""Recover the law of X from the laws of X + Y and of Y."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from probconv._checks import (
    check_choice,
    check_int,
    check_param,
    compute_dtype,
)
from probconv.conv import convolve, correlate, correlate1d

DECONV_METHODS = ("em", "tikhonov")


def deconvolve_distribution(
    Z,
    Y,
    *,
    method: str = "em",
    iterations: int = 2000,
    alpha: float = 0.0,
):
    r"""Recover the law of X from the laws of ``Z = X + Y`` and of Y.

    The inverse of ``X + Y`` for independent X and Y: given the masses of Z
    and of Y on grids of the same step, estimate the masses of X, keeping
    them non-negative and summing to one.

    Parameters
    ----------
    Z : probconv.distributions.Distribution
        The law of the sum (observed, possibly noisy, e.g. a histogram).
    Y : probconv.distributions.Distribution
        The law of the added variable (known), on a grid of the same step and
        kind as `Z`, with no more points than `Z`.
    method : {'em', 'tikhonov'}
        ``'em'``: the EM (Richardson-Lucy) iteration for the maximum-likelihood
        mixture weights, regularized by stopping after `iterations` (and by
        `alpha` smoothing, if positive). ``'tikhonov'``: least squares with a
        penalty ``alpha`` on the second differences of the masses, minimized
        over the probability simplex by accelerated projected gradient.
    iterations : int
        Number of iterations (static).
    alpha : float
        Regularization strength, non-negative: for ``'tikhonov'`` the weight
        of the roughness penalty; for ``'em'`` the weight of a smoothing step
        ``x <- (1 - alpha) x + alpha (x_{k-1} + 2 x_k + x_{k+1}) / 4`` after
        each iteration (the EMS algorithm; the end masses repeated past the
        ends), at most 1.

    Returns
    -------
    probconv.distributions.Distribution
        The law of X: ``Z.size - Y.size + 1`` points starting at
        ``Z.origin - Y.origin``, the kind and step of `Z`; masses
        non-negative and summing to one (``truncated`` is 0), in the dtype
        the masses of `Z` and `Y` promote to (laws built from float16 or
        bfloat16 values already hold float32 masses).

    Raises
    ------
    ValueError
        For an unknown `method`, steps or kinds that differ, `Y` longer than
        `Z`, a negative `iterations` or `alpha` (or ``alpha > 1`` for
        ``'em'``).
    TypeError
        If `Z` or `Y` is not a distribution, or `iterations` is not an int.

    See Also
    --------
    richardson_lucy, probconv.distributions.from_masses

    Notes
    -----
    With :math:`z = y * x` (full convolution) the model,

    .. math::
        \text{em:} \quad x_j \leftarrow \frac{x_j}{\sum_i y_i}
            \sum_i y_{i-j} \frac{z_i}{(y * x)_i}; \qquad
        \text{tikhonov:} \quad \min_{x \ge 0,\ \sum x = 1}
            \tfrac12 \|y * x - z\|^2 + \tfrac{\alpha}{2} \|\Delta^2 x\|^2.

    The EM step keeps :math:`\sum_j x_j` equal to
    :math:`\sum_i z_i / \sum_i y_i` and every mass non-negative; it
    increases the likelihood of `Z`'s masses as multinomial frequencies and
    converges slowly (sublinearly) where Y's characteristic function is
    small, which is the regularization: noise in `Z` at those frequencies
    is not amplified until late. Deconvolution is ill-posed in general:
    the error grows with the noise in `Z` divided by
    :math:`|\hat y(\theta)|`, so a smooth Y (large variance) allows only a
    coarse recovery of X.

    Examples
    --------
    >>> import numpy as np
    >>> from probconv.distributions import from_masses
    >>> from probconv.deconv import deconvolve_distribution
    >>> x = np.array([0.2, 0.5, 0.3]); y = np.array([0.6, 0.4])
    >>> Z = from_masses(np.convolve(x, y), origin=1.0)
    >>> X = deconvolve_distribution(Z, from_masses(y, origin=1.0),
    ...                             method="tikhonov", iterations=500)
    >>> X.masses.round(6).tolist(), float(X.origin)
    ([0.2, 0.5, 0.3], 0.0)
    """
    from probconv.distributions import Distribution, from_masses

    method = check_choice("method", method, DECONV_METHODS)
    iterations = check_int("iterations", iterations, minimum=0)
    check_param("alpha", alpha)
    if method == "em" and alpha > 1:
        raise ValueError(f"`alpha` must be at most 1 for method='em'; got {alpha!r}.")
    for name, d in (("Z", Z), ("Y", Y)):
        if not isinstance(d, Distribution):
            raise TypeError(
                f"`{name}` must be a probconv.distributions.Distribution; got "
                f"{type(d).__name__}."
            )
    if Z.step != Y.step:
        raise ValueError(
            f"`Z` and `Y` must have the same step; got {Z.step!r} and {Y.step!r}."
        )
    if Z.kind != Y.kind:
        raise ValueError(
            f"`Z` and `Y` must have the same kind; got {Z.kind!r} and {Y.kind!r}."
        )
    nz, ny = Z.masses.shape[-1], Y.masses.shape[-1]
    if ny > nz:
        raise ValueError(
            f"`Y` must not have more grid points than `Z`; got {ny} > {nz}."
        )
    z = Z.masses
    out_dtype = jnp.result_type(z, Y.masses)
    y = Y.masses.astype(compute_dtype(out_dtype))
    z = z.astype(y.dtype)
    nd = max(z.ndim, y.ndim)
    z = z.reshape((1,) * (nd - z.ndim) + z.shape)
    y = y.reshape((1,) * (nd - y.ndim) + y.shape)
    nx = nz - ny + 1
    batch = jnp.broadcast_shapes(z.shape[:-1], y.shape[:-1])
    x0 = jnp.full(batch + (nx,), 1.0 / nx, y.dtype)
    if method == "em":
        x = _em(z, y, x0, iterations, alpha)
    else:
        x = _tikhonov(z, y, x0, iterations, alpha)
    x = x / jnp.sum(x, axis=-1, keepdims=True)
    origin = jnp.broadcast_to(Z.origin - Y.origin, batch)
    return from_masses(x.astype(out_dtype), origin=origin, step=Z.step, kind=Z.kind)


def _em(z, y, x0, iterations: int, alpha: float):
    ysum = jnp.sum(y, axis=-1, keepdims=True)
    binomial = jnp.asarray(np.array([0.25, 0.5, 0.25]), y.dtype)

    def body(_, x):
        model = convolve(x, y, "full", axes=-1)
        pos = model > 0
        ratio = jnp.where(pos, z / jnp.where(pos, model, 1.0), 0.0)
        x = x * correlate(ratio, y, "valid", axes=-1) / ysum
        x = jnp.maximum(x, 0.0)
        if alpha:  # the edge masses repeated past the ends: 'nearest'
            smooth = correlate1d(x, binomial, -1, boundary="nearest")
            x = (1.0 - alpha) * x + alpha * smooth
        return x

    return jax.lax.fori_loop(0, iterations, body, x0)


def _tikhonov(z, y, x0, iterations: int, alpha: float):
    # Lipschitz constant of the gradient: |y_hat|^2 <= (sum |y|)^2, and the
    # second-difference operator has norm at most 4.
    lip = jnp.sum(jnp.abs(y), axis=-1, keepdims=True) ** 2 + 16.0 * alpha
    d2 = jnp.asarray(np.array([1.0, -2.0, 1.0]), y.dtype)
    d2 = d2.reshape((1,) * (x0.ndim - 1) + (3,))

    def grad(x):
        r = convolve(x, y, "full", axes=-1) - z
        g = correlate(r, y, "valid", axes=-1)
        if alpha and x.shape[-1] >= 3:
            rough = convolve(x, d2, "valid", axes=-1)
            g = g + alpha * convolve(rough, d2, "full", axes=-1)
        return g

    def body(k, state):
        x, v, tk = state
        x_new = _project_simplex(v - grad(v) / lip)
        t_new = 0.5 * (1.0 + jnp.sqrt(1.0 + 4.0 * tk**2))
        v_new = x_new + ((tk - 1.0) / t_new) * (x_new - x)
        return x_new, v_new, t_new

    one = jnp.ones((), x0.dtype)
    x, _, _ = jax.lax.fori_loop(0, iterations, body, (x0, x0, one))
    return x


def _project_simplex(v):
    """Euclidean projection of each row onto ``{x >= 0, sum x = 1}``."""
    n = v.shape[-1]
    u = jnp.flip(jnp.sort(v, axis=-1), axis=-1)
    css = jnp.cumsum(u, axis=-1) - 1.0
    k = jnp.arange(1, n + 1, dtype=v.dtype)
    cond = u - css / k > 0
    rho = jnp.sum(cond, axis=-1, keepdims=True)
    theta = jnp.take_along_axis(css, rho - 1, axis=-1) / rho.astype(v.dtype)
    return jnp.maximum(v - theta, 0.0)
