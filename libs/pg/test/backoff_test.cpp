#include <catch2/catch.hpp>

#include <chrono>

#include "tickstream/pg/backoff.h"

using std::chrono::milliseconds;
using tickstream::pg::Backoff;

TEST_CASE("backoff doubles from min and stops at max") {
  const milliseconds min(50);
  const milliseconds max(1000);
  CHECK(Backoff::delay(0, min, max, 0.0, 0.5) == milliseconds(50));
  CHECK(Backoff::delay(1, min, max, 0.0, 0.5) == milliseconds(100));
  CHECK(Backoff::delay(4, min, max, 0.0, 0.5) == milliseconds(800));
  CHECK(Backoff::delay(5, min, max, 0.0, 0.5) == milliseconds(1000));
  // A server down for hours must not overflow the curve.
  CHECK(Backoff::delay(100000, min, max, 0.0, 0.5) == milliseconds(1000));
}

TEST_CASE("backoff jitter removes at most its fraction of the delay") {
  const milliseconds min(100);
  const milliseconds max(100);
  CHECK(Backoff::delay(0, min, max, 0.5, 0.0) == milliseconds(100));
  CHECK(Backoff::delay(0, min, max, 0.5, 0.999) == milliseconds(50));
  CHECK(Backoff::delay(0, min, max, 1.0, 0.999) == milliseconds(0));
  CHECK(Backoff::delay(0, min, max, 0.25, 0.5) == milliseconds(88));  // 100 * (1 - 0.125)
}

TEST_CASE("backoff sequence grows within its jitter band and restarts after reset") {
  Backoff backoff(milliseconds(10), milliseconds(160), 0.5, /*seed=*/42);
  milliseconds ceiling(10);
  for (int i = 0; i < 8; ++i) {
    const auto d = backoff.next();
    INFO("attempt " << i);
    CHECK(d <= ceiling);
    CHECK(d >= ceiling / 2);
    ceiling = std::min(ceiling * 2, milliseconds(160));
  }
  CHECK(backoff.attempts() == 8);
  backoff.reset();
  CHECK(backoff.next() <= milliseconds(10));
}

TEST_CASE("backoff jitter spreads clients that failed together") {
  // Two replicas that lost the server at the same instant should not come back in lockstep.
  Backoff a(milliseconds(1000), milliseconds(1000), 0.5, 1);
  Backoff b(milliseconds(1000), milliseconds(1000), 0.5, 2);
  int same = 0;
  for (int i = 0; i < 20; ++i) same += a.next() == b.next() ? 1 : 0;
  CHECK(same < 5);
}
