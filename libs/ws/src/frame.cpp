#include "tickstream/ws/frame.h"

#include <algorithm>
#include <cstring>

#include "tickstream/ws/utf8.h"

namespace tickstream::ws {

bool isValidWireCloseCode(uint16_t code) noexcept {
  if (code >= 3000 && code <= 4999) {
    return true; // 3000-3999 registered with IANA, 4000-4999 private use
  }
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014);
}

std::size_t writeHeader(uint8_t* out, Opcode op, std::size_t payload_len, bool fin) noexcept {
  if (isControl(op) && (payload_len > kMaxControlPayload || !fin)) {
    return 0;
  }
  out[0] = static_cast<uint8_t>((fin ? 0x80U : 0U) | static_cast<uint8_t>(op));
  if (payload_len < 126) {
    out[1] = static_cast<uint8_t>(payload_len);
    return 2;
  }
  if (payload_len <= 0xFFFF) {
    out[1] = 126;
    out[2] = static_cast<uint8_t>(payload_len >> 8);
    out[3] = static_cast<uint8_t>(payload_len);
    return 4;
  }
  out[1] = 127;
  const auto len = static_cast<uint64_t>(payload_len);
  for (int i = 0; i < 8; ++i) {
    out[2 + i] = static_cast<uint8_t>(len >> (56 - 8 * i));
  }
  return 10;
}

namespace {

std::size_t writeControl(uint8_t* out, Opcode op, std::span<const uint8_t> payload) noexcept {
  const std::size_t len = std::min(payload.size(), kMaxControlPayload);
  const std::size_t header = writeHeader(out, op, len);
  if (len != 0) {
    std::memcpy(out + header, payload.data(), len);
  }
  return header + len;
}

} // namespace

std::size_t writePing(uint8_t* out, std::span<const uint8_t> payload) noexcept {
  return writeControl(out, Opcode::Ping, payload);
}

std::size_t writePong(uint8_t* out, std::span<const uint8_t> payload) noexcept {
  return writeControl(out, Opcode::Pong, payload);
}

std::size_t writeClose(uint8_t* out, CloseCode code, std::string_view reason) noexcept {
  const auto value = static_cast<uint16_t>(code);
  if (!isValidWireCloseCode(value)) {
    return writeHeader(out, Opcode::Close, 0);
  }
  const std::size_t reason_len = utf8Truncate(reason, kMaxControlPayload - 2);
  const std::size_t header = writeHeader(out, Opcode::Close, 2 + reason_len);
  out[header] = static_cast<uint8_t>(value >> 8);
  out[header + 1] = static_cast<uint8_t>(value);
  if (reason_len != 0) {
    std::memcpy(out + header + 2, reason.data(), reason_len);
  }
  return header + 2 + reason_len;
}

} // namespace tickstream::ws
