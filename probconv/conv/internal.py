"""The engine's building blocks for probconv's own layers (not for users).

probconv's applications (distributions, smoothing, similarity, physics,
deconvolution) import what they need of the engine beyond its user
functions from here, and only from here: FFTs with the engine's padding and
layout rules, fast lengths, boundary padding, result dtypes, axis checks,
the bounded cache of compiled programs, and the halo exchange, the carried
scan and the distributed transform (the layout of a split axis as rows and
columns, and a block of any entry-wise map of a split signal's spectrum)
for signals split over devices. The
names are documented and tested like the public API, but they serve the
layers and may change with them; equinox's ``equinox.internal`` is the
model.
"""

from .._checks import normalize_axes as normalize_axes
from .._checks import result_dtype as result_dtype
from ._args import METHODS as METHODS
from ._host import from_host as from_host
from ._pad import BOUNDARY_MODES as BOUNDARY_MODES
from ._pad import check_boundary as check_boundary
from ._pad import pad as pad
from ._programs import bounded_jit as bounded_jit
from ._sharded import Split as Split
from ._sharded import halo as halo
from ._sharded import halo_map as halo_map
from ._sharded import receive as receive
from ._sharded import split_axes as split_axes
from ._sharded import split_of as split_of
from ._sharded import split_scan as split_scan
from ._split_chunked import spectral_block as spectral_block
from ._split_fft import Layout as SplitLayout
from ._split_fft import layout as split_layout
from ._transforms import circular_size as circular_size
from ._transforms import fft_nd as fft_nd
from ._transforms import ifft_nd as ifft_nd
from ._transforms import next_fast_len as next_fast_len
from ._transforms import spectral_length as spectral_length

__all__ = [
    "BOUNDARY_MODES",
    "METHODS",
    "Split",
    "SplitLayout",
    "bounded_jit",
    "check_boundary",
    "circular_size",
    "fft_nd",
    "from_host",
    "halo",
    "halo_map",
    "ifft_nd",
    "next_fast_len",
    "normalize_axes",
    "pad",
    "receive",
    "result_dtype",
    "spectral_block",
    "spectral_length",
    "split_axes",
    "split_layout",
    "split_of",
    "split_scan",
]
