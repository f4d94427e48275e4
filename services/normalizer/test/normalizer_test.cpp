#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <variant>
#include <vector>

#include "market.h"
#include "normalizer.h"
#include "tick_sink.h"
#include "tickstream/itch/messages.h"

namespace itch = tickstream::itch;
namespace mdv1 = tickstream::marketdata::v1;
using tickstream::book::Level;
using tickstream::book::Side;
using tickstream::exchange_sim::MarketConfig;
using tickstream::exchange_sim::MarketSimulator;
using tickstream::normalizer::ApplyResult;
using tickstream::normalizer::MemorySink;
using tickstream::normalizer::Normalizer;
using tickstream::normalizer::NormalizerConfig;

namespace {

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kMs = 1'000'000;
// 2024-01-02 00:00 UTC: the trading day ITCH's ns-since-midnight is added to.
constexpr int64_t kDay = 1'704'153'600LL * kSecond;

int64_t exchangeTs(const itch::Message& m) {
  return kDay + static_cast<int64_t>(std::visit([](const auto& x) { return x.timestamp_ns; }, m));
}

itch::StockDirectory directory(uint16_t locate, std::string_view sym) {
  itch::StockDirectory d;
  d.stock_locate = locate;
  d.stock = *itch::padRight<8>(sym);
  return d;
}

itch::AddOrder add(uint64_t ref, char side, uint32_t shares, uint32_t price) {
  return itch::AddOrder{.stock_locate = 1, .order_ref = ref, .side = side, .shares = shares,
                        .stock = *itch::padRight<8>("TEST"), .price = price};
}

itch::Trade tradeOn(uint16_t locate, uint32_t shares, uint32_t price, uint64_t match) {
  return itch::Trade{.stock_locate = locate, .side = 'S', .shares = shares,
                     .stock = *itch::padRight<8>("TEST"), .price = price, .match_number = match};
}

itch::Trade trade(uint32_t shares, uint32_t price, uint64_t match) { return tradeOn(1, shares, price, match); }

itch::StockTradingAction action(char state, std::string_view reason) {
  itch::StockTradingAction a;
  a.stock_locate = 1;
  a.stock = *itch::padRight<8>("TEST");
  a.trading_state = state;
  a.reason = *itch::padRight<4>(reason);
  return a;
}

// Feeds hand-made messages for locate 1 ("TEST") with exchange time = receive time = now.
struct Harness {
  explicit Harness(NormalizerConfig config = uncapped()) : n(config, sink) {
    n.onMessage(directory(1, "TEST"), kDay, kDay, kDay);
  }
  static NormalizerConfig uncapped() {
    NormalizerConfig c;
    c.book.books = 16;
    c.book.expected_orders = 1024;
    c.book.depth_levels = 5;
    c.max_updates_per_second = 1'000'000'000;
    return c;
  }
  ApplyResult feed(const itch::Message& m, int64_t t) { return n.onMessage(m, t, t, t); }

  MemorySink sink;
  Normalizer n;
};

} // namespace

TEST_CASE("a simulated market comes out gap-free, rate-capped and ending at the true book") {
  MarketConfig mc;
  mc.symbols = 20;
  mc.seed = 7;
  mc.mean_gap_ns = 20'000;  // ~2500 events/s per symbol: far above the cap
  mc.burst_events = 20'000;
  MarketSimulator sim(mc);

  NormalizerConfig nc;
  nc.book.books = 64;
  nc.book.expected_orders = 1 << 14;
  nc.book.depth_levels = 5;
  nc.max_updates_per_second = 20;
  nc.trading_day = "2024-01-02";
  MemorySink sink;
  Normalizer n(nc, sink);

  itch::Message m;
  int64_t now = 0;
  uint64_t fed = 0;
  while (fed < 300'000 || !sim.atEventBoundary()) {
    sim.next(m);
    now = exchangeTs(m);
    const auto r = n.onMessage(m, now, now + 1000, now);
    REQUIRE(r != ApplyResult::BookRejected);
    n.tick(now);
    ++fed;
  }
  REQUIRE(sim.truthErrors() == 0);
  // The flow ran for seconds of exchange time after the 09:30 open, so the 1 s cap matters.
  CHECK(now - (kDay + (9 * 3600 + 1800) * kSecond) > 3 * kSecond);
  n.tick(now + kSecond);  // a second later every conflated symbol is due

  std::map<std::string, std::vector<const mdv1::MarketDataUpdate*>> by_symbol;
  uint64_t conflated = 0;
  for (const auto& u : sink.updates()) {
    by_symbol[u.symbol()].push_back(&u);
    conflated += u.conflated();
  }
  REQUIRE(by_symbol.size() == mc.symbols);
  CHECK(conflated > 0);
  CHECK(conflated == n.stats().conflated);
  CHECK(sink.snapshots().size() == sink.updates().size());  // one snapshot per update

  for (uint16_t locate = 1; locate <= mc.symbols; ++locate) {
    const std::string sym(sim.symbol(locate));
    INFO(sym);
    const auto& ups = by_symbol[sym];
    REQUIRE(!ups.empty());

    // seq: 1, 2, 3, ... with no gap.
    for (size_t i = 0; i < ups.size(); ++i) {
      REQUIRE(ups[i]->seq() == i + 1);
    }
    CHECK(n.lastSeq(sym) == ups.size());

    // Rate cap: at most cap + 1 updates in any closed 1 s window of injected time.
    size_t worst = 0;
    for (size_t i = 0, j = 0; i < ups.size(); ++i) {
      while (j < ups.size() && ups[j]->publish_ts_ns() <= ups[i]->publish_ts_ns() + kSecond) {
        ++j;
      }
      worst = std::max(worst, j - i);
    }
    CHECK(worst <= nc.max_updates_per_second + 1);
    CHECK(worst >= nc.max_updates_per_second);  // the flow really runs into the cap

    // The last quote and depth published equal the simulator's truth.
    const mdv1::Quote* quote = nullptr;
    const mdv1::Depth* depth = nullptr;
    for (const auto* u : ups) {
      if (u->has_quote()) {
        quote = &u->quote();
      }
      if (u->has_depth()) {
        depth = &u->depth();
      }
    }
    REQUIRE(quote != nullptr);
    REQUIRE(depth != nullptr);
    const auto top = sim.topOfBook(locate);
    CHECK(quote->bid_price() == top.bid.price);
    CHECK(quote->bid_size() == static_cast<int64_t>(top.bid.shares));
    CHECK(quote->ask_price() == top.ask.price);
    CHECK(quote->ask_size() == static_cast<int64_t>(top.ask.shares));
    const auto& book = sim.truth().book(locate);
    const auto bids = book.depth(Side::Buy, nc.book.depth_levels);
    const auto asks = book.depth(Side::Sell, nc.book.depth_levels);
    REQUIRE(depth->bids_size() == static_cast<int>(bids.size()));
    REQUIRE(depth->asks_size() == static_cast<int>(asks.size()));
    for (size_t i = 0; i < bids.size(); ++i) {
      CHECK(depth->bids(static_cast<int>(i)).price() == bids[i].price);
      CHECK(depth->bids(static_cast<int>(i)).size() == static_cast<int64_t>(bids[i].shares));
      CHECK(depth->bids(static_cast<int>(i)).order_count() == bids[i].orders);
    }
    for (size_t i = 0; i < asks.size(); ++i) {
      CHECK(depth->asks(static_cast<int>(i)).price() == asks[i].price);
      CHECK(depth->asks(static_cast<int>(i)).size() == static_cast<int64_t>(asks[i].shares));
    }

    // The last snapshot reflects the last update and the same top of book.
    const mdv1::SymbolSnapshot* snap = nullptr;
    for (const auto& s : sink.snapshots()) {
      if (s.symbol() == sym) {
        snap = &s;
      }
    }
    REQUIRE(snap != nullptr);
    CHECK(snap->last_seq() == ups.size());
    CHECK(snap->trading_day() == "2024-01-02");
    CHECK(snap->quote().bid_price() == top.bid.price);
    CHECK(snap->quote().ask_price() == top.ask.price);
    // Session volume counts displayed executions (the book's stats) plus hidden prints (P).
    CHECK(snap->session_volume() >= static_cast<int64_t>(book.trades().volume));
  }
}

TEST_CASE("a change below the published depth emits nothing") {
  Harness h;
  int64_t t = kDay;
  for (uint32_t i = 0; i < 8; ++i) {
    h.feed(add(i + 1, 'B', 100, 100'0000 - i * 100), t += kSecond);
  }
  h.n.tick(t += kSecond);
  const auto before = h.sink.updates().size();
  const auto suppressed = h.n.stats().suppressed;

  // Order 8 rests at the 8th level; only 5 are published.
  REQUIRE(h.feed(itch::OrderDelete{.stock_locate = 1, .order_ref = 8}, t += kSecond) ==
          ApplyResult::Ok);
  h.n.tick(t += 10 * kSecond);
  h.n.flushAll(t);
  CHECK(h.sink.updates().size() == before);
  CHECK(h.n.stats().suppressed == suppressed + 1);

  // The best order going does show: a new quote and depth.
  h.feed(itch::OrderDelete{.stock_locate = 1, .order_ref = 1}, t += kSecond);
  REQUIRE(h.sink.updates().size() == before + 1);
  const auto& u = h.sink.updates().back();
  CHECK(u.quote().bid_price() == 99'9900);
  CHECK(u.depth().bids_size() == 5);
  CHECK(!u.has_trade());
  CHECK(u.bars_size() == 0);
}

TEST_CASE("over the rate cap, changes merge into one update and none is lost") {
  NormalizerConfig c = Harness::uncapped();
  c.max_updates_per_second = 2;  // one update per 500 ms
  Harness h(c);
  int64_t t = kDay + kSecond;
  h.feed(trade(10, 50'0000, 1), t);
  REQUIRE(h.sink.updates().size() == 1);
  h.feed(trade(20, 51'0000, 2), t + 100 * kMs);
  h.feed(add(1, 'B', 300, 49'0000), t + 200 * kMs);
  h.feed(trade(30, 52'0000, 3), t + 300 * kMs);
  h.n.tick(t + 499 * kMs);
  REQUIRE(h.sink.updates().size() == 1);  // not due yet
  h.n.tick(t + 500 * kMs);
  REQUIRE(h.sink.updates().size() == 2);
  const auto& u = h.sink.updates().back();
  CHECK(u.seq() == 2);
  CHECK(u.conflated() == 2);
  CHECK(u.trade().price() == 52'0000);       // latest trade wins
  CHECK(u.trade().session_volume() == 60);   // ...and volume keeps the merged ones
  CHECK(u.quote().bid_price() == 49'0000);
  CHECK(u.quote().bid_size() == 300);
  CHECK(u.publish_ts_ns() == t + 500 * kMs);
  // Held from the latest merged change (t + 300 ms) to its slot; the first went out at once.
  CHECK(u.rate_cap_hold_ns() == 200 * kMs);
  CHECK(h.sink.updates().front().rate_cap_hold_ns() == 0);
  h.n.tick(t + 10 * kSecond);
  CHECK(h.sink.updates().size() == 2);  // nothing left to release
}

TEST_CASE("restore continues a symbol's seq after a restart") {
  MemorySink sink;
  Normalizer n(Harness::uncapped(), sink);
  mdv1::SymbolSnapshot before;
  before.set_symbol("TEST");
  before.set_last_seq(41);
  n.restore(before);  // before the Stock Directory
  CHECK(n.lastSeq("TEST") == 41);
  n.onMessage(directory(1, "TEST"), kDay, kDay, kDay);
  n.onMessage(add(1, 'B', 100, 10'0000), kDay + 1, kDay + 1, kDay + 1);
  REQUIRE(sink.updates().size() == 1);
  CHECK(sink.updates()[0].seq() == 42);
  CHECK(sink.snapshots().back().last_seq() == 42);

  before.set_last_seq(10);  // an older snapshot never moves seq back
  n.restore(before);
  before.set_last_seq(100);
  n.restore(before);  // after the directory
  n.onMessage(add(2, 'S', 100, 11'0000), kDay + 2, kDay + 2, kDay + 2);
  REQUIRE(sink.updates().size() == 2);
  CHECK(sink.updates()[1].seq() == 101);
}

TEST_CASE("restore also carries the md.raw position and the rate cap across a restart") {
  NormalizerConfig c = Harness::uncapped();
  c.max_updates_per_second = 2;  // 500 ms apart
  MemorySink sink;
  Normalizer n(c, sink);
  // Published before the crash: seq 7, reflecting md.raw up to offset 3 (records 1..3 below).
  n.restore("TEST", {.last_seq = 7, .raw_next_offset = 3, .publish_ts_ns = kDay + kSecond});
  n.onMessage(directory(1, "TEST"), kDay, kDay, kDay, 1);
  n.onMessage(add(1, 'B', 100, 10'0000), kDay, kDay, kDay, 2);
  n.onMessage(add(2, 'S', 100, 11'0000), kDay, kDay, kDay, 3);
  CHECK(sink.updates().empty());  // already on md.ticks before the crash
  CHECK(n.stats().absorbed == 2);

  // Record 4 is new, but the cap continues from the last publish before the crash.
  n.onMessage(add(3, 'B', 50, 10'0100), kDay + kSecond + kMs, kDay, kDay + kSecond + kMs, 4);
  CHECK(sink.updates().empty());
  n.tick(kDay + kSecond + 500 * kMs);
  REQUIRE(sink.updates().size() == 1);
  const auto& u = sink.updates()[0];
  CHECK(u.seq() == 8);
  CHECK(u.raw_next_offset() == 4);
  CHECK(u.quote().bid_price() == 10'0100);
  CHECK(u.quote().ask_price() == 11'0000);
  CHECK(u.conflated() == 0);  // the absorbed records are not counted as merged
  CHECK(sink.snapshots().back().raw_next_offset() == 4);
  CHECK(sink.snapshots().back().last_seq() == 8);
}

TEST_CASE("a crash at any point, then a restart that replays md.raw, loses and repeats nothing") {
  // The normalizer's side of the restart (docs/normalizer.md, "Restart"): instance A runs over
  // the feed and dies; Kafka holds a prefix of its updates and a shorter prefix of its snapshots
  // (a snapshot is produced only once its update is acknowledged). Instance B restores from
  // those, replays the whole feed, and carries on. What a subscriber sees, A's delivered updates
  // then B's, must be gap-free, duplicate-free, rate-capped, and end at the true book.
  const auto seed = GENERATE(1u, 2u, 3u, 4u);
  MarketConfig mc;
  mc.symbols = 12;
  mc.seed = seed;
  mc.mean_gap_ns = 50'000;
  mc.burst_events = 10'000;
  MarketSimulator sim(mc);
  std::vector<itch::Message> feed;
  itch::Message m;
  while (feed.size() < 150'000 || !sim.atEventBoundary()) {
    sim.next(m);
    feed.push_back(m);
  }
  REQUIRE(sim.truthErrors() == 0);

  NormalizerConfig nc;
  nc.book.books = 64;
  nc.book.expected_orders = 1 << 14;
  nc.book.depth_levels = 5;
  nc.max_updates_per_second = 20;
  std::mt19937_64 rng(seed);
  const size_t crash_at = feed.size() / 4 + rng() % (feed.size() / 2);

  MemorySink a_sink;
  {
    Normalizer a(nc, a_sink);
    for (size_t i = 0; i < crash_at; ++i) {
      const int64_t t = exchangeTs(feed[i]);
      a.onMessage(feed[i], t, t, t, static_cast<int64_t>(i + 1));
      a.tick(t);
    }
  }  // killed: whatever was conflated is gone with it
  const auto& produced = a_sink.updates();
  REQUIRE(produced.size() > 200);
  const size_t ticks_delivered = produced.size() - rng() % 40;
  const size_t snapshots_delivered = ticks_delivered - rng() % 40;

  MemorySink b_sink;
  Normalizer b(nc, b_sink);
  for (size_t i = 0; i < snapshots_delivered; ++i) {
    b.restore(a_sink.snapshots()[i]);
  }
  for (size_t i = snapshots_delivered; i < ticks_delivered; ++i) {
    b.restore(produced[i]);  // the md.ticks tail whose snapshots never made it
  }
  int64_t t = 0;
  for (size_t i = 0; i < feed.size(); ++i) {
    t = exchangeTs(feed[i]);
    b.onMessage(feed[i], t, t, t, static_cast<int64_t>(i + 1));
    b.tick(t);
  }
  b.tick(t + kSecond);
  CHECK(b.stats().absorbed > 0);

  std::map<std::string, std::vector<const mdv1::MarketDataUpdate*>> seen;
  for (size_t i = 0; i < ticks_delivered; ++i) {
    seen[produced[i].symbol()].push_back(&produced[i]);
  }
  for (const auto& u : b_sink.updates()) {
    seen[u.symbol()].push_back(&u);
  }
  REQUIRE(seen.size() == mc.symbols);
  for (uint16_t locate = 1; locate <= mc.symbols; ++locate) {
    const std::string sym(sim.symbol(locate));
    INFO(sym << " crash at " << crash_at);
    const auto& ups = seen[sym];
    const mdv1::Quote* quote = nullptr;
    size_t worst = 0;
    for (size_t i = 0, j = 0; i < ups.size(); ++i) {
      REQUIRE(ups[i]->seq() == i + 1);
      if (ups[i]->has_quote()) {
        quote = &ups[i]->quote();
      }
      while (j < ups.size() && ups[j]->publish_ts_ns() <= ups[i]->publish_ts_ns() + kSecond) {
        ++j;
      }
      worst = std::max(worst, j - i);
    }
    CHECK(worst <= nc.max_updates_per_second + 1);
    REQUIRE(quote != nullptr);
    const auto top = sim.topOfBook(locate);
    CHECK(quote->bid_price() == top.bid.price);
    CHECK(quote->bid_size() == static_cast<int64_t>(top.bid.shares));
    CHECK(quote->ask_price() == top.ask.price);
    CHECK(quote->ask_size() == static_cast<int64_t>(top.ask.shares));
  }
}

TEST_CASE("hand-made trades give exact 1 s and 1 min OHLCV bars") {
  Harness h;
  const auto at = [](int64_t ms) { return kDay + ms * kMs; };
  h.feed(trade(10, 100'0000, 1), at(10'100));
  h.feed(trade(5, 105'0000, 2), at(10'500));
  h.feed(trade(20, 95'0000, 3), at(10'900));
  h.feed(trade(1, 101'0000, 4), at(11'200));  // closes the 1 s bar at 10 s
  h.n.tick(at(11'300));
  h.feed(trade(4, 102'0000, 5), at(59'500));
  h.feed(trade(2, 99'0000, 6), at(61'000));   // closes the 1 min bar at 0 s
  h.n.tick(at(61'100));

  std::vector<mdv1::Bar> complete;
  std::vector<mdv1::Bar> all;
  for (const auto& u : h.sink.updates()) {
    CHECK(u.bars_size() <= 2);
    for (const auto& b : u.bars()) {
      all.push_back(b);
      if (b.complete()) {
        complete.push_back(b);
      }
    }
  }
  REQUIRE(complete.size() == 4);  // 1 s bars at 10 s, 11 s and 59 s; the minute at 0 s
  const auto find = [&](mdv1::BarInterval iv, int64_t start) -> const mdv1::Bar* {
    for (const auto& b : complete) {
      if (b.interval() == iv && b.start_ts_ns() == start) {
        return &b;
      }
    }
    return nullptr;
  };
  const auto* s10 = find(mdv1::BAR_INTERVAL_1S, kDay + 10 * kSecond);
  REQUIRE(s10 != nullptr);
  CHECK(s10->open() == 100'0000);
  CHECK(s10->high() == 105'0000);
  CHECK(s10->low() == 95'0000);
  CHECK(s10->close() == 95'0000);
  CHECK(s10->volume() == 35);
  CHECK(s10->vwap() == 97'8571);  // 34,250,000 / 35 = 978571.43
  CHECK(s10->trade_count() == 3);

  const auto* s11 = find(mdv1::BAR_INTERVAL_1S, kDay + 11 * kSecond);
  REQUIRE(s11 != nullptr);
  CHECK(s11->open() == 101'0000);
  CHECK(s11->close() == 101'0000);
  CHECK(s11->volume() == 1);

  const auto* m0 = find(mdv1::BAR_INTERVAL_1M, kDay);
  REQUIRE(m0 != nullptr);
  CHECK(m0->open() == 100'0000);
  CHECK(m0->high() == 105'0000);
  CHECK(m0->low() == 95'0000);
  CHECK(m0->close() == 102'0000);
  CHECK(m0->volume() == 40);
  CHECK(m0->vwap() == 98'3500);  // 39,340,000 / 40
  CHECK(m0->trade_count() == 5);

  // The 11 s bar was also published while it built.
  CHECK(std::any_of(all.begin(), all.end(), [](const mdv1::Bar& b) {
    return b.interval() == mdv1::BAR_INTERVAL_1S && b.start_ts_ns() == kDay + 11 * kSecond &&
           !b.complete();
  }));

  mdv1::SymbolSnapshot snap;
  REQUIRE(h.n.snapshot("TEST", at(62'000), snap));
  CHECK(snap.session_volume() == 42);
  CHECK(snap.session_open() == 100'0000);
  CHECK(snap.session_high() == 105'0000);
  CHECK(snap.session_low() == 95'0000);
  CHECK(snap.session_close() == 99'0000);
  CHECK(snap.session_trade_count() == 6);
  CHECK(snap.session_vwap() == 98'3810);  // 41,320,000 / 42 = 983809.52, rounded
  REQUIRE(snap.current_bars_size() == 2);
  CHECK(snap.last_trade().session_volume() == 42);
}

TEST_CASE("a bar closes at the symbol's first event of a later interval, trade or not") {
  Harness h;
  const auto at = [](int64_t ms) { return kDay + ms * kMs; };
  h.feed(trade(10, 100'0000, 1), at(10'100));
  h.feed(add(1, 'B', 100, 99'0000), at(12'300));  // a quote in a later second: closes 10 s
  h.n.tick(at(12'400));
  const auto& u = h.sink.updates().back();
  REQUIRE(u.bars_size() == 1);
  CHECK(u.bars(0).complete());
  CHECK(u.bars(0).interval() == mdv1::BAR_INTERVAL_1S);
  CHECK(u.bars(0).start_ts_ns() == kDay + 10 * kSecond);
  CHECK(u.bars(0).volume() == 10);
  CHECK(u.quote().bid_price() == 99'0000);
  mdv1::SymbolSnapshot snap;
  REQUIRE(h.n.snapshot("TEST", at(12'500), snap));
  REQUIRE(snap.current_bars_size() == 1);  // the minute is still in progress
  CHECK(snap.current_bars(0).interval() == mdv1::BAR_INTERVAL_1M);

  // A halt in the next minute closes the minute bar too, in the same update as the status.
  const auto before = h.sink.updates().size();
  h.feed(action('H', "LUDP"), at(61'000));
  REQUIRE(h.sink.updates().size() == before + 1);
  const auto& v = h.sink.updates().back();
  REQUIRE(v.bars_size() == 1);
  CHECK(v.bars(0).interval() == mdv1::BAR_INTERVAL_1M);
  CHECK(v.bars(0).complete());
  CHECK(v.status().state() == mdv1::TRADING_STATE_HALTED);
}

TEST_CASE("a halt and a resume each publish a TradingStatus, a repeat publishes nothing") {
  Harness h;
  int64_t t = kDay;
  h.feed(action('T', ""), t += kSecond);
  REQUIRE(h.sink.updates().size() == 1);
  h.feed(action('H', "LUDP"), t += kSecond);
  REQUIRE(h.sink.updates().size() == 2);
  const auto& halted = h.sink.updates().back();
  REQUIRE(halted.has_status());
  CHECK(halted.status().state() == mdv1::TRADING_STATE_HALTED);
  CHECK(halted.status().reason() == "LUDP");
  CHECK(halted.status().exchange_ts_ns() == t);
  CHECK(!halted.has_quote());

  h.feed(action('H', "LUDP"), t += kSecond);
  CHECK(h.sink.updates().size() == 2);

  h.feed(action('T', ""), t += kSecond);
  REQUIRE(h.sink.updates().size() == 3);
  CHECK(h.sink.updates().back().status().state() == mdv1::TRADING_STATE_TRADING);
  CHECK(h.sink.snapshots().back().status().state() == mdv1::TRADING_STATE_TRADING);
}

TEST_CASE("an Operational Halt on NASDAQ halts the symbol until it lifts - one on another venue does not") {
  Harness h;
  int64_t t = kDay;
  h.feed(action('T', ""), t += kSecond);
  REQUIRE(h.sink.updates().size() == 1);
  const auto opHalt = [](char market, char act) {
    itch::OperationalHalt o;
    o.stock_locate = 1;
    o.stock = *itch::padRight<8>("TEST");
    o.market_code = market;
    o.action = act;
    return o;
  };
  // BX halts it on BX: NASDAQ's book trades on, nothing to publish.
  CHECK(h.feed(opHalt('B', 'H'), t += kSecond) == ApplyResult::Ignored);
  CHECK(h.sink.updates().size() == 1);

  REQUIRE(h.feed(opHalt('Q', 'H'), t += kSecond) == ApplyResult::Ok);
  REQUIRE(h.sink.updates().size() == 2);
  CHECK(h.sink.updates().back().status().state() == mdv1::TRADING_STATE_HALTED);
  CHECK(h.sink.updates().back().status().reason() == "OPHL");
  // A Trading Action meanwhile (a quotation period) does not lift the operational halt.
  h.feed(action('Q', ""), t += kSecond);
  CHECK(h.sink.updates().size() == 2);
  // Lifted: the Trading Action's state is the symbol's again.
  h.feed(opHalt('Q', 'T'), t += kSecond);
  REQUIRE(h.sink.updates().size() == 3);
  CHECK(h.sink.updates().back().status().state() == mdv1::TRADING_STATE_QUOTATION_ONLY);
  CHECK(h.sink.snapshots().back().status().state() == mdv1::TRADING_STATE_QUOTATION_ONLY);
}

TEST_CASE("a market-wide circuit breaker halts every symbol at once - levels 1-2 end with the symbol's Trading Action, level 3 does not") {
  Harness h;
  h.n.onMessage(directory(2, "OTHER"), kDay, kDay, kDay);
  int64_t t = kDay;
  h.feed(action('T', ""), t += kSecond);
  const auto statusOf = [&](std::string_view symbol) {
    for (auto it = h.sink.updates().rbegin(); it != h.sink.updates().rend(); ++it) {
      if (it->symbol() == symbol && it->has_status()) return it->status();
    }
    return mdv1::TradingStatus{};
  };
  const auto breach = [](char level) {
    itch::MwcbStatus w;
    w.breached_level = level;
    return w;
  };
  // Decline levels are published before the open; they change nobody's state.
  CHECK(h.feed(itch::MwcbDeclineLevel{.level1 = 1}, t += kSecond) == ApplyResult::Ignored);
  const auto before = h.sink.updates().size();

  REQUIRE(h.feed(breach('1'), t += kSecond) == ApplyResult::Ok);
  REQUIRE(h.sink.updates().size() == before + 2);  // both symbols, whatever their last action
  CHECK(statusOf("TEST").state() == mdv1::TRADING_STATE_HALTED);
  CHECK(statusOf("TEST").reason() == "MWC1");
  CHECK(statusOf("OTHER").state() == mdv1::TRADING_STATE_HALTED);
  CHECK(statusOf("OTHER").reason() == "MWC1");
  CHECK(h.sink.snapshots().back().status().reason() == "MWC1");
  // NASDAQ resumes each security with its own Trading Action after the 15 minutes.
  h.feed(action('T', "MWCQ"), t += kSecond);
  CHECK(statusOf("TEST").state() == mdv1::TRADING_STATE_TRADING);
  CHECK(statusOf("OTHER").state() == mdv1::TRADING_STATE_HALTED);

  // Level 3: the rest of the day, whatever Trading Action follows; a lower level repeated
  // later does not lower it.
  h.feed(breach('3'), t += kSecond);
  CHECK(statusOf("TEST").reason() == "MWC3");
  CHECK(statusOf("OTHER").reason() == "MWC3");
  const auto halted = h.sink.updates().size();
  h.feed(action('T', ""), t += kSecond);
  h.feed(breach('2'), t += kSecond);
  CHECK(h.sink.updates().size() == halted);  // nothing visible changed
  CHECK(statusOf("TEST").state() == mdv1::TRADING_STATE_HALTED);
  CHECK(statusOf("TEST").reason() == "MWC3");
}

TEST_CASE("a market-wide message copied to every md.raw partition applies to each partition's own symbols only") {
  // md.raw carries a copy of a 'W' in every partition. If the copy in partition 0 were applied
  // to a partition-1 symbol, it could land after that symbol's later resumption and halt it again.
  MemorySink sink;
  Normalizer n(Harness::uncapped(), sink);
  n.onMessage(directory(1, "TEST"), kDay, kDay, kDay, 1, /*raw_partition=*/0);
  n.onMessage(directory(2, "OTHER"), kDay, kDay, kDay, 1, /*raw_partition=*/1);
  itch::MwcbStatus w;
  w.breached_level = '2';
  n.onMessage(w, kDay + kSecond, kDay + kSecond, kDay + kSecond, 2, /*raw_partition=*/0);
  REQUIRE(sink.updates().size() == 1);
  CHECK(sink.updates().back().symbol() == "TEST");
  CHECK(sink.updates().back().status().reason() == "MWC2");
  n.onMessage(w, kDay + kSecond, kDay + kSecond, kDay + kSecond, 2, /*raw_partition=*/1);
  REQUIRE(sink.updates().size() == 2);
  CHECK(sink.updates().back().symbol() == "OTHER");
}

namespace {
itch::BrokenTrade brokenTrade(uint64_t match) {
  itch::BrokenTrade b;
  b.stock_locate = 1;
  b.match_number = match;
  return b;
}
} // namespace

TEST_CASE("a broken trade is withdrawn from the session totals and the bar in progress") {
  Harness h;
  const auto at = [](int64_t ms) { return kDay + ms * kMs; };
  h.feed(trade(10, 100'0000, 1), at(10'100));
  h.feed(trade(30, 110'0000, 2), at(10'200));
  h.feed(trade(20, 90'0000, 3), at(10'300));
  REQUIRE(h.feed(brokenTrade(2), at(10'400)) == ApplyResult::Ok);

  const auto& u = h.sink.updates().back();
  REQUIRE(u.trade_breaks_size() == 1);
  const auto& br = u.trade_breaks(0);
  CHECK(br.match_number() == 2);
  CHECK(br.price() == 110'0000);
  CHECK(br.size() == 30);
  CHECK(br.exchange_ts_ns() == at(10'400));
  CHECK(br.session_volume() == 30);
  CHECK(br.session_vwap() == 93'3333);  // (1,000,000 + 1,800,000) / 30 = 93333.33
  CHECK(br.session_trade_count() == 2);
  // The bars still in progress are corrected and published; open/high/low/close stay.
  REQUIRE(u.bars_size() == 2);
  for (const auto& b : u.bars()) {
    CHECK_FALSE(b.complete());
    CHECK(b.volume() == 30);
    CHECK(b.trade_count() == 2);
    CHECK(b.vwap() == 93'3333);
    CHECK(b.high() == 110'0000);
  }

  mdv1::SymbolSnapshot snap;
  REQUIRE(h.n.snapshot("TEST", at(10'500), snap));
  CHECK(snap.session_volume() == 30);
  CHECK(snap.session_trade_count() == 2);
  CHECK(snap.session_vwap() == 93'3333);
  CHECK(h.n.stats().broken_trades == 1);

  // A second break of the same execution, and a break of one never seen, change nothing.
  const size_t before = h.sink.updates().size();
  CHECK(h.feed(brokenTrade(2), at(10'600)) == ApplyResult::UnknownTrade);
  CHECK(h.feed(brokenTrade(99), at(10'700)) == ApplyResult::UnknownTrade);
  CHECK(h.sink.updates().size() == before);
  CHECK(h.n.stats().unknown_breaks == 2);
}

TEST_CASE("a break of a trade in a completed bar leaves that bar alone") {
  Harness h;
  const auto at = [](int64_t ms) { return kDay + ms * kMs; };
  h.feed(trade(10, 100'0000, 1), at(10'100));
  h.feed(trade(5, 100'0000, 2), at(11'100));  // completes the 10 s bar
  h.feed(brokenTrade(1), at(11'200));
  const auto& u = h.sink.updates().back();
  REQUIRE(u.trade_breaks_size() == 1);
  CHECK(u.trade_breaks(0).session_volume() == 5);
  // The minute bar (in progress, held both trades) is corrected; the 10 s bar, already out as
  // complete, is not re-sent; the 11 s bar never held the broken trade.
  for (const auto& b : u.bars()) {
    CHECK_FALSE(b.complete());
    CHECK(b.volume() == 5);
    CHECK((b.interval() == mdv1::BAR_INTERVAL_1M || b.start_ts_ns() == kDay + 11 * kSecond));
  }
}

TEST_CASE("breaks held by the rate cap all go out, none conflated away") {
  NormalizerConfig c = Harness::uncapped();
  c.max_updates_per_second = 1;
  Harness h(c);
  const auto at = [](int64_t ms) { return kDay + ms * kMs; };
  h.feed(trade(10, 100'0000, 1), at(100));
  h.feed(trade(10, 100'0000, 2), at(200));
  h.feed(trade(10, 100'0000, 3), at(300));
  h.feed(brokenTrade(1), at(400));
  h.feed(brokenTrade(3), at(500));
  h.n.tick(at(1'200));
  const auto& u = h.sink.updates().back();
  REQUIRE(u.trade_breaks_size() == 2);
  CHECK(u.trade_breaks(0).match_number() == 1);
  CHECK(u.trade_breaks(1).match_number() == 3);
  CHECK(u.trade_breaks(1).session_volume() == 10);
}

TEST_CASE("by default every ITCH stock locate has a book, the highest included") {
  NormalizerConfig c;  // the service's defaults, but for the order table's size
  c.book.expected_orders = 1024;
  c.max_updates_per_second = 1'000'000'000;
  MemorySink sink;
  Normalizer n(c, sink);
  REQUIRE(n.onMessage(directory(65'535, "LAST"), kDay, kDay, kDay) == ApplyResult::Ok);
  auto a = add(1, 'B', 100, 100'0000);
  a.stock_locate = 65'535;
  a.stock = *itch::padRight<8>("LAST");
  REQUIRE(n.onMessage(a, kDay + kSecond, kDay + kSecond, kDay + kSecond) == ApplyResult::Ok);
  n.flushAll(kDay + 2 * kSecond);
  REQUIRE_FALSE(sink.updates().empty());
  CHECK(sink.updates().back().symbol() == "LAST");
  CHECK(sink.updates().back().quote().bid_price() == 100'0000);
}

// Restart windows: a normalizer killed between two of its steps, and another that restores
// from what the first published and replays md.raw (found by an audit, 2026-12-04).
namespace {

// One md.raw record: message, exchange time, wall time, offset + 1, partition.
struct RawRecord {
  itch::Message m;
  int64_t exchange_ts;
  int64_t now;
  int64_t next_offset;
  int32_t partition;
};

void feed(Normalizer& n, const RawRecord& r) {
  n.onMessage(r.m, r.exchange_ts, r.exchange_ts, r.now, r.next_offset, r.partition);
}

NormalizerConfig cappedAt(uint32_t cap, size_t broken_trade_memory = size_t{1} << 18) {
  auto c = Harness::uncapped();
  c.max_updates_per_second = cap;
  c.broken_trade_memory = broken_trade_memory;
  return c;
}

// The restarted process: restores from `point` (what the first one published last), then
// replays md.raw from its first record at wall time `now`, as after a kill.
template <typename Point>
void replayAfterRestart(Normalizer& second, const Point& point, const std::vector<RawRecord>& records,
                        int64_t now) {
  second.restore(point);
  for (auto r : records) {
    r.now = now;
    feed(second, r);
  }
}

bool hasBar(const MemorySink& sink, mdv1::BarInterval interval, int64_t start_ns) {
  for (const auto& u : sink.updates()) {
    for (const auto& b : u.bars()) {
      if (b.interval() == interval && b.start_ts_ns() == start_ns) return true;
    }
  }
  return false;
}

} // namespace

TEST_CASE("a kill while the new bar in progress waits for the cap does not lose that bar") {
  // The trade at 11.1 s closes the 10 s bar and starts the 11 s one. The update that goes out
  // carries the completed bar and covers the record (raw_next_offset); the bar in progress
  // waits for the cap's next slot, and the process dies before it.
  const std::vector<RawRecord> records = {
      {directory(1, "TEST"), kDay, kDay, 1, 0},
      {trade(10, 50'0000, 1), kDay + 10'100 * kMs, kDay + 10'100 * kMs, 2, 0},
      {trade(20, 51'0000, 2), kDay + 11'100 * kMs, kDay + 11'100 * kMs, 3, 0},
  };
  MemorySink first_sink;
  Normalizer first(cappedAt(2), first_sink);
  for (const auto& r : records) feed(first, r);
  REQUIRE(first_sink.updates().size() == 2);
  REQUIRE_FALSE(hasBar(first_sink, mdv1::BAR_INTERVAL_1S, kDay + 11 * kSecond));

  MemorySink second_sink;
  Normalizer second(cappedAt(2), second_sink);
  replayAfterRestart(second, first_sink.snapshots().back(), records, kDay + 30 * kSecond);
  second.tick(kDay + 40 * kSecond);
  second.flushAll(kDay + 41 * kSecond);
  CHECK(hasBar(second_sink, mdv1::BAR_INTERVAL_1S, kDay + 11 * kSecond));
}

TEST_CASE("a trade a forced bar roll publishes is not sent again after a restart") {
  // Catching up: two bar boundaries inside one cap interval. The third trade forces the held
  // completed bar out; that update must not carry the third trade, whose record it does not
  // cover (raw_next_offset), or a restart from it sends that trade a second time.
  const std::vector<RawRecord> records = {
      {directory(1, "TEST"), kDay, kDay, 1, 0},
      {trade(10, 50'0000, 1), kDay + 10'500 * kMs, kDay + 100 * kSecond, 2, 0},
      {trade(20, 51'0000, 2), kDay + 11'010 * kMs, kDay + 100 * kSecond + 100 * kMs, 3, 0},
      {trade(30, 52'0000, 3), kDay + 12'001 * kMs, kDay + 100 * kSecond + 200 * kMs, 4, 0},
  };
  MemorySink first_sink;
  Normalizer first(cappedAt(2), first_sink);
  for (const auto& r : records) feed(first, r);
  REQUIRE(first_sink.updates().size() == 2);

  MemorySink second_sink;
  Normalizer second(cappedAt(2), second_sink);
  replayAfterRestart(second, first_sink.updates().back(), records, kDay + 200 * kSecond);
  second.flushAll(kDay + 201 * kSecond);
  int sent = 0;
  for (const auto* sink : {&first_sink, &second_sink}) {
    for (const auto& u : sink->updates()) sent += u.has_trade() && u.trade().match_number() == 3 ? 1 : 0;
  }
  CHECK(sent == 1);
}

TEST_CASE("a restart that interleaves md.raw partitions differently still finds the same broken trades") {
  const auto at = [](int64_t ms) { return kDay + ms * kMs; };
  // Partition 0 holds TEST (locate 1), partition 1 OTHR (locate 2); memory for 2 executions.
  const RawRecord p0[] = {{directory(1, "TEST"), at(0), at(0), 1, 0},
                          {trade(10, 50'0000, 1), at(1000), at(1000), 2, 0},
                          {brokenTrade(1), at(1200), at(1200), 3, 0},
                          {trade(5, 50'0000, 4), at(1300), at(1300), 4, 0}};
  const RawRecord p1[] = {{directory(2, "OTHR"), at(0), at(0), 1, 1},
                          {tradeOn(2, 7, 60'0000, 2), at(1100), at(1100), 2, 1},
                          {tradeOn(2, 7, 60'0000, 3), at(1250), at(1250), 3, 1}};
  // Live, in arrival order: the break finds execution 1.
  MemorySink first_sink;
  Normalizer first(cappedAt(1'000'000'000, 2), first_sink);
  for (const RawRecord* r : {&p0[0], &p1[0], &p0[1], &p1[1], &p0[2]}) feed(first, *r);
  REQUIRE(first.stats().broken_trades == 1);
  // The restart replays partition by partition, as fetches do: partition 1's executions now
  // come between execution 1 and its break.
  MemorySink second_sink;
  Normalizer second(cappedAt(1'000'000'000, 2), second_sink);
  for (const auto& s : first_sink.snapshots()) second.restore(s);
  for (const RawRecord* r : {&p0[0], &p0[1], &p1[0], &p1[1], &p1[2], &p0[2], &p0[3]}) feed(second, *r);
  CHECK(second.stats().unknown_breaks == 0);
  const auto updates = second_sink.updatesFor("TEST");
  REQUIRE_FALSE(updates.empty());
  CHECK(updates.back().trade().session_volume() == 5);  // the broken 10 shares stay withdrawn
}
