#include <catch2/catch.hpp>

#include "raw_dedupe.h"

using tickstream::normalizer::RawDedupe;

TEST_CASE("md.raw records that repeat a session's sequence in a partition are dropped, the rest kept") {
  RawDedupe d;
  CHECK(d.fresh(0, 100, "S1", 1));
  CHECK(d.fresh(0, 100, "S1", 2));
  CHECK(d.fresh(0, 100, "S1", 5));  // a gap is not a repeat: the others went to other partitions
  CHECK_FALSE(d.fresh(0, 100, "S1", 2));  // published again after a restart
  CHECK_FALSE(d.fresh(0, 100, "S1", 5));
  CHECK(d.fresh(0, 100, "S1", 6));
  // Each partition and each session on its own: a market-wide message is in every partition.
  CHECK(d.fresh(1, 100, "S1", 5));
  CHECK(d.fresh(0, 100, "capture.gz", 1));
  CHECK(d.duplicates() == 2);
}

TEST_CASE("the next day's session starts afresh under the same name") {
  RawDedupe d;
  CHECK(d.fresh(3, 100, "1", 900));
  CHECK(d.fresh(3, 101, "1", 1));
  CHECK(d.fresh(3, 101, "1", 2));
  CHECK_FALSE(d.fresh(3, 101, "1", 1));
  CHECK(d.duplicates() == 1);
}

TEST_CASE("an evening session crossing midnight in UTC keeps its sequence: a copy after midnight is dropped") {
  // 2026-12-04 in New York (UTC-5): 18:59:59 local is 23:59:59 UTC; 19:00:01 local is 00:00:01
  // UTC on 12-05. Both are trading day 2026-12-04 = day 20791.
  constexpr int32_t kTradingDay = 20791;
  constexpr int64_t kNanosPerSecond = 1'000'000'000;
  constexpr int64_t before = (int64_t{kTradingDay + 1} * 86'400 - 1) * kNanosPerSecond;
  constexpr int64_t after = (int64_t{kTradingDay + 1} * 86'400 + 1) * kNanosPerSecond;
  CHECK(RawDedupe::dayOf(kTradingDay, before) == kTradingDay);
  CHECK(RawDedupe::dayOf(kTradingDay, after) == kTradingDay);

  RawDedupe d;
  CHECK(d.fresh(0, RawDedupe::dayOf(kTradingDay, before), "S1", 41));
  // The copy of message 41 (an ingestion restart's), arriving after UTC midnight before 42.
  CHECK_FALSE(d.fresh(0, RawDedupe::dayOf(kTradingDay, after), "S1", 41));
  CHECK(d.fresh(0, RawDedupe::dayOf(kTradingDay, after), "S1", 42));
  CHECK(d.duplicates() == 1);
}

TEST_CASE("records without a trading day fall back to the exchange timestamp's UTC day") {
  constexpr int64_t kNanosPerDay = 86'400'000'000'000;
  CHECK(RawDedupe::dayOf(0, 20791 * kNanosPerDay + 5) == 20791);
  CHECK(RawDedupe::dayOf(0, 20792 * kNanosPerDay - 1) == 20791);
}
