#include <catch2/catch.hpp>

#include <cstdint>
#include <set>
#include <stdexcept>
#include <string>

#include "order_args.h"

using namespace tickstream::tsctl;
namespace ov1 = tickstream::order::v1;

TEST_CASE("decimal prices become fixed-point 1/10000") {
  CHECK(parsePrice("123.45") == 1'234'500);
  CHECK(parsePrice("123") == 1'230'000);
  CHECK(parsePrice("0.0001") == 1);
  CHECK(parsePrice("0.5") == 5'000);
  CHECK(parsePrice("007.10") == 71'000);
  CHECK(parsePrice("922337203685477.5807") == INT64_MAX);
}

TEST_CASE("prices with more than 4 decimals are refused, not rounded") {
  CHECK_THROWS_WITH(parsePrice("1.23456"), Catch::Contains("more than 4 decimals"));
  CHECK_THROWS_WITH(parsePrice("0.00001"), Catch::Contains("more than 4 decimals"));
}

TEST_CASE("what is not a plain decimal is refused") {
  for (const char* bad : {"", ".5", "5.", "-1", "+1", "1e3", "1,5", " 1", "1 ", "1.2.3", "abc", "1.x"}) {
    INFO(bad);
    CHECK_THROWS_AS(parsePrice(bad), std::invalid_argument);
  }
  CHECK_THROWS_WITH(parsePrice("922337203685477.5808"), Catch::Contains("too large"));
  CHECK_THROWS_WITH(parsePrice("99999999999999999999"), Catch::Contains("too large"));
}

TEST_CASE("side, type and time in force names map to the proto's enums") {
  CHECK(parseSide("buy") == ov1::SIDE_BUY);
  CHECK(parseSide("sell") == ov1::SIDE_SELL);
  CHECK(parseOrderType("limit") == ov1::ORDER_TYPE_LIMIT);
  CHECK(parseOrderType("market") == ov1::ORDER_TYPE_MARKET);
  CHECK(parseTimeInForce("day") == ov1::TIME_IN_FORCE_DAY);
  CHECK(parseTimeInForce("gtc") == ov1::TIME_IN_FORCE_GTC);
  CHECK(parseTimeInForce("ioc") == ov1::TIME_IN_FORCE_IOC);
  CHECK(parseTimeInForce("fok") == ov1::TIME_IN_FORCE_FOK);
  CHECK_THROWS_WITH(parseSide("short"), Catch::Contains("buy|sell"));
  CHECK_THROWS_AS(parseTimeInForce("IOC"), std::invalid_argument);
}

TEST_CASE("statuses are read in any case, with or without the enum prefix") {
  CHECK(parseStatus("accepted") == ov1::ORDER_STATUS_ACCEPTED);
  CHECK(parseStatus("PARTIALLY_FILLED") == ov1::ORDER_STATUS_PARTIALLY_FILLED);
  CHECK(parseStatus("order_status_expired") == ov1::ORDER_STATUS_EXPIRED);
  CHECK_THROWS_AS(parseStatus("unspecified"), std::invalid_argument);
  CHECK_THROWS_AS(parseStatus("done"), std::invalid_argument);
  CHECK_THROWS_AS(parseStatus(""), std::invalid_argument);
}

TEST_CASE("client order ids are version 4 UUIDs the service accepts") {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const std::string id = newClientOrderId();
    REQUIRE(id.size() == 36);
    CHECK(id[8] == '-');
    CHECK(id[13] == '-');
    CHECK(id[14] == '4');
    CHECK(id[18] == '-');
    CHECK(std::string("89ab").find(id[19]) != std::string::npos);
    CHECK(id[23] == '-');
    CHECK(id.find_first_not_of("0123456789abcdef-") == std::string::npos);
    seen.insert(id);
  }
  CHECK(seen.size() == 1000);
}
