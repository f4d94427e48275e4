#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "gateway_metrics.h"

// What the I/O thread wrote since the last tick, added up in plain integers and handed to the
// Prometheus metrics once per tick (Server::tick, every 10 ms). Straight to Prometheus, a write
// cost two atomic adds and each delivery a histogram Observe (a mutex and two more atomics):
// at ~1.5M deliveries/s that was ~3 % of the shard's core (perf). Used on the I/O thread only.
namespace tickstream::gateway {

class DeliveryStats {
public:
  // gateway_delivery_latency_seconds' buckets (upper bounds, seconds).
  static constexpr std::array<double, 13> kLatencyBounds{0.0005, 0.001, 0.002, 0.005, 0.01, 0.02,
                                                         0.05,   0.1,   0.2,   0.5,   1,    2,
                                                         5};

  DeliveryStats() {
    for (std::size_t i = 0; i < kLatencyBounds.size(); ++i) {
      bounds_ns_[i] = std::llround(kLatencyBounds[i] * 1e9);
    }
  }

  void wrote(std::size_t bytes, std::size_t messages, uint64_t conflated) noexcept {
    bytes_ += bytes;
    messages_ += messages;
    conflated_ += conflated;
  }
  // One delivered update, `ns` after its receive stamp.
  void latency(int64_t ns) noexcept {
    // Prometheus buckets are "less or equal": the first bound at or above the value.
    const auto it = std::lower_bound(bounds_ns_.begin(), bounds_ns_.end(), ns);
    ++counts_[static_cast<std::size_t>(it - bounds_ns_.begin())];
    sum_ns_ += ns;
  }

  // Adds everything counted so far to the metrics, and starts again from zero.
  void flushTo(GatewayMetrics& m) {
    if (bytes_ > 0) m.bytes_out.Increment(static_cast<double>(bytes_));
    if (messages_ > 0) m.messages_out.Increment(static_cast<double>(messages_));
    if (conflated_ > 0) m.conflated.Increment(static_cast<double>(conflated_));
    bool any = false;
    for (std::size_t i = 0; i < counts_.size(); ++i) {
      increments_[i] = static_cast<double>(counts_[i]);
      any = any || counts_[i] > 0;
    }
    if (any) {
      m.delivery_latency.ObserveMultiple(increments_, static_cast<double>(sum_ns_) / 1e9);
    }
    bytes_ = messages_ = 0;
    conflated_ = 0;
    counts_.fill(0);
    sum_ns_ = 0;
  }

private:
  std::array<int64_t, kLatencyBounds.size()> bounds_ns_{};
  std::array<uint64_t, kLatencyBounds.size() + 1> counts_{};  // the last one: +Inf
  std::vector<double> increments_ = std::vector<double>(kLatencyBounds.size() + 1);
  int64_t sum_ns_ = 0;
  std::size_t bytes_ = 0;
  std::size_t messages_ = 0;
  uint64_t conflated_ = 0;
};

} // namespace tickstream::gateway
