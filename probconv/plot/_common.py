"""matplotlib import with a clear message when the extra is missing."""

from __future__ import annotations


def new_figure(ncols: int = 1, nrows: int = 1, *, width: float = 4.0, height=3.2):
    """Return ``(fig, axes)``: a figure built without pyplot, and its axes.

    The figures of probconv's plotting functions and examples start here: a
    `matplotlib.figure.Figure` with constrained layout, made without pyplot
    so that it works headless and in threads; save it with
    ``fig.savefig("file.png")``.

    Parameters
    ----------
    ncols, nrows : int
        The grid of axes.
    width, height : float
        The size of one panel in inches.

    Returns
    -------
    fig : matplotlib.figure.Figure
    axes : numpy.ndarray
        The ``nrows * ncols`` axes, flattened row by row.

    Examples
    --------
    >>> from probconv.plot import new_figure
    >>> fig, axes = new_figure(2)
    >>> len(axes), fig.get_size_inches().tolist()
    (2, [8.0, 3.2])
    """
    try:
        from matplotlib.figure import Figure
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            'probconv.plot needs matplotlib: pip install "probconv[plot]"'
        ) from err
    fig = Figure(figsize=(width * ncols, height * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    return fig, axes.ravel()
