#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "symbol_info.h"
#include "tickstream/auth/rate_limiter.h"
#include "tickstream/order/v1/order.pb.h"

// Pre-trade risk per account (docs/order.md, "Risk"). It runs after validation, on a
// well-formed order, and a refusal becomes an order in status REJECTED with the reason. Every
// rule fails closed: no limits, invalid limits, no price to value the order, or arithmetic that
// would overflow all refuse the order.
namespace tickstream::order {

// An account's limits, kept in PostgreSQL (table risk_limits). Zero in a maximum blocks what it
// limits (an account can be stopped without deleting its row).
struct RiskLimits {
  std::int64_t max_order_notional = 0;  // money one order may be worth (fixed-point 1/10000): quantity x price
  std::int64_t max_open_orders = 0;     // the account's working orders at once, the new one included
  std::int64_t max_position = 0;        // |shares| per symbol if every open order on the order's side filled
  std::int64_t orders_per_second = 0;   // sustained submit rate (token bucket refill); >= 1
  std::int64_t order_burst = 0;         // submits allowed at once after a quiet spell (bucket size); >= 1
  bool allow_short = false;             // whether sells may take the position below zero

  // Why these limits cannot be used (a negative maximum, a zero rate), or nothing when they can.
  [[nodiscard]] std::optional<std::string> problem() const;
};

// The account's exposure before this order, as the service reads it in the same transaction
// that will store the order. For a replace, leave the replaced order out (its open quantity and
// its count): the replacement takes its place.
struct AccountExposure {
  std::int64_t open_orders = 0;         // the account's working orders, all symbols
  std::int64_t position = 0;            // signed shares held in the order's symbol (+ long, - short)
  std::int64_t open_buy_quantity = 0;   // unfilled shares of working buy orders in the symbol
  std::int64_t open_sell_quantity = 0;  // unfilled shares of working sell orders in the symbol
};

// What risk needs to know about one validated order.
struct OrderIntent {
  std::string_view account;
  std::string_view symbol;
  v1::Side side = v1::SIDE_UNSPECIFIED;
  std::int64_t quantity = 0;  // shares it may still execute (a replace: new quantity - filled)
  std::int64_t price = 0;     // valuation price (fixed-point 1/10000): valuationPrice()
};

// The price an order is valued at: its limit price, or for a market order the last trade (the
// same SymbolInfo validation checked it against) or its collar when that is higher (a buy's:
// the most it may pay). 0 when there is none, which risk refuses.
[[nodiscard]] std::int64_t valuationPrice(v1::OrderType type, std::int64_t limit_price, const SymbolInfo& symbol,
                                          std::int64_t collar_price = 0) noexcept;

// Which rule refused an order; riskRuleName() gives a metric label.
enum class RiskRule : std::uint8_t { Limits, OrderRate, OpenOrders, OrderNotional, ShortSelling, Position, BuyingPower };
[[nodiscard]] std::string_view riskRuleName(RiskRule rule) noexcept;

struct RiskRejection {
  RiskRule rule;
  v1::RejectReason reason;  // RISK_LIMIT, INSUFFICIENT_POSITION or INSUFFICIENT_BUYING_POWER
  std::string text;         // for Order.reject_text: what was asked, what the limit is
};

// The seam for buying power (cash and margin), which the portfolio service will provide.
class BuyingPower {
 public:
  virtual ~BuyingPower() = default;
  // Nothing if the account can afford `notional` (money, fixed-point 1/10000) more exposure on
  // order.side; otherwise the reason, for reject_text. Called last, on orders every limit passed.
  [[nodiscard]] virtual std::optional<std::string> check(const OrderIntent& order, std::int64_t notional) const = 0;
};

// Allows every order. The stand-in until the portfolio service provides buying power: wire it
// explicitly so that "no buying-power check" is visible in main(), not a silent default.
class UnlimitedBuyingPower final : public BuyingPower {
 public:
  [[nodiscard]] std::optional<std::string> check(const OrderIntent& order, std::int64_t notional) const override;
};

// Applies the rules in a fixed order: limits usable, order rate, open orders, notional, short
// selling, position, buying power. The rate rule takes a token for every order that reaches it,
// also one refused by a later rule: a runaway client is slowed down whatever it sends.
//
// Thread-safe (the per-account token buckets are behind a mutex held for one lookup). The
// exposure is the caller's: two orders of one account checked concurrently against the same
// exposure could both pass, so the service serialises an account's submits (docs/order.md).
class RiskChecker {
 public:
  // `buying_power` must outlive the checker.
  explicit RiskChecker(const BuyingPower& buying_power);

  // `limits` is null when the account has none: refused. `now_ns` is a monotonic clock
  // (steady_clock) for the rate rule. Never throws except std::bad_alloc.
  [[nodiscard]] std::optional<RiskRejection> check(const OrderIntent& order, const RiskLimits* limits,
                                                   const AccountExposure& exposure, std::int64_t now_ns);

 private:
  [[nodiscard]] bool takeOrderToken(std::string_view account, const RiskLimits& limits, std::int64_t now_ns);

  const BuyingPower& buying_power_;
  std::mutex mutex_;
  // Looks up by string_view, so checking an order allocates nothing for a known account.
  struct AccountHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  // One bucket per account that has submitted; bounded by the accounts that have limits.
  std::unordered_map<std::string, auth::TokenBucket, AccountHash, std::equal_to<>> buckets_;
};

}  // namespace tickstream::order
