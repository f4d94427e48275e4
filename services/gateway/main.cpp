// gateway: one WebSocket gateway shard. Owns the md.ticks partitions the shard ring gives it,
// loads their state from md.snapshot, then streams updates to clients (docs/gateway.md,
// docs/gateway-protocol.md).
//   gateway --kafka-brokers 127.0.0.1:9092 --shard-id 0 --shard-count 2 --listen 127.0.0.1:8080
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <cstdio>
#include <exception>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <prometheus/registry.h>

#include "gateway_config.h"
#include "gateway_metrics.h"
#include "grpc_streams.h"
#include "marketdata_grpc.h"
#include "server.h"
#include "symbol_store.h"
#include "synthetic_source.h"
#include "tick_source.h"
#include "tickstream/kafka/topics.h"
#include "tickstream/observability/health.h"
#include "tickstream/observability/http_endpoint.h"
#include "tickstream/rpc/grpc_server.h"
#include "tickstream/runtime/flags.h"
#include "tickstream/runtime/logging.h"
#include "tickstream/runtime/shutdown.h"
#include "tickstream/sharding/ring.h"

using namespace tickstream;

int main(int argc, char** argv) {
  runtime::ShutdownSignal shutdown; // first: every later thread inherits the blocked signals

  gateway::GatewayConfig config;
  gateway::TickSourceConfig source;
  gateway::SyntheticSourceConfig synthetic;
  synthetic.updates_per_second = 0;  // 0: market data from Kafka
  std::string metrics_listen = "127.0.0.1:0";
  std::string rs256_key_file;
  std::size_t history = 256;
  config.partitions = kafka::topics::Layout{}.md_partitions;
  runtime::Flags flags("gateway", "WebSocket gateway shard: md.ticks to clients");
  flags.add("--kafka-brokers", source.brokers, "Kafka bootstrap servers (host:port,...)");
  flags.add("--ticks-topic", source.ticks_topic, "topic of MarketDataUpdates");
  flags.add("--snapshot-topic", source.snapshot_topic, "compacted topic of SymbolSnapshots");
  flags.add("--md-partitions", config.partitions, "partitions of the ticks and snapshot topics");
  flags.add("--listen", config.listen, "HOST:PORT for WebSocket /v1/stream, /v1/route and / (port 0 = any)");
  flags.add("--shard-id", config.shard_id, "this shard's ordinal (a StatefulSet pod's index)");
  flags.add("--shard-count", config.shard_count, "shards in the ring");
  flags.add("--replication", config.replication, "shards serving each partition");
  flags.add("--shard-endpoints", config.shard_endpoints,
            "WebSocket URL of every shard, by ordinal (for wrong-shard errors and /v1/route)")
      ->delimiter(',');
  flags.add("--grpc-listen", config.grpc_listen,
            "HOST:PORT for gRPC MarketData + health + reflection (empty = off, the default)");
  flags.add("--grpc-shard-endpoints", config.grpc_shard_endpoints,
            "gRPC HOST:PORT of every shard, by ordinal (named in wrong-shard errors)")
      ->delimiter(',');
  flags.add("--static-dir", config.static_dir, "directory served at / (the watchlist page)");
  flags.add("--metrics-listen", metrics_listen, "HOST:PORT for /metrics, /healthz, /readyz (empty = off)");
  flags.add("--jwt-hs256-secret", config.auth.hs256_secret, "HS256 key for client tokens (>= 32 bytes)");
  flags.add("--jwt-rs256-public-key-file", rs256_key_file, "PEM file of the RS256 public key");
  flags.add("--jwt-issuer", config.auth.issuer, "required token issuer (empty: not checked)");
  flags.add("--jwt-audience", config.auth.audience, "required token audience (empty: not checked)");
  flags.add("--allow-anonymous", config.allow_anonymous,
            "with no JWT key configured, accept clients without a token (development only)");
  flags.add("--max-symbols", config.max_symbols, "subscriptions per connection");
  flags.add("--max-inbound-per-second", config.max_inbound_per_second, "client messages per second");
  flags.add("--max-frame-bytes", config.max_frame_bytes, "largest client message");
  flags.add("--min-interval-floor-ms", config.min_interval_floor_ms,
            "lowest per-subscription update interval the server honours");
  flags.add("--ping-interval-ms", config.ping_interval_ms, "server ping after this much silence");
  flags.add("--idle-timeout-ms", config.idle_timeout_ms, "close clients silent this long");
  flags.add("--auth-timeout-ms", config.auth_timeout_ms,
            "close a client that has not authenticated this long after connecting");
  flags.add("--slow-client-timeout-ms", config.slow_client_timeout_ms,
            "close a client whose socket has not taken a write for this long");
  flags.add("--socket-send-buffer-bytes", config.socket_send_buffer_bytes,
            "SO_SNDBUF of each client socket (0 = the kernel's default)");
  flags.add("--upgrades-per-ip-per-second", config.upgrades_per_ip_per_second,
            "WebSocket upgrades allowed per client IP (token bucket rate)");
  flags.add("--upgrade-burst-per-ip", config.upgrade_burst_per_ip, "token bucket burst for upgrades");
  std::string latency_from = "receive";
  flags.add("--latency-from", latency_from,
            "where the delivery-latency histogram starts: receive (ingestion's receive time) or "
            "exchange (the exchange timestamp: only on a feed whose clock is the wall clock)")
      ->check(CLI::IsMember({"receive", "exchange"}));
  flags.add("--drain-grace-ms", config.drain_grace_ms, "SIGTERM: how long clients get to leave");
  flags.add("--history-per-symbol", history, "recent updates kept per symbol for Resume");
  flags.add("--synthetic-updates-per-second", synthetic.updates_per_second,
            "benchmarks only: made-up quotes at this rate instead of Kafka (0 = Kafka)")
      ->check(CLI::Range(0.0, 10'000'000.0));
  flags.add("--synthetic-symbols", synthetic.symbols, "benchmarks only: made-up symbols LG00000...")
      ->check(CLI::Range(1, 99'999));
  flags.add("--lookback-ms", source.lookback_ms, "md.ticks read from this long before start-up");
  if (auto code = flags.parse(argc, argv)) {
    return *code;
  }
  config.latency_from_exchange = latency_from == "exchange";
  if (!rs256_key_file.empty()) {
    std::ifstream in(rs256_key_file);
    if (!in) {
      logging::error("bad flag", {{"error", "--jwt-rs256-public-key-file: cannot read " + rs256_key_file}});
      return 2;
    }
    std::ostringstream pem;
    pem << in.rdbuf();
    config.auth.rs256_public_key_pem = pem.str();
  }
  gateway::SymbolStoreConfig store_config;
  store_config.history_per_symbol = history;
  try {
    config.validate();
    store_config.validate();
  } catch (const std::exception& e) {
    logging::error("bad flag", {{"error", e.what()}});
    return 2;
  }
  if (!config.auth.hs256_secret.empty() || !config.auth.rs256_public_key_pem.empty()) {
    config.allow_anonymous = false;  // a key means tokens are required
  } else {
    logging::warn("no JWT key: clients connect without a token (--allow-anonymous)");
  }

  try {
    const sharding::ShardRing ring({config.shard_count, config.partitions, config.replication});
    const auto owned = ring.partitionsOf(config.shard_id);
    source.partitions.assign(owned.begin(), owned.end());
    source.client_id = "gateway-" + std::to_string(config.shard_id);

    auto registry = std::make_shared<prometheus::Registry>();
    auto health = std::make_shared<observability::Health>();
    health->setReady("market", false, "loading md.snapshot");
    gateway::GatewayMetrics metrics(*registry);
    auto endpoint = observability::startHttpEndpoint(metrics_listen, registry, health);

    boost::asio::io_context io(1);
    gateway::SymbolStore store(store_config);
    gateway::Server server(io, config, store, ring, &metrics);
    // gRPC MarketData: its threads hand everything to the I/O thread (marketdata_grpc.h).
    // Declared after the Server and the io_context, so the gRPC server is destroyed first.
    std::optional<gateway::GrpcStreams> streams;
    std::optional<gateway::MarketDataGrpc> market_data;
    std::optional<rpc::GrpcServer> grpc;
    if (!config.grpc_listen.empty()) {
      streams.emplace(io, config.slow_client_timeout_ms, &metrics);
      server.setGrpcStreams(&*streams);
      market_data.emplace(server, *streams, &metrics);
      grpc.emplace(rpc::GrpcServerConfig{.listen = config.grpc_listen});
      grpc->addService<marketdata::v1::MarketData>(&*market_data);
    }
    server.start();
    if (grpc) {
      streams->start();
      grpc->start();  // NOT_SERVING until the snapshots are loaded
    }
    logging::info("gateway listening",
                  {{"listen", config.listen},
                   {"port", static_cast<int>(server.port())},
                   {"shard", config.shard_id},
                   {"shards", config.shard_count},
                   {"partitions_owned", static_cast<long long>(source.partitions.size())}});

    int status = 0;
    const auto on_ready = [&] {
      health->setReady("market", true);
      if (grpc) {
        streams->setReady();
        if (!streams->draining()) grpc->setAllServing(true);
      }
      logging::info("gateway ready", {{"symbols", static_cast<long long>(store.size())}});
    };
    const bool use_kafka = synthetic.updates_per_second == 0;
    gateway::TickSource ticks(source, io, server, &metrics, on_ready, [&](const std::string& why) {
      health->setLive(false, "tick source: " + why);
      status = 1;
      shutdown.request();
    });
    gateway::SyntheticSource made_up(synthetic, io, server);
    if (use_kafka) {
      ticks.start();
    } else {
      logging::warn("synthetic market data (benchmark mode): Kafka is not read",
                    {{"updates_per_second", synthetic.updates_per_second},
                     {"symbols", synthetic.symbols}});
      boost::asio::post(io, [&] { made_up.start(on_ready); });
    }

    // SIGTERM: stop accepting, Reconnect every client, close them after the grace, then stop.
    shutdown.onRequest([&] {
      boost::asio::post(io, [&] {
        health->setReady("market", false, "draining");
        if (grpc) {
          // Load balancers stop sending first; then streams end so clients resubscribe elsewhere.
          grpc->setAllServing(false);
          streams->drain("shard " + std::to_string(config.shard_id) +
                         " is shutting down: subscribe again (another replica, or after restart)");
        }
        server.drain([&] { io.stop(); });
      });
    });
    io.run();
    if (grpc) {
      grpc->stop();  // streams have ended; waits for in-flight GetSnapshots (bounded)
    }
    ticks.stop();
    if (endpoint) {
      endpoint->stop();
    }
    logging::info("gateway exiting", {{"status", status}});
    return status;
  } catch (const std::exception& e) {
    logging::error("gateway failed", {{"error", e.what()}});
    return 1;
  }
}
