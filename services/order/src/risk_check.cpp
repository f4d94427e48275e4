#include "risk_check.h"

#include <algorithm>
#include <limits>

#include "price.h"

namespace tickstream::order {
namespace {

// The token bucket's accepted ranges (auth::RateLimit::validate), checked here so that limits
// read from the database can never make check() throw.
constexpr std::int64_t kMaxOrdersPerSecond = 1'000'000'000;
constexpr std::int64_t kMaxOrderBurst = 1'000'000;

std::string side(v1::Side s) { return s == v1::SIDE_BUY ? "buy" : "sell"; }

RiskRejection limit(RiskRule rule, std::string text) {
  return {rule, v1::REJECT_REASON_RISK_LIMIT, std::move(text)};
}

}  // namespace

std::optional<std::string> RiskLimits::problem() const {
  if (max_order_notional < 0) return "max_order_notional is negative";
  if (max_open_orders < 0) return "max_open_orders is negative";
  if (max_position < 0) return "max_position is negative";
  if (orders_per_second < 1 || orders_per_second > kMaxOrdersPerSecond) {
    return "orders_per_second must be in [1, 1000000000], got " + std::to_string(orders_per_second);
  }
  if (order_burst < 1 || order_burst > kMaxOrderBurst) {
    return "order_burst must be in [1, 1000000], got " + std::to_string(order_burst);
  }
  return std::nullopt;
}

std::int64_t valuationPrice(v1::OrderType type, std::int64_t limit_price, const SymbolInfo& symbol,
                            std::int64_t collar_price) noexcept {
  if (type == v1::ORDER_TYPE_LIMIT) return limit_price;
  const std::int64_t last = symbol.last_trade_price.value_or(0);
  // No last trade: no valuation, whatever the collar (there is none without a last trade).
  return last > 0 ? std::max(last, collar_price) : last;
}

std::string_view riskRuleName(RiskRule rule) noexcept {
  switch (rule) {
    case RiskRule::Limits: return "limits";
    case RiskRule::OrderRate: return "order_rate";
    case RiskRule::OpenOrders: return "open_orders";
    case RiskRule::OrderNotional: return "order_notional";
    case RiskRule::ShortSelling: return "short_selling";
    case RiskRule::Position: return "position";
    case RiskRule::BuyingPower: return "buying_power";
  }
  return "unknown";
}

std::optional<std::string> UnlimitedBuyingPower::check(const OrderIntent&, std::int64_t) const { return std::nullopt; }

RiskChecker::RiskChecker(const BuyingPower& buying_power) : buying_power_(buying_power) {}

bool RiskChecker::takeOrderToken(std::string_view account, const RiskLimits& limits, std::int64_t now_ns) {
  const auth::RateLimit rate{static_cast<double>(limits.orders_per_second), static_cast<double>(limits.order_burst)};
  const std::lock_guard lock(mutex_);
  auto it = buckets_.find(account);
  // Changed limits take effect at once; the new bucket starts full, which lets at most one
  // extra burst through at the moment of the change.
  if (it == buckets_.end() || it->second.limit().rate_per_second != rate.rate_per_second ||
      it->second.limit().burst != rate.burst) {
    if (it != buckets_.end()) buckets_.erase(it);
    it = buckets_.emplace(std::string(account), auth::TokenBucket(rate)).first;
  }
  return it->second.tryTake(now_ns);
}

std::optional<RiskRejection> RiskChecker::check(const OrderIntent& order, const RiskLimits* limits,
                                                const AccountExposure& exposure, std::int64_t now_ns) {
  const std::string_view account = order.account;
  if (limits == nullptr) {
    return limit(RiskRule::Limits, "account " + std::string(account) + " has no risk limits configured");
  }
  if (auto problem = limits->problem()) {
    return limit(RiskRule::Limits, "account " + std::string(account) + " has unusable risk limits: " + *problem);
  }
  if (!takeOrderToken(order.account, *limits, now_ns)) {
    return limit(RiskRule::OrderRate, "more than " + std::to_string(limits->orders_per_second) +
                                          " orders per second (burst " + std::to_string(limits->order_burst) + ")");
  }
  if (exposure.open_orders >= limits->max_open_orders) {
    return limit(RiskRule::OpenOrders, std::to_string(exposure.open_orders) + " orders already open, the most is " +
                                           std::to_string(limits->max_open_orders));
  }

  if (order.quantity <= 0 || order.price <= 0) {
    return limit(RiskRule::OrderNotional, "the order has no price to value it at");
  }
  std::int64_t notional = 0;
  if (__builtin_mul_overflow(order.quantity, order.price, &notional) || notional > limits->max_order_notional) {
    return limit(RiskRule::OrderNotional, std::to_string(order.quantity) + " x " + formatPrice(order.price) +
                                              " is above the order notional limit " +
                                              formatPrice(limits->max_order_notional));
  }

  // The worst case on the order's side: every open order on that side fills, and this one too.
  std::int64_t worst = 0;
  bool overflow = false;
  if (order.side == v1::SIDE_BUY) {
    overflow = __builtin_add_overflow(exposure.position, exposure.open_buy_quantity, &worst) ||
               __builtin_add_overflow(worst, order.quantity, &worst);
  } else {
    overflow = __builtin_sub_overflow(exposure.position, exposure.open_sell_quantity, &worst) ||
               __builtin_sub_overflow(worst, order.quantity, &worst);
  }
  const std::string_view symbol = order.symbol;
  if (overflow) return limit(RiskRule::Position, "the position in " + std::string(symbol) + " cannot be computed (overflow)");
  if (order.side == v1::SIDE_SELL && worst < 0 && !limits->allow_short) {
    return RiskRejection{RiskRule::ShortSelling, v1::REJECT_REASON_INSUFFICIENT_POSITION,
                         "selling " + std::to_string(order.quantity) + " " + std::string(symbol) + " with " +
                             std::to_string(exposure.position) + " held and " +
                             std::to_string(exposure.open_sell_quantity) +
                             " already offered would go short, which the account may not"};
  }
  // INT64_MIN has no positive counterpart; it is beyond every limit anyway.
  const std::int64_t magnitude =
      worst == std::numeric_limits<std::int64_t>::min() ? std::numeric_limits<std::int64_t>::max()
                                                        : (worst < 0 ? -worst : worst);
  if (magnitude > limits->max_position) {
    return limit(RiskRule::Position, side(order.side) + " " + std::to_string(order.quantity) + " " + std::string(symbol) +
                                         " could take the position to " + std::to_string(worst) +
                                         " shares (open orders included), the most is " +
                                         std::to_string(limits->max_position));
  }

  if (auto refusal = buying_power_.check(order, notional)) {
    return RiskRejection{RiskRule::BuyingPower, v1::REJECT_REASON_INSUFFICIENT_BUYING_POWER, std::move(*refusal)};
  }
  return std::nullopt;
}

}  // namespace tickstream::order
