// Runs a command line in a shell and captures its output and exit status. Every command an
// integration test runs is bounded: weft-run gets --timeout, others run under timeout(1).
#pragma once

#include <string>

namespace weft::testing {

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

CommandResult RunCommand(const std::string& command);

// Build-tree paths, from the build system.
std::string BinDir();

}  // namespace weft::testing
