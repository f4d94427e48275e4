#pragma once

#include <cmath>
#include <cstdint>

namespace tickstream::order_loadgen {

// The open-loop schedule of one sender: call i (from 0) is due at start + i / rate. A call is
// timed from when it was due, not from when it could be sent, so a stalled server makes the
// queued calls' latencies grow instead of hiding them (no coordinated omission).
class Pacer {
 public:
  // rate: calls per second, > 0.
  Pacer(int64_t start_ns, double rate) : start_ns_(start_ns), period_ns_(1e9 / rate) {}

  int64_t dueAt(uint64_t i) const {
    return start_ns_ + std::llround(static_cast<double>(i) * period_ns_);
  }

  // How many calls are due at `now_ns` (calls 0 .. n-1 are due).
  uint64_t dueBy(int64_t now_ns) const {
    if (now_ns < start_ns_) return 0;
    auto n = static_cast<uint64_t>(static_cast<double>(now_ns - start_ns_) / period_ns_) + 1;
    // The division can land one off the rounding in dueAt(); settle it on dueAt's answer.
    while (n > 0 && dueAt(n - 1) > now_ns) --n;
    while (dueAt(n) <= now_ns) ++n;
    return n;
  }

 private:
  int64_t start_ns_;
  double period_ns_;
};

}  // namespace tickstream::order_loadgen
