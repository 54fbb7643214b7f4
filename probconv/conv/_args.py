"""The engine's own arguments: its modes, methods, precisions and inputs.

The generic checks (choices, integers, axes, dtypes) live in the leaf
`probconv._checks`; what is here is the engine's vocabulary. It imports
nothing from the package, so `_api`, `_lags` and `_plan` all read it.
"""

from __future__ import annotations

import jax
import numpy as np
from jax import lax

MODES = ("full", "same", "valid")
METHODS = ("auto", "direct", "fft", "overlap_add")
PRECISIONS = {
    None: lax.Precision.HIGHEST,
    "highest": lax.Precision.HIGHEST,
    "high": lax.Precision.HIGH,
    "default": lax.Precision.DEFAULT,
    "fastest": lax.Precision.DEFAULT,
}


def check_precision(precision) -> lax.Precision:
    if isinstance(precision, lax.Precision):
        return precision
    if isinstance(precision, str) or precision is None:
        key = precision.lower() if isinstance(precision, str) else None
        if key in PRECISIONS:
            return PRECISIONS[key]
    raise ValueError(
        "`precision` must be None, 'highest', 'high', 'default' or a "
        f"jax.lax.Precision; got {precision!r}."
    )


def as_input(x, name: str):
    """Return a user's input as a NumPy array or a JAX array (or tracer).

    NumPy arrays stay on the host, so that an eager call can pad them to a
    bucket size or hand them to a host computation without a device round
    trip; everything else array-like becomes a NumPy array first.
    """
    if isinstance(x, (jax.Array, np.ndarray)):
        arr = x
    else:
        try:
            arr = np.asarray(x)
        except (TypeError, ValueError) as err:
            raise TypeError(f"`{name}` must be array-like and numeric.") from err
    dt = np.dtype(arr.dtype)
    if dt.kind not in "biufc" and dt.name != "bfloat16":
        raise TypeError(f"`{name}` must be a numeric array; got dtype {dt}.")
    if arr.size == 0:
        raise ValueError(f"`{name}` must not be empty; got shape {arr.shape}.")
    return arr
