#include "trade_ledger.h"

#include <bit>
#include <stdexcept>

namespace tickstream::normalizer {

TradeLedger::TradeLedger(size_t capacity) {
  if (capacity == 0 || capacity >= kEmpty) {
    throw std::invalid_argument("trade ledger capacity must be in 1..2^32-2");
  }
  ring_.resize(capacity);
  live_.resize(capacity, false);
  // At most half full, so probe runs stay short.
  index_.resize(std::bit_ceil(capacity * 2), kEmpty);
}

size_t TradeLedger::home(uint64_t match_number) const noexcept {
  // Fibonacci hashing: match numbers are often consecutive, which a plain mask would keep in
  // one long run.
  return static_cast<size_t>((match_number * 0x9E3779B97F4A7C15ULL) >>
                             (64 - std::countr_zero(index_.size()))) &
         (index_.size() - 1);
}

size_t TradeLedger::find(uint64_t match_number) const noexcept {
  const size_t mask = index_.size() - 1;
  for (size_t pos = home(match_number);; pos = (pos + 1) & mask) {
    const uint32_t slot = index_[pos];
    if (slot == kEmpty) {
      return index_.size();
    }
    if (ring_[slot].match_number == match_number) {
      return pos;
    }
  }
}

void TradeLedger::eraseAt(size_t pos) noexcept {
  // Backward-shift deletion: pull later members of the probe run into the hole when their home
  // position does not lie (cyclically) between the hole and themselves.
  const size_t mask = index_.size() - 1;
  size_t hole = pos;
  for (size_t next = (hole + 1) & mask; index_[next] != kEmpty; next = (next + 1) & mask) {
    const size_t h = home(ring_[index_[next]].match_number);
    const bool stays = hole <= next ? (hole < h && h <= next) : (hole < h || h <= next);
    if (!stays) {
      index_[hole] = index_[next];
      hole = next;
    }
  }
  index_[hole] = kEmpty;
}

void TradeLedger::record(const LedgerTrade& trade) noexcept {
  const size_t slot = next_;
  next_ = (next_ + 1) % ring_.size();
  if (live_[slot]) {
    eraseAt(find(ring_[slot].match_number));  // forget the oldest
    --size_;
  }
  if (const size_t old = find(trade.match_number); old != index_.size()) {
    live_[index_[old]] = false;
    eraseAt(old);
    --size_;
  }
  ring_[slot] = trade;
  live_[slot] = true;
  ++size_;
  const size_t mask = index_.size() - 1;
  size_t pos = home(trade.match_number);
  while (index_[pos] != kEmpty) {
    pos = (pos + 1) & mask;
  }
  index_[pos] = static_cast<uint32_t>(slot);
}

std::optional<LedgerTrade> TradeLedger::take(uint64_t match_number) noexcept {
  const size_t pos = find(match_number);
  if (pos == index_.size()) {
    return std::nullopt;
  }
  const uint32_t slot = index_[pos];
  live_[slot] = false;
  eraseAt(pos);
  --size_;
  return ring_[slot];
}

} // namespace tickstream::normalizer
