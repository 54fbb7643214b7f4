"""The field conversions of physics and deconvolution, read from the leaf.

`as_field`, `real_dtype` and `normalize_axes` live in the leaf
`probconv._checks`; this module keeps the names and the argument order that
`probconv.physics` and `probconv.deconv` import until they read the leaf
directly.
"""

from __future__ import annotations

from ._checks import as_field as as_field
from ._checks import normalize_axes as _normalize_axes
from ._checks import real_dtype as real_dtype


def normalize_axes(axes, ndim: int, name: str = "axes") -> tuple[int, ...]:
    """Sorted non-negative axes of an array of `ndim` dimensions (None: all)."""
    return _normalize_axes(name, axes, ndim)
