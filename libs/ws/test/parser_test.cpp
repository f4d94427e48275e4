#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <vector>

#include "client_frames.h"
#include "tickstream/ws/frame.h"
#include "tickstream/ws/parser.h"
#include "tickstream/ws/utf8.h"

using namespace tickstream::ws;
using namespace tickstream::ws::test;

namespace {

Seen text(std::string s) { return {EventType::Text, std::move(s), 1005, ""}; }
Seen binary(std::string s) { return {EventType::Binary, std::move(s), 1005, ""}; }
Seen ping(std::string s) { return {EventType::Ping, std::move(s), 1005, ""}; }
Seen pong(std::string s) { return {EventType::Pong, std::move(s), 1005, ""}; }
Seen closed(uint16_t code, std::string reason) {
  return {EventType::Close, reason, code, reason};
}

// The single event a stream produces, fed whole.
Seen only(const Bytes& stream, FrameParserConfig config = {}) {
  FrameParser parser(config);
  const auto events = feedWhole(parser, stream);
  REQUIRE(events.size() == 1);
  return events[0];
}

std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) {
    s[i] = static_cast<char>('a' + i % 26);
  }
  return s;
}

// Every RFC 6455 section 5.7 example as a client would send it, plus a close: one stream.
Bytes rfcStream(std::vector<Seen>& expected) {
  Bytes s;
  // A single-frame masked text message (the RFC's own bytes).
  append(s, {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58});
  expected.push_back(text("Hello"));
  // A fragmented text message with a ping between the fragments.
  append(s, clientFrame(Opcode::Text, "Hel", false));
  append(s, clientFrame(Opcode::Ping, "Hello"));
  append(s, clientFrame(Opcode::Continuation, "lo"));
  expected.push_back(ping("Hello"));
  expected.push_back(text("Hello"));
  // Masked Pong "Hello" (the RFC's own bytes).
  append(s, {0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58});
  expected.push_back(pong("Hello"));
  // 256 bytes and 64 KiB binary messages: 16- and 64-bit lengths.
  append(s, clientFrame(Opcode::Binary, pattern(256)));
  expected.push_back(binary(pattern(256)));
  append(s, clientFrame(Opcode::Binary, pattern(65536), true, {0x01, 0x02, 0x03, 0x04}));
  expected.push_back(binary(pattern(65536)));
  // Empty messages and an empty ping.
  append(s, clientFrame(Opcode::Text, ""));
  expected.push_back(text(""));
  append(s, clientFrame(Opcode::Ping, ""));
  expected.push_back(ping(""));
  append(s, clientFrame(Opcode::Binary, "", false));
  append(s, clientFrame(Opcode::Continuation, "", false));
  append(s, clientFrame(Opcode::Continuation, ""));
  expected.push_back(binary(""));
  append(s, clientFrame(Opcode::Close, closePayload(1000, "done")));
  expected.push_back(closed(1000, "done"));
  return s;
}

} // namespace

TEST_CASE("parser decodes the masked examples of RFC 6455 section 5.7") {
  CHECK(only({0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}) ==
        text("Hello"));
  CHECK(only({0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}) ==
        pong("Hello"));
  Bytes fragmented = clientFrame(Opcode::Text, "Hel", false);
  append(fragmented, clientFrame(Opcode::Continuation, "lo"));
  CHECK(only(fragmented) == text("Hello"));
  CHECK(only(clientFrame(Opcode::Ping, "Hello")) == ping("Hello"));
  FrameParserConfig big;
  big.maxMessageBytes = 1 << 20;
  CHECK(only(clientFrame(Opcode::Binary, pattern(256)), big) == binary(pattern(256)));
  CHECK(only(clientFrame(Opcode::Binary, pattern(65536)), big) == binary(pattern(65536)));
}

TEST_CASE("the unmasked examples of RFC 6455 section 5.7 are refused from a client with 1002") {
  const Seen e = only({0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f});
  CHECK(e.type == EventType::ProtocolError);
  CHECK(e.code == 1002);
  CHECK(e.reason == "client frame not masked");
}

TEST_CASE("same events whatever the read boundaries: whole, byte by byte, every split point") {
  std::vector<Seen> expected;
  const Bytes stream = rfcStream(expected);
  FrameParserConfig config;
  config.maxMessageBytes = 1 << 20;

  FrameParser whole(config);
  CHECK(feedWhole(whole, stream) == expected);
  CHECK(whole.finished());

  FrameParser bytewise(config);
  CHECK(feedBytewise(bytewise, stream) == expected);

  // Every split of the stream into two reads, and into three around each frame boundary region.
  std::size_t mismatches = 0;
  // Every cut near the ends (the small frames, the close), every 97th through the 64 KiB frame.
  for (std::size_t cut = 0; cut <= stream.size();
       cut += (cut < 400 || cut > stream.size() - 400) ? 1 : 97) {
    FrameParser parser(config);
    const std::size_t cuts[] = {cut};
    mismatches += feed(parser, stream, cuts) == expected ? 0 : 1;
  }
  CHECK(mismatches == 0);
  for (std::size_t a = 0; a < 120; ++a) {
    for (std::size_t b = a; b < 120; b += 3) {
      FrameParser parser(config);
      const std::size_t cuts[] = {a, b};
      mismatches += feed(parser, stream, cuts) == expected ? 0 : 1;
    }
  }
  CHECK(mismatches == 0);
}

TEST_CASE("a message in one read is unmasked in place without allocating") {
  FrameParser parser;
  Bytes stream = clientFrame(Opcode::Text, R"({"op":"subscribe","symbols":["AAPL","MSFT"]})");
  std::span<uint8_t> input(stream);
  const Event ev = parser.next(input);
  REQUIRE(ev.type == EventType::Text);
  CHECK(ev.text() == R"({"op":"subscribe","symbols":["AAPL","MSFT"]})");
  CHECK(ev.payload.data() == stream.data() + 6); // points into the caller's buffer
  CHECK(input.empty());
  CHECK(parser.heapBytes() == 0);
  CHECK(parser.atMessageBoundary());
  CHECK(parser.next(input).type == EventType::NeedMore);
}

TEST_CASE("per-connection state stays small and a split message's buffer is freed afterwards") {
  CHECK(sizeof(FrameParser) <= 80);
  FrameParser parser;
  const Bytes stream = clientFrame(Opcode::Text, pattern(1000));
  const std::size_t cuts[] = {500};
  const auto events = feed(parser, stream, cuts);
  REQUIRE(events.size() == 1);
  CHECK(events[0] == text(pattern(1000)));
  // The event's payload lives in the parser until the next call, which releases it.
  Bytes none;
  std::span<uint8_t> empty(none);
  CHECK(parser.next(empty).type == EventType::NeedMore);
  CHECK(parser.heapBytes() == 0);
  CHECK(parser.atMessageBoundary());
}

TEST_CASE("retainBufferBytes keeps a small reassembly buffer between messages") {
  FrameParserConfig config;
  config.retainBufferBytes = 4096;
  FrameParser parser(config);
  const Bytes stream = clientFrame(Opcode::Binary, pattern(1000));
  const std::size_t cuts[] = {10};
  CHECK(feed(parser, stream, cuts).size() == 1);
  Bytes none;
  std::span<uint8_t> empty(none);
  CHECK(parser.next(empty).type == EventType::NeedMore);
  CHECK(parser.heapBytes() >= 1000);
  CHECK(parser.heapBytes() <= 4096);
}

TEST_CASE("a control frame split across reads inside a fragmented message") {
  Bytes stream = clientFrame(Opcode::Text, "frag", false);
  append(stream, clientFrame(Opcode::Ping, "p1"));
  append(stream, clientFrame(Opcode::Continuation, "ment", false));
  append(stream, clientFrame(Opcode::Pong, "p2"));
  append(stream, clientFrame(Opcode::Continuation, "ed"));
  append(stream, clientFrame(Opcode::Binary, "next"));
  const std::vector<Seen> expected = {ping("p1"), pong("p2"), text("fragmented"), binary("next")};
  FrameParser parser;
  CHECK(feedBytewise(parser, stream) == expected);
  FrameParser whole;
  CHECK(feedWhole(whole, stream) == expected);
}

TEST_CASE("a text message is validated whole, so a character may straddle fragments") {
  // "€" (E2 82 AC) cut between two fragments and between two reads.
  Bytes stream = clientFrame(Opcode::Text, "price \xE2\x82", false);
  append(stream, clientFrame(Opcode::Continuation, "\xAC 12"));
  CHECK(only(stream) == text("price \xE2\x82\xAC 12"));
}

TEST_CASE("non-minimal length encodings are accepted") {
  const Bytes payload = bytesOf("hi");
  CHECK(only(rawFrame(0x81, payload, true, kRfcKey, 126)) == text("hi"));
  CHECK(only(rawFrame(0x82, payload, true, kRfcKey, 127)) == binary("hi"));
}

TEST_CASE("each protocol error closes with its code") {
  struct Case {
    const char* name;
    Bytes stream;
    uint16_t code;
  };
  const Bytes hi = bytesOf("hi");
  const Bytes big_control(126, 'x');
  Bytes continuation_first = clientFrame(Opcode::Continuation, "x");
  Bytes text_in_text = clientFrame(Opcode::Text, "a", false);
  append(text_in_text, clientFrame(Opcode::Text, "b"));
  Bytes binary_in_text = clientFrame(Opcode::Text, "a", false);
  append(binary_in_text, clientFrame(Opcode::Binary, "b"));
  Bytes continuation_after_end = clientFrame(Opcode::Text, "a");
  append(continuation_after_end, clientFrame(Opcode::Continuation, "b"));
  Bytes huge_length = {0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4};
  Bytes bad_utf8_fragmented = clientFrame(Opcode::Text, "ok", false);
  append(bad_utf8_fragmented, clientFrame(Opcode::Continuation, "\xC0\xAF"));

  const std::vector<Case> cases = {
      {"unmasked", rawFrame(0x81, hi, false), 1002},
      {"RSV1", rawFrame(0xC1, hi), 1002},
      {"RSV2", rawFrame(0xA1, hi), 1002},
      {"RSV3", rawFrame(0x91, hi), 1002},
      {"opcode 3", rawFrame(0x83, hi), 1002},
      {"opcode 7", rawFrame(0x87, hi), 1002},
      {"opcode B", rawFrame(0x8B, hi), 1002},
      {"opcode F", rawFrame(0x8F, hi), 1002},
      {"fragmented ping", rawFrame(0x09, hi), 1002},
      {"fragmented close", rawFrame(0x08, closePayload(1000)), 1002},
      {"ping over 125 bytes", rawFrame(0x89, big_control), 1002},
      {"close over 125 bytes (16-bit length)", rawFrame(0x88, big_control), 1002},
      {"continuation without a message", continuation_first, 1002},
      {"text inside a fragmented text", text_in_text, 1002},
      {"binary inside a fragmented text", binary_in_text, 1002},
      {"continuation after a final frame", continuation_after_end, 1002},
      {"64-bit length with the top bit set", huge_length, 1002},
      {"close with a 1-byte payload", clientFrame(Opcode::Close, "x"), 1002},
      {"close code 999", clientFrame(Opcode::Close, closePayload(999)), 1002},
      {"close code 1004", clientFrame(Opcode::Close, closePayload(1004)), 1002},
      {"close code 1005", clientFrame(Opcode::Close, closePayload(1005)), 1002},
      {"close code 1006", clientFrame(Opcode::Close, closePayload(1006)), 1002},
      {"close code 1015", clientFrame(Opcode::Close, closePayload(1015)), 1002},
      {"close code 2999", clientFrame(Opcode::Close, closePayload(2999)), 1002},
      {"close code 5000", clientFrame(Opcode::Close, closePayload(5000)), 1002},
      {"close reason not UTF-8", clientFrame(Opcode::Close, closePayload(1000, "\xFF")), 1007},
      {"text not UTF-8", clientFrame(Opcode::Text, "\xC3\x28"), 1007},
      {"text with a surrogate", clientFrame(Opcode::Text, "\xED\xA0\x80"), 1007},
      {"text with an overlong", clientFrame(Opcode::Text, "\xE0\x80\xAF"), 1007},
      {"text ending mid-character", clientFrame(Opcode::Text, "abc\xE2\x82"), 1007},
      {"fragmented text not UTF-8", bad_utf8_fragmented, 1007},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    for (const bool bytewise : {false, true}) {
      FrameParser parser;
      const auto events = bytewise ? feedBytewise(parser, c.stream) : feedWhole(parser, c.stream);
      // Only the last event is the error (a valid message may come before it).
      REQUIRE(!events.empty());
      for (std::size_t i = 0; i + 1 < events.size(); ++i) {
        CHECK(events[i].type != EventType::ProtocolError);
      }
      const Seen& e = events.back();
      CHECK(e.type == EventType::ProtocolError);
      CHECK(e.code == c.code);
      CHECK(!e.reason.empty());
      CHECK(e.reason.size() <= kMaxControlPayload - 2);
      CHECK(parser.finished());
      CHECK(parser.heapBytes() == 0);
    }
  }
}

TEST_CASE("a bad frame start is refused from its first two bytes") {
  for (const uint8_t b0 : {uint8_t{0xC1}, uint8_t{0x83}, uint8_t{0x09}}) {
    FrameParser parser;
    Bytes two = {b0, 0x82};
    std::span<uint8_t> input(two);
    CHECK(parser.next(input).type == EventType::ProtocolError);
  }
  FrameParser parser;
  Bytes unmasked = {0x81, 0x02};
  std::span<uint8_t> input(unmasked);
  CHECK(parser.next(input).code == CloseCode::ProtocolError);
}

TEST_CASE("after a Close or an error the parser discards input") {
  Bytes stream = clientFrame(Opcode::Close, closePayload(1001, "bye"));
  append(stream, clientFrame(Opcode::Text, "late"));
  FrameParser parser;
  CHECK(feedWhole(parser, stream) == std::vector<Seen>{closed(1001, "bye")});
  Bytes more = clientFrame(Opcode::Text, "later");
  std::span<uint8_t> input(more);
  CHECK(parser.next(input).type == EventType::NeedMore);
  CHECK(input.empty());
}

TEST_CASE("close frames: empty, code only, code and reason, application codes") {
  CHECK(only(clientFrame(Opcode::Close, "")) == Seen{EventType::Close, "", 1005, ""});
  CHECK(only(clientFrame(Opcode::Close, closePayload(1000))) == closed(1000, ""));
  CHECK(only(clientFrame(Opcode::Close, closePayload(4000, "bye \xE2\x82\xAC"))) ==
        closed(4000, "bye \xE2\x82\xAC"));
  for (const uint16_t code : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013,
                              1014, 3000, 4999}) {
    INFO(code);
    CHECK(only(clientFrame(Opcode::Close, closePayload(code))).code == code);
  }
}

TEST_CASE("message size limit: 1009 as soon as a header announces too much") {
  FrameParserConfig config;
  config.maxMessageBytes = 1000;

  CHECK(only(clientFrame(Opcode::Binary, pattern(1000)), config) == binary(pattern(1000)));

  // Refused from the header alone, before any payload arrives.
  const Bytes big = clientFrame(Opcode::Binary, pattern(1001));
  FrameParser parser(config);
  Bytes header(big.begin(), big.begin() + 8);
  std::span<uint8_t> input(header);
  const Event ev = parser.next(input);
  CHECK(ev.type == EventType::ProtocolError);
  CHECK(ev.code == CloseCode::MessageTooBig);

  // Fragments that add up to more than the limit.
  Bytes fragmented = clientFrame(Opcode::Text, pattern(600), false);
  append(fragmented, clientFrame(Opcode::Ping, "still fine"));
  append(fragmented, clientFrame(Opcode::Continuation, pattern(401)));
  FrameParser fp(config);
  const auto events = feedBytewise(fp, fragmented);
  REQUIRE(events.size() == 2);
  CHECK(events[0] == ping("still fine"));
  CHECK(events[1].type == EventType::ProtocolError);
  CHECK(events[1].code == 1009);

  // Control frames do not count towards the limit.
  Bytes exact = clientFrame(Opcode::Text, pattern(600), false);
  append(exact, clientFrame(Opcode::Ping, pattern(125)));
  append(exact, clientFrame(Opcode::Continuation, pattern(400)));
  FrameParser ep(config);
  const auto ok = feedBytewise(ep, exact);
  REQUIRE(ok.size() == 2);
  CHECK(ok[1] == text(pattern(600) + pattern(400)));

  // A length near 2^63 does not wrap the check.
  Bytes near_max = {0x82, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3, 4};
  CHECK(only(near_max, config).code == 1009);
}

TEST_CASE("memory held follows bytes received, not the length a header declares") {
  FrameParserConfig config;
  config.maxMessageBytes = 1 << 20;
  FrameParser parser(config);
  Bytes frame = clientFrame(Opcode::Binary, pattern(1 << 20));
  Bytes head(frame.begin(), frame.begin() + 14 + 10);
  std::span<uint8_t> input(head);
  CHECK(parser.next(input).type == EventType::NeedMore);
  CHECK(parser.heapBytes() < 1024);
  CHECK_FALSE(parser.atMessageBoundary());
}

TEST_CASE("random messages round-trip through the server writer, client masking and the parser") {
  std::mt19937_64 rng(20240611);
  FrameParserConfig config;
  config.maxMessageBytes = 300'000;
  const std::vector<std::string> utf8_pieces = {"a", "{\"op\":1}", "\xC3\xA9", "\xE2\x82\xAC",
                                                "\xF0\x9F\x98\x80", "\xED\x9F\xBF"};
  const std::size_t interesting[] = {0, 1, 125, 126, 127, 65535, 65536, 70000};
  for (int round = 0; round < 60; ++round) {
    Bytes stream;
    std::vector<Seen> expected;
    const int messages = 1 + static_cast<int>(rng() % 12);
    for (int m = 0; m < messages; ++m) {
      const bool is_text = rng() % 2 == 0;
      std::size_t target = rng() % 4 == 0 ? interesting[rng() % std::size(interesting)]
                                          : static_cast<std::size_t>(rng() % 300);
      std::string payload;
      if (is_text) {
        while (payload.size() < target) {
          payload += utf8_pieces[rng() % utf8_pieces.size()];
        }
      } else {
        payload.resize(target);
        for (char& c : payload) {
          c = static_cast<char>(rng());
        }
      }
      // Split into 1-4 fragments at random points, with pings between some of them.
      std::vector<std::size_t> splits = {0, payload.size()};
      const int fragments = 1 + static_cast<int>(rng() % 4);
      for (int f = 1; f < fragments; ++f) {
        splits.push_back(payload.empty() ? 0 : rng() % payload.size());
      }
      std::sort(splits.begin(), splits.end());
      for (std::size_t f = 0; f + 1 < splits.size(); ++f) {
        const std::string_view part =
            std::string_view(payload).substr(splits[f], splits[f + 1] - splits[f]);
        const bool fin = f + 2 == splits.size();
        const Opcode op = f == 0 ? (is_text ? Opcode::Text : Opcode::Binary) : Opcode::Continuation;
        uint8_t header[kMaxServerHeaderSize];
        Bytes server(header, header + writeHeader(header, op, part.size(), fin));
        server.insert(server.end(), part.begin(), part.end());
        const MaskKey key{static_cast<uint8_t>(rng()), static_cast<uint8_t>(rng()),
                          static_cast<uint8_t>(rng()), static_cast<uint8_t>(rng())};
        append(stream, maskServerFrame(server, key));
        if (!fin && rng() % 3 == 0) {
          uint8_t control[kMaxControlFrameSize];
          const std::string data = "ping " + std::to_string(rng() % 1000);
          const Bytes d = bytesOf(data);
          const std::size_t n = writePing(control, d);
          append(stream, maskServerFrame(std::span<const uint8_t>(control, n), key));
          expected.push_back(ping(data));
        }
      }
      expected.push_back(is_text ? text(payload) : binary(payload));
    }
    // Random read sizes, from 1 byte to 64 KiB.
    std::vector<std::size_t> cuts;
    for (std::size_t at = 0;;) {
      at += 1 + rng() % (rng() % 2 == 0 ? 16 : 65536);
      if (at >= stream.size()) {
        break;
      }
      cuts.push_back(at);
    }
    FrameParser parser(config);
    INFO("round " << round);
    REQUIRE(feed(parser, stream, cuts) == expected);
    CHECK(parser.atMessageBoundary());
    Bytes none;
    std::span<uint8_t> empty(none);
    CHECK(parser.next(empty).type == EventType::NeedMore);
    CHECK(parser.heapBytes() == 0);
  }
}

TEST_CASE("applyMask is its own inverse at any key offset") {
  std::mt19937 rng(3);
  const uint8_t key[4] = {0x12, 0x34, 0x56, 0x78};
  for (std::size_t len = 0; len < 40; ++len) {
    for (std::size_t off = 0; off < 4; ++off) {
      Bytes data(len);
      for (auto& b : data) {
        b = static_cast<uint8_t>(rng());
      }
      Bytes masked = data;
      applyMask(masked, key, off);
      for (std::size_t i = 0; i < len; ++i) {
        REQUIRE(masked[i] == (data[i] ^ key[(off + i) % 4]));
      }
      applyMask(masked, key, off);
      REQUIRE(masked == data);
    }
  }
}

TEST_CASE("parser config is validated with the field's name") {
  FrameParserConfig c;
  CHECK_NOTHROW(c.validate());
  c.maxMessageBytes = 0;
  CHECK_THROWS_WITH(c.validate(), Catch::Contains("maxMessageBytes"));
  c.maxMessageBytes = std::size_t{1} << 32;
  CHECK_THROWS_WITH(c.validate(), Catch::Contains("maxMessageBytes"));
  c.maxMessageBytes = 1024;
  c.retainBufferBytes = 2048;
  CHECK_THROWS_WITH(c.validate(), Catch::Contains("retainBufferBytes"));
}
