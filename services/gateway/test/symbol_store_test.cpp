#include <catch2/catch.hpp>

#include <memory>
#include <vector>

#include "symbol_store.h"

namespace mdv1 = tickstream::marketdata::v1;
using tickstream::gateway::ApplyStatus;
using tickstream::gateway::SymbolStore;
using tickstream::gateway::SymbolStoreConfig;
using tickstream::gateway::UpdatePtr;

namespace {

UpdatePtr update(const std::string& symbol, uint64_t seq) {
  auto u = std::make_shared<mdv1::MarketDataUpdate>();
  u->set_symbol(symbol);
  u->set_seq(seq);
  u->mutable_quote()->set_bid_price(static_cast<int64_t>(100 + seq));
  return u;
}

mdv1::SymbolSnapshot snapshot(const std::string& symbol, uint64_t seq) {
  mdv1::SymbolSnapshot s;
  s.set_symbol(symbol);
  s.set_last_seq(seq);
  s.set_raw_next_offset(1234);
  s.mutable_quote()->set_bid_price(static_cast<int64_t>(100 + seq));
  return s;
}

std::vector<uint64_t> seqs(const std::vector<UpdatePtr>& v) {
  std::vector<uint64_t> out;
  for (const auto& u : v) {
    out.push_back(u->seq());
  }
  return out;
}

} // namespace

TEST_CASE("updates after a snapshot advance the state, stale ones are ignored") {
  SymbolStore store;
  REQUIRE(store.loadSnapshot(snapshot("AAPL", 10)));
  CHECK(store.snapshot("AAPL")->raw_next_offset() == 0);  // internal field dropped
  CHECK(store.apply(update("AAPL", 9)) == ApplyStatus::Stale);
  CHECK(store.apply(update("AAPL", 10)) == ApplyStatus::Stale);
  CHECK(store.apply(update("AAPL", 11)) == ApplyStatus::Applied);
  CHECK(store.snapshot("AAPL")->last_seq() == 11);
  CHECK(store.snapshot("AAPL")->quote().bid_price() == 111);
  CHECK_FALSE(store.loadSnapshot(snapshot("AAPL", 5)));  // older: ignored
  CHECK(store.snapshot("AAPL")->last_seq() == 11);
  CHECK(store.snapshot("MSFT") == nullptr);
}

TEST_CASE("resume is served from the history while it reaches, else refused") {
  SymbolStoreConfig c;
  c.history_per_symbol = 4;
  SymbolStore store(c);
  REQUIRE(store.loadSnapshot(snapshot("AAPL", 10)));
  std::vector<UpdatePtr> out;
  CHECK(store.updatesAfter("AAPL", 10, out));  // up to date: nothing to send
  CHECK(out.empty());
  CHECK_FALSE(store.updatesAfter("AAPL", 9, out));  // before the history starts
  for (uint64_t s = 11; s <= 16; ++s) {
    REQUIRE(store.apply(update("AAPL", s)) == ApplyStatus::Applied);
  }
  CHECK(store.updatesAfter("AAPL", 13, out));
  CHECK(seqs(out) == std::vector<uint64_t>{14, 15, 16});
  out.clear();
  CHECK(store.updatesAfter("AAPL", 12, out));  // exactly the 4 kept
  CHECK(seqs(out) == std::vector<uint64_t>{13, 14, 15, 16});
  out.clear();
  CHECK_FALSE(store.updatesAfter("AAPL", 11, out));  // 12 fell out of the ring
  CHECK(out.empty());
  CHECK_FALSE(store.updatesAfter("AAPL", 17, out));  // ahead of the shard
  CHECK_FALSE(store.updatesAfter("MSFT", 0, out));
}

TEST_CASE("a gap in md.ticks restarts the history, so nobody is resumed across it") {
  SymbolStore store;
  REQUIRE(store.apply(update("AAPL", 1)) == ApplyStatus::Applied);
  REQUIRE(store.apply(update("AAPL", 2)) == ApplyStatus::Applied);
  CHECK(store.apply(update("AAPL", 5)) == ApplyStatus::Gap);
  std::vector<UpdatePtr> out;
  CHECK_FALSE(store.updatesAfter("AAPL", 2, out));
  CHECK(store.updatesAfter("AAPL", 4, out));
  CHECK(seqs(out) == std::vector<uint64_t>{5});
}

TEST_CASE("trades, bars and status merge into the state a new subscriber is sent") {
  SymbolStore store;
  auto u = std::make_shared<mdv1::MarketDataUpdate>();
  u->set_symbol("AAPL");
  u->set_seq(1);
  u->mutable_trade()->set_price(50'0000);
  u->mutable_trade()->set_session_volume(300);
  auto* bar = u->add_bars();
  bar->set_interval(mdv1::BAR_INTERVAL_1S);
  bar->set_start_ts_ns(1'000);
  u->mutable_status()->set_state(mdv1::TRADING_STATE_HALTED);
  REQUIRE(store.apply(u) == ApplyStatus::Applied);
  const auto* s = store.snapshot("AAPL");
  CHECK(s->last_trade().price() == 50'0000);
  CHECK(s->session_volume() == 300);
  CHECK(s->session_open() == 50'0000);
  CHECK(s->session_low() == 50'0000);
  REQUIRE(s->current_bars_size() == 1);
  CHECK(s->status().state() == mdv1::TRADING_STATE_HALTED);

  auto v = std::make_shared<mdv1::MarketDataUpdate>();
  v->set_symbol("AAPL");
  v->set_seq(2);
  v->mutable_trade()->set_price(49'0000);
  v->mutable_trade()->set_session_volume(400);
  auto* done = v->add_bars();
  done->set_interval(mdv1::BAR_INTERVAL_1S);
  done->set_start_ts_ns(1'000);
  done->set_complete(true);
  REQUIRE(store.apply(v) == ApplyStatus::Applied);
  s = store.snapshot("AAPL");
  CHECK(s->session_low() == 49'0000);
  CHECK(s->session_high() == 50'0000);
  CHECK(s->session_close() == 49'0000);
  CHECK(s->session_volume() == 400);
  CHECK(s->current_bars_size() == 0);  // the completed bar left the bars in progress
}

TEST_CASE("a trade break sets the session totals unless a later trade came with it") {
  SymbolStore store;
  auto u = std::make_shared<mdv1::MarketDataUpdate>();
  u->set_symbol("AAPL");
  u->set_seq(1);
  u->mutable_trade()->set_session_volume(300);
  u->mutable_trade()->set_exchange_ts_ns(100);
  auto* br = u->add_trade_breaks();
  br->set_exchange_ts_ns(200);  // after the trade: its totals are the newest
  br->set_session_volume(250);
  br->set_session_vwap(10'0000);
  br->set_session_trade_count(4);
  REQUIRE(store.apply(u) == ApplyStatus::Applied);
  CHECK(store.snapshot("AAPL")->session_volume() == 250);
  CHECK(store.snapshot("AAPL")->session_vwap() == 10'0000);
  CHECK(store.snapshot("AAPL")->session_trade_count() == 4);

  auto v = std::make_shared<mdv1::MarketDataUpdate>();
  v->set_symbol("AAPL");
  v->set_seq(2);
  v->mutable_trade()->set_session_volume(270);
  v->mutable_trade()->set_exchange_ts_ns(400);
  auto* older = v->add_trade_breaks();
  older->set_exchange_ts_ns(300);  // before the trade, whose volume already excludes it
  older->set_session_volume(200);
  REQUIRE(store.apply(v) == ApplyStatus::Applied);
  CHECK(store.snapshot("AAPL")->session_volume() == 270);
}

TEST_CASE("symbols beyond the configured bound are refused and counted") {
  SymbolStoreConfig c;
  c.max_symbols = 2;
  SymbolStore store(c);
  CHECK(store.apply(update("A", 1)) == ApplyStatus::Applied);
  CHECK(store.apply(update("B", 1)) == ApplyStatus::Applied);
  CHECK(store.apply(update("C", 1)) == ApplyStatus::Full);
  CHECK_FALSE(store.loadSnapshot(snapshot("D", 1)));
  CHECK(store.size() == 2);
  CHECK(store.refused() == 2);
}
