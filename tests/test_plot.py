"""probconv.plot: figures hold the data they are given; bad input is refused."""

import numpy as np
import pytest

from probconv import distributions as dist
from probconv import plot


def test_plot_distribution_lattice_draws_the_masses(tmp_path):
    d = dist.dice(2, 6)
    fig = plot.plot_distribution(d, title="2d6")
    bars = fig.axes[0].patches
    heights = np.array([b.get_height() for b in bars])
    np.testing.assert_allclose(heights, np.asarray(d.masses), atol=1e-15)
    assert fig.axes[0].get_ylabel() == "P(X = x)"
    cdf_line = fig.axes[1].lines[0]
    np.testing.assert_allclose(cdf_line.get_ydata()[-1], 1.0, atol=1e-12)
    fig.savefig(tmp_path / "d.png")
    assert (tmp_path / "d.png").read_bytes()[:4] == b"\x89PNG"


def test_plot_distribution_density_and_errors():
    d = dist.from_masses(np.full(10, 0.1), origin=0.05, step=0.1, kind="density")
    fig = plot.plot_distribution(d, tails=False)
    assert len(fig.axes) == 2
    np.testing.assert_allclose(fig.axes[0].lines[0].get_ydata(), 1.0, rtol=1e-12)
    with pytest.raises(TypeError, match="`dist` must be a probconv Distribution"):
        plot.plot_distribution(np.ones(3))
    with pytest.raises(ValueError, match="`dist` must be a single distribution"):
        plot.plot_distribution(dist.binomial(3, np.array([0.2, 0.5])))


def test_plot_density_smoothing_correlation():
    g = np.linspace(-3, 3, 31)
    f = np.exp(-(g**2) / 2)
    fig = plot.plot_density(g, f, samples=np.random.default_rng(0).normal(size=100))
    np.testing.assert_array_equal(fig.axes[0].lines[0].get_ydata(), f)
    with pytest.raises(ValueError, match="`grid` and `density` must be 1-D"):
        plot.plot_density(g, f[:-1])
    fig = plot.plot_smoothing(None, f, [f, 2 * f], labels=["a", "b"])
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == [
        "data",
        "a",
        "b",
    ]
    with pytest.raises(ValueError, match="`labels` must give one label"):
        plot.plot_smoothing(None, f, f, labels=["a", "b"])
    fig = plot.plot_correlation(np.arange(-2, 3), [0.0, 1.0, 3.0, 1.0, 0.0])
    assert fig.axes[0].lines[1].get_xdata()[0] == 0
    with pytest.raises(ValueError, match="`lags` and `values` must be 1-D"):
        plot.plot_correlation(np.arange(3), [1.0, 2.0])
