"""Run scipy.signal's own convolution tests with probconv in scipy's place.

    python benchmarks/scipy_suite.py            # the whole test module
    python benchmarks/scipy_suite.py -k Correlate

SciPy ships its tests (``scipy/signal/tests/test_signaltools.py``: thousands
of cases over shapes, dtypes, modes and axes). A pytest plugin replaces
``scipy.signal.convolve``, ``correlate``, ``fftconvolve``, ``oaconvolve`` and
``correlation_lags`` with probconv's before the module is collected, so every
test of those functions calls probconv (SciPy's internal calls are not
affected); then the module runs to its end in one process. The script prints
pytest's summary, the pass rate of the tests that call a replaced function,
the process's peak resident memory, and the most common failure reasons.

Expected differences: probconv returns floating results for integer inputs
(SciPy keeps integers), has no extended precision (``np.longdouble``) or
object arrays, and words its errors its own way.
"""

from __future__ import annotations

import collections
import os
import re
import subprocess
import sys
import tempfile
import textwrap

import scipy

PLUGIN = textwrap.dedent(
    '''
    """pytest plugin: probconv in scipy.signal's place."""
    import os

    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    import jax

    jax.config.update("jax_enable_x64", True)
    import numpy as np
    import pytest
    import scipy.signal

    import probconv

    CALLS = {"n": 0}


    def _np(y):
        CALLS["n"] += 1
        return np.asarray(y)


    def convolve(in1, in2, mode="full", method="auto"):
        return _np(probconv.convolve(in1, in2, mode, method=method))


    def correlate(in1, in2, mode="full", method="auto"):
        return _np(probconv.correlate(in1, in2, mode, method=method))


    def fftconvolve(in1, in2, mode="full", axes=None):
        return _np(probconv.convolve(in1, in2, mode, method="fft", axes=axes))


    def oaconvolve(in1, in2, mode="full", axes=None):
        return _np(
            probconv.convolve(in1, in2, mode, method="overlap_add", axes=axes)
        )


    def correlation_lags(in1_len, in2_len, mode="full"):
        return _np(probconv.correlation_lags(in1_len, in2_len, mode))


    try:  # SciPy's tests look up array-API capabilities by function object
        from scipy._lib._array_api import xp_capabilities_table as _table
    except ImportError:
        _table = {}
    for _name in ("convolve", "correlate", "fftconvolve", "oaconvolve",
                  "correlation_lags"):
        _original = getattr(scipy.signal, _name)
        if _original in _table:
            _table[globals()[_name]] = _table[_original]
        setattr(scipy.signal, _name, globals()[_name])


    def pytest_runtest_setup(item):
        item._probconv_calls = CALLS["n"]


    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(item, call):
        outcome = yield
        rep = outcome.get_result()
        if rep.when == "call":
            calls = CALLS["n"] - getattr(item, "_probconv_calls", CALLS["n"])
            rep.user_properties.append(("probconv", calls))
    '''
)

REPORT = textwrap.dedent(
    """
    def pytest_terminal_summary(terminalreporter):
        import resource
        stats = terminalreporter.stats
        called = {"passed": 0, "failed": 0}
        for outcome in ("passed", "failed"):
            for rep in stats.get(outcome, []):
                if rep.when == "call" and dict(rep.user_properties).get("probconv"):
                    called[outcome] += 1
        total = called["passed"] + called["failed"]
        rate = called["passed"] / total if total else float("nan")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        terminalreporter.write_line(
            f"PROBCONV tests calling probconv: {total}, passed "
            f"{called['passed']} ({100 * rate:.1f} %); peak RSS {peak:.0f} MB"
        )
    """
)


def main():
    module = os.path.join(
        os.path.dirname(scipy.__file__), "signal", "tests", "test_signaltools.py"
    )
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "probconv_as_scipy.py"), "w") as f:
            f.write(PLUGIN + REPORT)
        env = dict(os.environ, PYTHONPATH=tmp + os.pathsep + os.getcwd())
        env["COLUMNS"] = "400"  # whole failure messages in the summary
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                module,
                "-q",
                "-p",
                "probconv_as_scipy",
                "-p",
                "no:cacheprovider",
                "-rf",
                "--no-header",
                "-o",
                "addopts=",
                "--rootdir",
                tmp,
                "--tb=line",
                *sys.argv[1:],
            ],
            env=env,
            capture_output=True,
            text=True,
            cwd=tmp,
        )
    out = proc.stdout
    reasons = collections.Counter()
    for line in out.splitlines():
        if line.startswith("FAILED"):
            reason = line.split(" - ", 1)[-1][:100]
            reasons[re.sub(r"\d+", "N", reason)] += 1
    for line in out.splitlines():
        if line.startswith("PROBCONV") or re.match(r"^\d+ (passed|failed)", line):
            print(line)
        if re.search(r"(passed|failed).* in [\d.]+s", line):
            print(line)
    print(f"pytest exit status {proc.returncode} (0: all passed, 1: some failed)")
    print("most common failure reasons:")
    for reason, count in reasons.most_common(12):
        print(f"  {count:6d}  {reason}")
    if proc.returncode not in (0, 1):
        print(out[-3000:], proc.stderr[-3000:])


if __name__ == "__main__":
    main()
