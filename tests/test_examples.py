"""Every example script runs at a small size and writes its figure."""

import runpy
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SCRIPTS = sorted(p for p in EXAMPLES.glob("*.py") if p.name != "quickstart.py")


# The longest small runs (30 s and more on 2 cores): the functions they call
# are covered by faster unit tests (test_dist_compound, test_tails,
# test_continuous_sums, test_smooth), so the default run skips them and
# `pytest -m slow` runs them.
SLOW = {"insurance_loss", "portfolio_risk", "continuous_sums", "smoothing"}
SLOW |= {"numpyro_two_sources", "numpyro_reporting_delay"}  # NUTS: test_numpyro
# 7-15 s: wiener, richardson_lucy and deconvolve_distribution are covered by
# test_deconv, test_deconv_distribution and test_physics_deconv_dtypes.
SLOW |= {"deconvolution"}
PARAMS = [
    pytest.param(p, id=p.stem, marks=[pytest.mark.slow] if p.stem in SLOW else [])
    for p in SCRIPTS
]


@pytest.mark.parametrize("script", PARAMS)
def test_example_runs_small_and_writes_png(script, monkeypatch, tmp_path):
    monkeypatch.setenv("PROBCONV_EXAMPLE_SMALL", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    out = EXAMPLES / "out"
    before = {p: p.stat().st_mtime for p in out.glob("*.png")} if out.exists() else {}
    runpy.run_path(str(script), run_name="__main__")
    written = [p for p in out.glob("*.png") if before.get(p) != p.stat().st_mtime]
    assert written, f"{script.name} wrote no PNG under examples/out/"
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in written)


@pytest.mark.slow
def test_quickstart_runs(monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    runpy.run_path(str(EXAMPLES / "quickstart.py"), run_name="__main__")
    assert (EXAMPLES / "out" / "quickstart.png").exists()
