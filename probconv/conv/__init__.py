"""The convolution engine: direct, FFT and overlap-add, chosen by cost."""

from ._api import choose_method as choose_method
from ._api import convolve as convolve
from ._api import correlate as correlate
from ._checks import normalize_axes as normalize_axes
from ._fft import circular_size as circular_size
from ._fft import fft_nd as fft_nd
from ._fft import ifft_nd as ifft_nd
from ._fft import next_fast_len as next_fast_len
from ._fft import spectral_length as spectral_length
from ._host import to_device as to_device
from ._lags import correlation_lags as correlation_lags
from ._pad import BOUNDARY_MODES as BOUNDARY_MODES
from ._pad import check_boundary as check_boundary
from ._pad import pad as pad
from ._plan import bucket_length as bucket_length
from ._plan import result_dtype as result_dtype
from ._programs import set_max_programs as set_max_programs
from ._sharded import halo_map as halo_map
from ._sharded import split_axes as split_axes
from ._sharded import split_scan as split_scan

__all__ = [
    "BOUNDARY_MODES",
    "bucket_length",
    "check_boundary",
    "choose_method",
    "circular_size",
    "convolve",
    "correlate",
    "correlation_lags",
    "fft_nd",
    "halo_map",
    "ifft_nd",
    "next_fast_len",
    "normalize_axes",
    "pad",
    "result_dtype",
    "set_max_programs",
    "spectral_length",
    "split_axes",
    "split_scan",
    "to_device",
]
