#include "bench/perf_runner.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>

#include "bench/perf_mpi.h"
#include "collectives/communicator.h"
#include "common/dtype.h"
#include "common/pattern.h"

namespace weft::perf {

Runner::Runner(weftComm_t comm, const Options& options) : comm_(comm), options_(options) {
  weftCommUserRank(comm, &rank_);
  weftCommCount(comm, &nranks_);
  // One allocation for the largest size; touched once so page faults stay out of timings.
  const size_t max = options.max_bytes + 64;
  const bool shared = options.register_buffers && !options.device;
  if (!send_.Allocate(max, shared) || !recv_.Allocate(max, shared))
    device_error_ = std::string("weftMemAlloc: ") + weftGetLastError(nullptr);
  expected_.assign(max, 0);
  RegisterBuffers();
  if (options.device && device_.Allocate(max, &device_error_)) device_error_.clear();
  if (options.device && device_error_.empty()) {
    // Touch device memory too, so first-use costs stay out of timings.
    device_.ToDevice(device_.send(), send_.data(), max);
    device_.ToDevice(device_.recv(), recv_.data(), max);
  }
}

void Runner::RegisterBuffers() {
  if (!send_.shared() || !recv_.shared()) return;
  void* handle = nullptr;
  if (weftCommRegister(comm_, send_.data(), send_.size(), &handle) != weftSuccess ||
      weftCommRegister(comm_, recv_.data(), recv_.size(), &handle) != weftSuccess)
    device_error_ = std::string("weftCommRegister: ") + weftGetLastError(comm_);
}

void Runner::UseComm(weftComm_t comm) {
  comm_ = comm;
  RegisterBuffers();
}

bool Runner::Ready(std::string* error) const {
  *error = device_error_;
  return device_error_.empty();
}

double Runner::BusFactor() const {
  const double n = nranks_;
  // nccl-tests' factors: all-to-all moves (n-1)/n of its data between ranks, send/recv all.
  if (options_.p2p == P2PPattern::kAllToAll) return (n - 1) / n;
  if (options_.p2p == P2PPattern::kSendRecv) return 1.0;
  return weft::BusFactor(options_.coll, nranks_);
}

Runner::Layout Runner::LayoutFor(size_t bytes, size_t esz) const {
  Layout l;
  const size_t n = static_cast<size_t>(nranks_);
  size_t count = bytes / esz;
  if (options_.p2p != P2PPattern::kNone) {
    if (options_.p2p == P2PPattern::kAllToAll) count -= count % n;  // n blocks
    l.api_count = options_.p2p == P2PPattern::kAllToAll ? count / n : count;
    l.in_elems = l.out_elems = l.total = count;
    return l;
  }
  l.api_count = CountForBytes(options_.coll, bytes, esz, nranks_);
  l.in_elems = InputCount(options_.coll, l.api_count, nranks_);
  l.out_elems = OutputCount(options_.coll, l.api_count, nranks_);
  l.total = std::max(l.in_elems, l.out_elems);
  return l;
}

weftResult_t Runner::CallP2P(const void* send, void* recv, const Layout& l, weftDataType_t type,
                             void* stream) {
  const size_t block = l.api_count * TypeSize(type);
  weftResult_t r = weftGroupStart();
  if (options_.p2p == P2PPattern::kAllToAll) {
    for (int q = 0; q < nranks_ && r == weftSuccess; ++q) {
      r = weftSend(static_cast<const char*>(send) + q * block, l.api_count, type, q, comm_, stream);
      if (r == weftSuccess)
        r = weftRecv(static_cast<char*>(recv) + q * block, l.api_count, type, q, comm_, stream);
    }
  } else {
    r = weftSend(send, l.api_count, type, (rank_ + 1) % nranks_, comm_, stream);
    if (r == weftSuccess)
      r = weftRecv(recv, l.api_count, type, (rank_ + nranks_ - 1) % nranks_, comm_, stream);
  }
  const weftResult_t ended = weftGroupEnd();
  return r != weftSuccess ? r : ended;
}

weftResult_t Runner::Call(const void* send, void* recv, const Layout& l, weftDataType_t type,
                          weftRedOp_t op, int root) {
  void* stream = options_.device ? device_.stream() : nullptr;
  if (options_.p2p != P2PPattern::kNone) return CallP2P(send, recv, l, type, stream);
  switch (options_.coll) {
    case CollType::kAllReduce:
      return weftAllReduce(send, recv, l.api_count, type, op, comm_, stream);
    case CollType::kAllGather:
      return weftAllGather(send, recv, l.api_count, type, comm_, stream);
    case CollType::kReduceScatter:
      return weftReduceScatter(send, recv, l.api_count, type, op, comm_, stream);
    case CollType::kBroadcast:
      return weftBroadcast(send, recv, l.api_count, type, root, comm_, stream);
    case CollType::kReduce:
      return weftReduce(send, recv, l.api_count, type, op, root, comm_, stream);
  }
  return weftInternalError;
}

// Point to point: rank r's input is its pattern over the whole buffer, so block q of an
// all-to-all's output on rank r is rank q's pattern at block r.
void Runner::FillInput(void* buf, const Layout& l, weftDataType_t type, weftRedOp_t op, int root) {
  if (options_.p2p != P2PPattern::kNone) {
    FillPattern(buf, l.in_elems, type, weftSum, nranks_, rank_, 0);
    return;
  }
  switch (options_.coll) {
    case CollType::kAllGather:
      FillPattern(buf, l.in_elems, type, weftSum, nranks_, rank_, 0);
      break;
    case CollType::kBroadcast:  // only the root's input is read
      if (rank_ == root) FillPattern(buf, l.in_elems, type, weftSum, nranks_, root, 0);
      break;
    default:
      FillPattern(buf, l.in_elems, type, op, nranks_, rank_, 0);
  }
}

bool Runner::FillExpectedOutput(void* buf, const Layout& l, weftDataType_t type, weftRedOp_t op,
                                int root) {
  const size_t esz = TypeSize(type);
  if (options_.p2p == P2PPattern::kAllToAll) {
    for (int q = 0; q < nranks_; ++q)
      FillPattern(static_cast<char*>(buf) + q * l.api_count * esz, l.api_count, type, weftSum,
                  nranks_, q, static_cast<size_t>(rank_) * l.api_count);
    return true;
  }
  if (options_.p2p == P2PPattern::kSendRecv) {
    FillPattern(buf, l.out_elems, type, weftSum, nranks_, (rank_ + nranks_ - 1) % nranks_, 0);
    return true;
  }
  switch (options_.coll) {
    case CollType::kAllReduce:
      FillExpected(buf, l.out_elems, type, op, nranks_, 0);
      return true;
    case CollType::kReduce:
      if (rank_ != root) return false;
      FillExpected(buf, l.out_elems, type, op, nranks_, 0);
      return true;
    case CollType::kReduceScatter:
      FillExpected(buf, l.out_elems, type, op, nranks_, static_cast<size_t>(rank_) * l.api_count);
      return true;
    case CollType::kAllGather:
      for (int k = 0; k < nranks_; ++k)
        FillPattern(static_cast<char*>(buf) + k * l.api_count * esz, l.api_count, type, weftSum,
                    nranks_, k, 0);
      return true;
    case CollType::kBroadcast:
      FillPattern(buf, l.out_elems, type, weftSum, nranks_, root, 0);
      return true;
  }
  return false;
}

double Runner::AcrossRanks(double v) {
  // -a 0: rank 0's own (rank 0 prints); 1: the mean; 2, 3: the least and the most.
  const weftRedOp_t op = options_.average == 2   ? weftMin
                         : options_.average == 3 ? weftMax
                                                 : weftSum;
  double all = 0;
  weftAllReduce(&v, &all, 1, weftFloat64, op, comm_, nullptr);
  return options_.average == 0 ? v : options_.average == 1 ? all / nranks_ : all;
}

int64_t Runner::SumOverRanks(int64_t v) {
  int64_t sum = 0;
  weftAllReduce(&v, &sum, 1, weftInt64, weftSum, comm_, nullptr);
  return sum;
}

void Runner::Barrier() {
  int32_t x = 0, y = 0;
  weftAllReduce(&x, &y, 1, weftInt32, weftSum, comm_, nullptr);
}

bool Runner::Measure(size_t bytes, weftDataType_t type, weftRedOp_t op, int root, Row* row) {
  const size_t esz = TypeSize(type);
  const Layout l = LayoutFor(bytes, esz);
  const bool rooted = FactsOf(options_.coll).rooted;
  row->bytes = l.total * esz;
  row->count = l.total;
  row->type = type;
  row->op = op;
  row->root = rooted ? root : -1;
  const double bw_factor = BusFactor();
  bool ok = true;

  // One call, and with -z on device buffers the wait for it; false stops the loop (a failed
  // communicator is not called a thousand times more).
  auto once = [&](auto&& run_once) {
    if (!run_once()) return false;
    return !(options_.blocking && options_.device && !device_.Synchronize());
  };
  // The measurement is valid only if every call succeeded.
  double host_reduced = 0;  // the last timing's, per call
  auto timed = [&](auto&& run_once) {
    bool fine = true;
    for (int i = 0; i < options_.warmup && fine; ++i)
      fine = once(run_once);
    Barrier();
    const uint64_t reduced_before = comm_->impl->HostReducedBytes();
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < options_.iters && fine; ++i)
      fine = once(run_once);
    // Device collectives only enqueue: the time is until the stream has run them all.
    if (options_.device && !device_.Synchronize()) fine = false;
    host_reduced = static_cast<double>(comm_->impl->HostReducedBytes() - reduced_before) /
                   std::max(options_.iters, 1);
    const double us =
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
            .count() /
        options_.iters;
    Measurement m;
    m.valid = fine;
    m.time_us = AcrossRanks(us);
    m.algbw = m.time_us > 0 ? static_cast<double>(row->bytes) / m.time_us / 1e3 : 0;
    m.busbw = m.algbw * bw_factor;
    return m;
  };

  // Point to point has no in-place form: its in-place columns stay empty.
  const int passes = options_.p2p == P2PPattern::kNone ? 2 : 1;
  for (int in_place = 0; in_place < passes; ++in_place) {
    // Buffers for this pass. In place: allreduce/broadcast/reduce share one buffer,
    // allgather sends from its block of the output, reducescatter receives into its block
    // of the input.
    // The same offsets apply to the host mirrors of device buffers.
    char* send_base = options_.device ? device_.send() : send_.data();
    char* big = options_.device ? device_.recv() : recv_.data();
    size_t send_off = 0, recv_off = 0;
    bool send_in_big = false;
    if (in_place) {
      send_in_big = true;
      if (options_.coll == CollType::kAllGather) {
        send_off = static_cast<size_t>(rank_) * l.api_count * esz;
      } else if (options_.coll == CollType::kReduceScatter) {
        recv_off = static_cast<size_t>(rank_) * l.api_count * esz;
      }
    }
    const void* send = (send_in_big ? big : send_base) + send_off;
    void* recv = big + recv_off;
    char* host_big = recv_.data();
    char* host_send = (send_in_big ? host_big : send_.data()) + send_off;
    char* host_recv = host_big + recv_off;
    int64_t wrong = -1;
    if (options_.check) {
      // Garbage first, so that a collective that writes nothing cannot pass.
      const size_t big_bytes = std::max(l.in_elems, l.out_elems) * esz;
      std::memset(host_big, 0xa5, big_bytes);
      if (!in_place) std::memset(send_.data(), 0xa5, l.in_elems * esz);
      FillInput(host_send, l, type, op, root);
      if (options_.device) {
        ok = device_.ToDevice(big, host_big, big_bytes) &&
             (in_place || device_.ToDevice(send_base, send_.data(), l.in_elems * esz));
      }
      weftResult_t called = ok ? Call(send, recv, l, type, op, root) : weftUnhandledCudaError;
      if (called == weftSuccess && options_.device) {
        if (!device_.Synchronize() || !device_.ToHost(host_big, big, big_bytes))
          called = weftUnhandledCudaError;
      }
      if (called != weftSuccess) {
        ok = false;
        wrong = static_cast<int64_t>(l.out_elems);
      } else {
        if (!in_place)
          row->algo = options_.device                     ? comm_->impl->DevicePath()
                      : options_.p2p != P2PPattern::kNone ? "p2p"
                                                          : AlgoName(comm_->impl->last_algo());
        bool check = FillExpectedOutput(expected_.data(), l, type, op, root);
        wrong = check ? static_cast<int64_t>(
                            CountMismatches(host_recv, expected_.data(), l.out_elems, type))
                      : 0;
      }
      wrong = SumOverRanks(wrong);
    }
    Measurement m;
    if (ok) {
      // Without the check the row still says what ran: the timed calls' choice, read before
      // the timing's own collectives (a small all-reduce) overwrite it.
      const char* ran = nullptr;
      m = timed([&] {
        if (Call(send, recv, l, type, op, root) != weftSuccess) return false;
        ran = options_.device                     ? comm_->impl->DevicePath()
              : options_.p2p != P2PPattern::kNone ? "p2p"
                                                  : AlgoName(comm_->impl->last_algo());
        return true;
      });
      ok = m.valid;
      if (ok && !in_place && row->algo.empty() && ran != nullptr) row->algo = ran;
      if (ok && !in_place && options_.device) row->host_reduced = host_reduced;
    }
    m.wrong = wrong;
    (in_place ? row->ip : row->oop) = m;
    if (!ok) return false;
  }

  if (options_.compare_mpi && MpiLaunched() && !options_.device) {
    auto mpi = [&] {
      return options_.p2p == P2PPattern::kNone
                 ? MpiCollective(options_.coll, send_.data(), recv_.data(), l.api_count, type, op,
                                 root)
                 : MpiPointToPoint(options_.p2p == P2PPattern::kAllToAll, send_.data(),
                                   recv_.data(), l.api_count, type);
    };
    if (mpi()) row->baseline = timed(mpi);
  }
  if (gloo_ != nullptr && !options_.device && options_.p2p == P2PPattern::kNone) {
    auto gloo = [&] {
      return gloo_->Collective(options_.coll, send_.data(), recv_.data(), l.api_count, type, op,
                               root);
    };
    if (gloo()) {
      row->baseline = timed(gloo);
    } else if (!gloo_->error().empty()) {
      std::fprintf(stderr, "weft-perf: rank %d: %s\n", rank_, gloo_->error().c_str());
      return false;
    }
  }
  return ok;
}

}  // namespace weft::perf
