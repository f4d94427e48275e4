#include "order_metrics.h"

#include "tickstream/observability/counters.h"

namespace tickstream::order {

namespace {

const char* codeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK: return "OK";
    case grpc::StatusCode::CANCELLED: return "CANCELLED";
    case grpc::StatusCode::INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND: return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS: return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED: return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION: return "FAILED_PRECONDITION";
    case grpc::StatusCode::UNAVAILABLE: return "UNAVAILABLE";
    case grpc::StatusCode::UNAUTHENTICATED: return "UNAUTHENTICATED";
    case grpc::StatusCode::INTERNAL: return "INTERNAL";
    default: return "OTHER";
  }
}

prometheus::Family<prometheus::Counter>& counterFamily(prometheus::Registry& r, const char* name, const char* help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(r);
}

prometheus::Gauge& gauge(prometheus::Registry& r, const char* name, const char* help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(r).Add({});
}

}  // namespace

OrderMetrics::OrderMetrics(prometheus::Registry& r)
    : calls(counterFamily(r, "order_grpc_calls_total", "finished gRPC calls by method and status code")),
      submits(counterFamily(r, "order_submits_total",
                            "SubmitOrder outcomes: accepted, rejected (stored REJECTED), duplicate, conflict, invalid")),
      rejects(counterFamily(r, "order_rejects_total", "rejected orders by reason (risk rule, symbol_halted, venue)")),
      submit_latency(prometheus::BuildHistogram()
                         .Name("order_submit_latency_seconds")
                         .Help("SubmitOrder request received to reply ready (order committed)")
                         .Register(r)
                         .Add({}, prometheus::Histogram::BucketBoundaries{0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01,
                                                                          0.02, 0.05, 0.1, 0.5, 1})),
      venue_calls(counterFamily(r, "order_venue_calls_total",
                                "venue requests by outcome: answered, refused, not_sent, unknown")),
      route_dropped(observability::registerCounter(
          r, "order_route_dropped_total", "new orders not queued for the venue (queue full); sent on resend")),
      circuit_state(gauge(r, "order_venue_circuit_state", "venue circuit breaker: 0 closed, 1 open, 2 half-open")),
      outbox_lag_seconds(gauge(r, "order_outbox_lag_seconds", "age of the oldest outbox row at the relay's last read")),
      outbox_relay_active(gauge(r, "order_outbox_relay_active", "1 when this process holds the relay lock")),
      outbox_published(observability::registerCounter(r, "order_outbox_published_total",
                                                      "outbox records published to Kafka (their rows deleted)")),
      outbox_failures(observability::registerCounter(r, "order_outbox_failures_total",
                                                     "relay rounds that failed (database or broker)")),
      execution_stream_live(gauge(r, "order_execution_stream_live", "1 when the venue's report stream is open")),
      execution_stream_reconnects(observability::registerCounter(r, "order_execution_stream_reconnects_total",
                                                                 "venue report stream reopened")),
      reconciliations(observability::registerCounter(r, "order_venue_reconciliations_total",
                                                     "reconciliations with the venue's open orders")),
      reconcile_flagged(observability::registerCounter(
          r, "order_reconcile_flagged_total", "orders whose venue state could not be matched (see the error log)")),
      reconcile_unknown_at_venue(observability::registerCounter(
          r, "order_reconcile_unknown_at_venue_total",
          "open orders a venue listed that the service has no record of (see the warning log)")),
      update_streams(gauge(r, "order_update_streams", "open StreamOrderUpdates calls")) {}

void OrderMetrics::call(const std::string& method, const grpc::Status& status) {
  calls.Add({{"method", method}, {"code", codeName(status.error_code())}}).Increment();
}

void OrderMetrics::submit(const std::string& outcome, double seconds) {
  submits.Add({{"outcome", outcome}}).Increment();
  submit_latency.Observe(seconds);
}

void OrderMetrics::reject(const std::string& reason) { rejects.Add({{"reason", reason}}).Increment(); }

void OrderMetrics::venueCall(VenueOutcome outcome) {
  const char* name = "unknown";
  switch (outcome) {
    case VenueOutcome::Answered: name = "answered"; break;
    case VenueOutcome::Refused: name = "refused"; break;
    case VenueOutcome::NotSent: name = "not_sent"; break;
    case VenueOutcome::Unknown: name = "unknown"; break;
  }
  venue_calls.Add({{"outcome", name}}).Increment();
}

}  // namespace tickstream::order
