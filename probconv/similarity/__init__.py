"""Similarity by cross-correlation: lags, delays, ACF/CCF, template matching."""

from ._acf import acf as acf
from ._acf import ccf as ccf
from ._delay import estimate_delay as estimate_delay
from ._gcc import gcc as gcc
from ._rolling import sliding_pearson as sliding_pearson
from ._template import match_template as match_template
from ._xcorr import XcorrResult as XcorrResult
from ._xcorr import xcorr as xcorr

__all__ = [
    "XcorrResult",
    "acf",
    "ccf",
    "estimate_delay",
    "gcc",
    "match_template",
    "sliding_pearson",
    "xcorr",
]
