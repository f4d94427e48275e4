#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <string>

#include "venue_client.h"

// The order service's Prometheus metrics (docs/order.md, "Metrics"). prometheus-cpp's counters
// and histograms are thread-safe; label children are created on first use.
namespace tickstream::order {

struct OrderMetrics {
  explicit OrderMetrics(prometheus::Registry& registry);

  // One finished gRPC call: method ("SubmitOrder", ...) and status code name ("OK", ...).
  void call(const std::string& method, const grpc::Status& status);
  // A submit's outcome: accepted, rejected, duplicate, conflict, invalid.
  void submit(const std::string& outcome, double seconds);
  // Why an order was rejected: a risk rule name (riskRuleName), "symbol_halted", or a venue reason.
  void reject(const std::string& reason);
  void venueCall(VenueOutcome outcome);

  prometheus::Family<prometheus::Counter>& calls;
  prometheus::Family<prometheus::Counter>& submits;
  prometheus::Family<prometheus::Counter>& rejects;
  prometheus::Histogram& submit_latency;
  prometheus::Family<prometheus::Counter>& venue_calls;
  prometheus::Counter& route_dropped;
  prometheus::Gauge& circuit_state;
  prometheus::Gauge& outbox_lag_seconds;
  prometheus::Gauge& outbox_relay_active;
  prometheus::Counter& outbox_published;
  prometheus::Counter& outbox_failures;
  prometheus::Gauge& execution_stream_live;
  prometheus::Counter& execution_stream_reconnects;
  prometheus::Counter& reconciliations;
  prometheus::Counter& reconcile_flagged;
  prometheus::Counter& reconcile_unknown_at_venue;
  prometheus::Gauge& update_streams;
};

}  // namespace tickstream::order
