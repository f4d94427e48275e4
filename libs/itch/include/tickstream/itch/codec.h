#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "tickstream/itch/messages.h"

// Decode and encode single ITCH 5.0 messages. Both are on the feed's hot path: they never throw
// and never allocate.
namespace tickstream::itch {

enum class DecodeStatus {
  Ok,
  Truncated,   // empty, or shorter than the type's fixed length
  UnknownType, // the first byte is not an ITCH 5.0 message type
  BadLength,   // longer than the type's fixed length
  BadField,    // a field outside what the spec allows (side, event code, timestamp >= 24h, ...)
};

[[nodiscard]] std::string_view toString(DecodeStatus status) noexcept;

// Decodes `bytes`, which must be exactly one message as framed by SoupBinTCP or by a capture
// file's length prefix. `out` is assigned only when the result is Ok.
[[nodiscard]] DecodeStatus decode(std::span<const uint8_t> bytes, Message& out) noexcept;

// Writes `m` in wire form to the front of `out` and returns the bytes written (the type's
// kLength), or 0 if `out` is too small. Fields are written as given, not validated, so a test or
// the exchange simulator can produce a deliberately bad message.
[[nodiscard]] std::size_t encode(const Message& m, std::span<uint8_t> out) noexcept;

} // namespace tickstream::itch
