#include <catch2/catch.hpp>

#include <limits>
#include <map>
#include <stdexcept>
#include <string>

#include "order_validation.h"
#include "price.h"

using namespace tickstream::order;

namespace {

class MapSymbols final : public SymbolLookup {
 public:
  std::map<std::string, SymbolInfo, std::less<>> symbols;
  std::optional<SymbolInfo> find(std::string_view symbol) const override {
    const auto it = symbols.find(symbol);
    if (it == symbols.end()) return std::nullopt;
    return it->second;
  }
};

MapSymbols defaultSymbols() {
  MapSymbols m;
  m.symbols["AAPL"] = SymbolInfo{100, 1, 1'200'000};      // tick 0.01, last 120.00
  m.symbols["LOTS"] = SymbolInfo{500, 100, 500'000};      // tick 0.05, lot 100, last 50.00
  m.symbols["IPO"] = SymbolInfo{100, 1, std::nullopt};    // listed, never traded
  return m;
}

v1::SubmitOrderRequest limitBuy() {
  v1::SubmitOrderRequest r;
  r.set_account("acct-1");
  r.set_client_order_id("c0d3f00d-0000-4000-8000-000000000001");
  r.set_symbol("AAPL");
  r.set_side(v1::SIDE_BUY);
  r.set_type(v1::ORDER_TYPE_LIMIT);
  r.set_time_in_force(v1::TIME_IN_FORCE_DAY);
  r.set_quantity(100);
  r.set_limit_price(1'195'000);  // 119.50
  return r;
}

v1::SubmitOrderRequest marketSell() {
  auto r = limitBuy();
  r.set_side(v1::SIDE_SELL);
  r.set_type(v1::ORDER_TYPE_MARKET);
  r.set_time_in_force(v1::TIME_IN_FORCE_IOC);
  r.set_limit_price(0);
  return r;
}

// The error's field, or "ok"; and the message, checked to start with the field's name.
std::string fieldOf(const Validation& v) {
  if (v.ok()) return "ok";
  const std::string name(fieldName(v.error->field));
  CHECK(v.error->message.rfind(name + ": ", 0) == 0);
  return name;
}

}  // namespace

TEST_CASE("a well-formed limit and market order pass and carry the symbol's state for risk") {
  const auto symbols = defaultSymbols();
  const OrderValidator validator({}, symbols);
  const auto limit = validator.validateSubmit(limitBuy());
  REQUIRE(limit.ok());
  REQUIRE(limit.symbol.has_value());
  CHECK(limit.symbol->last_trade_price == 1'200'000);
  CHECK(validator.validateSubmit(marketSell()).ok());
  for (const auto tif : {v1::TIME_IN_FORCE_DAY, v1::TIME_IN_FORCE_IOC, v1::TIME_IN_FORCE_FOK}) {
    auto r = marketSell();
    r.set_time_in_force(tif);
    CHECK(validator.validateSubmit(r).ok());
  }
}

TEST_CASE("account and client_order_id are required, bounded and restricted to a safe charset") {
  const auto symbols = defaultSymbols();
  const OrderValidator validator({}, symbols);
  auto r = limitBuy();
  r.set_account("");
  CHECK(fieldOf(validator.validateSubmit(r)) == "account");

  r = limitBuy();
  r.set_client_order_id("");
  auto v = validator.validateSubmit(r);
  CHECK(fieldOf(v) == "client_order_id");
  CHECK(v.error->message == "client_order_id: is required");

  r.set_client_order_id(std::string(64, 'a'));
  CHECK(validator.validateSubmit(r).ok());
  r.set_client_order_id(std::string(65, 'a'));
  v = validator.validateSubmit(r);
  CHECK(fieldOf(v) == "client_order_id");
  CHECK(v.error->message == "client_order_id: is 65 bytes long, the most is 64");

  r.set_client_order_id("desk1:2024-01-02.17_A");
  CHECK(validator.validateSubmit(r).ok());
  const std::string bads[] = {"has space", "semi;colon", "quote\"", std::string("nul\0x", 5), "caf\xc3\xa9"};
  for (const std::string& bad : bads) {
    INFO(bad);
    r.set_client_order_id(bad);
    v = validator.validateSubmit(r);
    CHECK(fieldOf(v) == "client_order_id");
    CHECK(v.error->message.find("may only hold letters, digits and - _ . :") != std::string::npos);
  }
}

TEST_CASE("the symbol must be given and listed") {
  const auto symbols = defaultSymbols();
  const OrderValidator validator({}, symbols);
  auto r = limitBuy();
  r.set_symbol("");
  CHECK(fieldOf(validator.validateSubmit(r)) == "symbol");
  r.set_symbol("MSFT");
  const auto v = validator.validateSubmit(r);
  CHECK(fieldOf(v) == "symbol");
  CHECK(v.error->message == "symbol: unknown symbol \"MSFT\"");
  CHECK_FALSE(v.symbol.has_value());
}

TEST_CASE("side, type and time in force must be defined values") {
  const auto symbols = defaultSymbols();
  const OrderValidator validator({}, symbols);
  auto r = limitBuy();
  r.set_side(v1::SIDE_UNSPECIFIED);
  CHECK(fieldOf(validator.validateSubmit(r)) == "side");
  r.set_side(static_cast<v1::Side>(7));  // proto3 keeps unknown enum numbers
  CHECK(fieldOf(validator.validateSubmit(r)) == "side");

  r = limitBuy();
  r.set_type(v1::ORDER_TYPE_UNSPECIFIED);
  CHECK(fieldOf(validator.validateSubmit(r)) == "type");

  r = limitBuy();
  r.set_time_in_force(v1::TIME_IN_FORCE_UNSPECIFIED);
  CHECK(fieldOf(validator.validateSubmit(r)) == "time_in_force");
  r.set_time_in_force(static_cast<v1::TimeInForce>(9));
  CHECK(fieldOf(validator.validateSubmit(r)) == "time_in_force");
  for (const auto tif : {v1::TIME_IN_FORCE_DAY, v1::TIME_IN_FORCE_GTC, v1::TIME_IN_FORCE_IOC, v1::TIME_IN_FORCE_FOK}) {
    r.set_time_in_force(tif);
    CHECK(validator.validateSubmit(r).ok());
  }
}

TEST_CASE("a market order cannot be good-till-canceled") {
  const auto symbols = defaultSymbols();
  const OrderValidator validator({}, symbols);
  auto r = marketSell();
  r.set_time_in_force(v1::TIME_IN_FORCE_GTC);
  const auto v = validator.validateSubmit(r);
  CHECK(fieldOf(v) == "time_in_force");
  CHECK(v.error->message == "time_in_force: a market order cannot be GTC: use DAY, IOC or FOK");
}

TEST_CASE("quantity must be positive, within the largest order size and on the lot") {
  const auto symbols = defaultSymbols();
  ValidationConfig config;
  config.max_quantity = 1000;
  const OrderValidator validator(config, symbols);
  auto r = limitBuy();
  for (const std::int64_t q : {0LL, -5LL}) {
    r.set_quantity(q);
    const auto v = validator.validateSubmit(r);
    CHECK(fieldOf(v) == "quantity");
    CHECK(v.error->message == "quantity: must be > 0, got " + std::to_string(q));
  }
  r.set_quantity(1000);
  CHECK(validator.validateSubmit(r).ok());
  r.set_quantity(1001);
  CHECK(validator.validateSubmit(r).error->message == "quantity: 1001 is above the largest order size 1000");

  r.set_symbol("LOTS");
  r.set_limit_price(500'000);
  r.set_quantity(300);
  CHECK(validator.validateSubmit(r).ok());
  r.set_quantity(250);
  CHECK(validator.validateSubmit(r).error->message == "quantity: 250 is not a multiple of LOTS's lot size 100");
}

TEST_CASE("a limit order needs a positive price on the tick grid") {
  const auto symbols = defaultSymbols();
  const OrderValidator validator({}, symbols);
  auto r = limitBuy();
  r.set_limit_price(0);
  CHECK(validator.validateSubmit(r).error->message == "limit_price: must be > 0 for a limit order, got 0.0000");
  r.set_limit_price(-100);
  CHECK(fieldOf(validator.validateSubmit(r)) == "limit_price");
  r.set_limit_price(1'195'050);  // 119.5050: between ticks of 0.01
  CHECK(validator.validateSubmit(r).error->message ==
        "limit_price: 119.5050 is not a multiple of AAPL's tick size 0.0100");
  r.set_limit_price(1'195'100);
  CHECK(validator.validateSubmit(r).ok());
}

TEST_CASE("a market order carries no price and needs a last trade to be valued") {
  const auto symbols = defaultSymbols();
  const OrderValidator validator({}, symbols);
  auto r = marketSell();
  r.set_limit_price(1'200'000);
  CHECK(validator.validateSubmit(r).error->message == "limit_price: must be 0 for a market order, got 120.0000");

  r = marketSell();
  r.set_symbol("IPO");
  const auto v = validator.validateSubmit(r);
  CHECK(fieldOf(v) == "type");
  CHECK(v.error->message.find("IPO has not traded yet") != std::string::npos);
}

TEST_CASE("a limit price outside the band around the last trade is refused, the bounds included") {
  const auto symbols = defaultSymbols();  // AAPL last 120.00, band ±10%: 108.00 .. 132.00
  const OrderValidator validator({}, symbols);
  auto r = limitBuy();
  for (const std::int64_t ok : {1'080'000LL, 1'320'000LL, 1'200'000LL}) {
    r.set_limit_price(ok);
    CHECK(validator.validateSubmit(r).ok());
  }
  r.set_limit_price(1'320'100);
  CHECK(validator.validateSubmit(r).error->message ==
        "limit_price: 132.0100 is more than 10.00% away from AAPL's last trade 120.0000 (price band)");
  r.set_limit_price(1'079'900);
  CHECK(fieldOf(validator.validateSubmit(r)) == "limit_price");
  // A price near INT64_MAX must not overflow the band arithmetic into "inside".
  r.set_limit_price(std::numeric_limits<std::int64_t>::max() / 100 * 100);
  CHECK(fieldOf(validator.validateSubmit(r)) == "limit_price");

  ValidationConfig narrow;
  narrow.price_band_bps = 50;  // ±0.5%: 119.40 .. 120.60
  const OrderValidator strict(narrow, symbols);
  r.set_limit_price(1'206'000);
  CHECK(strict.validateSubmit(r).ok());
  r.set_limit_price(1'206'100);
  CHECK(strict.validateSubmit(r).error->message.find("more than 0.50% away") != std::string::npos);
}

TEST_CASE("without a last trade a limit order is checked on the grid but not against a band") {
  const auto symbols = defaultSymbols();
  const OrderValidator validator({}, symbols);
  auto r = limitBuy();
  r.set_symbol("IPO");
  r.set_limit_price(99'990'000);  // 9999.00: no reference to call it a fat finger
  CHECK(validator.validateSubmit(r).ok());
  r.set_limit_price(99'990'001);
  CHECK(fieldOf(validator.validateSubmit(r)) == "limit_price");
}

TEST_CASE("a replace keeps the original's symbol and type, needs a new key and quantity beyond the fills") {
  const auto symbols = defaultSymbols();
  const OrderValidator validator({}, symbols);
  v1::Order original;
  original.set_order_id("ord-1");
  original.set_account("acct-1");
  original.set_client_order_id("c-1");
  original.set_symbol("AAPL");
  original.set_side(v1::SIDE_BUY);
  original.set_type(v1::ORDER_TYPE_LIMIT);
  original.set_quantity(100);
  original.set_filled_quantity(40);
  original.set_limit_price(1'195'000);

  v1::ReplaceOrderRequest r;
  r.set_account("acct-1");
  r.set_order_id("ord-1");
  r.set_client_order_id("c-2");
  r.set_quantity(200);
  r.set_limit_price(1'196'000);
  const auto ok = validator.validateReplace(r, original);
  REQUIRE(ok.ok());
  CHECK(ok.symbol->last_trade_price == 1'200'000);

  auto bad = r;
  bad.set_order_id("");
  CHECK(fieldOf(validator.validateReplace(bad, original)) == "order_id");
  bad = r;
  bad.set_client_order_id("c-1");
  CHECK(validator.validateReplace(bad, original).error->message ==
        "client_order_id: must differ from the replaced order's client_order_id");
  bad = r;
  bad.set_quantity(40);
  CHECK(validator.validateReplace(bad, original).error->message ==
        "quantity: 40 must be above the 40 shares already filled");
  bad.set_quantity(41);
  CHECK(validator.validateReplace(bad, original).ok());
  bad = r;
  bad.set_limit_price(1'195'001);
  CHECK(fieldOf(validator.validateReplace(bad, original)) == "limit_price");
  bad.set_limit_price(2'000'000);
  CHECK(validator.validateReplace(bad, original).error->message.find("(price band)") != std::string::npos);

  auto market = original;
  market.set_type(v1::ORDER_TYPE_MARKET);
  market.set_limit_price(0);
  CHECK(fieldOf(validator.validateReplace(r, market)) == "limit_price");  // a market order has no price
  bad = r;
  bad.set_limit_price(0);
  CHECK(validator.validateReplace(bad, market).ok());

  auto delisted = original;
  delisted.set_symbol("GONE");
  CHECK(fieldOf(validator.validateReplace(r, delisted)) == "order_id");
}

TEST_CASE("ValidationConfig::validate names the bad field") {
  const auto symbols = defaultSymbols();
  ValidationConfig c;
  CHECK_NOTHROW(c.validate());
  c.price_band_bps = 0;
  CHECK_THROWS_WITH(c.validate(), Catch::Contains("ValidationConfig.price_band_bps"));
  CHECK_THROWS_AS(OrderValidator(c, symbols), std::invalid_argument);
  c = {};
  c.max_quantity = 0;
  CHECK_THROWS_WITH(c.validate(), Catch::Contains("ValidationConfig.max_quantity"));
  c = {};
  c.max_id_length = 0;
  CHECK_THROWS_WITH(c.validate(), Catch::Contains("ValidationConfig.max_id_length"));
  c = {};
  c.market_collar_bps = 10'001;
  CHECK_THROWS_WITH(c.validate(), Catch::Contains("ValidationConfig.market_collar_bps"));
  c.market_collar_bps = 0;  // no collar
  CHECK_NOTHROW(c.validate());
}

TEST_CASE("a market order's collar is the last trade moved by the collar against it, on the tick grid") {
  const auto symbols = defaultSymbols();
  ValidationConfig c;
  c.market_collar_bps = 1000;
  const OrderValidator v(c, symbols);
  const SymbolInfo aapl = *symbols.find("AAPL");  // tick 0.01, last 120.00
  CHECK(v.marketCollar(v1::ORDER_TYPE_MARKET, v1::SIDE_BUY, aapl) == 1'320'000);   // 132.00
  CHECK(v.marketCollar(v1::ORDER_TYPE_MARKET, v1::SIDE_SELL, aapl) == 1'080'000);  // 108.00
  // Off the grid: a buy's collar rounds down and a sell's up, never past the bps.
  const SymbolInfo odd{500, 1, 1'000'300};  // tick 0.05, last 100.03
  CHECK(v.marketCollar(v1::ORDER_TYPE_MARKET, v1::SIDE_BUY, odd) == 1'100'000);    // 110.033 -> 110.00
  CHECK(v.marketCollar(v1::ORDER_TYPE_MARKET, v1::SIDE_SELL, odd) == 900'500);     // 90.027 -> 90.05
  // A penny stock's sell collar is at least one tick, never 0 (which would mean none).
  ValidationConfig wide;
  wide.market_collar_bps = 10'000;
  const OrderValidator w(wide, symbols);
  CHECK(w.marketCollar(v1::ORDER_TYPE_MARKET, v1::SIDE_SELL, SymbolInfo{100, 1, 100}) == 100);
  // A narrow collar on a coarse grid never lands on the wrong side of the last trade: 1 bp of
  // 100.03 is less than the 0.05 tick, so a buy's is the last rounded up and a sell's down.
  ValidationConfig narrow;
  narrow.market_collar_bps = 1;
  const OrderValidator n(narrow, symbols);
  CHECK(n.marketCollar(v1::ORDER_TYPE_MARKET, v1::SIDE_BUY, odd) == 1'000'500);   // 100.05
  CHECK(n.marketCollar(v1::ORDER_TYPE_MARKET, v1::SIDE_SELL, odd) == 1'000'000);  // 100.00
  // Near the top of the price range a buy's collar stops at the largest price a venue takes.
  CHECK(v.marketCollar(v1::ORDER_TYPE_MARKET, v1::SIDE_BUY, SymbolInfo{100, 1, 1'900'000'000}) == 1'999'999'900);
  // None: a limit order, no last trade, the collar off.
  CHECK(v.marketCollar(v1::ORDER_TYPE_LIMIT, v1::SIDE_BUY, aapl) == 0);
  CHECK(v.marketCollar(v1::ORDER_TYPE_MARKET, v1::SIDE_BUY, *symbols.find("IPO")) == 0);
  ValidationConfig off;
  off.market_collar_bps = 0;
  CHECK(OrderValidator(off, symbols).marketCollar(v1::ORDER_TYPE_MARKET, v1::SIDE_BUY, aapl) == 0);
}

TEST_CASE("formatPrice prints four decimals, negative values and the extremes") {
  CHECK(formatPrice(0) == "0.0000");
  CHECK(formatPrice(1'234'500) == "123.4500");
  CHECK(formatPrice(-100) == "-0.0100");
  CHECK(formatPrice(std::numeric_limits<std::int64_t>::min()) == "-922337203685477.5808");
}
