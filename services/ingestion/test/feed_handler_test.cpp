#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "feed_handler.h"
#include "publisher.h"
#include "tickstream/itch/codec.h"
#include "tickstream/itch/messages.h"
#include "tickstream/marketdata/v1/raw.pb.h"

namespace itch = tickstream::itch;
using tickstream::ingestion::FeedHandler;
using tickstream::ingestion::FeedHandlerConfig;
using tickstream::ingestion::MemoryPublisher;
using tickstream::ingestion::PublishResult;
using tickstream::marketdata::v1::RawFeedMessage;

namespace {

std::vector<uint8_t> wire(const itch::Message& m) {
  std::vector<uint8_t> out(itch::kMaxMessageLength);
  out.resize(itch::encode(m, out));
  return out;
}

std::string asString(const std::vector<uint8_t>& b) { return {b.begin(), b.end()}; }

RawFeedMessage parsed(const MemoryPublisher::Record& r) {
  RawFeedMessage m;
  REQUIRE(m.ParseFromString(r.bytes));
  return m;
}

FeedHandlerConfig config() {
  FeedHandlerConfig c;
  c.session = "0000000042";
  c.trading_date = *tickstream::ingestion::parseTradingDate("2019-01-30");
  return c;
}

itch::StockDirectory directory(uint16_t locate, std::string_view sym) {
  itch::StockDirectory d;
  d.stock_locate = locate;
  d.stock = *itch::makeSymbol(sym);
  return d;
}

itch::AddOrder addOrder(uint16_t locate, std::string_view sym) {
  return itch::AddOrder{.stock_locate = locate, .tracking = 0, .timestamp_ns = 34'200'000'000'000,
                        .order_ref = 7, .side = 'B', .shares = 100,
                        .stock = *itch::makeSymbol(sym), .price = 123'4500};
}

} // namespace

TEST_CASE("an order message is published keyed by the symbol from the Stock Directory") {
  MemoryPublisher pub;
  FeedHandler h(config(), pub);
  h.onMessage(1, wire(directory(5, "AAPL")), 11);
  // Order Delete carries only the locate: its symbol comes from the directory.
  const auto del = wire(itch::OrderDelete{.stock_locate = 5, .tracking = 0,
                                          .timestamp_ns = 1000, .order_ref = 7});
  h.onMessage(2, del, 22);

  REQUIRE(pub.records().size() == 2);
  CHECK(pub.records()[0].key == "AAPL");
  CHECK(pub.records()[1].key == "AAPL");
  const RawFeedMessage m = parsed(pub.records()[1]);
  CHECK(m.payload() == asString(del));
  CHECK(m.message_type() == "D");
  CHECK(m.stock_locate() == 5);
  CHECK(m.symbol() == "AAPL");
  CHECK(m.session() == "0000000042");
  CHECK(m.sequence_number() == 2);
  CHECK(m.receive_ts_ns() == 22);
  CHECK(h.symbolOf(5) == "AAPL");
  CHECK(h.counters().published == 2);
  CHECK(h.counters().directory == 1);
}

TEST_CASE("market-wide messages are published with an empty key and symbol") {
  MemoryPublisher pub;
  FeedHandler h(config(), pub);
  h.onMessage(1, wire(itch::SystemEvent{.event_code = 'O'}), 1);
  h.onMessage(2, wire(itch::MwcbStatus{.breached_level = '1'}), 2); // locate 0
  REQUIRE(pub.records().size() == 2);
  for (const auto& r : pub.records()) {
    CHECK(r.key.empty());
    const RawFeedMessage m = parsed(r);
    CHECK(m.symbol().empty());
    CHECK(m.stock_locate() == 0);
  }
  CHECK(parsed(pub.records()[0]).message_type() == "S");
  CHECK(h.counters().market_wide == 2);
}

TEST_CASE("malformed messages are counted by status and skipped, and later ones still publish") {
  MemoryPublisher pub;
  FeedHandler h(config(), pub);
  h.onMessage(1, wire(directory(1, "MSFT")), 0);

  auto truncated = wire(addOrder(1, "MSFT"));
  truncated.resize(20);
  auto too_long = wire(addOrder(1, "MSFT"));
  too_long.push_back(0);
  auto bad_side = addOrder(1, "MSFT");
  bad_side.side = 'X';
  std::vector<uint8_t> unknown_type(36, 0);
  unknown_type[0] = 'z';
  const std::vector<uint8_t> garbage{0xff, 0x00, 0x13, 0x37, 0xde, 0xad};
  const std::vector<uint8_t> empty;

  uint64_t seq = 2;
  h.onMessage(seq++, truncated, 0);
  h.onMessage(seq++, too_long, 0);
  h.onMessage(seq++, wire(bad_side), 0);
  h.onMessage(seq++, unknown_type, 0);
  h.onMessage(seq++, garbage, 0);
  h.onMessage(seq++, empty, 0);
  const auto good = wire(addOrder(1, "MSFT"));
  h.onMessage(seq++, good, 0);

  const auto& c = h.counters();
  CHECK(c.malformedBy(itch::DecodeStatus::Truncated) == 2);
  CHECK(c.malformedBy(itch::DecodeStatus::BadLength) == 1);
  CHECK(c.malformedBy(itch::DecodeStatus::BadField) == 1);
  CHECK(c.malformedBy(itch::DecodeStatus::UnknownType) == 2);
  CHECK(c.malformedTotal() == 6);
  CHECK(c.messages == 8);
  CHECK(c.gaps == 0); // malformed messages still use up their sequence numbers
  REQUIRE(pub.records().size() == 2);
  CHECK(pub.records()[1].key == "MSFT");
  CHECK(parsed(pub.records()[1]).payload() == asString(good));
}

TEST_CASE("a message for a locate with no Stock Directory is counted and skipped") {
  MemoryPublisher pub;
  FeedHandler h(config(), pub);
  h.onMessage(1, wire(addOrder(9, "IBM")), 0);
  CHECK(h.counters().unknown_locate == 1);
  CHECK(pub.records().empty());

  h.onMessage(2, wire(directory(9, "IBM")), 0);
  h.onMessage(3, wire(addOrder(9, "IBM")), 0);
  CHECK(h.counters().unknown_locate == 1);
  REQUIRE(pub.records().size() == 2);
  CHECK(pub.records()[1].key == "IBM");
}

TEST_CASE("a forward jump in sequence is a gap, and a repeated number is a duplicate and skipped") {
  MemoryPublisher pub;
  FeedHandler h(config(), pub);
  const auto sys = wire(itch::SystemEvent{.event_code = 'O'});
  h.onMessage(1, sys, 0);
  h.onMessage(2, sys, 0);
  h.onMessage(5, sys, 0); // 3 and 4 never arrived
  CHECK(h.gaps() == 1);
  CHECK(h.counters().missing == 2);
  CHECK(h.expectedSequence() == 6);

  h.onMessage(5, sys, 0);
  h.onMessage(3, sys, 0);
  CHECK(h.duplicates() == 2);
  CHECK(h.gaps() == 1);
  CHECK(pub.records().size() == 3);
  CHECK(parsed(pub.records()[2]).sequence_number() == 5);

  h.onMessage(6, sys, 0);
  CHECK(h.gaps() == 1);
  CHECK(pub.records().size() == 4);
}

TEST_CASE("first_sequence 0 takes whatever sequence comes first") {
  MemoryPublisher pub;
  auto c = config();
  c.first_sequence = 0;
  FeedHandler h(c, pub);
  h.onMessage(1000, wire(itch::SystemEvent{.event_code = 'O'}), 0);
  CHECK(h.gaps() == 0);
  CHECK(h.expectedSequence() == 1001);
}

TEST_CASE("the exchange timestamp becomes exact ns since the Unix epoch for the trading date") {
  using tickstream::ingestion::exchangeToEpochNs;
  using tickstream::ingestion::parseTradingDate;
  const auto date = parseTradingDate("2019-01-30");
  REQUIRE(date);
  // 2019-01-30T00:00:00Z is 1548806400 s after the epoch.
  CHECK(exchangeToEpochNs(*date, 0, 0) == 1'548'806'400'000'000'000LL);
  // 09:30:00.000000123 New York (EST, UTC-5) = 14:30:00.000000123Z.
  const uint64_t open = 34'200'000'000'123ULL;
  CHECK(exchangeToEpochNs(*date, -18'000, open) == 1'548'858'600'000'000'123LL);

  CHECK_FALSE(parseTradingDate("2019-02-30"));
  CHECK_FALSE(parseTradingDate("2019-1-30"));
  CHECK_FALSE(parseTradingDate("yesterday"));

  MemoryPublisher pub;
  auto c = config();
  c.utc_offset_s = -18'000;
  FeedHandler h(c, pub);
  h.onMessage(1, wire(itch::SystemEvent{.timestamp_ns = open, .event_code = 'Q'}), 0);
  REQUIRE(pub.records().size() == 1);
  CHECK(parsed(pub.records()[0]).exchange_ts_ns() == 1'548'858'600'000'000'123LL);
}

TEST_CASE("every record carries its trading day, also where its timestamp is past midnight in UTC") {
  MemoryPublisher pub;
  auto c = config();
  c.trading_date = *tickstream::ingestion::parseTradingDate("2019-01-30");
  c.utc_offset_s = -18'000;  // New York, EST
  FeedHandler h(c, pub);
  // 19:30 New York, the evening session: 00:30 UTC on 2019-01-31.
  const uint64_t evening = 70'200'000'000'000ULL;
  h.onMessage(1, wire(itch::SystemEvent{.timestamp_ns = evening, .event_code = 'Q'}), 0);
  REQUIRE(pub.records().size() == 1);
  const auto r = parsed(pub.records()[0]);
  CHECK(r.exchange_ts_ns() == 1'548'894'600'000'000'000LL);  // 2019-01-31T00:30:00Z
  CHECK(r.trading_day() == 17'926);                          // 2019-01-30
}

TEST_CASE("a message the publisher refuses is counted, not retried") {
  MemoryPublisher pub;
  FeedHandler h(config(), pub);
  pub.setResult(PublishResult::Backpressure);
  h.onMessage(1, wire(itch::SystemEvent{.event_code = 'O'}), 0);
  CHECK(h.counters().publish_failed == 1);
  CHECK(h.counters().published == 0);
  pub.setResult(PublishResult::Ok);
  h.onMessage(2, wire(itch::SystemEvent{.event_code = 'S'}), 0);
  CHECK(h.counters().published == 1);
}

TEST_CASE("a config without a trading date is rejected, naming the field") {
  MemoryPublisher pub;
  FeedHandlerConfig c;
  CHECK_THROWS_WITH(FeedHandler(c, pub), Catch::Contains("trading_date"));
}
