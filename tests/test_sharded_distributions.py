"""Poisson binomial laws of trials split over devices (issue 17).

The checks run in subprocesses (the pytest process has already started JAX
with one device): one with four CPU devices recording its cases as JSON,
and two processes of two devices each under `jax.distributed`. For each
case: the masses kept equal to the one-device law (1e-12 of the largest,
float64), nothing of note outside the window, the masses replicated along
the trials' mesh axes (split like `p` along batch axes), no all-gather of a
trial-length array in the compiled program, and scratch memory per device
below the size of `p`.
"""

import jax.numpy as jnp
import numpy as np
import pytest
from _devices import (
    case,
    finish_hosts,
    fixtures,
    launched_fixtures,
    record_of,
    script,
    spawn_hosts,
)

from probconv import distributions as dist
from probconv.distributions._poisson_binomial import _tree
from probconv.distributions._poisson_binomial_split import local_law, window_size
from probconv.distributions._split_grid import whole_grid

# Cases recorded only for the slow tests (`pytest -m slow`).
EXTRA = (
    "iid_sum-eager",
    "compound-rows",
    "compound-binomial",
    "compound-negative_binomial",
    "compound-masses",
    "compound-traced",
)

SCRIPT = script(
    r"""
    from probconv import distributions as dist
    from probconv.distributions._poisson_binomial import tree_host

    rng = np.random.default_rng(17)
    out = {}

    def diff(a, b):
        a, b = np.asarray(a), np.asarray(b)
        if a.size > b.size:  # a split sum's grid ends with zero masses
            b = np.concatenate([b, np.zeros(a.size - b.size)])
        return float(np.max(np.abs(a - b)))

    def record(name, pn, mesh, spec, hlo=False):
        p = jax.device_put(pn, NamedSharding(mesh, spec))
        row = dict(trials=pn.shape[-1], in_spec=str(spec))
        if hlo:  # one compiled program gives the law and its text
            c = jax.jit(dist.poisson_binomial).lower(p).compile()
            law = c(p)
            text = c.as_text()
            shapes = re.findall(r"= \w+\[([\d,]*)\][^ ]* all-gather\(", text)
            row["gathered"] = max(
                [int(np.prod([int(d) for d in s.split(",") if d])) for s in shapes],
                default=0)
            row["permutes"] = text.count("collective-permute(")
            row["temp_ratio"] = c.memory_analysis().temp_size_in_bytes / pn.nbytes
        else:
            law = dist.poisson_binomial(p)  # eager
        row["spec"] = str(law.masses.sharding.spec)
        # Queries of the split law itself (the law's batch rows split too)
        at = np.floor(pn.sum(-1))
        own = np.asarray(law.cdf(at)), np.asarray(law.ppf(0.5 + 0 * at))
        # The reference: the host tree on one device (NumPy, exact sums
        # while short, then FFTs).
        ref = tree_host(pn.reshape(-1, pn.shape[-1]))
        law = jax.tree.map(np.asarray, law)
        m = law.masses.reshape(-1, law.masses.shape[-1])
        o = law.origin.astype(int).ravel()
        err = outside = 0.0
        cdf = sf = mean = 0.0
        ppf = True
        qs = np.array([1e-9, 0.25, 0.5, 0.999])
        for i, (mm, rr, oo) in enumerate(zip(m, ref, o)):
            kept = rr[oo : oo + mm.size]
            err = max(err, float(np.max(np.abs(mm - kept)) / rr.max()))
            rest = np.concatenate([rr[:oo], rr[oo + mm.size :]])
            outside = max(outside, float(rest.max(initial=0) / rr.max()))
            row_law = dist.from_masses(mm, oo)
            mu = pn.reshape(ref.shape[0], -1)[i].sum()
            xs = np.clip(np.floor(mu) + np.array([-300, -30, 0, 30]), 0, rr.size - 1)
            cum = np.cumsum(rr)
            cdf = max(cdf, diff(row_law.cdf(xs), cum[xs.astype(int)]))
            sf = max(sf, diff(row_law.sf(xs), 1 - cum[xs.astype(int)]))
            mean = max(mean, abs(float(row_law.mean()) - mu))
            ppf &= bool(np.array_equal(row_law.ppf(qs), np.searchsorted(cum, qs)))
            row["cdf_split"] = max(
                row.get("cdf_split", 0.0),
                abs(float(own[0].ravel()[i]) - cum[int(np.floor(mu))]))
            ppf &= bool(own[1].ravel()[i] == np.searchsorted(cum, 0.5))
        row.update(err=err, outside=outside, size=m.shape[-1], cdf=cdf, sf=sf,
                   ppf=ppf, mean=mean,
                   truncated=float(np.max(law.truncated)))
        out[name] = row

    mesh = jax.make_mesh((4,), ("x",))
    record("trials-4", rng.uniform(0, 1, 1 << 18), mesh, P("x"), hlo=True)
    # Rows split over one mesh axis, trials over the other.
    grid = jax.make_mesh((2, 2), ("b", "t"))
    rows = rng.uniform(0, 1, (2, 1 << 13)) ** np.array([[1.0], [4.0]])
    record("batched-2x2", rows, grid, P("b", "t"))
    # Three devices: the devices' laws gathered (a few KB each), then
    # combined on every device.
    three = jax.make_mesh((3,), ("x",), devices=jax.devices()[:3])
    record("trials-3", rng.uniform(0, 1, 3 << 13), three, P("x"), hlo=True)
    # Few trials per device: no window, the whole law 0..n.
    record("short", rng.uniform(0, 1, 64), mesh, P("x"))
    # iid_sum and compound of a law whose grid is split stay split (the
    # distributed transform).
    grid_masses = rng.uniform(0, 1, 4096)
    grid_masses /= grid_masses.sum()
    xsplit = jax.device_put(grid_masses, NamedSharding(mesh, P("x")))
    twice = np.convolve(np.convolve(grid_masses, grid_masses), grid_masses)
    cases = [
        ("iid_sum", lambda x: dist.iid_sum(dist.from_masses(x), 3).masses, twice),
        (
            "compound",
            lambda x: dist.compound(
                dist.poisson(2.0), dist.from_masses(x), size=1 << 15
            ).masses,
            None,
        ),
    ]
    for name, f, ref in cases:
        c = jax.jit(f).lower(xsplit).compile()
        y = c(xsplit)
        one = None
        if ref is None:  # the one-device program
            one = jax.jit(f).lower(jnp.asarray(grid_masses)).compile()
            ref = np.asarray(one(jnp.asarray(grid_masses)))
        text = c.as_text()
        shapes = re.findall(r"= \w+\[([\d,]*)\][^ ]* all-gather\(", text)
        out[name] = dict(err=diff(y, ref) / float(np.max(ref)),
                         spec=str(y.sharding.spec), gathers=shapes,
                         all_to_all=text.count("all-to-all("),
                         temp_ratio=c.memory_analysis().temp_size_in_bytes
                         / (8 * ref.size))
        if one is not None:
            out[name]["temp_one"] = (one.memory_analysis().temp_size_in_bytes
                                     / (8 * ref.size))
    # Eagerly too (a program of its own), and the split law's queries (slow:
    # the eager compounds below cover eager calls on a split grid).
    if ALL:
        law = dist.iid_sum(dist.from_masses(xsplit), 3)
        y = law.masses
        ks = np.array([1000.0, 6141.0, 11000.0])
        tail = np.cumsum(twice[::-1])[::-1]
        out["iid_sum-eager"] = dict(
            err=diff(y, twice) / float(np.max(twice)),
            spec=str(y.sharding.spec),
            queries=max(
                diff(law.sf(ks), tail[ks.astype(int) + 1]),
                diff(law.cdf(ks), 1 - tail[ks.astype(int) + 1]),
                abs(float(law.mean()) / float(np.arange(twice.size) @ twice) - 1),
            ),
        )

    # compound eagerly: the grid sized and the tilt chosen from the
    # severity's generating function reduced across the devices; a grid
    # offset (a phase ramp), the frequency families and a frequency given by
    # its masses; batch rows split over one mesh axis, the grid over the
    # other; a traced offset under jit; the gradient.
    def compare(s4, s1):
        a, b = np.asarray(s1.masses), np.asarray(s4.masses)
        return dict(err=diff(b[..., : a.shape[-1]], a) / float(np.max(a)),
                    rest=float(np.max(np.abs(b[..., a.shape[-1]:]), initial=0)),
                    spec=str(s4.masses.sharding.spec),
                    cut=abs(float(np.max(s4.truncated)) - float(np.max(s1.truncated))))
    freqs = dict(poisson=dist.poisson(2.0), binomial=dist.binomial(5, 0.3),
                 geometric=dist.geometric(0.4),
                 negative_binomial=dist.negative_binomial(2.5, 0.5),
                 masses=dist.from_masses(np.array([0.2, 0.3, 0.5])))
    for fname, N in freqs.items():
        if f"compound-{fname}" in EXTRA and not ALL:
            continue
        offset = 3 if fname in ("geometric", "masses") else 0
        out[f"compound-{fname}"] = compare(
            dist.compound(N, dist.from_masses(xsplit, offset)),
            dist.compound(N, dist.from_masses(grid_masses, offset)))
    if ALL:
        rows = rng.uniform(0, 1, (2, 2048)) ** np.array([[1.0], [3.0]])
        rows /= rows.sum(-1, keepdims=True)
        on = NamedSharding(grid, P("b", "t"))
        laws = [dist.from_masses(jax.device_put(rows, on)), dist.from_masses(rows)]
        out["compound-rows"] = compare(
            *(dist.compound(dist.poisson(3.0), x) for x in laws))
    traced = ALL and jax.jit(lambda x, o: dist.compound(
        dist.poisson(2.0), dist.from_masses(x, o), size=1 << 15).masses)
    out["compound-traced"] = ALL and dict(
        err=diff(traced(xsplit, 5.0)[: 1 << 15], traced(grid_masses, 5.0))
        / float(np.max(traced(grid_masses, 5.0))),
        spec=str(traced(xsplit, 5.0).sharding.spec))
    gw = np.cos(np.arange(1 << 15))
    gc = jax.jit(jax.grad(lambda x: jnp.sum(dist.compound(
        dist.poisson(2.0), dist.from_masses(x), size=1 << 15).masses[: 1 << 15] * gw)))
    g4, g1 = gc(xsplit), gc(jnp.asarray(grid_masses))
    out["compound-grad"] = dict(err=diff(g4, g1) / float(np.max(np.abs(g1))),
                                spec=str(g4.sharding.spec))

    # Gradients flow back through the exchange to the split trials.
    pg = rng.uniform(0, 1, 64)
    weights = np.sin(np.arange(65.0))
    g = jax.jit(jax.grad(lambda q: jnp.sum(dist.poisson_binomial(q).masses * weights)))
    gs = g(jax.device_put(pg, NamedSharding(mesh, P("x"))))
    g1 = g(jnp.asarray(pg))
    out["grad"] = dict(err=diff(gs, g1) / float(np.max(np.abs(g1))),
                       spec=str(gs.sharding.spec))
    bad = rng.uniform(0, 1, 64)
    bad[40] = 1.5
    try:
        dist.poisson_binomial(jax.device_put(bad, NamedSharding(mesh, P("x"))))
        out["bad-refused"] = False
    except ValueError as e:
        out["bad-refused"] = "`p` must be finite and lie in [0, 1]; got 1.5" in str(e)
    jitted = jax.jit(lambda x: dist.poisson_binomial(x).masses)(
        jax.device_put(bad, NamedSharding(mesh, P("x"))))
    out["bad-jit-nan"] = bool(np.isnan(np.asarray(jitted)).all())
    print(json.dumps(out))
    """,
    EXTRA,
)

TWO_HOSTS = script(
    r"""
    from probconv import distributions as dist
    from probconv.distributions._poisson_binomial import tree_host

    pn = np.random.default_rng(0).uniform(0, 1, 1 << 14)
    p = jax.make_array_from_callback((pn.size,), NamedSharding(mesh, P("x")),
                                     lambda idx: pn[idx])
    law = jax.jit(dist.poisson_binomial)(p)
    ref = tree_host(pn[None])[0]
    o = int(np.asarray(law.origin.addressable_shards[0].data))
    for s in law.masses.addressable_shards:  # replicated: the whole window
        m = np.asarray(s.data)
        err = np.max(np.abs(m - ref[o : o + m.size]))
        assert err < 1e-12 * ref.max(), err
    print("ok", pid)
    """,
    devices=2,
    hosts=True,
)


# A law's grid split over both processes: iid_sum and compound by the
# distributed transform, split like the grid; each process checks the blocks
# it holds against NumPy (the sum) and one device (the compound). Slow: the
# Poisson binomial's launch above covers the runtime by default.
TWO_HOSTS_GRID = script(
    r"""
    from probconv import distributions as dist

    # (A grid of 2^15 points leaves 9e-8 of the compound's mass past it; at
    # 2^14, 0.3 % past it, the split and one-device tilts differ and the
    # two agree to 8e-11 only, each within 1.3e-10 of the exact masses.)
    gm = np.random.default_rng(1).uniform(0, 1, 4096)
    gm /= gm.sum()
    g = jax.make_array_from_callback((gm.size,), NamedSharding(mesh, P("x")),
                                     lambda idx: gm[idx])
    three = np.convolve(np.convolve(gm, gm), gm)
    one = np.asarray(jax.jit(lambda x: dist.compound(
        dist.poisson(2.0), dist.from_masses(x), size=1 << 15).masses)(
        jax.device_put(gm, jax.local_devices()[0])))
    for f, ref in [
        (lambda x: dist.iid_sum(dist.from_masses(x), 3).masses, three),
        (lambda x: dist.compound(dist.poisson(2.0), dist.from_masses(x),
                                 size=1 << 15).masses, one),
    ]:
        y = jax.jit(f)(g)
        assert y.sharding.spec == P("x"), y.sharding
        ref = np.concatenate([ref, np.zeros(max(0, y.shape[0] - ref.size))])
        for s in y.addressable_shards:  # this process's blocks only
            block = np.asarray(s.data)
            err = np.max(np.abs(block - ref[s.index[0]]))
            assert err < 1e-12 * ref.max(), (err / ref.max(), s.index, ref.size)
    print("ok", pid)
    """,
    devices=2,
    hosts=True,
)


launched, results = launched_fixtures(SCRIPT, TWO_HOSTS)
_, results_all = fixtures(SCRIPT)


CASES = ["trials-4", "batched-2x2", "trials-3", "short"]


@pytest.mark.parametrize("name", CASES)
def test_masses_equal_one_device(results, name):
    row = results[name]
    assert row["err"] < 1e-12, row
    # What lies outside the window is noise of the one-device FFTs.
    assert row["outside"] < 1e-15, row
    assert row["truncated"] < 1e-14, row


@pytest.mark.parametrize("name", CASES)
def test_queries_equal_one_device(results, name):
    row = results[name]
    assert row["cdf"] < 1e-12 and row["sf"] < 1e-12, row
    assert row.get("cdf_split", 0.0) < 1e-12, row
    assert row["ppf"], row
    assert row["mean"] < 1e-8, row


def test_window_size_and_layout(results):
    # 2^18 trials keep 19,760 points; 64 trials keep all 65.
    assert results["trials-4"]["size"] == window_size(1 << 18, np.float64)
    assert results["short"]["size"] == 65
    assert results["trials-4"]["spec"] == "P(None,)"
    assert results["batched-2x2"]["spec"] == "P('b', None)"


@pytest.mark.parametrize("name", ["trials-4", "trials-3"])
def test_no_full_gather(results, name):
    row = results[name]
    if name == "trials-4":  # recursive doubling: permutes, no gather
        assert row["gathered"] == 0 and row["permutes"] > 0, row
    else:  # the three devices' windowed laws, far below the trials
        assert 0 < row["gathered"] <= 3 * window_size(8192, np.float64), row
        assert row["gathered"] < row["trials"] // 2, row


def test_scratch_below_the_trials(results):
    # Per device: a share of the trials' tree (built in pieces) and the
    # windows' convolutions, against the bytes of all of `p`.
    assert results["trials-4"]["temp_ratio"] < 1, results["trials-4"]


def test_gradient_split_like_p(results):
    assert results["grad"]["err"] < 1e-12, results["grad"]
    assert results["grad"]["spec"] == "P('x',)", results["grad"]


def test_iid_sum_of_a_split_grid_stays_split(results):
    """One FFT over the devices (all-to-alls), the power, one inverse."""
    row = results["iid_sum"]
    assert row["err"] < 1e-12 and row["spec"] == "P('x',)", row
    assert row["gathers"] == [] and row["all_to_all"] >= 4, row
    # Per device, against the whole sum: the spectrum held once, class by
    # class (`_split_chunked.spectral_block`): 0.51 measured, 0.80 by the
    # whole passes.
    assert row["temp_ratio"] < 0.6, row


@pytest.mark.slow
def test_iid_sum_of_a_split_grid_eagerly(results_all):
    """The same sum eagerly stays split; queries join the grid (documented)."""
    row = results_all["iid_sum-eager"]
    assert row["err"] < 1e-12 and row["spec"] == "P('x',)", row
    assert row["queries"] < 1e-12, row


def test_compound_of_a_split_grid_stays_split(results):
    """The generating function on the devices' rows of one distributed FFT."""
    row = results["compound"]
    assert row["err"] < 1e-12, row
    assert row["spec"] == "P('x',)", row
    assert row["gathers"] == [] and row["all_to_all"] >= 4, row
    # Per device: a share of the transform (twice the grid, padding=1), a
    # fraction of the one-device program's scratch that falls as 1/p.
    assert row["temp_ratio"] < 0.5 * row["temp_one"], row
    # Class by class (`_split_chunked.spectral_block`): the spectrum once
    # (G J = 144 rows for the 141 held of 280, by 64 columns: 0.56 of the
    # result; `classes(..., kernel=False)`, G = 48 need not divide 280),
    # the result's block (0.25) and a chunk of columns in flight (1 / 16 of
    # them); 0.889 of the result measured (1.05 with G J = 168 and chunks
    # of 1 / 8, 1.72 by the whole passes).
    assert row["temp_ratio"] < 0.9, row


@pytest.mark.parametrize(
    "name",
    [
        case(f"compound-{name}", EXTRA)
        for name in (
            "poisson", "binomial", "geometric", "negative_binomial", "masses",
            "rows", "traced",
        )
    ],
)  # fmt: skip
def test_compound_of_a_split_grid_equals_one_device(request, name):
    """Each frequency family, an offset (geometric, masses), split rows."""
    row = record_of(request, name, EXTRA)
    assert row["err"] < 1e-12, row
    assert row.get("rest", 0.0) == 0.0, row  # zero masses past the grid
    assert row.get("cut", 0.0) < 1e-15, row
    assert row["spec"] == ("P('b', 't')" if name.endswith("rows") else "P('x',)"), row


def test_compound_gradient_split_like_the_severity(results):
    row = results["compound-grad"]
    assert row["err"] < 1e-12 and row["spec"] == "P('x',)", row


def test_whole_grid_leaves_one_device_laws_alone():
    law = dist.from_masses(np.array([0.25, 0.5, 0.25]))
    assert whole_grid(law) is law


def test_bad_probabilities(results):
    assert results["bad-refused"]
    assert results["bad-jit-nan"]


def test_two_processes_two_devices_each(launched):
    """Two local processes under jax.distributed stand in for two hosts."""
    finish_hosts(launched["hosts"])


@pytest.mark.slow  # two more processes, about 20 s of CPU
def test_split_grid_over_two_processes():
    """iid_sum and compound of a grid split over two processes."""
    finish_hosts(spawn_hosts(TWO_HOSTS_GRID))


# One device: the helpers the split law is made of.


def test_window_size():
    # 2t + 2 points, t = ceil(sqrt(m L / 2)), e^-L the smallest subnormal.
    assert window_size(2**16, np.float64) == 2 * 4940 + 2
    assert window_size(10**9, np.float64) == 2 * 610099 + 2
    assert window_size(100, np.float64) == 101
    assert window_size(2**16, np.float32) < window_size(2**16, np.float64)


@pytest.mark.parametrize(
    "trials",
    [300, pytest.param(1 << 14, marks=pytest.mark.slow)],  # 11 s; same code as 300
)
def test_local_law_is_the_window_of_the_law(trials):
    p = np.random.default_rng(trials).uniform(0, 1, (2, trials)) ** 3
    masses, start, mean, cut = local_law(jnp.asarray(p), _tree)
    ref = np.asarray(dist.poisson_binomial(p).masses)
    for r in range(2):
        s = int(start[r])
        m = np.asarray(masses[r])
        assert np.max(np.abs(m - ref[r, s : s + m.size])) < 1e-13 * ref[r].max()
        rest = np.concatenate([ref[r, :s], ref[r, s + m.size :]])
        assert rest.max(initial=0) < 1e-15 * ref[r].max()
    np.testing.assert_allclose(mean, p.sum(-1), rtol=1e-14)
    assert np.all(np.asarray(cut) < 1e-14)
