#!/usr/bin/env bash
# One machine's allreduce three ways (bench/mpi/allreduce.c): Open MPI's MPI_Allreduce and MPI_Iallreduce (ring,
# as Cortado configures it) against a shared-window reduction like Cortado's NodeAllReduce, for each size.
# Needs openmpi-bin and libopenmpi-dev (mpicc). Usage: bench/compare-allreduce.sh [RANKS] [ELEMENTS,...] [REPS]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
ranks=${1:-2}
sizes=${2:-1000000,4000000,8000000,9000000,11200000}
reps=${3:-10}
bin=$(mktemp -d)/allreduce
mpicc -O3 -march=native -o "$bin" "$root/bench/mpi/allreduce.c"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
for n in ${sizes//,/ }; do
  mpirun -n "$ranks" --bind-to none --mca coll_libnbc_iallreduce_algorithm 1 "$bin" "$n" "$reps"
done
rm -rf "$(dirname "$bin")"
