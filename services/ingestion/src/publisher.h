#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tickstream::kafka {
class Producer;
} // namespace tickstream::kafka

// Where the feed handler sends each encoded RawFeedMessage: Kafka (md.raw) in production, memory
// in a unit test. This is the seam that lets the handler be tested without a broker.
namespace tickstream::ingestion {

enum class PublishResult {
  Ok,           // accepted (queued for delivery)
  Held,         // already in the sink from before a restart (resumeAfter): not sent again
  Backpressure, // the sink stayed full until it was stopped: the message was not taken
  Failed,       // the sink cannot take this message (or any more)
};

[[nodiscard]] std::string_view toString(PublishResult result) noexcept;

class Publisher {
public:
  virtual ~Publisher() = default;
  // `symbol_key` is the Kafka key. An empty key means a market-wide message, which every
  // consumer must see (docs/contracts.md: md.raw), so it goes to every partition. `sequence` is
  // the message's feed sequence number. The bytes are copied before the call returns; neither
  // view is kept.
  virtual PublishResult publish(std::string_view symbol_key, std::string_view bytes,
                                uint64_t sequence) = 0;
};

struct KafkaPublisherConfig {
  std::string topic = "md.raw"; // where RawFeedMessages go
  int32_t partitions = 64;      // md.raw's partition count: a market-wide message goes to each

  // Throws std::invalid_argument naming the field.
  void validate() const;
};

// Keyed messages go to the partition Kafka's Java-compatible partitioner gives the key
// (sharding::partitionForKey, computed here so the resume check below and the record agree);
// market-wide messages are produced once to each partition 0..partitions-1.
//
// Nothing is dropped for a full queue: publish() waits for room for as long as it takes (the
// feed then stops reading, and TCP holds the venue back), until stop().
class KafkaPublisher final : public Publisher {
public:
  // `producer` is not owned and must outlive the publisher. Throws on a bad config.
  KafkaPublisher(kafka::Producer& producer, KafkaPublisherConfig config);
  PublishResult publish(std::string_view symbol_key, std::string_view bytes,
                        uint64_t sequence) override;

  // After a restart: partition p already holds every message up to sequence
  // `published_through[p]` (the last record's, read at start-up; 0 = none), because one
  // idempotent producer writes each partition in sequence order. Those are answered Held.
  void resumeAfter(std::vector<uint64_t> published_through);
  // Ends a wait for room (shutdown): that publish() and every later one return Backpressure,
  // so nothing after a message left out reaches md.raw. Any thread.
  void stop() noexcept { stopping_.store(true, std::memory_order_relaxed); }

private:
  PublishResult produce(int32_t partition, std::string_view key, std::string_view bytes);

  kafka::Producer& producer_;
  KafkaPublisherConfig config_;
  std::vector<uint64_t> published_through_;  // by partition; empty when nothing is held
  uint64_t held_below_ = 0;                  // max of published_through_: nothing above is held
  std::atomic<bool> stopping_{false};
};

// Keeps everything published, in order. For tests.
class MemoryPublisher final : public Publisher {
public:
  struct Record {
    std::string key;
    std::string bytes;
  };

  PublishResult publish(std::string_view symbol_key, std::string_view bytes,
                        uint64_t sequence) override;

  // What the next publish() returns (and whether it keeps the message: only when Ok).
  void setResult(PublishResult result) noexcept { result_ = result; }
  [[nodiscard]] const std::vector<Record>& records() const noexcept { return records_; }
  void clear() noexcept { records_.clear(); }

private:
  std::vector<Record> records_;
  PublishResult result_ = PublishResult::Ok;
};

} // namespace tickstream::ingestion
