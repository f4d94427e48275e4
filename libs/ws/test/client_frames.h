#pragma once

// Test-side client: builds masked client→server frames (the library only writes server frames)
// and drives a FrameParser over a byte stream cut into arbitrary pieces.
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tickstream/ws/frame.h"
#include "tickstream/ws/parser.h"

namespace tickstream::ws::test {

using Bytes = std::vector<uint8_t>;
using MaskKey = std::array<uint8_t, 4>;

inline constexpr MaskKey kRfcKey{0x37, 0xfa, 0x21, 0x3d}; // the key of RFC 6455 section 5.7

inline Bytes bytesOf(std::string_view s) { return Bytes(s.begin(), s.end()); }

// A frame as a client would send it. `first_byte` is FIN | RSV | opcode as on the wire, so tests
// can set any bit; `len_form` forces the 16-bit (126) or 64-bit (127) length encoding.
inline Bytes rawFrame(uint8_t first_byte, std::span<const uint8_t> payload, bool masked = true,
                      MaskKey key = kRfcKey, int len_form = 0) {
  Bytes out;
  out.push_back(first_byte);
  const uint8_t mask_bit = masked ? 0x80 : 0x00;
  const std::size_t n = payload.size();
  if (len_form == 127 || (len_form == 0 && n > 0xFFFF)) {
    out.push_back(mask_bit | 127);
    for (int i = 7; i >= 0; --i) {
      out.push_back(static_cast<uint8_t>(static_cast<uint64_t>(n) >> (8 * i)));
    }
  } else if (len_form == 126 || (len_form == 0 && n >= 126)) {
    out.push_back(mask_bit | 126);
    out.push_back(static_cast<uint8_t>(n >> 8));
    out.push_back(static_cast<uint8_t>(n));
  } else {
    out.push_back(static_cast<uint8_t>(mask_bit | n));
  }
  if (masked) {
    out.insert(out.end(), key.begin(), key.end());
  }
  const std::size_t at = out.size();
  out.insert(out.end(), payload.begin(), payload.end());
  if (masked) {
    for (std::size_t i = 0; i < n; ++i) {
      out[at + i] ^= key[i % 4];
    }
  }
  return out;
}

inline Bytes clientFrame(Opcode op, std::span<const uint8_t> payload, bool fin = true,
                         MaskKey key = kRfcKey) {
  return rawFrame(static_cast<uint8_t>((fin ? 0x80 : 0x00) | static_cast<uint8_t>(op)), payload,
                  true, key);
}

inline Bytes clientFrame(Opcode op, std::string_view payload, bool fin = true,
                         MaskKey key = kRfcKey) {
  const Bytes b = bytesOf(payload);
  return clientFrame(op, b, fin, key);
}

inline Bytes closePayload(uint16_t code, std::string_view reason = {}) {
  Bytes b{static_cast<uint8_t>(code >> 8), static_cast<uint8_t>(code)};
  b.insert(b.end(), reason.begin(), reason.end());
  return b;
}

// Turns an unmasked (server) frame into the same frame masked with `key`: how the round-trip
// tests push writeHeader()'s output through the parser.
inline Bytes maskServerFrame(std::span<const uint8_t> frame, MaskKey key) {
  const std::size_t len7 = frame[1] & 0x7F;
  const std::size_t header = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0);
  Bytes out(frame.begin(), frame.begin() + static_cast<std::ptrdiff_t>(header));
  out[1] |= 0x80;
  out.insert(out.end(), key.begin(), key.end());
  for (std::size_t i = header; i < frame.size(); ++i) {
    out.push_back(frame[i] ^ key[(i - header) % 4]);
  }
  return out;
}

inline void append(Bytes& out, const Bytes& more) {
  out.insert(out.end(), more.begin(), more.end());
}

// An event with its payload copied out, comparable across feeding strategies.
struct Seen {
  EventType type = EventType::NeedMore;
  std::string payload;
  uint16_t code = 0;
  std::string reason;
  bool operator==(const Seen&) const = default;
};

inline Seen copyOf(const Event& ev) {
  return {ev.type, std::string(ev.text()), static_cast<uint16_t>(ev.code),
          std::string(ev.reason)};
}

// Feeds `stream` cut at `cuts` (ascending offsets) the way the gateway would: each piece is
// copied into a reused scratch buffer, and the scratch buffer is scribbled over once the piece
// is consumed, so an event that points at stale input shows up as a wrong payload.
inline std::vector<Seen> feed(FrameParser& parser, std::span<const uint8_t> stream,
                              std::span<const std::size_t> cuts) {
  std::vector<Seen> events;
  Bytes scratch(stream.size() + 16);
  std::size_t from = 0;
  for (std::size_t i = 0; i <= cuts.size(); ++i) {
    const std::size_t to = i < cuts.size() ? cuts[i] : stream.size();
    std::memcpy(scratch.data(), stream.data() + from, to - from);
    std::span<uint8_t> input(scratch.data(), to - from);
    for (;;) {
      const Event ev = parser.next(input);
      if (ev.type == EventType::NeedMore) {
        break;
      }
      events.push_back(copyOf(ev));
    }
    std::fill(scratch.begin(), scratch.begin() + static_cast<std::ptrdiff_t>(to - from),
              uint8_t{0xAA});
    from = to;
  }
  return events;
}

inline std::vector<Seen> feedWhole(FrameParser& parser, std::span<const uint8_t> stream) {
  return feed(parser, stream, {});
}

inline std::vector<Seen> feedBytewise(FrameParser& parser, std::span<const uint8_t> stream) {
  std::vector<std::size_t> cuts;
  for (std::size_t i = 1; i < stream.size(); ++i) {
    cuts.push_back(i);
  }
  return feed(parser, stream, cuts);
}

} // namespace tickstream::ws::test
