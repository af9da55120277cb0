// The collectives the device protocols run, as the kernels name them (the host's CollType
// without point-to-point and its own numbering, so a protocol header needs no host code).
#pragma once

#include <cstdint>

namespace weft::proto {

enum class DeviceColl : uint32_t { kAllReduce, kAllGather, kReduceScatter, kBroadcast, kReduce };

}  // namespace weft::proto
