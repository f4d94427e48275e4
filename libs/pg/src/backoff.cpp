#include "tickstream/pg/backoff.h"

#include <algorithm>
#include <cmath>

namespace tickstream::pg {

Backoff::Backoff(std::chrono::milliseconds min, std::chrono::milliseconds max, double jitter,
                 std::uint64_t seed)
    : min_(min), max_(std::max(min, max)), jitter_(std::clamp(jitter, 0.0, 1.0)), rng_(seed) {}

std::chrono::milliseconds Backoff::next() {
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const auto d = delay(attempt_, min_, max_, jitter_, unit(rng_));
  if (attempt_ < 64) ++attempt_;  // the curve is flat at max long before this; avoid overflow
  return d;
}

std::chrono::milliseconds Backoff::delay(int attempt, std::chrono::milliseconds min,
                                         std::chrono::milliseconds max, double jitter,
                                         double unit) {
  // Double step by step rather than shifting, so a large attempt cannot overflow.
  auto base = std::max(min, std::chrono::milliseconds(0));
  for (int i = 0; i < attempt && base < max; ++i) base *= 2;
  base = std::min(base, max);
  const double j = std::clamp(jitter, 0.0, 1.0) * std::clamp(unit, 0.0, 1.0);
  const double ms = static_cast<double>(base.count()) * (1.0 - j);
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(ms)));
}

}  // namespace tickstream::pg
