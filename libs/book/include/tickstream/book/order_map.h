#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "tickstream/book/types.h"

namespace tickstream::book {

// A live order as the book needs it: where it rests and how much is left.
struct OrderEntry {
  OrderRef ref = 0;
  Price price = 0;
  Shares shares = 0;  // remaining; 0 marks an empty slot (a live order always has shares > 0)
  BookId book = 0;
  Side side = Side::Buy;
};

// Order reference -> OrderEntry: open addressing with linear probing and backward-shift
// deletion (no tombstones, so a day of adds and deletes never degrades the probe lengths).
// ITCH references are dense and nearly sequential; Fibonacci hashing spreads them. Measured
// against a reserve()d std::unordered_map in book_bench (docs/book.md): no node allocation per
// add and one cache line per lookup instead of two or three.
class OrderMap {
public:
  // `expected`: live orders to hold without rehashing; the table is a power of two at most half
  // full. Beyond that it doubles (allocates) — sized right, never in steady state.
  explicit OrderMap(size_t expected = 1024);

  [[nodiscard]] size_t size() const noexcept { return size_; }
  [[nodiscard]] size_t capacity() const noexcept { return slots_.size(); }

  // The live entry for `ref`, or nullptr. The pointer is valid until the next insert or erase.
  [[nodiscard]] OrderEntry* find(OrderRef ref) noexcept {
    for (size_t i = home(ref);; i = (i + 1) & mask_) {
      OrderEntry& e = slots_[i];
      if (e.shares == 0) {
        return nullptr;
      }
      if (e.ref == ref) {
        return &e;
      }
    }
  }
  [[nodiscard]] const OrderEntry* find(OrderRef ref) const noexcept {
    return const_cast<OrderMap*>(this)->find(ref);
  }

  // Inserts `entry` (entry.shares > 0) unless its ref is live; returns whether it inserted.
  bool insert(const OrderEntry& entry);
  // Removes a live entry (a pointer from find()).
  void erase(OrderEntry* entry) noexcept;
  void clear() noexcept;

private:
  [[nodiscard]] size_t home(OrderRef ref) const noexcept {
    return static_cast<size_t>((ref * 0x9E3779B97F4A7C15ULL) >> shift_);
  }
  void grow();

  std::vector<OrderEntry> slots_;
  size_t mask_ = 0;
  unsigned shift_ = 0;  // 64 - log2(capacity)
  size_t size_ = 0;
  size_t max_size_ = 0;  // capacity / 2
};

} // namespace tickstream::book
