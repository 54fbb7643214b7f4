"""Statistical smoothing: moving averages, NaN-aware filters, EWMA, KDE."""

from ._bandwidth import kde_bandwidth as kde_bandwidth
from ._ewma import ewma as ewma
from ._gaussian import gaussian_smooth as gaussian_smooth
from ._kde import kde as kde
from ._kde import kde_dist as kde_dist
from ._moving import moving_average as moving_average
from ._savgol import savgol as savgol

__all__ = [
    "ewma",
    "gaussian_smooth",
    "kde",
    "kde_bandwidth",
    "kde_dist",
    "moving_average",
    "savgol",
]
