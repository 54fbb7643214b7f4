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

import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

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
