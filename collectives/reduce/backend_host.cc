// The host's reduction back-end: the vectorized CPU code of reduce_cpu.cc.
#include <cstring>

#include "collectives/reduce/backend.h"
#include "collectives/reduce/reduce.h"

namespace weft {
namespace {

class HostBackend : public ReduceBackend {
 public:
  const char* name() const override { return "cpu"; }
  Status Copy(void* dst, const void* src, size_t bytes) override {
    if (dst != src && bytes > 0) std::memcpy(dst, src, bytes);
    return Status::Ok();
  }
  Status Reduce(void* dst, const void* a, const void* b, size_t count, weftDataType_t type,
                weftRedOp_t op, StoreHint dst_hint) override {
    if (dst_hint == StoreHint::kStream)
      ReduceHostStreaming(dst, a, b, count, type, op);
    else
      ReduceHost(dst, a, b, count, type, op);
    return Status::Ok();
  }
  Status ReduceTwice(void* dst, void* dst2, const void* a, const void* b, size_t count,
                     weftDataType_t type, weftRedOp_t op, StoreHint dst_hint) override {
    if (dst_hint == StoreHint::kStream)
      ReduceHostTwiceStreaming(dst, dst2, a, b, count, type, op);
    else
      ReduceHostTwice(dst, dst2, a, b, count, type, op);
    return Status::Ok();
  }
  Status Divide(void* p, size_t count, weftDataType_t type, int divisor) override {
    DivideHost(p, count, type, divisor);
    return Status::Ok();
  }
};

}  // namespace

ReduceBackend* HostReduceBackend() {
  static HostBackend backend;  // stateless
  return &backend;
}

#if !WEFT_HAVE_CUDA
ReduceBackend* ReduceBackendFor(MemoryType mem) {
  return mem == MemoryType::kHost ? HostReduceBackend() : nullptr;
}
#endif

}  // namespace weft
