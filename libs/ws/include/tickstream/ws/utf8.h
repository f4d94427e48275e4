#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace tickstream::ws {

// Strict UTF-8 (RFC 3629) as RFC 6455 requires of text messages and close reasons: rejects
// overlong forms, UTF-16 surrogates (U+D800-U+DFFF), code points above U+10FFFF, stray
// continuation bytes and a sequence cut off at the end. ASCII runs are checked 8 bytes at a time.
[[nodiscard]] bool isValidUtf8(std::span<const uint8_t> bytes) noexcept;
[[nodiscard]] bool isValidUtf8(std::string_view text) noexcept;

// Length of the longest prefix of `text` that is at most `max_bytes` long and does not end inside
// a multi-byte sequence (for cutting a valid string without making it invalid).
[[nodiscard]] std::size_t utf8Truncate(std::string_view text, std::size_t max_bytes) noexcept;

} // namespace tickstream::ws
