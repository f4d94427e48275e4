#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "protocol.h"

// What one gRPC Subscribe stream has not sent yet: at most one update per symbol (the latest;
// conflate: a slow consumer only needs the newest state, and memory stays bounded by the number
// of symbols it asked for), released in the order the symbols first became pending, so one busy
// symbol cannot starve the others. Fixed capacity, no allocation after construction.
// Not thread-safe: SubscribeStream guards it with its mutex.
namespace tickstream::gateway {

// One update ready to be written: `bytes` (the encoded, mode-filtered MarketDataUpdate) points
// into `frames`, which keeps them alive.
struct PendingUpdate {
  std::shared_ptr<UpdateFrames> frames;
  std::string_view bytes;
};

class ConflationQueue {
public:
  // Slots 0..symbols-1: one per symbol of the stream.
  explicit ConflationQueue(std::size_t symbols);

  // Makes `update` the pending one for `slot`. Returns true when it replaced one not yet
  // taken (that update is conflated away).
  bool put(std::size_t slot, PendingUpdate update);
  // The oldest pending slot's update; false when nothing is pending.
  bool take(PendingUpdate& out);
  // Drops everything pending (the stream is ending).
  void clear();
  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }

private:
  std::vector<PendingUpdate> slots_;
  std::vector<uint32_t> order_;  // ring of pending slot numbers, capacity = slots
  std::size_t head_ = 0;
  std::size_t size_ = 0;
};

} // namespace tickstream::gateway
