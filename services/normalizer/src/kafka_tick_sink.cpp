#include "kafka_tick_sink.h"

#include <utility>

#include "tickstream/runtime/logging.h"

namespace tickstream::normalizer {

using namespace std::chrono_literals;

KafkaTickSink::KafkaTickSink(KafkaTickSinkConfig config, kafka::Producer& producer)
    : config_(std::move(config)), producer_(producer) {}

void KafkaTickSink::emit(std::string_view symbol, const marketdata::v1::MarketDataUpdate& update,
                         const marketdata::v1::SymbolSnapshot* snapshot) {
  PendingSnapshot* slot = nullptr;
  if (snapshot != nullptr) {
    slot = takeSlot();
    slot->key.assign(symbol);
    snapshot->SerializeToString(&slot->bytes);  // reuses the slot's capacity
  }
  update.SerializeToString(&buffer_);
  if (!send(config_.ticks_topic, symbol, buffer_, slot, 1000ms) && slot != nullptr) {
    giveBack(slot);
  }
}

void KafkaTickSink::onDelivery(const kafka::DeliveryReport& report) {
  auto* slot = static_cast<PendingSnapshot*>(report.opaque);
  if (slot == nullptr) {
    return;  // a snapshot, or an update without one
  }
  if (report.error == RdKafka::ERR_NO_ERROR) {
    // Never block here: this is the thread that frees the producer's queue.
    send(config_.snapshot_topic, slot->key, slot->bytes, nullptr, 0ms);
  }
  giveBack(slot);
}

bool KafkaTickSink::send(const std::string& topic, std::string_view key, std::string_view value,
                         PendingSnapshot* slot, std::chrono::milliseconds max_block) {
  const kafka::ProduceResult r =
      producer_.produce(topic, key, value, kafka::Producer::kAnyPartition, slot, max_block);
  if (r == kafka::ProduceResult::Ok) {
    return true;
  }
  const uint64_t failed = produce_failed_.fetch_add(1, std::memory_order_relaxed) + 1;
  // Sampled: a broker outage would otherwise log once per tick.
  if (failed <= 10 || failed % 10'000 == 0) {
    logging::error("produce failed", {{"topic", topic},
                                      {"symbol", key},
                                      {"result", static_cast<int>(r)},
                                      {"failed", static_cast<unsigned long long>(failed)}});
  }
  return false;
}

KafkaTickSink::PendingSnapshot* KafkaTickSink::takeSlot() {
  std::lock_guard lock(slots_mu_);
  if (free_slots_.empty()) {
    return new PendingSnapshot();  // owned by the producer's queue until giveBack()
  }
  PendingSnapshot* slot = free_slots_.back().release();
  free_slots_.pop_back();
  return slot;
}

void KafkaTickSink::giveBack(PendingSnapshot* slot) {
  std::lock_guard lock(slots_mu_);
  free_slots_.emplace_back(slot);
}

uint64_t KafkaTickSink::produceFailed() const noexcept {
  return produce_failed_.load(std::memory_order_relaxed);
}

} // namespace tickstream::normalizer
