"""JAX's persistent compilation cache, for those who ask for it."""

from __future__ import annotations

import os

import jax

try:
    from jax.experimental.compilation_cache.compilation_cache import reset_cache
except ImportError:  # pragma: no cover - a JAX without it
    reset_cache = None


def default_cache_dir() -> str:
    """Return probconv's cache folder.

    ``$PROBCONV_CACHE_DIR`` if it is set, else ``$XDG_CACHE_HOME/probconv/jax``,
    else ``~/.cache/probconv/jax``.
    """
    path = os.environ.get("PROBCONV_CACHE_DIR", "")
    if path:
        return os.path.expanduser(path)
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):
        base = os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "probconv", "jax")


# Keep every program, however small or quick to compile: eager calls and the
# command line compile small programs, and together they are most of a cold
# start.
CACHE_CONFIG = (
    ("jax_persistent_cache_min_compile_time_secs", 0.0),
    ("jax_persistent_cache_min_entry_size_bytes", -1),
)


def use_compilation_cache(
    directory: str | os.PathLike | None = None, *, enable: bool = True
) -> str | None:
    """Keep compiled programs on disk, so that a new process skips compiling.

    Turns on JAX's persistent compilation cache in `directory` for the whole
    process, with the thresholds lowered so that small programs (the ones an
    eager call or the command line compiles) are kept too. The first call of
    an operation in a fresh process then loads its program instead of
    compiling it. probconv never does this on its own, since the switch is
    global; the ``probconv`` command line does it by default.

    Parameters
    ----------
    directory : str or os.PathLike, optional
        The cache folder. Default: the environment variable
        ``PROBCONV_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/probconv/jax``
        (``~/.cache/probconv/jax``).
    enable : bool
        False turns the cache off again (`directory` is then ignored).

    Returns
    -------
    str or None
        The folder used, or None when turned off.

    Raises
    ------
    TypeError
        If `directory` is not a path.

    Examples
    --------
    >>> import tempfile, jax, probconv
    >>> folder = probconv.use_compilation_cache(tempfile.mkdtemp())
    >>> jax.config.jax_compilation_cache_dir == folder
    True
    >>> probconv.use_compilation_cache(enable=False) is None
    True
    """
    if not enable:
        jax.config.update("jax_compilation_cache_dir", None)
        if reset_cache is not None:
            reset_cache()
        return None
    if directory is None:
        directory = default_cache_dir()
    if not isinstance(directory, (str, os.PathLike)):
        raise TypeError(f"`directory` must be a path; got {directory!r}.")
    directory = os.fspath(directory)
    os.makedirs(directory, exist_ok=True)
    jax.config.update("jax_compilation_cache_dir", directory)
    for name, value in CACHE_CONFIG:
        jax.config.update(name, value)
    if reset_cache is not None:
        reset_cache()  # JAX decides once whether to use the cache: ask again
    return directory
