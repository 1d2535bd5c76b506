#!/usr/bin/env bash
# Micro-benchmarks side by side: runs the BenchmarkDotNet project bench/Cortado.Bench.Micro and the same
# operations in PyTorch (Debian's /usr/bin/python3 with torch, see ../shared/peers), alternating ROUNDS
# times, then prints the median time of each case and the ratio Cortado / PyTorch (below 1: Cortado faster).
# Usage: bench/compare-micro.sh [ROUNDS] [FILTER]   e.g. bench/compare-micro.sh 3 '*Sgemm*'
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
rounds=${1:-3}
filter=${2:-*}
python=${CORTADO_PYTHON:-/usr/bin/python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dotnet build -c Release "$root/bench/Cortado.Bench.Micro" -v quiet -nologo >/dev/null
cat >"$work/torch_micro.py" <<'PY'
import json, sys, time, fnmatch
import torch
def median(f, runs=15, warmup=3):
    for _ in range(warmup): f()
    ts = []
    for _ in range(runs):
        t = time.perf_counter(); f(); ts.append(time.perf_counter() - t)
    ts.sort(); return ts[len(ts) // 2]
def emit(key, f, threads):
    if threads != want or not fnmatch.fnmatch(key, pattern): return
    print(json.dumps({'case': key, 'ms': median(f) * 1e3}), flush=True)
# One process per thread count: PyTorch's thread pool is best sized once, before any parallel work.
pattern, want = sys.argv[1], int(sys.argv[2])
torch.set_num_threads(want)
torch.manual_seed(0)
for n in (256, 1024):
    a, b = torch.randn(n, n), torch.randn(n, n)
    for t in (1, 2): emit(f'Sgemm.MatMul N={n} Threads={t}', lambda: a @ b, t)
x, w = torch.randn(16, 64, 16, 16), torch.randn(64, 64, 3, 3) * 0.05
lx, lw, lb = torch.randn(64, 1, 28, 28), torch.randn(6, 1, 5, 5) * 0.2, torch.zeros(6)
def conv_fwd():
    with torch.no_grad(): torch.conv2d(x, w, padding=1)
def conv_fb():
    xx, ww = x.detach().requires_grad_(), w.detach().requires_grad_(); torch.conv2d(xx, ww, padding=1).sum().backward()
def lenet_fb():
    ww, bb = lw.detach().requires_grad_(), lb.detach().requires_grad_(); torch.relu(torch.conv2d(lx, ww, bb, padding=2)).sum().backward()
emit('Convolution.Resnet3x3Forward', conv_fwd, 2)
emit('Convolution.Resnet3x3ForwardBackward', conv_fb, 2)
emit('Convolution.LeNetConv1ForwardBackward', lenet_fb, 2)
lstm, sx = torch.nn.LSTM(256, 256, 2, batch_first=True), torch.randn(32, 35, 256)
def lstm_fwd():
    with torch.no_grad(): lstm(sx)
def lstm_fb():
    lstm.zero_grad(set_to_none=True); lstm(sx)[0].sum().backward()
emit('Recurrent.LstmForward', lstm_fwd, 2)
emit('Recurrent.LstmForwardBackward', lstm_fb, 2)
ea, eb = torch.randn(1 << 22), torch.randn(1 << 22)
emit('Elementwise.Relu', lambda: torch.relu(ea), 2)
emit('Elementwise.Add', lambda: ea + eb, 2)
PY
for ((r = 0; r < rounds; r++)); do
  (cd "$work" && dotnet "$root/bench/Cortado.Bench.Micro/bin/Release/net10.0/Cortado.Bench.Micro.dll" \
     --filter "Cortado.Bench.Micro.$filter" --exporters json --artifacts "$work/round-$r" >"$work/bdn-$r.log" 2>&1) ||
    { tail -20 "$work/bdn-$r.log"; exit 1; }
  for t in 1 2; do "$python" "$work/torch_micro.py" "$filter" "$t" >>"$work/torch.jsonl"; done
done
python3 - "$work" <<'PY'
import glob, json, statistics, sys
work = sys.argv[1]
ours, theirs = {}, {}
for f in glob.glob(f'{work}/round-*/results/*-report-full-compressed.json'):
    for b in json.load(open(f))['Benchmarks']:
        key = f"{b['Type']}.{b['Method']}" + (' ' + b['Parameters'].replace('&', ' ') if b['Parameters'] else '')
        ours.setdefault(key, []).append(b['Statistics']['Median'] / 1e6)
for line in open(f'{work}/torch.jsonl'):
    j = json.loads(line); theirs.setdefault(j['case'], []).append(j['ms'])
print(f"{'case':<46} {'Cortado ms':>11} {'PyTorch ms':>11} {'ratio':>7}")
for key in sorted(ours):
    c = statistics.median(ours[key]); t = statistics.median(theirs[key]) if key in theirs else float('nan')
    print(f"{key:<46} {c:11.3f} {t:11.3f} {c / t:7.2f}")
PY
