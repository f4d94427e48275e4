#include <catch2/catch.hpp>

#include "exposure_cache.h"

using namespace tickstream::order;

namespace {

v1::Order order(v1::OrderStatus status, v1::Side side, std::int64_t qty, std::int64_t filled,
                const std::string& symbol = "AAPL") {
  v1::Order o;
  o.set_status(status);
  o.set_side(side);
  o.set_quantity(qty);
  o.set_filled_quantity(filled);
  o.set_symbol(symbol);
  return o;
}

CachedExposure entry(std::int64_t seq, std::int64_t open_orders, std::int64_t buy, std::int64_t sell) {
  CachedExposure e;
  e.last_seq = seq;
  e.open_orders = open_orders;
  if (buy || sell) e.symbols["AAPL"] = {buy, sell};
  return e;
}

}  // namespace

TEST_CASE("an exposure entry is found only at the last_seq it reflects") {
  ExposureCache cache;
  cache.put("acct", entry(7, 1, 100, 0));
  CHECK(cache.find("acct", 7) != nullptr);
  CHECK(cache.find("acct", 6) == nullptr);
  CHECK(cache.find("acct", 8) == nullptr);  // another writer committed: reload
  CHECK(cache.find("other", 7) == nullptr);
}

TEST_CASE("a committed delta moves the entry to the new seq with the working orders changed") {
  ExposureCache cache;
  cache.put("acct", entry(7, 1, 100, 0));
  ExposureDelta d;
  d.from_seq = 7;
  d.to_seq = 9;
  d.add(order(v1::ORDER_STATUS_ACCEPTED, v1::SIDE_SELL, 50, 0), +1);  // a new sell works
  d.add(order(v1::ORDER_STATUS_ROUTED, v1::SIDE_BUY, 100, 0), -1);    // the buy as it was...
  d.add(order(v1::ORDER_STATUS_PARTIALLY_FILLED, v1::SIDE_BUY, 100, 40), +1);  // ...part filled
  cache.apply("acct", d);
  REQUIRE(cache.find("acct", 7) == nullptr);
  const auto* e = cache.find("acct", 9);
  REQUIRE(e != nullptr);
  CHECK(e->open_orders == 2);
  CHECK(e->symbols.at("AAPL").open_buy == 60);
  CHECK(e->symbols.at("AAPL").open_sell == 50);
}

TEST_CASE("orders that stop working leave the exposure, and empty symbols are dropped") {
  ExposureCache cache;
  cache.put("acct", entry(3, 1, 100, 0));
  ExposureDelta d;
  d.from_seq = 3;
  d.to_seq = 4;
  d.add(order(v1::ORDER_STATUS_ROUTED, v1::SIDE_BUY, 100, 0), -1);
  d.add(order(v1::ORDER_STATUS_FILLED, v1::SIDE_BUY, 100, 100), +1);  // not working: adds nothing
  cache.apply("acct", d);
  const auto* e = cache.find("acct", 4);
  REQUIRE(e != nullptr);
  CHECK(e->open_orders == 0);
  CHECK(e->symbols.empty());
}

TEST_CASE("a delta from another seq drops the entry: it missed a write") {
  ExposureCache cache;
  cache.put("acct", entry(5, 1, 100, 0));
  ExposureDelta d;
  d.from_seq = 6;  // someone (a replace, another replica) wrote seq 6 meanwhile
  d.to_seq = 7;
  d.add(order(v1::ORDER_STATUS_ACCEPTED, v1::SIDE_BUY, 10, 0), +1);
  cache.apply("acct", d);
  CHECK(cache.find("acct", 5) == nullptr);
  CHECK(cache.find("acct", 7) == nullptr);
  CHECK(cache.size() == 0);
}

TEST_CASE("a delta for an account without an entry creates none") {
  ExposureCache cache;
  ExposureDelta d;
  d.from_seq = 1;
  d.to_seq = 2;
  d.add(order(v1::ORDER_STATUS_ACCEPTED, v1::SIDE_BUY, 10, 0), +1);
  cache.apply("acct", d);
  CHECK(cache.size() == 0);
}

TEST_CASE("the exposure cache empties itself past its bound, between transactions only") {
  ExposureCache cache(2);
  cache.put("a", entry(1, 0, 0, 0));
  cache.put("b", entry(1, 0, 0, 0));
  cache.put("c", entry(1, 0, 0, 0));
  CHECK(cache.find("a", 1) != nullptr);  // still there until trim()
  cache.trim();
  CHECK(cache.size() == 0);
}

TEST_CASE("working statuses are NEW, ACCEPTED, ROUTED, PARTIALLY_FILLED and the two pending ones") {
  for (int s = 0; s <= 11; ++s) {
    const auto status = static_cast<v1::OrderStatus>(s);
    const bool expected = s == 1 || s == 2 || s == 3 || s == 4 || s == 6 || s == 8;
    CHECK(isWorking(status) == expected);
  }
}
