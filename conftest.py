"""Test configuration shared by tests/ and the doctests in probconv/.

Tests run with float64 enabled so that references can be compared at 1e-12;
float32 paths are exercised with explicit float32 inputs, and
tests in test_conv_eager.py and test_smooth_eager.py check the default (x64 off)
behaviour in subprocesses.
"""

import contextlib
import importlib.metadata
import os
import re
import subprocess
import sys
import tempfile

os.environ.setdefault("JAX_PLATFORMS", "cpu")
# The command line keeps compiled programs in a user cache folder by default;
# the tests' in-process runs of it use a folder of their own, never the
# user's (where programs of other versions of the code live).
os.environ.setdefault("PROBCONV_CACHE_DIR", tempfile.mkdtemp(prefix="probconv-tests-"))

# The suite compiles thousands of small programs and runs each a few times:
# XLA's optimization passes cost more than they save there, and so does its
# CPU backend's newer fusion emitter (MLIR): the classic emitter compiles the
# suite's programs 2-2.5 times faster. Results are the same computations,
# rounded within the stated tolerances; PROBCONV_TEST_XLA_OPTIMIZE=1 runs the
# suite with the compiler settings that users get.
_OPTIMIZE = os.environ.get("PROBCONV_TEST_XLA_OPTIMIZE", "0") == "1"
# XLA:CPU also splits each program's LLVM module into parts compiled on
# threads of their own (`--xla_cpu_parallel_codegen_split_count`, 32 parts):
# for the suite's small programs, on a machine whose cores the test workers
# already share, the split costs more than it saves; one part compiled 56
# programs of the layers in 3.6 s of CPU instead of 4.2 (3 runs each, the
# same results: the split only cuts the module, it changes no instruction).
_FLAGS = (
    "--xla_cpu_use_fusion_emitters=false",
    "--xla_cpu_parallel_codegen_split_count=1",
)


def _known_flags() -> list[str]:
    """Return the flags of `_FLAGS` that this jaxlib's XLA knows.

    XLA aborts the process on a flag it does not know, and jaxlib 0.11.2
    (seen on a GPU machine, 2026-12-04) no longer has the emitter one.
    Versions up to 0.10.2 have both; later ones are asked once per flag, in
    a subprocess, and the answer is passed to the test workers through the
    environment.
    """
    known = os.environ.get("PROBCONV_TEST_XLA_FLAGS")
    if known is None:
        parts = re.findall(r"\d+", importlib.metadata.version("jaxlib"))
        if tuple(int(p) for p in parts[:3]) <= (0, 10, 2):
            known = " ".join(_FLAGS)
        else:
            probe = "import jax.numpy as jnp; jnp.ones(2).block_until_ready()"
            found = []
            for flag in _FLAGS:
                env = {**os.environ, "XLA_FLAGS": flag, "JAX_PLATFORMS": "cpu"}
                run = subprocess.run(
                    [sys.executable, "-c", probe], env=env, capture_output=True
                )
                if run.returncode == 0:
                    found.append(flag)
            known = " ".join(found)
        os.environ["PROBCONV_TEST_XLA_FLAGS"] = known
    return known.split()


if not _OPTIMIZE:
    flags = " ".join((os.environ.get("XLA_FLAGS", ""), *_known_flags()))
    os.environ["XLA_FLAGS"] = flags.strip()
    # (set in the environment too, so that the tests' subprocesses, which
    # simulate several devices or hosts, compile as this process does)
    os.environ["JAX_DISABLE_MOST_OPTIMIZATIONS"] = "1"

import jax  # noqa: E402
import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

jax.config.update("jax_enable_x64", True)
if not _OPTIMIZE:  # XLA's optimization passes: about a fifth of the CPU time
    jax.config.update("jax_disable_most_optimizations", True)

settings.register_profile(
    "default",
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("thorough", max_examples=300, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@contextlib.contextmanager
def _compile_events():
    """Collect the durations of the XLA compilations made inside the block."""
    events = []

    def listen(event, duration, **_):
        if event == "/jax/core/compile/backend_compile_duration":
            events.append(duration)

    jax.monitoring.register_event_duration_secs_listener(listen)
    try:
        yield events
    finally:
        jax.monitoring.unregister_event_duration_listener(listen)


@pytest.fixture
def count_compiles():
    """Return a context manager listing the compilations made inside it."""
    return _compile_events


# The modules that take longest (subprocesses of simulated devices, relative
# tails compiling a program per grid). Under `-n 2 --dist loadfile` each
# module runs whole on one worker, in collection order; started first, they
# no longer leave one worker busy while the other has finished (about 45 s
# of a 510 s run).
_FIRST = (
    "test_sharded_distributions.py",
    "test_sharded.py",
    "test_sharded_similarity.py",
    "test_tails.py",
    "test_tails_extend.py",
    "test_tails_compound_density.py",
    "test_sharded_kde.py",
    "test_sharded_similarity_hosts.py",
    "test_tails_density.py",
)


def pytest_collection_modifyitems(config, items):
    """Collect the longest modules first (a stable sort: order kept within)."""

    def rank(item):
        name = item.path.name
        return _FIRST.index(name) if name in _FIRST else len(_FIRST)

    items.sort(key=rank)
