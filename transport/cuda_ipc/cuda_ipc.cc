#include "transport/cuda_ipc/cuda_ipc.h"

#include <cuda.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <cstring>

#include "common/log.h"

namespace weft {
namespace {

using AddressRangeFn = CUresult (*)(CUdeviceptr*, size_t*, CUdeviceptr);
using PointerAttributeFn = CUresult (*)(void*, CUpointer_attribute, CUdeviceptr);

// A driver function through the runtime, so libweft does not link libcuda (null: none).
void* DriverEntry(const char* name) {
  void* fn = nullptr;
  cudaDriverEntryPointQueryResult found{};
  if (cudaGetDriverEntryPointByVersion(name, &fn, 12000, cudaEnableDefault, &found) !=
          cudaSuccess ||
      found != cudaDriverEntryPointSuccess) {
    (void)cudaGetLastError();
    return nullptr;
  }
  return fn;
}

Status RangeWith(void* address_range, const void* ptr, uintptr_t* base, size_t* bytes) {
  if (address_range == nullptr) return CudaError("the CUDA driver has no cuMemGetAddressRange");
  CUdeviceptr b = 0;
  size_t size = 0;
  const CUresult r = reinterpret_cast<AddressRangeFn>(address_range)(
      &b, &size, reinterpret_cast<CUdeviceptr>(ptr));
  if (r != CUDA_SUCCESS) return CudaError(Format("cuMemGetAddressRange(%p): error %d", ptr, r));
  *base = static_cast<uintptr_t>(b);
  *bytes = size;
  return Status::Ok();
}

}  // namespace

Status AllocationRange(const void* ptr, uintptr_t* base, size_t* bytes) {
  return RangeWith(DriverEntry("cuMemGetAddressRange"), ptr, base, bytes);
}

BufferIds::BufferIds()
    : get_attribute_(DriverEntry("cuPointerGetAttribute")),
      address_range_(DriverEntry("cuMemGetAddressRange")) {}

Status BufferIds::Range(const void* ptr, uintptr_t* base, size_t* bytes) const {
  return RangeWith(address_range_, ptr, base, bytes);
}

uint64_t BufferIds::Of(const void* ptr) const {
  if (get_attribute_ == nullptr || ptr == nullptr) return 0;
  unsigned long long id = 0;
  const CUresult r = reinterpret_cast<PointerAttributeFn>(get_attribute_)(
      &id, CU_POINTER_ATTRIBUTE_BUFFER_ID, reinterpret_cast<CUdeviceptr>(ptr));
  return r == CUDA_SUCCESS ? static_cast<uint64_t>(id) : 0;
}

Status ExportIpcBuffer(const void* ptr, IpcBuffer* out) {
  uintptr_t base = 0;
  size_t bytes = 0;
  WEFT_CHECK(AllocationRange(ptr, &base, &bytes));
  cudaIpcMemHandle_t h;
  const cudaError_t err = cudaIpcGetMemHandle(&h, reinterpret_cast<void*>(base));
  if (err != cudaSuccess) {
    (void)cudaGetLastError();
    return InvalidUsage(
        Format("device buffer %p cannot be shared with CUDA IPC (%s); allocate it with cudaMalloc, "
               "or set WEFT_CUDA_IPC=0 to stage through host memory",
               ptr, cudaGetErrorString(err)));
  }
  static_assert(sizeof(h) == sizeof(out->handle), "cudaIpcMemHandle_t is 64 bytes");
  std::memcpy(out->handle, &h, sizeof(h));
  out->offset = reinterpret_cast<uintptr_t>(ptr) - base;
  return Status::Ok();
}

IpcImporter::~IpcImporter() {
  for (auto& entry : mapped_)
    (void)cudaIpcCloseMemHandle(entry.second);
}

Status IpcImporter::Map(int peer, const IpcBuffer& buf, void** ptr) {
  std::array<uint8_t, 64> key;
  std::memcpy(key.data(), buf.handle, key.size());
  auto it = mapped_.find({peer, key});
  if (it == mapped_.end()) {
    cudaIpcMemHandle_t h;
    std::memcpy(&h, buf.handle, sizeof(h));
    void* base = nullptr;
    const cudaError_t err = cudaIpcOpenMemHandle(&base, h, cudaIpcMemLazyEnablePeerAccess);
    if (err != cudaSuccess) {
      (void)cudaGetLastError();
      return CudaError(
          Format("cudaIpcOpenMemHandle of rank %d's buffer: %s", peer, cudaGetErrorString(err)));
    }
    WEFT_TRACE(kLogNet, "mapped rank %d's allocation at %p", peer, base);
    it = mapped_.emplace(std::make_pair(peer, key), base).first;
  }
  *ptr = static_cast<uint8_t*>(it->second) + buf.offset;
  return Status::Ok();
}

}  // namespace weft
