"""probconv: convolution for probability and statistics, built on JAX.

One engine (`probconv.conv`) and the work that stands on it: laws of sums of
random variables (`probconv.distributions`), smoothing and density estimation
(`probconv.smooth`), similarity by cross-correlation (`probconv.similarity`),
physical kernels (`probconv.physics`) and deconvolution (`probconv.deconv`).
Figures live in `probconv.plot` (optional extra ``plot``).
"""

from . import conv as conv
from . import deconv as deconv
from . import distributions as distributions
from . import physics as physics
from . import similarity as similarity
from . import smooth as smooth
from ._compilation_cache import use_compilation_cache as use_compilation_cache
from .conv import choose_method as choose_method
from .conv import convolve as convolve
from .conv import correlate as correlate
from .conv import correlation_lags as correlation_lags
from .conv import pad as pad
from .distributions import Distribution as Distribution
from .distributions import bernoulli as bernoulli
from .distributions import binomial as binomial
from .distributions import compound as compound
from .distributions import dice as dice
from .distributions import die as die
from .distributions import from_masses as from_masses
from .distributions import from_scipy as from_scipy
from .distributions import geometric as geometric
from .distributions import iid_sum as iid_sum
from .distributions import mixture as mixture
from .distributions import negative_binomial as negative_binomial
from .distributions import poisson as poisson
from .distributions import poisson_binomial as poisson_binomial
from .distributions import uniform_int as uniform_int
from .physics import diffuse as diffuse
from .similarity import acf as acf
from .similarity import ccf as ccf
from .similarity import estimate_delay as estimate_delay
from .similarity import match_template as match_template
from .similarity import xcorr as xcorr
from .smooth import ewma as ewma
from .smooth import gaussian_smooth as gaussian_smooth
from .smooth import kde as kde
from .smooth import moving_average as moving_average
from .smooth import savgol as savgol

__version__ = "0.1.0"

__all__ = [
    "Distribution",
    "__version__",
    "acf",
    "bernoulli",
    "binomial",
    "ccf",
    "choose_method",
    "compound",
    "conv",
    "convolve",
    "correlate",
    "correlation_lags",
    "deconv",
    "dice",
    "die",
    "diffuse",
    "distributions",
    "estimate_delay",
    "ewma",
    "from_masses",
    "from_scipy",
    "gaussian_smooth",
    "geometric",
    "iid_sum",
    "kde",
    "match_template",
    "mixture",
    "moving_average",
    "negative_binomial",
    "physics",
    "poisson",
    "poisson_binomial",
    "savgol",
    "similarity",
    "smooth",
    "uniform_int",
    "use_compilation_cache",
    "xcorr",
]
