"""One compiled program per call for density laws (issue 14, "one program per call").

Eagerly, a continuous constructor ran about fifty operations, a sum of two
densities thirty and a compound sum ninety, each compiled for its own shapes:
a new grid length cost that many compilations. Each now runs as one program
in the engine's bounded cache, keyed by the family (or the operation) and the
grid length: a law that differs only in its parameters or location compiles
nothing new, a new grid length one program.

The values are checked against scipy.stats (closed forms) so that the fused
programs are known to compute the same laws.
"""

import numpy as np
import pytest
import scipy.stats

from probconv import distributions as dist

STEP = 0.0625  # one grid for every law of this module: shared programs


def test_a_new_location_or_scale_compiles_nothing(count_compiles):
    dist.gamma(2.0, step=STEP, support=(0.0, 16.0))  # warm the family's program
    with count_compiles() as events:
        g = dist.gamma(3.5, loc=1.0, scale=0.5, step=STEP, support=(0.0, 16.0))
    assert len(events) == 0, events
    ref = scipy.stats.gamma(3.5, 1.0, 0.5)
    # the cdf at cell edges is exact up to the cut tails (fourth order inside)
    edges = np.array([1.5, 2.0, 3.0, 4.0]) + STEP / 2  # cell edges
    np.testing.assert_allclose(g.cdf(edges), ref.cdf(edges), atol=1e-12)


def test_a_new_grid_length_compiles_one_program(count_compiles):
    dist.normal(0.0, 1.0, step=STEP, support=(-8.0, 8.0))
    with count_compiles() as events:
        x = dist.normal(0.5, 1.5, step=STEP, support=(-8.0, 9.0))
    assert len(events) == 1, events
    assert float(x.masses.sum() + x.truncated) == pytest.approx(1.0, abs=1e-14)
    assert float(x.truncated) == pytest.approx(
        scipy.stats.norm(0.5, 1.5).cdf(-8.0 - STEP / 2)
        + scipy.stats.norm(0.5, 1.5).sf(9.0 + STEP / 2),
        rel=1e-10,
    )


def test_sums_and_compounds_compile_one_program_each(count_compiles):
    e = dist.exponential(scale=1.0, step=STEP, support=(0.0, 48.0))
    f = dist.exponential(scale=2.0, step=STEP, support=(0.0, 48.0))
    u = dist.normal(0.0, 1.0, step=STEP, support=(-8.0, 8.0))
    v = dist.normal(1.0, 0.5, step=STEP, support=(-8.0, 8.0))
    dist.iid_sum(e, 4), u + u, dist.compound(dist.poisson(2.0), e, size=1024)
    with count_compiles() as events:
        s4 = dist.iid_sum(f, 4)
        s2 = u + v
        c = dist.compound(dist.poisson(2.5), f, size=1024)  # same length
    assert len(events) == 0, events
    # Against closed forms at cell edges (where the cdf sums whole cells),
    # within the fourth-order discretization error (h = 1/16: about 1e-7).
    t = 8.0 + STEP / 2
    np.testing.assert_allclose(
        s4.cdf(t), scipy.stats.gamma(4, scale=2.0).cdf(t), atol=1e-7
    )
    t = 1.5 + STEP / 2
    ref = scipy.stats.norm(1.0, np.sqrt(1.25)).cdf(t)
    np.testing.assert_allclose(s2.cdf(t), ref, atol=1e-7)
    # compound Poisson: no mass lost, E[S] = lam E[X]
    assert float(c.masses.sum() + c.truncated) == pytest.approx(1.0, abs=1e-12)
    assert float(c.mean()) == pytest.approx(2.5 * 2.0, rel=1e-4)


def test_a_relative_sum_on_a_new_size_compiles_a_few_programs(count_compiles):
    # Issue 14 in relative mode: the planning and the finishing of the
    # relative sums ran as dozens of single operations, each compiled for
    # the new grid length (74 programs for `iid_sum` and its logpmf, 65 for
    # `add`); now one program per stage (logs, convolution, result, query).
    x, y = dist.binomial(7, 0.25), dist.binomial(9, 0.5)
    dist.add(dist.binomial(5, 0.25), y, accuracy="relative").logpmf(3)  # size-free
    with count_compiles() as events:
        got = dist.add(x, y, accuracy="relative").logpmf([0, 3, 16])
    assert len(events) <= 5, events
    # Against the exact law in float64 (a direct sum of the binomial pmfs):
    # the relative method keeps each mass to a few ulps, its log to 1e-13.
    px = scipy.stats.binom(7, 0.25).pmf(np.arange(8))
    py = scipy.stats.binom(9, 0.5).pmf(np.arange(10))
    ref = np.log(np.convolve(px, py)[[0, 3, 16]])
    np.testing.assert_allclose(got, ref, rtol=1e-13)
