"""The convolution engine: direct, FFT and overlap-add, chosen by cost.

The building blocks that probconv's layers use are in `probconv.conv.internal`.
"""

from ._api import choose_method as choose_method
from ._api import convolve as convolve
from ._api import correlate as correlate
from ._host import to_device as to_device
from ._lags import correlation_lags as correlation_lags
from ._pad import pad as pad
from ._plan import bucket_length as bucket_length
from ._programs import set_max_programs as set_max_programs

__all__ = [
    "bucket_length",
    "choose_method",
    "convolve",
    "correlate",
    "correlation_lags",
    "pad",
    "set_max_programs",
    "to_device",
]
