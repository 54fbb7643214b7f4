"""Lagged correlations of a series split over two processes (jax.distributed).

Two local processes with two CPU devices each stand in for two hosts: the
series is assembled from each process's pieces, and each process checks
the lags it holds (replicated: all of them, on each of its devices). Slow:
the engine's two-process test in test_sharded.py runs by default.
"""

import pytest
from _devices import finish_hosts, script, spawn_hosts

TWO_HOSTS = script(
    r"""
    from probconv.similarity import acf, xcorr

    rng = np.random.default_rng(0)
    n = 1 << 14
    an, bn = rng.standard_normal(n).cumsum(), rng.standard_normal(n)
    an[[100, 8191, 8192]] = np.nan
    a, b = (jax.make_array_from_callback((n,), NamedSharding(mesh, P("x")),
                                         lambda idx, v=v: v[idx])
            for v in (an, bn))
    checks = [
        (lambda a, b: acf(a, nlags=30, missing="conservative", alpha=0.05)[0],
         acf(an, nlags=30, missing="conservative", alpha=0.05)[0]),
        (lambda a, b: xcorr(a, b, maxlag=40, normalize="coeff",
                            nan_policy="omit").values,
         xcorr(an, bn, maxlag=40, normalize="coeff", nan_policy="omit").values),
    ]
    for f, ref in checks:
        ref = np.asarray(ref)
        y = jax.jit(f)(a, b)
        assert y.sharding.spec == P(None), y.sharding
        assert len(y.addressable_shards) == 2
        for s in y.addressable_shards:  # every lag, on each local device
            err = np.max(np.abs(np.asarray(s.data) - ref))
            assert err <= 1e-12 * np.max(np.abs(ref)), err
    print("ok", pid)
    """,
    devices=2,
    hosts=True,
)


@pytest.mark.slow  # 15 s on two loaded cores; test_sharded.py covers the runtime
def test_two_processes_two_devices_each():
    """Two local processes under jax.distributed stand in for two hosts."""
    finish_hosts(spawn_hosts(TWO_HOSTS))
