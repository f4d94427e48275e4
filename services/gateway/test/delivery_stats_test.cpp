#include <catch2/catch.hpp>

#include <prometheus/registry.h>

#include "delivery_stats.h"
#include "gateway_metrics.h"

using tickstream::gateway::DeliveryStats;
using tickstream::gateway::GatewayMetrics;

TEST_CASE("delivery stats reach the metrics only when flushed, in the right latency buckets") {
  prometheus::Registry registry;
  GatewayMetrics metrics(registry);
  DeliveryStats stats;
  stats.wrote(100, 2, 0);
  stats.wrote(50, 1, 3);
  stats.latency(400'000);        // 0.4 ms: le 0.0005
  stats.latency(500'000);        // exactly 0.5 ms: le 0.0005 too ("less or equal")
  stats.latency(3'000'000);      // 3 ms: le 0.005
  stats.latency(9'000'000'000);  // 9 s: only +Inf
  CHECK(metrics.bytes_out.Value() == 0);
  CHECK(metrics.delivery_latency.Collect().histogram.sample_count == 0);

  stats.flushTo(metrics);
  CHECK(metrics.bytes_out.Value() == 150);
  CHECK(metrics.messages_out.Value() == 3);
  CHECK(metrics.conflated.Value() == 3);
  const auto h = metrics.delivery_latency.Collect().histogram;
  CHECK(h.sample_count == 4);
  CHECK(h.sample_sum == Approx(9.0039));
  REQUIRE(h.bucket.size() == DeliveryStats::kLatencyBounds.size() + 1);
  CHECK(h.bucket[0].cumulative_count == 2);   // le 0.0005
  CHECK(h.bucket[2].cumulative_count == 2);   // le 0.002
  CHECK(h.bucket[3].cumulative_count == 3);   // le 0.005
  CHECK(h.bucket[12].cumulative_count == 3);  // le 5
  CHECK(h.bucket[13].cumulative_count == 4);  // +Inf

  stats.flushTo(metrics);  // nothing new: nothing added twice
  CHECK(metrics.bytes_out.Value() == 150);
  CHECK(metrics.delivery_latency.Collect().histogram.sample_count == 4);
}
