"""Reference helpers shared by the test modules (not collected: no test_ prefix)."""

import numpy as np


def rel_err(log_out, log_ref):
    """Relative error of exp(log_out) against exp(log_ref); 0 where both are -inf."""
    log_out = np.asarray(log_out, np.float64)
    both = np.isneginf(log_out) & np.isneginf(log_ref)
    with np.errstate(invalid="ignore"):
        d = np.where(both, 0.0, log_out - log_ref)
    return np.abs(np.expm1(d))


def check_grads(f, args, order, **kwargs):
    """`jax.test_util.check_grads` of ``jax.jit(f)``.

    check_grads evaluates `f` and its derivatives dozens of times. Jitted,
    each derivative is one compiled program instead of one program per
    operation (a test of an EWMA's gradients compiled 391 programs eagerly,
    11 jitted), and the derivatives checked are those users take under
    `jax.jit`. Eager differentiation is covered by the tests that call
    `jax.grad` without `jit`.
    """
    import jax
    from jax.test_util import check_grads as check

    check(jax.jit(f), args, order, **kwargs)
