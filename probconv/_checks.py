"""The argument checks of probconv: one leaf module, one convention.

Every check takes the argument's name first and its value second, and its
options after ``*``: ``check_int("size", size, minimum=1)``. Messages name
the argument, say what was expected and show what came:
``"`size` must be at least 1; got 0."``. Static arguments (Python ints,
floats, strings) are checked always; checks of array values run where the
values are known (`concrete`) and are skipped where they are traced, where
the caller's documented behaviour (NaN out) holds instead.

Besides the checks of single values: the dtype rule of every result
(`result_dtype`, and `compute_dtype` for the dtype computed in), the axis
check (`normalize_axes`, `check_axis`), per-axis parameters (`per_axis`)
and the NaN policies (`check_nan_policy`).

A leaf: this module imports nothing from probconv (only NumPy and JAX), so
every package, the engine included, can read its checks from here.
"""

from __future__ import annotations

import functools
import math
import numbers

import jax
import jax.numpy as jnp
import numpy as np

try:  # Under `jax.grad` or `jax.jvp` (no jit) a tracer still holds its value.
    from jax._src.core import to_concrete_value as _to_concrete_value
except ImportError:  # pragma: no cover - older or newer JAX
    _to_concrete_value = None


def concrete(x) -> np.ndarray | None:
    """Return `x` as a NumPy array if its value is known now, else None.

    Known now: anything that is not a tracer (Python numbers, lists, NumPy
    and JAX arrays), and a tracer that carries its value, which is what an
    eager `jax.grad` or `jax.jvp` (outside `jax.jit`) passes. None for the
    tracers of `jax.jit`, `jax.vmap` and the other transforms (their values
    are not known when the function is traced), for None, and for what NumPy
    cannot convert (such as a list holding tracers).

    Examples
    --------
    >>> import jax
    >>> concrete([1, 2]).tolist()
    [1, 2]
    >>> float(jax.grad(lambda x: concrete(x).item() * x)(3.0))  # known: 3.0
    3.0
    >>> float(jax.jit(lambda x: x if concrete(x) is None else 0.0)(1.0))  # traced
    1.0
    """
    if x is None:
        return None
    if not isinstance(x, jax.core.Tracer):
        try:
            return np.asarray(x)
        except (TypeError, ValueError):  # a list of tracers, a ragged list, ...
            return None
    if _to_concrete_value is not None:
        try:
            v = _to_concrete_value(x)
        except Exception:  # noqa: BLE001 - any failure means "not known now"
            v = None
        if v is not None:
            return np.asarray(v)
    return None


# Dtypes: what results come in, and what they are computed in.


@functools.lru_cache(maxsize=256)
def is_real_dtype(dtype) -> bool:
    """Whether `dtype` is boolean, integer or real floating (half included)."""
    dt = jnp.dtype(dtype)
    return dt == jnp.bool_ or bool(
        jnp.issubdtype(dt, jnp.integer) or jnp.issubdtype(dt, jnp.floating)
    )


def result_dtype(*arrays) -> np.dtype:
    """Return the floating (or complex) dtype that convolving these yields.

    JAX's promotion of the inputs, with integers and booleans promoted to the
    default floating type (float32, or float64 when x64 is enabled). Half
    precision stays half precision: the functions compute it in float32
    (`compute_dtype`) and round the result back.

    Parameters
    ----------
    *arrays : array_like or dtype
        The inputs, or their dtypes.

    Returns
    -------
    numpy.dtype
        A floating or complex dtype.

    Examples
    --------
    >>> import numpy as np
    >>> result_dtype(np.float32, np.complex64)
    dtype('complex64')
    >>> result_dtype(np.int32, np.int32)  # doctests run with x64 enabled
    dtype('float64')
    >>> result_dtype(np.float16, np.int8)
    dtype('float16')
    """
    dtypes = tuple(_dtype_of(a) for a in arrays)
    if all(d is not None for d in dtypes):  # arrays and dtypes: cached
        return _promote(dtypes, bool(jax.config.jax_enable_x64))
    return _promote_values(*arrays)  # Python scalars are weakly typed


def _dtype_of(a) -> np.dtype | None:
    if isinstance(a, (np.dtype, type)):
        return np.dtype(a)
    d = getattr(a, "dtype", None)
    return d if isinstance(d, np.dtype) else None


@functools.lru_cache(maxsize=1024)
def _promote(dtypes: tuple, x64: bool) -> np.dtype:
    return _promote_values(*dtypes)


def _promote_values(*arrays) -> np.dtype:
    # NumPy's 64-bit types canonicalized first: with x64 off, JAX would warn
    # that it truncates them (an integer list is int64 in NumPy).
    arrays = tuple(
        jax.dtypes.canonicalize_dtype(d) if (d := _dtype_of(a)) is not None else a
        for a in arrays
    )
    dt = jnp.result_type(*arrays)
    if not jnp.issubdtype(dt, jnp.inexact):
        dt = jnp.result_type(dt, jnp.float32)  # int -> float32, or float64 in x64
        if not jnp.issubdtype(dt, jnp.inexact):
            dt = jnp.dtype(jnp.float32)
        dt = jnp.promote_types(dt, jax.dtypes.canonicalize_dtype(jnp.float64))
    return jnp.dtype(dt)


def real_dtype(*xs) -> np.dtype:
    """Return the real floating dtype that `xs` promote to (`result_dtype`'s)."""
    xs = [np.asarray(x) if isinstance(x, (list, tuple)) else x for x in xs]
    return jnp.finfo(result_dtype(*xs)).dtype


def as_field(u, name: str = "u") -> jax.Array:
    """Return `u` as a numeric, non-empty JAX array of `result_dtype`."""
    if not isinstance(u, jax.Array):
        arr = np.asarray(u)
        if arr.dtype.kind not in "biufc":
            raise TypeError(f"`{name}` must be a numeric array; got dtype {arr.dtype}.")
        u = jnp.asarray(arr)
    if u.size == 0:
        raise ValueError(f"`{name}` must not be empty; got shape {u.shape}.")
    return u.astype(result_dtype(u))


def compute_dtype(dtype) -> np.dtype:
    """Return the dtype computed in: float16 and bfloat16 widened to float32.

    XLA's FFTs take only float32 and float64, and half precision loses too
    much in sums and iterations; the functions compute in float32 and round
    the result back to the documented dtype.
    """
    dt = jnp.dtype(dtype)
    if jnp.issubdtype(dt, jnp.floating) and dt.itemsize < 4:
        return jnp.dtype(jnp.float32)
    return dt


# Static arguments: Python values, checked always.


def check_choice(name: str, value, choices: tuple) -> str:
    """Return `value` if it is one of `choices` (strings, or None), else raise.

    Raises
    ------
    ValueError
        ``"`mode` must be one of 'a', 'b'; got 'c'."``
    """
    if isinstance(value, (str, type(None))) and value in choices:
        return value
    text = ", ".join(repr(c) for c in choices)
    raise ValueError(f"`{name}` must be one of {text}; got {value!r}.")


def check_int(
    name: str, value, *, minimum: int | None = 0, maximum: int | None = None
) -> int:
    """Return `value` as a Python int in ``[minimum, maximum]`` (a static value).

    Python and NumPy integers are accepted; booleans, floats, arrays and
    tracers are not (a static value fixes a shape or a loop). A bound of
    None is no bound: ``minimum=None`` takes any integer.

    Raises
    ------
    TypeError
        If `value` is not an integer.
    ValueError
        If it is below `minimum` or above `maximum`.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(
        value, (numbers.Integral, np.integer)
    ):
        raise TypeError(
            f"`{name}` must be an integer (a static Python int); got {value!r}."
        )
    low = minimum is not None and value < minimum
    if low or (maximum is not None and value > maximum):
        bounds = [f"at least {minimum}"] if minimum is not None else []
        bounds += [f"at most {maximum}"] if maximum is not None else []
        text = " and ".join(bounds)
        raise ValueError(f"`{name}` must be {text}; got {value!r}.")
    return int(value)


def _expected(low, high, low_open: bool, high_open: bool) -> str:
    """Say what a value in the interval is: ``finite and lie in [0, 1]``."""
    if low == 0 and high is None:
        return "finite and positive" if low_open else "finite and non-negative"
    left = "(" if low_open or low is None else "["
    right = ")" if high_open or high is None else "]"
    lo = "-inf" if low is None else f"{low:g}"
    hi = "inf" if high is None else f"{high:g}"
    return f"finite and lie in {left}{lo}, {hi}{right}"


def _inside(v, xp, low, high, low_open: bool, high_open: bool):
    """Where `v` is finite and in the interval (`xp`: numpy or jax.numpy)."""
    ok = xp.isfinite(v)
    if low is not None:
        ok = ok & ((v > low) if low_open else (v >= low))
    if high is not None:
        ok = ok & ((v < high) if high_open else (v <= high))
    return ok


def check_number(
    name: str,
    value,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Return `value` as a finite Python float in an interval (a static value).

    Python and NumPy real numbers are accepted; booleans, arrays and tracers
    are not. ``low=0, low_open=True`` asks for a positive number.

    Raises
    ------
    TypeError
        If `value` is not a real number.
    ValueError
        ``"`step` must be finite and positive; got 0.0."``,
        ``"`tail` must be finite and lie in (0, 1); got 2.0."``
    """
    if isinstance(value, (bool, np.bool_, jax.core.Tracer)) or not isinstance(
        value, (numbers.Real, np.integer, np.floating)
    ):
        raise TypeError(
            f"`{name}` must be a Python number (a static real value); got {value!r}."
        )
    v = float(value)
    if not _inside(v, math, low, high, low_open, high_open):
        what = _expected(low, high, low_open, high_open)
        raise ValueError(f"`{name}` must be {what}; got {value!r}.")
    return v


def normalize_axes(
    name: str, axes, ndim: int, *, sort: bool = True, purpose: str = ""
) -> tuple[int, ...]:
    """Return the axes named by `axes` as non-negative integers.

    The one axis check of probconv: the engine and the layers call it so
    that every function words its errors alike.

    Parameters
    ----------
    name : str
        The argument's name, for error messages.
    axes : int, sequence of int, or None
        The axes; None means all of them.
    ndim : int
        The number of dimensions of the array.
    sort : bool
        Return the axes sorted (default) or in the order given.
    purpose : str
        What the axes are for, in the message for a 0-dimensional array:
        ``purpose="to smooth"`` gives "has no axis to smooth".

    Returns
    -------
    tuple of int
        The axes, each in ``0 .. ndim - 1``.

    Raises
    ------
    TypeError
        If `axes` is not an integer or a sequence of integers.
    ValueError
        If the array is 0-dimensional, or an axis is out of range, repeated,
        or none is named.

    Examples
    --------
    >>> normalize_axes("axes", -1, 3), normalize_axes("axes", (2, 0), 3, sort=False)
    ((2,), (2, 0))
    """
    if ndim == 0:
        what = f" {purpose}" if purpose else ""
        raise ValueError(f"`{name}`: a 0-dimensional array has no axis{what}.")
    if axes is None:
        return tuple(range(ndim))
    if isinstance(axes, (int, np.integer)):
        seq = [axes]
    else:
        try:
            seq = list(axes)
        except TypeError:
            raise TypeError(f"`{name}` must hold integers; got {axes!r}.") from None
    out = []
    for a in seq:
        if isinstance(a, (bool, np.bool_)) or not isinstance(a, (int, np.integer)):
            raise TypeError(f"`{name}` must hold integers; got {axes!r}.")
        if not -ndim <= a < ndim:
            raise ValueError(
                f"`{name}` entry {a} is out of range for an array of {ndim} "
                f"dimension(s); got {name}={axes!r}."
            )
        out.append(int(a) % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"`{name}` must not repeat an axis; got {axes!r}.")
    if not out:
        raise ValueError(f"`{name}` must name at least one axis; got {axes!r}.")
    return tuple(sorted(out)) if sort else tuple(out)


def check_axis(name: str, axis, ndim: int) -> int:
    """Return one axis (an integer) of an array of `ndim` dimensions.

    Examples
    --------
    >>> check_axis("axis", -1, 3)
    2
    """
    if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"`{name}` must be an integer; got {axis!r}.")
    (out,) = normalize_axes(name, axis, ndim)
    return out


# Array arguments: checked where their values are known.


def check_range(
    name: str,
    x,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    raw=None,
):
    """Raise if a concrete `x` is not finite in the interval; return a mask.

    Where `x` is traced nothing can be raised; the returned boolean array
    (of `x`'s shape, NumPy for a NumPy `x`) tells where `x` is valid, so that
    the caller can turn the results of invalid entries into NaN. `raw`, the
    user's input before conversion, is checked instead where it is concrete
    (inside `jax.jit` even constants become tracers once converted).

    Raises
    ------
    ValueError
        ``"`p` must be finite and lie in [0, 1]; got 1.5."``
    """
    host = isinstance(x, np.ndarray)
    ok = _inside(x, np if host else jnp, low, high, low_open, high_open)
    v = concrete(raw) if raw is not None else None
    v = concrete(x) if v is None else np.asarray(v, np.float64)
    if v is not None:
        okv = (
            ok
            if host and raw is None
            else np.asarray(_inside(v, np, low, high, low_open, high_open))
        )
        if not okv.all():
            bad = np.broadcast_to(v, okv.shape)[~okv].ravel()[:3].tolist()
            got = v.item() if v.ndim == 0 else f"values such as {bad}"
            what = _expected(low, high, low_open, high_open)
            raise ValueError(f"`{name}` must be {what}; got {got}.")
    return ok


def check_real(name: str, x):
    """Raise a TypeError if `x` (concrete or traced) is complex or not numeric."""
    dt = x.dtype if hasattr(x, "dtype") else np.asarray(x).dtype
    try:
        ok = is_real_dtype(dt)
    except TypeError:
        ok = False
    if not ok:
        raise TypeError(f"`{name}` must be real; got dtype {dt}.")


def _concrete_real(name: str, x) -> np.ndarray | None:
    """`x`'s value in float64 where known (None if traced); raise if not real."""
    v = concrete(x)
    if v is None:
        return None
    try:
        real = is_real_dtype(v.dtype)
    except TypeError:
        real = False
    if not real:
        raise TypeError(f"`{name}` must be real; got {x!r}.")
    return v.astype(np.float64)


def check_param(name: str, x, *, positive: bool = False, finite: bool = True):
    """Raise if a concrete `x` is negative (or not positive), NaN or infinite.

    Raises
    ------
    TypeError
        If `x` is not real.
    ValueError
        ``"`D` must be non-negative; got -1.0."``, ``"must be positive"``,
        ``"must be finite"``.
    """
    v = _concrete_real(name, x)
    if v is None:
        return
    if np.any(np.isnan(v)) or (finite and not np.all(np.isfinite(v))):
        raise ValueError(f"`{name}` must be finite; got {x!r}.")
    if positive and np.any(v <= 0):
        raise ValueError(f"`{name}` must be positive; got {x!r}.")
    if not positive and np.any(v < 0):
        raise ValueError(f"`{name}` must be non-negative; got {x!r}.")


def check_finite(name: str, x):
    """Raise if a concrete `x` is not real and finite."""
    v = _concrete_real(name, x)
    if v is not None and not np.all(np.isfinite(v)):
        raise ValueError(f"`{name}` must be finite; got {x!r}.")


# Parameters given once or once per axis, and NaN policies.


def per_axis(name: str, x, k: int, *, entries: bool = False, per: str = "axis"):
    """Broadcast a scalar or one value per axis to `k` values.

    By default the values are numbers, returned as a JAX array of shape
    ``(k,)``. With ``entries=True`` they may be anything (strings, None,
    tracers) and come back as a tuple of `k` entries, from a scalar, a list
    or tuple, or a 1-D array. `per` names what the values go with in the
    message (``per="smoothed axis"``).

    Examples
    --------
    >>> per_axis("origin", 0, 2, entries=True)
    (0, 0)
    >>> per_axis("mode", ("a", "b"), 2, entries=True)
    ('a', 'b')
    """
    if entries:
        if isinstance(x, (list, tuple)):
            seq = tuple(x)
        elif np.ndim(x) == 1 and not isinstance(x, str):
            seq = tuple(x[i] for i in range(np.shape(x)[0]))
        else:
            seq = (x,) * k
        if len(seq) != k:
            raise ValueError(
                f"`{name}` must be a scalar or hold one entry per {per} ({k}); "
                f"got {x!r}."
            )
        return seq
    shape = np.shape(x)
    if shape not in ((), (k,)):
        raise ValueError(
            f"`{name}` must be a scalar or hold one value per {per} ({k}); "
            f"got shape {shape}."
        )
    return jnp.broadcast_to(jnp.asarray(x), (k,))


NAN_POLICIES = ("propagate", "omit", "raise")


def check_nan_policy(name: str, value, arrays: dict) -> str:
    """Return the NaN policy `value`; with 'raise', raise on a known NaN.

    `arrays` maps argument names to arrays. Where their values are not known
    (under `jax.jit` or `jax.vmap`), 'raise' behaves as 'propagate' (NaN
    out), as the functions document.
    """
    policy = check_choice(name, value, NAN_POLICIES)
    if policy == "raise":
        raise_on_nan(arrays, f"{name}='raise'")
    return policy


def raise_on_nan(arrays: dict, setting: str) -> None:
    """Raise a ValueError naming the first argument that holds a known NaN.

    Raises
    ------
    ValueError
        ``"`x` contains NaN and nan_policy='raise'; ..."``
    """
    for arg, x in arrays.items():
        v = concrete(x)
        if v is not None and np.isnan(v).any():
            raise ValueError(
                f"`{arg}` contains NaN and {setting}; skip missing values with "
                "nan_policy='omit', or keep them (NaN out) with 'propagate'."
            )
