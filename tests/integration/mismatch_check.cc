// mismatch_check MODE ODD: every rank makes one call; rank ODD makes a different one
// (MODE: none, count, type, op, root, coll). With WEFT_CHECK=1 every rank must get
// weftInvalidUsage naming both calls (MODE none: success), and the communicator must then
// still run a correct all-reduce. Prints "rank R: OK" or "rank R: WRONG ...".
//
// MODE absent: rank ODD never calls. The others must get weftTimeout within
// WEFT_TIMEOUT_MS + the stall window + 3 s, with the collective, its sequence number and the
// awaited peer in the message ("names-absent" when that peer is ODD), then abort. Rank ODD stays
// alive until it sees the job fail (the others' abort), polling its asynchronous error.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "weft/weft.h"

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "none";
  const int odd = argc > 2 ? std::atoi(argv[2]) : 1;
  weftComm_t comm;
  if (weftCommInitFromEnv(&comm) != weftSuccess) {
    std::fprintf(stderr, "init: %s\n", weftGetLastError(nullptr));
    return 1;
  }
  int rank = 0, n = 0;
  weftCommUserRank(comm, &rank);
  weftCommCount(comm, &n);
  std::vector<float> a(4096, 1.0f), b(4096 * static_cast<size_t>(n));
  const bool me = rank == odd;
  if (mode == "absent") {
    using Clock = std::chrono::steady_clock;
    if (me) {
      // Never calls; leaves once the others have given up (bounded: 60 s).
      weftResult_t async = weftSuccess;
      const auto give_up = Clock::now() + std::chrono::seconds(60);
      while (async == weftSuccess && Clock::now() < give_up) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        weftCommGetAsyncError(comm, &async);
      }
      std::printf("rank %d: OK: absent, then saw %s\n", rank, weftGetErrorString(async));
      weftCommAbort(comm);
      return 0;
    }
    const char* env = std::getenv("WEFT_TIMEOUT_MS");
    // The wait, then the window in which the ranks tell each other where they are (the
    // stall verdict that names the rank that stopped), then slack for a loaded machine (CI
    // runs two such jobs at once on two cores).
    const double timeout_s = (env ? std::atof(env) : 300000.0) / 1000.0;
    const double limit_s = timeout_s + std::clamp(timeout_s / 10, 1.0, 10.0) + 3.0;
    const auto start = Clock::now();
    weftResult_t r = weftAllReduce(a.data(), b.data(), 1024, weftFloat32, weftSum, comm, nullptr);
    const double took = std::chrono::duration<double>(Clock::now() - start).count();
    const std::string why = weftGetLastError(comm);
    const bool ok =
        r == weftTimeout && took < limit_s && why.find("allreduce") != std::string::npos &&
        why.find("seq ") != std::string::npos && why.find("waiting for") != std::string::npos;
    const bool names = why.find("rank " + std::to_string(odd)) != std::string::npos;
    std::printf("rank %d: %s%s: after %.2f s: %s\n", rank, ok ? "OK" : "WRONG",
                names ? " names-absent" : "", took, why.c_str());
    weftCommAbort(comm);
    return ok ? 0 : 1;
  }
  weftResult_t r;
  if (mode == "root") {
    r = weftBroadcast(a.data(), b.data(), 1024, weftFloat32, me ? 1 : 0, comm, nullptr);
  } else if (mode == "coll" && me) {
    r = weftAllGather(a.data(), b.data(), 1024, weftFloat32, comm, nullptr);
  } else {
    const size_t count = mode == "count" && me ? 512 : 1024;
    const weftDataType_t type = mode == "type" && me ? weftInt32 : weftFloat32;
    const weftRedOp_t op = mode == "op" && me ? weftMax : weftSum;
    r = weftAllReduce(a.data(), b.data(), count, type, op, comm, nullptr);
  }
  const std::string why = r == weftSuccess ? "" : weftGetLastError(comm);
  bool ok;
  if (mode == "none") {
    ok = r == weftSuccess;
  } else {
    // Both sides are named: this rank's call and the odd rank's.
    const std::string odd_name = "rank " + std::to_string(odd);
    ok = r == weftInvalidUsage && why.find("WEFT_CHECK") != std::string::npos &&
         why.find(odd_name) != std::string::npos && why.find(" but ") != std::string::npos;
  }
  // Everyone skipped the bad call alike: the next one works, with exact results.
  int32_t mine = rank + 1, sum = 0;
  weftResult_t after = weftAllReduce(&mine, &sum, 1, weftInt32, weftSum, comm, nullptr);
  ok = ok && after == weftSuccess && sum == n * (n + 1) / 2;
  std::printf("rank %d: %s: %s (%s)\n", rank, ok ? "OK" : "WRONG", weftGetErrorString(r),
              why.c_str());
  weftCommDestroy(comm);
  return ok ? 0 : 1;
}
