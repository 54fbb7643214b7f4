"""Physics kernels: diffusion with boundaries and the free quantum particle."""

from ._diffuse import diffuse as diffuse
from ._kernels import diffusion_kernel as diffusion_kernel
from ._kernels import heat_kernel as heat_kernel
from ._position import position_probability as position_probability
from ._quantum import evolve_free as evolve_free
from ._quantum import evolve_split as evolve_split
from ._quantum import free_particle_propagator as free_particle_propagator

__all__ = [
    "diffuse",
    "diffusion_kernel",
    "evolve_free",
    "evolve_split",
    "free_particle_propagator",
    "heat_kernel",
    "position_probability",
]
