#include <catch2/catch.hpp>

#include <array>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>

#include "protocol.h"
#include "tickstream/ws/frame.h"

// Counts heap allocations so a test can assert a code path makes none. Replacing the global
// operator new affects the whole test binary; only the difference across a window is asserted.
// Every unaligned form is replaced, so that under AddressSanitizer no block from the
// sanitizer's operator new is released with free() here. None is inlined: GCC would otherwise
// see malloc() meet operator delete and warn (-Wmismatched-new-delete) about a consistent pair.
namespace {
std::atomic<std::size_t> g_allocations{0};

void* countedAlloc(std::size_t size) noexcept {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(size == 0 ? 1 : size);
}
} // namespace

[[gnu::noinline]] void* operator new(std::size_t size) {
  if (void* p = countedAlloc(size)) {
    return p;
  }
  throw std::bad_alloc();
}
[[gnu::noinline]] void* operator new[](std::size_t size) { return operator new(size); }
[[gnu::noinline]] void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  return countedAlloc(size);
}
[[gnu::noinline]] void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
  return countedAlloc(size);
}
[[gnu::noinline]] void operator delete(void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete[](void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace gwv1 = tickstream::gateway::v1;
namespace mdv1 = tickstream::marketdata::v1;
using google::protobuf::util::MessageDifferencer;
using tickstream::gateway::decodeClient;
using tickstream::gateway::DecodeResult;
using tickstream::gateway::Encoding;
using tickstream::gateway::encodeServer;
using tickstream::gateway::encodeSnapshot;
using tickstream::gateway::encodingFor;
using tickstream::gateway::filterSnapshot;
using tickstream::gateway::filterUpdate;
using tickstream::gateway::kAllModes;
using tickstream::gateway::maskOf;
using tickstream::gateway::ModeMask;
using tickstream::gateway::modeBit;
using tickstream::gateway::modesOf;
using tickstream::gateway::Pieces;
using tickstream::gateway::subprotocolName;
using tickstream::gateway::UpdateFrames;

namespace {

constexpr ModeMask kTrades = modeBit(mdv1::MODE_TRADES);
constexpr ModeMask kQuote = modeBit(mdv1::MODE_QUOTE);
constexpr ModeMask kDepth = modeBit(mdv1::MODE_DEPTH);
constexpr ModeMask kBars = modeBit(mdv1::MODE_BARS);

const char* name(Encoding e) { return e == Encoding::Json ? "json" : "proto"; }

std::string encodeClient(Encoding e, const gwv1::ClientMessage& m) {
  std::string out;
  if (e == Encoding::Json) {
    REQUIRE(google::protobuf::util::MessageToJsonString(m, &out).ok());
  } else {
    REQUIRE(m.SerializeToString(&out));
  }
  return out;
}

DecodeResult decode(Encoding e, std::string_view bytes, gwv1::ClientMessage& out) {
  return decodeClient(e, e == Encoding::Json, bytes, out);
}

bool parseServer(Encoding e, const std::string& bytes, gwv1::ServerMessage& out) {
  if (e == Encoding::Json) {
    return google::protobuf::util::JsonStringToMessage(bytes, &out).ok(); // strict
  }
  return out.ParseFromString(bytes);
}

// An update with every field and every part set, values past 32 bits where the type allows.
mdv1::MarketDataUpdate fullUpdate() {
  mdv1::MarketDataUpdate u;
  u.set_symbol("AAPL");
  u.set_seq(12'345'678'901ULL);
  u.set_exchange_ts_ns(1'704'200'000'123'456'789LL);
  u.set_receive_ts_ns(1'704'200'000'123'500'000LL);
  u.set_publish_ts_ns(1'704'200'000'123'600'000LL);
  u.set_conflated(3);
  u.set_raw_next_offset(987'654'321'012LL);
  u.set_rate_cap_hold_ns(12'000'000);
  mdv1::Trade* t = u.mutable_trade();
  t->set_price(1'234'500);
  t->set_size(100);
  t->set_aggressor_side(mdv1::AGGRESSOR_SIDE_BUY);
  t->set_match_number(55'000'000'001ULL);
  t->set_exchange_ts_ns(1'704'200'000'123'456'000LL);
  t->set_session_volume(9'000'000'000LL);
  mdv1::TradeBreak* br = u.add_trade_breaks();
  br->set_match_number(54'000'000'001ULL);
  br->set_price(1'234'000);
  br->set_size(50);
  br->set_exchange_ts_ns(1'704'200'000'123'456'700LL);
  br->set_session_volume(8'999'999'950LL);
  br->set_session_vwap(1'230'000);
  br->set_session_trade_count(7'000'000'000ULL);
  mdv1::Quote* q = u.mutable_quote();
  q->set_bid_price(1'234'400);
  q->set_bid_size(300);
  q->set_ask_price(1'234'600);
  q->set_ask_size(200);
  q->set_exchange_ts_ns(1'704'200'000'123'456'789LL);
  mdv1::Depth* d = u.mutable_depth();
  for (int i = 0; i < 3; ++i) {
    mdv1::PriceLevel* b = d->add_bids();
    b->set_price(1'234'400 - 100 * i);
    b->set_size(100 + i);
    b->set_order_count(static_cast<uint32_t>(1 + i));
    mdv1::PriceLevel* a = d->add_asks();
    a->set_price(1'234'600 + 100 * i);
    a->set_size(200 + i);
    a->set_order_count(static_cast<uint32_t>(2 + i));
  }
  d->set_exchange_ts_ns(1'704'200'000'123'456'789LL);
  for (auto interval : {mdv1::BAR_INTERVAL_1S, mdv1::BAR_INTERVAL_1M}) {
    mdv1::Bar* bar = u.add_bars();
    bar->set_interval(interval);
    bar->set_start_ts_ns(1'704'200'000'000'000'000LL);
    bar->set_open(1'234'000);
    bar->set_high(1'235'000);
    bar->set_low(1'233'000);
    bar->set_close(1'234'500);
    bar->set_volume(5000);
    bar->set_vwap(1'234'321);
    bar->set_trade_count(17);
    bar->set_complete(interval == mdv1::BAR_INTERVAL_1S);
  }
  mdv1::TradingStatus* s = u.mutable_status();
  s->set_state(mdv1::TRADING_STATE_HALTED);
  s->set_reason("LUDP");
  s->set_exchange_ts_ns(1'704'200'000'100'000'000LL);
  return u;
}

mdv1::SymbolSnapshot fullSnapshot() {
  const mdv1::MarketDataUpdate u = fullUpdate();
  mdv1::SymbolSnapshot s;
  s.set_symbol("AAPL");
  s.set_last_seq(u.seq());
  s.set_trading_day("2024-01-02");
  s.set_raw_next_offset(987'654'321'012LL);
  *s.mutable_last_trade() = u.trade();
  *s.mutable_quote() = u.quote();
  *s.mutable_depth() = u.depth();
  *s.mutable_current_bars() = u.bars();
  *s.mutable_status() = u.status();
  s.set_session_volume(9'000'000'000LL);
  s.set_session_vwap(1'234'100);
  s.set_session_open(1'230'000);
  s.set_session_high(1'240'000);
  s.set_session_low(1'220'000);
  s.set_session_close(1'234'500);
  s.set_session_trade_count(5'000'000'000ULL);
  s.set_exchange_ts_ns(u.exchange_ts_ns());
  s.set_receive_ts_ns(u.receive_ts_ns());
  s.set_publish_ts_ns(u.publish_ts_ns());
  return s;
}

std::string concat(const Pieces& p) {
  std::string s;
  for (std::string_view span : p.spans()) {
    s.append(span);
  }
  return s;
}

gwv1::ServerMessage expectedUpdate(const mdv1::MarketDataUpdate& u, ModeMask mask,
                                   uint64_t skipped) {
  gwv1::ServerMessage m;
  filterUpdate(u, mask, *m.mutable_update()->mutable_update());
  m.mutable_update()->set_skipped_by_conflation(skipped);
  return m;
}

} // namespace

// ---------------------------------------------------------------------------------------------

TEST_CASE("the subprotocol picks the encoding: anything but tickstream.v1.proto is JSON") {
  CHECK(encodingFor("tickstream.v1.proto") == Encoding::Proto);
  CHECK(encodingFor("tickstream.v1.json") == Encoding::Json);
  CHECK(encodingFor("") == Encoding::Json);
  CHECK(encodingFor("tickstream.v2.proto") == Encoding::Json);
  CHECK(subprotocolName(Encoding::Proto) == "tickstream.v1.proto");
  CHECK(subprotocolName(Encoding::Json) == "tickstream.v1.json");
}

TEST_CASE("every client operation survives a round trip in both encodings") {
  std::vector<gwv1::ClientMessage> messages;
  {
    gwv1::ClientMessage m;
    m.set_request_id(1);
    m.mutable_auth()->set_token("eyJhbGciOiJIUzI1NiJ9.e30.sig");
    messages.push_back(m);
  }
  {
    gwv1::ClientMessage m;
    m.set_request_id(2);
    gwv1::Subscription* a = m.mutable_subscribe()->add_subscriptions();
    a->set_symbol("AAPL");
    a->add_modes(mdv1::MODE_TRADES);
    a->add_modes(mdv1::MODE_BARS);
    a->set_min_interval_ms(250);
    gwv1::Subscription* b = m.mutable_subscribe()->add_subscriptions();
    b->set_symbol("BRK.A");
    gwv1::Subscription* c = m.mutable_subscribe()->add_subscriptions();
    c->set_symbol("X-1");
    c->add_modes(mdv1::MODE_DEPTH);
    c->add_modes(mdv1::MODE_QUOTE);
    messages.push_back(m);
  }
  {
    gwv1::ClientMessage m;
    m.set_request_id(3);
    m.mutable_unsubscribe()->add_symbols("AAPL");
    m.mutable_unsubscribe()->add_symbols("MSFT");
    messages.push_back(m);
  }
  {
    gwv1::ClientMessage m; // an empty Unsubscribe is valid: answered by an empty Unsubscribed
    m.set_request_id(4);
    m.mutable_unsubscribe();
    messages.push_back(m);
  }
  {
    gwv1::ClientMessage m;
    m.set_request_id(5);
    gwv1::SymbolSeq* p = m.mutable_resume()->add_positions();
    p->set_symbol("AAPL");
    p->set_last_seq(18'000'000'000'000'000'000ULL); // needs all 64 bits: a string in JSON
    gwv1::SymbolSeq* p2 = m.mutable_resume()->add_positions();
    p2->set_symbol("MSFT");
    p2->set_last_seq(0);
    messages.push_back(m);
  }
  {
    gwv1::ClientMessage m;
    m.set_request_id(0xFFFFFFFFU);
    m.mutable_ping()->set_client_ts_ns(-1'704'200'000'123'456'789LL);
    messages.push_back(m);
  }

  for (Encoding e : {Encoding::Json, Encoding::Proto}) {
    for (const gwv1::ClientMessage& m : messages) {
      INFO(name(e) << ": " << m.ShortDebugString());
      const std::string bytes = encodeClient(e, m);
      gwv1::ClientMessage out;
      const DecodeResult r = decode(e, bytes, out);
      CHECK(r.ok());
      CHECK(r.message.empty());
      CHECK(MessageDifferencer::Equals(out, m));
    }
  }
}

TEST_CASE("JSON clients write the proto3 JSON mapping: camelCase, enum names, 64-bit strings") {
  gwv1::ClientMessage out;
  REQUIRE(decode(Encoding::Json,
                 R"({"requestId":7,"subscribe":{"subscriptions":[{"symbol":"AAPL",)"
                 R"("modes":["MODE_TRADES","MODE_QUOTE"],"minIntervalMs":100}]}})",
                 out)
              .ok());
  CHECK(out.request_id() == 7);
  REQUIRE(out.subscribe().subscriptions_size() == 1);
  CHECK(out.subscribe().subscriptions(0).symbol() == "AAPL");
  CHECK(maskOf(out.subscribe().subscriptions(0).modes()) == (kTrades | kQuote));
  CHECK(out.subscribe().subscriptions(0).min_interval_ms() == 100);

  REQUIRE(decode(Encoding::Json,
                 R"({"requestId":8,"resume":{"positions":[{"symbol":"AAPL",)"
                 R"("lastSeq":"18446744073709551615"}]}})",
                 out)
              .ok());
  CHECK(out.resume().positions(0).last_seq() == UINT64_MAX);

  // decodeClient replaces, never merges, the previous message.
  REQUIRE(decode(Encoding::Json, R"({"ping":{}})", out).ok());
  CHECK(out.request_id() == 0);
  CHECK(out.has_ping());
  CHECK_FALSE(out.has_resume());
}

TEST_CASE("a frame of the wrong type for the connection's encoding is BAD_REQUEST") {
  gwv1::ClientMessage m;
  m.mutable_ping()->set_client_ts_ns(1);

  gwv1::ClientMessage out;
  DecodeResult r = decodeClient(Encoding::Json, /*text_frame=*/false,
                                encodeClient(Encoding::Json, m), out);
  CHECK(r.code == gwv1::ERROR_CODE_BAD_REQUEST);
  CHECK_THAT(r.message, Catch::Contains("binary frame"));

  r = decodeClient(Encoding::Proto, /*text_frame=*/true, encodeClient(Encoding::Proto, m), out);
  CHECK(r.code == gwv1::ERROR_CODE_BAD_REQUEST);
  CHECK_THAT(r.message, Catch::Contains("text frame"));
}

TEST_CASE("JSON that does not parse is BAD_REQUEST with the parser's message") {
  struct Case {
    const char* what;
    std::string_view json;
    uint32_t request_id; // what the Error can echo
  };
  const Case cases[] = {
      {"not JSON", R"({"requestId":1,"ping":)", 0},
      {"not an object", R"([1,2])", 0},
      {"unknown field inside an operation",
       R"({"requestId":3,"subscribe":{"subscriptions":[{"symbol":"AAPL","mode":["MODE_TRADES"]}]}})",
       3},
      {"unknown top-level field next to an operation", R"({"requestId":4,"ping":{},"extra":1})", 4},
      {"wrong type", R"({"requestId":5,"ping":{"clientTsNs":"soon"}})", 0},
      {"wrong type for request_id", R"({"requestId":"x","ping":{}})", 0},
      {"unknown enum name",
       R"({"subscribe":{"subscriptions":[{"symbol":"AAPL","modes":["MODE_NEWS"]}]}})", 0},
      {"two operations", R"({"requestId":8,"ping":{},"auth":{"token":"t"}})", 0},
  };
  for (const Case& c : cases) {
    INFO(c.what << ": " << c.json);
    gwv1::ClientMessage out;
    out.set_request_id(99); // stale state must not leak into the echo
    const DecodeResult r = decode(Encoding::Json, c.json, out);
    CHECK(r.code == gwv1::ERROR_CODE_BAD_REQUEST);
    CHECK_THAT(r.message, Catch::StartsWith("invalid JSON ClientMessage: "));
    CHECK(r.message.size() > std::string_view("invalid JSON ClientMessage: ").size());
    CHECK(out.request_id() == c.request_id);
    CHECK(out.body_case() == gwv1::ClientMessage::BODY_NOT_SET);
  }
}

TEST_CASE("bytes that are not a protobuf ClientMessage are BAD_REQUEST") {
  const std::string cases[] = {
      std::string("\xff\xff\xff\xff", 4),            // invalid tag
      std::string("\x08\x05\x1a\x10\x0a", 5),        // request_id 5, then a truncated Subscribe
      std::string("\x08", 1),                        // truncated varint
      std::string("\x12\x03\x0a\x01\xff", 5),        // Auth token that is not UTF-8
  };
  for (const std::string& bytes : cases) {
    gwv1::ClientMessage out;
    const DecodeResult r = decode(Encoding::Proto, bytes, out);
    CHECK(r.code == gwv1::ERROR_CODE_BAD_REQUEST);
    CHECK_THAT(r.message, Catch::Contains("invalid protobuf"));
    CHECK(out.body_case() == gwv1::ClientMessage::BODY_NOT_SET);
  }
  gwv1::ClientMessage out;
  CHECK_FALSE(decode(Encoding::Proto, cases[1], out).ok());
  CHECK(out.request_id() == 5); // still echoed
}

TEST_CASE("a message with no operation this server knows is UNKNOWN_OPERATION, echoing request_id") {
  gwv1::ClientMessage out;
  SECTION("proto: only request_id") {
    gwv1::ClientMessage m;
    m.set_request_id(42);
    const DecodeResult r = decode(Encoding::Proto, encodeClient(Encoding::Proto, m), out);
    CHECK(r.code == gwv1::ERROR_CODE_UNKNOWN_OPERATION);
    CHECK(out.request_id() == 42);
  }
  SECTION("proto: an operation from a newer version (field 20)") {
    // request_id 43, then field 20 length-delimited with 2 bytes.
    const std::string bytes("\x08\x2b\xa2\x01\x02\x08\x01", 7);
    const DecodeResult r = decode(Encoding::Proto, bytes, out);
    CHECK(r.code == gwv1::ERROR_CODE_UNKNOWN_OPERATION);
    CHECK(out.request_id() == 43);
  }
  SECTION("JSON: only requestId") {
    const DecodeResult r = decode(Encoding::Json, R"({"requestId":44})", out);
    CHECK(r.code == gwv1::ERROR_CODE_UNKNOWN_OPERATION);
    CHECK(out.request_id() == 44);
  }
  SECTION("JSON: an operation from a newer version") {
    const DecodeResult r =
        decode(Encoding::Json, R"({"requestId":45,"subscribeOptions":{"depth":5}})", out);
    CHECK(r.code == gwv1::ERROR_CODE_UNKNOWN_OPERATION);
    CHECK_THAT(r.message, Catch::Contains("subscribeOptions"));
    CHECK(out.request_id() == 45);
  }
  SECTION("JSON: empty object") {
    CHECK(decode(Encoding::Json, "{}", out).code == gwv1::ERROR_CODE_UNKNOWN_OPERATION);
  }
}

TEST_CASE("invalid fields are BAD_REQUEST naming the field and symbol, in both encodings") {
  struct Case {
    const char* what;
    gwv1::ClientMessage message;
    std::string field;  // expected in the message
    std::string symbol; // expected in DecodeResult::symbol
  };
  std::vector<Case> cases;
  auto subscribe = [](std::initializer_list<const char*> symbols) {
    gwv1::ClientMessage m;
    m.set_request_id(9);
    m.mutable_subscribe(); // present even with no subscriptions
    for (const char* s : symbols) {
      m.mutable_subscribe()->add_subscriptions()->set_symbol(s);
    }
    return m;
  };
  cases.push_back({"empty symbol", subscribe({"AAPL", ""}), "subscribe.subscriptions[1].symbol", ""});
  cases.push_back({"lower case", subscribe({"aapl"}), "subscribe.subscriptions[0].symbol", "aapl"});
  cases.push_back({"17 characters", subscribe({"ABCDEFGHIJKLMNOPQ"}),
                   "subscribe.subscriptions[0].symbol", "ABCDEFGHIJKLMNOPQ"});
  cases.push_back({"space", subscribe({"BRK A"}), "subscribe.subscriptions[0].symbol", "BRK A"});
  cases.push_back({"non-ASCII", subscribe({"\xc3\x84PPL"}), "subscribe.subscriptions[0].symbol",
                   "\xc3\x84PPL"});
  cases.push_back({"duplicate", subscribe({"MSFT", "AAPL", "MSFT"}), "MSFT appears twice", "MSFT"});
  cases.push_back({"no subscriptions", subscribe({}), "subscribe.subscriptions: empty", ""});
  {
    gwv1::ClientMessage m = subscribe({"AAPL", "MSFT"});
    m.mutable_subscribe()->mutable_subscriptions(1)->add_modes(mdv1::MODE_TRADES);
    m.mutable_subscribe()->mutable_subscriptions(1)->add_modes(mdv1::MODE_UNSPECIFIED);
    cases.push_back({"MODE_UNSPECIFIED", m, "subscribe.subscriptions[1].modes[1]", "MSFT"});
  }
  {
    gwv1::ClientMessage m = subscribe({"AAPL"});
    m.mutable_subscribe()->mutable_subscriptions(0)->add_modes(static_cast<mdv1::Mode>(9));
    cases.push_back({"mode from a newer version", m, "subscribe.subscriptions[0].modes[0]", "AAPL"});
  }
  {
    gwv1::ClientMessage m;
    m.mutable_auth();
    cases.push_back({"empty token", m, "auth.token", ""});
  }
  {
    gwv1::ClientMessage m;
    m.mutable_unsubscribe()->add_symbols("AAPL");
    m.mutable_unsubscribe()->add_symbols("A*");
    cases.push_back({"unsubscribe symbol", m, "unsubscribe.symbols[1]", "A*"});
  }
  {
    gwv1::ClientMessage m;
    m.mutable_resume()->add_positions()->set_symbol("aapl");
    cases.push_back({"resume symbol", m, "resume.positions[0].symbol", "aapl"});
  }
  {
    gwv1::ClientMessage m;
    m.mutable_resume()->add_positions()->set_symbol("AAPL");
    m.mutable_resume()->add_positions()->set_symbol("AAPL");
    cases.push_back({"resume duplicate", m, "AAPL appears twice", "AAPL"});
  }

  for (Encoding e : {Encoding::Json, Encoding::Proto}) {
    for (const Case& c : cases) {
      INFO(name(e) << ": " << c.what);
      gwv1::ClientMessage out;
      const DecodeResult r = decode(e, encodeClient(e, c.message), out);
      CHECK(r.code == gwv1::ERROR_CODE_BAD_REQUEST);
      CHECK_THAT(r.message, Catch::Contains(c.field));
      CHECK(r.symbol == c.symbol);
      CHECK(out.request_id() == c.message.request_id());
    }
  }
}

TEST_CASE("a long bad symbol is echoed cut short, at a UTF-8 character boundary") {
  gwv1::ClientMessage m;
  std::string symbol(63, 'x');
  symbol += "\xc3\xa9\xc3\xa9"; // é straddles the 64-byte cut
  m.mutable_subscribe()->add_subscriptions()->set_symbol(symbol);
  gwv1::ClientMessage out;
  const DecodeResult r = decode(Encoding::Proto, encodeClient(Encoding::Proto, m), out);
  CHECK(r.code == gwv1::ERROR_CODE_BAD_REQUEST);
  CHECK(r.symbol == std::string(63, 'x') + "...");
  // The echo must be encodable: an Error with it serialises in both encodings.
  gwv1::ServerMessage err;
  err.mutable_error()->set_symbol(r.symbol);
  err.mutable_error()->set_message(r.message);
  std::string bytes;
  encodeServer(Encoding::Json, err, bytes);
  gwv1::ServerMessage back;
  CHECK(parseServer(Encoding::Json, bytes, back));
}

TEST_CASE("symbols are 1-16 characters of A-Z 0-9 . -") {
  using tickstream::gateway::validSymbol;
  CHECK(validSymbol("A"));
  CHECK(validSymbol("BRK.B"));
  CHECK(validSymbol("ABC-W1"));
  CHECK(validSymbol("ABCDEFGHIJKLMNOP"));
  CHECK_FALSE(validSymbol(""));
  CHECK_FALSE(validSymbol("ABCDEFGHIJKLMNOPQ"));
  CHECK_FALSE(validSymbol("Aapl"));
  CHECK_FALSE(validSymbol("A_B"));
  CHECK_FALSE(validSymbol(std::string_view("A\0B", 3)));
}

// ---------------------------------------------------------------------------------------------

TEST_CASE("maskOf treats empty as all and modesOf lists a mask's modes") {
  google::protobuf::RepeatedField<int> modes;
  CHECK(maskOf(modes) == kAllModes);
  modes.Add(mdv1::MODE_DEPTH);
  CHECK(maskOf(modes) == kDepth);
  modes.Add(mdv1::MODE_TRADES);
  modes.Add(mdv1::MODE_DEPTH);
  CHECK(maskOf(modes) == (kDepth | kTrades));
  modes.Add(mdv1::MODE_QUOTE);
  modes.Add(mdv1::MODE_BARS);
  CHECK(maskOf(modes) == kAllModes);

  google::protobuf::RepeatedField<int> listed;
  modesOf(kAllModes, listed);
  CHECK(std::vector<int>(listed.begin(), listed.end()) ==
        std::vector<int>{mdv1::MODE_TRADES, mdv1::MODE_QUOTE, mdv1::MODE_DEPTH, mdv1::MODE_BARS});
  modesOf(kBars | kQuote, listed);
  CHECK(std::vector<int>(listed.begin(), listed.end()) ==
        std::vector<int>{mdv1::MODE_QUOTE, mdv1::MODE_BARS});
  for (unsigned mask = 0; mask < 16; ++mask) {
    modesOf(static_cast<ModeMask>(mask), listed);
    if (mask != 0) {
      CHECK(maskOf(listed) == mask);
    }
  }
}

TEST_CASE("filtering keeps the parts a mask selects, status always, the internal fields never") {
  const mdv1::MarketDataUpdate u = fullUpdate();
  for (unsigned m = 0; m < 16; ++m) {
    const auto mask = static_cast<ModeMask>(m);
    INFO("mask " << m);
    mdv1::MarketDataUpdate f;
    filterUpdate(u, mask, f);
    CHECK(f.symbol() == "AAPL");
    CHECK(f.seq() == u.seq());
    CHECK(f.exchange_ts_ns() == u.exchange_ts_ns());
    CHECK(f.receive_ts_ns() == u.receive_ts_ns());
    CHECK(f.publish_ts_ns() == u.publish_ts_ns());
    CHECK(f.conflated() == 3);
    CHECK(f.raw_next_offset() == 0);
    CHECK(f.rate_cap_hold_ns() == 0);
    CHECK(f.has_trade() == ((mask & kTrades) != 0));
    CHECK(f.trade_breaks_size() == ((mask & kTrades) != 0 ? 1 : 0));
    CHECK(f.has_quote() == ((mask & kQuote) != 0));
    CHECK(f.has_depth() == ((mask & kDepth) != 0));
    CHECK(f.bars_size() == ((mask & kBars) != 0 ? 2 : 0));
    CHECK(f.has_status());
    if (f.has_depth()) {
      CHECK(MessageDifferencer::Equals(f.depth(), u.depth()));
    }
  }
  // All modes: everything but the internal raw_next_offset and rate_cap_hold_ns.
  mdv1::MarketDataUpdate all;
  filterUpdate(u, kAllModes, all);
  mdv1::MarketDataUpdate want = u;
  want.clear_raw_next_offset();
  want.clear_rate_cap_hold_ns();
  CHECK(MessageDifferencer::Equals(all, want));
}

TEST_CASE("filterUpdate and filterSnapshot know every field of the contract") {
  // A field added to MarketDataUpdate or SymbolSnapshot is not forwarded until filterUpdate /
  // filterSnapshot copy it: when this fails, decide whether clients get the new field.
  CHECK(mdv1::MarketDataUpdate::descriptor()->field_count() == 14);
  CHECK(mdv1::SymbolSnapshot::descriptor()->field_count() == 19);
}

TEST_CASE("snapshots are filtered like updates and keep session statistics") {
  const mdv1::SymbolSnapshot s = fullSnapshot();
  for (unsigned m = 0; m < 16; ++m) {
    const auto mask = static_cast<ModeMask>(m);
    INFO("mask " << m);
    mdv1::SymbolSnapshot f;
    filterSnapshot(s, mask, f);
    CHECK(f.raw_next_offset() == 0);
    CHECK(f.has_last_trade() == ((mask & kTrades) != 0));
    CHECK(f.has_quote() == ((mask & kQuote) != 0));
    CHECK(f.has_depth() == ((mask & kDepth) != 0));
    CHECK(f.current_bars_size() == ((mask & kBars) != 0 ? 2 : 0));
    CHECK(f.has_status());
    CHECK(f.trading_day() == "2024-01-02");
    CHECK(f.last_seq() == s.last_seq());
    CHECK(f.session_volume() == s.session_volume());
    CHECK(f.session_vwap() == s.session_vwap());
    CHECK(f.session_open() == s.session_open());
    CHECK(f.session_high() == s.session_high());
    CHECK(f.session_low() == s.session_low());
    CHECK(f.session_close() == s.session_close());
    CHECK(f.session_trade_count() == s.session_trade_count());
    CHECK(f.publish_ts_ns() == s.publish_ts_ns());
  }
  mdv1::SymbolSnapshot all;
  filterSnapshot(s, kAllModes, all);
  mdv1::SymbolSnapshot want = s;
  want.clear_raw_next_offset();
  CHECK(MessageDifferencer::Equals(all, want));

  for (Encoding e : {Encoding::Json, Encoding::Proto}) {
    INFO(name(e));
    std::string bytes;
    encodeSnapshot(e, kQuote, s, /*resync=*/true, /*request_id=*/77, bytes);
    gwv1::ServerMessage back;
    REQUIRE(parseServer(e, bytes, back));
    CHECK(back.request_id() == 77);
    REQUIRE(back.has_snapshot());
    CHECK(back.snapshot().resync());
    CHECK(back.snapshot().snapshot().has_quote());
    CHECK_FALSE(back.snapshot().snapshot().has_last_trade());
    CHECK(back.snapshot().snapshot().raw_next_offset() == 0);
    CHECK(bytes.find("rawNextOffset") == std::string::npos);
  }
}

TEST_CASE("server messages in JSON use camelCase, enum names, 64-bit strings, no whitespace") {
  gwv1::ServerMessage m;
  m.set_request_id(1);
  gwv1::Welcome* w = m.mutable_welcome();
  w->set_shard_id(2);
  w->set_shard_count(4);
  w->set_server_ts_ns(1'704'200'000'000'000'000LL);
  w->mutable_limits()->set_max_symbols(500);
  w->set_connection_id("c-1");
  std::string out = "stale contents";
  encodeServer(Encoding::Json, m, out);
  CHECK(out == R"({"requestId":1,"welcome":{"shardId":2,"shardCount":4,)"
               R"("serverTsNs":"1704200000000000000","limits":{"maxSymbols":500},)"
               R"("connectionId":"c-1"}})");

  gwv1::ServerMessage e;
  e.set_request_id(3);
  e.mutable_error()->set_code(gwv1::ERROR_CODE_WRONG_SHARD);
  e.mutable_error()->set_symbol("AAPL");
  e.mutable_error()->set_shard_id(1);
  encodeServer(Encoding::Json, e, out);
  CHECK(out == R"({"requestId":3,"error":{"code":"ERROR_CODE_WRONG_SHARD","symbol":"AAPL",)"
               R"("shardId":1}})");

  encodeServer(Encoding::Proto, e, out);
  gwv1::ServerMessage back;
  REQUIRE(back.ParseFromString(out));
  CHECK(MessageDifferencer::Equals(back, e));
}

// ---------------------------------------------------------------------------------------------

TEST_CASE("pieces() concatenate to a ServerMessage equal to the filtered update, every variant") {
  auto update = std::make_shared<const mdv1::MarketDataUpdate>(fullUpdate());
  UpdateFrames frames(update);
  for (Encoding e : {Encoding::Json, Encoding::Proto}) {
    for (unsigned m = 0; m < 16; ++m) {
      for (uint64_t skipped : {uint64_t{0}, uint64_t{1}, uint64_t{1} << 40, UINT64_MAX}) {
        const auto mask = static_cast<ModeMask>(m);
        INFO(name(e) << " mask " << m << " skipped " << skipped);
        const Pieces p = frames.pieces(e, mask, skipped);
        const std::string bytes = concat(p);
        CHECK(p.size() == bytes.size());

        const gwv1::ServerMessage want = expectedUpdate(*update, mask, skipped);
        gwv1::ServerMessage got;
        REQUIRE(parseServer(e, bytes, got));
        CHECK(MessageDifferencer::Equals(got, want));
        CHECK(got.update().update().raw_next_offset() == 0);
        if (e == Encoding::Json) {
          CHECK(bytes.find("rawNextOffset") == std::string::npos);
        } else {
          CHECK(got.update().update().GetReflection()->GetUnknownFields(got.update().update())
                    .empty());
        }
        // Byte for byte what protobuf itself would have produced for the whole message.
        std::string whole;
        encodeServer(e, want, whole);
        CHECK(bytes == whole);
      }
    }
  }
}

TEST_CASE("pieces() of a large update use multi-byte lengths correctly") {
  mdv1::MarketDataUpdate u = fullUpdate();
  for (int i = 0; i < 2000; ++i) { // a body well past 16 KiB: 3-byte length varints
    mdv1::PriceLevel* l = u.mutable_depth()->add_bids();
    l->set_price(1'000'000 - i);
    l->set_size(1'000'000'000LL + i);
    l->set_order_count(static_cast<uint32_t>(i));
  }
  UpdateFrames frames(std::make_shared<const mdv1::MarketDataUpdate>(u));
  for (Encoding e : {Encoding::Json, Encoding::Proto}) {
    const Pieces p = frames.pieces(e, kAllModes, 300);
    CHECK(p.body().size() > 16'384);
    gwv1::ServerMessage got;
    REQUIRE(parseServer(e, concat(p), got));
    CHECK(MessageDifferencer::Equals(got, expectedUpdate(u, kAllModes, 300)));
  }
}

namespace {

// What a client that skipped nothing must receive: a data frame (text for JSON) around pieces().
std::string frameOf(Encoding e, const Pieces& p) {
  std::array<uint8_t, tickstream::ws::kMaxServerHeaderSize> h{};
  const std::size_t n = tickstream::ws::writeHeader(
      h.data(), e == Encoding::Json ? tickstream::ws::Opcode::Text : tickstream::ws::Opcode::Binary,
      p.size());
  return std::string(reinterpret_cast<const char*>(h.data()), n) + concat(p);
}

} // namespace

TEST_CASE("frame() and writeFrame() are the whole WebSocket frame of pieces(), every variant") {
  auto update = std::make_shared<const mdv1::MarketDataUpdate>(fullUpdate());
  UpdateFrames frames(update);
  for (Encoding e : {Encoding::Json, Encoding::Proto}) {
    for (unsigned m = 0; m < 16; ++m) {
      const auto mask = static_cast<ModeMask>(m);
      INFO(name(e) << " mask " << m);
      CHECK(frames.frame(e, mask) == frameOf(e, frames.pieces(e, mask, 0)));
      for (uint64_t skipped : {uint64_t{0}, uint64_t{1}, uint64_t{300}, UINT64_MAX}) {
        std::string out(frames.maxFrameSize(e, mask), '\0');
        out.resize(frames.writeFrame(e, mask, skipped, out.data()));
        CHECK(out == frameOf(e, frames.pieces(e, mask, skipped)));
      }
      // The body is the middle of the frame: one encoding per variant.
      const std::string_view f = frames.frame(e, mask);
      const std::string_view b = frames.body(e, mask);
      CHECK(b.data() > f.data());
      CHECK(b.data() + b.size() <= f.data() + f.size());
    }
  }
  // A large body: 2- and 8-byte WebSocket lengths and multi-byte varints.
  mdv1::MarketDataUpdate u = fullUpdate();
  for (int i = 0; i < 6000; ++i) {
    mdv1::PriceLevel* l = u.mutable_depth()->add_asks();
    l->set_price(1'000'000 + i);
    l->set_size(1'000'000'000LL + i);
  }
  UpdateFrames large(std::make_shared<const mdv1::MarketDataUpdate>(u));
  for (Encoding e : {Encoding::Json, Encoding::Proto}) {
    CHECK(large.frame(e, kAllModes).size() > 65'536);
    CHECK(large.frame(e, kAllModes) == frameOf(e, large.pieces(e, kAllModes, 0)));
    std::string out(large.maxFrameSize(e, kAllModes), '\0');
    out.resize(large.writeFrame(e, kAllModes, 1ULL << 40, out.data()));
    CHECK(out == frameOf(e, large.pieces(e, kAllModes, 1ULL << 40)));
  }
}

TEST_CASE("JSON pieces splice the documented prefix and suffix around the shared body") {
  mdv1::MarketDataUpdate u;
  u.set_symbol("AAPL");
  u.set_seq(5);
  u.set_raw_next_offset(10);
  u.mutable_trade()->set_price(1'234'500);
  UpdateFrames frames(std::make_shared<const mdv1::MarketDataUpdate>(u));
  Pieces p = frames.pieces(Encoding::Json, kAllModes, 0);
  CHECK(p.prefix() == R"({"update":{"update":)");
  CHECK(p.body() == R"({"symbol":"AAPL","seq":"5","trade":{"price":"1234500"}})");
  CHECK(p.suffix() == "}}");
  p = frames.pieces(Encoding::Json, kAllModes, 12);
  CHECK(p.suffix() == R"(,"skippedByConflation":"12"}})");
  const Pieces copy = p; // views of a copy point into the copy
  CHECK(copy.suffix().data() != p.suffix().data());
  CHECK(copy.suffix() == p.suffix());
}

TEST_CASE("clients with the same encoding and modes share one encoded body") {
  UpdateFrames frames(std::make_shared<const mdv1::MarketDataUpdate>(fullUpdate()));
  const Pieces a = frames.pieces(Encoding::Proto, kTrades | kQuote, 0);
  const Pieces b = frames.pieces(Encoding::Proto, kTrades | kQuote, 17);
  CHECK(a.body().data() == b.body().data());
  CHECK(a.body().size() == b.body().size());
  CHECK(a.suffix() != b.suffix());

  const Pieces c = frames.pieces(Encoding::Proto, kTrades, 0);
  const Pieces d = frames.pieces(Encoding::Json, kTrades | kQuote, 0);
  CHECK(c.body().data() != a.body().data());
  CHECK(d.body().data() != a.body().data());

  // Adding more variants does not move bodies already handed out.
  const std::string a_body(a.body());
  for (unsigned m = 0; m < 16; ++m) {
    (void)frames.body(Encoding::Json, static_cast<ModeMask>(m));
    (void)frames.body(Encoding::Proto, static_cast<ModeMask>(m));
  }
  CHECK(frames.pieces(Encoding::Proto, kTrades | kQuote, 1).body().data() == a.body().data());
  CHECK(a.body() == a_body);
  CHECK(frames.body(Encoding::Json, kTrades | kQuote).data() == d.body().data());
}

TEST_CASE("pieces() allocates nothing once its variant is encoded") {
  UpdateFrames frames(std::make_shared<const mdv1::MarketDataUpdate>(fullUpdate()));
  (void)frames.pieces(Encoding::Json, kAllModes, 0);
  (void)frames.pieces(Encoding::Proto, kQuote, 0);

  std::size_t total = 0;
  const std::size_t before = g_allocations.load();
  for (uint64_t i = 0; i < 1000; ++i) {
    const Pieces j = frames.pieces(Encoding::Json, kAllModes, i << 30);
    const Pieces p = frames.pieces(Encoding::Proto, kQuote, i << 30);
    total += j.size() + p.size();
  }
  const std::size_t after = g_allocations.load();
  CHECK(after - before == 0);
  CHECK(total > 0);

  // The counter does see allocations: encoding a new variant makes some.
  const std::size_t before_new = g_allocations.load();
  (void)frames.pieces(Encoding::Json, kTrades, 0);
  CHECK(g_allocations.load() > before_new);
}

TEST_CASE("empty(): nothing left after filtering but the envelope") {
  mdv1::MarketDataUpdate quote_only;
  quote_only.set_symbol("AAPL");
  quote_only.set_seq(1);
  quote_only.mutable_quote()->set_bid_price(1);
  UpdateFrames q(std::make_shared<const mdv1::MarketDataUpdate>(quote_only));
  CHECK(q.empty(kTrades));
  CHECK(q.empty(kTrades | kDepth | kBars));
  CHECK(q.empty(0));
  CHECK_FALSE(q.empty(kQuote));
  CHECK_FALSE(q.empty(kAllModes));

  mdv1::MarketDataUpdate halt = quote_only;
  halt.mutable_status()->set_state(mdv1::TRADING_STATE_HALTED);
  UpdateFrames h(std::make_shared<const mdv1::MarketDataUpdate>(halt));
  for (unsigned m = 0; m < 16; ++m) {
    CHECK_FALSE(h.empty(static_cast<ModeMask>(m))); // status always goes through
  }

  mdv1::MarketDataUpdate bars_only;
  bars_only.set_symbol("AAPL");
  bars_only.add_bars()->set_close(5);
  UpdateFrames b(std::make_shared<const mdv1::MarketDataUpdate>(bars_only));
  CHECK(b.empty(kTrades | kQuote | kDepth));
  CHECK_FALSE(b.empty(kBars));

  mdv1::MarketDataUpdate envelope_only;
  envelope_only.set_symbol("AAPL");
  envelope_only.set_seq(2);
  envelope_only.set_raw_next_offset(7);
  UpdateFrames n(std::make_shared<const mdv1::MarketDataUpdate>(envelope_only));
  CHECK(n.empty(kAllModes));

  UpdateFrames full(std::make_shared<const mdv1::MarketDataUpdate>(fullUpdate()));
  for (unsigned m = 0; m < 16; ++m) {
    CHECK_FALSE(full.empty(static_cast<ModeMask>(m)));
  }
}
