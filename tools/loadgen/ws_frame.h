#pragma once

// The client side of RFC 6455 framing, just what a load generator needs: an incremental parser
// for the frames a server sends (unmasked; a masked one is unmasked in place) and an encoder
// for client frames (always masked, as the RFC requires of clients). No allocation: the parser
// points into the caller's buffer and the encoder appends to a string the caller reuses.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace tickstream::loadgen {

enum class Opcode : uint8_t {
  Continuation = 0x0,
  Text = 0x1,
  Binary = 0x2,
  Close = 0x8,
  Ping = 0x9,
  Pong = 0xA,
};

struct Frame {
  bool fin = false;
  Opcode opcode = Opcode::Continuation;
  const char* payload = nullptr;
  std::size_t length = 0;
};

enum class ParseStatus {
  Ok,        // one frame parsed; `consumed` bytes belong to it
  NeedMore,  // the buffer holds only part of a frame (`consumed` = the whole frame's size when known)
  Error,     // not a valid frame (reserved bits, bad opcode, fragmented control frame)
};

struct ParseResult {
  ParseStatus status;
  std::size_t consumed;  // Ok: bytes of the frame; NeedMore: total frame size if known, else 0
};

// Parses one frame at the start of [data, data + size). A masked payload is unmasked in place,
// which is why the buffer is not const.
inline ParseResult parseFrame(char* data, std::size_t size, Frame& out) {
  if (size < 2) return {ParseStatus::NeedMore, 0};
  const auto* p = reinterpret_cast<const uint8_t*>(data);
  const uint8_t b0 = p[0];
  const uint8_t b1 = p[1];
  if ((b0 & 0x70) != 0) return {ParseStatus::Error, 0};  // RSV1-3: no extension negotiated
  const uint8_t op = b0 & 0x0F;
  const bool control = (op & 0x08) != 0;
  if (!(op <= 0x2 || (op >= 0x8 && op <= 0xA))) return {ParseStatus::Error, 0};
  const bool fin = (b0 & 0x80) != 0;
  if (control && !fin) return {ParseStatus::Error, 0};
  const bool masked = (b1 & 0x80) != 0;
  uint64_t len = b1 & 0x7F;
  std::size_t header = 2;
  if (len == 126) {
    if (size < 4) return {ParseStatus::NeedMore, 0};
    len = (uint64_t{p[2]} << 8) | p[3];
    header = 4;
  } else if (len == 127) {
    if (size < 10) return {ParseStatus::NeedMore, 0};
    len = 0;
    for (int i = 0; i < 8; ++i) len = (len << 8) | p[2 + i];
    header = 10;
    if (len >> 62) return {ParseStatus::Error, 0};
  }
  if (control && len > 125) return {ParseStatus::Error, 0};
  const std::size_t mask_at = header;
  if (masked) header += 4;
  const std::size_t total = header + static_cast<std::size_t>(len);
  if (size < total) return {ParseStatus::NeedMore, total};
  if (masked) {
    const char* key = data + mask_at;
    char* payload = data + header;
    for (std::size_t i = 0; i < len; ++i) payload[i] = static_cast<char>(payload[i] ^ key[i & 3]);
  }
  out.fin = fin;
  out.opcode = static_cast<Opcode>(op);
  out.payload = data + header;
  out.length = static_cast<std::size_t>(len);
  return {ParseStatus::Ok, total};
}

// Appends one complete (FIN) client frame with `payload` masked by `mask_key`.
inline void appendClientFrame(std::string& out, Opcode opcode, std::string_view payload,
                              uint32_t mask_key) {
  const std::size_t len = payload.size();
  char header[14];
  std::size_t h = 0;
  header[h++] = static_cast<char>(0x80 | static_cast<uint8_t>(opcode));
  if (len < 126) {
    header[h++] = static_cast<char>(0x80 | len);
  } else if (len <= 0xFFFF) {
    header[h++] = static_cast<char>(0x80 | 126);
    header[h++] = static_cast<char>((len >> 8) & 0xFF);
    header[h++] = static_cast<char>(len & 0xFF);
  } else {
    header[h++] = static_cast<char>(0x80 | 127);
    for (int i = 7; i >= 0; --i) header[h++] = static_cast<char>((uint64_t{len} >> (8 * i)) & 0xFF);
  }
  char key[4];
  std::memcpy(key, &mask_key, 4);
  std::memcpy(header + h, key, 4);
  h += 4;
  out.append(header, h);
  const std::size_t at = out.size();
  out.append(payload.data(), len);
  for (std::size_t i = 0; i < len; ++i) out[at + i] = static_cast<char>(out[at + i] ^ key[i & 3]);
}

}  // namespace tickstream::loadgen
