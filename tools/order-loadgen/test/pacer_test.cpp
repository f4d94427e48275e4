#include <catch2/catch.hpp>

#include <cstdint>

#include "pacer.h"

using tickstream::order_loadgen::Pacer;

TEST_CASE("calls are due at start + i / rate") {
  const Pacer p(1'000, 10'000);  // one call every 100 us
  CHECK(p.dueAt(0) == 1'000);
  CHECK(p.dueAt(1) == 101'000);
  CHECK(p.dueAt(10'000) == 1'000'001'000);
}

TEST_CASE("a fractional period does not drift") {
  const Pacer p(0, 3);  // 333,333,333.3 ns apart
  CHECK(p.dueAt(3) == 1'000'000'000);
  CHECK(p.dueAt(3'000'000) == 1'000'000'000'000'000);
}

TEST_CASE("dueBy counts the calls due at a time, inclusive") {
  const Pacer p(1'000, 10'000);
  CHECK(p.dueBy(0) == 0);
  CHECK(p.dueBy(999) == 0);
  CHECK(p.dueBy(1'000) == 1);
  CHECK(p.dueBy(100'999) == 1);
  CHECK(p.dueBy(101'000) == 2);
  CHECK(p.dueBy(1'000'001'000) == 10'001);
  // dueBy and dueAt agree everywhere, including around rounding of a fractional period.
  const Pacer q(7, 7'000);
  for (uint64_t i = 0; i < 20'000; ++i) {
    CHECK(q.dueBy(q.dueAt(i)) == i + 1);
    CHECK(q.dueBy(q.dueAt(i) - 1) <= i);
  }
}

TEST_CASE("one second of a paced sender is the rate in calls") {
  const Pacer p(0, 5'000);
  CHECK(p.dueBy(999'999'999) == 5'000);
}
