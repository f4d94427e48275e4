#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "watch_table.h"

namespace md = tickstream::marketdata::v1;
using tickstream::tsctl::formatPrice;
using tickstream::tsctl::renderTable;
using tickstream::tsctl::WatchTable;

namespace {

md::MarketDataUpdate quote(const std::string& symbol, uint64_t seq, int64_t bid_px, int64_t bid_sz,
                           int64_t ask_px, int64_t ask_sz) {
  md::MarketDataUpdate u;
  u.set_symbol(symbol);
  u.set_seq(seq);
  auto* q = u.mutable_quote();
  q->set_bid_price(bid_px);
  q->set_bid_size(bid_sz);
  q->set_ask_price(ask_px);
  q->set_ask_size(ask_sz);
  return u;
}

md::MarketDataUpdate trade(const std::string& symbol, uint64_t seq, int64_t px, int64_t sz, int64_t volume) {
  md::MarketDataUpdate u;
  u.set_symbol(symbol);
  u.set_seq(seq);
  auto* t = u.mutable_trade();
  t->set_price(px);
  t->set_size(sz);
  t->set_session_volume(volume);
  return u;
}

}  // namespace

TEST_CASE("prices print as dollars, trimmed to cents when whole cents") {
  CHECK(formatPrice(1234500) == "123.45");
  CHECK(formatPrice(1234567) == "123.4567");
  CHECK(formatPrice(1234560) == "123.4560");
  CHECK(formatPrice(1230000) == "123.00");
  CHECK(formatPrice(100) == "0.01");
  CHECK(formatPrice(1) == "0.0001");
  CHECK(formatPrice(-1234500) == "-123.45");
  CHECK(formatPrice(0) == "-");
}

TEST_CASE("a row merges quote, trade and status from separate updates") {
  WatchTable t;
  t.apply(quote("AAPL", 7, 1234500, 300, 1234600, 200));
  t.apply(trade("AAPL", 8, 1234567, 100, 5100));
  md::MarketDataUpdate halt;
  halt.set_symbol("AAPL");
  halt.set_seq(9);
  halt.set_conflated(3);
  halt.mutable_status()->set_state(md::TRADING_STATE_HALTED);
  t.apply(halt);

  auto rows = t.rows({"AAPL"}, 12, 2000);
  REQUIRE(rows.size() == 1);
  const auto& r = rows[0];
  CHECK(r.symbol == "AAPL");
  CHECK(r.bid == "300@123.45");
  CHECK(r.ask == "123.46@200");
  CHECK(r.last == "123.4567");
  CHECK(r.volume == "5100");
  CHECK(r.seq == "9");
  CHECK(r.rate == "1.5");  // 3 updates over 2 s
  CHECK(r.status == "HALTED");
  CHECK(t.find("AAPL")->conflated == 3);
  CHECK(t.find("AAPL")->last_size == 100);

  SECTION("the rate counts only updates since the previous table") {
    t.apply(quote("AAPL", 10, 1234500, 0, 1234600, 200));
    auto next = t.rows({"AAPL"}, 12, 1000);
    CHECK(next[0].rate == "1.0");
    CHECK(next[0].bid == "-");  // size 0: the bid side is empty
    CHECK(next[0].last == "123.4567");  // a quote leaves the last trade alone
  }
}

TEST_CASE("a requested symbol with no data yet shows dashes") {
  WatchTable t;
  auto rows = t.rows({"MSFT"}, 12, 1000);
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].bid == "-");
  CHECK(rows[0].last == "-");
  CHECK(rows[0].status.empty());
}

TEST_CASE("without symbols the table shows the most active first, conflated updates counting") {
  WatchTable t;
  for (uint64_t i = 1; i <= 3; ++i) t.apply(trade("MSFT", i, 4000000, 10, static_cast<int64_t>(10 * i)));
  t.apply(trade("AAPL", 1, 1500000, 10, 10));
  md::MarketDataUpdate busy = trade("NVDA", 1, 9000000, 10, 10);
  busy.set_conflated(5);  // one update standing for six
  t.apply(busy);
  t.apply(trade("AMZN", 1, 1800000, 10, 10));

  CHECK(t.topSymbols(2) == std::vector<std::string>{"NVDA", "MSFT"});
  CHECK(t.topSymbols(10) == std::vector<std::string>{"NVDA", "MSFT", "AAPL", "AMZN"});  // ties by name
  auto rows = t.rows({}, 3, 1000);
  REQUIRE(rows.size() == 3);
  CHECK(rows[0].symbol == "NVDA");
  CHECK(rows[2].symbol == "AAPL");
}

TEST_CASE("the table aligns columns under a header") {
  WatchTable t;
  t.apply(quote("AAPL", 1, 1234500, 300, 1234600, 200));
  t.apply(trade("GE", 4, 990000, 5, 12345));
  std::string text = renderTable(t.rows({"AAPL", "GE"}, 12, 1000));
  CHECK(text ==
        "SYMBOL         BID         ASK   LAST  VOLUME  SEQ  UPD/S  HALT\n"
        "AAPL    300@123.45  123.46@200      -       0    1    1.0\n"
        "GE               -           -  99.00   12345    4    1.0\n");
}
