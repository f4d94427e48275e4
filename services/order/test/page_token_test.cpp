#include <catch2/catch.hpp>

#include "page_token.h"

using namespace tickstream::order;

TEST_CASE("a page token round-trips the cursor for the filters it was issued for") {
  const auto digest = filterDigest("acct-1", {v1::ORDER_STATUS_ACCEPTED, v1::ORDER_STATUS_ROUTED}, "AAPL");
  const auto token = encodePageToken({1'700'000'000'123'456'789, "ord-00ff|x"}, digest);
  const auto cursor = decodePageToken(token, digest);
  REQUIRE(cursor);
  CHECK(cursor->created_ts_ns == 1'700'000'000'123'456'789);
  CHECK(cursor->order_id == "ord-00ff|x");  // '|' inside the id survives: it is the last field
}

TEST_CASE("a page token is refused with other filters, or when it is not one of ours") {
  const auto digest = filterDigest("acct-1", {}, "");
  const auto token = encodePageToken({5, "ord-1"}, digest);
  CHECK_FALSE(decodePageToken(token, filterDigest("acct-2", {}, "")));
  CHECK_FALSE(decodePageToken(token, filterDigest("acct-1", {v1::ORDER_STATUS_FILLED}, "")));
  CHECK_FALSE(decodePageToken(token, filterDigest("acct-1", {}, "MSFT")));
  CHECK_FALSE(decodePageToken("zz", digest));
  CHECK_FALSE(decodePageToken(token.substr(1), digest));
  CHECK_FALSE(decodePageToken("7631", digest));  // "v1" and nothing else
}

TEST_CASE("the filter digest ignores the order and repetition of statuses, not field boundaries") {
  CHECK(filterDigest("a", {v1::ORDER_STATUS_FILLED, v1::ORDER_STATUS_NEW}, "") ==
        filterDigest("a", {v1::ORDER_STATUS_NEW, v1::ORDER_STATUS_FILLED, v1::ORDER_STATUS_NEW}, ""));
  CHECK(filterDigest("ab", {}, "c") != filterDigest("a", {}, "bc"));
}
