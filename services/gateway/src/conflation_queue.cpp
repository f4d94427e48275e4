#include "conflation_queue.h"

#include <utility>

namespace tickstream::gateway {

ConflationQueue::ConflationQueue(std::size_t symbols) : slots_(symbols), order_(symbols) {}

bool ConflationQueue::put(std::size_t slot, PendingUpdate update) {
  PendingUpdate& s = slots_[slot];
  const bool replaced = s.frames != nullptr;
  s = std::move(update);
  if (!replaced) {
    // A slot is in order_ exactly while it holds an update, so the ring never overflows.
    order_[(head_ + size_) % order_.size()] = static_cast<uint32_t>(slot);
    ++size_;
  }
  return replaced;
}

bool ConflationQueue::take(PendingUpdate& out) {
  if (size_ == 0) {
    return false;
  }
  out = std::move(slots_[order_[head_]]);
  slots_[order_[head_]] = {};
  head_ = (head_ + 1) % order_.size();
  --size_;
  return true;
}

void ConflationQueue::clear() {
  for (auto& s : slots_) {
    s = {};
  }
  head_ = 0;
  size_ = 0;
}

} // namespace tickstream::gateway
