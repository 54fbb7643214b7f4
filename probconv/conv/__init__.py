"""The convolution engine: direct, FFT and overlap-add, chosen by cost.

Boundary-aware filters (`correlate1d`, `convolve1d`,
`correlate_nd`, `running_sum`) with
scipy.ndimage's boundary names sit on the same engine.

The building blocks that probconv's layers use are in `probconv.conv.internal`.
"""

from ._api import choose_method as choose_method
from ._api import convolve as convolve
from ._api import correlate as correlate
from ._filter import convolve1d as convolve1d
from ._filter import correlate1d as correlate1d
from ._filter import correlate_nd as correlate_nd
from ._filter import running_sum as running_sum
from ._host import to_device as to_device
from ._lags import correlation_lags as correlation_lags
from ._pad import pad as pad
from ._plan import bucket_length as bucket_length
from ._programs import set_max_programs as set_max_programs

__all__ = [
    "bucket_length",
    "choose_method",
    "convolve",
    "convolve1d",
    "correlate",
    "correlate1d",
    "correlate_nd",
    "correlation_lags",
    "pad",
    "running_sum",
    "set_max_programs",
    "to_device",
]
