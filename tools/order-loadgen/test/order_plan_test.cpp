#include <catch2/catch.hpp>

#include <set>
#include <stdexcept>
#include <string>

#include "order_plan.h"

using namespace tickstream::order_loadgen;
namespace ov1 = tickstream::order::v1;

TEST_CASE("symbols take --price unless they carry their own") {
  const auto s = parseSymbols("AAPL,MSFT=4100000,NVDA", 1'900'000);
  REQUIRE(s.size() == 3);
  CHECK(s[0].symbol == "AAPL");
  CHECK(s[0].price == 1'900'000);
  CHECK(s[1].symbol == "MSFT");
  CHECK(s[1].price == 4'100'000);
  CHECK(s[2].price == 1'900'000);
}

TEST_CASE("bad --symbols entries are refused naming the entry") {
  CHECK_THROWS_AS(parseSymbols("", 100), std::invalid_argument);
  CHECK_THROWS_AS(parseSymbols("AAPL,", 100), std::invalid_argument);
  CHECK_THROWS_AS(parseSymbols("AAPL=12x", 100), std::invalid_argument);
  CHECK_THROWS_AS(parseSymbols("AAPL=", 100), std::invalid_argument);
  CHECK_THROWS_WITH(parseSymbols("AAPL", 0), Catch::Contains("AAPL has no price"));
  CHECK_THROWS_WITH(parseSymbols("AAPL=1234550", 0), Catch::Contains("not a multiple of 100"));
  CHECK_THROWS_AS(parseSymbols("AAPL=-100", 0), std::invalid_argument);
}

TEST_CASE("accounts are numbered from 0001") {
  CHECK(accountName("load-", 0) == "load-0001");
  CHECK(accountName("load-", 9998) == "load-9999");
  CHECK(accountName("load-", 9999) == "load-10000");
}

TEST_CASE("run ids are valid id prefixes and differ between runs") {
  const std::string a = randomRunId(), b = randomRunId();
  CHECK(a.size() == 10);
  CHECK(a.rfind("lg", 0) == 0);
  CHECK(a != b);
}

TEST_CASE("the plan cycles accounts and symbols, alternates sides and keeps ids unique") {
  PlanConfig pc;
  pc.run_id = "lgtest";
  pc.accounts = 3;
  pc.symbols = parseSymbols("AAPL=1900000,MSFT=4100000", 0);
  const OrderPlan plan(pc);
  ov1::SubmitOrderRequest r;
  std::set<std::string> ids;
  int buys = 0;
  for (int sender = 0; sender < 2; ++sender) {
    for (uint64_t seq = 0; seq < 12; ++seq) {
      plan.fill(r, sender, seq);
      CHECK(r.account() == accountName("load-", static_cast<int>(seq % 3)));
      CHECK(r.symbol() == (seq % 2 == 0 ? "AAPL" : "MSFT"));
      CHECK(r.limit_price() == (seq % 2 == 0 ? 1'900'000 : 4'100'000));
      CHECK(r.type() == ov1::ORDER_TYPE_LIMIT);
      CHECK(r.time_in_force() == ov1::TIME_IN_FORCE_IOC);
      CHECK(r.quantity() == 100);
      CHECK(r.side() == ((seq / 3) % 2 == 0 ? ov1::SIDE_BUY : ov1::SIDE_SELL));
      buys += r.side() == ov1::SIDE_BUY ? 1 : 0;
      ids.insert(r.client_order_id());
    }
  }
  CHECK(ids.size() == 24);
  CHECK(ids.contains("lgtest-1-11"));
  CHECK(buys == 12);
}

TEST_CASE("a run id the service would refuse is refused at start") {
  PlanConfig pc;
  pc.symbols = parseSymbols("AAPL=100", 0);
  pc.run_id = "has space";
  CHECK_THROWS_AS(OrderPlan(pc), std::invalid_argument);
  pc.run_id = std::string(41, 'a');
  CHECK_THROWS_AS(OrderPlan(pc), std::invalid_argument);
  pc.run_id = "";
  CHECK_THROWS_AS(OrderPlan(pc), std::invalid_argument);
}
