#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>

#include "latency_histogram.h"

using tickstream::order_loadgen::LatencyHistogram;

TEST_CASE("an empty histogram reports zeros") {
  LatencyHistogram h;
  CHECK(h.count() == 0);
  CHECK(h.quantileNs(0.5) == 0);
  CHECK(h.quantileNs(0.999) == 0);
}

TEST_CASE("small values are exact") {
  LatencyHistogram h;
  for (int64_t v = 1; v <= 100; ++v) h.record(v);
  CHECK(h.quantileNs(0.5) == 50);
  CHECK(h.quantileNs(0.99) == 99);
  CHECK(h.quantileNs(1.0) == 100);
  CHECK(h.maxNs() == 100);
}

TEST_CASE("quantiles of large values are within 1/64 above the nearest rank") {
  LatencyHistogram h;
  // 1 us .. 100 ms in 1 us steps: the nearest-rank q-quantile is q * 100000 us.
  for (int64_t us = 1; us <= 100'000; ++us) h.record(us * 1000);
  for (double q : {0.5, 0.9, 0.99, 0.999}) {
    const double exact = q * 100'000 * 1000;
    const auto got = static_cast<double>(h.quantileNs(q));
    CHECK(got >= exact);
    CHECK(got <= exact * (1 + 1.0 / 64));
  }
  CHECK(h.quantileNs(1.0) == 100'000'000);  // capped at the max, not the bucket's end
}

TEST_CASE("one slow call shows in p999 only when it is more than 1 in 1000") {
  LatencyHistogram h;
  for (int i = 0; i < 999; ++i) h.record(1'000'000);
  h.record(500'000'000);
  CHECK(h.quantileMs(0.999) < 1.02);
  h.record(500'000'000);  // 2 in 1001: above the 0.999 rank
  CHECK(h.quantileMs(0.999) == Approx(500).epsilon(1.0 / 64));
}

TEST_CASE("merging adds counts and keeps the larger max") {
  LatencyHistogram a, b;
  for (int i = 0; i < 90; ++i) a.record(1000);
  for (int i = 0; i < 10; ++i) b.record(2'000'000);
  a.merge(b);
  CHECK(a.count() == 100);
  CHECK(a.quantileNs(0.9) <= 1000 * (1 + 1.0 / 64));
  CHECK(a.quantileNs(0.91) >= 2'000'000);
  CHECK(a.maxNs() == 2'000'000);
  a.reset();
  CHECK(a.count() == 0);
  CHECK(a.maxNs() == 0);
}

TEST_CASE("negative and huge values are recorded, not lost") {
  LatencyHistogram h;
  h.record(-5);
  h.record(std::numeric_limits<int64_t>::max());
  CHECK(h.count() == 2);
  CHECK(h.quantileNs(0.5) == 0);
  CHECK(h.quantileNs(1.0) == static_cast<uint64_t>(std::numeric_limits<int64_t>::max()));
}
