"""Kernel density estimates of samples split over devices (issue 17).

The split checks run in one subprocess with four CPU devices (the pytest
process has already started JAX with one), which records every case as JSON.
For each case: the density (and grid) equal to the one-device estimate
(1e-12 relative, float64), the bandwidth rule's value equal, no all-gather
of a sample-length array in the compiled program, and scratch memory per
device below the size of the whole sample. The distributed quantile behind
Silverman's rule is also checked on one device, here, against NumPy.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _devices import case, finish_hosts, fixtures, record_of, script, spawn_hosts

from probconv.smooth._bandwidth import _weighted_quantile
from probconv.smooth._split import split_quantile

BODY = r"""
    from probconv.smooth import kde, kde_bandwidth, kde_dist

    rng = np.random.default_rng(17)
    n = 1 << 16
    x = rng.standard_normal(n) * np.where(rng.random(n) < 0.3, 3.0, 1.0)
    w = rng.random(n)
    # Many ties (a grid of 1/8): the quantiles' ties are ordered by index.
    ties = np.round(x * 8) / 8
    xy = np.stack([x, 0.5 * x + rng.standard_normal(n)], axis=1)
    mesh = jax.make_mesh((4,), ("x",))  # Explicit axes: the default
    auto = jax.make_mesh((4,), ("x",), axis_types=(AxisType.Auto,))
    out = {}
    # The default run records a covering set of the cases; "all" (the slow
    # tests) records the rest too.

    def split(a, m=mesh):
        spec = P("x", *(None,) * (np.ndim(a) - 1))
        return jax.device_put(a, NamedSharding(m, spec))

    def rel(a, b):
        a, b = np.asarray(a), np.asarray(b)
        return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))

    def record(name, f, args, split_args, jit=True, m=mesh):
        if name in EXTRA and not ALL:
            return
        ref = f(*args)  # one device
        xs = [split(a, m) if s else a for a, s in zip(args, split_args)]
        row = {}
        if jit:
            c = jax.jit(f).lower(*xs).compile()
            y = c(*xs)
            text = c.as_text()
            shapes = re.findall(r"= \w+\[([\d,]*)\][^ ]* all-gather\(", text)
            row["gathered"] = max(
                [int(np.prod([int(d) for d in s.split(",") if d])) for s in shapes],
                default=0)
            row["reductions"] = len(re.findall(r" all-reduce\(", text))
            row["temp_ratio"] = (c.memory_analysis().temp_size_in_bytes
                                 / args[0].nbytes)
        else:
            y = f(*xs)
        leaves, ref_leaves = jax.tree.leaves(y), jax.tree.leaves(ref)
        row["err"] = max(rel(a, b) for a, b in zip(leaves, ref_leaves))
        row["specs"] = [str(getattr(a.sharding, "spec", "")) for a in leaves]
        row["devices"] = [len(a.sharding.device_set) for a in leaves]
        out[name] = row

    # Each case returns the density and the rule's bandwidth (one program).
    # (Scott's rule shares Silverman's code but for its factor: it is
    # checked with replicated weights below.)
    record("kde-silverman",
           lambda s: (kde(s, bandwidth="silverman", grid=512),
                      kde_bandwidth(s, "silverman")), (x,), (True,))
    # NumPy weights with split samples: sliced per device in the program.
    record("kde-isj",
           lambda s: (kde(s, bandwidth="isj", weights=w, grid=512),
                      kde_bandwidth(s, "isj", weights=w)), (x,), (True,))
    # Weights split like the samples.
    record("kde-silverman-weights",
           lambda s, v: (kde(s, bandwidth="silverman", weights=v, grid=512),
                         kde_bandwidth(s, "silverman", weights=v)),
           (x, w), (True, True))
    # Ties, weighted or not: the weight of the last tie (by index) counts.
    record("bandwidth-silverman-ties",
           lambda s, v: (kde_bandwidth(s, "silverman", weights=v),
                         kde_bandwidth(s, "silverman")),
           (ties, w), (True, True))
    # Samples split, weights a NumPy constant (sliced per device).
    record("kde-scott-weights-replicated",
           lambda s: kde(s, bandwidth="scott", weights=w, grid=512), (x,), (True,))
    # Reflection at a bound, another kernel, a given grid and bandwidth.
    record("kde-bounded",
           lambda s: kde(s, bandwidth="silverman", bounds=(0, None), grid=300,
                         kernel="epanechnikov"), (np.abs(x),), (True,))
    grid = np.linspace(-5, 5, 401)
    record("kde-grid-array",
           lambda s: kde(s, bandwidth=0.2, grid=grid, kernel="biweight"),
           (x,), (True,))
    # 2-D: scipy's rules (the covariance summed over devices), weights.
    record("kde2d-scott", lambda s: kde(s, grid=64), (xy,), (True,))
    record("kde2d-silverman-weights",
           lambda s, v: kde(s, bandwidth="silverman", weights=v, grid=(48, 40)),
           (xy, w), (True, True))
    # Eagerly, on Explicit and on Auto axes (seen Explicit for the call).
    record("kde-eager",  # and kde_dist of the same estimate: no new program
           lambda s: (kde(s, bandwidth="silverman", grid=256),
                      kde_dist(s, bandwidth="silverman", grid=256).masses),
           (x,), (True,), jit=False)
    record("kde-auto-eager", lambda s: kde(s, bandwidth=0.25, grid=256),
           (x,), (True,), jit=False, m=auto)
    # Derivatives in the samples and the weights flow back split.
    record("grad-silverman",
           jax.grad(lambda s, v: jnp.sum(
               kde(s, bandwidth="silverman", weights=v, grid=128)[1] ** 2),
               argnums=(0, 1)),
           (x, w), (True, True))
    # Under jax.jit a mesh of Auto axes hides the split: the one-device
    # program, which XLA partitions; Silverman's sort gathers the samples.
    xa = split(x, auto)
    c = jax.jit(lambda s: kde(s, bandwidth="silverman", grid=256)).lower(xa).compile()
    shapes = re.findall(r"= \w+\[([\d,]*)\][^ ]* all-gather\(", c.as_text())
    out["auto-jit-gathers"] = [int(s or 1) for s in shapes]
    # Bad split weights are refused like bad weights on one device.
    try:
        kde(split(x), weights=split(-w))
        out["negative-split-weights"] = ""
    except ValueError as err:
        out["negative-split-weights"] = str(err)
    try:  # the coordinates split: refused, they must stay together
        f2 = jax.make_mesh((2,), ("f",), devices=jax.devices()[:2])
        kde(jax.device_put(xy, NamedSharding(f2, P(None, "f"))))
        out["coordinates-split"] = ""
    except ValueError as err:
        out["coordinates-split"] = str(err)
    print(json.dumps(out))
    """

# Recorded by the slow tests only, each with a default case that covers its
# code path: Scott's rule with replicated weights by Silverman's with split
# ones (the same code but for a factor; NumPy weights are laid out split
# before the program), the given grid by the bounded case's given
# bandwidth and the automatic grids, 2-D Scott by 2-D Silverman with
# weights, the eager Explicit call (and kde_dist) by the eager Auto one.
EXTRA = {
    "kde-scott-weights-replicated",
    "kde-grid-array",
    "kde2d-scott",
    "kde-eager",
}
SCRIPT = script(BODY, EXTRA)


JIT_CASES = [
    "kde-silverman",
    "kde-isj",
    "kde-silverman-weights",
    "bandwidth-silverman-ties",
    "kde-scott-weights-replicated",
    "kde-bounded",
    "kde-grid-array",
    "kde2d-scott",
    "kde2d-silverman-weights",
]
EAGER_CASES = ["kde-eager", "kde-auto-eager"]
JIT_CASES = [case(c, EXTRA) for c in JIT_CASES]
EAGER_CASES = [case(c, EXTRA) for c in EAGER_CASES]


results, results_all = fixtures(SCRIPT)


@pytest.mark.parametrize("name", JIT_CASES + EAGER_CASES)
def test_split_samples_give_the_one_device_estimate(request, name):
    """Density, grid and bandwidth equal to one device's, 1e-12 relative."""
    row = record_of(request, name, EXTRA)
    assert row["err"] <= 1e-12, row


@pytest.mark.parametrize("name", JIT_CASES)
def test_split_samples_are_never_gathered(request, name):
    """Only grid-sized counts and scalars cross devices; scratch is small.

    No all-gather of anything near a sample's length (the samples stay on
    their devices: 2^14 each), and each device's scratch is below the whole
    sample's size.
    """
    row = record_of(request, name, EXTRA)
    assert row["gathered"] < 1 << 12, row
    assert row["reductions"] >= 1, row  # the counts and sums are reduced
    assert row["temp_ratio"] < 1.0, row


def test_derivatives_flow_back_split(results):
    """jax.grad in the samples and the weights: split like them, equal.

    To 1e-10 relative (measured 2.5e-11): a derivative sums terms of both
    signs (the weights' normalization, the grid's ends, the bandwidth), in
    another order on four devices than on one.
    """
    row = results["grad-silverman"]
    assert row["err"] <= 1e-10, row
    assert row["specs"] == ["P('x',)", "P('x',)"], row


def test_auto_mesh_under_jit_is_gathered_as_documented(results):
    """The sharding guide's caveat: jit on Auto axes hides the split."""
    assert 1 << 16 in results["auto-jit-gathers"]


@pytest.mark.parametrize("name", JIT_CASES + EAGER_CASES)
def test_the_estimate_is_replicated(request, name):
    """The grid and density (not the samples' length) are on every device."""
    row = record_of(request, name, EXTRA)
    assert all(d == 4 for d in row["devices"]), row
    assert all(s in ("P()", "P(None,)", "P(None, None)") for s in row["specs"]), row


def test_split_weights_are_checked_on_the_devices(results):
    assert "non-negative" in results["negative-split-weights"]


def test_coordinates_split_over_devices_are_refused(results):
    assert "along the first axis" in results["coordinates-split"]


# One device: the exact quantile by bisection on the floats' order, against
# NumPy's 'linear' rule and the weighted definition by sorting.


_quantile = jax.jit(split_quantile, static_argnums=3)


@pytest.mark.parametrize(
    "n, dtype", [(2, np.float64), (4097, np.float64), (9001, np.float32)]
)
def test_split_quantile_equals_numpy_linear(n, dtype):
    rng = np.random.default_rng(n)
    x = (rng.standard_normal(n) * 5).astype(dtype)
    # In float32 the cumulative weights' rounding moves a target by about
    # n eps / 2 samples: far out in a tail that is a visible step.
    tail = [0.999, 1.0] if dtype == np.float64 else []
    q = np.array([0.0, 0.1, 0.25, 0.5, 0.75, *tail])
    got = _quantile(jnp.asarray(x), jnp.full(n, 1.0 / n, dtype), q, ())
    want = np.quantile(x.astype(np.float64), q)
    tol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(np.asarray(got), want, rtol=tol, atol=tol)


@pytest.mark.parametrize("case", ["continuous", "ties", "zeros", "negative-zero"])
def test_split_quantile_weighted_equals_sorting(case):
    rng = np.random.default_rng(3)
    n = 5000
    x = rng.standard_normal(n)
    w = rng.random(n)
    if case == "ties":
        x = np.round(x * 4) / 4
    if case == "zeros":  # zero weights (steps of no width) and exact zeros
        w[::3] = 0.0
        x[::7] = 0.0
    if case == "negative-zero":
        x[:100], x[100:200] = -0.0, 0.0
    w = w / w.sum()
    q = np.array([0.05, 0.25, 0.5, 0.75, 0.95])
    got = _quantile(jnp.asarray(x), jnp.asarray(w), q, ())
    want = [float(_weighted_quantile(jnp.asarray(x), jnp.asarray(w), v)) for v in q]
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-12, atol=1e-14)


def test_split_quantile_derivatives_equal_sorting():
    rng = np.random.default_rng(5)
    x = jnp.asarray(rng.standard_normal(300))
    w = jnp.asarray(rng.random(300))
    q = jnp.array([0.25, 0.75])

    def by_sort(x, w):
        w = w / jnp.sum(w)
        return _weighted_quantile(x, w, 0.25) + 2 * _weighted_quantile(x, w, 0.75)

    def by_bisection(x, w):
        lo, hi = split_quantile(x, w / jnp.sum(w), q, ())
        return lo + 2 * hi

    want = jax.jit(jax.grad(by_sort, argnums=(0, 1)))(x, w)  # one program
    got = jax.jit(jax.grad(by_bisection, argnums=(0, 1)))(x, w)
    for g, r in zip(got, want):
        np.testing.assert_allclose(np.asarray(g), np.asarray(r), rtol=1e-10, atol=1e-12)


def test_split_quantile_extremes_and_constant():
    x = jnp.asarray([3.0, -1.0, 2.0, -1.0, 7.5])
    w = jnp.full(5, 0.2)
    # (jitted: the library calls it inside programs; eagerly, each of its
    # operations would compile apart, about 60 programs)
    got = _quantile(x, w, jnp.array([0.0, 1.0]), ())
    assert np.asarray(got).tolist() == [-1.0, 7.5]
    const = _quantile(jnp.full(6, 2.5), jnp.full(6, 1 / 6), 0.3, ())
    assert float(const) == 2.5


TWO_HOSTS = script(
    r"""
    from probconv.smooth import kde, kde_bandwidth

    rng = np.random.default_rng(5)
    xn = rng.standard_normal(1 << 14) * 2.0
    wn = rng.random(xn.size)
    x, w = (jax.make_array_from_callback((xn.size,), NamedSharding(mesh, P("x")),
                                         lambda idx, v=v: v[idx])
            for v in (xn, wn))
    f = lambda s, v: (kde(s, bandwidth="silverman", weights=v, grid=256),
                      kde_bandwidth(s, "isj", weights=v))
    ref = jax.tree.leaves(f(xn, wn))
    for y, r in zip(jax.tree.leaves(jax.jit(f)(x, w)), ref):
        r = np.asarray(r)
        assert len(y.addressable_shards) == 2
        for s in y.addressable_shards:  # the estimate, on each local device
            err = np.max(np.abs(np.asarray(s.data) - r))
            assert err <= 1e-12 * np.max(np.abs(r)), err
    print("ok", pid)
    """,
    devices=2,
    hosts=True,
)


@pytest.mark.slow  # two more processes; the runtime is covered by default elsewhere
def test_two_processes_two_devices_each():
    """Samples and weights split over two processes (jax.distributed)."""
    finish_hosts(spawn_hosts(TWO_HOSTS))
