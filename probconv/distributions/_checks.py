"""Argument checks and concreteness tests shared by the distribution modules."""

from __future__ import annotations

import functools
import numbers

import jax
import jax.numpy as jnp
import numpy as np

try:  # Under `jax.grad` (no jit) a tracer still holds its value.
    from jax._src.core import to_concrete_value as _to_concrete_value
except ImportError:  # pragma: no cover - older or newer JAX
    _to_concrete_value = None

ACCURACIES = ("absolute", "relative")


def concrete(x) -> np.ndarray | None:
    """Return `x` as a NumPy array if its value is known now, else None."""
    if x is None:
        return None
    if not isinstance(x, jax.core.Tracer):
        try:
            return np.asarray(x)
        except Exception:  # noqa: BLE001 - e.g. a list holding tracers
            return None
    if _to_concrete_value is not None:
        try:
            v = _to_concrete_value(x)
        except Exception:  # noqa: BLE001 - any failure means "not concrete"
            v = None
        if v is not None:
            return np.asarray(v)
    return None


def check_accuracy(accuracy) -> str:
    """Return `accuracy` if it is one of the supported values."""
    if not isinstance(accuracy, str) or accuracy not in ACCURACIES:
        raise ValueError(
            f"`accuracy` must be 'absolute' or 'relative'; got {accuracy!r}."
        )
    return accuracy


def check_int(value, name: str, minimum: int = 0) -> int:
    """Return `value` as a Python int ``>= minimum`` (a static argument)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(
        value, (numbers.Integral, np.integer)
    ):
        raise TypeError(
            f"`{name}` must be a Python integer (a static value); got {value!r}."
        )
    if value < minimum:
        raise ValueError(f"`{name}` must be an integer >= {minimum}; got {value!r}.")
    return int(value)


def check_positive_float(value, name: str) -> float:
    """Return `value` as a positive finite Python float (a static argument)."""
    if isinstance(value, jax.core.Tracer) or isinstance(value, (bool, np.bool_)):
        raise TypeError(
            f"`{name}` must be a Python number (a static value); got {value!r}."
        )
    if not isinstance(value, (numbers.Real, np.integer, np.floating)):
        raise TypeError(f"`{name}` must be a real number; got {value!r}.")
    v = float(value)
    if not (np.isfinite(v) and v > 0):
        raise ValueError(f"`{name}` must be positive and finite; got {value!r}.")
    return v


def float_dtype(*args, **named) -> np.dtype:
    """Return the floating dtype that real parameters call for.

    Keyword arguments name the parameters in error messages; positional ones
    are called ``parameter``. None entries are skipped.
    """
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
        else:
            try:
                dt = np.asarray(a).dtype
            except (TypeError, ValueError) as err:
                raise TypeError(f"`{name}` must be real; got {a!r}.") from err
        if not _is_real(dt):
            raise TypeError(f"`{name}` must be real; got dtype {jnp.dtype(dt)}.")
        dts.append(dt)
    return _law_dtype_of(tuple(dts), bool(jax.config.jax_enable_x64))


@functools.lru_cache(maxsize=256)
def _law_dtype_of(dts: tuple, x64: bool) -> np.dtype:
    """`law_dtype` of the JAX promotion of `dts` (cached: 10-20 us uncached)."""
    del x64  # a key only: the promotion depends on it
    return law_dtype(jnp.result_type(*dts) if dts else jnp.result_type(float))


@functools.lru_cache(maxsize=256)
def _is_real(dt) -> bool:
    dt = jnp.dtype(dt)
    return dt == jnp.bool_ or any(
        jnp.issubdtype(dt, k) for k in (jnp.integer, jnp.floating)
    )


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
    arr = jnp.asarray(x)
    if jnp.issubdtype(arr.dtype, jnp.complexfloating):
        raise TypeError(f"`{name}` must be real; got dtype {arr.dtype}.")
    return arr.astype(dtype)


def check_range(
    x, name: str, lo=None, hi=None, *, lo_open=False, hi_open=False, raw=None
):
    """Raise if concrete `x` leaves the interval; else return a validity mask.

    Where `x` is traced nothing can be raised; the returned boolean array
    lets the caller turn the results of invalid entries into NaN. `raw`, the
    user's input before conversion, is checked instead where it is concrete
    (inside `jax.jit` even constants become tracers once converted).
    """

    def mask(v, xp):
        ok = xp.isfinite(v)
        if lo is not None:
            ok = ok & ((v > lo) if lo_open else (v >= lo))
        if hi is not None:
            ok = ok & ((v < hi) if hi_open else (v <= hi))
        return ok

    host = isinstance(x, np.ndarray)
    ok = mask(x, np) if host else mask(x, jnp)
    v = concrete(raw) if raw is not None else None
    v = concrete(x) if v is None else np.asarray(v, np.float64)
    if v is not None:
        okv = ok if host and raw is None else np.asarray(mask(v, np))
        if not okv.all():
            left = "(" if lo_open else "["
            right = ")" if hi_open else "]"
            lo_s = "-inf" if lo is None else f"{lo:g}"
            hi_s = "inf" if hi is None else f"{hi:g}"
            bad = np.broadcast_to(v, okv.shape)[~okv].ravel()[:3].tolist()
            got = v.item() if v.ndim == 0 else f"values such as {bad}"
            raise ValueError(
                f"`{name}` must be finite and lie in {left}{lo_s}, {hi_s}{right}; "
                f"got {got}."
            )
    return ok
