#include <catch2/catch.hpp>

#include <array>
#include <cstdint>
#include <set>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include "book_rebuild.h"
#include "market.h"
#include "tickstream/book/book_set.h"
#include "tickstream/itch/capture.h"
#include "tickstream/itch/codec.h"

using tickstream::book::BookSet;
using tickstream::book::BookSetConfig;
using tickstream::book::Side;
using tickstream::exchange_sim::test::applyToBook;
using tickstream::book::Status;
using tickstream::exchange_sim::MarketConfig;
using tickstream::exchange_sim::MarketSimulator;
using tickstream::exchange_sim::TopOfBook;
using tickstream::exchange_sim::tickerFor;
namespace itch = tickstream::itch;

namespace {

std::string captureOf(const MarketConfig& config, uint64_t messages) {
  MarketSimulator sim(config);
  std::string out;
  itch::CaptureWriter writer(out);
  itch::Message m;
  for (uint64_t i = 0; i < messages; ++i) {
    sim.next(m);
    REQUIRE(writer.append(m));
  }
  return out;
}

uint16_t locateOf(const itch::Message& m) {
  return std::visit([](const auto& x) { return x.stock_locate; }, m);
}
uint64_t timestampOf(const itch::Message& m) {
  return std::visit([](const auto& x) { return x.timestamp_ns; }, m);
}

bool isOrderMessage(char type) {
  return std::string_view("AFECXDUPH").find(type) != std::string_view::npos;
}

} // namespace

TEST_CASE("the same seed gives a byte-identical stream, another seed a different one") {
  MarketConfig a;
  a.symbols = 200;
  a.seed = 7;
  MarketConfig b = a;
  b.seed = 8;
  const std::string first = captureOf(a, 50'000);
  CHECK(first == captureOf(a, 50'000));
  CHECK(first != captureOf(b, 50'000));
}

TEST_CASE("the day opens with O, a directory per symbol, S, Q, then trading for every symbol") {
  MarketConfig c;
  c.symbols = 50;
  MarketSimulator sim(c);
  itch::Message m;
  sim.next(m);
  REQUIRE(std::get<itch::SystemEvent>(m).event_code == 'O');
  for (uint16_t locate = 1; locate <= 50; ++locate) {
    sim.next(m);
    const auto& d = std::get<itch::StockDirectory>(m);
    CHECK(d.stock_locate == locate);
    CHECK(itch::symbol(d.stock) == sim.symbol(locate));
  }
  sim.next(m);
  CHECK(std::get<itch::SystemEvent>(m).event_code == 'S');
  sim.next(m);
  CHECK(std::get<itch::SystemEvent>(m).event_code == 'Q');
  for (uint16_t locate = 1; locate <= 50; ++locate) {
    sim.next(m);
    const auto& h = std::get<itch::StockTradingAction>(m);
    CHECK(h.stock_locate == locate);
    CHECK(h.trading_state == 'T');
  }
}

TEST_CASE("200k messages: valid ITCH, consistent refs, uncrossed books, a sane mix") {
  MarketConfig c;
  c.symbols = 300;
  c.seed = 42;
  c.halts_per_million = 200;
  MarketSimulator sim(c);
  BookSet rebuilt(BookSetConfig{.books = 301, .expected_orders = 1 << 16, .depth_levels = 1});

  constexpr uint64_t kMessages = 200'000;
  std::vector<bool> directory(301, false);
  std::set<uint64_t> refs;
  uint64_t last_ref = 0;
  uint64_t last_ts = 0;
  uint64_t bad_decode = 0, not_roundtrip = 0, before_directory = 0, dup_refs = 0;
  uint64_t non_increasing_refs = 0, time_backwards = 0, pipeline_errors = 0;
  std::array<uint8_t, itch::kMaxMessageLength> buf{};
  itch::Message m;
  itch::Message decoded;
  for (uint64_t i = 0; i < kMessages; ++i) {
    sim.next(m);
    const std::size_t n = itch::encode(m, buf);
    REQUIRE(n == itch::messageLength(itch::messageType(m)));
    if (itch::decode(std::span<const uint8_t>(buf.data(), n), decoded) !=
        itch::DecodeStatus::Ok) {
      ++bad_decode;
      continue;
    }
    not_roundtrip += decoded == m ? 0 : 1;
    const char type = itch::messageType(decoded);
    const uint64_t ts = timestampOf(decoded);
    time_backwards += ts < last_ts ? 1 : 0;
    last_ts = ts;
    if (type == 'R') {
      directory[locateOf(decoded)] = true;
    } else if (isOrderMessage(type) && !directory[locateOf(decoded)]) {
      ++before_directory;
    }
    uint64_t new_ref = 0;
    if (const auto* a = std::get_if<itch::AddOrder>(&decoded)) new_ref = a->order_ref;
    if (const auto* f = std::get_if<itch::AddOrderMpid>(&decoded)) new_ref = f->order_ref;
    if (const auto* u = std::get_if<itch::OrderReplace>(&decoded)) new_ref = u->new_order_ref;
    if (new_ref != 0) {
      dup_refs += refs.insert(new_ref).second ? 0 : 1;
      non_increasing_refs += new_ref > last_ref ? 0 : 1;
      last_ref = new_ref;
    }
    pipeline_errors += applyToBook(rebuilt, decoded) == Status::Ok ? 0 : 1;
  }

  CHECK(bad_decode == 0);
  CHECK(not_roundtrip == 0);
  CHECK(time_backwards == 0);
  CHECK(last_ts < itch::kNanosPerDay);
  CHECK(before_directory == 0);
  CHECK(dup_refs == 0);
  CHECK(non_increasing_refs == 0);
  CHECK(pipeline_errors == 0);
  CHECK(sim.truthErrors() == 0);
  CHECK(sim.emitted() == kMessages);

  uint64_t crossed = 0, mismatched = 0, empty_books = 0;
  for (uint16_t locate = 1; locate <= 300; ++locate) {
    const TopOfBook top = sim.topOfBook(locate);
    if (top.bid.price != 0 && top.ask.price != 0 && top.bid.price >= top.ask.price) {
      ++crossed;
    }
    empty_books += top.bid.price == 0 || top.ask.price == 0 ? 1 : 0;
    const TopOfBook mine{rebuilt.book(locate).best(Side::Buy), rebuilt.book(locate).best(Side::Sell)};
    mismatched += mine == top ? 0 : 1;
  }
  CHECK(crossed == 0);
  CHECK(mismatched == 0);
  CHECK(empty_books < 30); // the books are populated, not a trickle

  const auto& k = sim.counts();
  const auto share = [&](std::string_view types) {
    uint64_t sum = 0;
    for (char t : types) sum += k[static_cast<unsigned char>(t)];
    return static_cast<double>(sum) / static_cast<double>(kMessages);
  };
  INFO("A " << k['A'] << " F " << k['F'] << " X " << k['X'] << " D " << k['D'] << " U " << k['U']
            << " E " << k['E'] << " C " << k['C'] << " P " << k['P'] << " H " << k['H']);
  CHECK(share("AF") >= 0.30);
  CHECK(share("AF") <= 0.60);
  CHECK(share("XD") >= 0.20);
  CHECK(share("XD") <= 0.50);
  CHECK(share("EC") > 0.03);
  CHECK(k['F'] > 0);
  CHECK(k['C'] > 0);
  CHECK(k['U'] > 0);
  CHECK(k['P'] > 0);
}

TEST_CASE("a halted symbol takes only cancels and deletes until it resumes") {
  MarketConfig c;
  c.symbols = 20;
  c.halts_per_million = 5'000;
  MarketSimulator sim(c);
  std::vector<bool> halted(21, false);
  uint64_t halts = 0, resumes = 0, flow_while_halted = 0;
  itch::Message m;
  for (int i = 0; i < 100'000; ++i) {
    sim.next(m);
    const uint16_t locate = locateOf(m);
    if (const auto* h = std::get_if<itch::StockTradingAction>(&m)) {
      if (h->trading_state == 'H') {
        CHECK_FALSE(halted[locate]);
        ++halts;
      } else if (halted[locate]) {
        ++resumes;
      }
      halted[locate] = h->trading_state == 'H';
      continue;
    }
    const char type = itch::messageType(m);
    if (halted[locate] && type != 'X' && type != 'D') {
      ++flow_while_halted;
    }
  }
  CHECK(halts > 10);
  CHECK(resumes > 10);
  CHECK(flow_while_halted == 0);
}

TEST_CASE("tickers are unique, upper-case and the same whatever the seed") {
  std::set<std::string> seen;
  for (uint32_t locate = 1; locate <= 65535; ++locate) {
    const itch::Symbol s = tickerFor(static_cast<uint16_t>(locate));
    const std::string t(itch::symbol(s));
    REQUIRE((t.size() == 4 || t.size() == 6));
    for (char ch : t) {
      REQUIRE((ch >= 'A' && ch <= 'Z'));
    }
    seen.insert(t);
  }
  CHECK(seen.size() == 65535);
  MarketConfig a;
  a.symbols = 3;
  MarketConfig b = a;
  b.seed = 99;
  CHECK(MarketSimulator(a).symbol(2) == MarketSimulator(b).symbol(2));
}

TEST_CASE("bad config is rejected naming the field") {
  const auto rejects = [](MarketConfig c, const std::string& field) {
    try {
      c.validate();
      FAIL("accepted a bad " << field);
    } catch (const std::invalid_argument& e) {
      CHECK_THAT(e.what(), Catch::Contains(field));
    }
  };
  MarketConfig c;
  c.symbols = 0;
  rejects(c, "symbols");
  c = {};
  c.symbols = 65536;
  rejects(c, "symbols");
  c = {};
  c.target_orders = 0;
  rejects(c, "target_orders");
  c = {};
  c.mean_gap_ns = 0;
  rejects(c, "mean_gap_ns");
  c = {};
  c.burst_speedup = 0;
  rejects(c, "burst_speedup");
  c = {};
  c.min_price = 12345;
  rejects(c, "min_price");
  c = {};
  c.max_price = c.min_price - 100;
  rejects(c, "max_price");
  CHECK_NOTHROW(MarketConfig{}.validate());
  CHECK_THROWS_AS(MarketSimulator(MarketConfig{.symbols = 0}), std::invalid_argument);
}
