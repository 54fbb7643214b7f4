"""Lags of a cross-correlation."""

from __future__ import annotations

import numpy as np

from .._checks import check_choice, check_int
from ._args import MODES


def correlation_lags(
    in1_len: int, in2_len: int, mode: str = "full", *, maxlag: int | None = None
) -> np.ndarray:
    r"""Return the lags of each entry of a 1-D cross-correlation.

    Like `scipy.signal.correlation_lags`, with a `maxlag` option matching
    `probconv.correlate`'s. Lags are static (they depend only on shapes), so
    they come back as a NumPy integer array.

    Parameters
    ----------
    in1_len, in2_len : int
        Lengths of the first and second input of `correlate`.
    mode : {'full', 'same', 'valid'}
        The mode given to `correlate`.
    maxlag : int, optional
        If given, the lags ``-maxlag, ..., maxlag`` (what
        ``correlate(..., maxlag=maxlag)`` returns); `mode` is then ignored.

    Returns
    -------
    numpy.ndarray
        ``lags[i]`` is the shift ``k`` of entry ``i``:
        ``c_k = \sum_n a_{n+k} \overline{v_n}``.

    Raises
    ------
    ValueError
        If a length is not a positive integer, `mode` is unknown, or `maxlag`
        is negative.
    TypeError
        If `maxlag` is not an integer.

    Examples
    --------
    >>> from probconv import correlation_lags
    >>> correlation_lags(4, 3).tolist()
    [-2, -1, 0, 1, 2, 3]
    >>> correlation_lags(4, 3, "same").tolist()
    [-1, 0, 1, 2]
    >>> correlation_lags(100, 100, maxlag=2).tolist()
    [-2, -1, 0, 1, 2]
    """
    for name, n in (("in1_len", in1_len), ("in2_len", in2_len)):
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"`{name}` must be a positive integer; got {n!r}.")
    if maxlag is not None:
        m = check_int("maxlag", maxlag)
        return np.arange(-m, m + 1)
    mode = check_choice("mode", mode, MODES)
    if mode == "full":
        return np.arange(-in2_len + 1, in1_len)
    if mode == "same":
        start = -(in2_len // 2)
        return np.arange(start, start + in1_len)
    lo, hi = sorted((in1_len, in2_len))
    lags = np.arange(0, hi - lo + 1)
    return lags if in1_len >= in2_len else -lags[::-1]
