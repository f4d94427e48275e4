#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
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
//
// With a snapshot interval, a symbol's snapshots go out at most once per interval: one that
// comes sooner waits in the symbol's parking place (latest wins: it describes every update
// before it) until releaseDue() finds the interval passed. At the rate cap every update would
// otherwise carry a full snapshot (depth and all) to the broker, doubling the records it
// takes; md.snapshot only has to be recent enough for a restart's md.ticks tail and a
// gateway's start, which both read md.ticks after it.
//
// Acknowledgement epochs let the consuming loop commit its md.raw positions once everything
// produced before them is acknowledged, without flushing: beginEpoch() when the positions are
// taken, then commit when previousEpochAcknowledged(). A flush stops consumption for a linger
// plus a broker round trip (tens of ms on a busy broker): once a second, that delays more than
// 1 % of the records, i.e. it sets the feed latency's p99.
namespace tickstream::normalizer {

struct KafkaTickSinkConfig {
  std::string ticks_topic = "md.ticks";        // where MarketDataUpdates go
  std::string snapshot_topic = "md.snapshot";  // where SymbolSnapshots go (compacted)
  // Least time between two snapshots of one symbol; 0 = one with every update. A restart
  // reads this much more of md.ticks.
  std::chrono::milliseconds snapshot_interval{0};
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

  // Produces the parked snapshots whose interval has passed, or all of them with `all` (before
  // a shutdown or a hand-over of partitions, after the producer was flushed so every update's
  // snapshot has been parked). Call it every few ms from the emitting thread. Returns how
  // many it produced.
  size_t releaseDue(bool all = false);

  // Records the producer refused (queue full for the whole wait, fatal, rejected): lost.
  [[nodiscard]] uint64_t produceFailed() const noexcept;

  // From the emitting thread: records produced from now on belong to a new epoch. Call it only
  // once previousEpochAcknowledged() (two epochs are tracked: the open one and the one before).
  void beginEpoch() noexcept;
  // True when every record produced before the last beginEpoch() has its delivery report
  // (delivered or failed: the caller checks the producer's failures), including the snapshots
  // the delivery thread produced for that epoch's updates. Snapshots parked for their interval
  // are not waited for (a commit's caller releases them with releaseDue(true) when it must).
  [[nodiscard]] bool previousEpochAcknowledged() const noexcept;

private:
  // A snapshot waiting for its update's acknowledgement.
  struct PendingSnapshot {
    std::string key;
    std::string bytes;
  };

  // Produces one record of epoch parity `epoch`; counted as unacknowledged until its delivery
  // report.
  bool send(const std::string& topic, std::string_view key, std::string_view value,
            PendingSnapshot* slot, uint32_t epoch, std::chrono::milliseconds max_block);
  // A symbol's snapshot throttle.
  struct Throttle {
    std::string key;
    std::chrono::steady_clock::time_point next{};  // the next snapshot may go out from then
    std::string parked;                             // the latest one that came sooner
    bool is_parked = false;
  };

  PendingSnapshot* takeSlot();
  void giveBack(PendingSnapshot* slot);
  // Sends `bytes` as `t`'s snapshot now and starts its next interval. Under throttle_mu_.
  void sendSnapshot(Throttle& t, std::string_view bytes, uint32_t epoch,
                    std::chrono::steady_clock::time_point now);

  KafkaTickSinkConfig config_;
  kafka::Producer& producer_;
  std::string buffer_;  // reused for every update: the producer copies it into its queue
  std::mutex slots_mu_;  // the emitting thread takes slots, the delivery thread returns them
  std::vector<std::unique_ptr<PendingSnapshot>> free_slots_;
  std::atomic<uint64_t> produce_failed_{0};
  // Set by the first update refused or failed: no later update may reach md.ticks, or it would
  // sit after a seq that never got there (a gap a restart cannot close). Sticky.
  std::atomic<bool> broken_{false};
  // The delivery thread parks, the emitting thread releases.
  std::mutex throttle_mu_;
  std::unordered_map<std::string, Throttle> throttles_;  // by symbol; node-stable
  std::vector<Throttle*> parked_;                         // symbols with a snapshot waiting
  uint32_t epoch_ = 0;                                    // parity of the open epoch; emitting thread
  std::array<std::atomic<int64_t>, 2> unacked_{};         // records without a report, by epoch parity
};

} // namespace tickstream::normalizer
