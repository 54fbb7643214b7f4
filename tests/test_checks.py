"""The leaf of argument checks, `probconv._checks`: errors and messages.

Issue 16: one module, one convention (the argument's name first, options
keyword-only), one meaning of `concrete`.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from probconv._checks import (
    as_field,
    check_axis,
    check_choice,
    check_finite,
    check_int,
    check_nan_policy,
    check_number,
    check_param,
    check_range,
    check_real,
    compute_dtype,
    concrete,
    is_real_dtype,
    normalize_axes,
    per_axis,
    real_dtype,
    result_dtype,
)


def test_concrete_knows_values_outside_transforms_and_under_eager_grad():
    assert concrete([1, 2]).tolist() == [1, 2]
    assert concrete(np.float32(2.5)).dtype == np.float32
    assert concrete(jnp.arange(3)).tolist() == [0, 1, 2]
    assert concrete(None) is None
    assert concrete([1, [2, 3]]) is None  # ragged: NumPy cannot convert it
    seen = {}

    def record(tag):
        def f(x):
            seen[tag] = concrete(x)
            return x * 2.0

        return f

    jax.jit(record("jit"))(1.0)
    jax.vmap(record("vmap"))(jnp.ones(2))
    jax.grad(record("grad"))(3.0)
    jax.jvp(record("jvp"), (3.0,), (1.0,))
    jax.jit(jax.grad(record("jit-grad")))(3.0)
    assert seen["jit"] is None and seen["vmap"] is None and seen["jit-grad"] is None
    assert float(seen["grad"]) == 3.0 and float(seen["jvp"]) == 3.0
    # A list holding a tracer is not known either.
    jax.jit(lambda x: seen.__setitem__("list", concrete([x, 1.0])))(1.0)
    assert seen["list"] is None


def test_check_int():
    assert check_int("n", 3) == 3 and type(check_int("n", np.int64(3))) is int
    assert check_int("n", 5, minimum=1, maximum=5) == 5
    assert check_int("low", -7, minimum=-(2**62)) == -7
    for bad in (2.5, True, np.bool_(True), "3", jnp.asarray(3), None):
        with pytest.raises(
            TypeError, match=r"^`n` must be an integer \(a static Python int\); got"
        ):
            check_int("n", bad)
    with pytest.raises(ValueError, match=r"^`size` must be at least 1; got 0\.$"):
        check_int("size", 0, minimum=1)
    with pytest.raises(
        ValueError, match=r"^`k` must be at least 0 and at most 4; got 5\.$"
    ):
        check_int("k", 5, maximum=4)
    with pytest.raises(TypeError, match="positional"):
        check_int("n", 3, 1)  # options are keyword-only


def test_check_choice():
    assert check_choice("mode", "same", ("full", "same")) == "same"
    assert check_choice("norm", None, (None, "coeff")) is None
    with pytest.raises(
        ValueError, match=r"^`mode` must be one of 'full', 'same'; got 'x'\.$"
    ):
        check_choice("mode", "x", ("full", "same"))
    with pytest.raises(ValueError, match="got 1"):
        check_choice("mode", 1, ("full", "same"))


def test_check_number():
    assert check_number("tol", 1e-6, low=0.0, low_open=True) == 1e-6
    assert check_number("tilt", np.float32(0.5), low=0.0) == 0.5
    assert check_number("x", -3) == -3.0
    for bad in ("1", True, jnp.asarray(1.0), np.ones(1), None):
        with pytest.raises(
            TypeError, match=r"^`step` must be a Python number \(a static real value\)"
        ):
            check_number("step", bad, low=0.0, low_open=True)
    with pytest.raises(TypeError, match="a static real value"):
        jax.jit(lambda s: check_number("step", s))(1.0)
    cases = [
        ({"low": 0.0, "low_open": True}, 0.0, "`step` must be finite and positive"),
        ({"low": 0.0}, -1.0, "`step` must be finite and non-negative"),
        ({"low": 0.0}, np.inf, "`step` must be finite and non-negative"),
        (
            {"low": 0.0, "high": 1.0, "low_open": True, "high_open": True},
            1.0,
            r"`step` must be finite and lie in \(0, 1\); got 1.0",
        ),
        ({"high": 2.0}, 3.0, r"`step` must be finite and lie in \(-inf, 2\]"),
        ({}, np.nan, r"`step` must be finite and lie in \(-inf, inf\)"),
    ]
    for options, value, message in cases:
        with pytest.raises(ValueError, match=message):
            check_number("step", value, **options)


def test_check_range_raises_on_known_values_and_masks_traced_ones():
    ok = check_range("p", np.array([0.0, 0.5, 1.0]), low=0.0, high=1.0)
    assert isinstance(ok, np.ndarray) and ok.all()
    with pytest.raises(
        ValueError, match=r"^`p` must be finite and lie in \[0, 1\]; got 1\.5\.$"
    ):
        check_range("p", 1.5, low=0.0, high=1.0)
    with pytest.raises(ValueError, match=r"got values such as \[-1\.0, nan\]"):
        check_range("w", jnp.array([1.0, -1.0, np.nan]), low=0.0)
    with pytest.raises(ValueError, match="`mu` must be finite and non-negative"):
        check_range("mu", -1.0, low=0.0)
    # `raw`, the input before conversion, is checked where it is known.
    with pytest.raises(ValueError, match="`p` must be finite and lie in"):
        jax.jit(lambda: check_range("p", jnp.asarray(2.0), high=1.0, raw=2.0))()
    # Traced: nothing raised, the mask marks the invalid entries.
    mask = jax.jit(lambda x: check_range("n", x, low=0.0, low_open=True))(
        jnp.array([1.0, 0.0, np.inf])
    )
    assert mask.tolist() == [True, False, False]


def test_check_param_finite_and_real():
    check_param("D", 0.0)
    check_param("D", np.inf, finite=False)
    with pytest.raises(ValueError, match=r"^`D` must be non-negative; got -1\.0\.$"):
        check_param("D", -1.0)
    with pytest.raises(ValueError, match="^`step` must be positive; got 0"):
        check_param("step", 0, positive=True)
    with pytest.raises(ValueError, match="^`t` must be finite; got nan"):
        check_param("t", np.nan, finite=False)
    with pytest.raises(TypeError, match="^`D` must be real; got"):
        check_param("D", 1j)
    jax.jit(lambda d: check_param("D", d))(-1.0)  # traced: no check, no error
    check_finite("x", [1.0, 2.0])
    with pytest.raises(ValueError, match="^`x` must be finite; got"):
        check_finite("x", [1.0, np.inf])
    with pytest.raises(TypeError, match="^`x` must be real; got"):
        check_finite("x", [1j])
    check_real("u", jnp.ones(2, jnp.bfloat16))
    with pytest.raises(TypeError, match="^`u` must be real; got dtype complex64"):
        check_real("u", jnp.ones(2, jnp.complex64))


def test_dtypes_and_per_axis():
    assert is_real_dtype(np.bool_) and is_real_dtype(jnp.bfloat16)
    assert not is_real_dtype(np.complex64)
    assert compute_dtype(jnp.float16) == np.float32
    assert compute_dtype(np.complex64) == np.complex64
    assert per_axis("step", 2.0, 3).tolist() == [2.0, 2.0, 2.0]
    with pytest.raises(
        ValueError, match=r"`step` must be a scalar or hold one value per axis \(3\)"
    ):
        per_axis("step", [1.0, 2.0], 3)


def test_axes_signed_integers_and_entries_per_axis():
    assert normalize_axes("axes", None, 3) == (0, 1, 2)
    assert normalize_axes("axis", (2, -3), 3, sort=False) == (2, 0)
    with pytest.raises(
        ValueError, match=r"^`axis`: a 0-dimensional array has no axis to smooth\.$"
    ):
        normalize_axes("axis", None, 0, purpose="to smooth")
    with pytest.raises(ValueError, match=r"^`axes` entry 3 is out of range"):
        normalize_axes("axes", 3, 3)
    with pytest.raises(TypeError, match=r"^`axes` must hold integers; got 0\.5"):
        normalize_axes("axes", 0.5, 3)
    assert check_axis("axis", -1, 2) == 1
    with pytest.raises(TypeError, match=r"^`axis` must be an integer; got \(0, 1\)"):
        check_axis("axis", (0, 1), 2)
    assert check_int("origin", -3, minimum=None) == -3
    with pytest.raises(ValueError, match=r"^`origin` must be at most 1; got 2\.$"):
        check_int("origin", 2, minimum=None, maximum=1)
    assert per_axis("mode", "wrap", 2, entries=True) == ("wrap", "wrap")
    assert per_axis("r", np.array([1, 2]), 2, entries=True) == (1, 2)
    with pytest.raises(
        ValueError,
        match=r"^`origin` must be a scalar or hold one entry per smoothed axis \(2\)",
    ):
        per_axis("origin", [0], 2, entries=True, per="smoothed axis")


def test_nan_policy_and_dtype_rule():
    assert check_nan_policy("nan_policy", "raise", {"x": [1.0, 2.0]}) == "raise"
    with pytest.raises(ValueError, match=r"^`nan_policy` must be one of 'propagate'"):
        check_nan_policy("nan_policy", "drop", {})
    with pytest.raises(ValueError, match=r"^`b` contains NaN and nan_policy='raise'"):
        check_nan_policy("nan_policy", "raise", {"a": [1.0], "b": [np.nan]})
    # Under jit the values are not known: 'raise' cannot raise (NaN out).
    jax.jit(lambda x: check_nan_policy("nan_policy", "raise", {"x": x}) and x)(
        jnp.array([np.nan])
    )
    assert result_dtype(np.int32, np.float32) == np.float32
    assert result_dtype(np.float16, np.complex64) == np.complex64
    assert real_dtype(np.complex64) == np.float32
    assert as_field([1, 2]).dtype == result_dtype(np.int64)
    with pytest.raises(ValueError, match=r"^`u` must not be empty; got shape \(0,\)"):
        as_field([])
