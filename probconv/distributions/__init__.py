"""Distributions of sums of independent random variables, by convolution."""

from ._base import Distribution as Distribution
from ._base import to_numpyro as to_numpyro
from ._bounds import Bounds as Bounds
from ._bounds import bounds as bounds
from ._continuous import Continuous as Continuous
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
from ._families_continuous import beta as beta
from ._families_continuous import cauchy as cauchy
from ._families_continuous import exponential as exponential
from ._families_continuous import gamma as gamma
from ._families_continuous import laplace as laplace
from ._families_continuous import lognormal as lognormal
from ._families_continuous import normal as normal
from ._families_continuous import pareto as pareto
from ._families_continuous import student_t as student_t
from ._families_continuous import uniform as uniform
from ._grid import from_masses as from_masses
from ._logconv import logconvolve as logconvolve
from ._ops import add as add
from ._ops import compound as compound
from ._ops import iid_sum as iid_sum
from ._ops import mixture as mixture
from ._poisson_binomial import poisson_binomial as poisson_binomial
from ._refinement import StepError as StepError
from ._refinement import discretization_error as discretization_error
from ._regrid import regrid as regrid
from ._relative import RelativeDistribution as RelativeDistribution
from ._relative import relative_error as relative_error
from ._relative_density import RelativeDensity as RelativeDensity

__all__ = [
    "Continuous",
    "Distribution",
    "Parametric",
    "RelativeDensity",
    "RelativeDistribution",
    "StepError",
    "add",
    "bernoulli",
    "beta",
    "binomial",
    "cauchy",
    "compound",
    "dice",
    "die",
    "discretization_error",
    "exponential",
    "from_masses",
    "from_scipy",
    "gamma",
    "geometric",
    "iid_sum",
    "laplace",
    "logconvolve",
    "lognormal",
    "mixture",
    "negative_binomial",
    "normal",
    "pareto",
    "poisson",
    "poisson_binomial",
    "regrid",
    "relative_error",
    "student_t",
    "to_numpyro",
    "uniform",
    "uniform_int",
    "Bounds",
    "bounds",
]
