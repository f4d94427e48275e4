#pragma once

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
  Backpressure, // the sink stayed full: the message was not taken
  Failed,       // the sink cannot take this message (or any more)
};

[[nodiscard]] std::string_view toString(PublishResult result) noexcept;

class Publisher {
public:
  virtual ~Publisher() = default;
  // `symbol_key` is the Kafka key. An empty key means a market-wide message, which every
  // consumer must see (docs/contracts.md: md.raw), so it goes to every partition. The bytes are
  // copied before the call returns; neither view is kept.
  virtual PublishResult publish(std::string_view symbol_key, std::string_view bytes) = 0;
};

struct KafkaPublisherConfig {
  std::string topic = "md.raw"; // where RawFeedMessages go
  int32_t partitions = 64;      // md.raw's partition count: a market-wide message goes to each

  // Throws std::invalid_argument naming the field.
  void validate() const;
};

// Keyed messages go to the partition the producer's (Java-compatible) partitioner picks for the
// key; market-wide messages are produced once to each partition 0..partitions-1.
class KafkaPublisher final : public Publisher {
public:
  // `producer` is not owned and must outlive the publisher. Throws on a bad config.
  KafkaPublisher(kafka::Producer& producer, KafkaPublisherConfig config);
  PublishResult publish(std::string_view symbol_key, std::string_view bytes) override;

private:
  kafka::Producer& producer_;
  KafkaPublisherConfig config_;
};

// Keeps everything published, in order. For tests.
class MemoryPublisher final : public Publisher {
public:
  struct Record {
    std::string key;
    std::string bytes;
  };

  PublishResult publish(std::string_view symbol_key, std::string_view bytes) override;

  // What the next publish() returns (and whether it keeps the message: only when Ok).
  void setResult(PublishResult result) noexcept { result_ = result; }
  [[nodiscard]] const std::vector<Record>& records() const noexcept { return records_; }
  void clear() noexcept { records_.clear(); }

private:
  std::vector<Record> records_;
  PublishResult result_ = PublishResult::Ok;
};

} // namespace tickstream::ingestion
