// Copies that write around the caches (non-temporal stores), for results nothing reads again
// soon: a plain store to memory that is not cached first reads the line it writes ("read for
// ownership"), so a reduction writing a large output moves a third more bytes than it needs.
// Streaming stores skip that read: a 2-rank 64 MiB all-reduce on one host took 9.0 ms instead
// of 11.8 (medians of 6 alternated runs, docs/performance.md).
#pragma once

#include <cstddef>

namespace weft {

// dst[0, bytes) = src[0, bytes), with non-temporal stores where the CPU has them (SSE2 on
// every x86-64; AVX2 and AVX-512 when present), memcpy elsewhere. Streaming stores are
// weakly ordered: call StreamFence before publishing what they wrote.
void StreamCopy(void* dst, const void* src, size_t bytes);

// Orders every earlier StreamCopy store before the stores that follow (a flag, a counter).
void StreamFence();

// The block StreamingReduce works in: small enough to stay in L1 between the reduction that
// writes it and the copy that streams it out.
constexpr size_t kStreamBlockBytes = 4096;

}  // namespace weft
