"""Deconvolution of fields split over devices: which routes need whole axes."""

from __future__ import annotations

from probconv.conv.internal import split_axes


def check_whole(x, axes, name: str, what: str) -> None:
    """Raise a ValueError if `x` is split over devices along one of `axes`.

    For the Fourier-domain routes, which transform whole axes (a global FFT,
    not split) and do not gather a split axis themselves.
    """
    split = split_axes(x)
    hit = [a for a in axes if a in split]
    if hit:
        raise ValueError(
            f"`{name}` is split over devices along axis {hit[0]} "
            f"({split[hit[0]]} shards), but {what} transforms whole axes: "
            "gather those axes first (jax.sharding.reshard) or split along "
            "other axes."
        )
