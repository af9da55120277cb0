// A rank's registered windows (weftCommWindowRegister), as its host looks a call's buffer up
// among them at each launch: by address range, and by the driver's id of the allocation
// (CU_POINTER_ATTRIBUTE_BUFFER_ID), which is new for every allocation, so memory freed and
// allocated again at the same address (a user who freed a window without deregistering it)
// is not taken for the window its peers mapped: the call goes through the staging instead,
// with the right data. Plain data, without CUDA, so CI tests it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace weft {

struct Window {
  uintptr_t base = 0;
  size_t bytes = 0;
  uint64_t buffer_id = 0;  // of the allocation registered
  bool used = false;
  bool warned = false;        // that its allocation is gone (logged once)
  std::vector<void*> opened;  // the peers' windows as mapped here (CUDA IPC), closed with it
};

enum class WindowMatch { kNone, kFound, kStale };

// Where [at, at + bytes) lies among the windows, by slot: *slot gets the window's slot for
// kFound and kStale (in the range of a window whose allocation is gone: `buffer_id`, the
// id of the allocation holding `at` now, differs from the registered one).
inline WindowMatch FindWindow(const std::vector<Window>& windows, uintptr_t at, size_t bytes,
                              uint64_t buffer_id, int* slot) {
  *slot = -1;
  for (size_t s = 0; s < windows.size(); ++s) {
    const Window& w = windows[s];
    if (!w.used || at < w.base || at + bytes > w.base + w.bytes) continue;
    *slot = static_cast<int>(s);
    return buffer_id == w.buffer_id ? WindowMatch::kFound : WindowMatch::kStale;
  }
  return WindowMatch::kNone;
}

}  // namespace weft
