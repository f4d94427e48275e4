#include <catch2/catch.hpp>

#include <string>

#include "ws_frame.h"

using namespace tickstream::loadgen;

namespace {
std::string serverFrame(uint8_t b0, const std::string& payload) {
  std::string f(1, static_cast<char>(b0));
  if (payload.size() < 126) {
    f += static_cast<char>(payload.size());
  } else {
    f += static_cast<char>(126);
    f += static_cast<char>(payload.size() >> 8);
    f += static_cast<char>(payload.size() & 0xFF);
  }
  return f + payload;
}
}  // namespace

TEST_CASE("a server frame split anywhere parses once all its bytes are there") {
  const std::string payload(300, 'x');
  std::string wire = serverFrame(0x82, payload);
  for (std::size_t cut = 0; cut < wire.size(); ++cut) {
    std::string part = wire.substr(0, cut);
    Frame f;
    REQUIRE(parseFrame(part.data(), part.size(), f).status == ParseStatus::NeedMore);
  }
  Frame f;
  const ParseResult r = parseFrame(wire.data(), wire.size(), f);
  REQUIRE(r.status == ParseStatus::Ok);
  CHECK(r.consumed == wire.size());
  CHECK(f.fin);
  CHECK(f.opcode == Opcode::Binary);
  CHECK(std::string(f.payload, f.length) == payload);
}

TEST_CASE("two frames in one buffer parse one after the other") {
  std::string wire = serverFrame(0x81, "hello") + serverFrame(0x89, "p");
  Frame f;
  ParseResult r = parseFrame(wire.data(), wire.size(), f);
  REQUIRE(r.status == ParseStatus::Ok);
  CHECK(std::string(f.payload, f.length) == "hello");
  r = parseFrame(wire.data() + r.consumed, wire.size() - r.consumed, f);
  REQUIRE(r.status == ParseStatus::Ok);
  CHECK(f.opcode == Opcode::Ping);
}

TEST_CASE("reserved bits and fragmented control frames are protocol errors") {
  std::string rsv = serverFrame(0xC2, "x");
  Frame f;
  CHECK(parseFrame(rsv.data(), rsv.size(), f).status == ParseStatus::Error);
  std::string ping = serverFrame(0x09, "x");  // FIN clear
  CHECK(parseFrame(ping.data(), ping.size(), f).status == ParseStatus::Error);
}

TEST_CASE("a client frame is masked and unmasks back to its payload") {
  for (std::size_t len : {0u, 5u, 125u, 126u, 70000u}) {
    const std::string payload(len, 'a');
    std::string wire;
    appendClientFrame(wire, Opcode::Binary, payload, 0xA1B2C3D4u);
    CHECK((static_cast<uint8_t>(wire[1]) & 0x80) != 0);
    if (len > 0) CHECK(wire.find(payload) == std::string::npos);
    Frame f;
    const ParseResult r = parseFrame(wire.data(), wire.size(), f);
    REQUIRE(r.status == ParseStatus::Ok);
    CHECK(r.consumed == wire.size());
    CHECK(std::string(f.payload, f.length) == payload);
  }
}
