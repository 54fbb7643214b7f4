"""Distributions of sums of independent random variables, by convolution."""

from ._compound import compound as compound
from ._families import Parametric as Parametric
from ._families import bernoulli as bernoulli
from ._families import binomial as binomial
from ._families import dice as dice
from ._families import die as die
from ._families import from_scipy as from_scipy
from ._families import geometric as geometric
from ._families import negative_binomial as negative_binomial
from ._families import poisson as poisson
from ._families import uniform_int as uniform_int
from ._grid import Distribution as Distribution
from ._grid import from_masses as from_masses
from ._ops import add as add
from ._ops import iid_sum as iid_sum
from ._ops import mixture as mixture
from ._poisson_binomial import poisson_binomial as poisson_binomial

__all__ = [
    "Distribution",
    "Parametric",
    "add",
    "bernoulli",
    "binomial",
    "compound",
    "dice",
    "die",
    "from_masses",
    "from_scipy",
    "geometric",
    "iid_sum",
    "mixture",
    "negative_binomial",
    "poisson",
    "poisson_binomial",
    "uniform_int",
]
