"""Plots of a distribution: masses or density, cdf, and tails on a log axis."""

from __future__ import annotations

import numpy as np

from ._common import new_figure


def plot_distribution(dist, *, title: str | None = None, tails: bool = True):
    """Plot a `probconv.distributions.Distribution`: pmf bars or pdf, cdf, and tails.

    Parameters
    ----------
    dist : probconv.distributions.Distribution
        An unbatched distribution (lattice or density kind).
    title : str, optional
        A title over the figure.
    tails : bool
        Add a third panel with ``cdf`` and ``sf`` on a logarithmic axis, where
        the tail probabilities that a linear axis hides are visible.

    Returns
    -------
    matplotlib.figure.Figure
        The figure (save it with ``fig.savefig``).

    Raises
    ------
    TypeError
        If `dist` is not a `Distribution`.
    ValueError
        If `dist` is batched.

    Examples
    --------
    >>> from probconv import distributions as dist
    >>> from probconv import plot
    >>> fig = plot.plot_distribution(dist.dice(3, 6), title="3d6")
    >>> len(fig.axes)
    3
    """
    from ..distributions import Distribution

    if not isinstance(dist, Distribution):
        raise TypeError(f"`dist` must be a probconv Distribution; got {dist!r}.")
    if dist.batch_shape:
        raise ValueError(
            f"`dist` must be a single distribution; got batch shape "
            f"{dist.batch_shape}. Index it first, e.g. dist[0]."
        )
    x = np.asarray(dist.points)
    m = np.asarray(dist.masses, dtype=np.float64)
    cdf = np.asarray(dist.cdf(x), dtype=np.float64)
    sf = np.asarray(dist.sf(x), dtype=np.float64)
    fig, axes = new_figure(3 if tails else 2)
    ax = axes[0]
    if dist.kind == "lattice":
        ax.bar(x, m, width=0.8 * dist.step, color="C0")
        ax.set_ylabel("P(X = x)")
        axes[1].step(x, cdf, where="post", color="C1")
    else:
        ax.plot(x, m / dist.step, color="C0")
        ax.set_ylabel("density")
        axes[1].plot(x, cdf, color="C1")
    ax.set_xlabel("x")
    axes[1].set_ylabel("P(X <= x)")
    axes[1].set_xlabel("x")
    if tails:
        ax = axes[2]
        pos = (cdf > 0) | (sf > 0)
        ax.semilogy(x[pos], np.where(cdf > 0, cdf, np.nan)[pos], label="P(X <= x)")
        ax.semilogy(x[pos], np.where(sf > 0, sf, np.nan)[pos], label="P(X > x)")
        ax.set_xlabel("x")
        ax.set_ylabel("tail probability")
        ax.legend(loc="lower center", fontsize="small")
    if title:
        fig.suptitle(title)
    return fig


def plot_density(grid, density, *, samples=None, title: str | None = None):
    """Plot a density on a grid, with an optional rug or histogram of samples.

    Parameters
    ----------
    grid, density : array_like
        The grid points and the density values (e.g. from
        `probconv.smooth.kde`).
    samples : array_like, optional
        The data: drawn as a histogram behind the curve.
    title : str, optional
        A title for the axes.

    Returns
    -------
    matplotlib.figure.Figure
        The figure.

    Raises
    ------
    ValueError
        If `grid` and `density` differ in shape or are not 1-D.

    Examples
    --------
    >>> import numpy as np
    >>> from probconv import plot
    >>> g = np.linspace(-4, 4, 101)
    >>> fig = plot.plot_density(g, np.exp(-g**2 / 2) / np.sqrt(2 * np.pi))
    >>> fig.axes[0].get_ylabel()
    'density'
    """
    g = np.asarray(grid, dtype=np.float64)
    d = np.asarray(density, dtype=np.float64)
    if g.ndim != 1 or g.shape != d.shape:
        raise ValueError(
            "`grid` and `density` must be 1-D arrays of the same length; got "
            f"shapes {g.shape} and {d.shape}."
        )
    fig, (ax,) = new_figure(1, width=5.0)
    if samples is not None:
        s = np.asarray(samples, dtype=np.float64)
        s = s[np.isfinite(s)]
        ax.hist(s, bins=min(100, max(10, s.size // 20)), density=True, alpha=0.3)
    ax.plot(g, d, color="C3")
    ax.set_xlabel("x")
    ax.set_ylabel("density")
    if title:
        ax.set_title(title)
    return fig
