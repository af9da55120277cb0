// How this libweft was built (for weft-info and logs).
#pragma once

#include <string>

namespace weft {
// "CUDA on (sm 80 90), UCX 1.13.1, hwloc 2.9.0"
std::string BuildDescription();
}  // namespace weft
