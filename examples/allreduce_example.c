/* Sum a vector over every rank. Run: build/bin/weft-run -n 4 -- build/bin/allreduce_example */
#include <stdio.h>
#include <weft/weft.h>

int main(void) {
  weftComm_t comm;
  if (weftCommInitFromEnv(&comm) != weftSuccess) {
    fprintf(stderr, "init: %s\n", weftGetLastError(NULL));
    return 1;
  }
  int rank, nranks;
  weftCommUserRank(comm, &rank);
  weftCommCount(comm, &nranks);

  float data[1024];
  for (int i = 0; i < 1024; ++i)
    data[i] = (float)rank;
  /* In place; host memory and a NULL stream: returns when the result is in `data`. */
  weftResult_t r = weftAllReduce(data, data, 1024, weftFloat32, weftSum, comm, NULL);
  if (r != weftSuccess) {
    fprintf(stderr, "allreduce: %s: %s\n", weftGetErrorString(r), weftGetLastError(comm));
    weftCommAbort(comm);
    return 1;
  }
  float expected = nranks * (nranks - 1) / 2.0f; /* 0 + 1 + ... + nranks-1, exact in float */
  int wrong = 0;
  for (int i = 0; i < 1024; ++i)
    wrong += data[i] != expected;
  printf("rank %d: %g (expected %g)%s\n", rank, data[0], expected, wrong ? " WRONG" : "");
  return weftCommDestroy(comm) == weftSuccess && !wrong ? 0 : 1;
}
