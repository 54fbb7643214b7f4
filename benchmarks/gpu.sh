#!/usr/bin/env bash
# The GPU checks and benchmarks, in one call of a lent GPU machine:
#
#     OUT=gpu-out bash benchmarks/gpu.sh [STEP ...]
#
# (STEPs: engine32 calib32 calib64 tests engine64 smooth dist; all by default.)
# Runs from the repository root with the machine's own python3 (its JAX
# build for the GPU, SciPy, pytest), without installing probconv. Each step
# has its own time limit and writes its log to $OUT/<step>.txt, so a step
# cut short still leaves the rows it printed. Steps: the engine's grid in
# float32 and float64 (benchmarks/engine.py), the cost model's constants
# fitted there (benchmarks/calibrate.py --quick), and the engine's,
# distributions' and smoothing layers' tests on the GPU.
set -u
OUT=${OUT:-gpu-out}
mkdir -p "$OUT"
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 JAX_PLATFORMS=cuda
# Several test workers share the one GPU: no process takes 75 % of its memory.
export XLA_PYTHON_CLIENT_PREALLOCATE=false

STEPS=" ${*:-engine32 calib32 calib64 tests engine64 smooth dist} "

step() {
    local name=$1 limit=$2
    shift 2
    [[ $STEPS == *" $name "* ]] || return 0
    local t0=$SECONDS
    timeout "$limit" "$@" >"$OUT/$name.txt" 2>&1
    local rc=$?
    echo "== $name: rc $rc in $((SECONDS - t0)) s"
    tail -n "${TAIL:-4}" "$OUT/$name.txt"
}

{
    date -u
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
    python3 -c "import jax, numpy, scipy; print('jax', jax.__version__, jax.devices(), 'numpy', numpy.__version__, 'scipy', scipy.__version__)"
    # (the suite's CPU settings, conftest.py, on this JAX build)
    XLA_FLAGS=--xla_cpu_use_fusion_emitters=false python3 -c "import jax.numpy as jnp; print('cpu flag accepted', jnp.ones(2).sum())"
} >"$OUT/env.txt" 2>&1
cat "$OUT/env.txt"
python3 -c "import probconv, jax; assert jax.default_backend() == 'gpu'" || exit 1

TAIL=26 step engine32 "${ENGINE_S:-100}" python3 benchmarks/engine.py --dtype float32
TAIL=12 step calib32 "${CALIB_S:-80}" python3 benchmarks/calibrate.py --dtype float32 ${CALIB_ARGS---quick}
TAIL=12 step calib64 "${CALIB_S:-80}" python3 benchmarks/calibrate.py --dtype float64 ${CALIB_ARGS---quick}
# The suite's own compiler settings (conftest.py) are for the CPU backend;
# on the GPU the tests compile as users' programs do.
PROBCONV_TEST_XLA_OPTIMIZE=1 TAIL=40 step tests "${TESTS_S:-120}" python3 -m pytest -q -o addopts="" -p no:cacheprovider \
    -m "not slow" -n "${WORKERS:-4}" -rf --tb=line tests/test_conv.py tests/test_conv_filter.py \
    tests/test_dist_ops.py tests/test_dist_poisson_binomial.py tests/test_tails.py \
    tests/test_continuous_sums.py tests/test_smooth.py tests/test_physics_diffuse.py \
    tests/test_similarity.py
TAIL=26 step engine64 "${ENGINE_S:-90}" python3 benchmarks/engine.py --dtype float64
TAIL=30 step smooth "${LAYER_S:-60}" python3 benchmarks/smooth.py --quick
TAIL=30 step dist "${LAYER_S:-60}" python3 benchmarks/dist.py --quick
