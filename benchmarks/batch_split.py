"""Rows split over four devices, convolved along the whole other axis.

    python benchmarks/batch_split.py

Four simulated CPU devices; a (64, 16384) float64 array split along its
rows, convolved with 301 taps along the other axis by each method: whether
the compiled program gathers, its scratch per device over the array, the
output's split and the error against SciPy. Then a kernel batched like the
rows, and a 3-D array split along a middle batch axis (docs/performance.md,
"Rows split, the convolved axis whole").
"""

import os

os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=4"
os.environ["JAX_PLATFORMS"] = "cpu"

import jax  # noqa: E402
import numpy as np  # noqa: E402
import scipy.signal  # noqa: E402
from jax.sharding import NamedSharding  # noqa: E402
from jax.sharding import PartitionSpec as P  # noqa: E402

import probconv  # noqa: E402

jax.config.update("jax_enable_x64", True)


def report(label, f, x, ref):
    """Print the program's gathers and scratch, the output's split, the error."""
    c = jax.jit(f).lower(x).compile()
    y = np.asarray(jax.jit(f)(x))
    scratch = c.memory_analysis().temp_size_in_bytes / x.nbytes
    gathers = "all-gather" in c.as_text()
    err = np.abs(y - ref).max() / np.abs(ref).max()
    spec = jax.jit(f)(x).sharding.spec
    print(
        f"{label:12s} gather {gathers!s:5s} scratch/array {scratch:.2f}  {spec}  "
        f"error {err:.1e}"
    )


def main():
    mesh = jax.make_mesh((4,), ("x",))
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 16384))
    k = rng.standard_normal((1, 301))
    xs = jax.device_put(x, NamedSharding(mesh, P("x")))
    ref = scipy.signal.fftconvolve(x, k, "same", axes=1)
    for m in ("direct", "fft", "overlap_add", "auto"):
        report(
            m, lambda x, m=m: probconv.convolve(x, k, "same", axes=1, method=m), xs, ref
        )
    kb = rng.standard_normal((64, 31))
    ref = np.stack([np.convolve(a, b) for a, b in zip(x, kb)])
    report(
        "both rows", lambda x: probconv.convolve(x, kb, axes=1, method="fft"), xs, ref
    )
    x3 = x.reshape(4, 16, 16384)
    x3s = jax.device_put(x3, NamedSharding(mesh, P(None, "x")))
    ref = scipy.signal.correlate(x3, k[None], "valid")
    report(
        "middle axis",
        lambda x: probconv.correlate(x, k[None], "valid", axes=2),
        x3s,
        ref,
    )


if __name__ == "__main__":
    main()
