#pragma once

#include <cstdint>
#include <string_view>

namespace tickstream::book {

// ITCH 5.0 Price(4): an unsigned integer in 1/10000 of a dollar. Never a double.
using Price = uint32_t;
// Shares of one order (ITCH Shares is 4 bytes).
using Shares = uint32_t;
// ITCH Order Reference Number: unique per trading day across every symbol.
using OrderRef = uint64_t;
// ITCH Stock Locate: the feed's per-day symbol index, used directly as the book's index.
using BookId = uint16_t;

// Largest valid price: ITCH's documented maximum is $199,999.9999.
inline constexpr Price kMaxPrice = 1'999'999'999;

enum class Side : uint8_t { Buy = 0, Sell = 1 };

// What a mutating call did. On anything but Ok nothing was applied.
enum class Status : uint8_t {
  Ok = 0,
  UnknownOrder,    // the order reference is not live (never added, or already gone)
  DuplicateOrder,  // add/replace with a reference that is already live
  Overfill,        // execute/cancel of more shares than the order has left
  BadPrice,        // price 0 or above kMaxPrice
  BadShares,       // zero shares where ITCH never sends zero (add, execute, cancel, replace)
  UnknownBook,     // stock locate beyond BookSetConfig::books
};

[[nodiscard]] constexpr std::string_view toString(Status s) noexcept {
  switch (s) {
  case Status::Ok: return "Ok";
  case Status::UnknownOrder: return "UnknownOrder";
  case Status::DuplicateOrder: return "DuplicateOrder";
  case Status::Overfill: return "Overfill";
  case Status::BadPrice: return "BadPrice";
  case Status::BadShares: return "BadShares";
  case Status::UnknownBook: return "UnknownBook";
  }
  return "?";
}

// One aggregated price level. `shares` is 64-bit: many 32-bit orders can rest at one price.
struct Level {
  Price price = 0;
  uint32_t orders = 0;
  uint64_t shares = 0;
  friend bool operator==(const Level&, const Level&) = default;
};

} // namespace tickstream::book
