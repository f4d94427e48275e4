#include "kafka_tick_sink.h"

#include <cstdint>
#include <utility>

#include "tickstream/runtime/logging.h"

namespace tickstream::normalizer {

using namespace std::chrono_literals;

namespace {

// A record's opaque is its PendingSnapshot slot (or none) with the record's epoch parity in the
// low bit: slots are heap objects, so that bit is always free, and every record then carries
// its epoch without a second allocation or lookup.
void* tag(void* slot, uint32_t epoch) noexcept {
  return reinterpret_cast<void*>(reinterpret_cast<uintptr_t>(slot) | epoch);
}
uint32_t epochOf(void* opaque) noexcept {
  return static_cast<uint32_t>(reinterpret_cast<uintptr_t>(opaque) & 1U);
}
template <typename T> T* slotOf(void* opaque) noexcept {
  return reinterpret_cast<T*>(reinterpret_cast<uintptr_t>(opaque) & ~uintptr_t{1});
}

} // namespace

KafkaTickSink::KafkaTickSink(KafkaTickSinkConfig config, kafka::Producer& producer)
    : config_(std::move(config)), producer_(producer) {}

void KafkaTickSink::emit(std::string_view symbol, const marketdata::v1::MarketDataUpdate& update,
                         const marketdata::v1::SymbolSnapshot* snapshot) {
  if (broken_.load(std::memory_order_acquire)) {
    produce_failed_.fetch_add(1, std::memory_order_relaxed);  // after a lost update: never a later one
    return;
  }
  PendingSnapshot* slot = nullptr;
  if (snapshot != nullptr) {
    slot = takeSlot();
    slot->key.assign(symbol);
    snapshot->SerializeToString(&slot->bytes);  // reuses the slot's capacity
  }
  update.SerializeToString(&buffer_);
  if (!send(config_.ticks_topic, symbol, buffer_, slot, epoch_, 1000ms)) {
    broken_.store(true, std::memory_order_release);
    if (slot != nullptr) {
      giveBack(slot);
    }
  }
}

void KafkaTickSink::onDelivery(const kafka::DeliveryReport& report) {
  const uint32_t epoch = epochOf(report.opaque);
  auto* slot = slotOf<PendingSnapshot>(report.opaque);
  if (slot == nullptr) {
    // A snapshot, or an update without one.
    unacked_[epoch].fetch_sub(1, std::memory_order_release);
    return;
  }
  if (report.error != RdKafka::ERR_NO_ERROR) {
    broken_.store(true, std::memory_order_release);  // with the gapless producer, later ones fail too
  } else {
    if (config_.snapshot_interval.count() == 0) {
      // Never block here: this is the thread that frees the producer's queue.
      send(config_.snapshot_topic, slot->key, slot->bytes, nullptr, epoch, 0ms);
    } else {
      const auto now = std::chrono::steady_clock::now();
      std::lock_guard lock(throttle_mu_);
      auto [it, fresh] = throttles_.try_emplace(slot->key);
      Throttle& t = it->second;
      if (fresh) {
        t.key = slot->key;
      }
      if (now >= t.next) {
        sendSnapshot(t, slot->bytes, epoch, now);  // also supersedes a parked older one
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
  // Only now: the snapshot produced above belongs to this epoch and was counted first, so the
  // epoch never looks acknowledged while it is outstanding.
  unacked_[epoch].fetch_sub(1, std::memory_order_release);
}

void KafkaTickSink::sendSnapshot(Throttle& t, std::string_view bytes, uint32_t epoch,
                                 std::chrono::steady_clock::time_point now) {
  send(config_.snapshot_topic, t.key, bytes, nullptr, epoch, 0ms);
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
    sendSnapshot(*t, t->parked, epoch_, now);
    ++sent;
    return true;
  });
  return sent;
}

bool KafkaTickSink::send(const std::string& topic, std::string_view key, std::string_view value,
                         PendingSnapshot* slot, uint32_t epoch, std::chrono::milliseconds max_block) {
  // Counted before producing: the delivery report may come before produce() returns.
  unacked_[epoch].fetch_add(1, std::memory_order_relaxed);
  const kafka::ProduceResult r = producer_.produce(
      topic, key, value, kafka::Producer::kAnyPartition, tag(slot, epoch), max_block);
  if (r == kafka::ProduceResult::Ok) {
    return true;
  }
  unacked_[epoch].fetch_sub(1, std::memory_order_release);
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

void KafkaTickSink::beginEpoch() noexcept { epoch_ ^= 1U; }

bool KafkaTickSink::previousEpochAcknowledged() const noexcept {
  return unacked_[epoch_ ^ 1U].load(std::memory_order_acquire) == 0;
}

} // namespace tickstream::normalizer
