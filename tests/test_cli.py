"""The command line: documented output, and one-line errors with status 2."""

import json
import math
import os
import subprocess
import sys
from fractions import Fraction
from itertools import product

import numpy as np
import pytest
import scipy.stats

from probconv import distributions as dist
from probconv._expr import ExpressionError, functions, parse, usage
from probconv.cli import build_parser, cache_dir, main


@pytest.fixture(autouse=True)
def _cache_in_tmp(tmp_path_factory, monkeypatch):
    """Keep the command line's compilation cache out of the user's home."""
    path = tmp_path_factory.getbasetemp() / "probconv-cache"
    monkeypatch.setenv("PROBCONV_CACHE_DIR", str(path))


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _exact_2d6_sf(x):
    total = sum(Fraction(1, 36) for a, b in product(range(1, 7), repeat=2) if a + b > x)
    return float(total)


def test_sum_reports_moments_quantiles_and_probabilities(capsys):
    code, out, err = run(
        capsys,
        "sum",
        "binomial(20, 0.3) + poisson(4) + 3d6",
        "--cdf",
        "10",
        "--sf",
        "30",
        "--quantile",
        "0.999",
    )
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == "X = binomial(20, 0.3) + poisson(4) + 3d6"
    # mean 6 + 4 + 10.5, variance 4.2 + 4 + 3 * 35/12
    assert "mean      20.5" in out
    assert "variance  16.95" in out
    assert "0.999: 33" in out
    assert "P(X <= 10) = 0.00517080446" in out
    assert "P(X > 30) = 0.00816135814" in out


def test_sum_json_matches_exact_dice(capsys):
    code, out, _ = run(capsys, "sum", "2d6", "--sf", "9", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["expression"] == "2d6"
    assert data["mean"] == pytest.approx(7.0, abs=1e-12)
    assert data["variance"] == pytest.approx(35 / 6, abs=1e-12)
    assert data["sf"]["9"] == pytest.approx(_exact_2d6_sf(9), abs=1e-14)
    assert data["quantiles"]["0.5"] == 7.0


def test_sum_plot_writes_png(tmp_path, capsys):
    png = tmp_path / "s.png"
    code, out, _ = run(capsys, "sum", "d20 - d20 + 3", "--plot", str(png))
    assert code == 0 and png.read_bytes()[:4] == b"\x89PNG"
    assert "mean      3" in out


def test_progress_goes_to_stderr(capsys):
    code, out, err = run(capsys, "--progress", "sum", "4d6")
    assert code == 0 and "convolving" in err and "X = 4d6" in out


@pytest.mark.parametrize(
    "expr, message",
    [
        ("binomial(20, 0.3", "'(' was never closed (at column 9"),
        ("3d6 + ", "the expression ends too early (at column 6"),
        ("foo(2)", "unknown name 'foo'; known: add, bernoulli"),
        ("iid(3, d6)", "unknown name 'iid'; did you mean 'iid_sum'?"),
        ("binomial(20)", "binomial(): missing a required argument: 'p'"),
        ("binomial(1, 0.5, 3)", "binomial() takes at most 2 positional argument(s)"),
        ("binomial(10, q=0.5)", "binomial() has no parameter 'q'; its parameters: "),
        ("binomial(n=1, n=2)", "binomial() got 'n' twice"),
        (
            "binomial(2.5, 0.1)",
            "binomial(): `n` must be an integer (a static Python int)",
        ),
        ("poisson(-1)", "poisson(): `mu` must"),
        ("normal(0, -1)", "normal(): `scale` must be finite and positive"),
        ("iid_sum(10, d6)", "iid_sum(): `x` must be a distribution, got the number"),
        ("poisson(d6)", "poisson(): `mu` takes numbers, not a distribution"),
        ("mixture([0.5, 0.5], [d6, 2])", "`dists` must be a list of distributions"),
        ("3d6 $ 2", "unexpected character '$' (at column 5"),
        ("3d6 \u2212 2", "unexpected character '\u2212' (at column 5"),
        ("d6 * d6", "product of two random variables"),
        ("d6 / 2", "'/' is not allowed"),
        ("d6 ** 2", "'**' is not allowed"),
        ("d6.masses", "attribute access is not allowed"),
        ("__import__('os').system('true')", "attribute access is not allowed"),
        ("__import__('os')", "unknown name '__import__'"),
        ("__ + d6", "unknown name '__'"),
        ("(lambda: d6)()", "lambda is not allowed"),
        ("(d6)(3)", "dice are a law, not a function"),
        ("(d6 + 1)(3)", "only calls by name are allowed"),
        ("poisson", "'poisson' is a function: call it"),
        ("d6 + 'x'", "the string 'x' cannot take part in + - *"),
        ("poisson(True)", "True is not allowed"),
        ("2 + 3", "is the constant 5, not a random variable"),
        ("", "empty expression"),
    ],
)
def test_bad_expressions_give_one_line_and_status_2(capsys, expr, message):
    code, out, err = run(capsys, "sum", expr)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("probconv: error: ")
    assert message in err


def test_a_law_too_large_for_memory_is_one_line(capsys, monkeypatch):
    import jax

    import probconv._expr

    # what `3d99999999999` raises on a CPU (not run: it would allocate 800 GB)
    def too_big(text, accuracy=None):
        raise jax.errors.JaxRuntimeError(
            "RESOURCE_EXHAUSTED: Out of memory allocating 799999999992 bytes."
        )

    monkeypatch.setattr(probconv._expr, "parse", too_big)
    code, out, err = run(capsys, "sum", "3d99999999999")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert err.startswith("probconv: error: out of memory: RESOURCE_EXHAUSTED")


def test_unknown_keyword_names_the_real_signature(capsys):
    code, _, err = run(capsys, "sum", "exponential(rate=2)")
    assert code == 2
    shown = "exponential(loc=0.0, scale=1.0, *, step=None, support=None"
    assert "exponential() has no parameter 'rate'; its parameters: " + shown in err
    assert usage("exponential", dist.exponential).startswith(shown)


def run_json(capsys, *argv):
    code, out, err = run(capsys, "sum", *argv, "--json")
    assert code == 0 and err == "", err
    return json.loads(out)


def test_positional_and_keyword_arguments_follow_the_api(capsys):
    # exponential(loc, scale) as in the Python API (and scipy.stats.expon).
    ref = dist.exponential(0, 2)
    for expr in (
        "exponential(0, 2)",
        "exponential(scale=2)",
        "exponential(0, scale=2)",
    ):
        data = run_json(capsys, expr, "--sf", "3")
        assert data["mean"] == pytest.approx(float(ref.mean()), rel=1e-12)
        assert data["sf"]["3"] == pytest.approx(float(ref.sf(3.0)), rel=1e-12)
        assert data["sf"]["3"] == pytest.approx(scipy.stats.expon(0, 2).sf(3), rel=1e-5)
    data = run_json(
        capsys, "binomial(n=10, p=0.5) + binomial(10.0, p=0.25)", "--sf", "7"
    )
    want = np.convolve(
        scipy.stats.binom(10, 0.5).pmf(range(11)),
        scipy.stats.binom(10, 0.25).pmf(range(11)),
    )[8:].sum()
    assert data["sf"]["7"] == pytest.approx(want, rel=1e-12)


def test_guide_keyword_examples(capsys):
    # docs/guide/cli.md, "Keywords"
    data = run_json(capsys, "binomial(n=10, p=0.5) + poisson(mu=4)", "--cdf", "5")
    k = np.arange(6)
    want = np.convolve(scipy.stats.binom(10, 0.5).pmf(k), scipy.stats.poisson(4).pmf(k))
    assert data["cdf"]["5"] == pytest.approx(want[:6].sum(), rel=1e-12)
    code, out, _ = run(
        capsys, "sum", "exponential(0, 2) + exponential(scale=2)", "--sf", "10"
    )
    line = out.split("P(X > 10) between ")[1].split(" (")[0]
    low, high = (float(v) for v in line.split(" and "))
    assert low <= 6 * math.exp(-5) <= high  # gamma(2, scale=2).sf(10)


def test_compound_sum(capsys):
    expr = "compound(poisson(3), lognormal(1, 0.5))"
    data = run_json(capsys, expr, "--sf", "20")
    ref = dist.compound(dist.poisson(3), dist.lognormal(1, 0.5))
    assert data["mean"] == pytest.approx(float(ref.mean()), rel=1e-12)
    assert data["sf"]["20"] == pytest.approx(float(ref.sf(20.0)), rel=1e-12)
    # E[S] = E[N] E[X], Var S = E[N] E[X^2] for a Poisson count.
    x = scipy.stats.lognorm(1, 0.5)
    assert data["mean"] == pytest.approx(3 * x.mean(), rel=1e-4)
    assert data["variance"] == pytest.approx(float(ref.var()), rel=1e-12)
    # the severity's heavy tail is cut at about 1e-6 of its mass
    assert data["variance"] == pytest.approx(3 * x.moment(2), rel=3e-3)


def test_iid_sum_takes_the_api_order(capsys):
    data = run_json(capsys, "iid_sum(binomial(10, 0.5), 30)", "--sf", "170")
    b = scipy.stats.binom(300, 0.5)
    assert data["sf"]["170"] == pytest.approx(b.sf(170), rel=1e-9)
    assert data["variance"] == pytest.approx(75, rel=1e-12)
    code, _, err = run(capsys, "sum", "iid_sum(30, binomial(10, 0.5))")
    assert code == 2 and "its parameters: iid_sum(x, n, *, accuracy=" in err


def test_mixture(capsys):
    data = run_json(
        capsys, "mixture([0.3, 0.7], [poisson(2), poisson(8)])", "--cdf", "5"
    )
    want = 0.3 * scipy.stats.poisson(2).cdf(5) + 0.7 * scipy.stats.poisson(8).cdf(5)
    assert data["cdf"]["5"] == pytest.approx(want, rel=1e-12)


def test_accuracy_relative_reaches_sums_and_calls(capsys):
    # P(X > 58) = 61 / 2**60, far below the absolute error of a plain FFT.
    for expr in (
        "iid_sum(binomial(6, 0.5), 10)",
        "binomial(40, 0.5) + binomial(20, 0.5)",
    ):
        data = run_json(capsys, expr, "--sf", "58", "--accuracy", "relative")
        assert data["sf"]["58"] == pytest.approx(61 / 2**60, rel=1e-9)
    code, _, err = run(
        capsys, "sum", "compound(poisson(2), normal())", "--accuracy", "relative"
    )
    assert code == 2 and err.count("\n") == 1 and "must be >= 0" in err
    code, _, err = run(capsys, "sum", "d6", "--accuracy", "exact")
    assert code == 2 and "invalid choice: 'exact'" in err


def test_queries_past_the_grid_print_a_bound_not_zero(capsys):
    expr = "10 * lognormal(0.5)"
    code, out, _ = run(
        capsys, "sum", expr, "--sf", "900", "--sf", "100", "--cdf", "0.3"
    )
    assert code == 0
    t = float((10 * dist.lognormal(0.5)).truncated)
    # the default grid cuts tol / 1024 (a tail budget shared by summands)
    assert 1e-10 < t < 1e-8
    e = math.floor(math.log10(t))
    bound = f"{math.ceil(t / 10 ** (e - 1)):d}"
    line = next(s for s in out.splitlines() if "P(X > 900)" in s)
    assert line.startswith(f"  P(X > 900) < {bound[0]}.{bound[1]}e{e:+03d}")
    assert "the grid has no mass beyond 900" in line and f"{t:.3g} of the mass" in line
    assert "P(X <= 0.3) < " in out and "the grid has no mass up to 0.3" in out
    # in the last half cell the grid's mass is negligible next to the cut mass
    code, edge, _ = run(capsys, "sum", expr, "--sf", "212.553")
    line = next(s for s in edge.splitlines() if "P(X > 212.553)" in s)
    assert line.startswith("  P(X > 212.553) < ") and "(the grid has only " in line
    assert " = 0\n" not in out and "-inf" not in out
    data = run_json(capsys, expr, "--sf", "900", "--sf", "100", "--cdf", "0.3")
    x = scipy.stats.lognorm(0.5, scale=10)
    for key, true in (("900", x.sf(900)), ("100", x.sf(100))):
        lo, hi = data["sf_bounds"][key]
        assert lo <= true <= hi and hi == pytest.approx(lo + t, rel=1e-12)
    lo, hi = data["cdf_bounds"]["0.3"]
    assert lo == 0 and lo <= x.cdf(0.3) <= hi
    # between the two: both ends, bracketing scipy's value
    line = next(s for s in out.splitlines() if "P(X > 100)" in s)
    low, high = (
        float(v) for v in line.split("between ")[1].split(" (")[0].split(" and ")
    )
    assert low <= x.sf(100) <= high


def test_tails_below_the_smallest_float_and_below_fft_resolution(capsys):
    # P(X > 1198) = 1201 / 2**1200 for a sum of 1200 fair coins: 1e-358.
    expr = "iid_sum(binomial(6, 0.5), 200)"
    code, out, _ = run(capsys, "sum", expr, "--sf", "1198", "--accuracy", "relative")
    assert code == 0
    log10 = math.log10(1201) - 1200 * math.log10(2)
    mantissa = 10 ** (log10 - math.floor(log10))
    value = out.split("P(X > 1198) = ")[1].split()[0]
    assert value.endswith(f"e{math.floor(log10):+03d}")
    assert float(value.split("e")[0]) == pytest.approx(mantissa, rel=1e-5)
    data = run_json(capsys, expr, "--sf", "1198", "--accuracy", "relative")
    assert data["log_sf"]["1198"] == pytest.approx(log10 * math.log(10), rel=1e-9)
    # A plain FFT rounds these masses to 0: an estimated bound, not a bare 0.
    code, out, _ = run(capsys, "sum", "iid_sum(binomial(6, 0.5), 100)", "--sf", "599")
    line = out.split("P(X > 599) ")[1].splitlines()[0]
    assert line.startswith("< ") and "--accuracy relative resolves them" in line
    assert 601 / 2**600 < float(line.split()[1]) < 1e-12
    # an exact zero (past the end of a finite support, nothing cut) stays 0
    code, out, _ = run(capsys, "sum", "2 * d6", "--sf", "12")
    assert "P(X > 12) = 0\n" in out


def test_every_public_law_function_is_callable():
    public = {n for n in dist.__all__ if not isinstance(getattr(dist, n), type)}
    assert set(functions()) == public - {
        "from_scipy",
        "logconvolve",
        "relative_error",
        "discretization_error",
    }


def test_bad_numbers_and_files(capsys, tmp_path):
    code, _, err = run(capsys, "sum", "2d6", "--sf", "abc")
    assert code == 2 and "not a number: 'abc'" in err and err.count("\n") == 1
    code, _, err = run(capsys, "sum", "2d6", "--quantile", "1.5")
    assert code == 2 and "not a probability" in err
    code, _, err = run(
        capsys,
        "smooth",
        str(tmp_path / "missing.csv"),
        "--column",
        "y",
        "--window",
        "3",
    )
    assert code == 2 and "cannot read" in err and err.count("\n") == 1
    bad = tmp_path / "bad.csv"
    bad.write_text("t,y\n1,2\n2,oops\n")
    code, _, err = run(capsys, "smooth", str(bad), "--column", "y", "--window", "3")
    assert code == 2 and "line 3, column 'y': not a number: 'oops'" in err
    code, _, err = run(capsys, "smooth", str(bad), "--column", "z", "--window", "3")
    assert code == 2 and "no column 'z'" in err
    code, _, err = run(capsys, "frobnicate")
    assert code == 2 and err.startswith("probconv: error: ")


def test_expression_grammar_values():
    d = parse("2 * (d4 + 1) - 1")
    np.testing.assert_allclose(float(d.mean()), 2 * 3.5 - 1, atol=1e-12)
    with pytest.raises(ExpressionError) as info:
        parse("dice(2, 6) + )")
    assert info.value.column == 14


def test_smooth_and_kde_commands(tmp_path, capsys):
    rng = np.random.default_rng(0)
    y = np.sin(np.linspace(0, 10, 200)) + 0.3 * rng.standard_normal(200)
    y[50] = np.nan
    src = tmp_path / "d.csv"
    src.write_text("y\n" + "\n".join("" if np.isnan(v) else repr(float(v)) for v in y))
    out_csv = tmp_path / "s.csv"
    code, out, _ = run(
        capsys,
        "smooth",
        str(src),
        "--column",
        "y",
        "--gaussian",
        "3",
        "-o",
        str(out_csv),
    )
    assert code == 0 and "gaussian(sigma=3)" in out
    sm = np.loadtxt(out_csv, delimiter=",", skiprows=1)[:, 1]
    assert np.isfinite(sm).all() and np.std(sm - np.sin(np.linspace(0, 10, 200))) < 0.2
    code, out, _ = run(
        capsys,
        "smooth",
        str(src),
        "--column",
        "y",
        "--window",
        "5",
        "--nan",
        "propagate",
    )
    assert code == 0 and "nan" in out.lower()
    png = tmp_path / "k.png"
    code, out, _ = run(
        capsys,
        "kde",
        str(src),
        "--column",
        "y",
        "--plot",
        str(png),
        "--bandwidth",
        "silverman",
    )
    assert code == 0 and "n=199" in out and png.exists()


def _cli(*argv, env=None):
    return subprocess.run(
        [sys.executable, "-m", "probconv", *argv],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


def test_compilation_cache_makes_the_second_run_reuse_programs(tmp_path):
    """`python -m probconv` twice: the second run compiles nothing new."""
    cache = tmp_path / "cache"
    env = {**os.environ, "PROBCONV_CACHE_DIR": str(cache)}
    env.pop("JAX_COMPILATION_CACHE_DIR", None)
    argv = ("sum", "3d6 + binomial(10, 0.5)", "--sf", "12")
    first = _cli(*argv, env=env)
    assert first.returncode == 0, first.stderr
    files = {p.name for p in cache.iterdir()}
    # The dice and the binomial law, their sum and its tail are computed on
    # the host (nothing compiled); the few programs left (moments) are cached.
    assert len(files) >= 3
    second = _cli(*argv, env=env)
    assert second.returncode == 0, second.stderr
    assert second.stdout == first.stdout
    assert "P(X > 12) = 0.8089373553" in first.stdout  # 1 - P(3d6 + B <= 12)
    assert {p.name for p in cache.iterdir()} == files  # all hits, nothing new


def test_no_cache_leaves_no_cache_folder(tmp_path, monkeypatch, capsys):
    """`--no-cache` leaves no cache folder.

    In-process (a third `python -m probconv` costs seconds of start-up and
    compilation): `python -m` itself is run by the test above.
    """
    import jax

    if jax.config.jax_compilation_cache_dir:
        pytest.skip("a compilation cache is configured for this process")
    monkeypatch.setenv("PROBCONV_CACHE_DIR", str(tmp_path / "cache"))
    data = run_json(capsys, "3d6", "--no-cache")
    assert data["mean"] == pytest.approx(10.5)
    assert not (tmp_path / "cache").exists()
    assert run_json(capsys, "3d6") == data  # and without it, the folder is made
    assert (tmp_path / "cache").is_dir()


def test_cache_folder_and_the_library_leaves_the_cache_off(monkeypatch, capsys):
    monkeypatch.setenv("PROBCONV_CACHE_DIR", "/tmp/x")
    assert cache_dir() == "/tmp/x"
    monkeypatch.delenv("PROBCONV_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", "/var/cache/me")
    assert cache_dir() == "/var/cache/me/probconv/jax"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")
    monkeypatch.setenv("HOME", "/home/me")
    assert cache_dir() == "/home/me/.cache/probconv/jax"
    for argv in (["--no-cache", "sum", "d6"], ["sum", "d6", "--no-cache"]):
        assert build_parser().parse_args(argv).no_cache is True
    assert build_parser().parse_args(["sum", "d6"]).no_cache is False
    if os.environ.get("JAX_COMPILATION_CACHE_DIR"):
        pytest.skip("a compilation cache is configured for this process")
    import jax

    assert jax.config.jax_compilation_cache_dir is None  # importing probconv
    assert run(capsys, "sum", "d6")[0] == 0
    assert jax.config.jax_compilation_cache_dir is None  # main restores it
    assert jax.config.jax_persistent_cache_min_entry_size_bytes == 0
