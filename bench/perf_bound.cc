#include "bench/perf_bound.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <vector>

namespace weft::perf {

double CopyBytesPerByte(CollType coll, int nranks) {
  const double n = nranks;
  switch (coll) {
    case CollType::kAllReduce:
      return 1.0 + (n - 1.0) / (2.0 * n);
    case CollType::kAllGather:
    case CollType::kBroadcast:
      return 1.0;
    case CollType::kReduceScatter:
    case CollType::kReduce:
      return (1.0 + 1.0 / n) / 2.0;
  }
  return 1.0;
}

MemoryBound MeasureMemoryBound(weftComm_t comm, CollType coll, size_t bytes) {
  int nranks = 1;
  weftCommCount(comm, &nranks);
  // Past the caches, and no more than a rate needs (a sweep to many GiB must not double it).
  bytes = std::clamp<size_t>(bytes, size_t{16} << 20, size_t{256} << 20);
  std::vector<char> from(bytes, 1), to(bytes, 0);
  std::vector<double> rates;
  for (int round = 0; round < 5; ++round) {
    int32_t go = 0, all = 0;
    weftAllReduce(&go, &all, 1, weftInt32, weftSum, comm, nullptr);  // start together
    const auto start = std::chrono::steady_clock::now();
    std::memcpy(to.data(), from.data(), bytes);
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    rates.push_back(static_cast<double>(bytes) / s / 1e9);
    from.swap(to);
  }
  std::sort(rates.begin(), rates.end());
  double rate = rates[rates.size() / 2], slowest = 0;
  weftAllReduce(&rate, &slowest, 1, weftFloat64, weftMin, comm, nullptr);
  MemoryBound b;
  b.copy_gbps = slowest;
  b.busbw_gbps = slowest / CopyBytesPerByte(coll, nranks) * BusFactor(coll, nranks);
  return b;
}

}  // namespace weft::perf
