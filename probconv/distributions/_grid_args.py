r"""The grid arguments of the continuous families: one spec for all of them.

Every continuous family takes its own parameters, then the same five
keyword-only grid arguments, declared, checked and documented here once:

- ``step``: the cell width. Default: the largest power of two for which the
  error of the cdf's linear interpolation inside a cell,
  :math:`h^2 \max|f'| / 8`, is at most `tol` (powers of two nest, so sums of
  laws gridded by default need no regridding).
- ``support``: ``(lo, hi)``, the interval the cells cover. Default: the
  ``tail / 2`` quantiles at each end (the support's ends where finite).
- ``tol``, ``tail``: the targets for those defaults; ``max_size`` caps the
  number of cells. A heavy tail that would need more cells has its cut and
  step balanced, and the mass cut is in ``truncated``.

``tail`` defaults to ``tol / 1024`` (`TAIL_SHARES`): every summand of a sum
drops its own cut mass, and the drops add up (the sum of ten exponential
laws cut at ``tol`` each misses :math:`5 \cdot 10^{-6}` of its ``sf``, five
times ``tol``). A share of ``1 / 1024`` of the budget per law keeps `tol` for
sums, iid sums and compound sums of up to about a thousand summands (a
compound's expected count) at default settings; the grid grows by
:math:`\log 1024 / \log(1/\mathrm{tol})` of its tail length (about half for
an exponential law, a quarter for a normal one). Longer sums need a smaller
``tail``: about ``tol / n`` for ``n`` summands.

A family is written with its own parameters and ``**grid``, and documents
its own parameters only; `grid_family` gives it the full signature (for
`help`, `inspect.signature` and the command line) and the shared entries of
its docstring, and `check_grid` checks what the call passed.
"""

from __future__ import annotations

import inspect
from typing import NamedTuple

import numpy as np

from .._checks import check_int, check_number

# Summands sharing the default tail budget: a law cuts ``tol / TAIL_SHARES``.
TAIL_SHARES = 1024
TOL = 1e-6
MAX_SIZE = 2**20

# The grid keywords, in signature order, with their defaults.
DEFAULTS = {
    "step": None,
    "support": None,
    "tol": TOL,
    "tail": None,
    "max_size": MAX_SIZE,
}

# Their entries in a family's "Parameters" section (numpydoc).
DOC = """\
step : float, optional
    Cell width (static). Default: the largest power of two for which the
    error of the cdf's linear interpolation inside a cell is at most `tol`
    (powers of two nest, so sums of such laws need no regridding).
support : (float, float), optional
    Interval covered by the cells (static). Default: the ``tail / 2``
    quantiles at each end (the support's ends where finite).
tol : float
    Target absolute error of the cdf for the default step (1e-6).
tail : float, optional
    Target mass cut off for the default support. Default ``tol / 1024``: a
    share of `tol` that keeps sums of up to about a thousand such laws
    within `tol`; use about ``tol / n`` for sums of more.
max_size : int
    Most cells for the default grid (2**20). A heavy tail that would need
    more has its cut and step balanced; the mass cut is in ``truncated``.
"""


class Grid(NamedTuple):
    """The checked grid arguments of one call (``tail`` resolved)."""

    step: float | None
    support: tuple[float, float] | None
    tol: float
    tail: float
    max_size: int


def check_grid(name: str, grid: dict) -> Grid:
    """Check the grid keywords `grid` passed to the family `name`.

    Raises
    ------
    TypeError
        For a keyword that is not a grid argument, or one of the wrong type.
    ValueError
        For a value out of range.
    """
    unknown = grid.keys() - DEFAULTS.keys()
    if unknown:
        raise TypeError(
            f"{name}() got an unexpected keyword argument {min(unknown)!r}."
        )
    step, support, tol, tail, max_size = {**DEFAULTS, **grid}.values()
    if step is not None:
        step = check_number("step", step, low=0.0, low_open=True)
    if support is not None:
        try:
            lo, hi = (float(v) for v in support)
        except (TypeError, ValueError):
            raise TypeError(
                f"`support` must be a pair of Python numbers (lo, hi); got {support!r}."
            ) from None
        if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
            raise ValueError(f"`support` must be finite with lo < hi; got {support!r}.")
        support = (lo, hi)
    tol = check_number("tol", tol, low=0.0, low_open=True)
    if tail is None:
        tail = tol / TAIL_SHARES
    tail = check_number("tail", tail, low=0.0, high=0.5, low_open=True, high_open=True)
    max_size = check_int("max_size", max_size, minimum=16)
    return Grid(step, support, tol, tail, max_size)


def grid_family(fn):
    """Give the family `fn` (written with ``**grid``) the grid keywords.

    Sets its signature (its own parameters, then the grid keywords with
    their defaults) and adds `DOC` to the end of its "Parameters" section.
    """
    sig = inspect.signature(fn)
    own = [p for p in sig.parameters.values() if p.kind is not p.VAR_KEYWORD]
    grid = [
        inspect.Parameter(k, inspect.Parameter.KEYWORD_ONLY, default=v)
        for k, v in DEFAULTS.items()
    ]
    fn.__signature__ = sig.replace(parameters=own + grid)
    doc = inspect.cleandoc(fn.__doc__)
    head, sep, rest = doc.partition("\n\nReturns\n-------\n")
    if not sep:
        raise RuntimeError(f"{fn.__name__}: its docstring needs a Returns section.")
    fn.__doc__ = f"{head}\n{DOC.rstrip()}{sep}{rest}\n"
    return fn
