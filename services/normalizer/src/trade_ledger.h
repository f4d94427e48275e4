#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

// The executions a Broken Trade ('B') message may still refer to. ITCH's break carries only the
// match number, so withdrawing the trade from volume, VWAP and bars needs its price and size:
// the normalizer remembers the latest `capacity` printable executions. A break of an older one
// cannot be undone and is counted (docs/normalizer.md, "Broken trades").
namespace tickstream::normalizer {

struct LedgerTrade {
  uint64_t match_number = 0;
  uint16_t locate = 0;
  int64_t price = 0;
  int64_t size = 0;
  int64_t exchange_ts_ns = 0;  // puts the trade in its 1 s and 1 min bars
};

// Fixed memory, no allocation after construction: a ring in arrival order (the oldest entry
// is overwritten first) and an open-addressing index over it, deleted from by backward shift
// so there are no tombstones to clean up. Not thread-safe.
class TradeLedger {
public:
  // Throws std::invalid_argument when `capacity` is 0.
  explicit TradeLedger(size_t capacity);

  // Remembers `trade`, forgetting the oldest one when full. A repeated match number replaces
  // the earlier entry's lookup (match numbers are unique per day; a repeat is a feed error).
  void record(const LedgerTrade& trade) noexcept;
  // Removes and returns the trade with `match_number`, if still remembered.
  std::optional<LedgerTrade> take(uint64_t match_number) noexcept;

  [[nodiscard]] size_t size() const noexcept { return size_; }
  [[nodiscard]] size_t capacity() const noexcept { return ring_.size(); }

private:
  static constexpr uint32_t kEmpty = UINT32_MAX;

  [[nodiscard]] size_t home(uint64_t match_number) const noexcept;
  // Index position holding `match_number`, or index_.size() when absent.
  [[nodiscard]] size_t find(uint64_t match_number) const noexcept;
  void eraseAt(size_t pos) noexcept;

  std::vector<LedgerTrade> ring_;
  std::vector<bool> live_;        // ring slot still indexed (not taken)
  std::vector<uint32_t> index_;   // ring slot per hash position; power of two, >= 2 x capacity
  size_t next_ = 0;               // ring slot written next
  size_t size_ = 0;
};

} // namespace tickstream::normalizer
