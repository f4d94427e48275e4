#include <catch2/catch.hpp>

#include <set>

#include "order_rows.h"

using namespace tickstream::order;

TEST_CASE("the average fill price is the shares-weighted mean, rounded half up, without overflow") {
  CHECK(rows::averagePrice(0, 0, 1'000'000, 100) == 1'000'000);
  // 100 @ 100.0000 and 50 @ 100.0001: 100.0000333 -> 100.0000
  CHECK(rows::averagePrice(1'000'000, 100, 1'000'001, 50) == 1'000'000);
  // 1 @ 0.0001 and 1 @ 0.0002: 0.00015 -> 0.0002 (half up)
  CHECK(rows::averagePrice(1, 1, 2, 1) == 2);
  // 1e9 shares at ~1e12 fixed-point: the products exceed int64, the result does not.
  CHECK(rows::averagePrice(1'000'000'000'000, 1'000'000'000, 1'000'000'000'002, 1'000'000'000) == 1'000'000'000'001);
}

TEST_CASE("generated ids carry the prefix and 128 random bits") {
  std::set<std::string> ids;
  for (int i = 0; i < 1000; ++i) ids.insert(rows::newId("ord-"));
  CHECK(ids.size() == 1000);
  CHECK(ids.begin()->rfind("ord-", 0) == 0);
  CHECK(ids.begin()->size() == 4 + 32);
}

