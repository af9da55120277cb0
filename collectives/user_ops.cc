#include "collectives/user_ops.h"

#include "common/dtype.h"

namespace weft {

Status UserOps::Create(const PreMulSum& op, weftRedOp_t* out) {
  std::lock_guard<std::mutex> lock(mutex_);
  size_t i = 0;
  while (i < ops_.size() && ops_[i])
    ++i;
  WEFT_REQUIRE(i < kMaxLive, weftInvalidUsage,
               "%zu reduction ops are alive on this communicator (weftRedOpDestroy frees them)",
               kMaxLive);
  if (i == ops_.size()) ops_.emplace_back();
  ops_[i] = op;
  *out = static_cast<weftRedOp_t>(weftNumOps + static_cast<int>(i));
  return Status::Ok();
}

// Caller holds mutex_.
long UserOps::LiveIndex(weftRedOp_t op) const {
  const long i = static_cast<long>(op) - weftNumOps;
  return i >= 0 && static_cast<size_t>(i) < ops_.size() && ops_[static_cast<size_t>(i)] ? i : -1;
}

Status UserOps::Destroy(weftRedOp_t op) {
  std::lock_guard<std::mutex> lock(mutex_);
  const long i = LiveIndex(op);
  WEFT_REQUIRE(i >= 0, weftInvalidArgument,
               "reduction op %d was not created by weftRedOpCreatePreMulSum on this communicator "
               "(or was already destroyed)",
               static_cast<int>(op));
  ops_[static_cast<size_t>(i)].reset();
  return Status::Ok();
}

Status UserOps::Find(weftRedOp_t op, weftDataType_t type, PreMulSum* out) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const long i = LiveIndex(op);
  WEFT_REQUIRE(i >= 0, weftInvalidArgument,
               "invalid reduction op %d: neither a built-in op nor one created by "
               "weftRedOpCreatePreMulSum on this communicator (and not destroyed)",
               static_cast<int>(op));
  const PreMulSum& p = *ops_[static_cast<size_t>(i)];
  WEFT_REQUIRE(p.type == type, weftInvalidArgument,
               "reduction op %d was created for %s and cannot reduce %s", static_cast<int>(op),
               TypeName(p.type), TypeName(type));
  if (out != nullptr) *out = p;
  return Status::Ok();
}

}  // namespace weft
