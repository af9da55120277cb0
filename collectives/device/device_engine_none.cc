// Builds without CUDA: there is no device memory, so every buffer is host memory.
#include "collectives/device/device_engine.h"

#include <cstdint>

namespace weft {

BufferLocation LocateBuffer(const void*) {
  return {};
}

bool CudaDevicePresent() {
  return false;
}

int CurrentCudaDevice() {
  return -1;
}

std::string CurrentGpuPciId() {
  return "";
}

Status AllocateDeviceMemory(size_t, void** ptr) {
  *ptr = nullptr;
  return InvalidUsage("device memory needs CUDA, and this build of Weft has none");
}

Status FreeDeviceMemory(void* ptr) {
  if (ptr == nullptr) return Status::Ok();
  return InvalidUsage("device memory needs CUDA, and this build of Weft has none");
}

Status ReadDeviceScalar(const void*, size_t, std::array<uint8_t, 8>*) {
  return InvalidUsage("a weftScalarDevice scalar needs CUDA, and this build of Weft has none");
}

Status CreateDeviceEngine(HostCollectives*, const DeviceEngineOptions&,
                          std::unique_ptr<DeviceEngine>*) {
  return InvalidUsage("this build of Weft has no CUDA support (configure with WEFT_CUDA=ON)");
}

}  // namespace weft
