// The FIFOs between a kernel and its network proxy (NCCL's connection FIFOs): a ring of
// slots in memory both see (pinned host memory mapped into the device; in CI, ordinary
// memory between CPU threads), with two counters, each written by one side only:
//
//   head  messages the producer has written (and their sizes);
//   tail  messages the consumer is done with, so their slots may be written again.
//
// One connection to another host has two: on the send FIFO the kernel produces and the proxy
// consumes (tail advances once the message has left over the network); on the receive FIFO
// the proxy produces (head advances as messages arrive) and the kernel consumes. Messages are
// numbered over the FIFO's life, so one call follows another with no handshake and no reset.
// The proxy never touches the data: it only hands slots to the transport (net_proxy.h).
// Written once for the GPU kernel and for CPU threads in CI.
#pragma once

#include <cstddef>
#include <cstdint>

#include "collectives/device/proto/wait.h"

namespace weft::proto {

// Slots start on this many bytes (the network links' own rounding): whole vectors, and no
// cache line shared by two slots.
constexpr size_t kNetSlotAlign = 64;

WEFT_HOST_DEVICE constexpr size_t NetSlotStride(size_t slot_bytes) {
  return (slot_bytes + kNetSlotAlign - 1) / kNetSlotAlign * kNetSlotAlign;
}

// The counters of one FIFO, each on its own cache line (two sides write them).
struct NetFifoCounters {
  alignas(64) uint64_t head;
  alignas(64) uint64_t tail;
};

struct NetFifo {
  unsigned char* slots = nullptr;  // nslots x NetSlotStride(slot_bytes)
  size_t slot_bytes = 0;           // the largest message
  uint32_t nslots = 0;
  NetFifoCounters* counters = nullptr;
  uint64_t* sizes = nullptr;  // per slot: the bytes of the message in it (written before head)

  WEFT_HOST_DEVICE unsigned char* Slot(uint64_t n) const {
    return slots + (n % nslots) * NetSlotStride(slot_bytes);
  }
};

// Producer: waits until message n's slot may be written (message n - nslots is done).
WEFT_HOST_DEVICE inline WaitResult NetFifoWaitSpace(const NetFifo& f, uint64_t n,
                                                    const WaitLimits& limits) {
  return SpinUntil([&] { return n < LoadAcquire(&f.counters->tail) + f.nslots; }, limits);
}

// Producer: message n, `bytes` long, is in its slot (the caller fenced the data before).
WEFT_HOST_DEVICE inline void NetFifoPost(const NetFifo& f, uint64_t n, uint64_t bytes) {
  StoreRelease(&f.sizes[n % f.nslots], bytes);
  StoreRelease(&f.counters->head, n + 1);
}

// Consumer: waits until message n is in its slot.
WEFT_HOST_DEVICE inline WaitResult NetFifoWaitData(const NetFifo& f, uint64_t n,
                                                   const WaitLimits& limits) {
  return SpinUntil([&] { return LoadAcquire(&f.counters->head) > n; }, limits);
}

WEFT_HOST_DEVICE inline uint64_t NetFifoBytes(const NetFifo& f, uint64_t n) {
  return LoadAcquire(&f.sizes[n % f.nslots]);
}

// Consumer: messages up to n are done with; their slots may be written again.
WEFT_HOST_DEVICE inline void NetFifoRelease(const NetFifo& f, uint64_t n) {
  StoreRelease(&f.counters->tail, n + 1);
}

}  // namespace weft::proto
