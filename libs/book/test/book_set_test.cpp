#include <catch2/catch.hpp>

#include <array>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "tickstream/book/book_set.h"

using tickstream::book::BookSet;
using tickstream::book::BookSetConfig;
using tickstream::book::Level;
using tickstream::book::kMaxPrice;
using tickstream::book::Side;
using tickstream::book::Status;
using tickstream::book::Uint128;
using tickstream::book::Update;

namespace {

constexpr Side kBuy = Side::Buy;
constexpr Side kSell = Side::Sell;

BookSet smallSet(size_t depth_levels = 10) {
  BookSetConfig c;
  c.books = 8;
  c.expected_orders = 16;
  c.depth_levels = depth_levels;
  return BookSet(c);
}

std::vector<Level> levels(const BookSet& s, uint16_t book, Side side) {
  return s.book(book).depth(side, 1000);
}

} // namespace

TEST_CASE("add rests an order and makes it the best level, reporting top and depth change") {
  BookSet s = smallSet();
  const Update u = s.add(1, 3, kBuy, 100, 1'000'000);
  REQUIRE(u.ok());
  CHECK(u.book == 3);
  CHECK(u.side == kBuy);
  CHECK(u.top_changed);
  CHECK(u.depth_changed);
  CHECK_FALSE(u.traded);
  CHECK(s.book(3).best(kBuy) == Level{1'000'000, 1, 100});
  CHECK(s.book(3).best(kSell) == Level{});
  CHECK(s.orderCount() == 1);
  REQUIRE(s.order(1) != nullptr);
  CHECK(s.order(1)->shares == 100);
}

TEST_CASE("orders at one price aggregate into a level with shares and order count") {
  BookSet s = smallSet();
  REQUIRE(s.add(1, 0, kSell, 100, 500).ok());
  REQUIRE(s.add(2, 0, kSell, 250, 500).ok());
  CHECK(levels(s, 0, kSell) == std::vector<Level>{{500, 2, 350}});
}

TEST_CASE("bids rank highest price first and asks lowest price first") {
  BookSet s = smallSet();
  for (const uint32_t p : {300U, 100U, 200U}) {
    REQUIRE(s.add(p, 0, kBuy, 10, p).ok());
    REQUIRE(s.add(p + 1000, 0, kSell, 20, p + 1000).ok());
  }
  CHECK(levels(s, 0, kBuy) == std::vector<Level>{{300, 1, 10}, {200, 1, 10}, {100, 1, 10}});
  CHECK(levels(s, 0, kSell) == std::vector<Level>{{1100, 1, 20}, {1200, 1, 20}, {1300, 1, 20}});
}

TEST_CASE("adding below the best changes depth but not the top of book") {
  BookSet s = smallSet();
  REQUIRE(s.add(1, 0, kBuy, 10, 500).ok());
  const Update u = s.add(2, 0, kBuy, 10, 400);
  CHECK_FALSE(u.top_changed);
  CHECK(u.depth_changed);
}

TEST_CASE("changes beyond the top-N window set neither flag") {
  BookSet s = smallSet(2);
  REQUIRE(s.add(1, 0, kSell, 10, 100).ok());
  REQUIRE(s.add(2, 0, kSell, 10, 200).ok());
  Update u = s.add(3, 0, kSell, 10, 300);  // third level: outside a 2-level window
  CHECK(u.ok());
  CHECK_FALSE(u.top_changed);
  CHECK_FALSE(u.depth_changed);
  u = s.cancel(3, 5);
  CHECK_FALSE(u.depth_changed);
  u = s.add(4, 0, kSell, 10, 150);  // now second: in the window, pushes 200 out
  CHECK(u.depth_changed);
  CHECK_FALSE(u.top_changed);
}

TEST_CASE("add with a live reference is DuplicateOrder and changes nothing") {
  BookSet s = smallSet();
  REQUIRE(s.add(7, 0, kBuy, 10, 500).ok());
  CHECK(s.add(7, 1, kSell, 20, 600).status == Status::DuplicateOrder);
  CHECK(levels(s, 1, kSell).empty());
  CHECK(levels(s, 0, kBuy) == std::vector<Level>{{500, 1, 10}});
  CHECK(s.orderCount() == 1);
}

TEST_CASE("add rejects zero shares, a zero or out-of-range price and an unknown book") {
  BookSet s = smallSet();
  CHECK(s.add(1, 0, kBuy, 0, 500).status == Status::BadShares);
  CHECK(s.add(1, 0, kBuy, 10, 0).status == Status::BadPrice);
  CHECK(s.add(1, 0, kBuy, 10, kMaxPrice + 1).status == Status::BadPrice);
  CHECK(s.add(1, 8, kBuy, 10, 500).status == Status::UnknownBook);
  CHECK(s.orderCount() == 0);
  CHECK(s.add(1, 7, kBuy, 10, kMaxPrice).ok());
}

TEST_CASE("execute takes shares off, removes the order at zero and accumulates trade stats") {
  BookSet s = smallSet();
  REQUIRE(s.add(1, 2, kSell, 100, 10'000).ok());
  REQUIRE(s.add(2, 2, kSell, 50, 10'000).ok());
  Update u = s.execute(1, 40);
  REQUIRE(u.ok());
  CHECK(u.traded);
  CHECK(u.printable);
  CHECK(u.trade_shares == 40);
  CHECK(u.trade_price == 10'000);
  CHECK(u.top_changed);
  CHECK(s.book(2).best(kSell) == Level{10'000, 2, 110});
  CHECK(s.order(1)->shares == 60);
  u = s.execute(1, 60);
  REQUIRE(u.ok());
  CHECK(s.order(1) == nullptr);
  CHECK(s.book(2).best(kSell) == Level{10'000, 1, 50});
  const auto& t = s.book(2).trades();
  CHECK(t.trades == 2);
  CHECK(t.volume == 100);
  CHECK(t.last_price == 10'000);
  CHECK(t.last_shares == 60);
  CHECK(t.notional == Uint128{10'000} * 100);
  CHECK(t.vwap() == 10'000);
}

TEST_CASE("execute with price reports the trade price and leaves the resting price") {
  BookSet s = smallSet();
  REQUIRE(s.add(1, 0, kBuy, 100, 20'000).ok());
  REQUIRE(s.execute(1, 10).ok());
  const Update u = s.executeWithPrice(1, 30, 20'100, true);
  REQUIRE(u.ok());
  CHECK(u.trade_price == 20'100);
  CHECK(u.trade_shares == 30);
  CHECK(s.book(0).best(kBuy) == Level{20'000, 1, 60});
  const auto& t = s.book(0).trades();
  CHECK(t.last_price == 20'100);
  CHECK(t.volume == 40);
  // (10 * 20000 + 30 * 20100) / 40 = 20075
  CHECK(t.vwap() == 20'075);
  CHECK(s.executeWithPrice(1, 1, 0, true).status == Status::BadPrice);
}

TEST_CASE("a non-printable execution takes shares off the book but is not counted as a trade") {
  BookSet s = smallSet();
  REQUIRE(s.add(1, 0, kBuy, 100, 20'000).ok());
  const Update u = s.executeWithPrice(1, 30, 20'000, false);
  REQUIRE(u.ok());
  CHECK(u.traded);
  CHECK_FALSE(u.printable);
  CHECK(s.book(0).best(kBuy).shares == 70);
  CHECK(s.book(0).trades().volume == 0);
  CHECK(s.book(0).trades().trades == 0);
}

TEST_CASE("cancel reduces an order and removes it at zero, emptying its level") {
  BookSet s = smallSet();
  REQUIRE(s.add(1, 0, kSell, 100, 700).ok());
  REQUIRE(s.add(2, 0, kSell, 100, 800).ok());
  Update u = s.cancel(1, 30);
  REQUIRE(u.ok());
  CHECK_FALSE(u.traded);
  CHECK(u.top_changed);
  CHECK(s.book(0).best(kSell) == Level{700, 1, 70});
  u = s.cancel(1, 70);
  REQUIRE(u.ok());
  CHECK(s.order(1) == nullptr);
  CHECK(s.book(0).best(kSell) == Level{800, 1, 100});
  CHECK(s.book(0).trades().volume == 0);
}

TEST_CASE("execute or cancel of more than the remaining shares is Overfill and changes nothing") {
  BookSet s = smallSet();
  REQUIRE(s.add(1, 0, kSell, 100, 700).ok());
  REQUIRE(s.execute(1, 40).ok());
  CHECK(s.execute(1, 61).status == Status::Overfill);
  CHECK(s.executeWithPrice(1, 61, 700, true).status == Status::Overfill);
  CHECK(s.cancel(1, 61).status == Status::Overfill);
  CHECK(s.order(1)->shares == 60);
  CHECK(s.book(0).best(kSell) == Level{700, 1, 60});
  CHECK(s.book(0).trades().volume == 40);
  CHECK(s.execute(1, 0).status == Status::BadShares);
  CHECK(s.cancel(1, 0).status == Status::BadShares);
}

TEST_CASE("every operation on an unknown or finished order is UnknownOrder") {
  BookSet s = smallSet();
  REQUIRE(s.add(1, 0, kBuy, 10, 700).ok());
  REQUIRE(s.deleteOrder(1).ok());
  for (const uint64_t ref : {1ULL, 99ULL}) {
    CHECK(s.execute(ref, 1).status == Status::UnknownOrder);
    CHECK(s.executeWithPrice(ref, 1, 700, true).status == Status::UnknownOrder);
    CHECK(s.cancel(ref, 1).status == Status::UnknownOrder);
    CHECK(s.deleteOrder(ref).status == Status::UnknownOrder);
    CHECK(s.replace(ref, 100, 10, 700).status == Status::UnknownOrder);
  }
  CHECK(s.orderCount() == 0);
  CHECK(s.order(100) == nullptr);
}

TEST_CASE("delete removes the whole order and an emptied level") {
  BookSet s = smallSet();
  REQUIRE(s.add(1, 0, kBuy, 10, 700).ok());
  REQUIRE(s.add(2, 0, kBuy, 20, 700).ok());
  REQUIRE(s.add(3, 0, kBuy, 30, 600).ok());
  Update u = s.deleteOrder(2);
  REQUIRE(u.ok());
  CHECK(u.top_changed);
  CHECK(levels(s, 0, kBuy) == std::vector<Level>{{700, 1, 10}, {600, 1, 30}});
  u = s.deleteOrder(1);
  REQUIRE(u.ok());
  CHECK(levels(s, 0, kBuy) == std::vector<Level>{{600, 1, 30}});
  CHECK(s.orderCount() == 1);
}

TEST_CASE("replace moves the order to a new reference, size and price on the same book and side") {
  BookSet s = smallSet();
  REQUIRE(s.add(1, 4, kSell, 100, 900).ok());
  REQUIRE(s.add(2, 4, kSell, 100, 1000).ok());
  const Update u = s.replace(1, 5, 40, 1000);
  REQUIRE(u.ok());
  CHECK(u.book == 4);
  CHECK(u.side == kSell);
  CHECK(u.top_changed);
  CHECK(u.depth_changed);
  CHECK(s.order(1) == nullptr);
  REQUIRE(s.order(5) != nullptr);
  CHECK(s.order(5)->price == 1000);
  CHECK(s.order(5)->side == kSell);
  CHECK(s.order(5)->book == 4);
  CHECK(levels(s, 4, kSell) == std::vector<Level>{{1000, 2, 140}});
}

TEST_CASE("replace at the same price changes only the level size, and nothing if size is equal") {
  BookSet s = smallSet();
  REQUIRE(s.add(1, 0, kBuy, 100, 900).ok());
  REQUIRE(s.add(2, 0, kBuy, 50, 900).ok());
  Update u = s.replace(1, 3, 100, 900);
  REQUIRE(u.ok());
  CHECK_FALSE(u.top_changed);
  CHECK_FALSE(u.depth_changed);
  CHECK(levels(s, 0, kBuy) == std::vector<Level>{{900, 2, 150}});
  u = s.replace(3, 4, 10, 900);
  REQUIRE(u.ok());
  CHECK(u.top_changed);
  CHECK(levels(s, 0, kBuy) == std::vector<Level>{{900, 2, 60}});
}

TEST_CASE("replace of an unknown order or onto a live reference fails and changes nothing") {
  BookSet s = smallSet();
  REQUIRE(s.add(1, 0, kBuy, 100, 900).ok());
  REQUIRE(s.add(2, 0, kBuy, 50, 800).ok());
  CHECK(s.replace(9, 10, 10, 900).status == Status::UnknownOrder);
  CHECK(s.replace(1, 2, 10, 900).status == Status::DuplicateOrder);
  CHECK(s.replace(1, 1, 10, 900).status == Status::DuplicateOrder);
  CHECK(s.replace(1, 3, 0, 900).status == Status::BadShares);
  CHECK(s.replace(1, 3, 10, 0).status == Status::BadPrice);
  CHECK(levels(s, 0, kBuy) == std::vector<Level>{{900, 1, 100}, {800, 1, 50}});
  CHECK(s.orderCount() == 2);
}

TEST_CASE("depth fills a caller buffer best first and stops at the side's depth") {
  BookSet s = smallSet();
  for (uint32_t i = 1; i <= 5; ++i) {
    REQUIRE(s.add(i, 0, kBuy, i, 100 * i).ok());
  }
  std::array<Level, 3> top{};
  CHECK(s.book(0).depth(kBuy, top) == 3);
  CHECK(top == std::array<Level, 3>{Level{500, 1, 5}, Level{400, 1, 4}, Level{300, 1, 3}});
  std::array<Level, 8> all{};
  CHECK(s.book(0).depth(kBuy, all) == 5);
  CHECK(s.book(0).depth(kSell, all) == 0);
}

TEST_CASE("trade notional does not overflow at maximum prices and huge volumes") {
  BookSet s = smallSet();
  constexpr uint32_t kShares = 4'000'000'000U;
  for (uint64_t ref = 1; ref <= 8; ++ref) {
    REQUIRE(s.add(ref, 0, kSell, kShares, kMaxPrice).ok());
    REQUIRE(s.execute(ref, kShares).ok());
  }
  const auto& t = s.book(0).trades();
  CHECK(t.volume == 8ULL * kShares);
  CHECK(t.notional == Uint128{kMaxPrice} * kShares * 8);
  CHECK(t.vwap() == kMaxPrice);
}

TEST_CASE("a bad config is rejected with the name of the field") {
  BookSetConfig c;
  c.books = 0;
  CHECK_THROWS_WITH(BookSet(c), Catch::Contains("BookSetConfig.books"));
  c = BookSetConfig{};
  c.depth_levels = 0;
  CHECK_THROWS_WITH(BookSet(c), Catch::Contains("BookSetConfig.depth_levels"));
  c = BookSetConfig{};
  c.expected_orders = 0;
  CHECK_THROWS_WITH(BookSet(c), Catch::Contains("BookSetConfig.expected_orders"));
}
