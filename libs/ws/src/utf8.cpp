#include "tickstream/ws/utf8.h"

#include <cstring>

namespace tickstream::ws {

bool isValidUtf8(std::span<const uint8_t> bytes) noexcept {
  const uint8_t* p = bytes.data();
  const uint8_t* const end = p + bytes.size();
  while (p < end) {
    // ASCII fast path: the inbound messages are mostly JSON, i.e. all ASCII.
    while (end - p >= 8) {
      uint64_t word = 0;
      std::memcpy(&word, p, 8);
      if ((word & 0x8080808080808080ULL) != 0) {
        break;
      }
      p += 8;
    }
    if (p == end) {
      break;
    }
    const uint8_t b0 = *p;
    if (b0 < 0x80) {
      ++p;
      continue;
    }
    // Table 3-7 of the Unicode standard ("well-formed UTF-8 byte sequences"): the second byte's
    // range depends on the first, which is what excludes overlongs, surrogates and > U+10FFFF.
    std::ptrdiff_t len = 0;
    uint8_t lo = 0x80;
    uint8_t hi = 0xBF;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
      len = 2;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      len = 3;
      if (b0 == 0xE0) {
        lo = 0xA0; // below is an overlong 2-byte form
      } else if (b0 == 0xED) {
        hi = 0x9F; // above are the surrogates U+D800-U+DFFF
      }
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      len = 4;
      if (b0 == 0xF0) {
        lo = 0x90; // below is an overlong 3-byte form
      } else if (b0 == 0xF4) {
        hi = 0x8F; // above is beyond U+10FFFF
      }
    } else {
      return false; // a continuation byte, an overlong lead (C0, C1) or F5-FF
    }
    if (end - p < len) {
      return false; // cut off
    }
    if (p[1] < lo || p[1] > hi) {
      return false;
    }
    for (std::ptrdiff_t i = 2; i < len; ++i) {
      if ((p[i] & 0xC0U) != 0x80U) {
        return false;
      }
    }
    p += len;
  }
  return true;
}

bool isValidUtf8(std::string_view text) noexcept {
  return isValidUtf8(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

std::size_t utf8Truncate(std::string_view text, std::size_t max_bytes) noexcept {
  if (text.size() <= max_bytes) {
    return text.size();
  }
  std::size_t n = max_bytes;
  // Step back over continuation bytes to the lead byte of the sequence that does not fit.
  while (n > 0 && (static_cast<uint8_t>(text[n]) & 0xC0U) == 0x80U) {
    --n;
  }
  return n;
}

} // namespace tickstream::ws
