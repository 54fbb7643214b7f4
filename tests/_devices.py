"""What the tests of arrays split over devices share (not a test module).

The pytest process has started JAX with one CPU device, so each of those
modules runs its checks in a subprocess that simulates several
(``--xla_force_host_platform_device_count``), records every case as JSON
on its last line of output, and leaves the asserting to small test
functions. The subprocess inherits the suite's compiler settings
(conftest.py's ``XLA_FLAGS`` and ``JAX_DISABLE_MOST_OPTIMIZATIONS``) and
runs in the repository's root with this checkout on its path. A default
run records a covering set of the cases; ``all`` (the slow tests) records
the module's ``EXTRA`` cases too.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

PREAMBLE = """\
import json, os, re, sys
os.environ["XLA_FLAGS"] = (
    os.environ.get("XLA_FLAGS", "")
    + " --xla_force_host_platform_device_count={devices}"
)
os.environ["JAX_PLATFORMS"] = "cpu"
import jax, jax.numpy as jnp, numpy as np
jax.config.update("jax_enable_x64", True)
from jax.sharding import AxisType, NamedSharding, PartitionSpec as P
ALL = sys.argv[1:] == ["all"]
EXTRA = {extra!r}


def refusals(*calls):
    \"\"\"The message of the ValueError each call raises ('' if it raises none).\"\"\"
    messages = []
    for call in calls:
        try:
            call()
            messages.append("")
        except ValueError as err:
            messages.append(str(err))
    return messages
"""


HOSTS = """\
pid, port = int(sys.argv[1]), sys.argv[2]
jax.config.update("jax_cpu_collectives_implementation", "gloo")
jax.distributed.initialize(f"localhost:{port}", num_processes=2, process_id=pid)
assert jax.device_count() == 4 and jax.local_device_count() == 2
mesh = jax.make_mesh((4,), ("x",))
"""


def script(body: str, extra=(), devices: int = 4, hosts: bool = False) -> str:
    """Return a subprocess's code: the common preamble, then `body`.

    The preamble simulates `devices` CPU devices, turns float64 on, imports
    jax, jax.numpy as jnp, numpy as np and the sharding names, and defines
    ``ALL`` (a run of every case) and ``EXTRA`` (the slow cases). With
    `hosts`, the process is one of two under `jax.distributed` (gloo
    collectives; ``pid`` and ``port`` from its arguments: `spawn_hosts`).
    """
    head = PREAMBLE.format(devices=devices, extra=sorted(extra))
    return head + (HOSTS if hosts else "") + textwrap.dedent(body)


def env() -> dict:
    return dict(os.environ, PYTHONPATH=str(ROOT))


def spawn(code: str, *args: str) -> subprocess.Popen:
    """Start ``python -c code *args`` (several may run at once)."""
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env(),
        cwd=ROOT,
    )


def finish(proc: subprocess.Popen, timeout: float = 900) -> dict:
    """Wait for a subprocess and return the JSON of its last line."""
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err[-4000:]
    return json.loads(out.strip().splitlines()[-1])


def run(code: str, *args: str) -> dict:
    return finish(spawn(code, *args))


def spawn_hosts(code: str) -> list[subprocess.Popen]:
    """Start two processes of `code` (a ``hosts`` script) on a free port."""
    with socket.socket() as sock:
        sock.bind(("localhost", 0))
        port = sock.getsockname()[1]
    return [spawn(code, str(i), str(port)) for i in range(2)]


def finish_hosts(procs: list[subprocess.Popen], timeout: float = 600) -> None:
    """Wait for both processes; each must exit cleanly and print ``ok <pid>``."""
    try:
        for i, p in enumerate(procs):
            out, err = p.communicate(timeout=timeout)
            assert p.returncode == 0, err[-3000:]
            assert f"ok {i}" in out
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.communicate()


def fixtures(code: str):
    """Return the module fixtures ``results`` and ``results_all`` of `code`.

    ``results`` runs the default cases, ``results_all`` (for the slow
    tests) every case; each runs once per module. Assign both to module
    names of the same name.
    """

    @pytest.fixture(scope="module")
    def results():
        return run(code, "default")

    @pytest.fixture(scope="module")
    def results_all():
        return run(code, "all")

    return results, results_all


def launched_fixtures(code: str, hosts_code: str, *args: str):
    """Return the module fixtures ``launched`` and ``results``.

    ``launched`` starts the run of `code` (with `args`) and the two hosts of
    `hosts_code` at once, so that they compile in parallel; ``results``
    waits for the first. Assign both to module names of the same name.
    """

    @pytest.fixture(scope="module")
    def launched():
        procs = {"four": spawn(code, *args), "hosts": spawn_hosts(hosts_code)}
        yield procs
        for p in [procs["four"], *procs["hosts"]]:
            if p.poll() is None:
                p.kill()
                p.communicate()

    @pytest.fixture(scope="module")
    def results(launched):
        return finish(launched["four"])

    return launched, results


def record_of(request, name: str, extra) -> dict:
    """Return case `name`'s record from the run that holds it."""
    fixture = "results_all" if name in extra else "results"
    return request.getfixturevalue(fixture)[name]


def case(name: str, extra):
    """A test parameter: marked slow where the case is one of `extra`."""
    if name in extra:
        return pytest.param(name, marks=pytest.mark.slow)
    return name
