"""probconv: convolution for probability and statistics, built on JAX."""

from .conv import choose_method as choose_method
from .conv import convolve as convolve
from .conv import correlate as correlate
from .conv import correlation_lags as correlation_lags
from .conv import pad as pad

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "choose_method",
    "convolve",
    "correlate",
    "correlation_lags",
    "pad",
]
