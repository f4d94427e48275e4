#pragma once

// OpenSSL ownership and key loading shared by the verifier and the signer (private header).

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <memory>
#include <string>
#include <string_view>

namespace tickstream::auth::ossl {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* p) const noexcept { EVP_MD_CTX_free(p); }
};
struct MacFree {
  void operator()(EVP_MAC* p) const noexcept { EVP_MAC_free(p); }
};
struct MacCtxFree {
  void operator()(EVP_MAC_CTX* p) const noexcept { EVP_MAC_CTX_free(p); }
};
struct BioFree {
  void operator()(BIO* p) const noexcept { BIO_free(p); }
};

using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;
using Mac = std::unique_ptr<EVP_MAC, MacFree>;
using MacCtx = std::unique_ptr<EVP_MAC_CTX, MacCtxFree>;
using Bio = std::unique_ptr<BIO, BioFree>;

// RFC 7518 §3.2: an HS256 key MUST be at least as long as the hash output.
inline constexpr size_t kMinHmacKeyBytes = 32;
// RFC 7518 §3.3: an RS256 key MUST be 2048 bits or larger.
inline constexpr int kMinRsaBits = 2048;

// The oldest error on this thread's OpenSSL queue as text (empty if none); clears the queue.
std::string lastError();

// Loads an RSA public key from PEM ("BEGIN PUBLIC KEY"). Throws std::invalid_argument whose
// message starts with `what` (the config field) if it is not one, or is shorter than 2048 bits.
Pkey loadRsaPublicKey(std::string_view pem, const std::string& what);
// Loads an unencrypted RSA private key from PEM; same errors as loadRsaPublicKey.
Pkey loadRsaPrivateKey(std::string_view pem, const std::string& what);

// Fetches the HMAC implementation once; throws std::runtime_error if OpenSSL has none.
Mac fetchHmac();
// HMAC-SHA-256 of `data` under `key` into `out` (32 bytes). False if OpenSSL fails.
bool hmacSha256(EVP_MAC* mac, std::string_view key, std::string_view data, unsigned char (&out)[32]) noexcept;

}  // namespace tickstream::auth::ossl
