#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "tick_sink.h"
#include "tickstream/kafka/producer.h"

// The production TickSink: MarketDataUpdates to md.ticks and SymbolSnapshots to the compacted
// md.snapshot, both keyed by symbol, so a symbol's ticks and its snapshot land on the same
// partition number as its md.raw records (same key, same partitioner, same partition count).
namespace tickstream::normalizer {

struct KafkaTickSinkConfig {
  std::string ticks_topic = "md.ticks";        // where MarketDataUpdates go
  std::string snapshot_topic = "md.snapshot";  // where SymbolSnapshots go (compacted)
};

class KafkaTickSink final : public TickSink {
public:
  // `producer` is not owned and must outlive the sink.
  KafkaTickSink(KafkaTickSinkConfig config, kafka::Producer& producer);

  void emit(std::string_view symbol, const marketdata::v1::MarketDataUpdate& update) override;
  void snapshot(std::string_view symbol, const marketdata::v1::SymbolSnapshot& snapshot) override;

  // Records the producer refused (queue full for the whole wait, fatal, rejected): lost.
  [[nodiscard]] uint64_t produceFailed() const noexcept { return produce_failed_; }

private:
  void send(const std::string& topic, std::string_view symbol);

  KafkaTickSinkConfig config_;
  kafka::Producer& producer_;
  std::string buffer_;  // reused for every record: the producer copies it into its queue
  uint64_t produce_failed_ = 0;
};

} // namespace tickstream::normalizer
