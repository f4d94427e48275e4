#include <catch2/catch.hpp>

#include <optional>
#include <vector>

#include "dirty_set.h"

using tickstream::gateway::DirtySet;

namespace {

std::vector<uint32_t> takeAll(DirtySet& set) {
  std::vector<uint32_t> out;
  while (const std::optional<uint32_t> i = set.take()) {
    out.push_back(*i);
  }
  return out;
}

} // namespace

TEST_CASE("dirty set hands out marked indices once each, in index order") {
  DirtySet set;
  set.grow(300);
  for (const uint32_t i : {250U, 3U, 64U, 63U, 3U, 128U}) {
    set.mark(i);
  }
  CHECK(set.size() == 5);  // 3 was marked twice
  CHECK(takeAll(set) == std::vector<uint32_t>{3, 63, 64, 128, 250});
  CHECK(set.empty());
  CHECK_FALSE(set.take().has_value());
}

TEST_CASE("dirty set: an index marked behind the sweep waits for the wrap, one ahead is taken in this pass") {
  DirtySet set;
  set.grow(200);
  set.mark(10);
  set.mark(100);
  REQUIRE(set.take() == std::optional<uint32_t>{10});
  set.mark(5);    // behind the cursor
  set.mark(150);  // ahead of it
  CHECK(set.take() == std::optional<uint32_t>{100});
  CHECK(set.take() == std::optional<uint32_t>{150});
  CHECK(set.take() == std::optional<uint32_t>{5});  // wrapped
  CHECK(set.empty());
}

TEST_CASE("dirty set: a connection marked again while others are swept is written once per pass") {
  // Every index marked before each pass: each pass visits them in the same order, so the gap
  // between two writes of one connection is one pass, whoever was marked first.
  DirtySet set;
  set.grow(130);
  std::vector<uint32_t> order;
  for (int pass = 0; pass < 3; ++pass) {
    for (const uint32_t i : {129U, 0U, 77U}) {
      set.mark(i);
    }
    for (int k = 0; k < 3; ++k) {
      order.push_back(*set.take());
    }
  }
  CHECK(order == std::vector<uint32_t>{0, 77, 129, 0, 77, 129, 0, 77, 129});
}

TEST_CASE("dirty set grows without losing marks") {
  DirtySet set;
  set.grow(10);
  set.mark(9);
  set.grow(1000);
  set.mark(999);
  CHECK(takeAll(set) == std::vector<uint32_t>{9, 999});
}
