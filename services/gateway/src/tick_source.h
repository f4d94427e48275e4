#pragma once

#include <boost/asio/io_context.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "gateway_metrics.h"
#include "server.h"

// The gateway shard's Kafka side, on a thread of its own: loads the latest state of the
// partitions this shard owns from md.snapshot, then follows md.ticks on exactly those
// partitions (manual assignment, no consumer group: ownership comes from the shard ring), and
// hands everything to the Server on its I/O thread in batches.
namespace tickstream::gateway {

struct TickSourceConfig {
  std::string brokers = "127.0.0.1:9092";
  std::string ticks_topic = "md.ticks";
  std::string snapshot_topic = "md.snapshot";
  std::vector<int32_t> partitions;  // owned by this shard (ShardRing::partitionsOf)
  // md.ticks is read from this long before start-up: a snapshot is written only once its update
  // is acknowledged and at most once per symbol per snapshot interval (1 s by default), so
  // recent updates may be missing from md.snapshot; the store drops the ones it already has by
  // seq.
  int64_t lookback_ms = 120'000;
  // Batches of updates handed to the I/O thread and not yet applied. At the bound the Kafka
  // thread stops fetching until the I/O thread catches up: a busy I/O thread then shows as
  // consumer lag (gateway_consumer_lag) instead of an ever-growing queue in memory.
  int max_batches_in_flight = 64;
  std::string client_id = "gateway";
};

class TickSource {
public:
  // `on_ready` runs on the I/O thread once md.snapshot is loaded; `on_fatal` (any thread) when
  // the source cannot go on.
  TickSource(TickSourceConfig config, boost::asio::io_context& io, Server& server,
             GatewayMetrics* metrics, std::function<void()> on_ready,
             std::function<void(std::string)> on_fatal);
  ~TickSource();  // stop()

  void start();
  void stop();

private:
  void run();

  TickSourceConfig config_;
  boost::asio::io_context& io_;
  Server& server_;
  GatewayMetrics* metrics_;
  std::function<void()> on_ready_;
  std::function<void(std::string)> on_fatal_;
  std::atomic<bool> stop_{false};
  std::atomic<int> batches_in_flight_{0};  // posted to the I/O thread, not yet applied
  std::thread thread_;
};

} // namespace tickstream::gateway
