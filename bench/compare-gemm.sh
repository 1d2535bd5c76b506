#!/usr/bin/env bash
# SGEMM side by side with PyTorch and ONNX Runtime (a MatMul model): alternates Cortado, PyTorch and ONNX Runtime
# runs (ROUNDS each, every size and thread count), then prints the median GFLOP/s of each, Cortado's ratio to each
# peer, and the median FMA peak of one core that Cortado measured just before each of its runs (and its share of it
# on one thread). One-thread cases run pinned to core 0 (taskset). Needs ../shared/peers/setup.sh; a peer that is
# missing is left out with a note.
# Usage: bench/compare-gemm.sh [SIZES] [THREADS] [ROUNDS]    e.g. bench/compare-gemm.sh 256,1024,2048 1,2 3
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
sizes=${1:-256,1024,2048}
threads=${2:-1,2}
rounds=${3:-3}
# ../shared/peers beside the checkout; a git worktree one level deeper finds it at ../../shared/peers.
peers=${CORTADO_PEERS:-$root/../shared/peers}
[[ -f $peers/torch_ref.py ]] || peers="$root/../../shared/peers"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
dotnet build "$root/bench/Cortado.Bench.Gemm" -c Release -nologo -v q >/dev/null
dll="$root/bench/Cortado.Bench.Gemm/bin/Release/net10.0/Cortado.Bench.Gemm.dll"
# One-thread cases run pinned to one core (taskset), for every system: a BLAS may ignore the requested thread count
# (PyTorch's did on an AMD host, reaching 190-210 GFLOP/s "on one thread", over one core's FMA peak).
pin=()
command -v taskset >/dev/null && pin=(taskset -c 0)
for ((r = 0; r < rounds; r++)); do
  for t in ${threads//,/ }; do
    run=()
    [[ $t == 1 ]] && run=("${pin[@]}")
    "${run[@]}" dotnet "$dll" --op sgemm --n "$sizes" --threads "$t" | sed 's/^/cortado /' >>"$out"
    if [[ -f $peers/torch_ref.py ]]; then
      "${run[@]}" /usr/bin/python3 "$peers/torch_ref.py" gemm --n "$sizes" --threads "$t" | sed 's/^/pytorch /' >>"$out" \
        || echo "compare-gemm.sh: torch_ref.py failed (run ../shared/peers/setup.sh)" >&2
    fi
    if [[ -f $peers/ort_ref.js ]]; then
      "${run[@]}" node "$peers/ort_ref.js" gemm --n "$sizes" --threads "$t" | sed 's/^/onnxruntime /' >>"$out" \
        || echo "compare-gemm.sh: ort_ref.js failed (run ../shared/peers/setup.sh)" >&2
    fi
  done
done
python3 - "$out" <<'PY'
import json, statistics, sys
runs, peaks = {}, {}
for line in open(sys.argv[1]):
    who, _, js = line.partition(' ')
    try: j = json.loads(js)
    except ValueError: continue
    if j.get('op') != 'sgemm': continue
    key = (j['n'], j['threads'])
    runs.setdefault(key, {}).setdefault(who, []).append(j['gflops'])
    if who == 'cortado' and 'core_fma_peak_f32' in j: peaks.setdefault(key, []).append(j['core_fma_peak_f32'])
med = lambda v: statistics.median(v) if v else float('nan')
print(f"{'n':>6} {'threads':>7} {'cortado':>9} {'pytorch':>9} {'onnxrt':>9} {'vs_pt':>6} {'vs_ort':>6} {'peak/core':>9} {'of_peak':>7}")
for (n, t), v in sorted(runs.items()):
    c, p, o = med(v.get('cortado', [])), med(v.get('pytorch', [])), med(v.get('onnxruntime', []))
    pk = med(peaks.get((n, t), []))
    share = f"{c / pk:7.2f}" if t == 1 else f"{'':>7}"
    print(f"{n:>6} {t:>7} {c:>9.1f} {p:>9.1f} {o:>9.1f} {c / p:>6.2f} {c / o:>6.2f} {pk:>9.1f} {share}")
PY
