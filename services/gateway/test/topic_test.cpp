#include <catch2/catch.hpp>

#include <memory>

#include "protocol.h"
#include "topic.h"

namespace tg = tickstream::gateway;
namespace mdv1 = tickstream::marketdata::v1;

namespace {

std::shared_ptr<tg::UpdateFrames> quoteUpdate(uint64_t seq) {
  auto u = std::make_shared<mdv1::MarketDataUpdate>();
  u->set_symbol("AAPL");
  u->set_seq(seq);
  u->set_receive_ts_ns(static_cast<int64_t>(seq) * 1000);
  u->mutable_quote()->set_bid_price(1'000'000 + static_cast<int64_t>(seq));
  return std::make_shared<tg::UpdateFrames>(u);
}

std::shared_ptr<tg::UpdateFrames> tradeUpdate(uint64_t seq) {
  auto u = std::make_shared<mdv1::MarketDataUpdate>();
  u->set_symbol("AAPL");
  u->set_seq(seq);
  u->mutable_trade()->set_price(1'000'000);
  u->mutable_trade()->set_size(100);
  return std::make_shared<tg::UpdateFrames>(u);
}

} // namespace

TEST_CASE("a topic keeps, per mask in use, the newest update that has something for it") {
  tg::Topic t("AAPL");
  const tg::ModeMask quotes = tg::modeBit(mdv1::MODE_QUOTE);
  const tg::ModeMask trades = tg::modeBit(mdv1::MODE_TRADES);
  t.masks_in_use = (1U << quotes) | (1U << trades) | (1U << tg::kAllModes);

  t.publish(tradeUpdate(1));
  t.publish(quoteUpdate(2));
  t.publish(quoteUpdate(3));

  CHECK(t.received == 3);
  REQUIRE(t.latest[trades].frames != nullptr);
  CHECK(t.latest[trades].frames->update().seq() == 1);
  CHECK(t.latest[trades].received == 1);
  CHECK(t.latest[quotes].frames->update().seq() == 3);
  CHECK(t.latest[quotes].received == 3);
  CHECK(t.latest[tg::kAllModes].frames->update().seq() == 3);
  // A mask nobody uses keeps nothing.
  CHECK(t.latest[tg::modeBit(mdv1::MODE_DEPTH)].frames == nullptr);
}

TEST_CASE("a topic entry carries its update's seq and latency start, and a new update drops the cached frame") {
  tg::Topic t("AAPL");
  const tg::ModeMask quotes = tg::modeBit(mdv1::MODE_QUOTE);
  t.masks_in_use = 1U << quotes;
  auto first = quoteUpdate(7);
  t.publish(first);
  tg::Topic::Latest& l = t.latest[quotes];
  CHECK(l.seq == 7);
  CHECK(l.latency_start_ns == 7000);  // the receive time by default
  // What the first client to pull it caches (Connection::pullOne).
  const std::string_view f = first->frame(tg::Encoding::Proto, quotes);
  l.frame_data[1] = f.data();
  l.frame_size[1] = static_cast<uint32_t>(f.size());

  t.publish(quoteUpdate(8));
  CHECK(l.seq == 8);
  CHECK(l.frame_data[0] == nullptr);
  CHECK(l.frame_data[1] == nullptr);  // never the previous update's bytes
}

TEST_CASE("the delivery latency starts at the receive time, or at the exchange timestamp when asked") {
  auto u = std::make_shared<mdv1::MarketDataUpdate>();
  u->set_symbol("AAPL");
  u->set_seq(1);
  u->set_exchange_ts_ns(5'000);
  u->set_receive_ts_ns(9'000);
  CHECK(tg::UpdateFrames(u).latencyStartNs() == 9'000);
  CHECK(tg::UpdateFrames(u, /*from_exchange=*/true).latencyStartNs() == 5'000);
}

TEST_CASE("a subscription's skip count is the difference of received counts, across wrap-around") {
  // A client brought up to received = r is owed the newest update when it is after r; what it
  // skipped is the difference less one.
  CHECK(tg::counterAfter(5, 4));
  CHECK_FALSE(tg::counterAfter(4, 4));
  CHECK_FALSE(tg::counterAfter(3, 4));
  CHECK(tg::counterAfter(2, UINT32_MAX - 1));  // wrapped: 2 is four updates after 2^32 - 2
  CHECK(tg::skippedBetween(2, UINT32_MAX - 1) == 3U);
  CHECK(tg::skippedBetween(5, 4) == 0U);  // the next one: nothing skipped
}
