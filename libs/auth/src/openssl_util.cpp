#include "openssl_util.h"

#include <openssl/core_names.h>
#include <openssl/params.h>

#include <limits>
#include <stdexcept>

namespace tickstream::auth::ossl {
namespace {

// Never prompt on the terminal for a passphrase: an encrypted key is a configuration error.
int noPassphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*u*/) { return 0; }

Bio memBio(std::string_view pem, const std::string& what) {
  if (pem.size() > static_cast<size_t>(std::numeric_limits<int>::max())) {
    throw std::invalid_argument(what + " is too large");
  }
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) throw std::runtime_error(what + ": BIO_new_mem_buf failed: " + lastError());
  return bio;
}

Pkey checkedRsa(Pkey key, const std::string& what, const char* kind) {
  if (!key) {
    throw std::invalid_argument(what + " is not a PEM " + kind + ": " + lastError());
  }
  // EVP_PKEY_is_a(.., "RSA") is false for RSA-PSS keys, which RS256 (PKCS#1 v1.5) must not use.
  if (EVP_PKEY_is_a(key.get(), "RSA") != 1) {
    throw std::invalid_argument(what + " is not an RSA key (RS256 needs one)");
  }
  const int bits = EVP_PKEY_get_bits(key.get());
  if (bits < kMinRsaBits) {
    throw std::invalid_argument(what + " is a " + std::to_string(bits) +
                                "-bit RSA key; RS256 needs >= 2048 bits (RFC 7518 section 3.3)");
  }
  return key;
}

}  // namespace

std::string lastError() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return {};
  char buf[256];
  ERR_error_string_n(code, buf, sizeof buf);
  return buf;
}

Pkey loadRsaPublicKey(std::string_view pem, const std::string& what) {
  ERR_clear_error();
  Bio bio = memBio(pem, what);
  return checkedRsa(Pkey(PEM_read_bio_PUBKEY(bio.get(), nullptr, noPassphrase, nullptr)), what,
                    "public key (BEGIN PUBLIC KEY)");
}

Pkey loadRsaPrivateKey(std::string_view pem, const std::string& what) {
  ERR_clear_error();
  Bio bio = memBio(pem, what);
  return checkedRsa(Pkey(PEM_read_bio_PrivateKey(bio.get(), nullptr, noPassphrase, nullptr)), what,
                    "unencrypted private key");
}

Mac fetchHmac() {
  Mac mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  if (!mac) throw std::runtime_error("OpenSSL has no HMAC: " + lastError());
  return mac;
}

bool hmacSha256(EVP_MAC* mac, std::string_view key, std::string_view data,
                unsigned char (&out)[32]) noexcept {
  MacCtx ctx(EVP_MAC_CTX_new(mac));
  if (!ctx) return false;
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_end(),
  };
  size_t len = 0;
  const bool ok =
      EVP_MAC_init(ctx.get(), reinterpret_cast<const unsigned char*>(key.data()), key.size(), params) == 1 &&
      EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1 &&
      EVP_MAC_final(ctx.get(), out, &len, sizeof out) == 1 && len == sizeof out;
  if (!ok) ERR_clear_error();
  return ok;
}

}  // namespace tickstream::auth::ossl
