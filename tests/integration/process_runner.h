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

// `n` ranks of the check program `binary` (in BinDir) under weft-run --keep-going (the
// others run on when one rank dies), over UCX_TLS=`tls`, with WEFT_TIMEOUT_MS=`timeout_ms`;
// the whole job is cut at 120 s.
CommandResult RunSurvivingRanks(const std::string& binary, int n, const std::string& tls,
                                int timeout_ms, const std::string& args);

}  // namespace weft::testing
