#include "tickstream/auth/rate_limiter.h"

#include <arpa/inet.h>
#include <openssl/rand.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>

namespace tickstream::auth {
namespace {

constexpr double kMinRate = 1e-3;
constexpr double kMaxRate = 1e9;
constexpr double kMinBurst = 1.0;
constexpr double kMaxBurst = 1e6;
// 2^24 entries (~1 GiB): far beyond a gateway shard's clients; keeps entry ids in uint32.
constexpr size_t kMaxKeys = size_t{1} << 24;
// When the table is full, this many of the least recently seen entries are looked at for one
// whose bucket has refilled (cheap to drop) before the oldest is dropped regardless.
constexpr int kEvictionScan = 8;

void require(bool ok, const std::string& message) {
  if (!ok) throw std::invalid_argument("invalid rate limit config: " + message);
}

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

int64_t saturatingAdd(int64_t a, int64_t b) noexcept {
  int64_t r = 0;
  if (__builtin_add_overflow(a, b, &r)) {
    return b > 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
  }
  return r;
}

// max(0, tat - now) without overflow (tat may be kFullTat).
int64_t debtOf(int64_t tat, int64_t now) noexcept { return tat > now ? tat - now : 0; }

uint64_t load64le(const uint8_t* p) noexcept {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = v << 8 | p[i];
  return v;
}

}  // namespace

void RateLimit::validate(std::string_view name) const {
  const std::string field = std::string(name) + ".";
  require(std::isfinite(rate_per_second) && rate_per_second >= kMinRate && rate_per_second <= kMaxRate,
          field + "rate_per_second must be in [" + num(kMinRate) + ", " + num(kMaxRate) + "], got " +
              num(rate_per_second));
  require(std::isfinite(burst) && burst >= kMinBurst && burst <= kMaxBurst,
          field + "burst must be in [" + num(kMinBurst) + ", " + num(kMaxBurst) + "], got " + num(burst));
}

namespace detail {

// tolerance = burst * 1e9 / rate <= 1e6 * 1e12 = 1e18 < 2^63: fits by the validated ranges.
Gcra Gcra::from(const RateLimit& limit) noexcept {
  Gcra g;
  g.interval_ns = 1e9 / limit.rate_per_second;
  g.tolerance_ns = std::llround(limit.burst * g.interval_ns);
  return g;
}

int64_t Gcra::cost(double n) const noexcept {
  if (!(n >= 0)) return -1;  // negative or NaN
  const double c = n * interval_ns;
  if (!(c <= static_cast<double>(tolerance_ns) + 0.5)) return -1;
  // Floor: k takes of floor(T) never exceed tolerance = round(k * T), so exactly `burst` unit
  // takes fit in a full bucket whatever the rounding of T; the rate is off by < 1 ns per token.
  return static_cast<int64_t>(std::floor(c));
}

bool Gcra::tryTake(int64_t& tat, int64_t now_ns, double n) const noexcept {
  const int64_t c = cost(n);
  if (c < 0) return false;
  const int64_t debt = debtOf(tat, now_ns);
  if (debt > tolerance_ns - c) return false;
  tat = saturatingAdd(now_ns, debt + c);
  return true;
}

int64_t Gcra::retryAfterNs(int64_t tat, int64_t now_ns, double n) const noexcept {
  const int64_t c = cost(n);
  if (c < 0) return kNeverNs;
  return std::max<int64_t>(0, debtOf(tat, now_ns) + c - tolerance_ns);
}

double Gcra::available(int64_t tat, int64_t now_ns) const noexcept {
  const double tokens = static_cast<double>(tolerance_ns - debtOf(tat, now_ns)) / interval_ns;
  return std::max(0.0, tokens);
}

}  // namespace detail

TokenBucket::TokenBucket(const RateLimit& limit) : limit_(limit) {
  limit_.validate();
  gcra_ = detail::Gcra::from(limit_);
}

bool TokenBucket::tryTake(int64_t now_ns, double n) noexcept { return gcra_.tryTake(tat_ns_, now_ns, n); }

int64_t TokenBucket::retryAfterNs(int64_t now_ns, double n) const noexcept {
  return gcra_.retryAfterNs(tat_ns_, now_ns, n);
}

double TokenBucket::available(int64_t now_ns) const noexcept {
  return std::min(limit_.burst, gcra_.available(tat_ns_, now_ns));
}

// ---- IpKey -------------------------------------------------------------------------------

IpKey IpKey::fromIpv4(uint32_t addr) noexcept {
  IpKey k;
  k.bytes[10] = 0xff;
  k.bytes[11] = 0xff;
  k.bytes[12] = static_cast<uint8_t>(addr >> 24);
  k.bytes[13] = static_cast<uint8_t>(addr >> 16);
  k.bytes[14] = static_cast<uint8_t>(addr >> 8);
  k.bytes[15] = static_cast<uint8_t>(addr);
  return k;
}

IpKey IpKey::fromIpv6(std::span<const uint8_t, 16> addr) noexcept {
  IpKey k;
  std::copy(addr.begin(), addr.end(), k.bytes.begin());
  return k;
}

std::optional<IpKey> IpKey::parse(std::string_view text) noexcept {
  char buf[INET6_ADDRSTRLEN + 1];
  if (text.empty() || text.size() >= sizeof buf) return std::nullopt;
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  if (text.find(':') == std::string_view::npos) {
    in_addr v4{};
    if (::inet_pton(AF_INET, buf, &v4) != 1) return std::nullopt;
    return fromIpv4(ntohl(v4.s_addr));
  }
  IpKey k;
  if (::inet_pton(AF_INET6, buf, k.bytes.data()) != 1) return std::nullopt;
  return k;
}

bool IpKey::isIpv4() const noexcept {
  return std::all_of(bytes.begin(), bytes.begin() + 10, [](uint8_t b) { return b == 0; }) && bytes[10] == 0xff &&
         bytes[11] == 0xff;
}

// ---- KeyedRateLimiter ----------------------------------------------------------------------

void KeyedRateLimiterConfig::validate() const {
  limit.validate("KeyedRateLimiterConfig.limit");
  require(max_keys >= 1 && max_keys <= kMaxKeys,
          "KeyedRateLimiterConfig.max_keys must be in [1, " + std::to_string(kMaxKeys) + "], got " +
              std::to_string(max_keys));
  require(ipv6_prefix_bits >= 32 && ipv6_prefix_bits <= 128,
          "KeyedRateLimiterConfig.ipv6_prefix_bits must be in [32, 128], got " + std::to_string(ipv6_prefix_bits));
}

KeyedRateLimiter::KeyedRateLimiter(const KeyedRateLimiterConfig& config) : config_(config) {
  config_.validate();
  gcra_ = detail::Gcra::from(config_.limit);
  if (RAND_bytes(sip_key_.data(), static_cast<int>(sip_key_.size())) != 1) {
    throw std::runtime_error("KeyedRateLimiter: RAND_bytes failed");
  }
  entries_.resize(config_.max_keys);
  // Load factor <= 1/2 keeps linear probes short.
  index_.assign(std::bit_ceil(config_.max_keys * 2), 0);
  mask_ = index_.size() - 1;
  // Every entry starts on the free list.
  for (size_t i = 0; i < entries_.size(); ++i) {
    entries_[i].next = i + 1 < entries_.size() ? static_cast<uint32_t>(i + 1) : kNil;
  }
  free_ = 0;
}

size_t KeyedRateLimiter::memoryBytes() const noexcept {
  return sizeof(*this) + entries_.capacity() * sizeof(Entry) + index_.capacity() * sizeof(uint32_t);
}

IpKey KeyedRateLimiter::normalise(const IpKey& key) const noexcept {
  if (key.isIpv4()) return key;
  IpKey k = key;
  const int bits = config_.ipv6_prefix_bits;
  for (int i = 0; i < 16; ++i) {
    const int keep = std::clamp(bits - i * 8, 0, 8);
    k.bytes[static_cast<size_t>(i)] &= static_cast<uint8_t>(0xff00u >> keep);
  }
  return k;
}

uint64_t KeyedRateLimiter::hash(const IpKey& key) const noexcept { return sipHash24(sip_key_, key.bytes); }

size_t KeyedRateLimiter::findSlot(const IpKey& key, uint64_t h) const noexcept {
  // The index is never more than half full, so an empty slot ends every probe.
  for (size_t i = h & mask_;; i = (i + 1) & mask_) {
    const uint32_t v = index_[i];
    if (v == 0) return i;
    const Entry& e = entries_[v - 1];
    if (e.hash == h && e.key == key) return i;
  }
}

void KeyedRateLimiter::unlink(uint32_t e) noexcept {
  Entry& x = entries_[e];
  if (x.prev != kNil) entries_[x.prev].next = x.next; else head_ = x.next;
  if (x.next != kNil) entries_[x.next].prev = x.prev; else tail_ = x.prev;
  x.prev = x.next = kNil;
}

void KeyedRateLimiter::pushFront(uint32_t e) noexcept {
  Entry& x = entries_[e];
  x.prev = kNil;
  x.next = head_;
  if (head_ != kNil) entries_[head_].prev = e; else tail_ = e;
  head_ = e;
}

// Backward-shift deletion (no tombstones, so probes never lengthen over time): move each
// following entry of the run into the hole unless its home slot lies cyclically in (hole, j].
void KeyedRateLimiter::eraseSlot(size_t hole) noexcept {
  for (size_t j = (hole + 1) & mask_;; j = (j + 1) & mask_) {
    const uint32_t v = index_[j];
    if (v == 0) break;
    const size_t home = entries_[v - 1].hash & mask_;
    const bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
    if (!stays) {
      index_[hole] = v;
      hole = j;
    }
  }
  index_[hole] = 0;
}

void KeyedRateLimiter::evictOne(int64_t now_ns) noexcept {
  uint32_t victim = tail_;
  uint32_t e = tail_;
  for (int i = 0; i < kEvictionScan && e != kNil; ++i, e = entries_[e].prev) {
    if (entries_[e].tat_ns <= now_ns) {  // refilled: forgetting it loses nothing
      victim = e;
      break;
    }
  }
  Entry& x = entries_[victim];
  ++evictions_;
  if (x.tat_ns > now_ns) ++evicted_in_debt_;
  eraseSlot(findSlot(x.key, x.hash));
  unlink(victim);
  x.next = free_;
  free_ = victim;
  --size_;
}

bool KeyedRateLimiter::tryTake(const IpKey& raw, int64_t now_ns, double n) noexcept {
  const IpKey key = normalise(raw);
  const uint64_t h = hash(key);
  size_t slot = findSlot(key, h);
  if (const uint32_t v = index_[slot]; v != 0) {
    const uint32_t e = v - 1;
    if (e != head_) {
      unlink(e);
      pushFront(e);
    }
    return gcra_.tryTake(entries_[e].tat_ns, now_ns, n);
  }
  // Absent is full: decide on a full bucket, and store the key only if the take leaves it in
  // debt (a refused or zero-cost take leaves it full, i.e. absent).
  int64_t tat = detail::kFullTat;
  if (!gcra_.tryTake(tat, now_ns, n)) return false;
  if (tat <= now_ns) return true;
  if (size_ == entries_.size()) {
    evictOne(now_ns);
    slot = findSlot(key, h);  // the backward shift may have moved the empty slot
  }
  const uint32_t e = free_;
  Entry& x = entries_[e];
  free_ = x.next;
  x.key = key;
  x.hash = h;
  x.tat_ns = tat;
  index_[slot] = e + 1;
  pushFront(e);
  ++size_;
  return true;
}

int64_t KeyedRateLimiter::retryAfterNs(const IpKey& raw, int64_t now_ns, double n) const noexcept {
  const IpKey key = normalise(raw);
  const uint32_t v = index_[findSlot(key, hash(key))];
  return gcra_.retryAfterNs(v == 0 ? detail::kFullTat : entries_[v - 1].tat_ns, now_ns, n);
}

// ---- SipHash-2-4 ---------------------------------------------------------------------------

uint64_t sipHash24(const std::array<uint8_t, 16>& key, std::span<const uint8_t> data) noexcept {
  const uint64_t k0 = load64le(key.data());
  const uint64_t k1 = load64le(key.data() + 8);
  uint64_t v0 = 0x736f6d6570736575ULL ^ k0;
  uint64_t v1 = 0x646f72616e646f6dULL ^ k1;
  uint64_t v2 = 0x6c7967656e657261ULL ^ k0;
  uint64_t v3 = 0x7465646279746573ULL ^ k1;
  auto round = [&] {
    v0 += v1;
    v1 = std::rotl(v1, 13);
    v1 ^= v0;
    v0 = std::rotl(v0, 32);
    v2 += v3;
    v3 = std::rotl(v3, 16);
    v3 ^= v2;
    v0 += v3;
    v3 = std::rotl(v3, 21);
    v3 ^= v0;
    v2 += v1;
    v1 = std::rotl(v1, 17);
    v1 ^= v2;
    v2 = std::rotl(v2, 32);
  };
  const size_t n = data.size();
  const size_t whole = n & ~size_t{7};
  for (size_t i = 0; i < whole; i += 8) {
    const uint64_t m = load64le(data.data() + i);
    v3 ^= m;
    round();
    round();
    v0 ^= m;
  }
  uint64_t last = static_cast<uint64_t>(n & 0xff) << 56;
  for (size_t i = whole; i < n; ++i) last |= static_cast<uint64_t>(data[i]) << (8 * (i - whole));
  v3 ^= last;
  round();
  round();
  v0 ^= last;
  v2 ^= 0xff;
  round();
  round();
  round();
  round();
  return v0 ^ v1 ^ v2 ^ v3;
}

}  // namespace tickstream::auth
