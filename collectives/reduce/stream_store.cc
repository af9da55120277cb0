#include "collectives/reduce/stream_store.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define WEFT_STREAM_X86 1
#endif

namespace weft {
namespace {

#ifdef WEFT_STREAM_X86
constexpr size_t kLine = 64;

// Each copies whole 64-byte lines to a 64-byte aligned dst (src any alignment).
__attribute__((target("avx512f"))) void Lines512(std::byte* dst, const std::byte* src,
                                                 size_t lines) {
  for (size_t i = 0; i < lines; ++i)
    _mm512_stream_si512(reinterpret_cast<__m512i*>(dst + i * kLine),
                        _mm512_loadu_si512(src + i * kLine));
}

__attribute__((target("avx2"))) void Lines256(std::byte* dst, const std::byte* src, size_t lines) {
  for (size_t i = 0; i < lines; ++i) {
    auto* d = reinterpret_cast<__m256i*>(dst + i * kLine);
    const auto* s = reinterpret_cast<const __m256i*>(src + i * kLine);
    _mm256_stream_si256(d, _mm256_loadu_si256(s));
    _mm256_stream_si256(d + 1, _mm256_loadu_si256(s + 1));
  }
}

void Lines128(std::byte* dst, const std::byte* src, size_t lines) {
  for (size_t i = 0; i < lines; ++i) {
    auto* d = reinterpret_cast<__m128i*>(dst + i * kLine);
    const auto* s = reinterpret_cast<const __m128i*>(src + i * kLine);
    for (int k = 0; k < 4; ++k)
      _mm_stream_si128(d + k, _mm_loadu_si128(s + k));
  }
}

using LinesFn = void (*)(std::byte*, const std::byte*, size_t);

// Chosen once per process from what the CPU reports (a constant after that).
LinesFn PickLines() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return Lines512;
  if (__builtin_cpu_supports("avx2")) return Lines256;
  return Lines128;
}
#endif

}  // namespace

void StreamCopy(void* dst, const void* src, size_t bytes) {
#ifdef WEFT_STREAM_X86
  static const LinesFn lines_fn = PickLines();
  auto* d = static_cast<std::byte*>(dst);
  const auto* s = static_cast<const std::byte*>(src);
  // Up to the first line boundary of dst, whole lines, then the rest: cached stores.
  const size_t head = std::min(bytes, (kLine - reinterpret_cast<uintptr_t>(d) % kLine) % kLine);
  std::memcpy(d, s, head);
  const size_t lines = (bytes - head) / kLine;
  lines_fn(d + head, s + head, lines);
  const size_t done = head + lines * kLine;
  std::memcpy(d + done, s + done, bytes - done);
#else
  std::memcpy(dst, src, bytes);
#endif
}

void StreamFence() {
#ifdef WEFT_STREAM_X86
  _mm_sfence();
#endif
}

}  // namespace weft
