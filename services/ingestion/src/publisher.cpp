#include "publisher.h"

#include <stdexcept>

#include "tickstream/kafka/producer.h"

namespace tickstream::ingestion {

std::string_view toString(PublishResult result) noexcept {
  switch (result) {
  case PublishResult::Ok:
    return "ok";
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

namespace {
PublishResult fromProduce(kafka::ProduceResult r) noexcept {
  switch (r) {
  case kafka::ProduceResult::Ok:
    return PublishResult::Ok;
  case kafka::ProduceResult::QueueFull:
    return PublishResult::Backpressure;
  case kafka::ProduceResult::Fatal:
  case kafka::ProduceResult::Rejected:
    return PublishResult::Failed;
  }
  return PublishResult::Failed;
}
} // namespace

PublishResult KafkaPublisher::publish(std::string_view symbol_key, std::string_view bytes) {
  if (!symbol_key.empty()) {
    return fromProduce(producer_.produce(config_.topic, symbol_key, bytes));
  }
  // Market-wide: every normalizer instance must see it, whichever partitions it owns. The first
  // partition that fails decides the result (the rest are still attempted).
  PublishResult result = PublishResult::Ok;
  for (int32_t p = 0; p < config_.partitions; ++p) {
    const PublishResult r = fromProduce(producer_.produce(config_.topic, {}, bytes, p));
    if (r != PublishResult::Ok && result == PublishResult::Ok) {
      result = r;
    }
  }
  return result;
}

PublishResult MemoryPublisher::publish(std::string_view symbol_key, std::string_view bytes) {
  if (result_ == PublishResult::Ok) {
    records_.push_back({std::string(symbol_key), std::string(bytes)});
  }
  return result_;
}

} // namespace tickstream::ingestion
