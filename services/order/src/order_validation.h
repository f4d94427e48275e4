#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "symbol_info.h"
#include "tickstream/order/v1/order.pb.h"
#include "tickstream/order/v1/order_service.pb.h"

// Is a SubmitOrder / ReplaceOrder request well-formed and sane? The first broken rule becomes
// one ValidationError naming the request field, which the service returns as INVALID_ARGUMENT
// (nothing stored). Rules and their reasons: docs/order.md, "Validation". Ownership (the
// account may touch the order) and the order's status are the service's checks, not these.
namespace tickstream::order {

// The request field an error is about; fieldName() gives the proto's spelling.
enum class Field : std::uint8_t {
  Account,
  OrderId,
  ClientOrderId,
  Symbol,
  Side,
  Type,
  TimeInForce,
  Quantity,
  LimitPrice,
};
[[nodiscard]] std::string_view fieldName(Field field) noexcept;

struct ValidationError {
  Field field;
  // "<field>: <what is wrong>", e.g. "limit_price: 123.4550 is not a multiple of AAPL's tick
  // size 0.0100". Safe to show to the client.
  std::string message;
};

// The outcome: an error, or the symbol's state the request was checked against (its last
// trade), which risk must value the order with so both see the same price.
struct Validation {
  std::optional<ValidationError> error;  // empty when the request is valid
  std::optional<SymbolInfo> symbol;      // set when the request is valid

  [[nodiscard]] bool ok() const noexcept { return !error.has_value(); }
};

struct ValidationConfig {
  // Fat-finger band: a limit price may be at most this far from the last trade, in basis points
  // of the last trade (1000 = ±10%); 1 .. 10000.
  std::int64_t price_band_bps = 1000;
  // Market order collar: a market order may trade at most this far through the last trade, in
  // basis points of it (a buy no higher, a sell no lower); the rest is canceled. The same 10%
  // as the band by default: a market order goes no further than a limit order could be priced.
  // 0 = no collar; 1 .. 10000.
  std::int64_t market_collar_bps = 1000;
  // Largest quantity of one order, in shares; also keeps quantity * price far from int64's
  // limit. 1 .. 1e9.
  std::int64_t max_quantity = 10'000'000;
  // Longest account, order_id and client_order_id, in bytes (a UUID is 36). 1 .. 256.
  std::size_t max_id_length = 64;

  // Throws std::invalid_argument naming the field ("ValidationConfig.price_band_bps ...").
  void validate() const;
};

// Stateless apart from its config and the lookup; safe to share between threads if the
// lookup is. Never throws after construction.
class OrderValidator {
 public:
  // Throws std::invalid_argument if `config` is invalid. `symbols` must outlive the validator.
  OrderValidator(const ValidationConfig& config, const SymbolLookup& symbols);

  [[nodiscard]] Validation validateSubmit(const v1::SubmitOrderRequest& request) const;
  // `original` is the stored order being replaced: the replacement keeps its symbol, side, type
  // and time in force, and must leave quantity open beyond what already filled.
  [[nodiscard]] Validation validateReplace(const v1::ReplaceOrderRequest& request, const v1::Order& original) const;

  // The collar of a valid market order on `side` against `symbol` (what validation returned):
  // the last trade moved market_collar_bps against the order, on the tick grid and never past
  // it (a buy's rounded down, a sell's up), at least one tick. 0 for limit orders, with the
  // collar off, or without a last trade.
  [[nodiscard]] std::int64_t marketCollar(v1::OrderType type, v1::Side side, const SymbolInfo& symbol) const noexcept;

 private:
  [[nodiscard]] std::optional<ValidationError> checkId(Field field, std::string_view value) const;
  [[nodiscard]] std::optional<ValidationError> checkQuantity(std::int64_t quantity, std::string_view symbol,
                                                             const SymbolInfo& info) const;
  [[nodiscard]] std::optional<ValidationError> checkPrice(v1::OrderType type, std::int64_t limit_price,
                                                          std::string_view symbol, const SymbolInfo& info) const;

  ValidationConfig config_;
  const SymbolLookup& symbols_;
};

}  // namespace tickstream::order
