// p2p_check MODE: point to point through Weft's API, under weft-run. Prints "rank R: OK" or
// "rank R: WRONG ...".
//   exchange  every rank sends every rank (itself too) a message of its own length in one
//             group, then a 4 MiB ring exchange, with an all-reduce between the groups (the
//             two tag spaces must not meet), and a count-0 send/receive pair
//   mismatch  rank 0 sends 100 int32 to rank 1, which receives 50: rank 1 must get an
//             error (not a hang, not silently half the data); both then abort
//   peer-exits  rank 1 exits once rank 0 is ready; rank 0's receive from it must fail (the
//             dead peer is seen), not wait for ever
#include <unistd.h>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "weft/weft.h"

namespace {

int32_t Value(int src, int dst, size_t i) {
  return static_cast<int32_t>(src * 1000000 + dst * 10000 + static_cast<int>(i % 9973));
}

// Length of the message src sends dst: different for every pair.
size_t Length(int src, int dst) {
  return 100 + static_cast<size_t>(13 * src + 7 * dst);
}

bool Exchange(weftComm_t comm, int r, int n, std::string* why) {
  std::vector<std::vector<int32_t>> out(n), in(n);
  for (int q = 0; q < n; ++q) {
    out[q].resize(Length(r, q));
    for (size_t i = 0; i < out[q].size(); ++i)
      out[q][i] = Value(r, q, i);
    in[q].assign(Length(q, r), -1);
  }
  weftGroupStart();
  for (int q = 0; q < n; ++q) {
    weftSend(out[q].data(), out[q].size(), weftInt32, q, comm, nullptr);
    weftRecv(in[q].data(), in[q].size(), weftInt32, q, comm, nullptr);
  }
  if (weftGroupEnd() != weftSuccess) return *why = weftGetLastError(comm), false;
  for (int q = 0; q < n; ++q)
    for (size_t i = 0; i < in[q].size(); ++i)
      if (in[q][i] != Value(q, r, i))
        return *why = "from rank " + std::to_string(q) + " element " + std::to_string(i), false;

  float one = 1.0f, sum = 0.0f;
  if (weftAllReduce(&one, &sum, 1, weftFloat32, weftSum, comm, nullptr) != weftSuccess ||
      sum != static_cast<float>(n))
    return *why = "all-reduce between the groups", false;

  const size_t big = size_t{1} << 20;  // 4 MiB of int32
  std::vector<int32_t> send(big), recv(big, -1);
  for (size_t i = 0; i < big; ++i)
    send[i] = Value(r, 0, i);
  const int right = (r + 1) % n, left = (r + n - 1) % n;
  weftGroupStart();
  weftRecv(recv.data(), big, weftInt32, left, comm, nullptr);
  weftSend(send.data(), big, weftInt32, right, comm, nullptr);
  if (weftGroupEnd() != weftSuccess) return *why = weftGetLastError(comm), false;
  for (size_t i = 0; i < big; ++i)
    if (recv[i] != Value(left, 0, i)) return *why = "ring element " + std::to_string(i), false;

  weftGroupStart();
  weftSend(nullptr, 0, weftInt32, right, comm, nullptr);
  weftRecv(nullptr, 0, weftInt32, left, comm, nullptr);
  if (weftGroupEnd() != weftSuccess) return *why = weftGetLastError(comm), false;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "exchange";
  weftComm_t comm;
  if (weftCommInitFromEnv(&comm) != weftSuccess) {
    std::fprintf(stderr, "init: %s\n", weftGetLastError(nullptr));
    return 1;
  }
  int r = 0, n = 0;
  weftCommUserRank(comm, &r);
  weftCommCount(comm, &n);
  if (mode == "exchange") {
    std::string why;
    const bool ok = Exchange(comm, r, n, &why);
    std::printf("rank %d: %s%s\n", r, ok ? "OK" : "WRONG: ", why.c_str());
    const bool destroyed = weftCommDestroy(comm) == weftSuccess;
    return ok && destroyed ? 0 : 1;
  }
  if (mode == "mismatch" && n >= 2) {
    std::vector<int32_t> buf(100, 7);
    bool ok = true;
    std::string what;
    if (r == 0) {
      ok = weftSend(buf.data(), 100, weftInt32, 1, comm, nullptr) == weftSuccess;
      what = "send";
    } else if (r == 1) {
      const weftResult_t res = weftRecv(buf.data(), 50, weftInt32, 0, comm, nullptr);
      what = std::string("receive failed: ") + weftGetLastError(comm);
      ok = res != weftSuccess;
    }
    std::printf("rank %d: %s %s\n", r, ok ? "OK" : "WRONG", what.c_str());
    std::fflush(stdout);
    weftCommAbort(comm);
    return ok ? 0 : 1;
  }
  if (mode == "peer-exits" && n >= 2) {
    // Rank 1 leaves only once rank 0 is past its initialization (rank 0 says so).
    int32_t ready = 1;
    if (r == 1) {
      const bool got = weftRecv(&ready, 1, weftInt32, 0, comm, nullptr) == weftSuccess;
      std::printf("rank 1: %s leaving\n", got ? "OK" : "WRONG");
      std::fflush(stdout);
      _exit(got ? 0 : 1);
    }
    std::vector<int32_t> buf(100, 7);
    weftResult_t res = weftSend(&ready, 1, weftInt32, 1, comm, nullptr);
    if (res == weftSuccess) res = weftRecv(buf.data(), 100, weftInt32, 1, comm, nullptr);
    std::printf("rank %d: %s %s\n", r, res != weftSuccess ? "OK receive failed:" : "WRONG",
                weftGetLastError(comm));
    weftCommAbort(comm);
    return res != weftSuccess ? 0 : 1;
  }
  std::fprintf(stderr, "usage: p2p_check exchange|mismatch|peer-exits\n");
  return 2;
}
