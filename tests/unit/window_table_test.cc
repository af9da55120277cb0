// A call's buffer among the rank's windows (collectives/device/window_table.h): found by its
// range and the id of its allocation; in a window's range but another allocation (the window
// freed without deregistering, and the address given out again), stale, so the call goes
// through the staging and never reads what the peers mapped of the old allocation.
#include "collectives/device/window_table.h"

#include <gtest/gtest.h>

#include <vector>

namespace weft {
namespace {

std::vector<Window> TwoWindows() {
  std::vector<Window> w(4);
  w[1].base = 0x10000;
  w[1].bytes = 0x1000;
  w[1].buffer_id = 7;
  w[1].used = true;
  w[3].base = 0x20000;
  w[3].bytes = 0x800;
  w[3].buffer_id = 9;
  w[3].used = true;
  return w;
}

TEST(WindowTable, ACallIsFoundByRangeAndAllocation) {
  const std::vector<Window> w = TwoWindows();
  int slot = -5;
  EXPECT_EQ(WindowMatch::kFound, FindWindow(w, 0x10000, 0x1000, 7, &slot));
  EXPECT_EQ(1, slot);
  EXPECT_EQ(WindowMatch::kFound, FindWindow(w, 0x20100, 0x700, 9, &slot));
  EXPECT_EQ(3, slot);
  // Past the end, before the start, between windows: none.
  EXPECT_EQ(WindowMatch::kNone, FindWindow(w, 0x10800, 0x801, 7, &slot));
  EXPECT_EQ(-1, slot);
  EXPECT_EQ(WindowMatch::kNone, FindWindow(w, 0xffff, 16, 7, &slot));
  EXPECT_EQ(WindowMatch::kNone, FindWindow(w, 0x18000, 16, 7, &slot));
}

TEST(WindowTable, AnotherAllocationInAWindowsRangeIsStale) {
  std::vector<Window> w = TwoWindows();
  int slot = -1;
  EXPECT_EQ(WindowMatch::kStale, FindWindow(w, 0x10010, 64, 8, &slot));
  EXPECT_EQ(1, slot);
  // A deregistered window's range holds nothing.
  w[1].used = false;
  EXPECT_EQ(WindowMatch::kNone, FindWindow(w, 0x10010, 64, 7, &slot));
}

}  // namespace
}  // namespace weft
