#pragma once

#include <cstdint>
#include <string>

// Prices and money are fixed-point int64 in units of 1/10000 (the proto's and ITCH's Price(4)
// scale): 1234500 is 123.45. Never double.
namespace tickstream::order {

inline constexpr std::int64_t kPriceScale = 10'000;

// "123.4500", "-0.0100": for error messages and logs, so a reader sees the price the client meant.
[[nodiscard]] std::string formatPrice(std::int64_t fixed);

}  // namespace tickstream::order
