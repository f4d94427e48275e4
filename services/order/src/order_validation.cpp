#include "order_validation.h"

#include <algorithm>
#include <cstdio>
#include <stdexcept>

#include "price.h"

namespace tickstream::order {
namespace {

// GCC/Clang's 128-bit integer; __extension__ tells -Wpedantic it is deliberate.
__extension__ using Int128 = __int128;

constexpr std::int64_t kMaxBandBps = 10'000;
// The largest price a NASDAQ venue takes: $199,999.9999 (the ITCH 5.0 limit, as exchange-sim's
// book::kMaxPrice). A collar above it would have every market buy refused.
constexpr std::int64_t kMaxVenuePrice = 1'999'999'999;
constexpr std::int64_t kMaxQuantityLimit = 1'000'000'000;
constexpr std::size_t kMaxIdLengthLimit = 256;

ValidationError error(Field field, const std::string& what) {
  return {field, std::string(fieldName(field)) + ": " + what};
}

Validation failed(Field field, const std::string& what) { return {error(field, what), std::nullopt}; }

// Ids end up in SQL rows, Kafka keys, log lines and URLs: printable ASCII without spaces or
// quoting trouble, enough for UUIDs, ULIDs and FIX ClOrdIDs such as "desk1:2024-01-02.17".
bool idChar(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
         c == '.' || c == ':';
}

std::string quoted(std::string_view s) {
  // Echo at most 40 bytes: the message must stay small and printable whatever was sent.
  std::string out = "\"";
  for (std::size_t i = 0; i < s.size() && i < 40; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    out += (c >= 0x20 && c < 0x7f && c != '"') ? static_cast<char>(c) : '?';
  }
  return out + (s.size() > 40 ? "...\"" : "\"");
}

std::string percent(std::int64_t bps) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%lld.%02lld%%", static_cast<long long>(bps / 100), static_cast<long long>(bps % 100));
  return buf;
}

}  // namespace

std::string_view fieldName(Field field) noexcept {
  switch (field) {
    case Field::Account: return "account";
    case Field::OrderId: return "order_id";
    case Field::ClientOrderId: return "client_order_id";
    case Field::Symbol: return "symbol";
    case Field::Side: return "side";
    case Field::Type: return "type";
    case Field::TimeInForce: return "time_in_force";
    case Field::Quantity: return "quantity";
    case Field::LimitPrice: return "limit_price";
  }
  return "unknown";
}

void ValidationConfig::validate() const {
  auto fail = [](const std::string& m) { throw std::invalid_argument("ValidationConfig." + m); };
  if (price_band_bps < 1 || price_band_bps > kMaxBandBps) {
    fail("price_band_bps must be in [1, 10000], got " + std::to_string(price_band_bps));
  }
  if (market_collar_bps < 0 || market_collar_bps > kMaxBandBps) {
    fail("market_collar_bps must be in [0, 10000], got " + std::to_string(market_collar_bps));
  }
  if (max_quantity < 1 || max_quantity > kMaxQuantityLimit) {
    fail("max_quantity must be in [1, 1000000000], got " + std::to_string(max_quantity));
  }
  if (max_id_length < 1 || max_id_length > kMaxIdLengthLimit) {
    fail("max_id_length must be in [1, 256], got " + std::to_string(max_id_length));
  }
}

OrderValidator::OrderValidator(const ValidationConfig& config, const SymbolLookup& symbols)
    : config_(config), symbols_(symbols) {
  config_.validate();
}

std::int64_t OrderValidator::marketCollar(v1::OrderType type, v1::Side side, const SymbolInfo& symbol) const noexcept {
  if (type != v1::ORDER_TYPE_MARKET || config_.market_collar_bps == 0 || !symbol.last_trade_price ||
      *symbol.last_trade_price <= 0) {
    return 0;
  }
  const Int128 last = *symbol.last_trade_price;
  const Int128 tick = symbol.tick_size > 0 ? symbol.tick_size : 1;
  const Int128 last_up = (last + tick - 1) / tick * tick;  // the last trade on the grid, either way
  const Int128 last_down = last / tick * tick;
  if (side == v1::SIDE_BUY) {
    // Down to the grid: the collar never lets a buy pay more than the bps allow; but never below
    // the last trade either (a narrow collar on a coarse grid), and never above the largest
    // price a venue takes (Price(4) is 32 bits), where every market buy would be refused.
    const Int128 up = last * (kMaxBandBps + config_.market_collar_bps) / kMaxBandBps;
    const Int128 highest = Int128{kMaxVenuePrice} / tick * tick;
    return static_cast<std::int64_t>(std::min(std::max(up / tick * tick, last_up), highest));
  }
  // Up to the grid (never a sell below what the bps allow), never above the last trade, and one
  // tick at least: a collar of 0 would mean none.
  const Int128 down = (last * (kMaxBandBps - config_.market_collar_bps) + kMaxBandBps - 1) / kMaxBandBps;
  return static_cast<std::int64_t>(std::max(std::min((down + tick - 1) / tick * tick, last_down), tick));
}

std::optional<ValidationError> OrderValidator::checkId(Field field, std::string_view value) const {
  if (value.empty()) return error(field, "is required");
  if (value.size() > config_.max_id_length) {
    return error(field, "is " + std::to_string(value.size()) + " bytes long, the most is " +
                            std::to_string(config_.max_id_length));
  }
  for (const char c : value) {
    if (!idChar(c)) return error(field, quoted(value) + " may only hold letters, digits and - _ . :");
  }
  return std::nullopt;
}

std::optional<ValidationError> OrderValidator::checkQuantity(std::int64_t quantity, std::string_view symbol,
                                                             const SymbolInfo& info) const {
  if (quantity <= 0) return error(Field::Quantity, "must be > 0, got " + std::to_string(quantity));
  if (quantity > config_.max_quantity) {
    return error(Field::Quantity,
                 std::to_string(quantity) + " is above the largest order size " + std::to_string(config_.max_quantity));
  }
  if (info.lot_size > 1 && quantity % info.lot_size != 0) {
    return error(Field::Quantity, std::to_string(quantity) + " is not a multiple of " + std::string(symbol) +
                                      "'s lot size " + std::to_string(info.lot_size));
  }
  return std::nullopt;
}

std::optional<ValidationError> OrderValidator::checkPrice(v1::OrderType type, std::int64_t limit_price,
                                                          std::string_view symbol, const SymbolInfo& info) const {
  if (type == v1::ORDER_TYPE_MARKET) {
    if (limit_price != 0) {
      return error(Field::LimitPrice, "must be 0 for a market order, got " + formatPrice(limit_price));
    }
    // Risk values a market order at the last trade; without one it cannot be valued, and an
    // unvalued order must not pass (fail closed).
    if (!info.last_trade_price) {
      return error(Field::Type, "a market order needs a last trade to be valued, and " + std::string(symbol) +
                                    " has not traded yet: send a limit order");
    }
    return std::nullopt;
  }
  if (limit_price <= 0) {
    return error(Field::LimitPrice, "must be > 0 for a limit order, got " + formatPrice(limit_price));
  }
  if (info.tick_size > 0 && limit_price % info.tick_size != 0) {
    return error(Field::LimitPrice, formatPrice(limit_price) + " is not a multiple of " + std::string(symbol) +
                                        "'s tick size " + formatPrice(info.tick_size));
  }
  // No last trade (a new listing): there is no reference to measure against; the tick grid and
  // the risk notional limit still bound the order.
  if (info.last_trade_price && *info.last_trade_price > 0) {
    const std::int64_t last = *info.last_trade_price;
    // |price - last| / last <= bps / 10000, in 128 bits so no price can overflow it.
    const Int128 diff = static_cast<Int128>(limit_price) - last;
    const Int128 distance = diff < 0 ? -diff : diff;
    if (distance * kMaxBandBps > static_cast<Int128>(last) * config_.price_band_bps) {
      return error(Field::LimitPrice, formatPrice(limit_price) + " is more than " + percent(config_.price_band_bps) +
                                          " away from " + std::string(symbol) + "'s last trade " + formatPrice(last) +
                                          " (price band)");
    }
  }
  return std::nullopt;
}

Validation OrderValidator::validateSubmit(const v1::SubmitOrderRequest& r) const {
  if (auto e = checkId(Field::Account, r.account())) return {std::move(e), std::nullopt};
  if (auto e = checkId(Field::ClientOrderId, r.client_order_id())) return {std::move(e), std::nullopt};
  if (r.symbol().empty()) return failed(Field::Symbol, "is required");
  const std::optional<SymbolInfo> info = symbols_.find(r.symbol());
  if (!info) return failed(Field::Symbol, "unknown symbol " + quoted(r.symbol()));
  if (r.side() != v1::SIDE_BUY && r.side() != v1::SIDE_SELL) {
    return failed(Field::Side, "must be SIDE_BUY or SIDE_SELL, got " + std::to_string(r.side()));
  }
  if (r.type() != v1::ORDER_TYPE_LIMIT && r.type() != v1::ORDER_TYPE_MARKET) {
    return failed(Field::Type, "must be ORDER_TYPE_LIMIT or ORDER_TYPE_MARKET, got " + std::to_string(r.type()));
  }
  const v1::TimeInForce tif = r.time_in_force();
  if (tif == v1::TIME_IN_FORCE_UNSPECIFIED || !v1::TimeInForce_IsValid(tif)) {
    return failed(Field::TimeInForce, "must be DAY, GTC, IOC or FOK, got " + std::to_string(tif));
  }
  // A market order has no price to rest at: it executes now or its rest is canceled, so
  // good-till-canceled would promise something the order cannot do. DAY is accepted because
  // it is what retail clients send for a market order by default.
  if (r.type() == v1::ORDER_TYPE_MARKET && tif == v1::TIME_IN_FORCE_GTC) {
    return failed(Field::TimeInForce, "a market order cannot be GTC: use DAY, IOC or FOK");
  }
  if (auto e = checkQuantity(r.quantity(), r.symbol(), *info)) return {std::move(e), std::nullopt};
  if (auto e = checkPrice(r.type(), r.limit_price(), r.symbol(), *info)) return {std::move(e), std::nullopt};
  return {std::nullopt, info};
}

Validation OrderValidator::validateReplace(const v1::ReplaceOrderRequest& r, const v1::Order& original) const {
  if (auto e = checkId(Field::Account, r.account())) return {std::move(e), std::nullopt};
  if (auto e = checkId(Field::OrderId, r.order_id())) return {std::move(e), std::nullopt};
  if (auto e = checkId(Field::ClientOrderId, r.client_order_id())) return {std::move(e), std::nullopt};
  // The replacement is a new order: reusing the original's key would make it a retry of that.
  if (r.client_order_id() == original.client_order_id()) {
    return failed(Field::ClientOrderId, "must differ from the replaced order's client_order_id");
  }
  const std::optional<SymbolInfo> info = symbols_.find(original.symbol());
  if (!info) return failed(Field::OrderId, "the order's symbol " + quoted(original.symbol()) + " is no longer listed");
  if (auto e = checkQuantity(r.quantity(), original.symbol(), *info)) return {std::move(e), std::nullopt};
  // The new quantity is the total including fills; at or below them nothing would be left.
  if (r.quantity() <= original.filled_quantity()) {
    return failed(Field::Quantity, std::to_string(r.quantity()) + " must be above the " +
                                       std::to_string(original.filled_quantity()) + " shares already filled");
  }
  if (auto e = checkPrice(original.type(), r.limit_price(), original.symbol(), *info)) {
    return {std::move(e), std::nullopt};
  }
  return {std::nullopt, info};
}

}  // namespace tickstream::order
