#include "collectives/memory_budget.h"

#include "common/config_limits.h"

namespace weft {
namespace {

// Sizes as people read them: 1.5M rather than 1572864.
std::string Readable(size_t bytes) {
  const char* const units[] = {"", "K", "M", "G", "T"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 4)
    v /= 1024, ++u;
  return u == 0 ? std::to_string(bytes) : Format(v < 10 ? "%.1f%s" : "%.0f%s", v, units[u]);
}

}  // namespace

void MemoryBudget::Add(const std::string& what, size_t bytes) {
  if (bytes == 0) return;
  parts_.push_back({what, bytes});
  total_ = total_ + bytes < total_ ? SIZE_MAX : total_ + bytes;
}

std::string MemoryBudget::Describe() const {
  std::string text;
  for (const Part& p : parts_)
    text += (text.empty() ? "" : " + ") + p.what + " " + Readable(p.bytes);
  if (text.empty()) text = "nothing";
  return text + " = " + Readable(total_) + " of WEFT_MEMORY_LIMIT=" + SizeText(limit_);
}

Status MemoryBudget::Check() const {
  if (total_ <= limit_) return Status::Ok();
  return InvalidArgument("this communicator would map more host memory than it may: " + Describe() +
                         "; lower the variables named or raise WEFT_MEMORY_LIMIT");
}

}  // namespace weft
