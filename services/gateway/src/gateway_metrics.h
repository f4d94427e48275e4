#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

// The gateway's Prometheus metrics (docs/gateway.md). Updated from the I/O and Kafka threads;
// prometheus-cpp's metrics are atomic.
namespace tickstream::gateway {

struct GatewayMetrics {
  explicit GatewayMetrics(prometheus::Registry& r);

  prometheus::Gauge& connections;
  prometheus::Gauge& subscriptions;
  prometheus::Counter& connections_total;
  prometheus::Counter& messages_out;
  prometheus::Counter& bytes_out;
  prometheus::Counter& conflated;          // updates replaced by a newer one before sending
  prometheus::Counter& slow_client_closes;
  prometheus::Counter& upgrades_rate_limited;
  prometheus::Counter& inbound_rate_limited;
  prometheus::Counter& protocol_errors;    // bad frames, bad requests
  prometheus::Counter& auth_failures;
  prometheus::Counter& updates_in;         // md.ticks records applied
  prometheus::Counter& updates_stale;      // md.ticks records at or below the known seq
  prometheus::Counter& updates_gap;        // md.ticks seq jumps (history restarted)
  // ingestion receive time -> socket write completed, per delivered update
  prometheus::Histogram& delivery_latency;
  prometheus::Family<prometheus::Gauge>& consumer_lag;  // per md.ticks partition
  prometheus::Gauge& grpc_streams;         // open MarketData.Subscribe streams
  prometheus::Counter& grpc_updates_out;   // updates written to Subscribe streams
  prometheus::Counter& grpc_conflated;     // Subscribe-stream updates replaced before sending
};

} // namespace tickstream::gateway
