#include <catch2/catch.hpp>

#include <cstdint>
#include <deque>
#include <algorithm>
#include <random>

#include "trade_ledger.h"

using tickstream::normalizer::LedgerTrade;
using tickstream::normalizer::TradeLedger;

TEST_CASE("the trade ledger remembers the latest executions and forgets the oldest") {
  TradeLedger ledger(3);
  for (uint64_t m = 1; m <= 4; ++m) {
    ledger.record({m, 1, static_cast<int64_t>(m) * 100, 10, 0});
  }
  CHECK(ledger.size() == 3);
  CHECK_FALSE(ledger.take(1).has_value());  // overwritten by the 4th
  const auto t3 = ledger.take(3);
  REQUIRE(t3.has_value());
  CHECK(t3->price == 300);
  CHECK_FALSE(ledger.take(3).has_value());  // a second break of the same trade finds nothing
  CHECK(ledger.size() == 2);
}

TEST_CASE("the trade ledger agrees with a simple reference over random records and takes") {
  // Small capacities and clustered match numbers make long probe runs, wrap-around and
  // backward-shift deletions frequent.
  const size_t capacity = GENERATE(1, 2, 7, 64);
  std::mt19937_64 rng(capacity * 7919);
  TradeLedger ledger(capacity);
  // Reference: the last `capacity` writes, each live until taken or recorded again.
  struct Write {
    uint64_t match;
    int64_t price;
    bool live;
  };
  std::deque<Write> writes;
  const auto findLive = [&](uint64_t match) {
    return std::find_if(writes.begin(), writes.end(),
                        [&](const Write& w) { return w.live && w.match == match; });
  };
  size_t taken = 0;
  for (int step = 0; step < 20000; ++step) {
    const uint64_t match = rng() % (capacity * 4 + 3);
    if (rng() % 3 != 0) {
      const auto price = static_cast<int64_t>(rng() % 1000);
      if (auto it = findLive(match); it != writes.end()) {
        it->live = false;
      }
      writes.push_back({match, price, true});
      if (writes.size() > capacity) {
        writes.pop_front();
      }
      ledger.record({match, 1, price, 1, 0});
    } else {
      const auto got = ledger.take(match);
      const auto it = findLive(match);
      REQUIRE(got.has_value() == (it != writes.end()));
      if (got.has_value()) {
        CHECK(got->price == it->price);
        it->live = false;
        ++taken;
      }
    }
    REQUIRE(ledger.size() == static_cast<size_t>(std::count_if(
                                 writes.begin(), writes.end(), [](const Write& w) { return w.live; })));
  }
  CHECK(taken > 100);  // the takes really found entries
}
