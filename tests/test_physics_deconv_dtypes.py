"""Every public function of probconv.physics and probconv.deconv over every
input dtype: a documented result dtype and values that agree with float64, or
a TypeError naming the argument; never an exception (or a ComplexWarning)
from inside JAX or the library.

Result dtypes, stated once (the tests run with x64 enabled):

| function | f16, bf16 | f32/64 | c64/128 | int32, bool |
| --- | --- | --- | --- | --- |
| diffuse, wiener | input's | input's | input's | f64 |
| heat_kernel, diffusion_kernel | input's | input's | TypeError | f64 |
| richardson_lucy | input's | input's | TypeError | f64 |
| position_probability (masses) | f32** | input's | f32/64 | f64 |
| deconvolve_distribution (masses) | f32** | input's | TypeError* | f64 |
| evolve_free, evolve_split | c64 | c64/128 | input's | c128 |
| free_particle_propagator | c64 | c64/128 | TypeError | c128 |

Half precision is computed in float32 and rounded back; the quantum functions
return complex64 for it (JAX has no half-precision complex type). (*) A
distribution's masses are real: `from_masses` raises for complex ones. (**) A
law keeps float32 at least (the rule of probconv.distributions).

Tolerance: the reference is the float64 (complex128) computation on the very
values the narrow dtype holds, so only the computation and the final rounding
count: ``atol = (4 eps(out) + 512 eps(computed)) * max|reference|`` with
``eps(computed)`` that of float32 for half, float32 and complex64 inputs and of
float64 otherwise.
"""

import jax.numpy as jnp
import numpy as np
import pytest

from probconv import deconv, physics
from probconv.distributions import from_masses

pytestmark = pytest.mark.filterwarnings("error")

DTYPES = ["float16", "bfloat16", "float32", "float64", "complex64", "complex128"]
DTYPES += ["int32", "bool"]
NARROW = {"float16", "bfloat16", "float32", "complex64"}
QUANTUM = {"evolve_free", "evolve_split", "evolve_split_potential"}
QUANTUM |= {"free_particle_propagator"}
# Functions (cases) that take only real arrays, and the argument they name.
REAL_ONLY = {
    "heat_kernel": "x",
    "diffusion_kernel": "step",
    "free_particle_propagator": "x",
    "evolve_split_potential": "potential",
    "richardson_lucy": "y",
    "deconvolve_distribution": "masses",
}


def make_field(shape, dtype, seed=0):
    r = np.random.default_rng(seed)
    a = 3.0 * np.abs(r.standard_normal(shape)) + 0.1
    if dtype.startswith("complex"):
        a = a + 1j * r.standard_normal(shape)
    elif dtype == "int32":
        a = np.round(a) + 1
    elif dtype == "bool":
        a = a > 2.0
    return jnp.asarray(a).astype(dtype)


def law(masses):
    return from_masses(masses / masses.sum())


def dist_masses(dtype):
    if dtype in ("int32", "bool"):  # exact masses: a point mass, and one of Y
        z, y = np.array([0, 0, 1, 0]), np.array([1, 0])
        return jnp.asarray(z).astype(dtype), jnp.asarray(y).astype(dtype)
    x, y = np.array([0.2, 0.5, 0.3]), np.array([0.6, 0.4])
    return (jnp.asarray(np.convolve(x, y)).astype(dtype), jnp.asarray(y).astype(dtype))


def make_kernel2(dtype):
    k = np.array([1.0, 2.0, 1.0]) if dtype != "bool" else np.array([1.0, 1.0, 1.0])
    k = np.outer(k, k)
    return jnp.asarray(k).astype(dtype)


def run_case(name, dtype, wide=None):
    """The case's outputs (a tuple of arrays) for inputs of `dtype`.

    With `wide`, the inputs are first made in `dtype` and then cast to `wide`
    (the reference: the very values the narrow dtype holds, in float64).
    """
    if wide is not None:
        return _run(name, dtype, lambda x: x.astype(wide))
    return _run(name, dtype, lambda x: x)


def _run(name, dtype, cast):
    def field(*a):
        return cast(make_field(*a))

    def kernel2(d):
        return cast(make_kernel2(d))

    if name == "diffuse":
        u = field((6, 10), dtype)
        out = physics.diffuse(u, 0.5, 1.5, boundary=["reflect", "periodic"])
        free = physics.diffuse(u, 0.5, 1.5, boundary="free", axes=1)
        absorb = physics.diffuse(u, 0.5, 1.5, boundary="absorb", kind="lattice")
        return out, free, absorb
    if name == "heat_kernel":
        return (physics.heat_kernel(field(9, dtype), 0.5, 1.5),)
    if name == "diffusion_kernel":
        step = cast(jnp.asarray(1, dtype))
        return tuple(
            physics.diffusion_kernel(step, 0.7, 1.0, radius=4, kind=kind)
            for kind in ("gaussian", "integrated", "lattice")
        )
    if name == "position_probability":
        psi = field(16, dtype)
        p = physics.position_probability(psi, step=0.5, resolution=1.0)
        p0 = physics.position_probability(psi, step=0.5)
        return p.masses, p.truncated, p0.masses
    if name == "free_particle_propagator":
        return (physics.free_particle_propagator(field(9, dtype), 0.7),)
    if name == "evolve_free":
        return (physics.evolve_free(field(16, dtype), 0.3, step=0.5),)
    if name == "evolve_split":
        pot = np.linspace(-1, 1, 16) ** 2
        return (physics.evolve_split(field(16, dtype), pot, 0.3, step=0.5, steps=3),)
    if name == "evolve_split_potential":
        psi = make_field(16, "complex128")
        pot = field(16, dtype)
        return (physics.evolve_split(psi, pot, 0.3, step=0.5, steps=3),)
    if name == "richardson_lucy":
        y = field((8, 9), dtype)
        real = dtype.startswith("complex")
        k = make_kernel2("float64") if real else kernel2(dtype)
        return (deconv.richardson_lucy(y, k, iterations=3),)
    if name == "wiener":
        y = field((8, 9), dtype)
        real = dtype.startswith("complex")
        k = make_kernel2("float64") if real else kernel2(dtype)
        return (
            deconv.wiener(y, k, snr=100.0),
            deconv.wiener(y, k, snr=100.0, boundary="reflect"),
        )
    if name == "deconvolve_distribution":
        z, y = (cast(v) for v in dist_masses(dtype))
        out = [
            deconv.deconvolve_distribution(law(z), law(y), method=m, iterations=5)
            for m in ("em", "tikhonov")
        ]
        return tuple(d.masses for d in out)
    raise AssertionError(name)


# Each public name of both packages maps to its cases (names of run_case).
CASES = {
    "diffuse": ["diffuse"],
    "heat_kernel": ["heat_kernel"],
    "diffusion_kernel": ["diffusion_kernel"],
    "position_probability": ["position_probability"],
    "free_particle_propagator": ["free_particle_propagator"],
    "evolve_free": ["evolve_free"],
    "evolve_split": ["evolve_split", "evolve_split_potential"],
    "richardson_lucy": ["richardson_lucy"],
    "wiener": ["wiener"],
    "deconvolve_distribution": ["deconvolve_distribution"],
}
# Public names that are not functions of arrays, with the reason (none today).
SKIPPED: dict[str, str] = {}


def public_functions():
    names = []
    for mod in (physics, deconv):
        for name in mod.__all__:
            obj = getattr(mod, name)
            if isinstance(obj, type) or not callable(obj):
                assert name in SKIPPED, f"{name}: a class or constant; give a reason"
                continue
            names.append(name)
    return names


def test_every_public_function_has_a_case():
    assert sorted(public_functions()) == sorted(CASES)


def expected_dtype(name, dtype):
    if name == "evolve_split_potential":
        return "complex128"  # psi's: the potential is cast to psi's precision
    if name in QUANTUM:
        if dtype in ("complex64", "complex128"):
            return dtype
        return "complex64" if dtype in NARROW else "complex128"
    if dtype in ("int32", "bool"):
        return "float64"
    laws = ("deconvolve_distribution", "position_probability")
    if name in laws and dtype in ("float16", "bfloat16"):
        return "float32"
    if name == "position_probability" and dtype.startswith("complex"):
        return {"complex64": "float32", "complex128": "float64"}[dtype]
    return dtype


def eps(dtype):
    return float(jnp.finfo(jnp.dtype(dtype)).eps)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted({c for cs in CASES.values() for c in cs}))
def test_result_dtype_and_values(name, dtype):
    if name in REAL_ONLY and dtype.startswith("complex"):
        arg = REAL_ONLY[name]
        with pytest.raises(TypeError, match=f"`{arg}` must be real"):
            run_case(name, dtype)
        return
    got = run_case(name, dtype)
    wide = "complex128" if dtype.startswith("complex") else "float64"
    # (float64 and complex128 inputs are their own reference: the same call)
    want = got if dtype == wide else run_case(name, dtype, wide)
    want_dtype = jnp.dtype(expected_dtype(name, dtype))
    # A law from half-precision values is kept in float32, but what it is
    # worth is still set by the half precision it was given in (and a
    # deconvolution amplifies it).
    out_eps = eps(dtype if dtype in ("float16", "bfloat16") else want_dtype)
    comp_eps = eps("float32") if dtype in NARROW else eps("float64")
    tol = 4 * out_eps + 512 * comp_eps
    for g, w in zip(got, want):
        assert g.dtype == want_dtype, (name, dtype, g.dtype)
        gw = np.asarray(g.astype(jnp.result_type(g.dtype, jnp.float64)))
        w = np.asarray(w)
        assert np.isfinite(gw).all() and np.isfinite(w).all()
        scale = max(np.max(np.abs(w)), 1e-300)
        np.testing.assert_allclose(gw, w, rtol=0, atol=tol * scale)
