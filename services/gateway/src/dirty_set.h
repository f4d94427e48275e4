#pragma once

#include <bit>
#include <cstdint>
#include <optional>
#include <vector>

// The connections that have something to write, by index, taken in a sweep: in index order
// from a cursor that wraps around.
//
// Why a sweep and not rounds in the order connections were marked: on a busy shard every
// connection is marked again while the previous pass is still writing. With rounds in marking
// order a connection written first in one round can be written last in the next, so an update
// that just missed its write waits up to two round lengths. A sweep writes each connection at
// the same point of every pass, so the wait is at most one pass: at the same CPU, the tail
// latency about halves (docs/gateway.md, "Fan-out").
//
// One bit per index: marking costs no connection memory, and 10k connections are a 1.25 KB
// bitmap, scanned a word at a time.
namespace tickstream::gateway {

class DirtySet {
public:
  // Makes room for indices below `n`; never shrinks.
  void grow(std::size_t n) {
    const std::size_t words = (n + 63) / 64;
    if (words > words_.size()) {
      words_.resize(words, 0);
    }
  }

  // `index` has something to write (a no-op when it is marked already).
  void mark(uint32_t index) noexcept {
    uint64_t& w = words_[index >> 6];
    const uint64_t bit = uint64_t{1} << (index & 63);
    count_ += (w & bit) == 0 ? 1 : 0;
    w |= bit;
  }

  // The first marked index at or after the cursor, else (wrapping) the first marked one; it is
  // unmarked and the cursor moves past it. Empty when nothing is marked.
  std::optional<uint32_t> take() noexcept {
    if (count_ == 0) {
      return std::nullopt;
    }
    std::optional<uint32_t> found = firstFrom(cursor_);
    if (!found) {
      found = firstFrom(0);  // count_ > 0: there is one before the cursor
    }
    const uint32_t i = *found;
    words_[i >> 6] &= ~(uint64_t{1} << (i & 63));
    --count_;
    cursor_ = i + 1;
    return i;
  }

  [[nodiscard]] bool empty() const noexcept { return count_ == 0; }
  [[nodiscard]] std::size_t size() const noexcept { return count_; }

private:
  [[nodiscard]] std::optional<uint32_t> firstFrom(uint32_t from) const noexcept {
    std::size_t w = from >> 6;
    if (w >= words_.size()) {
      return std::nullopt;
    }
    uint64_t bits = words_[w] & (~uint64_t{0} << (from & 63));
    for (;;) {
      if (bits != 0) {
        return static_cast<uint32_t>(w * 64 + static_cast<std::size_t>(std::countr_zero(bits)));
      }
      if (++w == words_.size()) {
        return std::nullopt;
      }
      bits = words_[w];
    }
  }

  std::vector<uint64_t> words_;
  std::size_t count_ = 0;  // marked indices
  uint32_t cursor_ = 0;    // the sweep goes on from here
};

} // namespace tickstream::gateway
