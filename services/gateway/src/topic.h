#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "protocol.h"

// A symbol's fan-out state on a shard: which connections subscribe to it and, per mode mask,
// the newest update that has something for that mask.
//
// Connections pull from it when they write (Connection::flush) instead of every update being
// pushed into every subscriber's own queue. A new update costs one mark per subscriber, a bit
// in two dense arrays (Server::markDirty), so the cost of an update no longer grows with how far behind
// its subscribers are, and conflation falls out of the design: a connection always pulls the
// newest update, and the difference of two `received` counts says how many it skipped.
// Used from the gateway's I/O thread only.
namespace tickstream::gateway {

// True when the wrapping counter `a` is ahead of `b` (counts differ by far less than 2^31).
[[nodiscard]] constexpr bool counterAfter(uint32_t a, uint32_t b) noexcept {
  return static_cast<int32_t>(a - b) > 0;
}

// What a client skipped between the update it was last brought up to (`from`) and the one it
// is sent now (`to`): the value of that Update's skipped_by_conflation.
[[nodiscard]] constexpr uint32_t skippedBetween(uint32_t to, uint32_t from) noexcept {
  return to - from - 1;
}

// A topic's subscriber: the connection's index and the subscription's slot in that connection,
// packed in 32 bits (an idle connection's 20 entries are part of its memory budget). Marking
// the slot, not only the connection, lets the write look at the subscriptions that have
// something new instead of all of them (Server::markDirty). Slots from 63 on share one bit:
// they are looked at together.
inline constexpr uint32_t kSlotBits = 6;
inline constexpr uint32_t kSharedSlot = (1U << kSlotBits) - 1;  // 63: itself and every slot after
inline constexpr uint64_t kAllSlots = ~uint64_t{0};
[[nodiscard]] constexpr uint32_t packSubscriber(uint32_t index, uint32_t slot) noexcept {
  return index << kSlotBits | std::min(slot, kSharedSlot);
}
[[nodiscard]] constexpr uint32_t subscriberIndex(uint32_t packed) noexcept {
  return packed >> kSlotBits;
}
// The mark bit of subscription slot `slot` of a connection.
[[nodiscard]] constexpr uint64_t slotBit(uint32_t slot) noexcept {
  return uint64_t{1} << (slot < kSharedSlot ? slot : kSharedSlot);
}
[[nodiscard]] constexpr uint64_t subscriberSlotBit(uint32_t packed) noexcept {
  return slotBit(packed & kSharedSlot);
}

struct Topic {
  // One cache line per mask in use: what a delivery reads, so that a client that skipped
  // nothing is served from here and a copy of the frame, touching none of the update's own
  // objects (each a cache miss on a shard whose core also runs the kernel's TCP work).
  struct Latest {
    std::shared_ptr<UpdateFrames> frames;  // null until an update for this mask came in
    uint64_t seq = 0;                      // frames->seq()
    int64_t latency_start_ns = 0;          // frames->latencyStartNs()
    // frames->frame(encoding, mask), by Encoding; filled by the first client that pulls it.
    std::array<const char*, 2> frame_data{};
    std::array<uint32_t, 2> frame_size{};
    uint32_t received = 0;                 // the topic's `received` count with that update
  };

  explicit Topic(std::string symbol) : name(std::move(symbol)) {}

  // Counts `frames` and makes it the newest for every mask in use that it has something for.
  void publish(const std::shared_ptr<UpdateFrames>& frames) {
    ++received;
    for (std::size_t m = 0; m < kModeMaskCount; ++m) {
      if ((masks_in_use >> m & 1U) != 0 && !frames->empty(static_cast<ModeMask>(m))) {
        latest[m] = {frames, frames->seq(), frames->latencyStartNs(), {}, {}, received};
      }
    }
  }

  const std::string name;  // interned: subscriptions point at the topic, never copy the name
  std::vector<uint32_t> subscribers;  // packSubscriber(index, slot) each (Server::markDirty)
  // Updates published since the topic was created; wraps. A subscription keeps the count it was
  // last brought up to: the difference to the next update it is sent, less one, is what it
  // skipped (conflated, or nothing it selects), which the client is told.
  uint32_t received = 0;
  // Masks some subscription used (bit m for mask m): publish() keeps `latest` for those only.
  uint32_t masks_in_use = 0;
  std::array<Latest, kModeMaskCount> latest;
};

} // namespace tickstream::gateway
