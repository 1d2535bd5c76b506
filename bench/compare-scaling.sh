#!/usr/bin/env bash
# Data-parallel scaling: alternates one rank, N independent one-rank processes run at the same time, and
# N ranks (each with THREADS kernel threads) on a training workload for ROUNDS rounds. Prints the median
# throughput of each, the speed-up, and the share of communication hidden by overlap. The independent
# processes exchange nothing: their speed-up is what this machine allows N training processes before any
# communication. Needs Open MPI (openmpi-bin).
# BUCKET_MB may list several sizes (e.g. 25,4; 25/0 sets the final bucket's own limit too, --final-bucket-mb), and ALLREDUCE the transports (shm: the shared-memory allreduce, the
# default; mpi: Open MPI's MPI_Iallreduce; alt: one run whose steps alternate between the two, so that both
# see the same minutes of the host): each round then runs the N ranks once per size and transport.
# BIND lists launch's --bind-to settings (auto: each rank on its own cores where the threads fit, the default;
# none: unbound).
# Usage: bench/compare-scaling.sh [WORKLOAD] [RANKS] [THREADS] [ROUNDS] [STEPS] [BUCKET_MB] [ALLREDUCE] [BIND]
#   e.g. bench/compare-scaling.sh resnet18 2 1 3 8 25 shm,mpi auto,none
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
workload=${1:-resnet18}
ranks=${2:-2}
threads=${3:-1}
rounds=${4:-3}
steps=${5:-8}
buckets=${6:-default}
transports=${7:-shm}
binds=${8:-auto}
out=$(mktemp)
"$root/cortado" info --help >/dev/null  # builds the tool once, outside the timed runs
for ((r = 0; r < rounds; r++)); do
  "$root/cortado" bench train --workload "$workload" --threads "$threads" --steps "$steps" --json | tail -1 | sed 's/^/single /' >>"$out"
  for ((i = 0; i < ranks; i++)); do
    "$root/cortado" bench train --workload "$workload" --threads "$threads" --steps "$steps" --json | tail -1 | sed "s/^/apart$r /" >>"$out" &
  done
  wait
  for bucket in ${buckets//,/ }; do
    if [[ $bucket == default ]]; then extra=(); else extra=(--bucket-mb "${bucket%/*}"); fi
    [[ $bucket == */* ]] && extra+=(--final-bucket-mb "${bucket#*/}")
    for bind in ${binds//,/ }; do
    for transport in ${transports//,/ }; do
      case $transport in
        shm | mpi)
          CORTADO_SHM_ALLREDUCE=$([[ $transport == shm ]] && echo 1 || echo 0) "$root/cortado" launch -n "$ranks" --bind-to "$bind" -- bench train --workload "$workload" \
            --threads "$threads" --steps "$steps" "${extra[@]}" --json | tail -1 | sed "s|^|multi:$bucket:$transport:$bind |" >>"$out" ;;
        alt)
          "$root/cortado" launch -n "$ranks" --bind-to "$bind" -- bench train --workload "$workload" --threads "$threads" --steps "$steps" "${extra[@]}" \
            --alternate-allreduce --json | tail -2 | sed -e "1s|^|multi:$bucket:alternating-shm:$bind |" -e "2s|^|multi:$bucket:alternating-mpi:$bind |" >>"$out" ;;
        *) echo "unknown transport '$transport' (shm, mpi or alt)" >&2; exit 2 ;;
      esac
    done
    done
  done
done
python3 - "$out" <<'PY'
import json, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    who, _, js = line.partition(' ')
    try: j = json.loads(js)
    except ValueError: continue
    runs.setdefault(who, []).append(j)
one = runs.get('single', [])
multis = {k.partition(':')[2]: v for k, v in runs.items() if k.startswith('multi:')}
# Independent processes of one round run together: their summed throughput is that round's figure.
apart = [sum(j['items_per_s'] for j in v) for k, v in runs.items() if k.startswith('apart')]
if not one or not multis: sys.exit("missing results: " + repr(runs))
t1 = statistics.median(j['items_per_s'] for j in one)
s1 = statistics.median(j['step_ms'] for j in one)
ranks = next(iter(multis.values()))[0]['ranks']
print(f"workload {one[0]['workload']}, {one[0]['threads']} thread(s) per rank, {len(one)} rounds (medians)")
print(f"  1 rank : {s1:8.1f} ms/step {t1:9.1f} items/s")
if apart:
    ta = statistics.median(apart)
    print(f"  {ranks} independent one-rank processes at once: {ta:9.1f} items/s   speed-up {ta / t1:.2f}x (no communication)")
    # Ranks wait for the slowest one at every step: how far the slower independent process lagged their mean.
    skew = statistics.median(max(j['step_ms'] for j in v) / statistics.mean(j['step_ms'] for j in v) - 1
                             for k, v in runs.items() if k.startswith('apart'))
    print(f"    the slower of them took {skew:.1%} longer per step than their mean (median over rounds)")
for key, many in multis.items():
    bucket, transport, bind = key.split(':')
    tn = statistics.median(j['items_per_s'] for j in many)
    sn = statistics.median(j['step_ms'] for j in many)
    size, _, final = bucket.partition('/')
    label = ("default buckets" if size == "default" else f"{size} MB buckets") + (f" (final {final} MB)" if final else "") + f", allreduce by {many[0].get('allreduce', transport)}"
    if transport.startswith('alternating'): label += " (alternating steps)"
    if bind != 'auto': label += f", --bind-to {bind}"
    print(f"  {ranks} ranks, {label}: {sn:8.1f} ms/step {tn:9.1f} items/s   speed-up {tn / t1:.2f}x ({tn / t1 / ranks:.0%} efficiency)")
    if 'communication_ms_per_step' in many[0]:
        comm = statistics.median(j['communication_ms_per_step'] for j in many)
        hidden = statistics.median(j['hidden_share'] for j in many)
        print(f"    communication {comm:.1f} ms/step, {hidden:.0%} of it hidden behind the backward pass")
    if len(many) == len(one):
        print("    per round, over that round's one rank: " + ", ".join(f"{m['items_per_s'] / o['items_per_s']:.2f}x" for m, o in zip(many, one)))
if any(':alternating-shm' in k for k in multis):
    # The fairest comparison of the transports: per run, the MPI steps' median over the shared-memory steps'.
    for key, many in multis.items():
        if ':alternating-shm' not in key: continue
        other = multis[key.replace('alternating-shm', 'alternating-mpi')]
        ratios = [m['step_ms'] / s['step_ms'] for s, m in zip(many, other)]
        print(f"  alternating runs ({key.partition(':')[0]}): MPI step / shared-memory step per run "
              f"{', '.join(f'{r:.3f}' for r in ratios)}; median {statistics.median(ratios):.3f}")
PY
rm -f "$out"
