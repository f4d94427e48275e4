#pragma once

#include <librdkafka/rdkafkacpp.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tickstream/kafka/config.h"

namespace tickstream::kafka {

struct ConsumerConfig {
  std::string brokers = "127.0.0.1:9092";  // bootstrap servers
  std::string group_id;                    // required for subscribe() and for commits
  std::string client_id = "tickstream";    // shows in broker logs
  std::string auto_offset_reset = "earliest";  // where to start without a committed offset
  int session_timeout_ms = 10'000;         // how soon the group notices a dead member
  int max_poll_interval_ms = 300'000;      // a member that does not poll this long is evicted
  Properties extra;                        // any other librdkafka property; wins over the above

  void validate() const;  // throws std::invalid_argument naming the field
  Properties toProperties() const;
};

// A topic, a partition and an offset: an assignment's start, or a position to commit.
struct TopicPartitionOffset {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = RdKafka::Topic::OFFSET_INVALID;  // or OFFSET_BEGINNING/END/STORED
  bool operator==(const TopicPartitionOffset&) const = default;
};

// One consumed record; owns librdkafka's message, so the views stay valid while it lives.
class Message {
 public:
  explicit Message(std::unique_ptr<RdKafka::Message> m) : m_(std::move(m)) {}
  bool ok() const { return m_->err() == RdKafka::ERR_NO_ERROR; }
  RdKafka::ErrorCode error() const { return m_->err(); }
  std::string errorString() const { return m_->errstr(); }
  std::string topic() const { return m_->topic_name(); }
  int32_t partition() const { return m_->partition(); }
  int64_t offset() const { return m_->offset(); }
  int64_t timestampMs() const { return m_->timestamp().timestamp; }
  std::string_view key() const {
    return m_->key_pointer() ? std::string_view(static_cast<const char*>(m_->key_pointer()), m_->key_len())
                             : std::string_view();
  }
  std::string_view payload() const {
    return std::string_view(static_cast<const char*>(m_->payload()), m_->len());
  }

 private:
  std::unique_ptr<RdKafka::Message> m_;
};

// Told when the consumer group moves partitions to or from this member (subscribe() only). Both
// run inside Consumer::poll(), on the polling thread. An exception thrown here is rethrown by
// that poll() (librdkafka's callback must not unwind through C).
class RebalanceListener {
 public:
  virtual ~RebalanceListener() = default;
  // Partitions given to this member. Set an offset to choose where each starts (e.g.
  // OFFSET_BEGINNING); one left at OFFSET_INVALID starts at the committed offset, or at
  // auto.offset.reset without one.
  virtual void onAssigned(std::vector<TopicPartitionOffset>& partitions) = 0;
  // Partitions taken away: whatever they produced should be flushed (and committed) now.
  virtual void onRevoked(const std::vector<TopicPartitionOffset>& partitions) = 0;
  // Partitions lost (the session expired: another member may own them already). Nothing may be
  // produced for them any more; by default treated as a revocation.
  virtual void onLost(const std::vector<TopicPartitionOffset>& partitions) { onRevoked(partitions); }
};

// An RAII Kafka consumer with explicit commits (auto-commit is off: a service commits what it
// has really processed). Either subscribe() to topics in a consumer group, or assign()
// partitions by hand (the gateway owns the partitions its shard ring gives it).
class Consumer {
 public:
  // `listener` (optional, not owned, must outlive the consumer) hears about rebalances.
  explicit Consumer(ConsumerConfig config, RebalanceListener* listener = nullptr);
  ~Consumer();  // close(): leaves the group; does not commit
  Consumer(const Consumer&) = delete;
  Consumer& operator=(const Consumer&) = delete;

  void subscribe(const std::vector<std::string>& topics);
  void assign(const std::vector<TopicPartitionOffset>& partitions);

  // The next record, a Message carrying an error (check ok()), or nothing on timeout.
  // Partition-EOF and transient broker errors are consumed here and not returned (waiting up
  // to `timeout` more after the first of them). A zero timeout never waits: what a loop uses to
  // drain the records already fetched.
  std::optional<Message> poll(std::chrono::milliseconds timeout);

  // Commits "processed up to and including `m`" (offset + 1), synchronously.
  void commit(const Message& m);
  // Commits these positions (next offset to read), synchronously.
  void commit(const std::vector<TopicPartitionOffset>& positions);
  // The same without waiting for the broker: throws only when the request cannot be sent; a
  // failure later is not reported (for progress commits that the next one supersedes).
  void commitAsync(const std::vector<TopicPartitionOffset>& positions);
  // The committed positions of these partitions (offset < 0 when none).
  std::vector<TopicPartitionOffset> committed(std::vector<TopicPartitionOffset> partitions,
                                              std::chrono::milliseconds timeout);
  std::vector<TopicPartitionOffset> assignment();
  // Low and high watermark of a partition (high = offset of the next record to be written).
  // Transient errors (no leader yet) are retried until `timeout`.
  std::pair<int64_t, int64_t> watermarks(const std::string& topic, int32_t partition,
                                         std::chrono::milliseconds timeout);

  // The earliest offset whose record timestamp is >= `timestamp_ms` (the high watermark when
  // none is).
  int64_t offsetForTime(const std::string& topic, int32_t partition, int64_t timestamp_ms,
                        std::chrono::milliseconds timeout);

  void close();
  RdKafka::KafkaConsumer& native() { return *consumer_; }

 private:
  class Rebalance;

  ConsumerConfig config_;
  std::unique_ptr<Rebalance> rebalance_;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
  bool closed_ = false;
};

}  // namespace tickstream::kafka
