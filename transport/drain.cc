#include "transport/drain.h"

#include <chrono>

#include "common/log.h"

namespace weft {

bool DrainBeforeFree(Transport* transport, const std::function<bool()>& quiescent,
                     const char* what) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (!quiescent() && std::chrono::steady_clock::now() < deadline) {
    if (!transport->Progress()) transport->WaitForEvent(1);
  }
  if (quiescent()) return true;
  WEFT_WARN(kLogNet, "leaving %s allocated: transfers outstanding", what);
  transport->AbandonOutstanding();
  return false;
}

}  // namespace weft
