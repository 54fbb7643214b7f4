"""matplotlib import with a clear message when the extra is missing."""

from __future__ import annotations


def new_figure(ncols: int = 1, nrows: int = 1, *, width: float = 4.0, height=3.2):
    """Return ``(fig, axes)`` built without pyplot (headless-safe)."""
    try:
        from matplotlib.figure import Figure
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            'probconv.plot needs matplotlib: pip install "probconv[plot]"'
        ) from err
    fig = Figure(figsize=(width * ncols, height * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    return fig, axes.ravel()
