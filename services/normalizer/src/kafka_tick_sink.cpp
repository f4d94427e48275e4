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
    if (config_.snapshot_interval.count() == 0) {
      // Never block here: this is the thread that frees the producer's queue.
      send(config_.snapshot_topic, slot->key, slot->bytes, nullptr, 0ms);
    } else {
      const auto now = std::chrono::steady_clock::now();
      std::lock_guard lock(throttle_mu_);
      auto [it, fresh] = throttles_.try_emplace(slot->key);
      Throttle& t = it->second;
      if (fresh) {
        t.key = slot->key;
      }
      if (now >= t.next) {
        sendSnapshot(t, slot->bytes, now);  // also supersedes a parked older one
      } else {
        t.parked.swap(slot->bytes);  // the slot takes the old buffer back for reuse
        if (!t.is_parked) {
          t.is_parked = true;
          parked_.push_back(&t);
        }
      }
    }
  }
  giveBack(slot);
}

void KafkaTickSink::sendSnapshot(Throttle& t, std::string_view bytes,
                                 std::chrono::steady_clock::time_point now) {
  send(config_.snapshot_topic, t.key, bytes, nullptr, 0ms);
  t.next = now + config_.snapshot_interval;
  t.is_parked = false;  // parked_ drops it at the next releaseDue()
}

size_t KafkaTickSink::releaseDue(bool all) {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(throttle_mu_);
  size_t sent = 0;
  std::erase_if(parked_, [&](Throttle* t) {
    if (!t->is_parked) {
      return true;  // a newer snapshot went out directly
    }
    if (!all && now < t->next) {
      return false;
    }
    sendSnapshot(*t, t->parked, now);
    ++sent;
    return true;
  });
  return sent;
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
