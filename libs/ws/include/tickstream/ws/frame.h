#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

// RFC 6455 framing, server side: opcodes, close codes and the writer of server→client frames.
// Server frames are never masked (section 5.1), so a frame is a 2-, 4- or 10-byte header followed
// by the payload bytes as they are. That lets the gateway encode an update once and send the same
// payload bytes to every subscriber: only the header lives in per-connection memory, and a writev
// gathers [header, shared payload, header, shared payload, ...].
namespace tickstream::ws {

enum class Opcode : uint8_t {
  Continuation = 0x0,
  Text = 0x1,
  Binary = 0x2,
  Close = 0x8,
  Ping = 0x9,
  Pong = 0xA,
};

[[nodiscard]] constexpr bool isControl(Opcode op) noexcept {
  return (static_cast<uint8_t>(op) & 0x8U) != 0;
}

// Close codes (RFC 6455 section 7.4.1 and the IANA registry). The enum holds any 16-bit value: an
// application code (3000-4999) received from a peer is carried as it is.
enum class CloseCode : uint16_t {
  Normal = 1000,             // the purpose of the connection is fulfilled
  GoingAway = 1001,          // server shutting down or client navigating away
  ProtocolError = 1002,      // a framing rule was broken
  UnsupportedData = 1003,    // a message type the endpoint does not accept
  NoStatus = 1005,           // never sent: a Close frame without a code
  Abnormal = 1006,           // never sent: the connection dropped without a Close frame
  InvalidPayload = 1007,     // a text message (or close reason) that is not UTF-8
  PolicyViolation = 1008,    // generic refusal (e.g. authentication expired)
  MessageTooBig = 1009,      // a message over the configured limit
  MandatoryExtension = 1010, // client only: the server did not negotiate an extension
  InternalError = 1011,      // unexpected condition in the server
  ServiceRestart = 1012,     // the server is restarting; reconnect
  TryAgainLater = 1013,      // overloaded; reconnect later
};

// Whether a code may appear in a Close frame received from a peer: 1000-1003, 1007-1014 and the
// registered/private ranges 3000-4999. 1005, 1006 and 1015 are reserved for reporting and must
// never be on the wire; everything else below 3000 is unassigned.
[[nodiscard]] bool isValidWireCloseCode(uint16_t code) noexcept;

// Largest header of a server frame (2 + 8-byte length); a client frame adds a 4-byte mask key.
inline constexpr std::size_t kMaxServerHeaderSize = 10;
inline constexpr std::size_t kMaxClientHeaderSize = 14;
// Control frames carry at most 125 payload bytes (section 5.5).
inline constexpr std::size_t kMaxControlPayload = 125;
// A whole control frame written by writeClose/writePing/writePong fits in this many bytes.
inline constexpr std::size_t kMaxControlFrameSize = 2 + kMaxControlPayload;

// Size of the header writeHeader() produces for this payload length: 2, 4 or 10.
[[nodiscard]] constexpr std::size_t headerSize(std::size_t payload_len) noexcept {
  return payload_len < 126 ? 2 : payload_len <= 0xFFFF ? 4 : 10;
}

// Writes an unmasked frame header to `out` (room for kMaxServerHeaderSize bytes) and returns its
// size: 2, 4 or 10. The payload follows separately (writev). Returns 0, writing nothing, for a
// control frame whose payload is over 125 bytes or whose fin is false (section 5.5). For a
// fragmented message: first frame Text/Binary with fin=false, then Continuation frames, the last
// with fin=true.
std::size_t writeHeader(uint8_t* out, Opcode op, std::size_t payload_len, bool fin = true) noexcept;

// Whole control frames (header + payload) into `out` (room for kMaxControlFrameSize bytes);
// return their size. A payload over 125 bytes is cut to 125.
std::size_t writePing(uint8_t* out, std::span<const uint8_t> payload) noexcept;
std::size_t writePong(uint8_t* out, std::span<const uint8_t> payload) noexcept;
// A Close frame with `code` and `reason`. The reason is cut to 123 bytes (125 minus the code) at
// a UTF-8 character boundary, so a valid reason stays valid. A code that must not be on the wire
// (1005 NoStatus, 1006 Abnormal, 1015) writes a Close frame with an empty payload: "no status".
std::size_t writeClose(uint8_t* out, CloseCode code, std::string_view reason = {}) noexcept;

} // namespace tickstream::ws
