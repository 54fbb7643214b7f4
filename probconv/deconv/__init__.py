"""Deconvolution: Wiener, Richardson-Lucy, and the law of X from X + Y."""

from ._distribution import deconvolve_distribution as deconvolve_distribution
from ._richardson_lucy import richardson_lucy as richardson_lucy
from ._wiener import wiener as wiener

__all__ = [
    "deconvolve_distribution",
    "richardson_lucy",
    "wiener",
]
