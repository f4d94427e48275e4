#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "samples.h"
#include "tickstream/itch/codec.h"

using namespace tickstream::itch;
using tickstream::itch::test::everyMessageType;

namespace {

std::vector<uint8_t> encoded(const Message& m) {
  std::vector<uint8_t> out(kMaxMessageLength);
  out.resize(encode(m, out));
  return out;
}

} // namespace

TEST_CASE("every ITCH 5.0 message type round-trips through encode and decode") {
  const auto all = everyMessageType();
  std::set<char> types;
  for (const auto& m : all) {
    const char type = messageType(m);
    INFO("type " << type);
    types.insert(type);
    const auto bytes = encoded(m);
    REQUIRE(bytes.size() == messageLength(type));
    CHECK(static_cast<char>(bytes[0]) == type);
    Message back;
    REQUIRE(decode(bytes, back) == DecodeStatus::Ok);
    CHECK(back == m);
  }
  CHECK(types.size() == 23); // the spec's full set, no duplicates
}

TEST_CASE("each message type is accepted only at its exact spec length") {
  struct Row {
    char type;
    std::size_t length;
  };
  // The lengths as published in the ITCH 5.0 specification.
  const std::array<Row, 23> spec{{{'S', 12}, {'R', 39}, {'H', 25}, {'Y', 20}, {'L', 26},
                                  {'V', 35}, {'W', 12}, {'K', 28}, {'J', 35}, {'h', 21},
                                  {'A', 36}, {'F', 40}, {'E', 31}, {'C', 36}, {'X', 23},
                                  {'D', 19}, {'U', 35}, {'P', 44}, {'Q', 40}, {'B', 19},
                                  {'I', 50}, {'N', 20}, {'O', 48}}};
  for (const auto& m : everyMessageType()) {
    const char type = messageType(m);
    INFO("type " << type);
    const auto* row = std::find_if(spec.begin(), spec.end(), [&](const Row& r) { return r.type == type; });
    REQUIRE(row != spec.end());
    CHECK(messageLength(type) == row->length);

    auto bytes = encoded(m);
    REQUIRE(bytes.size() == row->length);
    Message out;

    const std::span<const uint8_t> whole(bytes);
    CHECK(decode(whole.first(row->length - 1), out) == DecodeStatus::Truncated);
    CHECK(decode(whole.first(1), out) == DecodeStatus::Truncated);
    bytes.push_back(0);
    CHECK(decode(bytes, out) == DecodeStatus::BadLength);
    bytes.resize(bytes.size() + 20, ' ');
    CHECK(decode(bytes, out) == DecodeStatus::BadLength);
  }
}

TEST_CASE("decode rejects an empty buffer and unknown type bytes") {
  Message out;
  CHECK(decode({}, out) == DecodeStatus::Truncated);
  std::set<char> known;
  for (const auto& m : everyMessageType()) {
    known.insert(messageType(m));
  }
  std::array<uint8_t, 64> buf{};
  for (int b = 0; b < 256; ++b) {
    buf[0] = static_cast<uint8_t>(b);
    if (known.count(static_cast<char>(b)) != 0) {
      continue;
    }
    INFO("byte " << b);
    CHECK(messageLength(static_cast<char>(b)) == 0);
    CHECK(decode(std::span<const uint8_t>(buf).first(36), out) == DecodeStatus::UnknownType);
  }
}

TEST_CASE("decode leaves the output untouched when a message is rejected") {
  Message out = OrderDelete{1, 2, 3, 4};
  const Message before = out;
  auto bytes = encoded(AddOrder{24, 12, 1000, 7, 'X', 1, *makeSymbol("A"), 1});
  CHECK(decode(bytes, out) == DecodeStatus::BadField);
  CHECK(out == before);
}

TEST_CASE("decode reports BadField for values outside the spec's enumerations") {
  using test::sym;
  auto expectBad = [](const Message& m) {
    INFO("type " << messageType(m));
    Message out;
    CHECK(decode(encoded(m), out) == DecodeStatus::BadField);
  };
  expectBad(SystemEvent{0, 0, 1, 'X'});
  expectBad(AddOrder{1, 0, 1, 1, 'b', 1, sym("A"), 1});
  expectBad(AddOrderMpid{1, 0, 1, 1, 'S', 1, sym("A"), 1, {'M', 'S', '\t', 'O'}});
  expectBad(Trade{1, 0, 1, 1, 'Z', 1, sym("A"), 1, 1});
  expectBad(OrderExecutedWithPrice{1, 0, 1, 1, 1, 1, 'y', 1});
  expectBad(StockTradingAction{1, 0, 1, sym("A"), 'X', ' ', {' ', ' ', ' ', ' '}});
  expectBad(RegSho{1, 0, 1, sym("A"), '3'});
  expectBad(MwcbStatus{0, 0, 1, '4'});
  expectBad(OperationalHalt{1, 0, 1, sym("A"), 'Z', 'H'});
  expectBad(CrossTrade{1, 0, 1, 1, sym("A"), 1, 1, 'A'});
  expectBad(Noii{1, 0, 1, 1, 1, 'B', sym("A"), 1, 1, 1, 'I', ' '});
  expectBad(Rpii{1, 0, 1, sym("A"), 'X'});
  expectBad(DirectListingCapitalRaise{1, 0, 1, sym("A"), 'y', 0, 0, 0, 0, 0, 0});
  // A stock with a NUL in it, and a timestamp of 24:00:00 or later.
  expectBad(OrderDelete{1, 0, kNanosPerDay, 1});
  Symbol nul = sym("AB");
  nul[2] = '\0';
  expectBad(AddOrder{1, 0, 1, 1, 'B', 1, nul, 1});
  StockDirectory sd;
  sd.luld_reference_price_tier = '3';
  expectBad(sd);
  // The last nanosecond of the day is still valid.
  Message out;
  CHECK(decode(encoded(OrderDelete{1, 0, kNanosPerDay - 1, 1}), out) == DecodeStatus::Ok);
}

TEST_CASE("encode returns 0 when the buffer is one byte short and writes nothing past it") {
  for (const auto& m : everyMessageType()) {
    const std::size_t len = messageLength(messageType(m));
    std::vector<uint8_t> buf(len + 1, 0xee);
    CHECK(encode(m, std::span<uint8_t>(buf).first(len - 1)) == 0);
    CHECK(encode(m, std::span<uint8_t>(buf).first(len)) == len);
    CHECK(buf[len] == 0xee);
  }
}

TEST_CASE("random bytes never crash decode nor decode Ok at a length other than the type's") {
  std::mt19937_64 rng(20240611);
  std::uniform_int_distribution<int> lenDist(0, 64);
  std::uniform_int_distribution<int> byteDist(0, 255);
  // Half the inputs start with a real type byte, so the length and field checks get exercised
  // rather than just the unknown-type path.
  const std::string types = "SRHYLVWKJhAFECXDUPQBINO";
  std::array<uint8_t, 64> buf{};
  int ok = 0;
  for (int i = 0; i < 100'000; ++i) {
    const auto len = static_cast<std::size_t>(lenDist(rng));
    for (std::size_t j = 0; j < len; ++j) {
      buf[j] = static_cast<uint8_t>(byteDist(rng));
    }
    if (len > 0 && (i & 1) == 0) {
      buf[0] = static_cast<uint8_t>(types[static_cast<std::size_t>(i / 2) % types.size()]);
    }
    Message out;
    const auto status = decode(std::span<const uint8_t>(buf.data(), len), out);
    if (status == DecodeStatus::Ok) {
      ++ok;
      REQUIRE(len == messageLength(static_cast<char>(buf[0])));
      REQUIRE(messageType(out) == static_cast<char>(buf[0]));
      // What decoded must encode back to the same bytes.
      std::array<uint8_t, kMaxMessageLength> again{};
      REQUIRE(encode(out, again) == len);
      REQUIRE(std::equal(again.begin(), again.begin() + static_cast<std::ptrdiff_t>(len),
                         buf.begin()));
    }
  }
  // Types without enumerated fields (Order Delete, Broken Trade, ...) decode from random bodies
  // now and then; if none ever did, the loop above would prove nothing.
  CHECK(ok > 0);
}

TEST_CASE("symbol trims right padding and makeSymbol pads, refusing what does not fit") {
  CHECK(symbol(*makeSymbol("AAPL")) == "AAPL");
  CHECK(symbol(*makeSymbol("")) == "");
  CHECK(symbol(*makeSymbol("ABCDEFGH")) == "ABCDEFGH");
  const Symbol padded{'B', 'R', 'K', ' ', 'A', ' ', ' ', ' '};
  CHECK(symbol(padded) == "BRK A"); // only the right side is padding
  CHECK(*makeSymbol("AAPL") == Symbol{'A', 'A', 'P', 'L', ' ', ' ', ' ', ' '});
  CHECK_FALSE(makeSymbol("ABCDEFGHI").has_value());
  CHECK_FALSE(makeSymbol(std::string_view("A\nB")).has_value());
  CHECK(trimRight(*padRight<4>("GS")) == "GS");
}
