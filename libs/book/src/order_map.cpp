#include "tickstream/book/order_map.h"

#include <algorithm>
#include <bit>
#include <utility>

namespace tickstream::book {
namespace {

constexpr size_t kMinCapacity = 16;

} // namespace

OrderMap::OrderMap(size_t expected) {
  const size_t capacity = std::bit_ceil(std::max(kMinCapacity, expected * 2));
  slots_.assign(capacity, OrderEntry{});
  mask_ = capacity - 1;
  shift_ = 64U - static_cast<unsigned>(std::countr_zero(capacity));
  max_size_ = capacity / 2;
}

bool OrderMap::insert(const OrderEntry& entry) {
  if (size_ >= max_size_) {
    if (find(entry.ref) != nullptr) {
      return false;
    }
    grow();
  }
  for (size_t i = home(entry.ref);; i = (i + 1) & mask_) {
    OrderEntry& e = slots_[i];
    if (e.shares == 0) {
      e = entry;
      ++size_;
      return true;
    }
    if (e.ref == entry.ref) {
      return false;
    }
  }
}

void OrderMap::erase(OrderEntry* entry) noexcept {
  size_t hole = static_cast<size_t>(entry - slots_.data());
  // Backward shift: pull later members of the probe run into the hole when the hole lies on
  // their path from home, so every remaining entry stays reachable without tombstones.
  for (size_t j = (hole + 1) & mask_;; j = (j + 1) & mask_) {
    OrderEntry& e = slots_[j];
    if (e.shares == 0) {
      break;
    }
    const size_t h = home(e.ref);
    // Does `h` lie cyclically in (hole, j]? Then e must stay; otherwise it moves to the hole.
    const bool stays = hole <= j ? (hole < h && h <= j) : (hole < h || h <= j);
    if (!stays) {
      slots_[hole] = e;
      hole = j;
    }
  }
  slots_[hole] = OrderEntry{};
  --size_;
}

void OrderMap::clear() noexcept {
  for (OrderEntry& e : slots_) {
    e = OrderEntry{};
  }
  size_ = 0;
}

void OrderMap::grow() {
  std::vector<OrderEntry> old = std::move(slots_);
  const size_t capacity = old.size() * 2;
  slots_.assign(capacity, OrderEntry{});
  mask_ = capacity - 1;
  --shift_;
  max_size_ = capacity / 2;
  for (const OrderEntry& e : old) {
    if (e.shares == 0) {
      continue;
    }
    size_t i = home(e.ref);
    while (slots_[i].shares != 0) {
      i = (i + 1) & mask_;
    }
    slots_[i] = e;
  }
}

} // namespace tickstream::book
