#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "tickstream/kafka/producer.h"

// Publishes the order service's transactional outbox to Kafka (docs/order.md, "Outbox relay").
// One thread: read the oldest rows in id order (each a transaction's records, outbox_records.h),
// produce their records with the idempotent producer in that order, wait for the broker's
// acknowledgements, delete exactly the rows whose every record was acknowledged, again.
// Rows leave the table only after Kafka has them, so nothing is lost across a crash, a
// PostgreSQL restart or a Kafka outage; a crash between the acknowledgement and the DELETE
// publishes those rows again, which consumers drop by (account, account_seq).
namespace tickstream::order {

struct OutboxRelayConfig {
  // PostgreSQL URL. The relay opens its own session: the advisory lock and LISTEN belong to a
  // session, which a pooled connection must not keep.
  std::string pg_url;
  // The producer (brokers, ...). The relay forces idempotence and gapless delivery on it.
  kafka::ProducerConfig producer;
  // Most rows read, produced and deleted per round (each holds one transaction's records: up to
  // a few hundred under load).
  int batch_size = 200;
  // Longest sleep between rounds without a NOTIFY; also how often a standby relay tries the lock.
  std::chrono::milliseconds poll_interval{200};
  // NOTIFY channel the store signals on commit (OrderStoreConfig::notify_channel); empty: poll only.
  std::string notify_channel = "tickstream_outbox";
  // Advisory lock key that admits one relay per database; replicas must agree on it.
  std::int64_t lock_key = 0x6f7574626f785f31;  // "outbox_1"
  // Pause after a failure (database lost, broker down), doubling up to the max.
  std::chrono::milliseconds retry_backoff_min{100};
  std::chrono::milliseconds retry_backoff_max{5000};

  // Throws std::invalid_argument naming the first bad field.
  void validate() const;
};

class OutboxRelay {
 public:
  // Validates the config; start() begins relaying.
  explicit OutboxRelay(OutboxRelayConfig config);
  ~OutboxRelay();  // stop()
  OutboxRelay(const OutboxRelay&) = delete;
  OutboxRelay& operator=(const OutboxRelay&) = delete;

  void start();
  // Returns once the thread has ended: the current round is finished or abandoned (rows not yet
  // deleted are published again by the next relay), the lock released.
  void stop();

  // Whether this relay holds the lock (false: standby, or reconnecting).
  bool active() const { return active_.load(std::memory_order_relaxed); }
  // Records published whose rows were deleted, since start.
  std::uint64_t published() const { return published_.load(std::memory_order_relaxed); }
  // Age of the oldest row at the last read (0 when the outbox was empty): the outbox lag metric.
  std::int64_t lagMs() const { return lag_ms_.load(std::memory_order_relaxed); }
  // Rounds that failed (database or broker errors), for a metric and for tests.
  std::uint64_t failures() const { return failures_.load(std::memory_order_relaxed); }

 private:
  void run();
  // One session: connect, take the lock, relay until stopped or an error.
  void session();
  // Sleeps up to `d`, waking early on stop(); false once stopping.
  bool pause(std::chrono::milliseconds d);
  bool stopping() const { return stop_.load(std::memory_order_relaxed); }

  OutboxRelayConfig config_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> active_{false};
  std::atomic<std::uint64_t> published_{0};
  std::atomic<std::int64_t> lag_ms_{0};
  std::atomic<std::uint64_t> failures_{0};
};

}  // namespace tickstream::order
