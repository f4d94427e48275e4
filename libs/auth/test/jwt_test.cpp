#include <catch2/catch.hpp>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include <cstdint>
#include <limits>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "tickstream/auth/base64url.h"
#include "tickstream/auth/jwt.h"

using namespace tickstream::auth;

namespace {

// A throwaway RSA-2048 key for these tests only (generated with `openssl genpkey`); it protects
// nothing. Shipping it keeps the suite fast and deterministic; one case generates a fresh key.
constexpr const char* kTestPrivatePem = R"(
-----BEGIN PRIVATE KEY-----
MIIEvwIBADANBgkqhkiG9w0BAQEFAASCBKkwggSlAgEAAoIBAQDvfkR+qwNJzr3i
hFzrYsZ071QBAOJNNS3QizdKJ6fE0ExelsDP5qSj5Hoeci1ZHxkWUPskl2nfLiWn
fhKy7G+ofEbeEghyRHoekylAKu8UvllQTFdZoPMdHeNT1vEFN3+sMvjer+buXqpZ
UntFlryFarYOPU/tRZeoOiG3Vu99jIiJYDNf5jn7W1IPzmlIxo4pIzlqdNebB/FK
ctAsn2p8f0Vb/fG1Fkmq1aBLUTKHvUR1ThsGfegtrmJotpyntPGkVetqUOFrvJ8A
xDAQ9QBTL1w+sDSwcG1bmQ/rD2To5jUXZNtIAEdciShANGMVS4AX3GQdt/bkJrZS
2ITvobUdAgMBAAECggEAAN06FDf5JQVWyBDaduS19U7XmInaUlJ6D/l917ZaZbWJ
1eB/NNRRqRIU+8SefCP4iuYdjxfwE/2xHYaazYmxpqq5srzqh1In2OmGxBmusKU1
+IJr7Fq9fuC/pNoxkWdhpTUeObr1XeJkFX1L4FBzDtN9RPG13dEubMfMvpAMkcmH
aoj986nIjCqWWS3fPfEtE7Rs4EOZ5npMA5Rha+eIgy4hEfYrqLRuuUh/cbJPjU3J
1n7IA1oxrvDVxKf2JAq1yWfXcFgnAemNAz4oXiKrRgBkBt8RhxS8Hit+Qu+LKr29
1L4oXJwkmlWxtrX8mQy9dfw1m4P3YxpresLuc8R+/QKBgQD8agGu3g7ZKxVhLEcA
EVvSaWHIgI+DiaG13JHsUsEGWNMkB7PpENy2JNhWNa8CD4PXzG+RjYTIJ78O64+C
tU7oUtpDkLZKKiVZ/2B5/I7vyq3iqPsrgKUjhh/SWqHOgfqUoBPqCFQuP7B9YNaB
L2aUfu0Twx5aZhABGfDytpbwhwKBgQDy5UULckQohzhAf1GsuWNq0+vtFZ9lfd1Y
akw/752lTvxkQUu3HUcLVeHEiC3B/vCBNBVil2PJ1n6VywM4cWgm2HOKR1ZKp4vp
0uQD5PZCo+LTq627aR7abyV2zffOw1GdTlUozfnDr5BFtajnOWcS6esYW+iaEFkZ
5EGFarUKOwKBgQCx14KuEVjG3BspJwgzXQej/Yneue3j0LH2L51Es526ehTxmtfA
y5emYdlnDFXtDr9m6WxmUh6O46oyufeYMWSSPeX4mtpE8OL2QP9Zk3+mJdhUDZlC
Mlan69U54Y+Fr4C8/Phq+UlOeKNCA1u/E4Wj9LXXKa+WI7j8/akNaWZ5uwKBgQDB
JoZAMu52WAjoaRZ2xrmDEuCymJY3a95fV7Aoy4/OC8ByrOXbyIFdRz8QPMY+VU/F
PrievQpST6o7zcNS2APdmBRQ6qd5GEEPgG9nlWQq3A4dCpFNzasGQopFLkaX+gPl
lovrtdeev/Z3KJ0WujP3+2HC7htKoCNqjnN398HdTwKBgQD41BBqJw8uuRWy2gfm
HHVcyAb75ASzaRDopGWWXQCTe/cKia+IhNUYNHkcxbvN+glu5zZNSscX63GPIVwu
NBGuHRoECbqO1vmMNmbq8ajWSmyUId6BihDXOhG2LFZJjd0pb+gEn5BM2vCTXMqh
ypT17Qw7z1MRDYsZ8sxpdQ7oPQ==
-----END PRIVATE KEY-----
)";

constexpr const char* kTestPublicPem = R"(
-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA735EfqsDSc694oRc62LG
dO9UAQDiTTUt0Is3SienxNBMXpbAz+ako+R6HnItWR8ZFlD7JJdp3y4lp34Ssuxv
qHxG3hIIckR6HpMpQCrvFL5ZUExXWaDzHR3jU9bxBTd/rDL43q/m7l6qWVJ7RZa8
hWq2Dj1P7UWXqDoht1bvfYyIiWAzX+Y5+1tSD85pSMaOKSM5anTXmwfxSnLQLJ9q
fH9FW/3xtRZJqtWgS1Eyh71EdU4bBn3oLa5iaLacp7TxpFXralDha7yfAMQwEPUA
Uy9cPrA0sHBtW5kP6w9k6OY1F2TbSABHXIkoQDRjFUuAF9xkHbf25Ca2UtiE76G1
HQIDAQAB
-----END PUBLIC KEY-----
)";

constexpr const char* kSecret = "tickstream-unit-test-secret-0123456789";  // 38 bytes
constexpr int64_t kNow = 1'700'000'000;

// RFC 7515 Appendix A.1: HS256 with the key of Appendix A.1.1 (a JWK "k", base64url).
constexpr const char* kRfcHsToken =
    "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
    ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
    ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
constexpr const char* kRfcHsKey =
    "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";
// RFC 7515 Appendix A.2: RS256 over the same payload, with the RSA key of Appendix A.2.1.
constexpr const char* kRfcRsToken =
    "eyJhbGciOiJSUzI1NiJ9"
    ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
    ".cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujG"
    "bds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K"
    "0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6"
    "LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw";
constexpr const char* kRfcRsModulus =
    "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4Ql"
    "L-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUs"
    "LA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoud"
    "F8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ";
constexpr int64_t kRfcExp = 1300819380;

std::string b64(std::string_view s) { return base64UrlEncode(s); }

std::string unb64(std::string_view s) {
  std::string out;
  REQUIRE(base64UrlDecode(s, out));
  return out;
}

// HMAC-SHA-256 computed here with OpenSSL's one-shot API, independently of the library, so
// tokens with any header can be built with a valid signature.
std::string hmac(std::string_view key, std::string_view data) {
  unsigned char out[32];
  size_t len = 0;
  REQUIRE(EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key.data(), key.size(),
                    reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, sizeof out,
                    &len) != nullptr);
  return std::string(reinterpret_cast<const char*>(out), len);
}

std::string hsToken(std::string_view header, std::string_view payload, std::string_view key = kSecret) {
  const std::string input = b64(header) + "." + b64(payload);
  return input + "." + b64(hmac(key, input));
}

VerifierConfig hsConfig() {
  VerifierConfig c;
  c.hs256_secret = kSecret;
  return c;
}

VerifierConfig rsConfig(std::string pem = kTestPublicPem) {
  VerifierConfig c;
  c.rs256_public_key_pem = std::move(pem);
  return c;
}

Claims aliceClaims() {
  Claims c;
  c.subject = "alice";
  c.issuer = "https://id.tickstream.test";
  c.audience = {"tickstream-gateway"};
  c.issued_at = kNow - 10;
  c.not_before = kNow - 10;
  c.expires_at = kNow + 3600;
  c.roles = {"trader", "viewer"};
  c.scope = "md:read orders:write";
  return c;
}

VerifyStatus verifyHs(std::string_view payload, int64_t now = kNow, VerifierConfig config = hsConfig()) {
  return Verifier::fromConfig(config).verify(hsToken(R"({"alg":"HS256","typ":"JWT"})", payload), now).status;
}

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

std::string publicPem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  REQUIRE(PEM_write_bio_PUBKEY(bio, key) == 1);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(n));
  BIO_free(bio);
  return pem;
}

std::string privatePem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  REQUIRE(PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr) == 1);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(n));
  BIO_free(bio);
  return pem;
}

Pkey generateRsa(unsigned bits) {
  Pkey key(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(bits)));
  REQUIRE(key);
  return key;
}

// The RFC 7515 A.2 public key (modulus n, e = 65537) as PEM, built from its JWK numbers.
std::string rfcRsaPublicPem() {
  const std::string n = unb64(kRfcRsModulus);
  BIGNUM* bn_n = BN_bin2bn(reinterpret_cast<const unsigned char*>(n.data()), static_cast<int>(n.size()), nullptr);
  BIGNUM* bn_e = BN_new();
  BN_set_word(bn_e, 65537);
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n);
  OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e);
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr);
  EVP_PKEY* raw = nullptr;
  REQUIRE(EVP_PKEY_fromdata_init(ctx) == 1);
  REQUIRE(EVP_PKEY_fromdata(ctx, &raw, EVP_PKEY_PUBLIC_KEY, params) == 1);
  Pkey key(raw);
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(bld);
  BN_free(bn_n);
  BN_free(bn_e);
  return publicPem(key.get());
}

// Replaces one character in the middle of part `part` (0..2) of a token with another valid one.
std::string flipCharInPart(const std::string& token, int part) {
  size_t begin = 0;
  for (int i = 0; i < part; ++i) begin = token.find('.', begin) + 1;
  const size_t end = std::min(token.find('.', begin), token.size());
  std::string t = token;
  char& c = t[begin + (end - begin) / 2];
  c = c == 'A' ? 'B' : 'A';
  return t;
}

std::string exceptionMessage(const VerifierConfig& config) {
  try {
    (void)Verifier::fromConfig(config);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "(no exception)";
}

}  // namespace

TEST_CASE("an HS256 token signed by Signer verifies and carries its claims") {
  const Claims in = aliceClaims();
  const std::string token = Signer::hs256(kSecret).sign(in);
  VerifierConfig config = hsConfig();
  config.issuer = in.issuer;
  config.audience = "tickstream-gateway";
  const VerifyResult r = Verifier::fromConfig(config).verify(token, kNow);
  REQUIRE(r.status == VerifyStatus::Ok);
  CHECK(r.ok());
  CHECK(r.claims.subject == "alice");
  CHECK(r.claims.issuer == in.issuer);
  CHECK(r.claims.audience == in.audience);
  CHECK(r.claims.expires_at == in.expires_at);
  CHECK(r.claims.not_before == in.not_before);
  CHECK(r.claims.issued_at == in.issued_at);
  CHECK(r.claims.roles == in.roles);
  CHECK(r.claims.scope == in.scope);
  CHECK(r.claims.hasRole("trader"));
  CHECK_FALSE(r.claims.hasRole("admin"));
  CHECK(r.claims.hasScope("orders:write"));
  CHECK(r.claims.hasScope("md:read"));
  CHECK_FALSE(r.claims.hasScope("orders"));
  CHECK_FALSE(r.claims.hasScope(""));
  // The header is the one documented in docs/auth.md.
  CHECK(unb64(token.substr(0, token.find('.'))) == R"({"alg":"HS256","typ":"JWT"})");
}

TEST_CASE("an RS256 token signed with the private key verifies with the public key") {
  const std::string token = Signer::rs256(kTestPrivatePem).sign(aliceClaims());
  CHECK(unb64(token.substr(0, token.find('.'))) == R"({"alg":"RS256","typ":"JWT"})");
  const VerifyResult r = Verifier::fromConfig(rsConfig()).verify(token, kNow);
  REQUIRE(r.status == VerifyStatus::Ok);
  CHECK(r.claims.subject == "alice");
  CHECK(r.claims.roles == std::vector<std::string>{"trader", "viewer"});
}

TEST_CASE("an RS256 round trip works with a freshly generated key and fails with another") {
  Pkey key = generateRsa(2048);
  Pkey other = generateRsa(2048);
  const std::string token = Signer::rs256(privatePem(key.get())).sign(aliceClaims());
  CHECK(Verifier::fromConfig(rsConfig(publicPem(key.get()))).verify(token, kNow).status == VerifyStatus::Ok);
  CHECK(Verifier::fromConfig(rsConfig(publicPem(other.get()))).verify(token, kNow).status ==
        VerifyStatus::BadSignature);
}

TEST_CASE("the RFC 7515 A.1 HS256 example verifies with its key, and expires at its exp") {
  VerifierConfig config;
  config.hs256_secret = unb64(kRfcHsKey);
  config.issuer = "joe";
  const Verifier v = Verifier::fromConfig(config);
  // The signature is good: verification gets past it, to the claims (the example has no `sub`).
  CHECK(v.verify(kRfcHsToken, kRfcExp - 3600).status == VerifyStatus::MissingSubject);
  // exp with the 30 s leeway: valid while now < exp + 30.
  CHECK(v.verify(kRfcHsToken, kRfcExp + 29).status == VerifyStatus::MissingSubject);
  CHECK(v.verify(kRfcHsToken, kRfcExp + 30).status == VerifyStatus::Expired);
  CHECK(v.verify(kRfcHsToken, kNow).status == VerifyStatus::Expired);
  // Its iss is checked.
  config.issuer = "bob";
  CHECK(Verifier::fromConfig(config).verify(kRfcHsToken, kRfcExp - 3600).status == VerifyStatus::WrongIssuer);
  // One bit of the key changed: the signature no longer verifies.
  std::string key = unb64(kRfcHsKey);
  key[0] = static_cast<char>(key[0] ^ 1);
  config.hs256_secret = key;
  CHECK(Verifier::fromConfig(config).verify(kRfcHsToken, kRfcExp - 3600).status == VerifyStatus::BadSignature);
}

TEST_CASE("the RFC 7515 A.2 RS256 example verifies with its public key") {
  VerifierConfig config = rsConfig(rfcRsaPublicPem());
  config.issuer = "joe";
  const Verifier v = Verifier::fromConfig(config);
  CHECK(v.verify(kRfcRsToken, kRfcExp - 3600).status == VerifyStatus::MissingSubject);
  CHECK(v.verify(kRfcRsToken, kRfcExp + 30).status == VerifyStatus::Expired);
  CHECK(v.verify(flipCharInPart(kRfcRsToken, 2), kRfcExp - 3600).status == VerifyStatus::BadSignature);
  CHECK(v.verify(flipCharInPart(kRfcRsToken, 1), kRfcExp - 3600).status == VerifyStatus::BadSignature);
  const std::string rs_input(std::string_view(kRfcRsToken).substr(0, std::string_view(kRfcRsToken).rfind('.')));
  const std::string rs_sig = unb64(std::string_view(kRfcRsToken).substr(rs_input.size() + 1));
  REQUIRE(rs_sig.size() == 256);
  for (size_t i : {size_t{0}, size_t{1}, size_t{128}, size_t{254}, size_t{255}}) {
    std::string bad = rs_sig;
    bad[i] = static_cast<char>(bad[i] ^ 1);
    CAPTURE(i);
    CHECK(v.verify(rs_input + "." + b64(bad), kRfcExp - 3600).status == VerifyStatus::BadSignature);
  }
  // Not with our test key.
  CHECK(Verifier::fromConfig(rsConfig()).verify(kRfcRsToken, kRfcExp - 3600).status == VerifyStatus::BadSignature);
}

TEST_CASE("a tampered payload, header or signature does not verify") {
  const std::string token = Signer::hs256(kSecret).sign(aliceClaims());
  const Verifier v = Verifier::fromConfig(hsConfig());
  REQUIRE(v.verify(token, kNow).ok());

  const size_t dot1 = token.find('.');
  const size_t dot2 = token.find('.', dot1 + 1);
  // Someone else's claims with alice's signature.
  const std::string forged_payload = b64(R"({"exp":1700003600,"roles":["admin"],"sub":"mallory"})");
  const std::string swapped = token.substr(0, dot1 + 1) + forged_payload + token.substr(dot2);
  CHECK(v.verify(swapped, kNow).status == VerifyStatus::BadSignature);

  CHECK(v.verify(flipCharInPart(token, 0), kNow).status != VerifyStatus::Ok);
  CHECK(v.verify(flipCharInPart(token, 1), kNow).status != VerifyStatus::Ok);
  CHECK(v.verify(flipCharInPart(token, 2), kNow).status == VerifyStatus::BadSignature);
  // Truncated signature (still valid base64url), empty signature, signature from another key.
  CHECK(v.verify(token.substr(0, token.size() - 4), kNow).status == VerifyStatus::BadSignature);
  CHECK(v.verify(token.substr(0, dot2 + 1), kNow).status == VerifyStatus::BadSignature);
  const std::string other = Signer::hs256("another-secret-of-at-least-32-bytes!!").sign(aliceClaims());
  CHECK(v.verify(token.substr(0, dot2) + other.substr(other.rfind('.')), kNow).status ==
        VerifyStatus::BadSignature);
  // Every bit of the signature counts (the comparison covers all 32 bytes).
  const std::string sig = unb64(token.substr(dot2 + 1));
  REQUIRE(sig.size() == 32);
  for (size_t i = 0; i < sig.size(); ++i) {
    std::string bad = sig;
    bad[i] = static_cast<char>(bad[i] ^ 0x80);
    CAPTURE(i);
    CHECK(v.verify(token.substr(0, dot2 + 1) + b64(bad), kNow).status == VerifyStatus::BadSignature);
  }
  // The last signature character re-spelled with non-zero unused bits: a second encoding of
  // nearly the same bytes, refused as malformed rather than compared.
  std::string respelled = token;
  respelled.back() = respelled.back() == 'A' ? 'B' : static_cast<char>(respelled.back() + 1);
  CHECK(v.verify(respelled, kNow).status != VerifyStatus::Ok);
}

TEST_CASE("alg none is refused in any spelling, signed or not") {
  const Verifier v = Verifier::fromConfig(hsConfig());
  const std::string payload = R"({"sub":"mallory","exp":1700003600})";
  for (const char* alg : {"none", "None", "NONE", "nOnE"}) {
    const std::string header = std::string(R"({"alg":")") + alg + R"(","typ":"JWT"})";
    CAPTURE(alg);
    CHECK(v.verify(b64(header) + "." + b64(payload) + ".", kNow).status == VerifyStatus::UnsupportedAlgorithm);
    CHECK(v.verify(hsToken(header, payload), kNow).status == VerifyStatus::UnsupportedAlgorithm);
  }
}

TEST_CASE("algorithm confusion: an HS256 token keyed with the RSA public key does not verify") {
  // The classic attack: sign HS256 with the verifier's public key PEM as the HMAC secret.
  const std::string forged = Signer::hs256(kTestPublicPem).sign(aliceClaims());
  // Only an RSA key configured: HS256 has no key, so it is refused before any HMAC.
  CHECK(Verifier::fromConfig(rsConfig()).verify(forged, kNow).status == VerifyStatus::UnsupportedAlgorithm);
  // Both configured: HS256 is checked against the HMAC secret only, never the RSA key's bytes.
  VerifierConfig both = rsConfig();
  both.hs256_secret = kSecret;
  CHECK(Verifier::fromConfig(both).verify(forged, kNow).status == VerifyStatus::BadSignature);
  // And the reverse: an RS256 token to an HS256-only verifier.
  const std::string rs = Signer::rs256(kTestPrivatePem).sign(aliceClaims());
  CHECK(Verifier::fromConfig(hsConfig()).verify(rs, kNow).status == VerifyStatus::UnsupportedAlgorithm);
  CHECK(Verifier::fromConfig(both).verify(rs, kNow).status == VerifyStatus::Ok);
  // An RS256 header over an HMAC signature made with the secret.
  CHECK(Verifier::fromConfig(both)
            .verify(hsToken(R"({"alg":"RS256"})", R"({"sub":"a","exp":1700003600})"), kNow)
            .status == VerifyStatus::BadSignature);
  // The key is chosen by alg alone: an embedded jwk/kid changes nothing.
  CHECK(Verifier::fromConfig(rsConfig())
            .verify(hsToken(R"({"alg":"HS256","kid":"x","jwk":{"kty":"oct","k":"AAAA"}})",
                            R"({"sub":"a","exp":1700003600})"),
                    kNow)
            .status == VerifyStatus::UnsupportedAlgorithm);
  const Verifier v = Verifier::fromConfig(both);
  CHECK(v.accepts(Algorithm::HS256));
  CHECK(v.accepts(Algorithm::RS256));
  CHECK_FALSE(Verifier::fromConfig(rsConfig()).accepts(Algorithm::HS256));
}

TEST_CASE("other algorithms are unsupported") {
  const Verifier v = Verifier::fromConfig(hsConfig());
  for (const char* header : {R"({"alg":"HS512"})", R"({"alg":"ES256"})", R"({"alg":"PS256"})",
                             R"({"alg":"hs256"})", R"({"alg":""})"}) {
    CAPTURE(header);
    CHECK(v.verify(hsToken(header, R"({"sub":"a","exp":1700003600})"), kNow).status ==
          VerifyStatus::UnsupportedAlgorithm);
  }
}

TEST_CASE("exp and nbf are enforced with the leeway") {
  const std::string payload = R"({"sub":"a","nbf":2000,"exp":3000})";
  VerifierConfig c = hsConfig();
  c.leeway_seconds = 30;
  CHECK(verifyHs(payload, 1969, c) == VerifyStatus::NotYetValid);
  CHECK(verifyHs(payload, 1970, c) == VerifyStatus::Ok);
  CHECK(verifyHs(payload, 3029, c) == VerifyStatus::Ok);
  CHECK(verifyHs(payload, 3030, c) == VerifyStatus::Expired);
  c.leeway_seconds = 0;
  CHECK(verifyHs(payload, 1999, c) == VerifyStatus::NotYetValid);
  CHECK(verifyHs(payload, 2000, c) == VerifyStatus::Ok);
  CHECK(verifyHs(payload, 2999, c) == VerifyStatus::Ok);
  CHECK(verifyHs(payload, 3000, c) == VerifyStatus::Expired);  // valid only while now < exp
  // NumericDate may be fractional (floored) or beyond int64 (saturated).
  CHECK(verifyHs(R"({"sub":"a","exp":3000.9})", 2999, c) == VerifyStatus::Ok);
  CHECK(verifyHs(R"({"sub":"a","exp":3000.9})", 3000, c) == VerifyStatus::Expired);
  CHECK(verifyHs(R"({"sub":"a","exp":-1})", 0, c) == VerifyStatus::Expired);
  const auto far = Verifier::fromConfig(c).verify(
      hsToken(R"({"alg":"HS256"})", R"({"sub":"a","exp":18446744073709551615})"), kNow);
  CHECK(far.status == VerifyStatus::Ok);
  CHECK(far.claims.expires_at == std::numeric_limits<int64_t>::max());
  CHECK(verifyHs(R"({"sub":"a","exp":1e300})", kNow, c) == VerifyStatus::Ok);
}

TEST_CASE("a token without exp is refused unless require_expiry is off") {
  CHECK(verifyHs(R"({"sub":"a"})") == VerifyStatus::MissingExpiry);
  VerifierConfig c = hsConfig();
  c.require_expiry = false;
  const auto r = Verifier::fromConfig(c).verify(hsToken(R"({"alg":"HS256"})", R"({"sub":"a"})"), kNow);
  CHECK(r.status == VerifyStatus::Ok);
  CHECK(r.claims.expires_at == 0);
}

TEST_CASE("issuer and audience are checked when configured") {
  VerifierConfig c = hsConfig();
  c.issuer = "https://id.tickstream.test";
  c.audience = "tickstream-gateway";
  const std::string iss = R"("iss":"https://id.tickstream.test")";
  CHECK(verifyHs(R"({"sub":"a","exp":1700003600,)" + iss + R"(,"aud":"tickstream-gateway"})", kNow, c) ==
        VerifyStatus::Ok);
  CHECK(verifyHs(R"({"sub":"a","exp":1700003600,)" + iss + R"(,"aud":["orders","tickstream-gateway"]})", kNow,
                 c) == VerifyStatus::Ok);
  CHECK(verifyHs(R"({"sub":"a","exp":1700003600,)" + iss + R"(,"aud":["orders"]})", kNow, c) ==
        VerifyStatus::WrongAudience);
  CHECK(verifyHs(R"({"sub":"a","exp":1700003600,)" + iss + R"(,"aud":[]})", kNow, c) ==
        VerifyStatus::WrongAudience);
  CHECK(verifyHs(R"({"sub":"a","exp":1700003600,)" + iss + R"(,"aud":"tickstream"})", kNow, c) ==
        VerifyStatus::WrongAudience);
  CHECK(verifyHs(R"({"sub":"a","exp":1700003600,)" + iss + "}", kNow, c) == VerifyStatus::WrongAudience);
  CHECK(verifyHs(R"({"sub":"a","exp":1700003600,"iss":"https://evil.test","aud":"tickstream-gateway"})", kNow,
                 c) == VerifyStatus::WrongIssuer);
  CHECK(verifyHs(R"({"sub":"a","exp":1700003600,"aud":"tickstream-gateway"})", kNow, c) ==
        VerifyStatus::WrongIssuer);
  // Not configured: not checked.
  CHECK(verifyHs(R"({"sub":"a","exp":1700003600,"iss":"anyone","aud":"anything"})") == VerifyStatus::Ok);
}

TEST_CASE("a token without a subject is refused") {
  CHECK(verifyHs(R"({"exp":1700003600})") == VerifyStatus::MissingSubject);
  CHECK(verifyHs(R"({"sub":"","exp":1700003600})") == VerifyStatus::MissingSubject);
}

TEST_CASE("claims of the wrong type make the token malformed") {
  for (const char* payload : {
           R"({"sub":42,"exp":1700003600})",
           R"({"sub":"a","exp":"1700003600"})",
           R"({"sub":"a","exp":1700003600,"nbf":true})",
           R"({"sub":"a","exp":1700003600,"iat":null})",
           R"({"sub":"a","exp":1700003600,"iss":["x"]})",
           R"({"sub":"a","exp":1700003600,"aud":7})",
           R"({"sub":"a","exp":1700003600,"aud":["x",7]})",
           R"({"sub":"a","exp":1700003600,"roles":"admin"})",
           R"({"sub":"a","exp":1700003600,"roles":["trader",{"admin":true}]})",
           R"({"sub":"a","exp":1700003600,"scope":["md:read"]})",
           R"(["sub","a"])",
           R"("a")",
           R"({"sub":"a","exp":1700003600)",
           "",
       }) {
    CAPTURE(payload);
    CHECK(verifyHs(payload) == VerifyStatus::Malformed);
  }
  // Unknown claims are ignored.
  CHECK(verifyHs(R"({"sub":"a","exp":1700003600,"x":{"y":[1,2,{}]}})") == VerifyStatus::Ok);
}

TEST_CASE("garbage, broken headers and oversize tokens are malformed") {
  const Verifier v = Verifier::fromConfig(hsConfig());
  const std::string good = Signer::hs256(kSecret).sign(aliceClaims());
  const size_t dot1 = good.find('.');
  const std::string payload_and_sig = good.substr(dot1);
  for (const std::string& token : {
           std::string(), std::string("abc"), std::string("a.b"), std::string(".."), std::string("a.b.c.d"),
           good + ".", "." + good, good + "=", std::string("eyJhbGciOiJIUzI1NiJ9.e30.#"),
           b64("not json") + payload_and_sig, b64("[1,2]") + payload_and_sig, b64("{}") + payload_and_sig,
           b64(R"({"alg":256})") + payload_and_sig, b64(R"({"alg":"HS256")") + payload_and_sig,
           "e30=" + payload_and_sig, " " + good, good + "\n", std::string(good.size(), '.'),
           std::string("\0\0\0", 3),
       }) {
    CAPTURE(token);
    CHECK(v.verify(token, kNow).status == VerifyStatus::Malformed);
  }
  // A critical extension we do not understand (RFC 7515 §4.1.11), validly signed.
  CHECK(v.verify(hsToken(R"({"alg":"HS256","crit":["exp"],"exp":1})", R"({"sub":"a","exp":1700003600})"), kNow)
            .status == VerifyStatus::Malformed);
  CHECK(v.verify(hsToken(R"({"alg":"HS256","b64":false,"crit":["b64"]})", R"({"sub":"a","exp":1700003600})"),
                 kNow)
            .status == VerifyStatus::Malformed);
  // A JWE (five parts) is not a JWS.
  CHECK(v.verify("eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d", kNow).status == VerifyStatus::Malformed);
}

TEST_CASE("tokens up to kMaxTokenBytes verify and longer ones are refused unread") {
  const Signer signer = Signer::hs256(kSecret);
  const Verifier v = Verifier::fromConfig(hsConfig());
  auto tokenWithPad = [&](size_t pad) {
    return signer.signPayload(R"({"sub":"a","exp":1700003600,"pad":")" + std::string(pad, 'x') + "\"}");
  };
  // The longest token that fits, and the next longer one.
  size_t pad = 0;
  while (tokenWithPad(pad + 1).size() <= kMaxTokenBytes) ++pad;
  const std::string fits = tokenWithPad(pad);
  const std::string too_long = tokenWithPad(pad + 1);
  REQUIRE(fits.size() <= kMaxTokenBytes);
  REQUIRE(fits.size() >= kMaxTokenBytes - 2);
  REQUIRE(too_long.size() > kMaxTokenBytes);
  CHECK(v.verify(fits, kNow).status == VerifyStatus::Ok);
  CHECK(v.verify(too_long, kNow).status == VerifyStatus::Malformed);
  CHECK(v.verify(std::string(1 << 20, 'A'), kNow).status == VerifyStatus::Malformed);
}

TEST_CASE("VerifierConfig validation names the field") {
  CHECK_THAT(exceptionMessage(VerifierConfig{}), Catch::Contains("hs256_secret") &&
                                                     Catch::Contains("rs256_public_key_pem"));
  VerifierConfig c = hsConfig();
  c.hs256_secret = "short";
  CHECK_THAT(exceptionMessage(c), Catch::Contains("hs256_secret") && Catch::Contains("32 bytes"));
  c = hsConfig();
  c.leeway_seconds = -1;
  CHECK_THAT(exceptionMessage(c), Catch::Contains("leeway_seconds"));
  c.leeway_seconds = 601;
  CHECK_THAT(exceptionMessage(c), Catch::Contains("leeway_seconds"));
  CHECK_THAT(exceptionMessage(rsConfig("not a pem")), Catch::Contains("rs256_public_key_pem"));
  // A private key where the public key belongs, and a key too short for RS256.
  CHECK_THAT(exceptionMessage(rsConfig(kTestPrivatePem)), Catch::Contains("rs256_public_key_pem"));
  Pkey small = generateRsa(1024);
  CHECK_THAT(exceptionMessage(rsConfig(publicPem(small.get()))),
             Catch::Contains("rs256_public_key_pem") && Catch::Contains("2048"));
  // A non-RSA key.
  Pkey ec(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  REQUIRE(ec);
  CHECK_THAT(exceptionMessage(rsConfig(publicPem(ec.get()))), Catch::Contains("not an RSA key"));
  CHECK_NOTHROW(hsConfig().validate());
  CHECK_NOTHROW(rsConfig().validate());
}

TEST_CASE("Signer refuses short secrets and unusable private keys") {
  CHECK_THROWS_AS(Signer::hs256("0123456789abcdef0123456789abcde"), std::invalid_argument);  // 31 bytes
  CHECK_NOTHROW(Signer::hs256("0123456789abcdef0123456789abcdef"));
  CHECK_THROWS_AS(Signer::rs256(kTestPublicPem), std::invalid_argument);
  CHECK_THROWS_AS(Signer::rs256("garbage"), std::invalid_argument);
  CHECK(Signer::rs256(kTestPrivatePem).algorithm() == Algorithm::RS256);
}

TEST_CASE("one Verifier serves several threads at once") {
  VerifierConfig config = rsConfig();
  config.hs256_secret = kSecret;
  const Verifier v = Verifier::fromConfig(config);
  const std::string hs = Signer::hs256(kSecret).sign(aliceClaims());
  const std::string rs = Signer::rs256(kTestPrivatePem).sign(aliceClaims());
  const std::string bad = flipCharInPart(rs, 2);
  std::vector<int> wrong(4, 0);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < wrong.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        wrong[t] += v.verify(hs, kNow).status != VerifyStatus::Ok;
        wrong[t] += v.verify(rs, kNow).status != VerifyStatus::Ok;
        wrong[t] += v.verify(bad, kNow).status != VerifyStatus::BadSignature;
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(wrong == std::vector<int>(4, 0));
}

TEST_CASE("every status has a distinct name") {
  std::set<std::string_view> names;
  for (auto s : {VerifyStatus::Ok, VerifyStatus::Malformed, VerifyStatus::UnsupportedAlgorithm,
                 VerifyStatus::BadSignature, VerifyStatus::Expired, VerifyStatus::NotYetValid,
                 VerifyStatus::WrongIssuer, VerifyStatus::WrongAudience, VerifyStatus::MissingSubject,
                 VerifyStatus::MissingExpiry}) {
    CHECK(toString(s) != "unknown");
    names.insert(toString(s));
  }
  CHECK(names.size() == 10);
  CHECK(toString(VerifyStatus::BadSignature) == "bad_signature");
}
