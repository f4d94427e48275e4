#include "price.h"

#include <cstdio>

namespace tickstream::order {

std::string formatPrice(std::int64_t fixed) {
  // Magnitude as unsigned so INT64_MIN does not overflow on negation.
  const bool negative = fixed < 0;
  const std::uint64_t magnitude = negative ? 0 - static_cast<std::uint64_t>(fixed) : static_cast<std::uint64_t>(fixed);
  const auto scale = static_cast<std::uint64_t>(kPriceScale);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%s%llu.%04llu", negative ? "-" : "",
                static_cast<unsigned long long>(magnitude / scale), static_cast<unsigned long long>(magnitude % scale));
  return buf;
}

}  // namespace tickstream::order
