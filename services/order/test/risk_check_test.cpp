#include <catch2/catch.hpp>

#include <limits>
#include <string>

#include "risk_check.h"

using namespace tickstream::order;

namespace {

constexpr std::int64_t kSecond = 1'000'000'000;

RiskLimits generous() {
  RiskLimits l;
  l.max_order_notional = 1'000'000 * 10'000LL;  // 1,000,000.00
  l.max_open_orders = 10;
  l.max_position = 1'000;
  l.orders_per_second = 100;
  l.order_burst = 100;
  l.allow_short = false;
  return l;
}

OrderIntent buy(std::int64_t quantity, std::int64_t price = 1'000'000) {  // 100.00
  return {"acct-1", "AAPL", v1::SIDE_BUY, quantity, price};
}
OrderIntent sell(std::int64_t quantity, std::int64_t price = 1'000'000) {
  return {"acct-1", "AAPL", v1::SIDE_SELL, quantity, price};
}

// Remembers what it was asked and refuses when told to.
class FakeBuyingPower final : public BuyingPower {
 public:
  mutable std::int64_t last_notional = -1;
  bool refuse = false;
  std::optional<std::string> check(const OrderIntent&, std::int64_t notional) const override {
    last_notional = notional;
    if (refuse) return "cash 10.00 does not cover 1000.00";
    return std::nullopt;
  }
};

}  // namespace

TEST_CASE("an account without limits, or with unusable ones, is refused (fail closed)") {
  UnlimitedBuyingPower bp;
  RiskChecker risk(bp);
  auto r = risk.check(buy(1), nullptr, {}, 0);
  REQUIRE(r);
  CHECK(r->rule == RiskRule::Limits);
  CHECK(r->reason == v1::REJECT_REASON_RISK_LIMIT);
  CHECK(r->text == "account acct-1 has no risk limits configured");

  auto bad = generous();
  bad.orders_per_second = 0;
  r = risk.check(buy(1), &bad, {}, 0);
  REQUIRE(r);
  CHECK(r->rule == RiskRule::Limits);
  CHECK(r->text == "account acct-1 has unusable risk limits: orders_per_second must be in [1, 1000000000], got 0");

  for (auto breakIt : {+[](RiskLimits& l) { l.max_order_notional = -1; }, +[](RiskLimits& l) { l.max_open_orders = -1; },
                       +[](RiskLimits& l) { l.max_position = -1; }, +[](RiskLimits& l) { l.order_burst = 0; },
                       +[](RiskLimits& l) { l.order_burst = 2'000'000; }}) {
    bad = generous();
    breakIt(bad);
    CHECK(bad.problem().has_value());
    r = risk.check(buy(1), &bad, {}, 0);
    REQUIRE(r);
    CHECK(r->rule == RiskRule::Limits);
  }
  CHECK_FALSE(generous().problem().has_value());
}

TEST_CASE("orders per second: a burst passes, the next is refused, and the bucket refills") {
  UnlimitedBuyingPower bp;
  RiskChecker risk(bp);
  auto limits = generous();
  limits.orders_per_second = 2;
  limits.order_burst = 3;
  const std::int64_t t0 = 5 * kSecond;
  for (int i = 0; i < 3; ++i) CHECK_FALSE(risk.check(buy(1), &limits, {}, t0));
  const auto r = risk.check(buy(1), &limits, {}, t0);
  REQUIRE(r);
  CHECK(r->rule == RiskRule::OrderRate);
  CHECK(r->reason == v1::REJECT_REASON_RISK_LIMIT);
  CHECK(r->text == "more than 2 orders per second (burst 3)");
  CHECK_FALSE(risk.check(buy(1), &limits, {}, t0 + kSecond / 2));  // one token back after 0.5 s
  CHECK(risk.check(buy(1), &limits, {}, t0 + kSecond / 2));

  // Buckets are per account.
  OrderIntent other = buy(1);
  other.account = "acct-2";
  CHECK_FALSE(risk.check(other, &limits, {}, t0 + kSecond / 2));

  // New limits take effect at once, with a full bucket.
  limits.order_burst = 4;
  for (int i = 0; i < 4; ++i) CHECK_FALSE(risk.check(buy(1), &limits, {}, t0 + kSecond / 2));
  CHECK(risk.check(buy(1), &limits, {}, t0 + kSecond / 2));
}

TEST_CASE("an order refused by a later rule still costs a token") {
  UnlimitedBuyingPower bp;
  RiskChecker risk(bp);
  auto limits = generous();
  limits.orders_per_second = 1;
  limits.order_burst = 2;
  const AccountExposure full{limits.max_open_orders, 0, 0, 0};
  CHECK(risk.check(buy(1), &limits, full, 0)->rule == RiskRule::OpenOrders);
  CHECK(risk.check(buy(1), &limits, full, 0)->rule == RiskRule::OpenOrders);
  CHECK(risk.check(buy(1), &limits, {}, 0)->rule == RiskRule::OrderRate);
}

TEST_CASE("max open orders counts the new order - zero stops the account") {
  UnlimitedBuyingPower bp;
  RiskChecker risk(bp);
  auto limits = generous();
  limits.max_open_orders = 3;
  CHECK_FALSE(risk.check(buy(1), &limits, {2, 0, 0, 0}, 0));
  const auto r = risk.check(buy(1), &limits, {3, 0, 0, 0}, 0);
  REQUIRE(r);
  CHECK(r->rule == RiskRule::OpenOrders);
  CHECK(r->text == "3 orders already open, the most is 3");
  limits.max_open_orders = 0;
  CHECK(risk.check(buy(1), &limits, {}, 0)->rule == RiskRule::OpenOrders);
}

TEST_CASE("order notional: at the limit passes, above it, overflowing or unpriced is refused") {
  UnlimitedBuyingPower bp;
  RiskChecker risk(bp);
  auto limits = generous();
  limits.max_order_notional = 100 * 1'000'000LL;  // 100 shares at 100.00 = 10,000.00
  CHECK_FALSE(risk.check(buy(100), &limits, {}, 0));
  auto r = risk.check(buy(100, 1'000'100), &limits, {}, 0);
  REQUIRE(r);
  CHECK(r->rule == RiskRule::OrderNotional);
  CHECK(r->text == "100 x 100.0100 is above the order notional limit 10000.0000");
  limits.max_order_notional = std::numeric_limits<std::int64_t>::max();
  r = risk.check(buy(1'000'000'000, std::numeric_limits<std::int64_t>::max() / 1000), &limits, {}, 0);
  REQUIRE(r);
  CHECK(r->rule == RiskRule::OrderNotional);
  r = risk.check(buy(100, 0), &limits, {}, 0);
  REQUIRE(r);
  CHECK(r->text == "the order has no price to value it at");
}

TEST_CASE("a market order is valued at the last trade or its higher collar, and cannot be valued without a trade") {
  const SymbolInfo traded{100, 1, 1'234'500};
  const SymbolInfo untraded{100, 1, std::nullopt};
  CHECK(valuationPrice(v1::ORDER_TYPE_MARKET, 0, traded) == 1'234'500);
  CHECK(valuationPrice(v1::ORDER_TYPE_LIMIT, 1'200'000, traded) == 1'200'000);
  CHECK(valuationPrice(v1::ORDER_TYPE_MARKET, 0, untraded) == 0);
  // With a collar: a buy's, above the last trade, is the most it may pay; a sell's, below, is not
  // worse than the last trade for notional; a limit order has none.
  CHECK(valuationPrice(v1::ORDER_TYPE_MARKET, 0, traded, 1'358'000) == 1'358'000);
  CHECK(valuationPrice(v1::ORDER_TYPE_MARKET, 0, traded, 1'111'100) == 1'234'500);
  CHECK(valuationPrice(v1::ORDER_TYPE_LIMIT, 1'200'000, traded, 1'358'000) == 1'200'000);
  CHECK(valuationPrice(v1::ORDER_TYPE_MARKET, 0, untraded, 1'358'000) == 0);

  UnlimitedBuyingPower bp;
  RiskChecker risk(bp);
  const auto limits = generous();
  const auto r = risk.check(buy(10, valuationPrice(v1::ORDER_TYPE_MARKET, 0, untraded)), &limits, {}, 0);
  REQUIRE(r);
  CHECK(r->rule == RiskRule::OrderNotional);
}

TEST_CASE("selling more than is held and not already offered is refused unless shorting is allowed") {
  UnlimitedBuyingPower bp;
  RiskChecker risk(bp);
  auto limits = generous();
  const AccountExposure holding{1, 100, 0, 60};  // holds 100, 60 already offered
  CHECK_FALSE(risk.check(sell(40), &limits, holding, 0));
  auto r = risk.check(sell(41), &limits, holding, 0);
  REQUIRE(r);
  CHECK(r->rule == RiskRule::ShortSelling);
  CHECK(r->reason == v1::REJECT_REASON_INSUFFICIENT_POSITION);
  CHECK(r->text == "selling 41 AAPL with 100 held and 60 already offered would go short, which the account may not");
  CHECK(risk.check(sell(1), &limits, {}, 0)->rule == RiskRule::ShortSelling);

  limits.allow_short = true;
  limits.max_position = 500;
  CHECK_FALSE(risk.check(sell(540), &limits, holding, 0));  // worst case -500
  r = risk.check(sell(541), &limits, holding, 0);
  REQUIRE(r);
  CHECK(r->rule == RiskRule::Position);
  CHECK(r->reason == v1::REJECT_REASON_RISK_LIMIT);
}

TEST_CASE("max position counts open orders on the order's side") {
  UnlimitedBuyingPower bp;
  RiskChecker risk(bp);
  auto limits = generous();
  limits.max_position = 100;
  const AccountExposure exposure{2, 50, 30, 500};  // long 50, 30 more bid; the offers do not count
  CHECK_FALSE(risk.check(buy(20), &limits, exposure, 0));
  const auto r = risk.check(buy(21), &limits, exposure, 0);
  REQUIRE(r);
  CHECK(r->rule == RiskRule::Position);
  CHECK(r->text == "buy 21 AAPL could take the position to 101 shares (open orders included), the most is 100");
  // Overflowing exposure is refused, not wrapped into a small number.
  const AccountExposure huge{0, std::numeric_limits<std::int64_t>::max(), 1, 0};
  limits.max_position = std::numeric_limits<std::int64_t>::max();
  CHECK(risk.check(buy(1), &limits, huge, 0)->rule == RiskRule::Position);
}

TEST_CASE("buying power is asked last, with the order's notional, and its refusal is reported") {
  FakeBuyingPower bp;
  RiskChecker risk(bp);
  const auto limits = generous();
  CHECK_FALSE(risk.check(buy(3), &limits, {}, 0));
  CHECK(bp.last_notional == 3 * 1'000'000);

  bp.refuse = true;
  const auto r = risk.check(buy(3), &limits, {}, 0);
  REQUIRE(r);
  CHECK(r->rule == RiskRule::BuyingPower);
  CHECK(r->reason == v1::REJECT_REASON_INSUFFICIENT_BUYING_POWER);
  CHECK(r->text == "cash 10.00 does not cover 1000.00");

  // Not asked when an earlier rule refuses.
  bp.last_notional = -1;
  CHECK(risk.check(sell(1), &limits, {}, 0)->rule == RiskRule::ShortSelling);
  CHECK(bp.last_notional == -1);
}

TEST_CASE("UnlimitedBuyingPower allows every order") {
  const UnlimitedBuyingPower bp;
  CHECK_FALSE(bp.check(buy(1'000'000'000), std::numeric_limits<std::int64_t>::max()));
}

TEST_CASE("risk rule names are distinct metric labels") {
  CHECK(riskRuleName(RiskRule::Limits) == "limits");
  CHECK(riskRuleName(RiskRule::OrderRate) == "order_rate");
  CHECK(riskRuleName(RiskRule::OpenOrders) == "open_orders");
  CHECK(riskRuleName(RiskRule::OrderNotional) == "order_notional");
  CHECK(riskRuleName(RiskRule::ShortSelling) == "short_selling");
  CHECK(riskRuleName(RiskRule::Position) == "position");
  CHECK(riskRuleName(RiskRule::BuyingPower) == "buying_power");
}
