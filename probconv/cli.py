"""The `probconv` command line: sums of random variables, smoothing, KDE.

    probconv sum "binomial(20, 0.3) + poisson(4) + 3d6" --sf 30 --quantile 0.99
    probconv sum "compound(poisson(3), lognormal(1, 0.5))" --sf 20
    probconv sum "iid_sum(binomial(n=10, p=0.5), 30)" --sf 290 --accuracy relative
    probconv smooth data.csv --column y --gaussian 3 -o smoothed.csv
    probconv kde data.csv --column x --plot density.png

User errors (a malformed expression, an unknown name, a bad number, an
unreadable file) print one line, ``probconv: error: ...``, and exit with
status 2; no traceback.

The program keeps JAX's compiled programs in a persistent cache (see
`cache_dir`), so that a second run skips the compilation that dominates a
first one; ``--no-cache`` turns it off. The library never turns it on.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import math
import os
import sys
import time

import numpy as np

from ._compilation_cache import CACHE_CONFIG, default_cache_dir

EXIT_USAGE = 2


class UsageError(Exception):
    """A user's mistake: reported in one line with exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, status 2, no usage dump
        raise UsageError(message)


class _Progress:
    """Step messages on stderr for long work (when stderr is a terminal)."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.t0 = time.perf_counter()

    def __call__(self, message: str) -> None:
        if self.enabled:
            dt = time.perf_counter() - self.t0
            print(f"[{dt:6.1f}s] {message}", file=sys.stderr, flush=True)


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"not a finite number: {text!r}")
    return value


def _probability(text: str) -> float:
    value = _number(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"not a probability in [0, 1]: {text!r}")
    return value


def _positive(text: str) -> float:
    value = _number(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"not a positive number: {text!r}")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"not a positive integer: {text!r}")
    return value


def _with_parents(add_parser, parents):
    def add(*args, **kwargs):
        return add_parser(*args, parents=parents, **kwargs)

    return add


def cache_dir() -> str:
    """Return the folder of the command line's persistent compilation cache.

    ``$PROBCONV_CACHE_DIR`` if it is set, else ``$XDG_CACHE_HOME/probconv/jax``,
    else ``~/.cache/probconv/jax`` (the folder of
    `probconv.use_compilation_cache`).
    """
    return default_cache_dir()


@contextlib.contextmanager
def _compilation_cache(enabled: bool, progress):
    """Turn on JAX's persistent compilation cache for the program's run.

    The previous settings are restored afterwards, so that `main` called
    from Python leaves the process as it found it. A cache the caller set
    up (``JAX_COMPILATION_CACHE_DIR``) is left alone, and a folder that
    cannot be created means no cache, not an error.
    """
    import jax
    from jax.experimental.compilation_cache import compilation_cache

    if not enabled or jax.config.jax_compilation_cache_dir:
        yield
        return
    path = cache_dir()
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as err:
        progress(f"no compilation cache: cannot create {path}: {err.strerror or err}")
        yield
        return
    names = ("jax_compilation_cache_dir",) + tuple(n for n, _ in CACHE_CONFIG)
    saved = {name: getattr(jax.config, name) for name in names}
    # JAX decides once per process whether to use a cache, at its first
    # compilation (importing probconv may have been that): ask again.
    compilation_cache.reset_cache()
    jax.config.update("jax_compilation_cache_dir", path)
    for name, value in CACHE_CONFIG:
        jax.config.update(name, value)
    progress(f"compilation cache: {path}")
    try:
        yield
    finally:
        for name, value in saved.items():
            jax.config.update(name, value)
        compilation_cache.reset_cache()


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the `probconv` command."""
    p = _Parser(
        prog="probconv",
        description="Convolution for probability and statistics.",
    )
    # The common options are accepted before and after the subcommand.
    common = _Parser(add_help=False)
    for q, default in ((p, False), (common, argparse.SUPPRESS)):
        q.add_argument(
            "--progress",
            action="store_true",
            default=default,
            help="report steps on stderr",
        )
        q.add_argument(
            "--no-cache",
            action="store_true",
            default=default,
            help="do not keep compiled programs in the cache folder (see cache_dir)",
        )
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    sub.add_parser = _with_parents(sub.add_parser, [common])

    s = sub.add_parser(
        "sum",
        help="the law of a sum of independent random variables",
        description=(
            "Evaluate an expression such as 'binomial(20, 0.3) + poisson(4) + "
            "3d6' or 'compound(poisson(3), lognormal(1, 0.5))': numbers, + - *, "
            "NdS dice, and calls of the functions of probconv.distributions "
            "with the Python API's positional and keyword arguments."
        ),
    )
    s.add_argument("expression")
    s.add_argument(
        "--accuracy",
        choices=("absolute", "relative"),
        help=(
            "passed as accuracy= to X + Y and to the functions that take it "
            "(add, iid_sum, compound, poisson_binomial); 'relative' keeps a "
            "small relative error far into the tails (lattice laws; densities "
            "in sums)"
        ),
    )
    s.add_argument("--cdf", type=_number, action="append", default=[], metavar="X")
    s.add_argument("--sf", type=_number, action="append", default=[], metavar="X")
    s.add_argument(
        "--quantile", type=_probability, action="append", default=[], metavar="Q"
    )
    s.add_argument("--plot", metavar="FILE", help="write a PNG of pmf/cdf/tails")
    s.add_argument("--json", action="store_true", help="print JSON")

    m = sub.add_parser("smooth", help="smooth a column of a CSV file")
    m.add_argument("file")
    m.add_argument("--column", required=True)
    g = m.add_mutually_exclusive_group(required=True)
    g.add_argument("--gaussian", type=_positive, metavar="SIGMA")
    g.add_argument("--window", type=_count, metavar="N", help="moving average")
    g.add_argument("--ewma-span", type=_positive, metavar="SPAN")
    m.add_argument(
        "--nan",
        choices=("propagate", "omit"),
        default="omit",
        help="missing values: keep NaN, or renormalize over those present",
    )
    m.add_argument("-o", "--output", metavar="FILE", help="CSV out (default stdout)")

    k = sub.add_parser("kde", help="kernel density estimate of a CSV column")
    k.add_argument("file")
    k.add_argument("--column", required=True)
    k.add_argument(
        "--bandwidth", default="scott", help="scott, silverman, isj or a number"
    )
    k.add_argument("--grid-size", type=_count, default=1024)
    k.add_argument("--plot", metavar="FILE")
    k.add_argument("-o", "--output", metavar="FILE", help="CSV of grid, density")
    return p


def _read_column(path: str, column: str) -> np.ndarray:
    """Read one numeric column of a CSV file with a header row.

    Empty cells and ``nan``/``NA``/``null`` are missing values (NaN). In a
    file of a single column, an empty line is a missing value too.
    """
    try:
        with open(path, newline="") as fh:
            rows = list(csv.reader(fh))
    except OSError as err:
        raise UsageError(f"cannot read {path}: {err.strerror or err}") from None
    except (csv.Error, UnicodeDecodeError) as err:
        raise UsageError(f"{path}: not a readable CSV file ({err})") from None
    if not rows:
        raise UsageError(f"{path}: empty file")
    header = [h.strip() for h in rows[0]]
    if column not in header:
        names = ", ".join(header)
        raise UsageError(f"{path}: no column {column!r} (columns: {names})")
    j = header.index(column)
    single = len(header) == 1
    values = []
    for i, row in enumerate(rows[1:]):
        if not row and not single:
            continue
        text = row[j].strip() if j < len(row) else ""
        if text == "" or text.lower() in ("nan", "na", "null"):
            values.append(np.nan)
            continue
        try:
            values.append(float(text))
        except ValueError:
            raise UsageError(
                f"{path}: line {i + 2}, column {column!r}: not a number: {text!r}"
            ) from None
    if not values:
        raise UsageError(f"{path}: no data rows")
    return np.asarray(values, dtype=np.float64)


def _round(x: float, digits: int, up: bool) -> float:
    """`x` rounded to `digits` significant digits, up or down (a safe bound)."""
    if x <= 0 or not math.isfinite(x):
        return x
    unit = 10.0 ** (math.floor(math.log10(x)) - digits + 1)
    return (math.ceil(x / unit) if up else math.floor(x / unit)) * unit


def _from_log(log_p: float) -> str:
    """Format ``exp(log_p)``, even far below the smallest float."""
    log10 = log_p / math.log(10)
    e = math.floor(log10)
    m = 10.0 ** (log10 - e)
    if round(m, 5) >= 10:
        m, e = m / 10, e + 1
    return f"{m:.6g}e{e:+03d}"


def _query(d, kind: str, x: float) -> tuple[str, dict]:
    """Report P(X > x) (kind 'sf') or P(X <= x) (kind 'cdf') honestly.

    The grid holds ``1 - truncated`` of the mass; the rest was cut off
    (tails beyond the grid, on either side), so the true probability lies
    between the grid's value `v` and ``v + truncated``. Where the truncated
    mass cannot change the printed digits, the value is printed; where the
    grid has nothing (past its edge), only the bound ``< truncated`` is known;
    between the two, both ends are printed.
    """
    from .distributions import RelativeDistribution, bounds

    b = bounds(d, x, kind)
    v = float(b.lower)  # the value, or 0 where a relative law reads NaN
    t = float(b.upper - b.lower)  # 0 where the law's own formula answers
    entry = {"value": v, "bounds": [v, v + t]}
    text = f"{v:.10g}"
    if v == 0 and isinstance(d, RelativeDistribution):
        # far below the smallest float, the log-masses still resolve it
        log_v = float(d.logsf(x) if kind == "sf" else d.logcdf(x))
        if math.isfinite(log_v):
            entry["log"] = log_v
            text = _from_log(log_v)
    if v == 0 and "log" not in entry:
        # The grid has points there, but their masses are all 0: rounded
        # away by a plain (absolute-accuracy) FFT, whose absolute error is
        # about eps * (n + 16) * max(mass) per point (see `relative_error`).
        k = np.asarray(d.points) > x if kind == "sf" else np.asarray(d.points) <= x
        if k.any():
            floor = np.finfo(d.dtype).eps * (d.size + 16) * float(d.masses.max())
            bound = _round(t + int(k.sum()) * floor, 2, up=True)
            entry["bounds"] = [0.0, bound]
            return (
                f"< {bound:.2g} (estimated: the masses there are below the "
                f"~{floor:.1g} resolution of the plain FFT; --accuracy relative "
                "resolves them)",
                entry,
            )
    if t <= 1e-11 * v or t == 0:
        return f"= {text}", entry
    if v == 0 or t > 1e4 * v:
        where = "beyond" if kind == "sf" else "up to"
        held = "no mass" if v == 0 else f"only {v:.3g}"
        return (
            f"< {_round(v + t, 2, up=True):.2g} (the grid has {held} {where} "
            f"{x:g}; {t:.3g} of the mass was cut off the grid)",
            entry,
        )
    return (
        f"between {_round(v, 4, up=False):.4g} and {_round(v + t, 4, up=True):.4g} "
        f"({t:.3g} of the mass was cut off the grid)",
        entry,
    )


def _quantile(d, q: float):
    x = float(d.ppf(q))
    return x if math.isfinite(x) else None  # q lies in the mass cut off


def _summary(d, args) -> dict:
    lo, hi = (float(v) for v in d.support())
    out = {
        "mean": float(d.mean()),
        "variance": float(d.var()),
        "std": float(d.std()),
        "support": [lo, hi],
        "truncated_mass": float(d.truncated),
        "quantiles": {
            f"{q:.10g}": _quantile(d, q)
            for q in (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
        },
    }
    for q in args.quantile:
        out["quantiles"][f"{q:.10g}"] = _quantile(d, q)
    lines = []
    for kind, xs, sign in (("cdf", args.cdf, "<="), ("sf", args.sf, ">")):
        out[kind], out[f"{kind}_bounds"] = {}, {}
        for x in xs:
            text, entry = _query(d, kind, x)
            key = f"{x:.10g}"
            out[kind][key] = entry["value"]
            out[f"{kind}_bounds"][key] = entry["bounds"]
            if "log" in entry:
                out.setdefault(f"log_{kind}", {})[key] = entry["log"]
            lines.append(f"  P(X {sign} {key}) {text}")
    return out, lines


def _cmd_sum(args, progress) -> None:
    from . import _expr
    from .distributions import Distribution

    progress(f"parsing and convolving {args.expression!r}")
    try:
        d = _expr.parse(args.expression, accuracy=args.accuracy)
    except _expr.ExpressionError as err:
        raise UsageError(str(err)) from None
    if not isinstance(d, Distribution):
        raise UsageError(
            f"{args.expression!r} is the constant {float(d):g}, not a random variable"
        )
    if d.batch_shape:
        raise UsageError("the expression must describe a single distribution")
    progress("computing summaries")
    s, lines = _summary(d, args)
    if args.plot:
        from .plot import plot_distribution

        progress(f"writing {args.plot}")
        fig = plot_distribution(d, title=args.expression)
        try:
            fig.savefig(args.plot, dpi=110)
        except OSError as err:
            raise UsageError(f"cannot write {args.plot}: {err.strerror or err}")
        s["plot"] = args.plot
    if args.json:
        print(json.dumps({"expression": args.expression, **s}, indent=2))
        return
    print(f"X = {args.expression}")
    print(f"  support   [{s['support'][0]:g}, {s['support'][1]:g}]")
    print(f"  mean      {s['mean']:.10g}")
    print(f"  variance  {s['variance']:.10g}")
    print(f"  std       {s['std']:.10g}")
    qs = "  ".join(
        f"{k}: {'off the grid' if v is None else format(v, 'g')}"
        for k, v in s["quantiles"].items()
    )
    print(f"  quantiles {qs}")
    for line in lines:
        print(line)
    if s["truncated_mass"] > 0:
        print(f"  mass truncated off the grid: {s['truncated_mass']:.3g}")
    if args.plot:
        print(f"  plot written to {args.plot}")


def _cmd_smooth(args, progress) -> None:
    from . import smooth

    progress(f"reading {args.file}")
    y = _read_column(args.file, args.column)
    progress(f"smoothing {y.size} values")
    if args.gaussian is not None:
        if args.nan == "omit":
            out = _gaussian_omit(smooth, y, args.gaussian)
        else:
            out = smooth.gaussian_smooth(y, args.gaussian)
        label = f"gaussian(sigma={args.gaussian:g})"
    elif args.window is not None:
        out = smooth.moving_average(y, args.window, nan_policy=args.nan)
        label = f"moving_average({args.window})"
    else:
        out = smooth.ewma(y, span=args.ewma_span, ignore_na=False)
        label = f"ewma(span={args.ewma_span:g})"
    out = np.asarray(out, dtype=np.float64)
    name = f"{args.column}_smooth"
    lines = [f"{args.column},{name}"] + [
        f"{a!r},{b!r}" for a, b in zip(y.tolist(), out.tolist())
    ]
    text = "\n".join(lines) + "\n"
    if args.output:
        try:
            with open(args.output, "w") as fh:
                fh.write(text)
        except OSError as err:
            raise UsageError(f"cannot write {args.output}: {err.strerror or err}")
        print(f"{label}: {y.size} values -> {args.output} (column {name!r})")
    else:
        sys.stdout.write(text)


def _gaussian_omit(smooth, y, sigma):
    radius = int(4.0 * sigma + 0.5)
    x = np.arange(-radius, radius + 1)
    w = np.exp(-0.5 * (x / sigma) ** 2)
    return smooth.moving_average(y, weights=w, nan_policy="omit")


def _cmd_kde(args, progress) -> None:
    from . import smooth

    progress(f"reading {args.file}")
    x = _read_column(args.file, args.column)
    x = x[np.isfinite(x)]
    if x.size < 2:
        raise UsageError(f"{args.file}: need at least two finite values")
    bw = args.bandwidth
    if bw not in ("scott", "silverman", "isj"):
        try:
            bw = float(bw)
        except ValueError:
            raise UsageError(
                f"--bandwidth must be scott, silverman, isj or a number; got {bw!r}"
            ) from None
        if not (math.isfinite(bw) and bw > 0):
            raise UsageError(f"--bandwidth must be positive; got {args.bandwidth!r}")
    progress(f"estimating the density of {x.size} samples")
    grid, dens = smooth.kde(x, bandwidth=bw, grid=args.grid_size)
    grid, dens = np.asarray(grid), np.asarray(dens)
    print(f"kde of {args.column!r}: n={x.size}, bandwidth={args.bandwidth}")
    print(f"  grid [{grid[0]:g}, {grid[-1]:g}] with {grid.size} points")
    print(f"  mode near {grid[np.argmax(dens)]:g}, peak density {dens.max():.6g}")
    if args.output:
        try:
            np.savetxt(
                args.output,
                np.column_stack([grid, dens]),
                delimiter=",",
                header="x,density",
                comments="",
            )
        except OSError as err:
            raise UsageError(f"cannot write {args.output}: {err.strerror or err}")
        print(f"  written to {args.output}")
    if args.plot:
        from .plot import plot_density

        fig = plot_density(grid, dens, samples=x, title=f"KDE of {args.column}")
        try:
            fig.savefig(args.plot, dpi=110)
        except OSError as err:
            raise UsageError(f"cannot write {args.plot}: {err.strerror or err}")
        print(f"  plot written to {args.plot}")


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status.

    Examples
    --------
    >>> from probconv.cli import main
    >>> main(["sum", "2d6", "--sf", "10"])  # doctest: +ELLIPSIS
    X = 2d6
    ...
      P(X > 10) = 0.08333333333...
    0
    """
    import jax

    # The command line is a program, not the library: it may choose float64.
    jax.config.update("jax_enable_x64", True)
    try:
        args = build_parser().parse_args(argv)
        progress = _Progress(args.progress)
        command = {"sum": _cmd_sum, "smooth": _cmd_smooth, "kde": _cmd_kde}
        with _compilation_cache(not args.no_cache, progress):
            command[args.command](args, progress)
    except UsageError as err:
        print(f"probconv: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except (MemoryError, jax.errors.JaxRuntimeError) as err:
        # A law too large for this machine (3d99999999999) is the user's
        # request, not a bug; any other runtime error is a bug: traceback.
        text = " ".join(str(err).split())
        if isinstance(err, jax.errors.JaxRuntimeError) and not text.startswith(
            "RESOURCE_EXHAUSTED"
        ):
            raise
        print(
            f"probconv: error: out of memory: {text or 'MemoryError'}", file=sys.stderr
        )
        return EXIT_USAGE
    except BrokenPipeError:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
