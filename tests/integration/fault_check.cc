// fault_check VICTIM [WITHIN_S [COUNT]]: all ranks all-reduce COUNT floats (default 2^18) in a
// loop; rank `victim` kills itself (SIGKILL) after a few iterations. Every survivor must get
// weftRemoteError within `within` seconds, then weftCommAbort must return promptly. Survivors print
// "survivor R: OK ..." and exit 0 when all of that held, and say "names-victim" when the error
// names the killed rank (a survivor that aborts and exits first can be what a slower survivor sees
// die: the test requires that at least one survivor names the victim).
//
// With FAULT_CHECK_CUT_LINK set (a shell command), the victim runs that command instead of
// dying and goes on: a network partition between live ranks (tests/netns/hosts.sh takes
// a host's link down). Then every rank must fail, with weftRemoteError or weftTimeout, within
// `within` seconds of the cut, and abort promptly.
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "weft/weft.h"

int main(int argc, char** argv) {
  const int victim = argc > 1 ? std::atoi(argv[1]) : 1;
  const double within_s = argc > 2 ? std::atof(argv[2]) : 5.0;
  const size_t count = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : size_t{1} << 18;
  const char* cut_link = std::getenv("FAULT_CHECK_CUT_LINK");
  weftComm_t comm;
  if (weftCommInitFromEnv(&comm) != weftSuccess) {
    std::fprintf(stderr, "init: %s\n", weftGetLastError(nullptr));
    return 1;
  }
  int rank = 0;
  weftCommUserRank(comm, &rank);
  std::vector<float> a(count, 1.0f), b(a.size());
  using Clock = std::chrono::steady_clock;
  Clock::time_point died{};
  for (int iter = 0; iter < 100000; ++iter) {
    if (iter == 3 && rank == victim) {
      if (cut_link == nullptr) raise(SIGKILL);
      if (std::system(cut_link) != 0) {
        std::printf("survivor %d: WRONG: '%s' failed\n", rank, cut_link);
        return 1;
      }
    }
    // The victim dies at its iteration 3; a survivor can be one collective behind it, so
    // the failing call started no earlier than the death or the call's own start.
    const auto call_start = Clock::now();
    if (iter == 3) died = call_start;
    weftResult_t r =
        weftAllReduce(a.data(), b.data(), a.size(), weftFloat32, weftSum, comm, nullptr);
    if (r == weftSuccess) continue;
    const auto since = iter >= 3 ? died : call_start;
    const double took = std::chrono::duration<double>(Clock::now() - since).count();
    const std::string why = weftGetLastError(comm);
    const bool names_victim = why.find("rank " + std::to_string(victim)) != std::string::npos;
    weftResult_t async = weftSuccess;
    weftCommGetAsyncError(comm, &async);
    const auto abort_start = Clock::now();
    weftCommAbort(comm);
    const double abort_s = std::chrono::duration<double>(Clock::now() - abort_start).count();
    // A partition may show as a broken connection or only as silence (then the timeout).
    const bool code_ok = cut_link == nullptr
                             ? r == weftRemoteError && async == weftRemoteError
                             : (r == weftRemoteError || r == weftTimeout) && async == r;
    const bool ok = code_ok && took < within_s && abort_s < 2.0;
    std::printf("survivor %d: %s%s: %s after %.2f s (abort %.3f s): %s\n", rank,
                ok ? "OK" : "WRONG", names_victim ? " names-victim" : "", weftGetErrorString(r),
                took, abort_s, why.c_str());
    return ok ? 0 : 1;
  }
  std::printf("survivor %d: WRONG: no error\n", rank);
  return 1;
}
