"""A bounded cache of compiled programs, least recently used dropped first.

JAX keeps every program that a jitted function compiles for as long as the
function lives; a module-level ``jax.jit`` therefore keeps one executable per
shape it ever saw, and a process that meets thousands of shapes runs out of
memory (and of memory mappings). The engine instead builds one jitted
closure per static signature and keeps at most `max_programs` of them: when
a closure is dropped, JAX's caches keyed on it drop its executable too. The
user's own jitted functions and JAX's global caches are never touched.
"""

from __future__ import annotations

import functools
import inspect
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

import jax
import numpy as np

_DEFAULT_MAX_PROGRAMS = 256


class ProgramCache:
    """Jitted callables by key, at most `maxsize`, least recently used dropped."""

    def __init__(self, maxsize: int):
        self.maxsize = maxsize
        self._items: OrderedDict[Hashable, Callable] = OrderedDict()
        self._lock = threading.Lock()
        self.builds = 0

    def get(self, key: Hashable, build: Callable[[], Callable]) -> Callable:
        with self._lock:
            fn = self._items.get(key)
            if fn is not None:
                self._items.move_to_end(key)
                return fn
        fn = build()
        with self._lock:
            self.builds += 1
            self._items[key] = fn
            self._items.move_to_end(key)
            while len(self._items) > self.maxsize:
                self._items.popitem(last=False)
        return fn

    def resize(self, maxsize: int) -> None:
        with self._lock:
            self.maxsize = maxsize
            while len(self._items) > maxsize:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


def _initial_size() -> int:
    text = os.environ.get("PROBCONV_MAX_PROGRAMS")
    if text is None:
        return _DEFAULT_MAX_PROGRAMS
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 1:
        raise ValueError(
            "The environment variable PROBCONV_MAX_PROGRAMS must be a positive "
            f"integer; got {text!r}."
        )
    return value


PROGRAMS = ProgramCache(_initial_size())


def set_max_programs(maxsize: int) -> int:
    """Bound the number of compiled programs probconv keeps; return the old bound.

    Eager calls of probconv compile one program per static signature (shapes
    rounded up to buckets, dtypes, options) and keep the most recently used
    ones, so that a process meeting any number of distinct shapes keeps its
    memory flat. The default bound is 256 programs, or the value of the
    environment variable ``PROBCONV_MAX_PROGRAMS`` at import. Programs
    dropped from the bound are compiled again if met again. JAX's own caches
    and the user's jitted functions are not affected.

    Parameters
    ----------
    maxsize : int
        The most programs to keep, at least 1.

    Returns
    -------
    int
        The previous bound.

    Raises
    ------
    ValueError
        If `maxsize` is not a positive integer.

    Examples
    --------
    >>> from probconv.conv import set_max_programs
    >>> old = set_max_programs(64)
    >>> set_max_programs(old)
    64
    """
    if isinstance(maxsize, bool) or not isinstance(maxsize, int) or maxsize < 1:
        raise ValueError(f"`maxsize` must be a positive integer; got {maxsize!r}.")
    old = PROGRAMS.maxsize
    PROGRAMS.resize(maxsize)
    return old


def _is_tracer(x) -> bool:
    return isinstance(x, jax.core.Tracer)


def _signature(x):
    """Return what a compiled program depends on in an argument: shape and dtype."""
    if isinstance(x, (jax.Array, np.ndarray, np.generic)):
        return (x.shape, x.dtype, getattr(x, "weak_type", False))
    if _is_tracer(x):
        aval = x.aval
        return ("traced", aval.shape, aval.dtype, getattr(aval, "weak_type", False))
    if isinstance(x, (bool, int, float, complex)):
        return type(x)  # a Python scalar is traced as a weakly typed array
    return ("leaf", type(x))


def bounded_jit(fun=None, *, static_argnums=(), static_argnames=()):
    """Like ``jax.jit``, with the compiled programs kept in the bounded cache.

    A module-level ``jax.jit`` keeps an executable for every shape it ever
    saw. A function decorated with `bounded_jit` compiles one jitted closure
    per signature (static arguments, and the shapes and dtypes of the array
    arguments), kept in the same least-recently-used cache as the engine's
    programs (`set_max_programs`). Inside a transformation (the caller's
    `jax.jit`, `vmap`, `grad`) the same kind of closure is called on the
    tracers: under `jax.jit` it is traced into the caller's program, and
    under an eager `vmap` or `grad` the transformed function runs as one
    program instead of one program per operation.

    Static arguments must be hashable and given positionally at the indices
    `static_argnums` or by the names `static_argnames`; array arguments may
    be nested in tuples, lists and dicts.
    """
    if fun is None:
        return functools.partial(
            bounded_jit, static_argnums=static_argnums, static_argnames=static_argnames
        )
    nums = (
        (static_argnums,) if isinstance(static_argnums, int) else tuple(static_argnums)
    )
    names = (
        (static_argnames,)
        if isinstance(static_argnames, str)
        else tuple(static_argnames)
    )

    params = [
        p.name
        for p in inspect.signature(fun).parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    # As jax.jit does: a static argument may be named or numbered either way.
    nums = tuple(sorted(set(nums) | {params.index(n) for n in names if n in params}))
    names = tuple(sorted(set(names) | {params[i] for i in nums if i < len(params)}))

    @functools.wraps(fun)
    def call(*args, **kwargs):
        dyn = [a for i, a in enumerate(args) if i not in nums]
        dyn += [v for k, v in kwargs.items() if k not in names]
        leaves = jax.tree_util.tree_leaves(dyn)
        static = tuple(args[i] for i in nums if i < len(args))
        static += tuple(sorted((k, v) for k, v in kwargs.items() if k in names))
        key = (
            fun,
            len(args),
            static,
            tuple(sorted(k for k in kwargs if k not in names)),
            jax.tree_util.tree_structure(dyn),
            tuple(_signature(x) for x in leaves),
        )

        def build():
            # A new function object per program: when the cache drops the
            # closure, JAX's caches keyed on it drop its executable too.
            def program(*a, **k):
                return fun(*a, **k)

            return jax.jit(program, static_argnums=nums, static_argnames=names)

        return PROGRAMS.get(key, build)(*args, **kwargs)

    return call
