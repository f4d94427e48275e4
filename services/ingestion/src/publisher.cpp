#include "publisher.h"

#include <algorithm>
#include <chrono>
#include <stdexcept>

#include "tickstream/kafka/producer.h"
#include "tickstream/runtime/logging.h"
#include "tickstream/sharding/partitioner.h"

namespace tickstream::ingestion {

std::string_view toString(PublishResult result) noexcept {
  switch (result) {
  case PublishResult::Ok:
    return "ok";
  case PublishResult::Held:
    return "held";
  case PublishResult::Backpressure:
    return "backpressure";
  case PublishResult::Failed:
    return "failed";
  }
  return "unknown";
}

void KafkaPublisherConfig::validate() const {
  if (topic.empty()) {
    throw std::invalid_argument("KafkaPublisherConfig.topic: must not be empty");
  }
  if (partitions < 1) {
    throw std::invalid_argument("KafkaPublisherConfig.partitions: must be >= 1");
  }
}

KafkaPublisher::KafkaPublisher(kafka::Producer& producer, KafkaPublisherConfig config)
    : producer_(producer), config_(std::move(config)) {
  config_.validate();
}

void KafkaPublisher::resumeAfter(std::vector<uint64_t> published_through) {
  if (published_through.size() != static_cast<std::size_t>(config_.partitions)) {
    throw std::invalid_argument("KafkaPublisher::resumeAfter: one sequence per partition");
  }
  held_below_ = *std::max_element(published_through.begin(), published_through.end());
  published_through_ = std::move(published_through);
}

PublishResult KafkaPublisher::produce(int32_t partition, std::string_view key, std::string_view bytes) {
  for (int waits = 0;; ++waits) {
    switch (producer_.produce(config_.topic, key, bytes, partition)) {
    case kafka::ProduceResult::Ok:
      return PublishResult::Ok;
    case kafka::ProduceResult::QueueFull:
      // The queue stayed full for a second (the broker is slow or away). Dropping the message
      // would lose it for good: the venue has moved past it. Wait instead.
      if (stopping_.load(std::memory_order_relaxed)) {
        return PublishResult::Backpressure;
      }
      if (waits % 10 == 0) {
        logging::warn("md.raw queue full: waiting for Kafka", {{"topic", config_.topic}, {"seconds", waits}});
      }
      continue;
    case kafka::ProduceResult::Fatal:
    case kafka::ProduceResult::Rejected:
      return PublishResult::Failed;
    }
    return PublishResult::Failed;
  }
}

PublishResult KafkaPublisher::publish(std::string_view symbol_key, std::string_view bytes, uint64_t sequence) {
  if (stopping_.load(std::memory_order_relaxed)) {
    // Sticky: once one message was not taken, none after it may be, or md.raw would hold a gap
    // that the next start's resume takes for published (it resumes after a partition's last).
    return PublishResult::Backpressure;
  }
  const bool holding = sequence <= held_below_;
  if (!symbol_key.empty()) {
    const int32_t p = sharding::partitionForKey(symbol_key, config_.partitions);
    if (holding && sequence <= published_through_[static_cast<std::size_t>(p)]) {
      return PublishResult::Held;
    }
    return produce(p, symbol_key, bytes);
  }
  // Market-wide: every normalizer instance must see it, whichever partitions it owns. The first
  // partition that fails decides the result (the rest are still attempted).
  PublishResult result = PublishResult::Held;
  for (int32_t p = 0; p < config_.partitions; ++p) {
    if (holding && sequence <= published_through_[static_cast<std::size_t>(p)]) {
      continue;
    }
    const PublishResult r = produce(p, {}, bytes);
    if (result == PublishResult::Held || (r != PublishResult::Ok && result == PublishResult::Ok)) {
      result = r;
    }
  }
  return result;
}

PublishResult MemoryPublisher::publish(std::string_view symbol_key, std::string_view bytes,
                                       uint64_t /*sequence*/) {
  if (result_ == PublishResult::Ok) {
    records_.push_back({std::string(symbol_key), std::string(bytes)});
  }
  return result_;
}

} // namespace tickstream::ingestion
