#pragma once

#include <string>
#include <string_view>

namespace tickstream::auth {

// base64url (RFC 4648 §5) without padding, as JWS compact serialization uses it (RFC 7515 §2).

// Encodes `bytes` with the URL-safe alphabet and no '=' padding.
[[nodiscard]] std::string base64UrlEncode(std::string_view bytes);

// Decodes `text` into `out` (replacing its contents; the buffer is reused). Strict: only
// [A-Za-z0-9_-], no padding, no whitespace, no length of 4k+1, and the unused low bits of the
// last character must be zero, so every byte string has exactly one accepted encoding (a token
// cannot be altered without changing the signed bytes). Returns false, leaving `out`
// unspecified, if `text` is not such an encoding.
[[nodiscard]] bool base64UrlDecode(std::string_view text, std::string& out);

}  // namespace tickstream::auth
