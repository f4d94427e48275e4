#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "tick_sink.h"
#include "tickstream/kafka/producer.h"

// The production TickSink: MarketDataUpdates to md.ticks and SymbolSnapshots to the compacted
// md.snapshot, both keyed by symbol, so a symbol's ticks and its snapshot land on the same
// partition number as its md.raw records (same key, same partitioner, same partition count).
//
// A snapshot is produced only once Kafka has acknowledged its update: md.snapshot then never
// describes an update md.ticks does not hold, which is what a restart relies on. The snapshot
// waits in a slot handed to the producer as the update's opaque; the producer's delivery thread
// calls onDelivery(), which produces it (or drops it if the update failed).
namespace tickstream::normalizer {

struct KafkaTickSinkConfig {
  std::string ticks_topic = "md.ticks";        // where MarketDataUpdates go
  std::string snapshot_topic = "md.snapshot";  // where SymbolSnapshots go (compacted)
};

class KafkaTickSink final : public TickSink {
public:
  // `producer` is not owned and must outlive the sink; its DeliveryCallback must forward to
  // onDelivery() (the producer is built first, so main wires the two).
  KafkaTickSink(KafkaTickSinkConfig config, kafka::Producer& producer);

  void emit(std::string_view symbol, const marketdata::v1::MarketDataUpdate& update,
            const marketdata::v1::SymbolSnapshot* snapshot) override;

  // From the producer's delivery thread.
  void onDelivery(const kafka::DeliveryReport& report);

  // Records the producer refused (queue full for the whole wait, fatal, rejected): lost.
  [[nodiscard]] uint64_t produceFailed() const noexcept;

private:
  // A snapshot waiting for its update's acknowledgement.
  struct PendingSnapshot {
    std::string key;
    std::string bytes;
  };

  bool send(const std::string& topic, std::string_view key, std::string_view value,
            PendingSnapshot* slot, std::chrono::milliseconds max_block);
  PendingSnapshot* takeSlot();
  void giveBack(PendingSnapshot* slot);

  KafkaTickSinkConfig config_;
  kafka::Producer& producer_;
  std::string buffer_;  // reused for every update: the producer copies it into its queue
  std::mutex slots_mu_;  // the emitting thread takes slots, the delivery thread returns them
  std::vector<std::unique_ptr<PendingSnapshot>> free_slots_;
  std::atomic<uint64_t> produce_failed_{0};
};

} // namespace tickstream::normalizer
