#include "tickstream/book/price_levels.h"

#include <algorithm>
#include <cassert>

namespace tickstream::book {
namespace {

// Levels scanned linearly from the best before switching to a binary search: past this the
// event is far from the top, rare, and the search is logarithmic.
constexpr size_t kLinearScan = 8;

} // namespace

size_t PriceLevels::lowerBound(Price price) const noexcept {
  const uint32_t k = key(price);
  size_t i = levels_.size();
  const size_t stop = i > kLinearScan ? i - kLinearScan : 0;
  while (i > stop && key(levels_[i - 1].price) >= k) {
    --i;
  }
  if (i == stop && stop > 0 && key(levels_[i - 1].price) >= k) {
    const auto it = std::lower_bound(levels_.begin(), levels_.begin() + static_cast<ptrdiff_t>(i),
                                     k, [this](const Level& l, uint32_t kk) {
                                       return key(l.price) < kk;
                                     });
    i = static_cast<size_t>(it - levels_.begin());
  }
  return i;
}

size_t PriceLevels::depth(std::span<Level> out) const noexcept {
  const size_t n = std::min(out.size(), levels_.size());
  for (size_t i = 0; i < n; ++i) {
    out[i] = levels_[levels_.size() - 1 - i];
  }
  return n;
}

size_t PriceLevels::addOrder(Price price, Shares shares) {
  const size_t i = lowerBound(price);
  if (i < levels_.size() && levels_[i].price == price) {
    levels_[i].shares += shares;
    ++levels_[i].orders;
  } else {
    levels_.insert(levels_.begin() + static_cast<ptrdiff_t>(i), Level{price, 1, shares});
  }
  return levels_.size() - 1 - i;
}

size_t PriceLevels::reduce(Price price, uint64_t shares, bool removeOrder) noexcept {
  const size_t i = lowerBound(price);
  assert(i < levels_.size() && levels_[i].price == price);
  const size_t rank = levels_.size() - 1 - i;
  Level& l = levels_[i];
  assert(l.shares >= shares);
  l.shares -= shares;
  if (removeOrder) {
    --l.orders;
    if (l.orders == 0) {
      levels_.erase(levels_.begin() + static_cast<ptrdiff_t>(i));
    }
  }
  return rank;
}

size_t PriceLevels::resize(Price price, int64_t delta) noexcept {
  const size_t i = lowerBound(price);
  assert(i < levels_.size() && levels_[i].price == price);
  levels_[i].shares = static_cast<uint64_t>(static_cast<int64_t>(levels_[i].shares) + delta);
  return levels_.size() - 1 - i;
}

} // namespace tickstream::book
