#include "gateway_metrics.h"

#include "delivery_stats.h"

namespace tickstream::gateway {

namespace {

prometheus::Counter& counter(prometheus::Registry& r, const char* name, const char* help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(r).Add({});
}

prometheus::Gauge& gauge(prometheus::Registry& r, const char* name, const char* help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(r).Add({});
}

} // namespace

GatewayMetrics::GatewayMetrics(prometheus::Registry& r)
    : connections(gauge(r, "gateway_connections", "open client connections")),
      subscriptions(gauge(r, "gateway_subscriptions", "symbol subscriptions over all connections")),
      connections_total(counter(r, "gateway_connections_total", "connections accepted")),
      messages_out(counter(r, "gateway_messages_out_total", "WebSocket messages written")),
      bytes_out(counter(r, "gateway_bytes_out_total", "bytes written to clients")),
      conflated(counter(r, "gateway_conflated_total",
                        "md.ticks updates a client was not sent: replaced by a newer one (conflated) or with nothing its modes select")),
      slow_client_closes(counter(r, "gateway_slow_client_closes_total",
                                 "clients closed because they stopped reading")),
      upgrades_rate_limited(counter(r, "gateway_upgrades_rate_limited_total",
                                    "WebSocket upgrades refused by the per-IP rate limit (429)")),
      inbound_rate_limited(counter(r, "gateway_inbound_rate_limited_total",
                                   "client messages dropped by the per-connection rate limit")),
      protocol_errors(counter(r, "gateway_protocol_errors_total",
                              "malformed frames and invalid requests")),
      auth_failures(counter(r, "gateway_auth_failures_total", "rejected or missing tokens")),
      updates_in(counter(r, "gateway_updates_in_total", "md.ticks updates applied")),
      updates_stale(counter(r, "gateway_updates_stale_total",
                            "md.ticks updates at or below the known seq (ignored)")),
      updates_gap(counter(r, "gateway_updates_gap_total", "md.ticks seq jumps")),
      delivery_latency(prometheus::BuildHistogram()
                           .Name("gateway_delivery_latency_seconds")
                           .Help("ingestion receive time (or, with --latency-from exchange, the exchange "
                                 "timestamp) to the update handed to the socket, per delivery")
                           .Register(r)
                           .Add({}, prometheus::Histogram::BucketBoundaries(
                                        DeliveryStats::kLatencyBounds.begin(),
                                        DeliveryStats::kLatencyBounds.end()))),
      consumer_lag(prometheus::BuildGauge()
                       .Name("gateway_consumer_lag")
                       .Help("md.ticks records not yet consumed, per partition")
                       .Register(r)),
      grpc_streams(gauge(r, "gateway_grpc_streams", "open MarketData.Subscribe gRPC streams")),
      grpc_updates_out(counter(r, "gateway_grpc_updates_out_total",
                               "updates written to MarketData.Subscribe streams")),
      grpc_conflated(counter(r, "gateway_grpc_conflated_total",
                             "updates replaced by a newer one before a gRPC stream took them")) {}

} // namespace tickstream::gateway
