#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>

namespace tickstream::order_loadgen {

// Log-linear histogram of nanoseconds: exact below 128 ns, then 64 sub-buckets per power of two,
// so a quantile is within 1/64 (~1.6%) above the true value. A fixed array: recording never
// allocates, and merging two is adding counts (per-thread histograms merge for the report).
class LatencyHistogram {
 public:
  void record(int64_t ns) {
    const uint64_t v = ns < 0 ? 0 : static_cast<uint64_t>(ns);
    ++counts_[index(v)];
    ++total_;
    max_ = std::max(max_, v);
  }

  void merge(const LatencyHistogram& other) {
    for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
    total_ += other.total_;
    max_ = std::max(max_, other.max_);
  }

  void reset() { *this = LatencyHistogram(); }

  uint64_t count() const { return total_; }
  uint64_t maxNs() const { return max_; }

  // The nearest-rank q-quantile (0 < q <= 1) as the upper bound of its bucket, never above the
  // largest value recorded; 0 when empty.
  uint64_t quantileNs(double q) const {
    if (total_ == 0) return 0;
    const auto rank = std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(q * static_cast<double>(total_))));
    uint64_t seen = 0;
    for (std::size_t i = 0; i < counts_.size(); ++i) {
      seen += counts_[i];
      if (seen >= rank) return std::min(upper(i), max_);
    }
    return max_;
  }

  double quantileMs(double q) const { return static_cast<double>(quantileNs(q)) / 1e6; }

 private:
  static constexpr int kSubBits = 6;
  static constexpr std::size_t kExact = std::size_t{2} << kSubBits;  // values below are their own bucket

  static std::size_t index(uint64_t v) {
    if (v < kExact) return static_cast<std::size_t>(v);
    const int msb = 63 - __builtin_clzll(v);
    const int shift = msb - kSubBits;  // >= 1 here
    return kExact + static_cast<std::size_t>(shift - 1) * (std::size_t{1} << kSubBits) +
           static_cast<std::size_t>((v >> shift) - (uint64_t{1} << kSubBits));
  }

  // The largest value that falls into bucket i.
  static uint64_t upper(std::size_t i) {
    if (i < kExact) return i;
    const std::size_t j = i - kExact;
    const int shift = static_cast<int>(j >> kSubBits) + 1;
    const uint64_t sub = (j & ((std::size_t{1} << kSubBits) - 1)) + (uint64_t{1} << kSubBits);
    return ((sub + 1) << shift) - 1;
  }

  // index(UINT64_MAX) is 3775: every value has a bucket.
  std::array<uint64_t, 3776> counts_{};
  uint64_t total_ = 0;
  uint64_t max_ = 0;
};

}  // namespace tickstream::order_loadgen
