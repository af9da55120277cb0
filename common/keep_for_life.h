// What the process must never free: memory something may still write into after its owner
// gave up on it (a transport that never completes a request). Kept reachable, so that leak
// checkers do not report it; only failed communicators add to it, once each.
#pragma once

#include <mutex>
#include <utility>
#include <vector>

namespace weft {

template <typename T>
void KeepForLife(T value) {
  static std::mutex mutex;
  static auto* kept = new std::vector<T>();
  std::lock_guard<std::mutex> lock(mutex);
  kept->push_back(std::move(value));
}

}  // namespace weft
