"""Eager laws on the host: NumPy leaves, and their queries answered in NumPy.

A law built eagerly (outside `jax.jit`, `jax.vmap` and `jax.grad`) from
NumPy arrays or Python numbers on the CPU is computed on the host and keeps
its leaves (masses, origin, truncated, parameters) as read-only NumPy
arrays: nothing is copied to the device and nothing is compiled, which is
most of the cost of a small eager call (a host-to-device copy costs 6-17 us
per leaf, a new shape a compilation). JAX converts NumPy leaves on entry to
`jit`, `vmap` and `grad`, so such a law behaves there like any other; laws
built from JAX arrays keep JAX leaves, as before.

The eager queries of an unbatched host lattice at NumPy points are answered
here with the conventions of `_queries` (the jitted queries, which serve
every other call; the two agree to rounding), and those of the common
families by their scipy.stats formulas with scipy.stats' conventions. Like
the engine's host results (`probconv.conv.to_device`), the answers are
returned as JAX arrays.
"""

from __future__ import annotations

import math

import jax
import numpy as np
import scipy.stats

from ..conv import to_device

# The families whose eager queries are scipy.stats' (on the host), with the
# ends of their supports (``None``: binomial's `n`, the law's last point).
FAMILIES = {
    "bernoulli": (scipy.stats.bernoulli, 0.0, 1.0),
    "binomial": (scipy.stats.binom, 0.0, None),
    "poisson": (scipy.stats.poisson, 0.0, np.inf),
    "geometric": (scipy.stats.geom, 1.0, np.inf),
    "negative_binomial": (scipy.stats.nbinom, 0.0, np.inf),
}


def on_cpu() -> bool:
    """Whether JAX's default backend is the CPU (the host route applies)."""
    return jax.default_backend() == "cpu" and jax.config.jax_default_device is None


def host_values(*values) -> list[np.ndarray] | None:
    """Return `values` as NumPy arrays if a law of them may live on the host.

    That is: on the CPU, every value a Python number, a NumPy array or
    scalar, or a (nested) list of numbers, real (bool, integer or float).
    None for a JAX array (its law keeps JAX leaves), a tracer (under `jit`,
    `vmap` or `grad`), or anything else (the caller's checks then raise).
    """
    out = []
    for x in values:
        v = as_host(x)
        if v is None:
            return None
        out.append(v)
    return out if on_cpu() else None


def as_host(x, *, jax_arrays: bool = False) -> np.ndarray | None:
    """Return `x` as a real (bool, integer or float) NumPy array, or None.

    None for a tracer, a string, a value NumPy cannot convert (a list
    holding tracers) or a non-real one, and for a JAX array unless
    `jax_arrays`.
    """
    if isinstance(x, (jax.core.Tracer, str, bytes)):
        return None
    if isinstance(x, jax.Array) and not jax_arrays:
        return None
    try:
        v = np.asarray(x)
    except Exception:  # noqa: BLE001 - e.g. a list holding tracers
        return None
    return v if v.dtype.kind in "biuf" else None


def leaf(x, dtype, shape: tuple[int, ...] | None = None, *, owned=False):
    """Return `x` as a read-only NumPy array of `dtype` (broadcast to `shape`).

    A caller's array is copied, never frozen in place; `owned` says that `x`
    is the library's own (a fresh result), which may be frozen as it is.
    """
    v = np.asarray(x, dtype)
    if shape is not None and v.shape != shape:
        v = np.broadcast_to(v, shape)
    if v.base is not None or (v is x and not owned):
        v = v.copy()
    v.flags.writeable = False
    return v


def is_host(law) -> bool:
    """Whether `law` holds NumPy leaves (a law built on the host)."""
    return isinstance(law.masses, np.ndarray) and isinstance(law.origin, np.ndarray)


def _points(x, dtype) -> np.ndarray | None:
    """Return query points as a NumPy array of `dtype` (None: not host values)."""
    v = as_host(x)
    return None if v is None else v.astype(dtype, copy=False)


# -- the queries of a host lattice, as in `_queries` ---------------------------
def _tails(m: np.ndarray) -> np.ndarray:
    """``S_k = sum_{j > k} m_j``, summed from the right."""
    r = np.cumsum(m[::-1])[::-1]
    return np.concatenate([r[1:], np.zeros(1, m.dtype)])


def lattice_query(law, name: str, x) -> jax.Array | None:
    """Answer ``law.<name>(x)`` on the host, or return None.

    For an unbatched lattice with NumPy leaves (`is_host`) and points that
    are not JAX arrays; `name` is one of ``'pmf'``, ``'cdf'``, ``'sf'``,
    ``'ppf'``, ``'isf'``. The same arithmetic as `_queries`, in the law's
    dtype, so the answers agree with the jitted ones to rounding.
    """
    if (
        not is_host(law)
        or law.masses.ndim != 1
        or law.kind != "lattice"
        or not isinstance(law.truncated, np.ndarray)
    ):
        return None
    dt = law.masses.dtype
    v = _points(x, dt)
    if v is None:
        return None
    m = law.masses
    n = m.shape[-1]
    eps = np.finfo(dt).eps
    origin, step = law.origin.astype(dt), dt.type(law.step)
    with np.errstate(all="ignore"):
        if v.ndim == 0 and name not in ("ppf", "isf"):
            out = _at_point(name, v[()], m, origin[()], step, eps)
        elif name in ("ppf", "isf"):
            out = _quantile(law, name, v, m, origin, step, eps)
        else:
            k = (v - origin) / step
            tol = np.where(np.isinf(k), 0.0, 64 * eps * np.maximum(1.0, np.abs(k)))
            if name == "pmf":
                j = np.round(k)
                on = (np.abs(k - j) <= tol) & (j >= 0) & (j <= n - 1)
                ji = np.clip(np.nan_to_num(j), 0, n - 1).astype(np.intp)
                out = np.where(on, m[ji], 0.0)
            else:
                j = np.floor(k + tol)
                ji = np.clip(np.nan_to_num(j), 0, n - 1).astype(np.intp)
                if name == "cdf":
                    out = np.where(j < 0, 0.0, np.cumsum(m)[ji])
                else:  # sf
                    s = _tails(m)
                    out = np.where(j < 0, s[0] + m[0], s[ji])
            out = np.where(np.isnan(v), np.nan, out)
    return to_device(np.asarray(out, dt))


def _at_point(name, v, m, origin, step, eps):
    """`lattice_query`'s `pmf`, `cdf` or `sf` at one point (a NumPy scalar).

    The same arithmetic, in the law's dtype, without the array operations
    (each costs a microsecond or two, most of a small query).
    """
    if v != v:  # NaN
        return np.nan
    n = m.shape[-1]
    k = (v - origin) / step
    tol = 0.0 if np.isinf(k) else 64 * eps * max(1.0, abs(k))
    if name == "pmf":
        j = np.round(k)
        return m[int(j)] if abs(k - j) <= tol and 0 <= j <= n - 1 else 0.0
    j = np.floor(k + tol)
    if name == "cdf":
        return 0.0 if j < 0 else np.cumsum(m)[int(min(j, n - 1))]
    # `_tails(m)[j]` is ``C[n - 2 - j]`` of ``C = cumsum(m[::-1])`` (0 past the
    # end), and ``_tails(m)[0] + m[0]`` is ``C[n - 1]``: the same sums, read
    # without the reversed and shifted copies.
    j = -1 if j < 0 else int(min(j, n - 1))
    return 0.0 if j == n - 1 else np.cumsum(m[::-1])[n - 2 - j]


def _quantile(law, name, q, m, origin, step, eps) -> np.ndarray:
    """`ppf` or `isf` of a host lattice (see `_queries.ppf`, `_queries.isf`)."""
    n = m.shape[-1]
    bad = np.isnan(q) | (q < 0) | (q > 1)
    points = origin + step * np.arange(n, dtype=m.dtype)
    if name == "ppf":
        c = np.cumsum(m)
        idx = np.searchsorted(c, q * (1 - 256 * eps), side="left")
        x = points[np.clip(idx, 0, n - 1)]
        x = np.where(q == 0, points[0] - step, x)
        x = np.where(idx >= n, np.inf, x)
    else:
        s = _tails(m)
        ext = np.concatenate([s[:1] + m[:1], s])
        idx = np.searchsorted(-ext, -(q * (1 + 256 * eps)), side="left") - 1
        x = points[np.clip(idx, 0, n - 1)]
        x = np.where(idx < 0, x - step, x)
        trunc = law.truncated.astype(m.dtype)
        x = np.where(q < trunc * (1 - 256 * eps), np.inf, x)
    return np.where(bad, np.nan, x)


# -- the families' queries: scipy.stats' formulas and conventions --------------
def family_query(family: str, name: str, x, args, upper, dtype) -> np.ndarray | None:
    """Return scipy.stats' ``<name>(x, *args)`` for a family law, or None.

    `name` is ``'pmf'``, ``'logpmf'``, ``'sf'``, ``'cdf'`` or ``'ppf'``;
    `args` are scipy's (valid) parameters of the law as Python floats,
    `upper` the end of its support where the family does not fix it. The
    family's own
    formulas (the ``_pmf``, ``_sf``, ... methods through which scipy.stats
    subclasses define a law: scipy.special's functions) with the
    conventions of `scipy.stats.rv_discrete` at the ends of the support, for
    NaN and for infinite points, so the values are scipy.stats' own, at a
    few microseconds instead of scipy.stats' 30-60 (its argument parsing
    and broadcasting). Computed in float64 and returned as a NumPy array of
    `dtype` (the caller hands it back with `to_device`). None for points
    that are JAX arrays or not real numbers.
    """
    if type(x) is float or (type(x) is int and -(2**63) <= x < 2**63):
        v = float(x)  # as NumPy converts it, without the array (1-2 us)
    else:
        v = _points(x, np.float64)
        if v is None:
            return None
        if v.ndim == 0:
            v = float(v)
    law, a, b = FAMILIES[family]
    b = upper if b is None else b
    with np.errstate(all="ignore"):
        if type(v) is float:
            out = _rv_discrete_scalar(law, name, v, args, a, b)
        else:
            out = _rv_discrete(law, name, v, args, a, b)
    return np.asarray(out, dtype)


def _rv_discrete_scalar(law, name, v: float, args, a, b) -> float:
    """`_rv_discrete` at one point (a Python float): the same cases, unrolled."""
    if v != v:  # NaN
        return np.nan
    if name == "ppf":
        if v == 0:
            return a - 1
        if v == 1:
            return b
        return law._ppf(v, *args) if 0 < v < 1 else np.nan
    if name in ("pmf", "logpmf"):
        on = a <= v <= b and np.floor(v) == v
        if name == "pmf":
            return min(max(law._pmf(v, *args), 0.0), 1.0) if on else 0.0
        return law._logpmf(v, *args) if on else -np.inf
    if math.isinf(v):
        return float(v < 0) if name == "sf" else float(v > 0)
    k = math.floor(v)
    if name == "sf":
        if k < a:
            return 1.0
        return min(max(law._sf(k, *args), 0.0), 1.0) if k < b else 0.0
    if k >= b:
        return 1.0
    return min(max(law._cdf(k, *args), 0.0), 1.0) if k >= a else 0.0


def _rv_discrete(law, name, v, args, a, b) -> np.ndarray:
    """`scipy.stats.rv_discrete`'s public `name` on valid scalar parameters."""
    nan = np.isnan(v)
    if name == "ppf":
        inside = (v > 0) & (v < 1)
        out = np.where(inside, law._ppf(np.where(inside, v, 0.5), *args), np.nan)
        out = np.where(v == 0, a - 1, out)
        return np.where(v == 1, b, out)
    if name in ("pmf", "logpmf"):
        on = (v >= a) & (v <= b) & (np.floor(v) == v)
        vv = np.where(on, v, a)
        if name == "pmf":
            out = np.where(on, np.clip(law._pmf(vv, *args), 0, 1), 0.0)
        else:
            out = np.where(on, law._logpmf(vv, *args), -np.inf)
        return np.where(nan, np.nan, out)
    k = np.floor(v)
    inside = (k >= a) & (k < b) & np.isfinite(k)
    kk = np.where(inside, k, a)
    if name == "sf":
        out = np.where(inside, np.clip(law._sf(kk, *args), 0, 1), 0.0)
        out = np.where(k < a, 1.0, out)
    else:  # cdf
        out = np.where(inside, np.clip(law._cdf(kk, *args), 0, 1), 0.0)
        out = np.where(k >= b, 1.0, out)
    return np.where(nan, np.nan, out)
