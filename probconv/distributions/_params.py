"""The parameters of laws: their dtype rule, their conversion, `accuracy`.

What is particular to distributions; the generic checks (integers, numbers,
intervals, choices, concreteness) are the leaf `probconv._checks`.
"""

from __future__ import annotations

import functools
import numbers

import jax
import jax.numpy as jnp
import numpy as np

from .._checks import check_choice
from .._checks import is_real_dtype as _is_real
from ..conv import to_device

ACCURACIES = ("absolute", "relative")


def check_accuracy(accuracy) -> str:
    """Return `accuracy` if it is one of the supported values."""
    return check_choice("accuracy", accuracy, ACCURACIES)


def float_dtype(*args, **named) -> np.dtype:
    """Return the floating dtype that real parameters call for.

    Keyword arguments name the parameters in error messages; positional ones
    are called ``parameter``. None entries are skipped.
    """
    if not args and all(_is_python_real(a) for a in named.values()):
        # Python floats and ints: the default float (as below, 2-3 us sooner).
        return default_float()
    dts = []
    items = [("parameter", a) for a in args] + list(named.items())
    for name, a in items:
        if a is None:
            continue
        if isinstance(a, (jax.Array, np.ndarray, np.generic)):
            dt = a.dtype
        elif isinstance(a, float):
            dt = float
        elif isinstance(a, (bool, str)) or not isinstance(a, (numbers.Real, list)):
            raise TypeError(f"`{name}` must be a real number or array; got {a!r}.")
        elif isinstance(a, list) and _holds_jax(a):
            # JAX values (tracers of `jax.grad` among them) in a list: JAX's
            # promotion, as `jnp.asarray` of the list would give.
            try:
                dt = jnp.result_type(*jax.tree.leaves(a))
            except (TypeError, ValueError) as err:
                raise TypeError(f"`{name}` must be real; got {a!r}.") from err
        else:
            try:
                dt = np.asarray(a).dtype
            except (TypeError, ValueError) as err:
                raise TypeError(f"`{name}` must be real; got {a!r}.") from err
        if not _is_real(dt):
            raise TypeError(f"`{name}` must be real; got dtype {jnp.dtype(dt)}.")
        dts.append(dt)
    return _law_dtype_of(tuple(dts), bool(jax.config.jax_enable_x64))


def default_float() -> np.dtype:
    """Return JAX's default float dtype (``jnp.result_type(float)``, cached)."""
    return _law_dtype_of((), bool(jax.config.jax_enable_x64))


def _is_python_real(a) -> bool:
    """Whether `a` is a Python float, or an int that NumPy holds in int64."""
    return type(a) is float or (type(a) is int and -(2**63) <= a < 2**63)


@functools.lru_cache(maxsize=256)
def _law_dtype_of(dts: tuple, x64: bool) -> np.dtype:
    """`law_dtype` of the JAX promotion of `dts` (cached: 10-20 us uncached)."""
    del x64  # a key only: the promotion depends on it
    return law_dtype(jnp.result_type(*dts) if dts else jnp.result_type(float))


def law_dtype(dt) -> np.dtype:
    """Return the dtype a law keeps for inputs of real dtype `dt`.

    Integers and booleans give the default float; half precision (float16,
    bfloat16) gives float32, because a law's masses and tails need more than
    three significant digits and an exponent range below 6e-8.
    """
    dt = jnp.dtype(dt)
    if not jnp.issubdtype(dt, jnp.floating):
        return jnp.dtype(jnp.result_type(float))
    if jnp.finfo(dt).bits < 32:
        return jnp.dtype(jnp.float32)
    return dt


def given_eps(x, dtype) -> float:
    """Return the machine epsilon of `dtype`, or of `x`'s own dtype if coarser.

    Values given in half precision were rounded to it: a sum that should be
    1 is judged by the precision they came in, not the one they widen to.
    """
    e = float(jnp.finfo(dtype).eps)
    dt = getattr(x, "dtype", None)
    if dt is not None and jnp.issubdtype(dt, jnp.floating):
        e = max(e, float(jnp.finfo(dt).eps))
    return e


def as_real_array(x, name: str) -> jax.Array:
    """Convert real array-like input to a jax array of its law dtype."""
    if isinstance(x, str) or x is None:
        raise TypeError(f"`{name}` must be a real numeric array; got {x!r}.")
    if not isinstance(x, jax.Array):
        try:
            arr = np.asarray(x)
        except (TypeError, ValueError) as err:
            raise TypeError(f"`{name}` must be a real numeric array.") from err
        if arr.dtype == object or not (
            _is_real(arr.dtype) or jnp.issubdtype(arr.dtype, jnp.complexfloating)
        ):
            raise TypeError(
                f"`{name}` must be a real numeric array; got dtype {arr.dtype}."
            )
        x = jnp.asarray(arr)
    if not _is_real(x.dtype):
        raise TypeError(f"`{name}` must be real; got dtype {x.dtype}.")
    return x.astype(law_dtype(x.dtype))


def as_param(x, name: str, dtype) -> jax.Array:
    """Convert a real parameter to a jax array of `dtype`."""
    if isinstance(x, str) or (
        not isinstance(x, (jax.Array, np.ndarray, np.generic, numbers.Number, list))
    ):
        raise TypeError(f"`{name}` must be a real number or array; got {x!r}.")
    if isinstance(x, (np.ndarray, list)):
        # Host arrays by one copy: `jnp.asarray` compiles a program per new
        # shape (issue 14), which a loop over sizes would pay each time.
        host = _host_numbers(x)
        if host is not None and host.dtype != object:
            if np.iscomplexobj(host):
                raise TypeError(f"`{name}` must be real; got dtype {host.dtype}.")
            return to_device(host.astype(dtype, copy=False))
    arr = jnp.asarray(x)
    if jnp.issubdtype(arr.dtype, jnp.complexfloating):
        raise TypeError(f"`{name}` must be real; got dtype {arr.dtype}.")
    return arr.astype(dtype)


def _holds_jax(x: list) -> bool:
    """Whether the list `x` holds JAX values (tracers among them)."""
    return any(isinstance(a, jax.Array) for a in jax.tree.leaves(x))


def _host_numbers(x) -> np.ndarray | None:
    """`x` (a NumPy array or a list) as a NumPy array, or None.

    None for a list holding JAX values (tracers among them) or of ragged
    rows: those take `jnp.asarray`, and its checks and messages.
    """
    if isinstance(x, np.ndarray):
        return x
    if _holds_jax(x):
        return None
    try:
        return np.asarray(x)
    except ValueError:
        return None
