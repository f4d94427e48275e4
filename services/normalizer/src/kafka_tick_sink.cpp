#include "kafka_tick_sink.h"

#include <utility>

#include "tickstream/runtime/logging.h"

namespace tickstream::normalizer {

KafkaTickSink::KafkaTickSink(KafkaTickSinkConfig config, kafka::Producer& producer)
    : config_(std::move(config)), producer_(producer) {}

void KafkaTickSink::emit(std::string_view symbol,
                         const marketdata::v1::MarketDataUpdate& update) {
  update.SerializeToString(&buffer_);
  send(config_.ticks_topic, symbol);
}

void KafkaTickSink::snapshot(std::string_view symbol,
                             const marketdata::v1::SymbolSnapshot& snapshot) {
  snapshot.SerializeToString(&buffer_);
  send(config_.snapshot_topic, symbol);
}

void KafkaTickSink::send(const std::string& topic, std::string_view symbol) {
  const kafka::ProduceResult r = producer_.produce(topic, symbol, buffer_);
  if (r != kafka::ProduceResult::Ok) {
    // Sampled: a broker outage would otherwise log once per tick.
    if (produce_failed_ < 10 || produce_failed_ % 10'000 == 0) {
      logging::error("produce failed", {{"topic", topic},
                                        {"symbol", symbol},
                                        {"result", static_cast<int>(r)},
                                        {"failed", static_cast<unsigned long long>(produce_failed_ + 1)}});
    }
    ++produce_failed_;
  }
}

} // namespace tickstream::normalizer
