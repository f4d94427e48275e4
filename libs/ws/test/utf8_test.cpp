#include <catch2/catch.hpp>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "tickstream/ws/utf8.h"

using tickstream::ws::isValidUtf8;
using tickstream::ws::utf8Truncate;

namespace {

// Slow reference: decode each sequence by its lead byte and check the code point is in range,
// not a surrogate and not overlong.
bool referenceValid(const std::vector<uint8_t>& s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const uint8_t b = s[i];
    std::size_t len = 0;
    uint32_t cp = 0;
    if (b < 0x80) {
      len = 1;
      cp = b;
    } else if ((b & 0xE0) == 0xC0) {
      len = 2;
      cp = b & 0x1FU;
    } else if ((b & 0xF0) == 0xE0) {
      len = 3;
      cp = b & 0x0FU;
    } else if ((b & 0xF8) == 0xF0) {
      len = 4;
      cp = b & 0x07U;
    } else {
      return false;
    }
    if (i + len > s.size()) {
      return false;
    }
    for (std::size_t k = 1; k < len; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) {
        return false;
      }
      cp = (cp << 6) | (s[i + k] & 0x3FU);
    }
    const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += len;
  }
  return true;
}

} // namespace

TEST_CASE("utf8 accepts the boundaries of each sequence length") {
  CHECK(isValidUtf8(std::string_view("")));
  CHECK(isValidUtf8(std::string_view("plain ascii, longer than eight bytes {\"op\":\"sub\"}")));
  CHECK(isValidUtf8(std::string_view("\x7F")));
  CHECK(isValidUtf8(std::string_view("\xC2\x80")));         // U+0080
  CHECK(isValidUtf8(std::string_view("\xDF\xBF")));         // U+07FF
  CHECK(isValidUtf8(std::string_view("\xE0\xA0\x80")));     // U+0800
  CHECK(isValidUtf8(std::string_view("\xED\x9F\xBF")));     // U+D7FF, just below the surrogates
  CHECK(isValidUtf8(std::string_view("\xEE\x80\x80")));     // U+E000, just above them
  CHECK(isValidUtf8(std::string_view("\xEF\xBF\xBF")));     // U+FFFF
  CHECK(isValidUtf8(std::string_view("\xF0\x90\x80\x80"))); // U+10000
  CHECK(isValidUtf8(std::string_view("\xF4\x8F\xBF\xBF"))); // U+10FFFF
  CHECK(isValidUtf8(std::string_view("\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5"))); // kosme
}

TEST_CASE("utf8 rejects overlongs, surrogates, out of range and truncated sequences") {
  const char* bad[] = {
      "\xC0\x80",         // overlong NUL
      "\xC0\xAF",         // overlong '/'
      "\xC1\xBF",         // overlong U+007F
      "\xE0\x80\xAF",     // overlong '/' in 3 bytes
      "\xE0\x9F\xBF",     // overlong U+07FF
      "\xF0\x80\x80\xAF", // overlong '/' in 4 bytes
      "\xF0\x8F\xBF\xBF", // overlong U+FFFF
      "\xED\xA0\x80",     // U+D800, first high surrogate
      "\xED\xAD\xBF",     // U+DB7F
      "\xED\xBF\xBF",     // U+DFFF, last low surrogate
      "\xED\xA0\x80\xED\xB0\x80", // a surrogate pair encoded as CESU-8
      "\xF4\x90\x80\x80", // U+110000
      "\xF5\x80\x80\x80", // lead byte beyond U+10FFFF
      "\xF8\x88\x80\x80\x80", // 5-byte form
      "\xFE", "\xFF",
      "\x80",              // stray continuation
      "a\xBF",             // stray continuation after ASCII
      "\xE2\x82",          // truncated (euro sign without its last byte)
      "\xF0\x9F\x98",      // truncated emoji
      "\xC3",              // truncated at the very end
      "\xC3\x28",          // lead followed by a non-continuation
      "\xE2\x28\xA1",
      "0123456789abcdef\xC0\xAF", // after an ASCII fast-path run
  };
  for (const char* s : bad) {
    INFO(std::string(s));
    CHECK_FALSE(isValidUtf8(std::string_view(s)));
  }
}

TEST_CASE("utf8 agrees with a reference decoder on every 1-, 2- and 3-byte string") {
  std::vector<uint8_t> s;
  for (int a = 0; a < 256; ++a) {
    s = {static_cast<uint8_t>(a)};
    REQUIRE(isValidUtf8(s) == referenceValid(s));
    for (int b = 0; b < 256; ++b) {
      s = {static_cast<uint8_t>(a), static_cast<uint8_t>(b)};
      REQUIRE(isValidUtf8(s) == referenceValid(s));
    }
  }
  // Only lead bytes of 3- and 4-byte forms are interesting in the first position.
  std::size_t mismatches = 0;
  for (int a = 0xE0; a < 0x100; ++a) {
    for (int b = 0; b < 256; ++b) {
      for (int c = 0; c < 256; ++c) {
        s = {static_cast<uint8_t>(a), static_cast<uint8_t>(b), static_cast<uint8_t>(c)};
        mismatches += isValidUtf8(s) != referenceValid(s) ? 1 : 0;
      }
    }
  }
  CHECK(mismatches == 0);
}

TEST_CASE("utf8 agrees with a reference decoder on random 4-byte sequences and mixed text") {
  std::mt19937 rng(7);
  std::size_t mismatches = 0;
  for (int i = 0; i < 200'000; ++i) {
    std::vector<uint8_t> s = {static_cast<uint8_t>(0xF0 + rng() % 16), static_cast<uint8_t>(rng()),
                              static_cast<uint8_t>(rng()), static_cast<uint8_t>(rng())};
    mismatches += isValidUtf8(s) != referenceValid(s) ? 1 : 0;
  }
  // Mostly-valid text with an occasional random byte, long enough for the 8-byte fast path.
  const std::vector<std::string> pieces = {"abc", "\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80",
                                           "0123456789"};
  for (int i = 0; i < 20'000; ++i) {
    std::vector<uint8_t> s;
    const int n = static_cast<int>(rng() % 20);
    for (int k = 0; k < n; ++k) {
      const std::string& p = pieces[rng() % pieces.size()];
      s.insert(s.end(), p.begin(), p.end());
      if (rng() % 30 == 0) {
        s.push_back(static_cast<uint8_t>(rng()));
      }
    }
    mismatches += isValidUtf8(s) != referenceValid(s) ? 1 : 0;
  }
  CHECK(mismatches == 0);
}

TEST_CASE("utf8Truncate never cuts inside a character") {
  const std::string_view s = "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80"; // 1+2+3+4 bytes
  CHECK(utf8Truncate(s, 100) == s.size());
  CHECK(utf8Truncate(s, 10) == 10);
  CHECK(utf8Truncate(s, 9) == 6);
  CHECK(utf8Truncate(s, 7) == 6);
  CHECK(utf8Truncate(s, 6) == 6);
  CHECK(utf8Truncate(s, 5) == 3);
  CHECK(utf8Truncate(s, 2) == 1);
  CHECK(utf8Truncate(s, 1) == 1);
  CHECK(utf8Truncate(s, 0) == 0);
}
