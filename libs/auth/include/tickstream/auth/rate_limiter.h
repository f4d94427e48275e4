#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace tickstream::auth {

// Token-bucket rate limiting with injected time: nothing here reads a clock. Pass any monotonic
// nanosecond count (steady_clock, or the event loop's cached "now") within about ±2^62. If time
// steps back, refills are delayed until it catches up (fail closed). docs/auth.md has the
// semantics and the memory bound.

// A rate limit: `burst` requests at once, then `rate_per_second` sustained.
struct RateLimit {
  double rate_per_second = 10.0;  // tokens added per second; 0.001 .. 1e9
  double burst = 20.0;            // bucket capacity: the most tokens taken at once; 1 .. 1e6

  // Throws std::invalid_argument naming the offending field as `<name>.burst` etc.
  void validate(std::string_view name = "RateLimit") const;
};

// Returned by retryAfterNs when the request can never succeed (n > burst, n < 0 or NaN).
inline constexpr int64_t kNeverNs = std::numeric_limits<int64_t>::max();

namespace detail {
// The bucket arithmetic as GCRA (the "virtual scheduling" form of a token bucket): a bucket is
// one number, the theoretical arrival time `tat`; its debt is max(0, tat - now) ns, each token
// costs `interval_ns` of debt, and a take fits if the debt stays within `tolerance_ns` (burst
// tokens' worth). A bucket is full exactly when tat <= now, so a full bucket and an absent one
// are the same thing. Integer nanoseconds: no drift however long a bucket lives.
struct Gcra {
  double interval_ns = 0;    // 1e9 / rate: debt per token
  int64_t tolerance_ns = 0;  // burst * interval_ns, rounded: the most debt a bucket may hold

  static Gcra from(const RateLimit& limit) noexcept;
  // Debt `n` tokens add, or -1 if n can never be taken (n > burst, n < 0, NaN).
  [[nodiscard]] int64_t cost(double n) const noexcept;
  [[nodiscard]] bool tryTake(int64_t& tat, int64_t now_ns, double n) const noexcept;
  [[nodiscard]] int64_t retryAfterNs(int64_t tat, int64_t now_ns, double n) const noexcept;
  [[nodiscard]] double available(int64_t tat, int64_t now_ns) const noexcept;
};
inline constexpr int64_t kFullTat = std::numeric_limits<int64_t>::min();
}  // namespace detail

// One token bucket. 16 bytes of state plus the limit; no allocation, no clock, no locks (one
// owner, or the caller's lock). Starts full.
class TokenBucket {
 public:
  // Throws std::invalid_argument naming the offending RateLimit field.
  explicit TokenBucket(const RateLimit& limit);

  // Takes `n` tokens if they are available at `now_ns`. A refusal changes nothing: a client
  // that keeps retrying is not pushed further back.
  [[nodiscard]] bool tryTake(int64_t now_ns, double n = 1.0) noexcept;
  // How long until tryTake(now_ns + result, n) would succeed: 0 if it would now, kNeverNs if
  // n > burst (or n is negative or NaN).
  [[nodiscard]] int64_t retryAfterNs(int64_t now_ns, double n = 1.0) const noexcept;
  // Tokens available at `now_ns`, 0 .. burst.
  [[nodiscard]] double available(int64_t now_ns) const noexcept;
  // Whether the bucket has refilled to `burst`.
  [[nodiscard]] bool full(int64_t now_ns) const noexcept { return tat_ns_ <= now_ns; }

  [[nodiscard]] const RateLimit& limit() const noexcept { return limit_; }

 private:
  RateLimit limit_;
  detail::Gcra gcra_;
  int64_t tat_ns_ = detail::kFullTat;
};

// An IPv6 address, or an IPv4 address as ::ffff:a.b.c.d (RFC 4291 §2.5.5.2), as a fixed-size
// map key: no allocation per client.
struct IpKey {
  std::array<uint8_t, 16> bytes{};  // network byte order

  // `addr` in host byte order, as boost::asio::ip::address_v4::to_uint() returns it.
  [[nodiscard]] static IpKey fromIpv4(uint32_t addr) noexcept;
  [[nodiscard]] static IpKey fromIpv6(std::span<const uint8_t, 16> addr) noexcept;
  // "203.0.113.7", "2001:db8::1", "::ffff:203.0.113.7"; nothing for anything else (no
  // brackets, ports or zone ids).
  [[nodiscard]] static std::optional<IpKey> parse(std::string_view text) noexcept;

  [[nodiscard]] bool isIpv4() const noexcept;

  friend bool operator==(const IpKey&, const IpKey&) = default;
};

// Which clients a KeyedRateLimiter tracks and how fast each may go.
struct KeyedRateLimiterConfig {
  RateLimit limit;            // per client (per key)
  size_t max_keys = 65536;    // clients tracked at once; memory is allocated up front (memoryBytes())
  int ipv6_prefix_bits = 64;  // IPv6 clients share a bucket per /N (a host usually owns a /64); 32..128

  // Throws std::invalid_argument naming the offending field (`limit.burst`, `max_keys`, ...).
  void validate() const;
};

// A token bucket per client IP in a fixed-size table, for refusing WebSocket upgrades (and
// later gRPC calls) from a client that reconnects too fast: a refusal costs one hash lookup.
//
// Memory: allocated once in the constructor and never again; tryTake neither allocates nor
// throws. max_keys entries of 40 bytes (sizeof(Entry)) plus an open-addressing index of 4-byte
// slots, a power of two >= 2 * max_keys (load factor <= 1/2): 48..56 bytes per key, 3 MiB for
// the default 65536 keys. memoryBytes() gives the exact figure.
//
// Eviction: a bucket that has refilled to `burst` is the same as no entry, so the table only
// has to remember clients that are in debt. When a new client arrives and the table is full,
// the least recently seen of the oldest few entries whose bucket is full is dropped (no
// information is lost); if those are all in debt, the least recently seen entry is dropped
// anyway and evictedInDebt() counts it: that client starts again with a full bucket. So with
// more than max_keys clients in debt at once (a storm from many addresses) the per-client
// limit weakens to "max_keys clients at a time"; put a global TokenBucket in front for the
// total rate, and size max_keys above the number of clients expected to reconnect within
// burst / rate seconds.
//
// Keys are hashed with SipHash-2-4 under a random per-instance key, so clients cannot choose
// addresses that collide to slow lookups down. Not thread-safe: one per event loop (gateway
// shard thread), or behind the caller's mutex.
class KeyedRateLimiter {
 public:
  // Throws std::invalid_argument naming the offending field.
  explicit KeyedRateLimiter(const KeyedRateLimiterConfig& config);

  // Takes `n` tokens from `key`'s bucket (a new key starts with a full one). A refusal changes
  // no bucket but marks the key as recently seen.
  [[nodiscard]] bool tryTake(const IpKey& key, int64_t now_ns, double n = 1.0) noexcept;
  // As TokenBucket::retryAfterNs for `key`'s bucket (for a Retry-After header).
  [[nodiscard]] int64_t retryAfterNs(const IpKey& key, int64_t now_ns, double n = 1.0) const noexcept;

  // Keys currently tracked, including some whose buckets have refilled (dropped lazily).
  [[nodiscard]] size_t size() const noexcept { return size_; }
  [[nodiscard]] size_t capacity() const noexcept { return entries_.size(); }
  // Entries dropped to make room for a new key, and how many of them were still in debt.
  [[nodiscard]] uint64_t evictions() const noexcept { return evictions_; }
  [[nodiscard]] uint64_t evictedInDebt() const noexcept { return evicted_in_debt_; }
  // Bytes held by the table (fixed at construction).
  [[nodiscard]] size_t memoryBytes() const noexcept;

  [[nodiscard]] const KeyedRateLimiterConfig& config() const noexcept { return config_; }

 private:
  static constexpr uint32_t kNil = std::numeric_limits<uint32_t>::max();
  struct Entry {
    IpKey key;
    int64_t tat_ns = detail::kFullTat;
    uint64_t hash = 0;
    uint32_t prev = kNil;  // towards the most recently seen
    uint32_t next = kNil;  // towards the least recently seen; the free list's link too
  };

  [[nodiscard]] IpKey normalise(const IpKey& key) const noexcept;
  [[nodiscard]] uint64_t hash(const IpKey& key) const noexcept;
  // Index slot of `key` or, if absent, the empty slot where it would go.
  [[nodiscard]] size_t findSlot(const IpKey& key, uint64_t h) const noexcept;
  void unlink(uint32_t e) noexcept;
  void pushFront(uint32_t e) noexcept;
  void evictOne(int64_t now_ns) noexcept;
  void eraseSlot(size_t slot) noexcept;

  KeyedRateLimiterConfig config_;
  detail::Gcra gcra_;
  std::array<uint8_t, 16> sip_key_{};
  std::vector<Entry> entries_;
  std::vector<uint32_t> index_;  // entry + 1; 0 = empty slot
  size_t mask_ = 0;
  uint32_t head_ = kNil;  // most recently seen
  uint32_t tail_ = kNil;  // least recently seen
  uint32_t free_ = kNil;
  size_t size_ = 0;
  uint64_t evictions_ = 0;
  uint64_t evicted_in_debt_ = 0;
};

// SipHash-2-4 (Aumasson & Bernstein) of `data` under `key`, the 64-bit output. Keyed so that
// without the key nobody can pick inputs that collide.
[[nodiscard]] uint64_t sipHash24(const std::array<uint8_t, 16>& key, std::span<const uint8_t> data) noexcept;

}  // namespace tickstream::auth
