#include "common/build_info.h"

#include <hwloc.h>

#include "common/status.h"

namespace weft {

std::string BuildDescription() {
  const unsigned hw = hwloc_get_api_version();
#if WEFT_HAVE_CUDA
  const std::string cuda = std::string("CUDA on (sm ") + WEFT_CUDA_ARCHITECTURES + ")";
#else
  const std::string cuda = "CUDA off";
#endif
  return cuda + Format(", UCX %s, hwloc %u.%u.%u", WEFT_UCX_VERSION, hw >> 16, (hw >> 8) & 0xff,
                       hw & 0xff);
}

std::string ToolVersion(const char* tool) {
  return std::string(tool) + ": " + VersionName() + " (" + BuildDescription() + ")";
}

}  // namespace weft
