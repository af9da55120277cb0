// weft-shm-floor: the least a two-copy all-reduce costs on this machine. Two processes run a
// 2-rank ring all-reduce over a FIFO of slots in shared memory with nothing else around it:
// spin-waits on two counters, Weft's own reductions (streaming stores into the output), no
// plans, links, timeouts or health checks. Beside it, the memory bound weft-perf prints (both
// ranks copying at once, 1.25 bytes copied per byte of all-reduce). What Weft reaches
// against the bound is then read against what this floor reaches: the gap between the floor
// and the bound is the cost of moving every byte between cores twice (into a slot, out of it),
// which no runner overhead explains.
//
//   weft-shm-floor [SIZE_MIB=64] [CHUNK_KIB=256] [ROUNDS=5]
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "collectives/reduce/reduce.h"

namespace {

constexpr int kSlots = 8;

// One direction's FIFO: counters on lines of their own, then the slots.
struct Fifo {
  alignas(64) std::atomic<uint64_t> written{0};
  alignas(64) std::atomic<uint64_t> read{0};
};

struct Shared {
  alignas(64) std::atomic<int> arrived[64];
  Fifo fifo[2];  // fifo[r]: into rank r
};

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

void Barrier(Shared* sh, int* round) {
  sh->arrived[*round].fetch_add(1);
  while (sh->arrived[*round].load() < 2) {
  }
  ++*round;
}

}  // namespace

int main(int argc, char** argv) {
  const size_t bytes = (argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 64) << 20;
  const size_t chunk = (argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 256) << 10;
  const int rounds = argc > 3 ? std::atoi(argv[3]) : 5;
  if (bytes == 0 || chunk == 0 || chunk % 64 != 0 || bytes % (2 * chunk) != 0 || rounds < 1 ||
      rounds > 30) {
    std::fprintf(stderr,
                 "usage: weft-shm-floor [SIZE_MIB] [CHUNK_KIB, a multiple of 64 "
                 "dividing SIZE/2] [ROUNDS <= 30]\n");
    return 2;
  }
  const size_t region = sizeof(Shared) + 2 * kSlots * chunk;
  void* mem = mmap(nullptr, region, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return 1;
  auto* sh = new (mem) Shared();
  std::byte* slots = static_cast<std::byte*>(mem) + sizeof(Shared);
  auto slot = [&](int into, uint64_t n) {
    return slots + (static_cast<size_t>(into) * kSlots + n % kSlots) * chunk;
  };
  const pid_t child = fork();
  const int me = child == 0 ? 1 : 0, peer = 1 - me;
  const size_t count = chunk / sizeof(float);
  std::vector<float> in(bytes / sizeof(float), 1.0f + me), out(in.size(), 0.0f);
  auto* in_bytes = reinterpret_cast<std::byte*>(in.data());
  auto* out_bytes = reinterpret_cast<std::byte*>(out.data());
  Fifo& to_peer = sh->fifo[peer];
  Fifo& to_me = sh->fifo[me];
  uint64_t sent = 0, got = 0;
  int barrier = 0;
  std::vector<double> copy_gbps, ring_gbps;
  for (int r = 0; r < rounds; ++r) {
    Barrier(sh, &barrier);
    auto t0 = std::chrono::steady_clock::now();
    std::memcpy(out.data(), in.data(), bytes);
    copy_gbps.push_back(bytes / Seconds(t0) / 1e9);
    Barrier(sh, &barrier);
    t0 = std::chrono::steady_clock::now();
    auto wait_room = [&] {
      while (sent - to_peer.read.load(std::memory_order_acquire) >= kSlots) {
      }
    };
    auto wait_data = [&] {
      while (to_me.written.load(std::memory_order_acquire) <= got) {
      }
    };
    for (size_t off = 0; off < bytes; off += 2 * chunk) {
      const size_t mine = off + static_cast<size_t>(me) * chunk;
      const size_t theirs = off + static_cast<size_t>(peer) * chunk;
      wait_room();  // the peer's segment, to the peer
      std::memcpy(slot(peer, sent), in_bytes + theirs, chunk);
      to_peer.written.store(++sent, std::memory_order_release);
      wait_data();  // mine from the peer: reduce into the output, forward the sum
      wait_room();
      weft::ReduceHostTwiceStreaming(out_bytes + mine, slot(peer, sent), slot(me, got),
                                     in_bytes + mine, count, weftFloat32, weftSum);
      to_me.read.store(++got, std::memory_order_release);
      to_peer.written.store(++sent, std::memory_order_release);
      wait_data();  // the peer's sum of its segment
      std::memcpy(out_bytes + theirs, slot(me, got), chunk);
      to_me.read.store(++got, std::memory_order_release);
    }
    ring_gbps.push_back(bytes / Seconds(t0) / 1e9);
  }
  const bool exact = out[0] == 3.0f && out[out.size() - 1] == 3.0f;
  if (child == 0) _exit(exact ? 0 : 1);
  int status = 0;
  waitpid(child, &status, 0);
  std::sort(copy_gbps.begin(), copy_gbps.end());
  std::sort(ring_gbps.begin(), ring_gbps.end());
  const double copy = copy_gbps[copy_gbps.size() / 2], ring = ring_gbps[ring_gbps.size() / 2];
  const double bound = copy / 1.25;
  std::printf("# 2 ranks, %zu MiB fp32 all-reduce, %zu KiB chunks, %d slots, median of %d\n",
              bytes >> 20, chunk >> 10, kSlots, rounds);
  std::printf("memcpy per rank, both copying: %.2f GB/s -> all-reduce bound %.2f GB/s\n", copy,
              bound);
  std::printf("minimal shared-memory ring:    %.2f GB/s busbw = %.0f%% of the bound (%s)\n", ring,
              100.0 * ring / bound,
              exact && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "exact" : "WRONG");
  return exact ? 0 : 1;
}
