// Builds without CUDA: no stream to queue on.
#include <utility>

#include "collectives/device/stream_ops.h"

namespace weft {
namespace {

Status NoCuda() {
  return InvalidUsage("device memory needs CUDA, and this build of Weft has none");
}

}  // namespace

Status CopyRowsOnStream(int, void*, const RowCopy&) {
  return NoCuda();
}

Status AllocateDeviceMemoryOn(int, size_t, void** ptr) {
  *ptr = nullptr;
  return NoCuda();
}

Status StreamEvent::Create(int, StreamEvent*) {
  return NoCuda();
}

StreamEvent::~StreamEvent() = default;

StreamEvent::StreamEvent(StreamEvent&& o) noexcept
    : device_(o.device_), event_(std::exchange(o.event_, nullptr)) {}

StreamEvent& StreamEvent::operator=(StreamEvent&& o) noexcept {
  device_ = o.device_;
  event_ = std::exchange(o.event_, nullptr);
  return *this;
}

Status StreamEvent::Record(void*) {
  return NoCuda();
}

Status StreamEvent::MakeWait(void*) const {
  return NoCuda();
}

Status SideStream::Create(int, SideStream*) {
  return NoCuda();
}

SideStream::~SideStream() = default;

SideStream::SideStream(SideStream&& o) noexcept
    : device_(o.device_), stream_(std::exchange(o.stream_, nullptr)) {}

SideStream& SideStream::operator=(SideStream&& o) noexcept {
  device_ = o.device_;
  stream_ = std::exchange(o.stream_, nullptr);
  return *this;
}

}  // namespace weft
