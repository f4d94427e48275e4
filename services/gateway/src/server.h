#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "gateway_config.h"
#include "gateway_metrics.h"
#include "symbol_store.h"
#include "tickstream/auth/jwt.h"
#include "tickstream/auth/rate_limiter.h"
#include "tickstream/sharding/ring.h"
#include "tickstream/ws/handshake.h"

// The gateway shard's network side, on one I/O thread: accepts connections, upgrades them to
// WebSocket (libs/ws), serves /v1/route and the static page on the same port, keeps the
// symbol -> subscribers index, and fans each md.ticks update out to the subscribers, encoded
// once per (encoding, modes) variant. Everything here runs on the io_context's thread; the
// Kafka side hands data in with post() (TickSource).
namespace tickstream::gateway {

class Connection;
class GrpcStreams;

class Server {
public:
  // `store` and `ring` must outlive the server; `metrics` may be null.
  Server(boost::asio::io_context& io, GatewayConfig config, SymbolStore& store,
         const sharding::ShardRing& ring, GatewayMetrics* metrics);
  ~Server();

  // Binds and starts accepting; throws std::runtime_error when the port cannot be bound.
  void start();
  [[nodiscard]] uint16_t port() const noexcept { return port_; }

  // gRPC Subscribe streams to offer updates to as well (before start(); may stay unset).
  void setGrpcStreams(GrpcStreams* streams) noexcept { grpc_streams_ = streams; }

  // From md.snapshot, before ready (TickSource posts these).
  void loadSnapshots(const std::vector<marketdata::v1::SymbolSnapshot>& snapshots);
  // From md.ticks: applied to the store, then offered to the subscribers.
  void onUpdates(const std::vector<UpdatePtr>& updates);

  // SIGTERM: stop accepting, send every client Reconnect, close them after the grace period.
  // Calls `done` on the I/O thread once every connection is gone (or the grace has passed).
  void drain(std::function<void()> done);

  // --- used by Connection ---
  [[nodiscard]] const GatewayConfig& config() const noexcept { return config_; }
  [[nodiscard]] SymbolStore& store() noexcept { return store_; }
  [[nodiscard]] const sharding::ShardRing& ring() const noexcept { return ring_; }
  [[nodiscard]] const std::optional<auth::Verifier>& verifier() const noexcept { return verifier_; }
  [[nodiscard]] GatewayMetrics* metrics() noexcept { return metrics_; }
  [[nodiscard]] const ws::HandshakeConfig& handshakeConfig() const noexcept { return handshake_; }
  // Adds `c`'s subscription in `slot` to the symbol's subscribers and returns the symbol's name
  // as the server keeps it (stable for the server's life: connections hold the pointer).
  const std::string* subscribe(std::string_view symbol, Connection* c, uint32_t slot);
  // `c`'s subscription to `symbol` now lives in `slot` (Connection::removeSub moved it).
  void moveSubscription(std::string_view symbol, Connection* c, uint32_t slot);
  void unsubscribe(std::string_view symbol, Connection* c);
  void closed(const std::shared_ptr<Connection>& c);
  // A connection holds a deferred update (min interval): checked by the 10 ms timer.
  void deferred(Connection* c) { deferred_.insert(c); }
  // `c` has updates ready: written at the end of the batch being fanned out.
  void queueFlush(std::shared_ptr<Connection> c) { flush_queue_.push_back(std::move(c)); }
  // Plain HTTP on the WebSocket port: /v1/route, /healthz, static files.
  std::string httpResponse(const ws::HttpRequest& request);
  [[nodiscard]] std::string endpointOf(int32_t shard) const;
  [[nodiscard]] bool draining() const noexcept { return draining_; }
  // The read buffer every connection reads into (one I/O thread: one read at a time).
  [[nodiscard]] std::span<uint8_t> readBuffer() noexcept { return read_buffer_; }

private:
  void accept();
  // Writes every connection queued by queueFlush().
  void flushQueued();
  // A new connection: the per-IP upgrade limit, socket options, then its Connection.
  void admit(boost::asio::ip::tcp::socket socket);
  void tick();
  std::string routeResponse(std::string_view query);

  boost::asio::io_context& io_;
  GatewayConfig config_;
  SymbolStore& store_;
  const sharding::ShardRing& ring_;
  GatewayMetrics* metrics_;
  GrpcStreams* grpc_streams_ = nullptr;
  std::optional<auth::Verifier> verifier_;
  ws::HandshakeConfig handshake_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer timer_;
  boost::asio::steady_timer accept_retry_;  // re-arms accept after an error (e.g. EMFILE)
  uint16_t port_ = 0;
  uint64_t ticks_ = 0;
  auth::KeyedRateLimiter upgrades_;
  std::unordered_set<std::shared_ptr<Connection>> connections_;
  // Entries are never erased (a symbol's list may become empty): the keys' addresses are the
  // interned names connections hold.
  struct Subscriber {
    Connection* connection;
    uint32_t slot;  // the subscription's index in the connection: no search per update
  };
  std::unordered_map<std::string, std::vector<Subscriber>> subscribers_;
  std::vector<uint8_t> read_buffer_ = std::vector<uint8_t>(64 * 1024);
  std::unordered_set<Connection*> deferred_;
  std::vector<Subscriber> fanout_;  // reused: the subscribers of the update being fanned out
  // Connections with updates ready in this batch; owning, since one may close meanwhile.
  std::vector<std::shared_ptr<Connection>> flush_queue_;
  bool draining_ = false;
};

} // namespace tickstream::gateway
