// shrink_check MODE VICTIM: a job goes on without rank VICTIM through weftCommShrink.
//   after-death: VICTIM kills itself (SIGKILL) at its fourth all-reduce; each survivor, once
//                its all-reduce fails, shrinks with WEFT_SHRINK_ABORT, aborts the old
//                communicator and checks collectives on the new one.
//   planned:     VICTIM stays alive but does not take part: the others shrink with
//                WEFT_SHRINK_DEFAULT and check collectives on the new communicator; then every
//                rank, VICTIM too, destroys the old one.
//   revoke:      VICTIM skips an all-reduce that the others start on a second thread, so
//                theirs cannot finish; every rank revokes the communicator (the others from
//                their main thread, which must end the waiting all-reduce with an error long
//                before WEFT_TIMEOUT_MS), finds no async error and new calls refused, then
//                all shrink it, excluding nobody, and check the new communicator.
// On the new communicator: an all-reduce and an all-gather checked exactly (each rank's new
// rank in it), and new ranks that close the gap in order. Survivors print
// "survivor R: OK new rank Q of N" and exit 0; anything else prints WRONG and exits 1.
#include <signal.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "weft/weft.h"

namespace {

int Wrong(int rank, const std::string& what) {
  std::printf("survivor %d: WRONG: %s (%s)\n", rank, what.c_str(), weftGetLastError(nullptr));
  return 1;
}

// Collectives on the new communicator, checked against what ranks 0..n-1 contribute;
// `victim` is the rank left out (-1: none).
int CheckNewComm(int old_rank, int victim, weftComm_t comm) {
  int rank = -1, n = 0;
  weftCommUserRank(comm, &rank);
  weftCommCount(comm, &n);
  const int expected_rank = old_rank - (victim >= 0 && old_rank > victim ? 1 : 0);  // -1: none
  if (rank != expected_rank) return Wrong(old_rank, "new rank " + std::to_string(rank));
  std::vector<int32_t> mine(1000), sum(1000);
  for (size_t i = 0; i < mine.size(); ++i)
    mine[i] = static_cast<int32_t>(i) * (rank + 1);
  if (weftAllReduce(mine.data(), sum.data(), mine.size(), weftInt32, weftSum, comm, nullptr) !=
      weftSuccess)
    return Wrong(old_rank, "all-reduce on the new communicator");
  for (size_t i = 0; i < sum.size(); ++i)
    if (sum[i] != static_cast<int32_t>(i) * n * (n + 1) / 2)
      return Wrong(old_rank, "all-reduce result at " + std::to_string(i));
  std::vector<int32_t> all(static_cast<size_t>(n));
  if (weftAllGather(&rank, all.data(), 1, weftInt32, comm, nullptr) != weftSuccess)
    return Wrong(old_rank, "all-gather on the new communicator");
  for (int r = 0; r < n; ++r)
    if (all[r] != r) return Wrong(old_rank, "all-gather result at " + std::to_string(r));
  std::printf("survivor %d: OK new rank %d of %d\n", old_rank, rank, n);
  return 0;
}

int RevokeThenShrink(int rank, int victim, weftComm_t comm) {
  std::vector<float> a(1 << 16, 1.0f), b(a.size());
  if (weftAllReduce(a.data(), b.data(), a.size(), weftFloat32, weftSum, comm, nullptr) !=
      weftSuccess)
    return Wrong(rank, "all-reduce before the revoke");
  weftResult_t stuck = weftSuccess;
  const auto start = std::chrono::steady_clock::now();
  std::thread waiting;
  if (rank != victim)  // the victim never joins: this all-reduce cannot finish
    waiting = std::thread([&] {
      stuck = weftAllReduce(a.data(), b.data(), a.size(), weftFloat32, weftSum, comm, nullptr);
    });
  if (weftCommRevoke(comm, WEFT_REVOKE_DEFAULT) != weftSuccess) return Wrong(rank, "revoke");
  if (waiting.joinable()) waiting.join();
  const double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (rank != victim && (stuck == weftSuccess || took > 20))
    return Wrong(rank, "the waiting all-reduce: " + std::string(weftGetErrorString(stuck)) +
                           " after " + std::to_string(took) + " s");
  weftResult_t async = weftInternalError;
  if (weftCommGetAsyncError(comm, &async) != weftSuccess || async != weftSuccess)
    return Wrong(rank, "async error after the revoke");
  if (weftAllReduce(a.data(), b.data(), a.size(), weftFloat32, weftSum, comm, nullptr) !=
      weftInvalidUsage)
    return Wrong(rank, "an all-reduce after the revoke was not refused");
  weftComm_t again = nullptr;
  if (weftCommShrink(comm, nullptr, 0, &again, WEFT_SHRINK_DEFAULT) != weftSuccess)
    return Wrong(rank, "shrinking the revoked communicator");
  if (weftCommDestroy(comm) != weftSuccess) return Wrong(rank, "destroying the revoked one");
  const int result = CheckNewComm(rank, /*victim=*/-1, again);
  if (weftCommDestroy(again) != weftSuccess) return Wrong(rank, "destroying the new one");
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: shrink_check after-death|planned|revoke VICTIM\n");
    return 2;
  }
  const bool after_death = std::strcmp(argv[1], "after-death") == 0;
  const bool revoke = std::strcmp(argv[1], "revoke") == 0;
  const int victim = std::atoi(argv[2]);
  weftComm_t comm;
  if (weftCommInitFromEnv(&comm) != weftSuccess) {
    std::fprintf(stderr, "init: %s\n", weftGetLastError(nullptr));
    return 1;
  }
  int rank = 0;
  weftCommUserRank(comm, &rank);
  std::vector<float> a(1 << 16, 1.0f), b(a.size());
  if (revoke) return RevokeThenShrink(rank, victim, comm);
  if (after_death) {
    weftResult_t r = weftSuccess;
    for (int iter = 0; iter < 100000 && r == weftSuccess; ++iter) {
      if (iter == 3 && rank == victim) raise(SIGKILL);
      r = weftAllReduce(a.data(), b.data(), a.size(), weftFloat32, weftSum, comm, nullptr);
    }
    if (r == weftSuccess) return Wrong(rank, "no error");
  } else {
    if (weftAllReduce(a.data(), b.data(), a.size(), weftFloat32, weftSum, comm, nullptr) !=
        weftSuccess)
      return Wrong(rank, "all-reduce before the shrink");
    if (rank == victim) return weftCommDestroy(comm) == weftSuccess ? 0 : 1;
  }
  weftComm_t smaller = nullptr;
  const int excluded[] = {victim};
  weftResult_t r = weftCommShrink(comm, excluded, 1, &smaller,
                                  after_death ? WEFT_SHRINK_ABORT : WEFT_SHRINK_DEFAULT);
  if (r != weftSuccess) return Wrong(rank, std::string("weftCommShrink: ") + weftGetErrorString(r));
  // The old communicator: aborted after a death, destroyed (with the victim) when planned.
  if (after_death)
    weftCommAbort(comm);
  else if (weftCommDestroy(comm) != weftSuccess)
    return Wrong(rank, "destroying the old communicator");
  const int result = CheckNewComm(rank, victim, smaller);
  if (weftCommDestroy(smaller) != weftSuccess) return Wrong(rank, "destroying the new one");
  return result;
}
