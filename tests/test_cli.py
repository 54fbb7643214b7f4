"""The command line: documented output, and one-line errors with status 2."""

import json
import subprocess
import sys
from fractions import Fraction
from itertools import product

import numpy as np
import pytest

from probconv._expr import ExpressionError, parse
from probconv.cli import main


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
        ("binomial(20, 0.3", "expected ')', found the end (at column 17"),
        ("3d6 + ", "expected a number, dice or a distribution, found the end"),
        ("foo(2)", "unknown distribution 'foo'"),
        ("binomial(20)", "binomial() takes 2 argument(s), got 1"),
        ("binomial(2.5, 0.1)", "argument 1 of binomial() must be an integer"),
        ("poisson(-1)", "poisson(-1): `mu` must"),
        ("3d6 $ 2", "unexpected character '$' (at column 5"),
        ("d6 * d6", "product of two random variables"),
        ("2 + 3", "is the constant 5, not a random variable"),
        ("", "empty expression"),
    ],
)
def test_bad_expressions_give_one_line_and_status_2(capsys, expr, message):
    code, out, err = run(capsys, "sum", expr)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("probconv: error: ")
    assert message in err


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


def test_python_dash_m():
    res = subprocess.run(
        [sys.executable, "-m", "probconv", "sum", "3d6", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["mean"] == pytest.approx(10.5)
    res = subprocess.run(
        [sys.executable, "-m", "probconv", "sum", "3d6 +"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 2 and "Traceback" not in res.stderr
