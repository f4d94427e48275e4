#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tickstream/marketdata/v1/marketdata.pb.h"

// The state and formatting behind `tsctl watch`: kept apart from the Kafka loop so the table
// can be tested without a broker.
namespace tickstream::tsctl {

// A fixed-point price (1/10000) as dollars: 4 decimals, trimmed to 2 when whole cents
// (1234500 -> "123.45", 1234567 -> "123.4567"); 0 (no price) -> "-".
std::string formatPrice(int64_t fixed);

// What the watch view keeps per symbol, merged from every MarketDataUpdate seen.
struct SymbolState {
  int64_t last_price = 0;       // last trade price (fixed-point); 0 before any trade
  int64_t last_size = 0;        // last trade size
  int64_t bid_price = 0;        // best bid (fixed-point)
  int64_t bid_size = 0;         // 0 when the bid side is empty
  int64_t ask_price = 0;        // best ask (fixed-point)
  int64_t ask_size = 0;         // 0 when the ask side is empty
  int64_t session_volume = 0;   // from the latest trade's cumulative session_volume
  uint64_t last_seq = 0;        // seq of the latest update applied
  uint64_t updates = 0;         // updates received since watch started
  uint64_t conflated = 0;       // sum of the updates' `conflated` counts
  marketdata::v1::TradingState state = marketdata::v1::TRADING_STATE_UNSPECIFIED;
  uint64_t updates_at_refresh = 0;  // `updates` at the previous table, for upd/s
};

// One table line, already formatted.
struct Row {
  std::string symbol;
  std::string bid;     // "size@price" or "-"
  std::string ask;     // "price@size" or "-"
  std::string last;
  std::string volume;
  std::string seq;
  std::string rate;    // updates per second over the last refresh interval
  std::string status;  // "HALTED", "PAUSED", "QUOTE-ONLY", or empty while trading
};

class WatchTable {
 public:
  // Merges one update into its symbol's state.
  void apply(const marketdata::v1::MarketDataUpdate& u);

  // Rows for `symbols` in that order (a symbol not seen yet shows dashes) or, when `symbols`
  // is empty, for the `top` most active symbols (most updates, counting conflated ones: they
  // are activity the rate cap merged). upd/s is measured over `elapsed_ms`, the time since the
  // previous call, which starts the next interval.
  std::vector<Row> rows(const std::vector<std::string>& symbols, size_t top, int64_t elapsed_ms);

  // The `top` most active symbols, most active first; ties by name.
  std::vector<std::string> topSymbols(size_t top) const;

  const SymbolState* find(std::string_view symbol) const;
  size_t symbolCount() const { return states_.size(); }
  uint64_t totalUpdates() const { return total_updates_; }

 private:
  std::unordered_map<std::string, SymbolState> states_;
  uint64_t total_updates_ = 0;
};

// The rows as an aligned text table with a header line; ends with a newline.
std::string renderTable(const std::vector<Row>& rows);

}  // namespace tickstream::tsctl
