#!/usr/bin/env bash
# The first contact with a GPU machine, in one command of at most 8 minutes (DC_BUDGET, 470 s),
# run from the repository root with .whl/ beside it: bash scripts/device_check.sh 2>&1 | tee $OUT/log.txt
# (.whl/wheels.tar.xz from scripts/device_wheels.sh; without it the Ray/MLflow steps are skipped)
# Steps in the order of their worth, each under its own limit (s) and what is left of the budget; each adds
# to $OUT/results.json, so one that runs out of time costs only itself: facts 20, install 35, tests-core
# 100, bench 60, table4 70, memory 40, tests-study 90, packing 70, study 90; then the summary, printed last.
set -u
OUT=${OUT:-device-out}
mkdir -p "$OUT"
export OUT PYTHONUNBUFFERED=1 MPLBACKEND=Agg PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" RAY_AUTH_MODE=disabled
export RAY_TMPDIR="$(mktemp -d)" # short: Ray's socket paths must stay under 107 characters
PY=${PY:-python3}
Q=${DC_QUICK:+--quick} # DC_QUICK=1: tiny sizes and 6 times the limits, to check this script on a CPU
SCALE=${DC_QUICK:+6}
BUDGET=$((${DC_BUDGET:-470} * ${SCALE:-1}))
step() { # step NAME SECONDS COMMAND...: runs it within what is left; notes exit code and time
  local name=$1 limit=$(($2 * ${SCALE:-1})) start=$SECONDS code
  shift 2
  ((limit > BUDGET - SECONDS)) && limit=$((BUDGET - SECONDS))
  if ((limit < 15)); then echo "=== $name: skipped, the budget is spent"; return 125; fi
  echo "=== $name (at most ${limit} s, at ${SECONDS} s)"
  timeout -k 5 "$limit" "$@"
  code=$?
  echo "=== $name: exit $code after $((SECONDS - start)) s"
  echo "{\"step\": \"$name\", \"exit\": $code, \"seconds\": $((SECONDS - start))}" >>"$OUT/steps.jsonl"
  return $code
}
nvidia-smi --query-gpu=name,memory.total,memory.used,driver_version --format=csv
step facts 20 $PY -m bench.device_check facts $Q
if [ -f .whl/wheels.tar.xz ]; then # Ray (pruned), MLflow (skinny), Optuna and what the image lacks
  step install 35 bash -c "$PY -c 'import tarfile; tarfile.open(\".whl/wheels.tar.xz\").extractall(\".dc/wheels\", \
    filter=\"data\")' && $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target .dc/site \
    .dc/wheels/*.whl" &&
    export PYTHONPATH="$PWD:$PWD/.dc/site${PYTHONPATH#"$PWD"}"
fi
# The gpu-marked tests that need neither Ray nor MLflow, that they collect without them, and the CPU tests
# that run on CUDA on a GPU machine (fit and ips.train default to CUDA there: resume exactness, the CLI;
# left out of the quick check, where they are the CPU tests that make test runs).
CORE="tests/test_gpu.py tests/test_fast_selection_gpu.py tests/test_model.py tests/test_gpu_tests_collect.py"
[ -z "${DC_QUICK:-}" ] && CORE="$CORE tests/test_train.py tests/test_cli.py"
step tests-core 100 $PY -m pytest -q -p no:cacheprovider -m "gpu or not slow" --junitxml="$OUT/junit-core.xml" $CORE
step bench 60 $PY -m bench.device_check bench $Q
step table4 70 $PY -m bench.device_check table4 $Q
step memory 40 $PY -m bench.device_check memory $Q
WITH_RAY=$($PY -c "import ray, mlflow; print(1)" 2>/dev/null)
# The cap in a real process, the estimate against this card's peaks, and (with Ray and MLflow) two trials
# sharing the card, each tagged cuda:0 and under its cap; the Ray test skips itself without them.
step tests-study 90 $PY -m pytest -q -p no:cacheprovider -m gpu --junitxml="$OUT/junit-study.xml" \
  tests/study/test_study_gpu.py
step packing 70 $PY -m bench.device_check packing $Q
if [ -n "$WITH_RAY" ]; then
  LEFT=$((BUDGET - SECONDS - 20)) && ((LEFT > 75 * ${SCALE:-1})) && LEFT=$((75 * ${SCALE:-1}))
  step study 90 $PY -m bench.device_check study --deadline "$LEFT" $Q
fi
nvidia-smi --query-gpu=memory.used,temperature.gpu,clocks.sm --format=csv
$PY -m bench.device_check summary $Q
rm -rf "$RAY_TMPDIR"
