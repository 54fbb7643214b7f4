"""Reference helpers shared by the test modules (not collected: no test_ prefix)."""

import numpy as np


def rel_err(log_out, log_ref):
    """Relative error of exp(log_out) against exp(log_ref); 0 where both are -inf."""
    log_out = np.asarray(log_out, np.float64)
    both = np.isneginf(log_out) & np.isneginf(log_ref)
    with np.errstate(invalid="ignore"):
        d = np.where(both, 0.0, log_out - log_ref)
    return np.abs(np.expm1(d))
