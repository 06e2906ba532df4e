#!/usr/bin/env bash
# Peer benchmark: Vigil's streaming LSTM step (Go) against PyTorch and Keras
# on the same sizes, measured in one invocation on this machine, plus
# training seconds per epoch on NAB nyc_taxi. Not part of the product.
#
# Usage: bench/peer/run.sh [lstm_peer.py options]
#   e.g. bench/peer/run.sh --configs 1x32,2x64 --batches 1,256 --no-train
# Environment:
#   BENCHTIME  go test -benchtime per Go benchmark        (default 300ms)
#   COUNT      go test -count; the best run is reported    (default 3)
#   GO_TRAIN   1: also run BenchmarkTrainEpoch/train       (default 1)
#   PYTHON     interpreter for the virtualenv              (default /usr/bin/python3, else python3)
#   CPU        pin everything to this CPU with taskset     (default: no pinning)
# The virtualenv bench/peer/.venv (gitignored) is created on first use and
# gets torch (CPU use only; PyPI's wheel also pulls CUDA libraries) and
# tensorflow-cpu from PyPI: expect several minutes and a few GB. Results
# are written to out/peer/ and the table to standard output.
# Settings of each side are described at the top of lstm_peer.py.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"
venv=$here/.venv
out=$root/out/peer
mkdir -p "$out"
BENCHTIME=${BENCHTIME:-300ms}
COUNT=${COUNT:-3}
GO_TRAIN=${GO_TRAIN:-1}
pin=()
if [[ -n "${CPU:-}" ]]; then pin=(taskset -c "$CPU"); fi

if [[ ! -x $venv/bin/python ]]; then
	py=${PYTHON:-}
	if [[ -z $py ]]; then
		if [[ -x /usr/bin/python3 ]]; then py=/usr/bin/python3; else py=python3; fi
	fi
	echo "creating $venv with $py" >&2
	"$py" -m venv "$venv"
fi
if ! "$venv/bin/python" -c 'import torch, tensorflow, keras, numpy' 2>/dev/null; then
	echo "installing torch, tensorflow-cpu, numpy into $venv (several minutes)" >&2
	"$venv/bin/pip" install -q --upgrade pip
	"$venv/bin/pip" install -q torch tensorflow-cpu numpy
fi

# The kernel set the step picks by itself on this CPU (see internal/model/kernel.go).
kernel=generic
if grep -qw avx2 /proc/cpuinfo && grep -qw fma /proc/cpuinfo; then kernel=avx2; fi
if [[ $kernel == avx2 ]] && grep -qw avx512f /proc/cpuinfo && grep -qw avx512dq /proc/cpuinfo; then kernel=avx512; fi
echo "== Go: BenchmarkStepBatch (kernel=$kernel), -benchtime $BENCHTIME -count $COUNT, one core" >&2
"${pin[@]}" go test -run '^$' -bench "BenchmarkStepBatch///kernel=$kernel\$" -benchtime "$BENCHTIME" \
	-count "$COUNT" -cpu 1 ./internal/model/ | tee "$out/go_bench.txt" >&2
if [[ $GO_TRAIN == 1 ]]; then
	echo "== Go: BenchmarkTrainEpoch/train" >&2
	"${pin[@]}" go test -run '^$' -bench 'BenchmarkTrainEpoch/train$' -benchtime 3x -cpu 1 ./internal/model/ \
		| tee -a "$out/go_bench.txt" >&2 || echo "BenchmarkTrainEpoch failed; the table shows no Vigil epoch time" >&2
fi

echo "== PyTorch and Keras" >&2
"${pin[@]}" "$venv/bin/python" "$here/lstm_peer.py" --go-bench "$out/go_bench.txt" "$@" | tee "$out/table.txt"
