#!/usr/bin/env bash
# Inference latency side by side: Cortado (`cortado bench model`), ONNX Runtime (../shared/peers/ort_ref.js) and
# PyTorch (../shared/peers/torch_ref.py infer) on the models of ../shared/peers/export_models.py, alternating the
# three systems ROUNDS times. Prints the median p50 per model and batch size and Cortado's ratio to each peer.
# Needs the peers (bash ../shared/peers/setup.sh). Models are exported into MODELS_DIR when missing.
# Usage: bench/compare-infer.sh [MODELS] [BATCHES] [THREADS] [ROUNDS] [RUNS] [MODELS_DIR]
#   e.g. bench/compare-infer.sh resnet18,resnet50,mobilenet_v2 1,8 2 3 20 /tmp/cortado-models
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
peers="${CORTADO_PEERS_DIR:-$root/../shared/peers}"
models=${1:-resnet18,resnet50,mobilenet_v2}
batches=${2:-1,8}
threads=${3:-2}
rounds=${4:-3}
runs=${5:-20}
dir=${6:-${TMPDIR:-/tmp}/cortado-models}
out=$(mktemp)
"$root/cortado" info --help >/dev/null  # builds the tool once, outside the timed runs
for m in ${models//,/ }; do
  [[ -f "$dir/$m/model.onnx" ]] || /usr/bin/python3 "$peers/export_models.py" "$dir" "$m" >/dev/null
done
for ((r = 0; r < rounds; r++)); do
  for m in ${models//,/ }; do
    "$root/cortado" bench model "$dir/$m/model.onnx" --batch "$batches" --threads "$threads" --runs "$runs" --json | sed 's/^/cortado /' >>"$out"
    node "$peers/ort_ref.js" model "$dir/$m/model.onnx" --batch "$batches" --threads "$threads" --runs "$runs" | sed 's/^/ort /' >>"$out"
    /usr/bin/python3 "$peers/torch_ref.py" infer --model "$m" --batch "$batches" --threads "$threads" 2>/dev/null | sed 's/^/torch /' >>"$out"
  done
done
python3 - "$out" <<'PY'
import json, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    who, _, js = line.partition(' ')
    try: j = json.loads(js)
    except ValueError: continue
    runs.setdefault((j['model'], j['batch'], who), []).append(j)
keys = sorted({(m, b) for (m, b, _) in runs})
print(f"{'model':14} {'batch':>5} {'Cortado p50':>12} {'ORT p50':>9} {'PyTorch p50':>12} {'vs ORT':>7} {'vs PyTorch':>10} {'arena MiB':>10} {'peak RSS MiB':>13}")
for m, b in keys:
    med = lambda who, f='p50_ms': statistics.median(j[f] for j in runs[(m, b, who)]) if (m, b, who) in runs else float('nan')
    c, o, t = med('cortado'), med('ort'), med('torch')
    arena, rss = med('cortado', 'arena_bytes') / 2**20, med('cortado', 'peak_rss_bytes') / 2**20
    print(f"{m:14} {b:5} {c:12.2f} {o:9.2f} {t:12.2f} {c / o:7.2f} {c / t:10.2f} {arena:10.1f} {rss:13.1f}")
PY
rm -f "$out"
