#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "client_frames.h"
#include "tickstream/ws/frame.h"

using namespace tickstream::ws;
using namespace tickstream::ws::test;

namespace {

Bytes header(Opcode op, std::size_t len, bool fin = true) {
  uint8_t out[kMaxServerHeaderSize];
  const std::size_t n = writeHeader(out, op, len, fin);
  return Bytes(out, out + n);
}

Bytes frame(Opcode op, std::string_view payload, bool fin = true) {
  Bytes out = header(op, payload.size(), fin);
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

} // namespace

TEST_CASE("writer produces the unmasked frames of RFC 6455 section 5.7") {
  // A single-frame unmasked text message.
  CHECK(frame(Opcode::Text, "Hello") == Bytes{0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f});
  // A fragmented unmasked text message.
  CHECK(frame(Opcode::Text, "Hel", false) == Bytes{0x01, 0x03, 0x48, 0x65, 0x6c});
  CHECK(frame(Opcode::Continuation, "lo") == Bytes{0x80, 0x02, 0x6c, 0x6f});
  // Unmasked Ping request "Hello" (and the Pong it asks for).
  uint8_t control[kMaxControlFrameSize];
  const Bytes hello = bytesOf("Hello");
  std::size_t n = writePing(control, hello);
  CHECK(Bytes(control, control + n) == Bytes{0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f});
  n = writePong(control, hello);
  CHECK(Bytes(control, control + n) == Bytes{0x8a, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f});
  // 256 bytes binary message in a single unmasked frame.
  CHECK(header(Opcode::Binary, 256) == Bytes{0x82, 0x7E, 0x01, 0x00});
  // 64 KiB binary message in a single unmasked frame.
  CHECK(header(Opcode::Binary, 65536) ==
        Bytes{0x82, 0x7F, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00});
}

TEST_CASE("header size switches to 16- and 64-bit lengths at 126 and 65536") {
  for (const std::size_t len : {0UL, 1UL, 125UL, 126UL, 127UL, 65535UL, 65536UL, 1UL << 32}) {
    const Bytes h = header(Opcode::Binary, len);
    CHECK(h.size() == headerSize(len));
  }
  CHECK(headerSize(125) == 2);
  CHECK(headerSize(126) == 4);
  CHECK(headerSize(65535) == 4);
  CHECK(headerSize(65536) == 10);
  CHECK(header(Opcode::Text, 125) == Bytes{0x81, 125});
  CHECK(header(Opcode::Text, 126) == Bytes{0x81, 126, 0x00, 126});
  CHECK(header(Opcode::Text, 65535) == Bytes{0x81, 126, 0xFF, 0xFF});
  CHECK(header(Opcode::Text, 0x0102030405ULL) ==
        Bytes{0x81, 127, 0x00, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05});
}

TEST_CASE("writer refuses control frames the RFC forbids") {
  uint8_t out[kMaxServerHeaderSize] = {};
  CHECK(writeHeader(out, Opcode::Ping, 126) == 0);
  CHECK(writeHeader(out, Opcode::Close, 125, false) == 0);
  CHECK(writeHeader(out, Opcode::Pong, 125) == 2);
  // A ping payload over 125 bytes is cut to 125.
  uint8_t control[kMaxControlFrameSize];
  const Bytes big(300, 'x');
  CHECK(writePing(control, big) == kMaxControlFrameSize);
  CHECK(control[1] == 125);
}

TEST_CASE("close frame carries code and reason, cut at a UTF-8 boundary") {
  uint8_t out[kMaxControlFrameSize];
  std::size_t n = writeClose(out, CloseCode::Normal, "bye");
  CHECK(Bytes(out, out + n) == Bytes{0x88, 0x05, 0x03, 0xE8, 'b', 'y', 'e'});

  n = writeClose(out, CloseCode::MessageTooBig);
  CHECK(Bytes(out, out + n) == Bytes{0x88, 0x02, 0x03, 0xF1});

  // Codes that must never be on the wire give an empty Close ("no status").
  for (const CloseCode c : {CloseCode::NoStatus, CloseCode::Abnormal, CloseCode{1015}}) {
    n = writeClose(out, c, "ignored");
    CHECK(Bytes(out, out + n) == Bytes{0x88, 0x00});
  }

  // 100 two-byte characters: 123 bytes available for the reason, so 61 characters (122 bytes).
  std::string reason;
  for (int i = 0; i < 100; ++i) {
    reason += "\xC3\xA9"; // é
  }
  n = writeClose(out, CloseCode::GoingAway, reason);
  CHECK(n == 2 + 2 + 122);
  CHECK(out[1] == 124);
  const std::string written(reinterpret_cast<const char*>(out) + 4, n - 4);
  CHECK(written == reason.substr(0, 122));

  // An application code goes out as it is.
  n = writeClose(out, CloseCode{4000}, "");
  CHECK(Bytes(out, out + n) == Bytes{0x88, 0x02, 0x0F, 0xA0});
}

TEST_CASE("valid wire close codes") {
  for (const uint16_t ok : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014,
                            3000, 3999, 4000, 4999}) {
    INFO(ok);
    CHECK(isValidWireCloseCode(ok));
  }
  for (const uint16_t bad : {0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000,
                             65535}) {
    INFO(bad);
    CHECK_FALSE(isValidWireCloseCode(bad));
  }
}
