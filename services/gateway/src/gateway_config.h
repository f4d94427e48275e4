#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tickstream/auth/jwt.h"

// Everything a gateway shard is configured with (flags and TICKSTREAM_* variables in main.cpp;
// docs/gateway.md lists them).
namespace tickstream::gateway {

struct GatewayConfig {
  std::string listen = "127.0.0.1:8080";   // WebSocket + HTTP (/v1/stream, /v1/route, /)
  int32_t shard_id = 0;                    // this shard's ordinal, 0..shard_count-1
  int32_t shard_count = 1;                 // shards in the ring
  int32_t replication = 1;                 // shards serving each partition
  int32_t partitions = 64;                 // partitions of md.ticks (and md.snapshot)
  std::vector<std::string> shard_endpoints;  // WebSocket URL of each shard, by ordinal
  std::string static_dir;                  // served at / (the watchlist page); empty = none

  uint32_t max_symbols = 200;              // subscriptions per connection
  uint32_t max_inbound_per_second = 20;    // client messages per second (burst 2x)
  uint32_t max_frame_bytes = 16 * 1024;    // largest inbound message
  uint32_t min_interval_floor_ms = 0;      // lowest per-subscription interval honoured
  uint32_t rate_limit_strikes = 10;        // RATE_LIMITED errors before closing with 4009
  int auth_timeout_ms = 10'000;            // time to send a valid Auth after the upgrade
  int ping_interval_ms = 15'000;           // server ping after this long without traffic
  int idle_timeout_ms = 45'000;            // close after this long without anything from the client
  int slow_client_timeout_ms = 5'000;      // a write pending this long closes the client (4008)
  int socket_send_buffer_bytes = 0;        // SO_SNDBUF per client socket; 0 = kernel default
  double upgrades_per_ip_per_second = 20;  // WebSocket upgrades per client IP (token bucket)
  double upgrade_burst_per_ip = 40;
  // Where gateway_delivery_latency_seconds starts: false = ingestion's receive time (works with
  // any feed), true = the exchange timestamp, which is the wall clock only on a real venue's
  // feed (exchange-sim's ITCH clock is its own).
  bool latency_from_exchange = false;
  int drain_grace_ms = 5'000;              // SIGTERM: Reconnect sent, close after this long
  uint32_t reconnect_after_ms = 1'000;     // the Reconnect hint (clients add jitter)

  // MarketData gRPC (marketdata_grpc.h), with grpc.health.v1 and reflection on the same port.
  std::string grpc_listen;                 // HOST:PORT; empty = no gRPC server
  std::vector<std::string> grpc_shard_endpoints;  // HOST:PORT of each shard's gRPC, by ordinal
                                                  // (named in wrong-shard errors); may be empty

  auth::VerifierConfig auth;               // JWT keys; see allow_anonymous
  bool allow_anonymous = false;            // no key configured: accept connections without a token

  // Throws std::invalid_argument naming the flag.
  void validate() const;
};

} // namespace tickstream::gateway
