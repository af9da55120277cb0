// A pointer `bytes` past another, for buffers handed around as void*.
#pragma once

#include <cstddef>

namespace weft {

inline std::byte* At(void* p, size_t bytes) {
  return static_cast<std::byte*>(p) + bytes;
}
inline const std::byte* At(const void* p, size_t bytes) {
  return static_cast<const std::byte*>(p) + bytes;
}

}  // namespace weft
