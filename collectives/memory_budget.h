// MemoryBudget: the host memory one communicator maps for itself, by part, held to
// WEFT_MEMORY_LIMIT. Every part is known at init from the configuration and the job's shape,
// so a set-up that would fill /dev/shm or pin the machine's memory fails before it maps
// anything, on every rank alike, naming the parts and the variables that size them.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "common/status.h"

namespace weft {

class MemoryBudget {
 public:
  explicit MemoryBudget(size_t limit) : limit_(limit) {}

  // Adds a part: `what` names it and the variables that size it.
  void Add(const std::string& what, size_t bytes);
  size_t total() const { return total_; }
  // weftInvalidArgument naming every part if the total passes the limit.
  Status Check() const;
  // "shared FIFOs 4M + network FIFOs 8M = 12M of WEFT_MEMORY_LIMIT=1G"
  std::string Describe() const;

 private:
  struct Part {
    std::string what;
    size_t bytes;
  };
  size_t limit_;
  size_t total_ = 0;
  std::vector<Part> parts_;
};

}  // namespace weft
