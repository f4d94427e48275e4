#include "idempotency.h"

#include <openssl/sha.h>

#include <stdexcept>
#include <string_view>

namespace tickstream::order {
namespace {

// The canonical encoding: a domain tag, then each field in a fixed order, fixed-width and
// big-endian for numbers and length-prefixed for strings, so no two payloads encode alike
// ("ab"+"c" vs "a"+"bc") and no platform detail (endianness, std::hash, protobuf's own
// serialisation, which is not canonical) leaks in. Changing it changes every stored
// fingerprint: retries across the upgrade would be refused as conflicts, so a new encoding
// needs a new tag and a transition plan.
class Encoder {
 public:
  explicit Encoder(std::string_view tag) {
    bytes_.reserve(128);
    string(tag);
  }
  void string(std::string_view s) {
    u64(s.size());
    bytes_.append(s);
  }
  void i64(std::int64_t v) { u64(static_cast<std::uint64_t>(v)); }
  void u64(std::uint64_t v) {
    for (int shift = 56; shift >= 0; shift -= 8) bytes_.push_back(static_cast<char>((v >> shift) & 0xff));
  }
  [[nodiscard]] Fingerprint digest() const {
    Fingerprint out{};
    if (SHA256(reinterpret_cast<const unsigned char*>(bytes_.data()), bytes_.size(), out.data()) == nullptr) {
      throw std::runtime_error("SHA256 failed");  // OpenSSL is broken: nothing sensible to return
    }
    return out;
  }

 private:
  std::string bytes_;
};

}  // namespace

Fingerprint submitFingerprint(const v1::SubmitOrderRequest& r) {
  Encoder e("tickstream.order.v1.SubmitOrderRequest/1");
  e.string(r.account());
  e.string(r.client_order_id());
  e.string(r.symbol());
  e.i64(r.side());
  e.i64(r.type());
  e.i64(r.time_in_force());
  e.i64(r.quantity());
  e.i64(r.limit_price());
  return e.digest();
}

Fingerprint replaceFingerprint(const v1::ReplaceOrderRequest& r) {
  Encoder e("tickstream.order.v1.ReplaceOrderRequest/1");
  e.string(r.account());
  e.string(r.order_id());
  e.string(r.client_order_id());
  e.i64(r.quantity());
  e.i64(r.limit_price());
  return e.digest();
}

std::string toHex(const Fingerprint& fingerprint) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(fingerprint.size() * 2);
  for (const std::uint8_t b : fingerprint) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0xf]);
  }
  return out;
}

Idempotency classify(const std::optional<Fingerprint>& stored, const Fingerprint& incoming) noexcept {
  if (!stored) return Idempotency::New;
  return *stored == incoming ? Idempotency::Duplicate : Idempotency::Conflict;
}

}  // namespace tickstream::order
