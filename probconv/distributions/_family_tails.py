r"""Closed-form tails of the unbounded families, for queries past their grid.

`poisson`, `geometric` and `negative_binomial` keep their masses on a grid
cut where the mass beyond falls below ``tail``; a query past the cut reads
the family's own formulas instead of a bare 0 (or ``-inf``):

.. math:: \log P(X = k) = \begin{cases}
          k \log\mu - \mu - \log k! & \text{Poisson} \\
          \log p + (k - 1) \log(1 - p) & \text{geometric, } k \ge 1 \\
          \log\binom{k + r - 1}{k} + r \log p + k \log(1 - p)
          & \text{negative binomial}
          \end{cases}

and :math:`\log P(X > k)` summed in log space over the next `TERMS` masses,
plus the rest as a geometric series with the ratio of the last two terms
(past the mode the ratio of consecutive masses decreases for a Poisson law
and tends to :math:`1 - p` for a negative binomial one, so the rest is
small against the sum; for a geometric law the tail is exact:
:math:`(1 - p)^k`). Everything is `jnp`, so these tails jit, vmap and
differentiate in the parameters (JAX's incomplete beta function has no
derivative in its parameters, which rules it out here).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.scipy.special import gammaln, logsumexp, xlog1py, xlogy

CLOSED_TAILS = ("poisson", "geometric", "negative_binomial")
TERMS = 256


def log_pmf(family: str, params: tuple, k: jax.Array) -> jax.Array:
    """``log P(X = k)`` at integer-valued `k` (params broadcast against it)."""
    if family == "poisson":
        (mu,) = params
        out = xlogy(k, mu) - mu - gammaln(k + 1)
        return jnp.where(k >= 0, out, -jnp.inf)
    if family == "geometric":
        (p,) = params
        out = jnp.log(p) + xlog1py(k - 1, -p)
        return jnp.where(k >= 1, out, -jnp.inf)
    r, p = params
    kk = jnp.maximum(k, 0)
    out = gammaln(kk + r) - gammaln(kk + 1) - gammaln(r) + xlogy(r, p)
    return jnp.where(k >= 0, out + xlog1py(kk, -p), -jnp.inf)


def log_sf(family: str, params: tuple, k: jax.Array) -> jax.Array:
    """``log P(X > k)`` at integer-valued `k` past the mode (see the module)."""
    if family == "geometric":
        (p,) = params
        return xlog1py(jnp.maximum(k, 0), -p)
    j = jnp.arange(1, TERMS + 1, dtype=k.dtype)
    ps = tuple(jnp.asarray(q)[..., None] for q in params)
    t = log_pmf(family, ps, k[..., None] + j)
    head = logsumexp(t, axis=-1)
    ratio = jnp.clip(jnp.exp(t[..., -1] - t[..., -2]), 0.0, 1.0 - 1e-7)
    rest = t[..., -1] + jnp.log(ratio) - jnp.log1p(-ratio)
    rest = jnp.where(jnp.isfinite(t[..., -1]) & (ratio > 0), rest, -jnp.inf)
    return jnp.logaddexp(head, rest)
