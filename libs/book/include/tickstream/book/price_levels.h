#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "tickstream/book/types.h"

namespace tickstream::book {

// One side of a book as aggregated price levels: a vector sorted so that the best price is at
// the back. Feed activity clusters at the top of book, so the level an event touches is almost
// always found by a short scan from the back, and inserting or erasing it moves only the few
// levels behind it (a std::map pays a node allocation and a pointer chase per level instead;
// docs/book.md has the measurement). Far-from-top levels fall back to a binary search.
class PriceLevels {
public:
  explicit PriceLevels(Side side) noexcept : side_(side) {}

  [[nodiscard]] Side side() const noexcept { return side_; }
  [[nodiscard]] size_t size() const noexcept { return levels_.size(); }
  [[nodiscard]] bool empty() const noexcept { return levels_.empty(); }
  void reserve(size_t levels) { levels_.reserve(levels); }

  // The best level, or a zero Level if the side is empty.
  [[nodiscard]] Level best() const noexcept { return levels_.empty() ? Level{} : levels_.back(); }
  // The i-th best level (0 = best); requires i < size().
  [[nodiscard]] const Level& fromBest(size_t i) const noexcept {
    return levels_[levels_.size() - 1 - i];
  }

  // Copies up to out.size() levels, best first; returns how many.
  size_t depth(std::span<Level> out) const noexcept;

  // Adds one order of `shares` at `price`. Returns the level's rank from the best (0 = best)
  // after the change. May allocate only when the side grows past its largest size so far.
  size_t addOrder(Price price, Shares shares);
  // Takes `shares` off the level at `price` (which must exist) and, if `removeOrder`, one order;
  // a level left with no orders is erased. Returns the level's rank before the change.
  size_t reduce(Price price, uint64_t shares, bool removeOrder) noexcept;
  // Changes the resting size at an existing level by `delta` without changing its order count
  // (a replace at the same price). Returns the level's rank.
  size_t resize(Price price, int64_t delta) noexcept;

private:
  // Sort key that is ascending towards the best price for both sides.
  [[nodiscard]] uint32_t key(Price p) const noexcept {
    return side_ == Side::Buy ? p : ~p;
  }
  // Index of the first level whose key is >= key(price) (levels_.size() if none).
  [[nodiscard]] size_t lowerBound(Price price) const noexcept;

  std::vector<Level> levels_;  // ascending key(price): the best level is levels_.back()
  Side side_;
};

} // namespace tickstream::book
