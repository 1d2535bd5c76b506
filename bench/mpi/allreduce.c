// Times a float32 allreduce of N elements on the ranks of one machine three ways: Open MPI's blocking
// MPI_Allreduce, its non-blocking MPI_Iallreduce polled with MPI_Test, and the scheme of Cortado's
// NodeAllReduce in C (an MPI-3 shared window: copy the peers' chunks in, sum one's own chunk in rank order,
// copy the peers' results out, with flags between the steps). Prints the best of REPS per way on rank 0.
// Build and run: bench/compare-allreduce.sh
#include <mpi.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }

static long reached(char *segment, int counter) { return atomic_load((_Atomic long *)(segment + 64 * counter)); }
static void publish(char *segment, int counter, long g) { atomic_thread_fence(memory_order_seq_cst); atomic_store((_Atomic long *)(segment + 64 * counter), g); }

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int me, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &me);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  long n = argc > 1 ? atol(argv[1]) : 11200000;
  int reps = argc > 2 ? atoi(argv[2]) : 10;
  long round = argc > 3 ? atol(argv[3]) : 4 << 20; // elements per shared-window round (16 MiB of float32)
  float *x = aligned_alloc(64, (n * 4 + 63) / 64 * 64);
  for (long i = 0; i < n; i++) x[i] = me + i * 1e-6f;
  MPI_Win win;
  char *mine, *seg[64];
  MPI_Win_allocate_shared(256 + round * 4, 1, MPI_INFO_NULL, MPI_COMM_WORLD, &mine, &win);
  for (int p = 0; p < size; p++) { MPI_Aint sz; int unit; MPI_Win_shared_query(win, p, &sz, &unit, &seg[p]); }
  memset(mine, 0, 256);
  MPI_Barrier(MPI_COMM_WORLD);
  long g = 0;
  const char *names[] = {"MPI_Allreduce", "MPI_Iallreduce", "shared window"};
  for (int way = 0; way < 3; way++) {
    double best = 1e9;
    for (int r = 0; r < reps; r++) {
      MPI_Barrier(MPI_COMM_WORLD);
      double t0 = now();
      if (way == 0) MPI_Allreduce(MPI_IN_PLACE, x, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
      else if (way == 1) {
        MPI_Request q; int done = 0;
        MPI_Iallreduce(MPI_IN_PLACE, x, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, &q);
        while (!done) MPI_Test(&q, &done, MPI_STATUS_IGNORE);
      } else {
        for (long off = 0; off < n; off += round) {
          long m = n - off < round ? n - off : round, per = ((m + size - 1) / size + 15) / 16 * 16;
          g++;
          float *data = (float *)(mine + 256);
          for (int p = 0; p < size; p++) if (p != me) while (reached(seg[p], 2) < g - 1) {}
          for (int q = 0; q < size; q++) if (q != me) { long lo = q * per < m ? q * per : m, hi = (q + 1) * per < m ? (q + 1) * per : m; memcpy(data + lo, x + off + lo, (hi - lo) * 4); }
          publish(mine, 0, g);
          for (int p = 0; p < size; p++) if (p != me) while (reached(seg[p], 0) < g) {}
          long lo = me * per < m ? me * per : m, hi = (me + 1) * per < m ? (me + 1) * per : m;
          for (long i = lo; i < hi; i++) {
            float s = 0;
            for (int q = 0; q < size; q++) s += q == me ? x[off + i] : ((float *)(seg[q] + 256))[i];
            data[i] = s;
            x[off + i] = s;
          }
          publish(mine, 1, g);
          for (int p = 0; p < size; p++) if (p != me) while (reached(seg[p], 1) < g) {}
          for (int q = 0; q < size; q++) if (q != me) { long a = q * per < m ? q * per : m, b = (q + 1) * per < m ? (q + 1) * per : m; memcpy(x + off + a, (float *)(seg[q] + 256) + a, (b - a) * 4); }
          publish(mine, 2, g);
        }
      }
      double t = now() - t0;
      if (t < best) best = t;
    }
    if (me == 0) printf("{\"way\":\"%s\",\"ranks\":%d,\"elements\":%ld,\"megabytes\":%.1f,\"best_ms\":%.2f}\n", names[way], size, n, n * 4 / 1e6, best * 1e3);
  }
  MPI_Win_free(&win);
  MPI_Finalize();
  return 0;
}
