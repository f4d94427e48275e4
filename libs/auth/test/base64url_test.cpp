#include <catch2/catch.hpp>

#include <cstdint>
#include <random>
#include <string>

#include "tickstream/auth/base64url.h"

using tickstream::auth::base64UrlDecode;
using tickstream::auth::base64UrlEncode;

namespace {

std::string decoded(std::string_view text) {
  std::string out;
  REQUIRE(base64UrlDecode(text, out));
  return out;
}

bool decodes(std::string_view text) {
  std::string out;
  return base64UrlDecode(text, out);
}

}  // namespace

TEST_CASE("base64url matches the RFC 4648 test vectors without padding") {
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""},         {"f", "Zg"},         {"fo", "Zm8"},       {"foo", "Zm9v"},
      {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : vectors) {
    CHECK(base64UrlEncode(plain) == encoded);
    CHECK(decoded(encoded) == plain);
  }
  // The URL-safe alphabet: '-' and '_' where base64 has '+' and '/'.
  CHECK(base64UrlEncode("\xfb\xff") == "-_8");
  CHECK(decoded("-_8") == "\xfb\xff");
}

TEST_CASE("base64url round-trips arbitrary bytes of every length") {
  std::mt19937 rng(7);
  for (size_t len = 0; len < 200; ++len) {
    std::string bytes(len, '\0');
    for (auto& b : bytes) b = static_cast<char>(rng() & 0xff);
    const std::string text = base64UrlEncode(bytes);
    CHECK(text.size() == (len * 4 + 2) / 3);
    CHECK(text.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
          std::string::npos);
    CHECK(decoded(text) == bytes);
  }
}

TEST_CASE("base64url decoding refuses padding, other alphabets and non-canonical tails") {
  CHECK_FALSE(decodes("Zg=="));    // padding
  CHECK_FALSE(decodes("Zm9vYg="));
  CHECK_FALSE(decodes("Zm+v"));    // standard base64 alphabet
  CHECK_FALSE(decodes("Zm/v"));
  CHECK_FALSE(decodes("Zm9 v"));   // whitespace
  CHECK_FALSE(decodes("Zm9v\n"));
  CHECK_FALSE(decodes(std::string_view("Zm\0v", 4)));
  CHECK_FALSE(decodes("Z"));       // 4k+1 characters cannot be bytes
  CHECK_FALSE(decodes("A"));       // ... even when the stray 6 bits are zero
  CHECK_FALSE(decodes("Zm9vY"));
  CHECK_FALSE(decodes("Zm9vA"));
  // "Zg" is 'f'; "Zh" carries the same byte plus a non-zero unused bit: a second spelling.
  CHECK_FALSE(decodes("Zh"));
  CHECK_FALSE(decodes("Zm9"));     // canonical is "Zm8"
  CHECK(decodes("Zm8"));
}
