#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

// What validation and risk need to know about a symbol. The service fills it from its symbol
// directory and the latest md.snapshot (or the venue); tests from a map.
namespace tickstream::order {

struct SymbolInfo {
  std::int64_t tick_size = 100;  // price increment, fixed-point 1/10000 (100 = 0.01); > 0
  std::int64_t lot_size = 1;     // quantity must be a multiple of it, in shares; > 0
  // Price of the last trade (fixed-point 1/10000): the price band's centre and the valuation of
  // market orders. Empty before the symbol's first trade.
  std::optional<std::int64_t> last_trade_price;
};

// The seam to the symbol directory: known symbols and their latest state. Implementations must
// be safe to call from every gRPC thread.
class SymbolLookup {
 public:
  virtual ~SymbolLookup() = default;
  // Nothing for a symbol that is not listed.
  [[nodiscard]] virtual std::optional<SymbolInfo> find(std::string_view symbol) const = 0;
};

}  // namespace tickstream::order
