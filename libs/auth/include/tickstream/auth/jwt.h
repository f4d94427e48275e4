#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tickstream::auth {

// JSON Web Tokens (RFC 7519) in JWS compact serialization (RFC 7515), signed with HS256 or
// RS256 (RFC 7518 §3.2, §3.3). The token format, the claims and the errors are specified for
// clients in docs/auth.md.

enum class Algorithm : uint8_t { HS256, RS256 };

[[nodiscard]] std::string_view toString(Algorithm alg) noexcept;

// Longer tokens are rejected as Malformed before any decoding: bounds the work an
// unauthenticated client can cause. A token with a few roles is ~300-600 bytes.
inline constexpr size_t kMaxTokenBytes = 8192;

// The registered claims the platform reads, plus `roles` and `scope`. Times are NumericDate:
// seconds since the Unix epoch (a fractional value is truncated towards negative infinity).
struct Claims {
  std::string subject;                 // `sub`: the user (or service) the token speaks for
  std::string issuer;                  // `iss`; empty if absent
  std::vector<std::string> audience;   // `aud` (a string is one element); empty if absent
  int64_t expires_at = 0;              // `exp`; 0 if absent
  int64_t not_before = 0;              // `nbf`; 0 if absent
  int64_t issued_at = 0;               // `iat`; 0 if absent
  std::vector<std::string> roles;      // `roles`: array of strings; empty if absent
  std::string scope;                   // `scope`: space-separated scopes (RFC 8693 §4.2); may be empty

  [[nodiscard]] bool hasRole(std::string_view role) const noexcept;
  // Whether `scope` lists `s` as one of its space-separated words.
  [[nodiscard]] bool hasScope(std::string_view s) const noexcept;
};

// Why a token was refused. Stable names (toString) for logs and metrics labels.
enum class VerifyStatus : uint8_t {
  Ok,
  Malformed,             // not three base64url parts of JSON objects, a claim of the wrong type,
                         // a `crit` header, or longer than kMaxTokenBytes
  UnsupportedAlgorithm,  // `alg` is not HS256/RS256 (`none` included), or no key is configured for it
  BadSignature,          // the signature does not verify with the configured key for `alg`
  Expired,               // now >= exp + leeway
  NotYetValid,           // now + leeway < nbf
  WrongIssuer,           // an issuer is configured and `iss` is absent or different
  WrongAudience,         // an audience is configured and `aud` is absent or does not contain it
  MissingSubject,        // `sub` absent or empty
  MissingExpiry,         // `exp` absent while VerifierConfig::require_expiry
};

[[nodiscard]] std::string_view toString(VerifyStatus status) noexcept;

struct VerifyResult {
  VerifyStatus status = VerifyStatus::Malformed;
  Claims claims;  // filled only when status == Ok

  [[nodiscard]] bool ok() const noexcept { return status == VerifyStatus::Ok; }
};

// Which tokens a Verifier accepts. Validated once by Verifier::fromConfig.
struct VerifierConfig {
  std::string hs256_secret;          // HS256 shared secret, raw bytes, >= 32 bytes; empty: HS256 refused
  std::string rs256_public_key_pem;  // RS256 key, PEM "BEGIN PUBLIC KEY", RSA >= 2048 bits; empty: RS256 refused
  std::string issuer;                // required `iss`; empty: not checked
  std::string audience;              // required member of `aud`; empty: not checked
  int64_t leeway_seconds = 30;       // clock skew allowed on exp and nbf; 0..600
  bool require_expiry = true;        // refuse tokens without `exp` (they would never expire)

  // Throws std::invalid_argument naming the offending field. At least one key is required.
  void validate() const;
};

// Verifies tokens against the configured keys. Immutable after construction and cheap to copy
// (the keys are shared), so one instance can serve every thread. verify() is called once per
// session (the WebSocket Auth message, a gRPC call's metadata), not per market-data message: it
// allocates for the decoded parts and the JSON.
class Verifier {
 public:
  // Validates `config` and loads its keys. Throws std::invalid_argument naming the field.
  static Verifier fromConfig(const VerifierConfig& config);

  // Checks, in this order: size and shape, header (`alg` must be HS256 or RS256 with a key
  // configured for it; the key is chosen by `alg` alone, never by `kid`/`jwk`/`jku`), the
  // signature, the claims' types, exp/nbf against `now_unix_seconds` with the leeway, iss, aud,
  // sub. The first failure is the status. Never throws (an allocation failure is Malformed).
  [[nodiscard]] VerifyResult verify(std::string_view token, int64_t now_unix_seconds) const noexcept;

  [[nodiscard]] bool accepts(Algorithm alg) const noexcept;

 private:
  struct Impl;
  explicit Verifier(std::shared_ptr<const Impl> impl) noexcept;
  std::shared_ptr<const Impl> impl_;
};

// Mints tokens: for tests, `tsctl token` and development. Production tokens come from the
// identity provider; the platform only verifies them. Immutable and shareable like Verifier.
class Signer {
 public:
  // Throws std::invalid_argument if the secret is shorter than 32 bytes (RFC 7518 §3.2).
  static Signer hs256(std::string_view secret);
  // An RSA private key in PEM (PKCS#8 "BEGIN PRIVATE KEY" or "BEGIN RSA PRIVATE KEY"), not
  // encrypted, >= 2048 bits. Throws std::invalid_argument otherwise.
  static Signer rs256(std::string_view private_key_pem);

  // header.payload.signature with header {"alg":...,"typ":"JWT"} and the claims that are set
  // (empty strings and vectors and zero times are left out; one audience is written as a
  // string). Throws std::runtime_error if OpenSSL fails.
  [[nodiscard]] std::string sign(const Claims& claims) const;
  // The same with `payload` as the claims set, byte for byte (tests use it for odd claims).
  [[nodiscard]] std::string signPayload(std::string_view payload) const;

  [[nodiscard]] Algorithm algorithm() const noexcept;

 private:
  struct Impl;
  explicit Signer(std::shared_ptr<const Impl> impl) noexcept;
  std::shared_ptr<const Impl> impl_;
};

}  // namespace tickstream::auth
