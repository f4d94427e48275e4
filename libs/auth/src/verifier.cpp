#include <nlohmann/json.hpp>
#include <openssl/crypto.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <utility>

#include "openssl_util.h"
#include "tickstream/auth/base64url.h"
#include "tickstream/auth/jwt.h"

namespace tickstream::auth {

using json = nlohmann::json;

struct Verifier::Impl {
  std::string hs256_secret;
  ossl::Mac hmac;        // set iff hs256_secret is
  ossl::Pkey rsa;        // null: RS256 refused
  size_t rsa_sig_bytes = 0;
  std::string issuer;
  std::string audience;
  int64_t leeway = 0;
  bool require_expiry = true;

  ~Impl() { OPENSSL_cleanse(hs256_secret.data(), hs256_secret.size()); }
};

namespace {

constexpr int64_t kMaxLeewaySeconds = 600;

void require(bool ok, const std::string& message) {
  if (!ok) throw std::invalid_argument("invalid auth config: " + message);
}

int64_t saturatingAdd(int64_t a, int64_t b) noexcept {
  int64_t r = 0;
  if (__builtin_add_overflow(a, b, &r)) {
    return b > 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
  }
  return r;
}

// A NumericDate (RFC 7519 §2): any JSON number, fractions floored, clamped to int64.
bool numericDate(const json& v, int64_t& out) {
  if (v.is_number_unsigned()) {
    const auto u = v.get<uint64_t>();
    out = u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ? std::numeric_limits<int64_t>::max()
                                                                          : static_cast<int64_t>(u);
    return true;
  }
  if (v.is_number_integer()) {
    out = v.get<int64_t>();
    return true;
  }
  if (v.is_number_float()) {
    const double d = std::floor(v.get<double>());
    if (!std::isfinite(d)) return false;
    // 2^63 is exactly representable; anything at or beyond it saturates.
    constexpr double kLimit = 9223372036854775808.0;
    out = d >= kLimit ? std::numeric_limits<int64_t>::max()
          : d < -kLimit ? std::numeric_limits<int64_t>::min()
                        : static_cast<int64_t>(d);
    return true;
  }
  return false;
}

bool stringArray(const json& v, std::vector<std::string>& out) {
  if (!v.is_array()) return false;
  out.clear();
  out.reserve(v.size());
  for (const auto& e : v) {
    if (!e.is_string()) return false;
    out.push_back(e.get<std::string>());
  }
  return true;
}

// Parses a base64url part holding a JSON object; null json on any failure.
json decodeObject(std::string_view part, std::string& scratch) {
  if (part.empty() || !base64UrlDecode(part, scratch)) return json();
  json j = json::parse(scratch, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return json();
  return j;
}

// The claims the platform reads, type-checked. False: a claim of the wrong type (Malformed).
bool readClaims(const json& payload, Claims& c, bool& has_exp, bool& has_nbf) {
  has_exp = has_nbf = false;
  for (const auto& [name, value] : payload.items()) {
    if (name == "sub") {
      if (!value.is_string()) return false;
      c.subject = value.get<std::string>();
    } else if (name == "iss") {
      if (!value.is_string()) return false;
      c.issuer = value.get<std::string>();
    } else if (name == "aud") {
      if (value.is_string()) {
        c.audience.assign(1, value.get<std::string>());
      } else if (!stringArray(value, c.audience)) {
        return false;
      }
    } else if (name == "exp") {
      if (!numericDate(value, c.expires_at)) return false;
      has_exp = true;
    } else if (name == "nbf") {
      if (!numericDate(value, c.not_before)) return false;
      has_nbf = true;
    } else if (name == "iat") {
      if (!numericDate(value, c.issued_at)) return false;
    } else if (name == "roles") {
      if (!stringArray(value, c.roles)) return false;
    } else if (name == "scope") {
      if (!value.is_string()) return false;
      c.scope = value.get<std::string>();
    }
  }
  return true;
}

VerifyResult fail(VerifyStatus s) { return VerifyResult{s, {}}; }

}  // namespace

std::string_view toString(Algorithm alg) noexcept {
  switch (alg) {
    case Algorithm::HS256: return "HS256";
    case Algorithm::RS256: return "RS256";
  }
  return "unknown";
}

std::string_view toString(VerifyStatus status) noexcept {
  switch (status) {
    case VerifyStatus::Ok: return "ok";
    case VerifyStatus::Malformed: return "malformed";
    case VerifyStatus::UnsupportedAlgorithm: return "unsupported_algorithm";
    case VerifyStatus::BadSignature: return "bad_signature";
    case VerifyStatus::Expired: return "expired";
    case VerifyStatus::NotYetValid: return "not_yet_valid";
    case VerifyStatus::WrongIssuer: return "wrong_issuer";
    case VerifyStatus::WrongAudience: return "wrong_audience";
    case VerifyStatus::MissingSubject: return "missing_subject";
    case VerifyStatus::MissingExpiry: return "missing_expiry";
  }
  return "unknown";
}

bool Claims::hasRole(std::string_view role) const noexcept {
  return std::find(roles.begin(), roles.end(), role) != roles.end();
}

bool Claims::hasScope(std::string_view s) const noexcept {
  if (s.empty()) return false;
  std::string_view rest = scope;
  while (!rest.empty()) {
    const size_t end = rest.find(' ');
    if (rest.substr(0, end) == s) return true;
    if (end == std::string_view::npos) break;
    rest.remove_prefix(end + 1);
  }
  return false;
}

void VerifierConfig::validate() const {
  require(!hs256_secret.empty() || !rs256_public_key_pem.empty(),
          "VerifierConfig needs a key: set hs256_secret and/or rs256_public_key_pem");
  require(hs256_secret.empty() || hs256_secret.size() >= ossl::kMinHmacKeyBytes,
          "VerifierConfig.hs256_secret must be at least 32 bytes (RFC 7518 section 3.2), got " +
              std::to_string(hs256_secret.size()));
  require(leeway_seconds >= 0 && leeway_seconds <= kMaxLeewaySeconds,
          "VerifierConfig.leeway_seconds must be in [0, " + std::to_string(kMaxLeewaySeconds) + "], got " +
              std::to_string(leeway_seconds));
  if (!rs256_public_key_pem.empty()) {
    // Parsed here too so that a bad key fails validation, not only construction.
    (void)ossl::loadRsaPublicKey(rs256_public_key_pem, "invalid auth config: VerifierConfig.rs256_public_key_pem");
  }
}

Verifier::Verifier(std::shared_ptr<const Impl> impl) noexcept : impl_(std::move(impl)) {}

Verifier Verifier::fromConfig(const VerifierConfig& config) {
  config.validate();
  auto impl = std::make_shared<Impl>();
  if (!config.hs256_secret.empty()) {
    impl->hs256_secret = config.hs256_secret;
    impl->hmac = ossl::fetchHmac();
  }
  if (!config.rs256_public_key_pem.empty()) {
    impl->rsa = ossl::loadRsaPublicKey(config.rs256_public_key_pem,
                                       "invalid auth config: VerifierConfig.rs256_public_key_pem");
    impl->rsa_sig_bytes = static_cast<size_t>(EVP_PKEY_get_size(impl->rsa.get()));
  }
  impl->issuer = config.issuer;
  impl->audience = config.audience;
  impl->leeway = config.leeway_seconds;
  impl->require_expiry = config.require_expiry;
  return Verifier(std::move(impl));
}

bool Verifier::accepts(Algorithm alg) const noexcept {
  switch (alg) {
    case Algorithm::HS256: return impl_->hmac != nullptr;
    case Algorithm::RS256: return impl_->rsa != nullptr;
  }
  return false;
}

VerifyResult Verifier::verify(std::string_view token, int64_t now) const noexcept {
  try {
    const Impl& k = *impl_;
    if (token.empty() || token.size() > kMaxTokenBytes) return fail(VerifyStatus::Malformed);
    const size_t dot1 = token.find('.');
    if (dot1 == std::string_view::npos) return fail(VerifyStatus::Malformed);
    const size_t dot2 = token.find('.', dot1 + 1);
    // Exactly three parts: a JWE (five parts) or a JWS JSON serialization is not accepted.
    if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
      return fail(VerifyStatus::Malformed);
    }
    const std::string_view header_b64 = token.substr(0, dot1);
    const std::string_view payload_b64 = token.substr(dot1 + 1, dot2 - dot1 - 1);
    const std::string_view signing_input = token.substr(0, dot2);
    const std::string_view signature_b64 = token.substr(dot2 + 1);

    std::string scratch;
    const json header = decodeObject(header_b64, scratch);
    if (!header.is_object()) return fail(VerifyStatus::Malformed);
    // We understand no JWS extension, so a token that declares one critical is refused
    // (RFC 7515 §4.1.11); this also refuses unencoded payloads (RFC 7797 "b64": false).
    if (header.contains("crit")) return fail(VerifyStatus::Malformed);
    const auto alg_it = header.find("alg");
    if (alg_it == header.end() || !alg_it->is_string()) return fail(VerifyStatus::Malformed);
    const auto& alg = alg_it->get_ref<const std::string&>();

    // The key is chosen by `alg` and the key's own type, never by anything else in the header
    // (`kid`, `jwk`, `jku`, `x5u` are ignored): an HS256 token is only checked against the HMAC
    // secret, so a token "signed" with the RSA public key's bytes as an HMAC secret cannot
    // verify; `none` has no key and is refused.
    const bool hs256 = alg == "HS256";
    const bool usable = (hs256 && k.hmac) || (alg == "RS256" && k.rsa);
    if (!usable) return fail(VerifyStatus::UnsupportedAlgorithm);

    std::string signature;
    if (!base64UrlDecode(signature_b64, signature)) return fail(VerifyStatus::Malformed);
    if (hs256) {
      unsigned char mac[32];
      if (!ossl::hmacSha256(k.hmac.get(), k.hs256_secret, signing_input, mac)) {
        return fail(VerifyStatus::BadSignature);
      }
      if (signature.size() != sizeof mac || CRYPTO_memcmp(signature.data(), mac, sizeof mac) != 0) {
        return fail(VerifyStatus::BadSignature);
      }
    } else {
      if (signature.size() != k.rsa_sig_bytes) return fail(VerifyStatus::BadSignature);
      ossl::MdCtx ctx(EVP_MD_CTX_new());
      const bool ok =
          ctx &&
          EVP_DigestVerifyInit_ex(ctx.get(), nullptr, "SHA256", nullptr, nullptr, k.rsa.get(), nullptr) == 1 &&
          EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                           reinterpret_cast<const unsigned char*>(signing_input.data()),
                           signing_input.size()) == 1;
      if (!ok) {
        ERR_clear_error();  // a failed verification queues errors on this thread
        return fail(VerifyStatus::BadSignature);
      }
    }

    // Only now, authenticated, is the payload parsed.
    const json payload = decodeObject(payload_b64, scratch);
    if (!payload.is_object()) return fail(VerifyStatus::Malformed);
    VerifyResult r;
    bool has_exp = false;
    bool has_nbf = false;
    if (!readClaims(payload, r.claims, has_exp, has_nbf)) return fail(VerifyStatus::Malformed);

    const Claims& c = r.claims;
    if (!has_exp && k.require_expiry) return fail(VerifyStatus::MissingExpiry);
    // RFC 7519 §4.1.4: valid only while now < exp; the leeway absorbs clock skew.
    if (has_exp && now >= saturatingAdd(c.expires_at, k.leeway)) return fail(VerifyStatus::Expired);
    if (has_nbf && saturatingAdd(now, k.leeway) < c.not_before) return fail(VerifyStatus::NotYetValid);
    if (!k.issuer.empty() && c.issuer != k.issuer) return fail(VerifyStatus::WrongIssuer);
    if (!k.audience.empty() &&
        std::find(c.audience.begin(), c.audience.end(), k.audience) == c.audience.end()) {
      return fail(VerifyStatus::WrongAudience);
    }
    if (c.subject.empty()) return fail(VerifyStatus::MissingSubject);
    r.status = VerifyStatus::Ok;
    return r;
  } catch (...) {
    return fail(VerifyStatus::Malformed);
  }
}

}  // namespace tickstream::auth
