// order-service: the gRPC OrderService (docs/order.md). Orders are validated, risk-checked and
// committed in PostgreSQL before the reply; every change goes to Kafka through the outbox relay;
// accepted orders are routed to the venue (exchange-sim --venue-listen), whose execution reports
// come back on a stream.
//   order-service --pg-url postgresql://tickstream@127.0.0.1:5432/tickstream
//     --kafka-brokers 127.0.0.1:9092 --venue 127.0.0.1:7002 --jwt-hs256-secret "$SECRET"
//     --grpc-listen 127.0.0.1:50061 --metrics-listen 127.0.0.1:9465
#include <pqxx/pqxx>

#include <chrono>
#include <exception>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "circuit_breaker.h"
#include "execution_stream.h"
#include "order_auth.h"
#include "order_metrics.h"
#include "order_router.h"
#include "order_service.h"
#include "order_store.h"
#include "order_updates.h"
#include "order_validation.h"
#include "outbox_relay.h"
#include "risk_check.h"
#include "symbol_directory.h"
#include "tickstream/kafka/topics.h"
#include "tickstream/observability/counters.h"
#include "tickstream/observability/http_endpoint.h"
#include "tickstream/pg/migrations.h"
#include "tickstream/pg/pool.h"
#include "tickstream/rpc/grpc_server.h"
#include "tickstream/runtime/flags.h"
#include "tickstream/runtime/logging.h"
#include "tickstream/runtime/shutdown.h"
#include "venue_client.h"
#include "venue_sync.h"

using namespace tickstream;
using namespace std::chrono_literals;

namespace {

struct Options {
  std::string grpc_listen = "127.0.0.1:50061";
  std::string metrics_listen = "127.0.0.1:0";
  std::string pg_url;
  // Writer lanes, router threads, the report stream and reads share it.
  int pg_pool_size = 12;
  int grpc_idle_threads = 256;
  std::string migrations_dir = TICKSTREAM_ORDER_MIGRATIONS_DIR;
  std::string kafka_brokers = "127.0.0.1:9092";
  std::string snapshot_topic = kafka::topics::kMdSnapshot;
  std::string venue;
  std::string venue_name = "exchange-sim";
  std::string rs256_key_file;
};

}  // namespace

int main(int argc, char** argv) {
  runtime::ShutdownSignal shutdown;  // first: every later thread inherits the blocked signals

  Options opts;
  order::OrderStoreConfig store_config;
  order::ValidationConfig validation;
  order::OrderRouterConfig router_config;
  order::VenueClientConfig venue_config;
  order::CircuitBreakerConfig breaker_config;
  auth::VerifierConfig auth_config;
  runtime::Flags flags("order-service", "gRPC order entry: PostgreSQL, outbox to Kafka, routing to the venue");
  flags.add("--grpc-listen", opts.grpc_listen, "HOST:PORT of the gRPC OrderService + health + reflection (port 0 = any)");
  flags.add("--grpc-idle-threads", opts.grpc_idle_threads,
            "gRPC threads kept waiting for synchronous calls (all but SubmitOrder; each holds one until it answers; fewer: a thread started per call)");
  flags.add("--metrics-listen", opts.metrics_listen, "HOST:PORT for /metrics, /healthz, /readyz");
  flags.add("--pg-url", opts.pg_url, "PostgreSQL URL (postgresql://user@host:port/db)")->required();
  flags.add("--pg-pool-size", opts.pg_pool_size, "pooled PostgreSQL connections (> --writer-lanes)");
  flags.add("--migrations-dir", opts.migrations_dir, "directory of the order schema's NNNN_name.sql migrations");
  flags.add("--kafka-brokers", opts.kafka_brokers, "Kafka bootstrap servers (host:port,...)");
  flags.add("--snapshot-topic", opts.snapshot_topic, "compacted topic of SymbolSnapshots (the symbol directory)");
  flags.add("--events-topic", store_config.events_topic, "topic of OrderEvents (key: account)");
  flags.add("--fills-topic", store_config.fills_topic, "topic of Fills (key: account)");
  flags.add("--venue", opts.venue, "HOST:PORT of the venue's gRPC API (exchange-sim --venue-listen)")->required();
  flags.add("--venue-name", opts.venue_name, "the venue's name, keying its stream position in PostgreSQL");
  flags.add("--jwt-hs256-secret", auth_config.hs256_secret, "HS256 key for client tokens (>= 32 bytes)");
  flags.add("--jwt-rs256-public-key-file", opts.rs256_key_file, "PEM file of the RS256 public key");
  flags.add("--jwt-issuer", auth_config.issuer, "required token issuer (empty: not checked)");
  flags.add("--jwt-audience", auth_config.audience, "required token audience (empty: not checked)");
  order::OutboxRelayConfig relay_config;
  flags.add("--outbox-notify-channel", store_config.notify_channel, "NOTIFY channel between the store and the relay");
  flags.add("--outbox-lock-key", relay_config.lock_key, "advisory lock key admitting one relay per database");
  flags.add("--writer-lanes", store_config.writer_lanes, "group-commit writer threads");
  flags.add("--max-batch", store_config.max_batch, "most submits per transaction");
  flags.add("--router-threads", router_config.threads, "threads sending new orders to the venue");
  flags.add("--price-band-bps", validation.price_band_bps, "fat-finger band around the last trade, basis points");
  flags.add("--market-collar-bps", validation.market_collar_bps,
            "how far through the last trade a market order may trade, basis points (0 = no collar)");
  flags.add("--max-quantity", validation.max_quantity, "largest quantity of one order");
  int call_deadline_ms = static_cast<int>(venue_config.call_deadline.count());
  int breaker_open_ms = static_cast<int>(breaker_config.open_duration.count());
  flags.add("--venue-call-deadline-ms", call_deadline_ms, "deadline of one venue call");
  int keepalive_ms = static_cast<int>(venue_config.keepalive_time.count());
  int keepalive_timeout_ms = static_cast<int>(venue_config.keepalive_timeout.count());
  flags.add("--venue-keepalive-ms", keepalive_ms,
            "ping the venue after this long without reads (0 = off): a vanished venue host is noticed "
            "within this plus --venue-keepalive-timeout-ms");
  flags.add("--venue-keepalive-timeout-ms", keepalive_timeout_ms, "how long a keepalive ping may go unanswered");
  flags.add("--breaker-failures", breaker_config.failure_threshold, "consecutive venue failures that open the circuit");
  flags.add("--breaker-open-ms", breaker_open_ms, "how long an open circuit fails fast");
  if (auto code = flags.parse(argc, argv)) return *code;
  venue_config.call_deadline = std::chrono::milliseconds(call_deadline_ms);
  venue_config.keepalive_time = std::chrono::milliseconds(keepalive_ms);
  venue_config.keepalive_timeout = std::chrono::milliseconds(keepalive_timeout_ms);
  breaker_config.open_duration = std::chrono::milliseconds(breaker_open_ms);
  if (!opts.rs256_key_file.empty()) {
    std::ifstream in(opts.rs256_key_file);
    if (!in) {
      logging::error("bad flag", {{"error", "--jwt-rs256-public-key-file: cannot read " + opts.rs256_key_file}});
      return 2;
    }
    std::ostringstream pem;
    pem << in.rdbuf();
    auth_config.rs256_public_key_pem = pem.str();
  }
  std::optional<auth::Verifier> verifier;
  try {
    store_config.validate();
    validation.validate();
    router_config.validate();
    venue_config.validate();
    breaker_config.validate();
    verifier = auth::Verifier::fromConfig(auth_config);  // a key is required: orders are never anonymous
    if (opts.pg_pool_size <= store_config.writer_lanes) {
      throw std::invalid_argument("--pg-pool-size must be larger than --writer-lanes");
    }
  } catch (const std::exception& e) {
    logging::error("bad flag", {{"error", e.what()}});
    return 2;
  }

  try {
    {
      pqxx::connection conn(opts.pg_url);
      const auto applied = pg::applyMigrations(conn, pg::loadMigrations(opts.migrations_dir));
      logging::info("schema up to date", {{"applied", static_cast<long long>(applied.size())}});
    }
    auto registry = std::make_shared<prometheus::Registry>();
    auto health = std::make_shared<observability::Health>();
    health->setReady("symbols", false, "loading md.snapshot");
    order::OrderMetrics metrics(*registry);
    auto endpoint = observability::startHttpEndpoint(opts.metrics_listen, registry, health);

    pg::PoolConfig pool_config;
    pool_config.url = opts.pg_url;
    pool_config.size = opts.pg_pool_size;
    pool_config.options = order::kStoreSessionOptions;
    pg::Pool pool(pool_config);
    // On SIGTERM, at once (onRequest runs it now if the signal came already): no more waiting
    // out the pool's 30 s retry timeout. With the database away, the main loop's periodic work,
    // each queued lane batch and each report did, in turn, and a shutdown took minutes. What
    // fails from here is redone by the next start (reports come again from the stored stream
    // position, ACCEPTED orders are re-sent, outbox rows stay), and nothing that failed was
    // answered OK. Callbacks run before waitFor() returns true, so before the drain below.
    shutdown.onRequest([&pool] { pool.stopRetrying(); });
    order::OrderStore store(pool, store_config);

    order::SymbolDirectory symbols;
    order::OrderValidator validator(validation, symbols);
    // Buying power arrives with the portfolio service; until then every order passes that rule.
    order::UnlimitedBuyingPower buying_power;
    order::RiskChecker risk(buying_power);
    order::OrderAuth auth(*verifier);

    order::CircuitBreaker breaker(breaker_config, order::CircuitBreaker::defaultClock(),
                                  [&metrics](order::BreakerState from, order::BreakerState to) {
                                    metrics.circuit_state.Set(static_cast<double>(to));
                                    logging::warn("venue circuit breaker", {{"from", order::breakerStateName(from)},
                                                                            {"to", order::breakerStateName(to)}});
                                  });
    auto channel = order::makeVenueChannel(opts.venue, venue_config);
    order::VenueClient venue(channel, venue_config, breaker);
    order::RouterHooks hooks;
    hooks.routed = [&metrics](order::VenueOutcome o) { metrics.venueCall(o); };
    hooks.dropped = [&metrics] { metrics.route_dropped.Increment(); };
    hooks.rejected = [&metrics](const std::string& reason) { metrics.reject(reason); };
    order::OrderRouter router(store, venue, router_config, hooks);
    order::StreamPositionStore positions(pool, opts.venue_name);
    order::VenueSync sync(pool, store, router, positions, 64);
    order::ExecutionStream executions(channel, {}, sync, positions.load());

    // The store's session options too: the relay's read of the outbox's head is then an index
    // scan however the table looked when its plan was made.
    relay_config.pg_url = order::storeSessionUrl(opts.pg_url);
    relay_config.producer.brokers = opts.kafka_brokers;
    relay_config.producer.client_id = "order-outbox-relay";
    relay_config.notify_channel = store_config.notify_channel;
    order::OutboxRelay relay(relay_config);

    order::OrderUpdates updates(pool, {.brokers = opts.kafka_brokers, .topic = store_config.events_topic});
    order::OrderServiceImpl service({auth, validator, risk, symbols, store, router, updates, metrics});

    rpc::GrpcServer grpc(rpc::GrpcServerConfig{.listen = opts.grpc_listen, .max_idle_threads = opts.grpc_idle_threads});
    grpc.addService<order::v1::OrderService>(&service);
    grpc.start();  // NOT_SERVING until the symbol directory is loaded
    logging::info("order service listening", {{"listen", opts.grpc_listen}, {"port", grpc.port()}});

    relay.start();
    router.start();
    updates.start();
    const auto resent = router.resendAccepted(pool, 0ms);
    if (resent > 0) logging::info("accepted orders sent to the venue again", {{"orders", static_cast<long long>(resent)}});
    sync.start();
    executions.start();
    order::SnapshotFollower follower(opts.kafka_brokers, opts.snapshot_topic, symbols, [&] {
      health->setReady("symbols", true);
      grpc.setAllServing(true);
    });
    follower.start();

    std::uint64_t published = 0, failures = 0, reconnects = 0, reconciliations = 0, flagged = 0, unknown = 0;
    const auto mirror = [&] {
      observability::advance(metrics.outbox_published, relay.published(), published);
      observability::advance(metrics.outbox_failures, relay.failures(), failures);
      observability::advance(metrics.execution_stream_reconnects, executions.reconnects(), reconnects);
      observability::advance(metrics.reconciliations, executions.reconciliations(), reconciliations);
      observability::advance(metrics.reconcile_flagged, sync.flagged(), flagged);
      observability::advance(metrics.reconcile_unknown_at_venue, sync.unknownAtVenue(), unknown);
      metrics.outbox_lag_seconds.Set(static_cast<double>(relay.lagMs()) / 1000.0);
      metrics.outbox_relay_active.Set(relay.active() ? 1 : 0);
      metrics.execution_stream_live.Set(executions.live() ? 1 : 0);
    };
    // Every few seconds, orders still ACCEPTED well past the venue's retry budget (their NewOrder
    // outcome was unknown, or they were not queued) are sent again.
    const auto stale_after = venue_config.retry_budget * 2;
    for (int tick = 1; !shutdown.waitFor(1000ms); ++tick) {
      mirror();
      if (tick % 3 == 0) {
        try {
          router.resendAccepted(pool, stale_after);
        } catch (const std::exception& e) {
          logging::warn("re-sending stale accepted orders failed", {{"error", e.what()}});
        }
      }
    }

    // Drain: balancers stop sending, update streams end (clients resume elsewhere), in-flight
    // calls finish within the grace, then the background parts stop. Orders accepted but not yet
    // routed stay ACCEPTED and are sent by the next start; outbox rows wait for the next relay.
    logging::info("order service draining");
    follower.stop();  // first: its "caught up" must not mark the server SERVING again
    grpc.setAllServing(false);
    health->setReady("symbols", false, "draining");
    updates.stop();
    grpc.stop();
    // The router before the stream: a report the stream still applies may ask the router for a
    // cancel or a NewOrder (reconciliation), and a stopped router declines it (route() and
    // queueCancel() return), which leaves the order PENDING_CANCEL or ACCEPTED for the next
    // start's re-send. The other order would let the router's last replies apply acks with no
    // stream to follow them, equally safe; this one stops sending to the venue first.
    router.stop();
    executions.stop();
    sync.flushPosition();
    sync.stop();
    relay.stop();
    mirror();
    if (endpoint) endpoint->stop();
    logging::info("order service exiting", {{"submits_committed", static_cast<unsigned long long>(store.submitsCommitted())}});
    return 0;
  } catch (const std::exception& e) {
    logging::error("order service failed", {{"error", e.what()}});
    return 1;
  }
}
