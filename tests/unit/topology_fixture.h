// The published machine files under tests/topologies (SOURCES.md there), as tests load them.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "topology/nccl_xml_loader.h"

namespace weft {

// tests/topologies/<name>, read as the library reads a topology file; a failure fails the test.
inline SystemGraph LoadFixture(const std::string& name) {
  SystemGraph g;
  const Status s = LoadTopologyFile(std::string(WEFT_TOPOLOGY_FIXTURES) + "/" + name, &g);
  EXPECT_TRUE(s.ok()) << name << ": " << s.message();
  return g;
}

}  // namespace weft
