"""The operations that route between the kinds of law: the top of the package.

`add`, `iid_sum`, `mixture` and `compound` check their arguments and send
each case to its implementation: the plain grid cores (`_lattice_ops`,
`_compound`), the fourth-order density sums (`_density_ops`,
`_compound_density`, `_mixed`) or the relative-accuracy methods
(`_relative_ops`). `negate`, `shift` and `scale` keep a `Continuous`'s singular
part. Importing this module installs ``+``, ``-`` and ``*`` of every
`Distribution` (`_base.register_arithmetic`): the classes below never
import the operations above them.
"""

from __future__ import annotations

from collections.abc import Sequence

from jax.typing import ArrayLike

from .._checks import check_int
from . import _lattice_ops
from ._base import Distribution, check_dist, register_arithmetic
from ._compound import compound_lattice
from ._compound_density import compound_density
from ._continuous import Continuous
from ._density_ops import (
    add_density,
    iid_sum_density,
    negate_continuous,
    scale_continuous,
    shift_continuous,
)
from ._lattice_ops import add_lattice, iid_sum_lattice, mix_masses
from ._mixed import mix_continuous
from ._params import check_accuracy
from ._relative_compound_density import relative_compound_density
from ._relative_ops import relative_add, relative_iid_sum
from ._split_grid import iid_sum_split, whole_grid


def add(x: Distribution, y: Distribution, *, accuracy: str = "absolute"):
    r"""Return the law of ``X + Y`` for independent `X` and `Y`.

    Parameters
    ----------
    x, y : Distribution
        The laws of the summands; batch shapes broadcast. Their steps must be
        equal or integer multiples of each other (the coarser grid is
        refined). A lattice plus a density is a density (an exact
        convolution); two densities are summed with a fourth-order
        discretization correction (see `probconv.distributions.Continuous`).
    accuracy : {'absolute', 'relative'}
        ``'absolute'`` (default, fastest): plain convolution; every mass has
        an absolute error near ``eps * max(masses)``, so masses far below
        the largest are noise (clipped at 0, never negative).
        ``'relative'``: exponentially tilted FFTs (see
        `probconv.distributions.RelativeDistribution`); every mass keeps a small
        relative error (about 1e-10 in float64, 1e-4 in float32) however
        small it is, and the log-space queries reach far below the smallest
        float. Returns a `RelativeDistribution`; for densities a
        `RelativeDensity`, whose cell masses are summed to second order
        (all weights positive): its error is the discretization's, about
        ``d (theta h)**2 / 12`` relative in a tail ``exp(-theta x)`` for
        ``d`` density summands, estimated per point (`relative_error`,
        `RelativeDensity.sf_error`). A density built by a family
        constructor (or `from_scipy` of a continuous law) with concrete
        parameters and its default support is first continued past its
        grid, on the same step, from its scipy law's log CDF/SF, to where
        its tail mass leaves the float range (at most 8,192 cells; a heavy
        tail such as a lognormal keeps its grid): the sum's far tail is
        then resolved. A law given an explicit ``support`` keeps that grid
        (the user's word on it): past what it reaches the sum's points are
        unresolved (a large stated error; NaN past the sum's grid, with
        `bounds`).

    Returns
    -------
    Distribution
        On the grid from ``x.origin + y.origin`` with ``n_x + n_y - 1``
        points (after refinement).

    Raises
    ------
    TypeError
        If either argument is not a Distribution.
    ValueError
        For steps that are not integer multiples of each other, or an
        unknown `accuracy`.

    Notes
    -----
    .. math:: P(X + Y = x_0 + y_0 + k h) = \sum_j p_j q_{k - j}.

    Negative round-off is clipped to 0 and the masses rescaled to the exact
    total ``sum(p) * sum(q)``; the truncated mass is what involves the
    truncated part of either input, :math:`t_x T_y + T_x t_y + t_x t_y`.

    Examples
    --------
    >>> from probconv import distributions as dist
    >>> s = dist.die(6) + dist.die(6)
    >>> round(float(s.pmf(7)), 15), float(s.support()[0])
    (0.166666666666667, 2.0)
    """
    if accuracy == "relative":
        return relative_add(x, y)
    check_accuracy(accuracy)
    x, y = check_dist(x, "x"), check_dist(y, "y")
    if "density" in (x.kind, y.kind):
        return add_density(x, y, accuracy=accuracy)
    return add_lattice(x, y, accuracy=accuracy)


def negate(x: Distribution) -> Distribution:
    """Return the law of ``-X`` (the masses reversed)."""
    if isinstance(x, Continuous):
        return negate_continuous(x)
    return _lattice_ops.negate(x)


def shift(x: Distribution, c: ArrayLike) -> Distribution:
    """Return the law of ``X + c`` (differentiable in `c`; `c` may be batched)."""
    if isinstance(x, Continuous):
        return shift_continuous(x, c)
    return _lattice_ops.shift(x, c)


def scale(x: Distribution, c) -> Distribution:
    """Return the law of ``c * X`` for a real Python number `c` (scales the grid)."""
    if isinstance(x, Continuous):
        return scale_continuous(x, c)
    return _lattice_ops.scale(x, c)


def iid_sum(x: Distribution, n: int, *, accuracy: str = "absolute") -> Distribution:
    r"""Return the law of :math:`X_1 + \dots + X_n` for independent copies of `x`.

    One real FFT of the masses, raised to the `n`-th power and transformed
    back: ``O(N log N)`` for the ``N = n (size - 1) + 1`` points of the
    result, instead of ``n - 1`` convolutions.

    Parameters
    ----------
    x : Distribution
        The law of each summand (batched or not).
    n : int
        The number of summands, a static Python integer ``>= 0``
        (``n = 0`` gives the point mass at 0).
    accuracy : {'absolute', 'relative'}
        ``'absolute'`` (default, fastest): plain convolution; every mass has
        an absolute error near ``eps * max(masses)``, so masses far below
        the largest are noise (clipped at 0, never negative).
        ``'relative'``: exponentially tilted FFTs (see
        `probconv.distributions.RelativeDistribution`); every mass keeps a small
        relative error (about 1e-10 in float64, 1e-4 in float32) however
        small it is, and the log-space queries reach far below the smallest
        float. Returns a `RelativeDistribution`; for densities a
        `RelativeDensity`, whose cell masses are summed to second order
        (all weights positive): its error is the discretization's, about
        ``d (theta h)**2 / 12`` relative in a tail ``exp(-theta x)`` for
        ``d`` density summands, estimated per point (`relative_error`,
        `RelativeDensity.sf_error`). A density from a family constructor
        with its default support first continues its own grid, as in
        `add` (an explicit ``support`` is kept).

    Returns
    -------
    Distribution
        On the grid from ``n * x.origin``, with the same step and kind.

    Raises
    ------
    TypeError
        If `x` is not a Distribution or `n` not an integer.
    ValueError
        For a negative `n` or an unknown `accuracy`.

    Notes
    -----
    With :math:`\hat p_\ell = \sum_k p_k e^{-2\pi i k \ell / P}` for a fast
    length :math:`P \ge N`,

    .. math:: P(S_n = n x_0 + k h) = \frac{1}{P} \sum_\ell \hat p_\ell^{\,n}
              e^{2\pi i k \ell / P}.

    The power is taken by repeated squaring; its rounding grows to about
    :math:`n \epsilon` relative on the bulk of the law (as for ``n - 1``
    repeated convolutions). Negative round-off is clipped without changing
    the total. The truncated mass becomes :math:`(T + t)^n - T^n`.

    A lattice law whose masses are split over devices along the grid (a
    `jax.sharding.NamedSharding`; under `jax.jit` a mesh of `Explicit`
    axes) keeps them split: the FFT, the power and the inverse run across
    the devices (the engine's distributed transform), and the result's
    grid, padded with zero masses to whole blocks, is split like `x`'s.
    Density laws, and grids whose blocks admit no layout of the transform,
    are joined along the grid first (one all-gather of `x`'s masses) and
    the result replicated along it (see the sharding guide, "Distributions
    of sums").

    See Also
    --------
    add, compound

    Examples
    --------
    >>> from probconv import distributions as dist
    >>> s = dist.iid_sum(dist.die(6), 3)
    >>> round(float(s.pmf(10)), 12), float(s.support()[1])
    (0.125, 18.0)
    """
    if accuracy == "relative":
        return relative_iid_sum(x, n)
    check_accuracy(accuracy)
    x = check_dist(x, "x")
    n = check_int("n", n)
    kept = iid_sum_split(x, n)  # a lattice split along its grid stays split
    if kept is not None:
        return kept
    x = whole_grid(x)
    if x.kind == "density":
        return iid_sum_density(x, n, accuracy=accuracy)
    return iid_sum_lattice(x, n)


def mixture(weights: ArrayLike, dists: Sequence[Distribution]) -> Distribution:
    r"""Return the law that is ``dists[i]`` with probability ``weights[i]``.

    Parameters
    ----------
    weights : array_like
        Shape ``(..., k)``: non-negative weights summing to one, for the
        ``k`` components; leading axes broadcast with the batch shapes.
        Differentiable.
    dists : sequence of Distribution
        The ``k`` components; lattices mixed with densities give a mixed law
        (a `Continuous` whose atoms are recorded). Their steps must be integer
        multiples of the finest, and their origins on its grid.

    Returns
    -------
    Distribution
        On a grid covering every component, with truncated mass
        :math:`\sum_i w_i t_i`.

    Raises
    ------
    ValueError
        For an empty `dists`, a length mismatch, bad weights,
        steps that do not nest, or origins off the common grid.
    TypeError
        If a component is not a Distribution.

    Notes
    -----
    .. math:: P(X = x) = \sum_i w_i P(X_i = x).

    The common grid is laid out from the origins' values. Under `jax.jit`
    with traced origins its length cannot depend on them: it is the length
    of the longest component, and components are placed at their offsets at
    run time; if one does not fit (or lies off the grid), the masses are NaN.

    Examples
    --------
    >>> from probconv import distributions as dist
    >>> m = dist.mixture([0.5, 0.5], [dist.die(4), dist.die(6) + 2])
    >>> float(m.support()[0]), float(m.support()[1]), round(float(m.pmf(4)), 12)
    (1.0, 8.0, 0.208333333333)
    """
    if isinstance(dists, Distribution) or not isinstance(dists, Sequence):
        raise TypeError(
            f"`dists` must be a sequence of Distribution; got {type(dists).__name__}."
        )
    if len(dists) == 0:
        raise ValueError("`dists` must hold at least one Distribution; got none.")
    dists = [check_dist(d, f"dists[{i}]") for i, d in enumerate(dists)]
    kinds = {d.kind for d in dists}
    singular = any(isinstance(d, Continuous) for d in dists)
    if "density" in kinds and (len(kinds) > 1 or singular):
        return mix_continuous(weights, dists)
    return mix_masses(weights, dists)


def compound(
    N: Distribution,
    X: Distribution,
    *,
    size: int | None = None,
    tail: float | None = None,
    padding: int = 1,
    tilt: float | None = None,
    accuracy: str = "absolute",
    full_output: bool = False,
):
    r"""Law of the random sum :math:`S = X_1 + \dots + X_N`.

    `N` (the frequency) is independent of the iid severities :math:`X_i`
    with the law `X`. Computed in the Fourier domain: the frequency's
    probability generating function applied to the transform of `X`, one
    forward and one inverse real FFT, with the wrap-around of the circular
    transform suppressed by padding and exponential tilting.

    Parameters
    ----------
    N : Distribution
        The frequency. `poisson`, `binomial`, `negative_binomial`,
        `geometric` and `bernoulli` use their closed-form generating
        function (exact whatever their grid); any other lattice on
        ``0, 1, 2, ...`` (step 1) uses its masses as polynomial
        coefficients (Horner's rule; cost grows with its length).
    X : Distribution
        The severity: a lattice whose grid starts at a non-negative
        multiple of its step (``X >= 0``), or a density on cells centred on
        multiples of its step, empty below 0 (a continuous severity: the
        result is then a mixed law with its atom :math:`P(N = 0)` at 0,
        fourth order where its density is smooth; with
        ``accuracy='relative'`` a density without atoms). Where its origin
        is traced and breaks this, the masses are NaN.
    size : int, optional
        Number of grid points of `S` kept, ``0, h, ..., (size-1) h``.
        Default: from a Chernoff bound on :math:`P(S \ge s)` so that the
        mass beyond is below `tail` (needs concrete values; required under
        `jax.jit` or `jax.vmap`).
    tail : float, optional
        Target mass beyond the grid for the default `size` (default:
        machine epsilon of the dtype).
    padding : int
        The transform length is the fast length ``>= size * 2**padding``
        (default 1: doubling), as in the aggregate package.
    tilt : float, optional
        Exponential tilt :math:`c \ge 0`: masses are weighted by
        :math:`\theta^k`, :math:`\theta = e^{-c/P}`, before the transform
        and unweighted after, which damps the mass wrapped around by
        :math:`e^{-c}` and amplifies round-off by at most
        :math:`e^{c \cdot \mathrm{size}/P}`. Default: the value that
        balances the two from the Chernoff bound where values are concrete,
        0 where they are traced.
    accuracy : {'absolute', 'relative'}
        ``'absolute'`` (default, fastest): plain convolution; every mass has
        an absolute error near ``eps * max(masses)``, so masses far below
        the largest are noise (clipped at 0, never negative).
        ``'relative'``: exponentially tilted FFTs (see
        `probconv.distributions.RelativeDistribution`); every mass keeps a small
        relative error (about 1e-10 in float64, 1e-4 in float32) however
        small it is, and the log-space queries reach far below the smallest
        float. Returns a `RelativeDistribution`; the FFT length is at least
        four times `size`, and `tilt` and `padding` are not used. With a
        density severity it returns a `RelativeDensity` (a mixed law: its
        atom :math:`P(N = 0)` at 0 in ``log_atom``, exact; the continuous
        part's log cell masses; a `geometric` count, from 1, is one
        severity plus the compound of a count from 0, `negative_binomial`
        with ``r = 1``, and has no atom; its stated error is then that
        sum's, looser). Its error is the discretization's, second order in
        the step and growing with the count of severities behind
        a point (about :math:`E[N \mid S = x] (\theta h)^2 / 24` for a tail
        :math:`e^{-\theta x}`); it is stated per point (`relative_error`,
        and `sf_error` for `sf`). Its grid runs until the masses leave the
        float range or the severity's grid ends (past which the severity's
        cut mass marks points unresolved: a heavy tail such as a lognormal
        is resolved to about its grid's end); past it the log queries
        return NaN, never ``-inf``. A severity from a family constructor
        with its default support is first continued upward past its grid,
        as in `add`; one with an explicit ``support`` keeps it.
    full_output : bool
        Also return a dict of diagnostics: ``fft_length``, ``tilt``,
        ``alias_bound`` (a bound on the mass wrapped around into the kept
        grid; a Chernoff bound where concrete, else ``e^{-c}`` times the
        truncated mass) and ``noise_bound``.

    Returns
    -------
    Distribution, or (Distribution, dict) with `full_output`
        A lattice from 0 with the step of `X`. Its `truncated` is the mass
        of `S` beyond the grid, plus any mass the inputs had lost.

    Raises
    ------
    TypeError
        If `N` or `X` is not a Distribution, or static arguments are not.
    ValueError
        For an `X` below 0 or off its own grid from 0 (or, with
        ``accuracy='relative'``, a density `X` with atoms), a
        frequency off ``0, 1, 2, ...``, a traced input without `size`, a
        negative `tilt`, or an unknown `accuracy`.

    Notes
    -----
    With :math:`G_N(z) = E[z^N]` and :math:`\hat x_\ell = \sum_k \theta^k
    x_k e^{-2\pi i k\ell/P}`,

    .. math:: P(S = kh) \approx \theta^{-k} \frac{1}{P} \sum_{\ell}
              G_N(\hat x_\ell)\, e^{2\pi i k \ell/P},

    exact up to the aliased terms :math:`\sum_{j \ge 1} \theta^{jP}
    P(S = (k + jP) h) \le e^{-c} P(S \ge P h)`. Severity mass at or beyond
    ``size`` only reaches `S` at or beyond ``size``, so it is dropped before
    the transform.

    A lattice severity whose masses are split over devices along the grid
    keeps them split: the tilted transform is one FFT distributed over the
    devices, the generating function applied to each device's rows of it,
    and the result (``size`` points, then zero masses to whole blocks) is
    split like `X`. In relative mode, for densities and for frequencies
    with batch axes the grid is joined first (one all-gather of the masses
    of `X`; the result replicated along the grid). See the sharding guide,
    "Distributions of sums".

    See Also
    --------
    iid_sum, poisson, negative_binomial

    Examples
    --------
    >>> from probconv import distributions as dist
    >>> s = dist.compound(dist.poisson(2.0), dist.bernoulli(0.5))
    >>> p1 = dist.poisson(1.0)   # thinning: Poisson(2) of Bernoulli(1/2)
    >>> bool(abs(s.pmf(3) - p1.pmf(3)) < 1e-15), float(s.truncated) < 1e-15
    (True, True)

    A ruin probability far in the tail: claims Exp(1), safety loading
    :math:`t = 1`, so :math:`\psi(u) = \rho e^{-(1 - \rho) u}` with
    :math:`\rho = 1/2` (a geometric count from 0 of Exp(1) severities):

    >>> import math
    >>> e = dist.exponential(step=0.1, support=(0.0, 400.0))
    >>> s = dist.compound(dist.negative_binomial(1.0, 0.5), e, accuracy="relative")
    >>> got, want = float(s.logsf(500.0)), math.log(0.5) - 250.0   # about 1e-109
    >>> abs(math.expm1(got - want)) <= float(s.sf_error(500.0)) < 0.5
    True
    """
    if accuracy != "relative":
        check_accuracy(accuracy)
    N = whole_grid(check_dist(N, "N"))
    X = check_dist(X, "X")  # a lattice's split grid: see `compound_lattice`
    padding = check_int("padding", padding)
    if full_output not in (True, False):
        raise TypeError(f"`full_output` must be True or False; got {full_output!r}.")
    if X.kind == "density":  # densities split along the grid join it first
        X = whole_grid(X)
    if X.kind == "density" and accuracy == "relative":
        return relative_compound_density(
            N, X, size=size, tail=tail, full_output=full_output
        )
    if X.kind == "density":
        return compound_density(
            N,
            X,
            size=size,
            tail=tail,
            padding=padding,
            tilt=tilt,
            full_output=full_output,
        )
    return compound_lattice(
        N,
        X,
        size=size,
        tail=tail,
        padding=padding,
        tilt=tilt,
        accuracy=accuracy,
        full_output=full_output,
    )


register_arithmetic(add=add, negate=negate, shift=shift, scale=scale)
