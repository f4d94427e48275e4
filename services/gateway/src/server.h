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

#include "delivery_stats.h"
#include "dirty_set.h"
#include "gateway_config.h"
#include "gateway_metrics.h"
#include "symbol_store.h"
#include "topic.h"
#include "write_batch.h"
#include "tickstream/auth/jwt.h"
#include "tickstream/auth/rate_limiter.h"
#include "tickstream/sharding/ring.h"
#include "tickstream/ws/handshake.h"

// The gateway shard's network side, on one I/O thread: accepts connections, upgrades them to
// WebSocket (libs/ws), serves /v1/route and the static page on the same port, keeps a Topic
// per subscribed symbol, and fans each md.ticks update out: the update becomes its topic's
// newest (encoded once per (encoding, modes) variant, when first pulled), its subscribers are
// marked, and a sweep over the marked connections in index order has each pull what is new
// for it in one write (sweep(), DirtySet). Everything here runs on the io_context's thread; the Kafka side hands
// data in with post() (TickSource).
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
  // Writes and delivery latencies, added to metrics() once per tick.
  [[nodiscard]] DeliveryStats& deliveryStats() noexcept { return delivery_stats_; }
  [[nodiscard]] const ws::HandshakeConfig& handshakeConfig() const noexcept { return handshake_; }
  // Adds subscription `slot` of the connection with `index` to the symbol's subscribers and
  // returns the symbol's topic (stable for the server's life: subscriptions hold the pointer).
  Topic* subscribe(std::string_view symbol, uint32_t index, uint32_t slot);
  void unsubscribe(Topic& topic, uint32_t index);
  // The connection's subscription to `topic` moved from slot `from` to slot `to`.
  void moveSubscriber(Topic& topic, uint32_t index, uint32_t from, uint32_t to);
  void closed(const std::shared_ptr<Connection>& c);
  // A subscriber (packSubscriber) has something to pull: the sweep writes its connection when
  // it gets there, looking at the marked slots only.
  void markDirty(uint32_t subscriber) {
    const uint32_t index = subscriberIndex(subscriber);
    slots_[index] |= subscriberSlotBit(subscriber);
    wake(index);
  }
  // The connection with `index` is written by the sweep (it looks at the slots it kept).
  void wake(uint32_t index) {
    dirty_.mark(index);
    if (!sweep_posted_) {
      postSweep();
    }
  }
  // The connection with `index` holds back an update (its min interval): marked again by the
  // 10 ms timer.
  void deferred(uint32_t index) { deferred_.push_back(index); }
  // Plain HTTP on the WebSocket port: /v1/route, /healthz, static files.
  std::string httpResponse(const ws::HttpRequest& request);
  [[nodiscard]] std::string endpointOf(int32_t shard) const;
  [[nodiscard]] bool draining() const noexcept { return draining_; }
  // The read buffer every connection reads into (one I/O thread: one read at a time).
  [[nodiscard]] std::span<uint8_t> readBuffer() noexcept { return read_buffer_; }
  // The write every connection builds its next write in (one I/O thread: one at a time).
  [[nodiscard]] WriteBatch& writeBatch() noexcept { return write_batch_; }

private:
  void accept();
  // Timeouts and pings (Connection::housekeeping) of the next slice of connections.
  void housekeepSlice(int64_t now);
  // A slice of the sweep: the next kSweepSlice marked connections (in index order, wrapping)
  // pull and write what is new for them; then the I/O thread runs what queued meanwhile
  // (md.ticks batches mark more connections) before the next slice.
  void sweep();
  void postSweep();
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
  // Housekeeping goes through by_index_ a slice per tick (tick()); where the next slice starts,
  // and the subscriptions counted since the pass began (for the gauge).
  std::size_t housekeep_cursor_ = 0;
  std::size_t housekept_subscriptions_ = 0;
  auth::KeyedRateLimiter upgrades_;
  std::unordered_set<std::shared_ptr<Connection>> connections_;
  // Connections by index, a small number reused after a close: topics list their subscribers
  // by index, so marking one touches only dirty_, not the connection (at ~200 subscribers per
  // update, a cache miss per subscriber was the fan-out's main cost).
  std::vector<Connection*> by_index_;
  std::vector<uint32_t> free_indices_;
  DirtySet dirty_;                      // indices with something to write
  std::vector<uint64_t> slots_;         // by index: slot bits marked since its last write
  bool sweep_posted_ = false;           // a sweep() is queued on the I/O thread
  // Topics are never erased (a symbol's list may become empty): subscriptions point at them,
  // and a node-based map keeps them in place.
  std::unordered_map<std::string, Topic> topics_;
  std::vector<uint8_t> read_buffer_ = std::vector<uint8_t>(64 * 1024);
  WriteBatch write_batch_;
  DeliveryStats delivery_stats_;
  std::vector<uint32_t> deferred_;      // indices; a duplicate or a reused index costs a no-op pull
  bool draining_ = false;
};

} // namespace tickstream::gateway
