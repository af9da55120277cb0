#include "collectives/device/leg_scratch.h"

#include <cstring>

#include "collectives/device/device_engine.h"
#include "common/log.h"

namespace weft {
namespace {

size_t PowerOfTwoAtLeast(size_t bytes) {
  size_t p = 1;
  while (p < bytes)
    p <<= 1;
  return p;
}

}  // namespace

LegScratch::LegScratch(int device) : device_(device) {}

LegScratch::~LegScratch() {
  retired_.push_back(buffer_);
  for (void* p : retired_) {
    const Status st = FreeDeviceMemory(p);
    if (!st.ok()) WEFT_WARN(kLogColl, "freeing scratch memory: %s", st.message().c_str());
  }
}

Status LegScratch::Acquire(void* stream, size_t bytes, std::byte** p) {
  if (device_ < 0) {
    if (host_.size() < bytes) host_.resize(bytes);
    *p = host_.data();
    return Status::Ok();
  }
  if (!last_use_.valid()) WEFT_CHECK(StreamEvent::Create(device_, &last_use_));
  if (bytes_ < bytes) {
    void* grown = nullptr;
    const size_t size = PowerOfTwoAtLeast(bytes);
    WEFT_CHECK(AllocateDeviceMemoryOn(device_, size, &grown)
                   .WithContext(Format("scratch for a call of %zu bytes", bytes)));
    if (buffer_ != nullptr) retired_.push_back(buffer_);
    buffer_ = grown;
    bytes_ = size;
  }
  // A new buffer needs no wait (nothing used it), but the order costs nothing to keep.
  if (used_) WEFT_CHECK(last_use_.MakeWait(stream));
  *p = static_cast<std::byte*>(buffer_);
  return Status::Ok();
}

Status LegScratch::Release(void* stream) {
  if (device_ < 0) return Status::Ok();
  WEFT_CHECK(last_use_.Record(stream));
  used_ = true;
  return Status::Ok();
}

Status LegScratch::Copy(void* stream, const RowCopy& c) const {
  if (device_ >= 0) return CopyRowsOnStream(device_, stream, c);
  for (size_t r = 0; r < c.rows; ++r)
    std::memcpy(static_cast<std::byte*>(c.dst) + r * c.dst_pitch,
                static_cast<const std::byte*>(c.src) + r * c.src_pitch, c.width);
  return Status::Ok();
}

}  // namespace weft
