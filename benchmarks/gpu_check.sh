#!/usr/bin/env bash
# lamina on a CUDA machine, in one command: installs the CUDA builds of JAX and PyTorch into a virtual environment,
# runs the test suite on the GPU for both engines, bench.py's rows and scaling.py, and prints one summary.
#
# Usage (from anywhere; it works in the repository's root):
#   benchmarks/gpu_check.sh          # needs nvidia-smi and a GPU; installs into .venv-gpu (LAMINA_GPU_VENV=...)
#   benchmarks/gpu_check.sh --cpu    # the same steps, shortened, on CPU devices with the existing .venv;
#                                    # downloads nothing (tests/distribution, bench row small, scaling on 1-2 devices)
#
# Settings: LAMINA_GPU_VENV (the venv, GPU mode), PYTHON (the interpreter that makes it), LAMINA_CHECK_WORKERS
# (pytest workers on the GPU, default 4), LAMINA_CHECK_LOGS (where each step's log goes; default a new temporary
# folder). The exit status is 0 only when every step passed. A missed scaling target is reported, not a failure.
set -u -o pipefail

MODE=gpu
for argument in "$@"; do
	case "$argument" in
	--cpu) MODE=cpu ;;
	-h | --help)
		sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "gpu_check.sh: unknown argument '$argument' (expected --cpu or --help)" >&2
		exit 2
		;;
	esac
done

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT" || exit 2

fail() {
	echo "gpu_check.sh: $*" >&2
	exit 2
}

# ------------------------------------------------------------------------------------------ the environment
if [ "$MODE" = gpu ]; then
	command -v nvidia-smi >/dev/null 2>&1 ||
		fail "no CUDA here: nvidia-smi is not on PATH, so this machine has no NVIDIA driver. Run with --cpu to go through the same steps on CPU devices."
	GPUS="$(nvidia-smi -L 2>/dev/null | grep -c '^GPU')"
	[ "${GPUS:-0}" -ge 1 ] || fail "no CUDA GPU here: 'nvidia-smi -L' lists none. Run with --cpu to use CPU devices."
	MACHINE="$GPUS GPU(s): $(nvidia-smi --query-gpu=name --format=csv,noheader | sort | uniq -c | xargs)"
	VENV="${LAMINA_GPU_VENV:-.venv-gpu}"
	if [ ! -x "$VENV/bin/python" ]; then
		"${PYTHON:-python3}" -m venv "$VENV" || fail "could not create the venv $VENV with ${PYTHON:-python3} (set PYTHON)."
	fi
	PY="$VENV/bin/python"
	echo "== installing lamina with the CUDA builds of JAX and PyTorch into $VENV =="
	"$PY" -m pip install --quiet --upgrade pip &&
		"$PY" -m pip install --quiet -e '.[test]' &&
		JAX_VERSION="$("$PY" -c 'import jax; print(jax.__version__)')" &&
		"$PY" -m pip install --quiet "jax[cuda12]==$JAX_VERSION" "torch==2.13.0" ||
		fail "installing failed (see pip's messages above)."
	"$PY" -c 'import jax, sys; sys.exit(jax.default_backend() != "gpu")' ||
		fail "JAX in $VENV does not see the GPU (jax.default_backend() is not 'gpu'): check the CUDA driver."
	"$PY" -c 'import sys, torch; sys.exit(not torch.cuda.is_available())' ||
		fail "PyTorch in $VENV does not see the GPU (torch.cuda.is_available() is False): check the CUDA driver."
	# Several test processes share the GPU: JAX must not take most of its memory up front in each.
	export XLA_PYTHON_CLIENT_PREALLOCATE=false
	TESTS=(tests)
	PYTEST_EXTRA=(-n "${LAMINA_CHECK_WORKERS:-4}")
	# The suite compares float32 results to 1e-5; TF32 matmuls and convolutions (the GPUs' default for float32 in
	# XLA, and in cuDNN for torch) round to about 1e-3. The tests run in full float32; the benchmarks do not.
	TEST_ENV=(JAX_DEFAULT_MATMUL_PRECISION=highest NVIDIA_TF32_OVERRIDE=0)
	BENCH=(--only small mlp cnn lstm)
	SCALING=(--engine both)
	TEST_TIMEOUT=3600
else
	VENV=.venv
	PY="$VENV/bin/python"
	[ -x "$PY" ] || fail "--cpu uses the existing $VENV, and there is none: run 'make test' (or 'make demo') once first."
	"$PY" -c 'import lamina, jax, torch' 2>/dev/null || fail "--cpu needs lamina, jax and torch in $VENV ('make test' installs them)."
	# CPU devices even on a machine with a GPU; and no step may download anything.
	export JAX_PLATFORMS=cpu CUDA_VISIBLE_DEVICES="" PIP_NO_INDEX=1
	MACHINE="CPU devices ($(nproc) cores, shared by every device)"
	TESTS=(tests/distribution tests/test_benchmark_scaling.py)
	PYTEST_EXTRA=()
	TEST_ENV=()
	BENCH=(--only small --epochs 1 --repeats 1)
	SCALING=(--engine both --devices 1 2 --steps 3 --per-device-batch 16 --repeats 1)
	TEST_TIMEOUT=900
fi
export PYTHONUNBUFFERED=1
LOGS="${LAMINA_CHECK_LOGS:-$(mktemp -d -t lamina-gpu-check.XXXXXX)}"
mkdir -p "$LOGS" || fail "cannot make the log folder $LOGS."
echo "gpu_check ($MODE): $MACHINE; logs in $LOGS"

# ----------------------------------------------------------------------------------------------- the steps
STATUS=0
step() { # step NAME TIMEOUT COMMAND...: runs COMMAND, its output shown and kept in $LOGS/NAME.log
	local name="$1" limit="$2"
	shift 2
	echo "== $name: $* =="
	timeout "$limit" "$@" 2>&1 | tee "$LOGS/$name.log"
	local code=$?
	echo "$code" >"$LOGS/$name.code"
	[ "$code" -eq 0 ] || STATUS=1
}

FIRST=0
for engine in jax torch; do
	# As scripts/run_tests.py: tests marked engine_neutral start their own interpreters and run once.
	step "tests-$engine" "$TEST_TIMEOUT" env LAMINA_BACKEND="$engine" LAMINA_SKIP_ENGINE_NEUTRAL=$FIRST "${TEST_ENV[@]}" \
		"$PY" -m pytest -q -p no:cacheprovider "${PYTEST_EXTRA[@]}" "${TESTS[@]}"
	FIRST=1
done
for engine in jax torch; do
	libraries=(lamina keras "$engine-loop")
	[ "$MODE" = cpu ] && libraries=(lamina "$engine-loop")
	step "bench-$engine" 1800 "$PY" benchmarks/bench.py --engine "$engine" --libraries "${libraries[@]}" "${BENCH[@]}"
done
step scaling 3600 "$PY" benchmarks/scaling.py "${SCALING[@]}" --json "$LOGS/scaling.json"

# --------------------------------------------------------------------------------------------- the summary
verdict() { # "ok" or "FAILED (exit code N)" for a step
	local code
	code="$(cat "$LOGS/$1.code" 2>/dev/null || echo missing)"
	if [ "$code" = 0 ]; then echo ok; elif [ "$code" = 124 ]; then echo "FAILED (timed out)"; else echo "FAILED (exit code $code)"; fi
}
count() { # count WORD LOG: the number before WORD in pytest's closing line, 0 if none
	grep -E '[0-9]+ (passed|failed|skipped|errors?|deselected)' "$2" | tail -n 1 | grep -oE "[0-9]+ $1" | grep -oE '^[0-9]+' || echo 0
}
echo
echo "================================ gpu_check summary ($MODE) ================================"
echo "machine: $MACHINE"
for engine in jax torch; do
	log="$LOGS/tests-$engine.log"
	failed=$(($(count failed "$log") + $(count error "$log")))
	echo "tests $engine: $(count passed "$log") passed, $failed failed, $(count skipped "$log") skipped  [$(verdict "tests-$engine")]"
done
for engine in jax torch; do
	echo
	echo "bench.py, $engine [$(verdict "bench-$engine")]:"
	grep -A 100 '^engine:' "$LOGS/bench-$engine.log"
done
echo
echo "scaling.py [$(verdict scaling)]:"
grep -A 200 '^weak scaling' "$LOGS/scaling.log"
echo
echo "logs: $LOGS"
if [ "$STATUS" -eq 0 ]; then echo "gpu_check: every step passed"; else echo "gpu_check: some steps FAILED (see above)"; fi
exit "$STATUS"
