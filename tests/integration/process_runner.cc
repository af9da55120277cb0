#include "tests/integration/process_runner.h"

#include <sys/wait.h>

#include <cstdio>
#include <string>

namespace weft::testing {

CommandResult RunCommand(const std::string& command) {
  CommandResult r;
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0)
    r.output.append(buf, n);
  int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

std::string BinDir() {
  return WEFT_TEST_BIN_DIR;
}

CommandResult RunSurvivingRanks(const std::string& binary, int n, const std::string& tls,
                                int timeout_ms, const std::string& args) {
  return RunCommand("timeout 120 env WEFT_TIMEOUT_MS=" + std::to_string(timeout_ms) +
                    " UCX_TLS=" + tls + " " + BinDir() + "/weft-run --keep-going -n " +
                    std::to_string(n) + " -- " + BinDir() + "/" + binary + " " + args);
}

}  // namespace weft::testing
