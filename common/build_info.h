// How this libweft was built (for weft-info and logs).
#pragma once

#include <string>

#include "weft/weft.h"

namespace weft {
// "CUDA on (sm 80 90), UCX 1.13.1, hwloc 2.9.0"
std::string BuildDescription();
// "Weft 0.1.0" (weft.h's version; inline, for tools that do not link the library).
inline std::string VersionName() {
  return "Weft " + std::to_string(WEFT_MAJOR) + "." + std::to_string(WEFT_MINOR) + "." +
         std::to_string(WEFT_PATCH);
}
// What every tool's --version prints: "weft-perf: Weft 0.1.0 (CUDA off, UCX 1.13.1, ...)".
std::string ToolVersion(const char* tool);
}  // namespace weft
