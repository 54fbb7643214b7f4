"""Small eager calls on the CPU: NumPy and SciPy on the host.

A jitted JAX call costs about 10 us before any arithmetic, and every new
shape costs a compilation (tens of milliseconds). For an eager call with
NumPy inputs whose output is small, NumPy's and SciPy's routines on the host
are the right tool: they cost what `scipy.signal.convolve` costs and compile
nothing. They run the method asked for (direct sums, FFT or overlap-add), in
the dtype the engine computes in, so results agree with the jitted path to
the method's rounding, and the result is returned as a JAX array of the
engine's dtype. With ``method='auto'``, 1-D real inputs take the cheapest
of `numpy.convolve`, a real FFT and overlap-add by a rule measured here
(`host_method`); complex and N-D inputs take SciPy's own choice. Traced
inputs (under `jit`, `vmap`, `grad`) never come here.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.extend.backend as _jax_backend
import jax.numpy as jnp
import numpy as np
import scipy.fft as _scipy_fft
from scipy.signal import choose_conv_method as _scipy_choose
from scipy.signal import convolve as _scipy_convolve
from scipy.signal import fftconvolve as _scipy_fftconvolve
from scipy.signal import oaconvolve as _scipy_oaconvolve

from .._checks import compute_dtype, result_dtype

try:  # scipy.signal.choose_conv_method's shape rule, without its dtype checks
    from scipy.signal._signaltools import _fftconv_faster
except ImportError:  # pragma: no cover - a SciPy that moved it
    _fftconv_faster = None

try:  # pocketfft's compiled transforms, which `scipy.fft` wraps (see `_rfft`)
    from scipy.fft._pocketfft import pypocketfft as _pocketfft
except ImportError:  # pragma: no cover - a SciPy that moved it
    _pocketfft = None

try:  # XLA's own host-to-device copy, without jnp.asarray's 10-20 us of checks
    from jax._src.lib import xla_client as _xc

    _device_put = _xc.batched_device_put
    # A copy made before the call returns (XLA's default would take a host
    # array aligned to 64 bytes as its buffer: the caller's later writes
    # would show in the JAX array), for `to_device`; and a copy that XLA may
    # finish on its own thread, holding the array until then, for arrays
    # nothing else can write to (`from_host`).
    _COPY_NOW = _xc.HostBufferSemantics.IMMUTABLE_ONLY_DURING_CALL
    _COPY_ASYNC = _xc.HostBufferSemantics.IMMUTABLE_UNTIL_TRANSFER_COMPLETES
except (ImportError, AttributeError):  # pragma: no cover - a JAX that moved it
    _device_put = _COPY_NOW = _COPY_ASYNC = None

# Eager calls with NumPy inputs on the CPU whose method the cost model
# prices at most this many seconds run on the host. Compiling a new program
# costs 30-100 ms, and SciPy's single-threaded routines are within 1.5-2x of
# the jitted engine at the sizes below this bound, so SciPy wins every call
# of a new shape there and loses little on a repeated one; above it the
# engine runs on inputs padded to a bucket (`python benchmarks/eager.py`).
HOST_MAX_SECONDS = 0.02


def fits(plan, seconds: float) -> bool:
    """Whether a plan priced at `seconds` takes the host path (unbatched)."""
    return seconds < HOST_MAX_SECONDS and math.prod(plan.batch) == 1


def take_window(y: np.ndarray, plan) -> np.ndarray:
    """Cut the plan's window out of a full convolution `y` (axes in place).

    `y` may be longer than the true full convolution along a convolved axis
    (inputs padded to a bucket); entries past the true extent, and window
    entries outside it, come back as exact zeros.
    """
    index, pads = _window(plan, y.shape)
    if index is None:
        return y  # the whole of it: nothing to cut
    out = y[index]
    if pads is not None:
        out = np.pad(out, pads)
    return out


@functools.lru_cache(maxsize=4096)
def _window(plan, shape: tuple):
    """Return the index and the zero padding that `take_window` applies."""
    full = tuple(a + b - 1 for a, b in zip(plan.shape1, plan.shape2))
    if plan.start == (0,) * len(full) and plan.length == full:
        if all(shape[ax] == n for ax, n in zip(plan.conv_axes, full)):
            return None, None
    index = [slice(None)] * len(shape)
    pads = [(0, 0)] * len(shape)
    for ax, a, b, s, n in zip(
        plan.conv_axes, plan.shape1, plan.shape2, plan.start, plan.length
    ):
        full = a + b - 1
        lo, hi = max(s, 0), min(s + n, full)
        if hi <= lo:
            lo = hi = 0
        index[ax] = slice(lo, hi)
        pads[ax] = (lo - s, s + n - hi) if hi > lo else (n, 0)
    if all(p == (0, 0) for p in pads):
        return tuple(index), None
    return tuple(index), tuple(pads)


@functools.lru_cache(maxsize=4096)
def scipy_method(shape1: tuple, shape2: tuple, dtype: np.dtype) -> str:
    """Return SciPy's choice for ``scipy.signal.convolve(a, v, method='auto')``.

    For floating and complex inputs (the host route casts to one first)
    `scipy.signal.choose_conv_method` reads only the shapes (SciPy's
    ``_fftconv_faster``), so its answer is cached per signature instead of
    asked on every call (its dtype checks alone cost about 10 us).
    """
    a, v = np.empty(shape1, dtype), np.empty(shape2, dtype)
    if _fftconv_faster is not None:
        return "fft" if _fftconv_faster(a, v, "full") else "direct"
    return _scipy_choose(a, v, mode="full")


# The host's own method rule for 1-D real inputs: `numpy.convolve` (direct
# sums), a real FFT at `scipy.fft.next_fast_len` (`fft_convolve`) and
# overlap-add (`oa_convolve`), priced by the models below and measured on
# the 2-core development machine (`python benchmarks/eager.py --only
# host-rule` times the three on a grid of 184 shapes and checks the rule;
# docs/performance.md, "The host's method rule").
# Direct: NumPy sums a kernel of at most 8 taps by a path of its own
# (`small`: about 0.27 ns a multiply-add in both dtypes); longer kernels
# take one dot product per output, which costs `dot` before its
# multiply-adds (`mac`): 10-15 ns, so that 12-24 taps cost 0.6-1.7 ns a
# multiply-add, 8 taps 0.27 and 512 taps 0.07-0.12 (medians over n1 of
# 10,000-100,000). FFT: seconds per call and per unit of L log2 L of the
# transform length L, more by `cache` per doubling of L past 2**14 points
# (relative least squares, best of 5 timings, load near 3.3). SciPy's own
# rule (`scipy.signal.choose_conv_method`) keeps direct sums far longer:
# at 10,000 x 256 it sums directly in 285 us where overlap-add takes
# 110 us and the FFT 165 us.
HOST_COSTS = {
    8: {"call": 2.0e-6, "small": 2.8e-10, "dot": 1.0e-8, "mac": 1.2e-10},
    4: {"call": 2.0e-6, "small": 2.6e-10, "dot": 1.5e-8, "mac": 5.5e-11},
}
SMALL_TAPS = 8
# What a transform's call costs beyond the best of repeated calls when it
# meets new arrays and lengths, as each call of a loop over new sizes does
# (fresh memory for its spectra and blocks, a new length's plan): added to
# both transforms' fixed cost. Timing each method once per shape over the
# 2,000 shapes of `benchmarks/eager.py`'s convolve loop (float64, load
# 1.8), the rule fitted to best-of-5 timings took 0.159 s (789 calls by
# overlap-add) where the fastest of each took 0.130 s and direct sums alone
# 0.173 s; adding 20, 40, 60 or 80 us took 0.140, 0.137, 0.137, 0.137 s.
# The FFT's own fixed cost was refitted the same way after its transforms
# went to pocketfft directly (`_rfft`: two calls where `scipy.fft` made
# three, without its 7 us of dispatch each): timing each method once per
# call over the loop (five fresh processes, medians, load 7-8), fixed costs
# of 10 or 15 us (cold calls included) took the loop's 1,800 short calls
# in 70.1 ms where 72 us took 83.1 ms (direct sums alone 83.5 ms, the
# fastest of each call 66.2 ms); 20, 30 and 40 us took 71.4-73 ms.
COLD_CALL = 4.0e-5
HOST_FFT_COSTS = {
    8: {"call": 1.5e-5, "work": 1.61e-9, "cache": 0.135},
    4: {"call": 1.7e-5, "work": 1.41e-9, "cache": 0.079},
}
HOST_FFT_CACHE_POINTS = 1 << 14
# Overlap-add (`oa_convolve`): transforms of at least OA_BLOCK lengths of
# the shorter input (and at least OA_MIN points: shorter ones cost more per
# point than they save), rounded up to a power of two (`oa_block`), all
# blocks in one batch; seconds per call and per unit of L log2 L of each
# block's transform. Fitted as above to the best of 5 timings on 95 shapes
# (n1 = 316..100,000 by n2 = 3..1024, n1 at least 2 n2), load near 1.8:
# median error 4 % (float64) and 6 % (float32), with blocks of
# `scipy.fft.next_fast_len` points then.
OA_BLOCK = 4
OA_MIN = 256


def oa_block(short: int) -> int:
    """Return overlap-add's transform length for a shorter input of `short`.

    The power of two at or above ``max(OA_BLOCK * short, OA_MIN)``: a loop
    over kernels of 3..301 taps then meets 4 block lengths, which pocketfft's
    cache of 16 plans keeps, where `scipy.fft.next_fast_len` gave 39 (its
    plans built again on most calls), and a power of two transforms fastest
    per point. Over the 184 overlap-add calls of `benchmarks/eager.py`'s
    convolve loop in its order, 29.3 against 34.1 ms (median of 6 passes,
    load 3); the whole loop in one process 87.8 and 85.5 against 96.2 and
    89.0 ms of CPU (medians of 15 and 21 alternating passes, load 3.1-3.7).
    Blocks of at least 2, 3 or 6 lengths, or of 2^a or 3 * 2^a points, were
    no faster.
    """
    return 1 << (int(max(OA_BLOCK * short, OA_MIN)) - 1).bit_length()


HOST_OA_COSTS = {
    8: {"call": 2.7e-5 + COLD_CALL, "work": 7.0e-10},
    4: {"call": 3.1e-5 + COLD_CALL, "work": 3.7e-10},
}


def _terms(size: int) -> tuple:
    """Return the models' constants for one dtype size as one tuple."""
    c, f, o = HOST_COSTS[size], HOST_FFT_COSTS[size], HOST_OA_COSTS[size]
    return (
        c["call"], c["small"], c["dot"], c["mac"],
        f["call"], f["work"], f["cache"], o["call"], o["work"],
    )  # fmt: skip


_TERMS = {8: _terms(8), 4: _terms(4)}


def _prices(n1: int, n2: int, terms: tuple, direct_under: float = -1.0):
    """Return the seconds of direct sums, FFT and overlap-add, by the models.

    Only direct sums are priced (the others None) where they cost at most
    `direct_under`.
    """
    d_call, d_small, d_dot, d_mac, f_call, f_work, f_cache, o_call, o_work = terms
    long, short = (n1, n2) if n1 >= n2 else (n2, n1)
    if short <= SMALL_TAPS:
        direct = d_call + d_small * long * short
    else:
        direct = d_call + (long + short - 1) * d_dot + d_mac * long * short
    if direct <= direct_under:
        return direct, None, None
    length = _scipy_fft.next_fast_len(long + short - 1, real=True)
    work = length * math.log2(length)
    if length > HOST_FFT_CACHE_POINTS:
        work *= 1.0 + f_cache * math.log2(length / HOST_FFT_CACHE_POINTS)
    block = oa_block(short)
    blocks = -(-long // (block - short + 1))
    if blocks == 1:  # one block: a transform longer than the FFT's
        oa = math.inf
    else:
        oa = o_call + o_work * blocks * block * math.log2(block)
    return direct, f_call + f_work * work, oa


def host_costs(n1: int, n2: int, itemsize: int) -> dict[str, float]:
    """Estimated seconds of 1-D real direct sums, FFT and overlap-add on the host.

    Parameters
    ----------
    n1, n2 : int
        The lengths of the two inputs.
    itemsize : int
        4 (float32) or 8 (float64): the dtype computed in.

    Returns
    -------
    dict
        ``{"direct": seconds, "fft": seconds, "overlap_add": seconds}``.
    """
    direct, fft, oa = _prices(n1, n2, _TERMS[8 if itemsize >= 8 else 4])
    return {"direct": direct, "fft": fft, "overlap_add": oa}


def host_method(n1: int, n2: int, itemsize: int) -> str:
    """Return the cheapest host method for 1-D real inputs.

    'direct', 'fft' or 'overlap_add', by `host_costs` (the first of equal
    prices in that order); sums priced under the FFT's fixed cost are
    direct without pricing the transforms (most small calls). One call
    costs about 1 us (4 us when it built `host_costs`' dict).
    """
    terms = _TERMS[8 if itemsize >= 8 else 4]
    direct, fft, oa = _prices(n1, n2, terms, terms[4])
    if fft is None or (direct <= fft and direct <= oa):
        return "direct"
    return "fft" if fft <= oa else "overlap_add"


def _pocketfft_works() -> bool:
    """Whether pocketfft's transforms take the arguments `_rfft` passes.

    They are SciPy's own (``scipy.fft._pocketfft.pypocketfft``), not its
    public API: checked once against `numpy.fft`, and `scipy.fft` is used
    where the check fails.
    """
    if _pocketfft is None:
        return False
    x = np.array([[1.0, 2.0, -1.0, 0.5, 0.0, 3.0]])
    try:
        spectrum = _pocketfft.r2c(x, (1,), True, 0, None, 1)
        back = _pocketfft.c2r(spectrum, (1,), 6, False, 2, None, 1)
    except (TypeError, ValueError, AttributeError):  # pragma: no cover
        return False
    return bool(np.allclose(spectrum, np.fft.rfft(x, axis=1)) and np.allclose(back, x))


_RAW_FFT = _pocketfft_works()


def _rfft(x: np.ndarray) -> np.ndarray:
    """Return the real FFT of each row of a C-contiguous real array `x`.

    pocketfft's transform called directly (`scipy.fft.rfft` runs the same
    one after about 7 us of argument handling and backend dispatch, which
    a small call's transforms of 1,000 points, 5 us each, feel); the
    caller pads the rows to the transform length.
    """
    if _RAW_FFT:
        return _pocketfft.r2c(x, (x.ndim - 1,), True, 0, None, 1)
    return _scipy_fft.rfft(x, axis=-1)


def _irfft(spectra: np.ndarray, size: int) -> np.ndarray:
    """Return the inverse of `_rfft` for rows of `size` points (scaled by 1/size)."""
    if _RAW_FFT:
        return _pocketfft.c2r(spectra, (spectra.ndim - 1,), size, False, 2, None, 1)
    return _scipy_fft.irfft(spectra, size, axis=-1)


def fft_convolve(a: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Return the full convolution of two 1-D real arrays by a real FFT.

    The transform length is `scipy.fft.next_fast_len` of the full length;
    the dtype is the inputs' (float32 stays float32). Like
    `scipy.signal.fftconvolve` without its checks and axis handling: both
    inputs are zero-padded into the rows of one array and transformed by
    one call of pocketfft's real transform (`_rfft`).
    """
    n = a.shape[0] + v.shape[0] - 1
    size = _scipy_fft.next_fast_len(n, real=True)
    rows = np.zeros((2, size), a.dtype)
    rows[0, : a.shape[0]] = a
    rows[1, : v.shape[0]] = v
    spectra = _rfft(rows)
    product = spectra[0]  # (the product in place of the first spectrum)
    product *= spectra[1]
    return _irfft(product, size)[:n]


@functools.lru_cache(maxsize=256)
def real_dtypes(dtype1: np.dtype, dtype2: np.dtype, x64: bool):
    """Return the dtypes computed in and returned for real inputs, or None.

    None unless both inputs are boolean, integer or floating (NumPy's own
    kinds; `as_input` tells a user's other dtypes apart). Cached with the
    x64 switch in the key, which `result_dtype` follows.
    """
    if dtype1.kind not in "biuf" or dtype2.kind not in "biuf":
        return None
    out = result_dtype(dtype1, dtype2)
    return compute_dtype(out), out


def oa_convolve(a: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Return the full convolution of two 1-D real arrays by overlap-add.

    The longer input is cut into blocks that, with the shorter one's
    ``k - 1`` samples of tail, fill a transform of `oa_block` points (the
    power of two at or above ``4 k`` and 256); all blocks are transformed
    as one batch and their tails added back in two strided sums. Like
    `scipy.signal.oaconvolve` without its checks and block search.
    """
    if a.shape[0] < v.shape[0]:
        a, v = v, a
    n, k = a.shape[0], v.shape[0]
    size = oa_block(k)
    step = size - k + 1
    count = -(-n // step)
    # (the blocks written into rows of zeros, the kernel padded into one
    # more row and transformed with them, the spectra multiplied in place,
    # the heads copied and only the tails added; rows from `np.zeros`,
    # whose fresh pages come zeroed, took a loop over new sizes less time
    # than `np.empty` zeroed past the samples by hand, its later calls too)
    rows = np.zeros((count + 1, size), a.dtype)
    whole = (n // step) * step
    rows[: n // step, :step] = a[:whole].reshape(-1, step)
    rows[count - 1, : n - whole] = a[whole:]
    rows[count, :k] = v
    spectra = _rfft(rows)
    del rows  # (each array freed once used: a lower peak of memory)
    spectra[:count] *= spectra[count]
    out = _irfft(spectra[:count], size)
    del spectra
    y = np.empty((count + 1) * step, a.dtype)
    y[: count * step].reshape(count, step)[...] = out[:, :step]
    y[count * step :] = 0
    y[step:].reshape(count, step)[:, : k - 1] += out[:, step:]
    return y[: n + k - 1]


def convolve_1d(a: np.ndarray, v: np.ndarray, method: str) -> np.ndarray:
    """Return the full convolution of two 1-D arrays by `method` on the host.

    'auto' takes `host_method` for real inputs and SciPy's choice for
    complex ones. Both inputs have the dtype computed in.
    """
    real = a.dtype.kind == "f"
    if method == "auto":
        if real:
            method = host_method(a.shape[0], v.shape[0], a.dtype.itemsize)
        else:
            method = scipy_method(a.shape, v.shape, a.dtype)
    if method == "fft":
        return fft_convolve(a, v) if real else _scipy_fftconvolve(a, v)
    if method == "overlap_add":
        return oa_convolve(a, v) if real else _scipy_oaconvolve(a, v)
    return np.convolve(a, v)


def convolve(a: np.ndarray, v: np.ndarray, prepared) -> np.ndarray:
    """Return the plan's window of ``a * v``, computed on the host."""
    plan = prepared.plan
    a = np.asarray(a, plan.dtype)
    v = np.asarray(v, plan.dtype)
    if prepared.conj:
        v = np.conj(v)
    if prepared.flip:
        # (a 1-D view reversed directly: np.flip's axis checks cost 2-4 us)
        v = v[::-1] if v.ndim == 1 else np.flip(v, prepared.flip)
    if a.ndim == 1:
        y = convolve_1d(a, v, "auto" if prepared.auto else prepared.method)
    else:
        method = scipy_method(a.shape, v.shape, a.dtype) if prepared.auto else None
        method = method or prepared.method
        if method == "fft":
            y = _scipy_fftconvolve(a, v)
        elif method == "overlap_add":
            y = _scipy_oaconvolve(a, v)
        else:
            y = _scipy_convolve(a, v, method="direct")
    y = take_window(np.asarray(y, plan.dtype), plan)
    return y.astype(plan.out_dtype, copy=False)


def to_device(y) -> jax.Array:
    """Return a NumPy array as a JAX array on the default device.

    Like `jax.numpy.asarray` (an uncommitted array of the same dtype), by the
    one host-to-device copy it makes, but without compiling anything: in
    JAX 0.10, `jnp.asarray` of a NumPy array compiles a small program per
    new shape, which a loop over many sizes pays each time (and keeps).
    Layers use it to hand back results computed on the host.

    Parameters
    ----------
    y : numpy.ndarray or jax.Array
        The values (a JAX array is returned as it is).

    Returns
    -------
    jax.Array

    Examples
    --------
    >>> import numpy as np
    >>> from probconv.conv import to_device
    >>> to_device(np.arange(3.0)).tolist()
    [0.0, 1.0, 2.0]
    """
    if type(y) is not np.ndarray:
        if isinstance(y, jax.Array):
            return y
        y = np.asarray(y)
    dtype = y.dtype
    canonical = _canonical(dtype, jax.config.jax_enable_x64)  # as jnp.asarray does
    if canonical is not dtype:
        y = y.astype(canonical)
    if _device_put is None or jax.config.jax_default_device is not None:
        return jnp.asarray(y)
    if not y.flags.c_contiguous:
        y = y.copy(order="C")  # (np.ascontiguousarray would make a 0-d array 1-d)
    device = jax.local_devices()[0]
    aval = _aval(y.shape, canonical)
    return _device_put(aval, _sharding(device), [y], [device], False, False, _COPY_NOW)


def cpu_target():
    """Return the default CPU device and its sharding, or None off the CPU.

    The host route's whole check of where results go: None when the
    default backend is not a CPU (its results are computed there instead).
    Cached per backend client (`jax.extend.backend.get_backend`, itself
    cached by JAX and cleared with its backends), so that a call pays one
    cached lookup where `jax.default_backend` and `jax.local_devices` cost
    1-2 us together.
    """
    return _cpu_target(_jax_backend.get_backend())


@functools.lru_cache(maxsize=4)
def _cpu_target(backend):
    if backend.platform != "cpu":
        return None
    device = backend.local_devices()[0]
    return device, _sharding(device)


def from_host(y: np.ndarray, target=None) -> jax.Array:
    """Return a fresh host result as a JAX array (`to_device`, for the engine).

    `y` is a NumPy array of a canonical dtype that the caller made (or a
    view of one) and hands over: nothing else holds or writes to it, so XLA copies
    it without first taking it as its own buffer (zero copy, which XLA's
    CPU client does only for data aligned to 64 bytes) and may finish the
    copy on its own thread. A whole eager call's JAX array and `np.asarray`
    of it back cost 8.6 us against 9.8 us for a copy made within the call
    at 100-2,400 float64 points, 29 against 31 us at 24,000-44,000 (best of
    7 over 1,000 fresh arrays, load 2.1; XLA's zero copy of such arrays,
    which `to_device` made before: 9.1 and 58 us). `target` is
    `cpu_target()`'s answer where the caller has it (the default device
    otherwise).
    """
    if _COPY_ASYNC is None or jax.config.jax_default_device is not None:
        return to_device(y)
    if not y.flags.c_contiguous:  # (a window cut out of an N-D result)
        y = y.copy(order="C")
    if target is None:
        device = jax.local_devices()[0]
        target = device, _sharding(device)
    device, sharding = target
    aval = _aval(y.shape, y.dtype)
    return _device_put(aval, sharding, [y], [device], False, False, _COPY_ASYNC)


@functools.lru_cache(maxsize=64)
def _canonical(dtype: np.dtype, x64: bool) -> np.dtype:
    canonical = np.dtype(jax.dtypes.canonicalize_dtype(dtype))
    return dtype if canonical == dtype else canonical


@functools.lru_cache(maxsize=16)
def _sharding(device) -> jax.sharding.Sharding:
    return jax.sharding.SingleDeviceSharding(device)


@functools.lru_cache(maxsize=8192)
def _aval(shape: tuple, dtype: np.dtype):
    """Return the abstract value of a result (cached per shape).

    JAX interns abstract values itself, but making one costs 5-9 us (a
    cached one 0.3 us): a loop over 2,000 sizes (1,403 output shapes in
    `benchmarks/eager.py`'s convolve loop) keeps them all here.
    """
    return jax.core.ShapedArray(shape, dtype)
