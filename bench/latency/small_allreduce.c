/* The latency of a small all-reduce through the C API alone: 5 rounds of 20000 8-byte
 * in-and-out calls after 2000 warm-up calls; rank 0 prints the best round's microseconds per
 * call. Built against any libweft (bench/latency/ab.sh runs two builds side by side). */
#include <stdio.h>
#include <time.h>
#include <weft/weft.h>

static double NowUs(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

int main(void) {
  weftComm_t comm;
  if (weftCommInitFromEnv(&comm) != weftSuccess) {
    fprintf(stderr, "init: %s\n", weftGetLastError(NULL));
    return 1;
  }
  int rank;
  weftCommUserRank(comm, &rank);
  double in = 1, out = 0, best = 1e30;
  enum { kWarmup = 2000, kRounds = 5, kCalls = 20000 };
  for (int i = 0; i < kWarmup; ++i)
    if (weftAllReduce(&in, &out, 1, weftFloat64, weftSum, comm, NULL) != weftSuccess) return 1;
  for (int r = 0; r < kRounds; ++r) {
    const double t0 = NowUs();
    for (int i = 0; i < kCalls; ++i)
      weftAllReduce(&in, &out, 1, weftFloat64, weftSum, comm, NULL);
    const double us = (NowUs() - t0) / kCalls;
    if (us < best) best = us;
  }
  int nranks;
  weftCommCount(comm, &nranks);
  if (out != nranks) {
    fprintf(stderr, "rank %d: %g, expected %d\n", rank, out, nranks);
    return 1;
  }
  if (rank == 0) printf("%.3f\n", best);
  return weftCommDestroy(comm) == weftSuccess ? 0 : 1;
}
