#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "tickstream/book/price_levels.h"
#include "tickstream/book/types.h"

namespace tickstream::book {

// price * shares summed over a session: $200k prices times billions of shares overflow int64.
__extension__ typedef unsigned __int128 Uint128;

// Printable executions of one book this session (non-printable ones take shares off the book
// but ITCH says not to count them: they were reported elsewhere, e.g. in a cross).
struct TradeStats {
  Price last_price = 0;     // price of the last printable execution
  Shares last_shares = 0;   // its size
  uint64_t trades = 0;      // printable executions
  uint64_t volume = 0;      // printable shares
  Uint128 notional = 0;     // sum of price * shares, in 1/10000 dollar-shares (VWAP numerator)

  // Volume-weighted average price in Price(4) units, rounded half up; 0 before any trade.
  [[nodiscard]] Price vwap() const noexcept {
    if (volume == 0) {
      return 0;
    }
    return static_cast<Price>((notional + volume / 2) / volume);
  }
};

// One symbol's book: aggregated levels on each side plus its trade statistics. Mutated only by
// BookSet, which owns the order-level state (which order rests where).
class OrderBook {
public:
  OrderBook() noexcept = default;

  [[nodiscard]] const PriceLevels& levels(Side side) const noexcept {
    return side == Side::Buy ? bids_ : asks_;
  }
  // Best bid (Buy) or best ask (Sell); a zero Level if that side is empty.
  [[nodiscard]] Level best(Side side) const noexcept { return levels(side).best(); }
  // Fills up to out.size() levels best first, without allocating; returns how many.
  size_t depth(Side side, std::span<Level> out) const noexcept { return levels(side).depth(out); }
  // The best `n` levels (fewer if the side is shallower). Allocates: for snapshots, not per event.
  [[nodiscard]] std::vector<Level> depth(Side side, size_t n) const {
    std::vector<Level> out(std::min(n, levels(side).size()));
    levels(side).depth(out);
    return out;
  }
  [[nodiscard]] const TradeStats& trades() const noexcept { return trades_; }

private:
  friend class BookSet;
  PriceLevels& mutableLevels(Side side) noexcept { return side == Side::Buy ? bids_ : asks_; }

  PriceLevels bids_{Side::Buy};
  PriceLevels asks_{Side::Sell};
  TradeStats trades_;
};

} // namespace tickstream::book
