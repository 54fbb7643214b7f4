"""Long batches of FFT convolutions on a CPU: a few rows at a time, or one program.

    python benchmarks/batch_rows.py on    # the engine's rule (`_fft.by_rows`)
    python benchmarks/batch_rows.py off   # every batch as one program

Jitted ``convolve(a, v, method="fft", axes=-1)`` of ``B x n`` by ``B x n``
float64, median seconds after compilation. The rule is chosen when the
program is traced, so run ``on`` and ``off`` in fresh processes,
alternating, and compare.
"""

import argparse
import sys

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from _timing import median_time  # noqa: E402

from probconv import conv  # noqa: E402
from probconv.conv import _fft  # noqa: E402

CASES = [(64, 20_000), (18, 100_000), (4, 300_000), (16, 40_000), (200, 3_000)]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("rule", choices=["on", "off"])
    args = p.parse_args()
    jax.config.update("jax_enable_x64", True)
    if args.rule == "off":
        _fft._ROWS_MIN = 1 << 62  # no batch is long enough
    rng = np.random.default_rng(0)
    f = jax.jit(lambda a, v: conv.convolve(a, v, method="fft", axes=-1))
    rows = []
    for b, n in CASES:
        a = jnp.asarray(rng.random((b, n)))
        v = jnp.asarray(rng.random((b, n)))
        rows.append(f"{b}x{n} {1e3 * median_time(f, a, v):.1f} ms")
    print(args.rule, " | ".join(rows))


if __name__ == "__main__":
    main()
