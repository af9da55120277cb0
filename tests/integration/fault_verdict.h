// What fault_check's output must show after a rank was killed: every survivor's "OK" line,
// no "WRONG", and at least one survivor naming the victim (fault_check.cc says why one).
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/integration/process_runner.h"

namespace weft::testing {

inline void ExpectSurvivorsNameTheVictim(const CommandResult& r,
                                         const std::vector<int>& survivors) {
  for (int survivor : survivors)
    EXPECT_NE(std::string::npos, r.output.find("survivor " + std::to_string(survivor) + ": OK"))
        << r.output;
  EXPECT_EQ(std::string::npos, r.output.find("WRONG")) << r.output;
  EXPECT_NE(std::string::npos, r.output.find("OK names-victim")) << r.output;
}

}  // namespace weft::testing
