"""Figures for distributions, densities, smoothing and correlation (matplotlib).

Needs the optional extra: ``pip install "probconv[plot]"``. Every function
returns a `matplotlib.figure.Figure` built without pyplot, so it works
headless; save it with ``fig.savefig("file.png")``.
"""

from ._common import new_figure as new_figure
from ._dist import plot_density as plot_density
from ._dist import plot_distribution as plot_distribution
from ._signal import plot_correlation as plot_correlation
from ._signal import plot_smoothing as plot_smoothing

__all__ = [
    "new_figure",
    "plot_correlation",
    "plot_density",
    "plot_distribution",
    "plot_smoothing",
]
