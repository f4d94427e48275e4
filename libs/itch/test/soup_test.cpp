#include <catch2/catch.hpp>

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "samples.h"
#include "tickstream/itch/codec.h"
#include "tickstream/itch/soup.h"

using namespace tickstream::itch;
using namespace tickstream::itch::soup;

namespace {

std::vector<uint8_t> packet(PacketType type, std::span<const uint8_t> payload) {
  std::vector<uint8_t> out(kHeaderSize + payload.size());
  REQUIRE(encodePacket(type, payload, out) == out.size());
  return out;
}

std::vector<uint8_t> sequenced(const Message& m) {
  std::array<uint8_t, kMaxMessageLength> buf{};
  const std::size_t n = encode(m, buf);
  return packet(PacketType::SequencedData, std::span<const uint8_t>(buf.data(), n));
}

std::string_view text(std::span<const uint8_t> s) {
  return {reinterpret_cast<const char*>(s.data()), s.size()};
}

// A stream as a server sends it: login accepted, a sequenced message of every type, heartbeat,
// end of session.
std::vector<uint8_t> serverStream() {
  std::vector<uint8_t> stream;
  auto add = [&stream](const std::vector<uint8_t>& p) {
    stream.insert(stream.end(), p.begin(), p.end());
  };
  LoginAccepted la;
  REQUIRE(makeLoginAccepted("SESSION01", 1, la));
  std::array<uint8_t, 64> buf{};
  const std::size_t n = encodeLoginAccepted(la, buf);
  add(std::vector<uint8_t>(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n)));
  for (const auto& m : test::everyMessageType()) {
    add(sequenced(m));
  }
  add(packet(PacketType::ServerHeartbeat, {}));
  add(packet(PacketType::EndOfSession, {}));
  return stream;
}

// Frames `stream` fed as the given chunks; returns the packets as (type, payload) copies.
std::vector<std::pair<PacketType, std::vector<uint8_t>>>
frameAll(std::span<const uint8_t> stream, std::span<const std::size_t> cuts) {
  SoupFramer framer;
  std::vector<std::pair<PacketType, std::vector<uint8_t>>> out;
  std::size_t from = 0;
  auto drain = [&] {
    PacketView p;
    FrameStatus s;
    while ((s = framer.next(p)) == FrameStatus::Ok) {
      out.emplace_back(p.type, std::vector<uint8_t>(p.payload.begin(), p.payload.end()));
    }
    REQUIRE(s == FrameStatus::NeedMore);
  };
  for (const std::size_t cut : cuts) {
    framer.feed(stream.subspan(from, cut - from));
    drain();
    from = cut;
  }
  framer.feed(stream.subspan(from));
  drain();
  CHECK(framer.buffered() == 0);
  CHECK(framer.streamOffset() == stream.size());
  return out;
}

} // namespace

TEST_CASE("soup packet header is a big-endian length counting the type byte, then the type") {
  const std::array<uint8_t, 3> payload{'a', 'b', 'c'};
  const auto p = packet(PacketType::Debug, payload);
  CHECK(p == std::vector<uint8_t>{0x00, 0x04, '+', 'a', 'b', 'c'});
  CHECK(packet(PacketType::ServerHeartbeat, {}) == std::vector<uint8_t>{0x00, 0x01, 'H'});

  PacketView v;
  REQUIRE(decodePacket(p, v) == SoupStatus::Ok);
  CHECK(v.type == PacketType::Debug);
  CHECK(text(v.payload) == "abc");
  CHECK(decodePacket(std::span<const uint8_t>(p).first(5), v) == SoupStatus::Truncated);
  auto longer = p;
  longer.push_back('d');
  CHECK(decodePacket(longer, v) == SoupStatus::BadLength);
  CHECK(decodePacket(std::vector<uint8_t>{0x00, 0x00, 'H'}, v) == SoupStatus::BadLength);
  CHECK(decodePacket(std::vector<uint8_t>{0x00, 0x01, 'x'}, v) == SoupStatus::UnknownType);
  std::array<uint8_t, 5> small{};
  CHECK(encodePacket(PacketType::Debug, payload, small) == 0);
}

TEST_CASE("login request lays out username 6, password 10, session 10, sequence 20") {
  LoginRequest req;
  REQUIRE(makeLoginRequest("TRADER", "s3cret", "ABC", 12345, req));
  std::array<uint8_t, 64> buf{};
  const std::size_t n = encodeLoginRequest(req, buf);
  REQUIRE(n == 49);
  const std::string_view wire(reinterpret_cast<const char*>(buf.data()), n);
  CHECK(wire == std::string_view("\x00\x2f"
                                 "L"
                                 "TRADER"
                                 "s3cret    "
                                 "       ABC"
                                 "               12345",
                                 49));
  PacketView v;
  REQUIRE(decodePacket(std::span<const uint8_t>(buf.data(), n), v) == SoupStatus::Ok);
  REQUIRE(v.type == PacketType::LoginRequest);
  LoginRequest back;
  REQUIRE(decodeLoginRequest(v.payload, back) == SoupStatus::Ok);
  CHECK(back == req);
  CHECK(trimmed(back.username) == "TRADER");
  CHECK(trimmed(back.password) == "s3cret");
  CHECK(trimmed(back.session) == "ABC");
  CHECK(back.sequence == 12345);

  // A blank session asks for the current one; sequence 0 for the newest message onwards.
  REQUIRE(makeLoginRequest("u", "p", "", 0, req));
  REQUIRE(encodeLoginRequest(req, buf) == 49);
  REQUIRE(decodeLoginRequest(std::span<const uint8_t>(buf).subspan(3, 46), back) ==
          SoupStatus::Ok);
  CHECK(trimmed(back.session).empty());
  CHECK(back.sequence == 0);

  CHECK_FALSE(makeLoginRequest("TOOLONG", "p", "", 0, req));
  CHECK_FALSE(makeLoginRequest("u", "p", "ELEVENCHARS", 0, req));
}

TEST_CASE("login accepted carries a left-padded session and sequence, login rejected a reason code") {
  LoginAccepted la;
  REQUIRE(makeLoginAccepted("0000004711", UINT64_MAX, la));
  std::array<uint8_t, 64> buf{};
  REQUIRE(encodeLoginAccepted(la, buf) == 33);
  CHECK(std::string_view(reinterpret_cast<const char*>(buf.data()), 33) ==
        std::string_view("\x00\x1f"
                         "A"
                         "0000004711"
                         "18446744073709551615",
                         33));
  LoginAccepted back;
  REQUIRE(decodeLoginAccepted(std::span<const uint8_t>(buf).subspan(3, 30), back) ==
          SoupStatus::Ok);
  CHECK(back == la);

  // A sequence number that is not numeric, or that overflows 64 bits, is a bad field.
  buf[3 + 10 + 19] = 'x';
  CHECK(decodeLoginAccepted(std::span<const uint8_t>(buf).subspan(3, 30), back) ==
        SoupStatus::BadField);
  buf[3 + 10 + 19] = '6'; // 18446744073709551616
  CHECK(decodeLoginAccepted(std::span<const uint8_t>(buf).subspan(3, 30), back) ==
        SoupStatus::BadField);
  CHECK(decodeLoginAccepted(std::span<const uint8_t>(buf).subspan(3, 29), back) ==
        SoupStatus::Truncated);

  REQUIRE(encodeLoginRejected(RejectReason::SessionNotAvailable, buf) == 4);
  CHECK(std::vector<uint8_t>(buf.begin(), buf.begin() + 4) ==
        std::vector<uint8_t>{0x00, 0x02, 'J', 'S'});
  RejectReason reason{};
  REQUIRE(decodeLoginRejected(std::span<const uint8_t>(buf).subspan(3, 1), reason) ==
          SoupStatus::Ok);
  CHECK(reason == RejectReason::SessionNotAvailable);
  const std::array<uint8_t, 1> unknown{'Q'};
  CHECK(decodeLoginRejected(unknown, reason) == SoupStatus::BadField);
}

TEST_CASE("soup framer reassembles a stream split at every possible byte boundary") {
  const auto stream = serverStream();
  const auto whole = frameAll(stream, {});
  REQUIRE(whole.size() == 26); // login accepted + 23 messages + heartbeat + end of session
  CHECK(whole.front().first == PacketType::LoginAccepted);
  CHECK(whole.back().first == PacketType::EndOfSession);
  std::size_t sequencedCount = 0;
  for (const auto& [type, payload] : whole) {
    if (type == PacketType::SequencedData) {
      Message m;
      CHECK(decode(payload, m) == DecodeStatus::Ok);
      ++sequencedCount;
    }
  }
  CHECK(sequencedCount == 23);

  // One cut anywhere, then the stream fed a byte at a time.
  for (std::size_t cut = 1; cut < stream.size(); ++cut) {
    INFO("cut at " << cut);
    const std::array<std::size_t, 1> cuts{cut};
    REQUIRE(frameAll(stream, cuts) == whole);
  }
  std::vector<std::size_t> everyByte;
  for (std::size_t i = 1; i < stream.size(); ++i) {
    everyByte.push_back(i);
  }
  CHECK(frameAll(stream, everyByte) == whole);
}

TEST_CASE("soup framer rejects a zero or oversize length and an unknown packet type") {
  SoupFramer framer(SoupFramerConfig{.max_packet_length = 100});
  PacketView p;
  const std::vector<uint8_t> oversize{0x00, 101, 'S'};
  framer.feed(oversize);
  CHECK(framer.next(p) == FrameStatus::Malformed);
  // Sticky: more data, even valid, does not resynchronise a broken stream.
  framer.feed(std::vector<uint8_t>{0x00, 0x01, 'H'});
  CHECK(framer.next(p) == FrameStatus::Malformed);

  // Rejected as soon as the length arrives, without waiting for 65535 bytes.
  framer.reset();
  framer.feed(std::vector<uint8_t>{0xff, 0xff});
  CHECK(framer.next(p) == FrameStatus::Malformed);

  framer.reset();
  framer.feed(std::vector<uint8_t>{0x00, 0x01, 'H', 0x00, 0x00});
  CHECK(framer.next(p) == FrameStatus::Ok);
  CHECK(p.type == PacketType::ServerHeartbeat);
  CHECK(framer.next(p) == FrameStatus::Malformed);
  CHECK(framer.streamOffset() == 3); // where the bad packet starts

  framer.reset();
  framer.feed(std::vector<uint8_t>{0x00, 0x01, '?'});
  CHECK(framer.next(p) == FrameStatus::Malformed);

  // The largest allowed length is accepted.
  framer.reset();
  std::vector<uint8_t> largest{0x00, 100, '+'};
  largest.resize(2 + 100, 'x');
  framer.feed(largest);
  REQUIRE(framer.next(p) == FrameStatus::Ok);
  CHECK(p.payload.size() == 99);
}
