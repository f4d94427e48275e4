#include <nlohmann/json.hpp>
#include <openssl/crypto.h>

#include <stdexcept>
#include <utility>

#include "openssl_util.h"
#include "tickstream/auth/base64url.h"
#include "tickstream/auth/jwt.h"

namespace tickstream::auth {

using json = nlohmann::json;

struct Signer::Impl {
  Algorithm alg = Algorithm::HS256;
  std::string hs256_secret;
  ossl::Mac hmac;
  ossl::Pkey rsa;

  ~Impl() { OPENSSL_cleanse(hs256_secret.data(), hs256_secret.size()); }
};

Signer::Signer(std::shared_ptr<const Impl> impl) noexcept : impl_(std::move(impl)) {}

Signer Signer::hs256(std::string_view secret) {
  if (secret.size() < ossl::kMinHmacKeyBytes) {
    throw std::invalid_argument("HS256 secret must be at least 32 bytes (RFC 7518 section 3.2), got " +
                                std::to_string(secret.size()));
  }
  auto impl = std::make_shared<Impl>();
  impl->alg = Algorithm::HS256;
  impl->hs256_secret = std::string(secret);
  impl->hmac = ossl::fetchHmac();
  return Signer(std::move(impl));
}

Signer Signer::rs256(std::string_view private_key_pem) {
  auto impl = std::make_shared<Impl>();
  impl->alg = Algorithm::RS256;
  impl->rsa = ossl::loadRsaPrivateKey(private_key_pem, "RS256 private key");
  return Signer(std::move(impl));
}

Algorithm Signer::algorithm() const noexcept { return impl_->alg; }

std::string Signer::sign(const Claims& c) const {
  json payload = json::object();
  if (!c.subject.empty()) payload["sub"] = c.subject;
  if (!c.issuer.empty()) payload["iss"] = c.issuer;
  if (c.audience.size() == 1) {
    payload["aud"] = c.audience.front();
  } else if (!c.audience.empty()) {
    payload["aud"] = c.audience;
  }
  if (c.expires_at != 0) payload["exp"] = c.expires_at;
  if (c.not_before != 0) payload["nbf"] = c.not_before;
  if (c.issued_at != 0) payload["iat"] = c.issued_at;
  if (!c.roles.empty()) payload["roles"] = c.roles;
  if (!c.scope.empty()) payload["scope"] = c.scope;
  return signPayload(payload.dump());
}

std::string Signer::signPayload(std::string_view payload) const {
  const Impl& k = *impl_;
  const json header = {{"alg", std::string(toString(k.alg))}, {"typ", "JWT"}};
  std::string token = base64UrlEncode(header.dump());
  token += '.';
  token += base64UrlEncode(payload);
  const std::string_view signing_input = token;

  std::string signature;
  if (k.alg == Algorithm::HS256) {
    unsigned char mac[32];
    if (!ossl::hmacSha256(k.hmac.get(), k.hs256_secret, signing_input, mac)) {
      throw std::runtime_error("HS256 signing failed");
    }
    signature.assign(reinterpret_cast<const char*>(mac), sizeof mac);
  } else {
    ossl::MdCtx ctx(EVP_MD_CTX_new());
    size_t len = 0;
    auto sign = [&](unsigned char* out) {
      return EVP_DigestSign(ctx.get(), out, &len, reinterpret_cast<const unsigned char*>(signing_input.data()),
                            signing_input.size()) == 1;
    };
    if (!ctx ||
        EVP_DigestSignInit_ex(ctx.get(), nullptr, "SHA256", nullptr, nullptr, k.rsa.get(), nullptr) != 1 ||
        !sign(nullptr)) {
      throw std::runtime_error("RS256 signing failed: " + ossl::lastError());
    }
    signature.resize(len);
    if (!sign(reinterpret_cast<unsigned char*>(signature.data()))) {
      throw std::runtime_error("RS256 signing failed: " + ossl::lastError());
    }
    signature.resize(len);
  }
  token += '.';
  token += base64UrlEncode(signature);
  return token;
}

}  // namespace tickstream::auth
