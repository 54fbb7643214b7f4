"""Plots of smoothing and correlation results."""

from __future__ import annotations

import numpy as np

from ._common import new_figure


def plot_smoothing(x, y, smoothed, *, labels=None, title: str | None = None):
    """Plot a noisy series and one or more smoothed versions of it.

    Parameters
    ----------
    x : array_like or None
        The abscissa (sample index when None).
    y : array_like
        The raw series; NaNs show as gaps.
    smoothed : array_like or sequence of array_like
        One smoothed series, or several of the same length as `y`.
    labels : sequence of str, optional
        A legend label per smoothed series.
    title : str, optional
        A title for the axes.

    Returns
    -------
    matplotlib.figure.Figure
        The figure.

    Raises
    ------
    ValueError
        If the lengths differ or `labels` does not match.

    Examples
    --------
    >>> import numpy as np
    >>> from probconv import plot
    >>> y = np.sin(np.linspace(0, 6, 50))
    >>> fig = plot.plot_smoothing(None, y, [y, 0.9 * y], labels=["a", "b"])
    >>> len(fig.axes[0].lines)
    3
    """
    y = np.asarray(y, dtype=np.float64)
    x = np.arange(y.size) if x is None else np.asarray(x, dtype=np.float64)
    series = np.asarray(smoothed, dtype=np.float64)
    if series.ndim == 1:
        series = series[None]
    if x.shape != y.shape or series.shape[-1] != y.size or y.ndim != 1:
        raise ValueError(
            "`x`, `y` and each series of `smoothed` must be 1-D of one length; "
            f"got {x.shape}, {y.shape} and {series.shape}."
        )
    if labels is not None and len(labels) != len(series):
        raise ValueError(
            f"`labels` must give one label per smoothed series ({len(series)}); "
            f"got {len(labels)}."
        )
    fig, (ax,) = new_figure(1, width=7.0)
    ax.plot(x, y, color="0.6", lw=0.8, label="data")
    for i, s in enumerate(series):
        ax.plot(x, s, lw=1.6, label=None if labels is None else labels[i])
    if labels is not None:
        ax.legend(fontsize="small")
    if title:
        ax.set_title(title)
    return fig


def plot_correlation(lags, values, *, peak: bool = True, title: str | None = None):
    """Plot a cross-correlation against its lags, marking the peak.

    Parameters
    ----------
    lags, values : array_like
        The lags (e.g. from `probconv.correlation_lags`) and correlation values.
    peak : bool
        Mark the lag of the largest value.
    title : str, optional
        A title for the axes.

    Returns
    -------
    matplotlib.figure.Figure
        The figure.

    Raises
    ------
    ValueError
        If `lags` and `values` differ in shape or are not 1-D.

    Examples
    --------
    >>> import numpy as np
    >>> from probconv import plot
    >>> fig = plot.plot_correlation(np.arange(-3, 4), [0, 1, 2, 5, 2, 1, 0])
    >>> fig.axes[0].get_xlabel()
    'lag'
    """
    lags = np.asarray(lags)
    v = np.asarray(values, dtype=np.float64)
    if lags.ndim != 1 or lags.shape != v.shape:
        raise ValueError(
            "`lags` and `values` must be 1-D of the same length; got shapes "
            f"{lags.shape} and {v.shape}."
        )
    fig, (ax,) = new_figure(1, width=6.0)
    ax.plot(lags, v, color="C0")
    if peak:
        i = int(np.nanargmax(v))
        ax.axvline(lags[i], color="C3", ls="--", lw=1)
        ax.annotate(f"peak at lag {lags[i]:g}", (lags[i], v[i]), fontsize="small")
    ax.set_xlabel("lag")
    ax.set_ylabel("correlation")
    if title:
        ax.set_title(title)
    return fig
