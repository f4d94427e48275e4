#include <catch2/catch.hpp>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <array>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include "tickstream/auth/rate_limiter.h"

using namespace tickstream::auth;

// Counts heap allocations while `g_counting` is set, to check the no-allocation promises. The
// replacement applies to the whole test binary; it only counts, it changes nothing else. Every
// unaligned form is replaced, so that under AddressSanitizer no block allocated by the
// sanitizer's operator new is released with free() here.
namespace {
std::atomic<bool> g_counting{false};
std::atomic<uint64_t> g_allocations{0};

void* countedAlloc(std::size_t size) noexcept {
  if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(size == 0 ? 1 : size);
}
}  // namespace

void* operator new(std::size_t size) {
  if (void* p = countedAlloc(size)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) { return operator new(size); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept { return countedAlloc(size); }
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept { return countedAlloc(size); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace {

constexpr int64_t kSec = 1'000'000'000;
constexpr int64_t kT0 = 1'000 * kSec;  // an arbitrary steady-clock origin

RateLimit limit(double rate, double burst) {
  RateLimit l;
  l.rate_per_second = rate;
  l.burst = burst;
  return l;
}

KeyedRateLimiterConfig keyed(double rate, double burst, size_t max_keys) {
  KeyedRateLimiterConfig c;
  c.limit = limit(rate, burst);
  c.max_keys = max_keys;
  return c;
}

IpKey ip(const char* text) {
  auto k = IpKey::parse(text);
  REQUIRE(k);
  return *k;
}

IpKey nthIpv4(uint32_t n) { return IpKey::fromIpv4(0x0a000000u + n); }  // 10.0.0.0 + n

struct CountAllocations {
  CountAllocations() {
    g_allocations = 0;
    g_counting = true;
  }
  ~CountAllocations() { g_counting = false; }
  uint64_t count() const { return g_allocations.load(); }
};

std::string validationMessage(const RateLimit& l) {
  try {
    l.validate();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "(no exception)";
}

}  // namespace

TEST_CASE("a token bucket starts full, allows its burst, then refills at its rate") {
  TokenBucket b(limit(1.0, 5.0));
  CHECK(b.full(kT0));
  CHECK(b.available(kT0) == Approx(5.0));
  for (int i = 0; i < 5; ++i) CHECK(b.tryTake(kT0));
  CHECK_FALSE(b.tryTake(kT0));
  CHECK_FALSE(b.full(kT0));
  CHECK(b.available(kT0) == Approx(0.0));
  CHECK(b.retryAfterNs(kT0) == kSec);
  CHECK_FALSE(b.tryTake(kT0 + kSec - 1));
  CHECK(b.tryTake(kT0 + kSec));
  CHECK_FALSE(b.tryTake(kT0 + kSec));
  // 2.5 s later 2.5 tokens have come back: two whole takes.
  CHECK(b.available(kT0 + kSec + 2 * kSec + kSec / 2) == Approx(2.5));
  CHECK(b.tryTake(kT0 + 3 * kSec + kSec / 2));
  CHECK(b.tryTake(kT0 + 3 * kSec + kSec / 2));
  CHECK_FALSE(b.tryTake(kT0 + 3 * kSec + kSec / 2));
  // Never more than the burst, however long it rests.
  CHECK(b.available(kT0 + 3600 * kSec) == Approx(5.0));
  CHECK(b.full(kT0 + 3600 * kSec));
}

TEST_CASE("a token bucket holds its sustained rate over a long run of injected time") {
  TokenBucket b(limit(100.0, 1.0));
  int ok = 0;
  for (int64_t t = 0; t < 10 * kSec; t += kSec / 1000) ok += b.tryTake(kT0 + t) ? 1 : 0;  // 1 ms steps
  CHECK(ok == 1000);  // one every 10 ms, the first at once

  // A greedy client against burst 20, rate 10: 20 at once, then 10 per second.
  TokenBucket g(limit(10.0, 20.0));
  int taken = 0;
  for (int64_t t = 0; t <= 60 * kSec; t += kSec / 100) {
    while (g.tryTake(kT0 + t)) ++taken;
  }
  CHECK(taken == 20 + 600);
}

TEST_CASE("exactly burst tokens fit in a full bucket whatever the rate's rounding") {
  for (double rate : {3.0, 7.0, 1000.0 / 3.0, 0.5, 0.001, 123456.0, 1e9}) {
    for (double burst : {1.0, 3.0, 7.0, 100.0}) {
      CAPTURE(rate, burst);
      TokenBucket b(limit(rate, burst));
      for (int i = 0; i < static_cast<int>(burst); ++i) REQUIRE(b.tryTake(kT0));
      CHECK_FALSE(b.tryTake(kT0));
      // After burst / rate seconds the bucket is full again.
      const auto refill = static_cast<int64_t>(std::ceil(burst / rate * 1e9));
      CHECK(b.full(kT0 + refill));
      for (int i = 0; i < static_cast<int>(burst); ++i) REQUIRE(b.tryTake(kT0 + refill));
      CHECK_FALSE(b.tryTake(kT0 + refill));
    }
  }
}

TEST_CASE("multi-token takes, impossible takes and refusals") {
  TokenBucket b(limit(1.0, 10.0));
  CHECK(b.tryTake(kT0, 4));
  CHECK(b.tryTake(kT0, 4));
  CHECK_FALSE(b.tryTake(kT0, 4));
  CHECK(b.retryAfterNs(kT0, 4) == 2 * kSec);
  CHECK(b.tryTake(kT0, 2));
  CHECK(b.tryTake(kT0, 0));  // free
  // More than the burst can never be taken.
  CHECK_FALSE(b.tryTake(kT0 + 3600 * kSec, 11));
  CHECK(b.retryAfterNs(kT0, 11) == kNeverNs);
  CHECK_FALSE(b.tryTake(kT0 + 3600 * kSec, -1));
  CHECK_FALSE(b.tryTake(kT0 + 3600 * kSec, std::nan("")));
  CHECK(b.retryAfterNs(kT0, std::nan("")) == kNeverNs);

  // Refusals do not push a hammering client further back.
  TokenBucket h(limit(1.0, 1.0));
  REQUIRE(h.tryTake(kT0));
  for (int i = 0; i < 1000; ++i) REQUIRE_FALSE(h.tryTake(kT0 + i));
  CHECK(h.tryTake(kT0 + kSec));
}

TEST_CASE("time going backwards only delays the refill") {
  TokenBucket b(limit(1.0, 1.0));
  REQUIRE(b.tryTake(kT0 + 10 * kSec));
  CHECK_FALSE(b.tryTake(kT0));                // before the take: still in debt
  CHECK(b.tryTake(kT0 + 11 * kSec));          // the refill is where it was
}

TEST_CASE("a token bucket neither allocates nor throws while taking") {
  TokenBucket b(limit(1000.0, 50.0));
  CountAllocations counter;
  int ok = 0;
  for (int64_t t = 0; t < 100000; ++t) ok += b.tryTake(kT0 + t * 10'000) ? 1 : 0;  // 10 us steps, 1 s
  (void)b.retryAfterNs(kT0);
  (void)b.available(kT0);
  CHECK(counter.count() == 0);
  CHECK(ok == 50 + 1000 - 1);  // the burst, then one per ms for the rest of the second
  STATIC_REQUIRE(noexcept(b.tryTake(0, 1.0)));
}

TEST_CASE("RateLimit validation names the field") {
  CHECK_THAT(validationMessage(limit(0, 1)), Catch::Contains("RateLimit.rate_per_second"));
  CHECK_THAT(validationMessage(limit(-5, 1)), Catch::Contains("rate_per_second"));
  CHECK_THAT(validationMessage(limit(std::nan(""), 1)), Catch::Contains("rate_per_second"));
  CHECK_THAT(validationMessage(limit(INFINITY, 1)), Catch::Contains("rate_per_second"));
  CHECK_THAT(validationMessage(limit(1, 0.5)), Catch::Contains("RateLimit.burst"));
  CHECK_THAT(validationMessage(limit(1, 1e7)), Catch::Contains("burst"));
  CHECK_THROWS_AS(TokenBucket(limit(1, 0)), std::invalid_argument);
  KeyedRateLimiterConfig c = keyed(1, 0, 10);
  CHECK_THROWS_WITH(KeyedRateLimiter(c), Catch::Contains("KeyedRateLimiterConfig.limit.burst"));
  c = keyed(1, 1, 0);
  CHECK_THROWS_WITH(KeyedRateLimiter(c), Catch::Contains("KeyedRateLimiterConfig.max_keys"));
  c = keyed(1, 1, 10);
  c.ipv6_prefix_bits = 16;
  CHECK_THROWS_WITH(KeyedRateLimiter(c), Catch::Contains("KeyedRateLimiterConfig.ipv6_prefix_bits"));
}

TEST_CASE("IpKey parses IPv4 and IPv6 and maps IPv4 into IPv6") {
  CHECK(ip("192.0.2.7") == IpKey::fromIpv4(0xC0000207u));
  CHECK(ip("192.0.2.7").isIpv4());
  CHECK(ip("::ffff:192.0.2.7") == ip("192.0.2.7"));
  const std::array<uint8_t, 16> v6 = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  CHECK(ip("2001:db8::1") == IpKey::fromIpv6(v6));
  CHECK_FALSE(ip("2001:db8::1").isIpv4());
  CHECK_FALSE(ip("::1").isIpv4());
  for (const char* bad : {"", "1.2.3", "1.2.3.256", "1.2.3.4:80", "[::1]", "::g", "fe80::1%eth0", "localhost",
                          "1.2.3.4 "}) {
    CAPTURE(bad);
    CHECK_FALSE(IpKey::parse(bad));
  }
  CHECK_FALSE(IpKey::parse(std::string(100, '1')));
}

TEST_CASE("each client key has its own bucket") {
  KeyedRateLimiter l(keyed(1.0, 3.0, 16));
  const IpKey a = ip("198.51.100.1");
  const IpKey b = ip("198.51.100.2");
  for (int i = 0; i < 3; ++i) CHECK(l.tryTake(a, kT0));
  CHECK_FALSE(l.tryTake(a, kT0));
  CHECK(l.retryAfterNs(a, kT0) == kSec);
  CHECK(l.retryAfterNs(b, kT0) == 0);
  for (int i = 0; i < 3; ++i) CHECK(l.tryTake(b, kT0));
  CHECK_FALSE(l.tryTake(b, kT0));
  CHECK(l.tryTake(a, kT0 + kSec));
  CHECK(l.size() == 2);
}

TEST_CASE("IPv6 clients share a bucket per configured prefix") {
  KeyedRateLimiterConfig c = keyed(1.0, 2.0, 16);
  c.ipv6_prefix_bits = 64;
  KeyedRateLimiter l(c);
  CHECK(l.tryTake(ip("2001:db8:1:2::1"), kT0));
  CHECK(l.tryTake(ip("2001:db8:1:2:ffff:ffff:ffff:ffff"), kT0));
  CHECK_FALSE(l.tryTake(ip("2001:db8:1:2::99"), kT0));  // same /64: exhausted
  CHECK(l.tryTake(ip("2001:db8:1:3::1"), kT0));         // next /64
  // IPv4 is per address whatever the prefix.
  CHECK(l.tryTake(ip("203.0.113.1"), kT0));
  CHECK(l.tryTake(ip("203.0.113.1"), kT0));
  CHECK_FALSE(l.tryTake(ip("203.0.113.1"), kT0));
  CHECK(l.tryTake(ip("203.0.113.2"), kT0));

  c.ipv6_prefix_bits = 128;
  KeyedRateLimiter exact(c);
  CHECK(exact.tryTake(ip("2001:db8:1:2::1"), kT0, 2));
  CHECK(exact.tryTake(ip("2001:db8:1:2::2"), kT0, 2));
  CHECK_FALSE(exact.tryTake(ip("2001:db8:1:2::1"), kT0));

  c.ipv6_prefix_bits = 60;  // not on a byte boundary
  KeyedRateLimiter p60(c);
  CHECK(p60.tryTake(ip("2001:db8:1:2::1"), kT0, 2));
  CHECK_FALSE(p60.tryTake(ip("2001:db8:1:f::1"), kT0));  // 2001:db8:1:0..f is one /60
  CHECK(p60.tryTake(ip("2001:db8:1:10::1"), kT0));
}

TEST_CASE("the keyed limiter never tracks more than max_keys and its memory is fixed") {
  KeyedRateLimiter l(keyed(1.0, 2.0, 4));
  const size_t bytes = l.memoryBytes();
  for (uint32_t i = 0; i < 100; ++i) {
    CHECK(l.tryTake(nthIpv4(i), kT0));
    CHECK(l.size() <= 4);
  }
  CHECK(l.size() == 4);
  CHECK(l.capacity() == 4);
  CHECK(l.memoryBytes() == bytes);
  CHECK(l.evictions() == 96);
  CHECK(l.evictedInDebt() == 96);  // all were in debt: each eviction forgot one

  // The documented bound: 48..56 bytes per key plus the object.
  KeyedRateLimiter big(KeyedRateLimiterConfig{});
  const size_t keys = big.capacity();
  CHECK(keys == 65536);
  CHECK(big.memoryBytes() >= 48 * keys);
  CHECK(big.memoryBytes() <= 56 * keys + sizeof(KeyedRateLimiter));
  CHECK(big.memoryBytes() <= size_t{3} * 1024 * 1024 + sizeof(KeyedRateLimiter));
}

TEST_CASE("a full table drops a refilled entry before one still in debt") {
  KeyedRateLimiter l(keyed(1.0, 10.0, 3));
  const IpKey a = nthIpv4(1);
  const IpKey b = nthIpv4(2);
  const IpKey c = nthIpv4(3);
  const IpKey d = nthIpv4(4);
  REQUIRE(l.tryTake(a, kT0, 10));  // empty until kT0 + 10 s
  REQUIRE(l.tryTake(b, kT0));      // full again at kT0 + 1 s
  REQUIRE(l.tryTake(c, kT0));
  // At kT0 + 5 s, a (least recently seen) is still in debt; b and c have refilled.
  const int64_t t = kT0 + 5 * kSec;
  REQUIRE(l.tryTake(d, t));
  CHECK(l.size() == 3);
  CHECK(l.evictions() == 1);
  CHECK(l.evictedInDebt() == 0);
  // a was kept: 5 tokens back, not a fresh 10.
  CHECK(l.retryAfterNs(a, t, 6) == kSec);
  CHECK_FALSE(l.tryTake(a, t, 6));
  CHECK(l.tryTake(a, t, 5));
}

TEST_CASE("keys that stay full are not stored") {
  KeyedRateLimiter l(keyed(1.0, 3.0, 8));
  CHECK_FALSE(l.tryTake(nthIpv4(1), kT0, 4));  // more than the burst: refused, nothing stored
  CHECK(l.tryTake(nthIpv4(2), kT0, 0));        // free: the bucket stays full
  CHECK(l.retryAfterNs(nthIpv4(3), kT0) == 0);
  CHECK(l.size() == 0);
}

TEST_CASE("under churn the table keeps exactly the most recently seen keys in debt") {
  // A tiny rate keeps every bucket in debt, so eviction is pure least-recently-seen; thousands
  // of insertions and backward-shift deletions must leave the index consistent.
  constexpr uint32_t kKeys = 256;
  constexpr uint32_t kInserted = 20000;
  KeyedRateLimiter l(keyed(0.001, 1.0, kKeys));
  for (uint32_t i = 0; i < kInserted; ++i) REQUIRE(l.tryTake(nthIpv4(i), kT0 + i));
  const int64_t now = kT0 + kInserted;
  CHECK(l.size() == kKeys);
  CHECK(l.evictedInDebt() == kInserted - kKeys);
  for (uint32_t i = 0; i < kInserted; ++i) {
    const bool tracked = l.retryAfterNs(nthIpv4(i), now) > 0;
    if (tracked != (i >= kInserted - kKeys)) FAIL("key " << i << " tracked=" << tracked);
  }
  // Touching an old key moves it to the front: the next eviction takes the oldest other one.
  const uint32_t oldest = kInserted - kKeys;
  CHECK_FALSE(l.tryTake(nthIpv4(oldest), now));  // refused, but seen
  REQUIRE(l.tryTake(nthIpv4(kInserted), now));
  CHECK(l.retryAfterNs(nthIpv4(oldest), now) > 0);
  CHECK(l.retryAfterNs(nthIpv4(oldest + 1), now) == 0);
}

TEST_CASE("a reconnect storm is refused without allocating") {
  KeyedRateLimiter l(keyed(5.0, 10.0, 1024));
  CountAllocations counter;
  int accepted = 0;
  // One client hammering 1000 times per second for 10 s, and 5000 others once each.
  for (int64_t ms = 0; ms < 10'000; ++ms) {
    accepted += l.tryTake(ip("192.0.2.66"), kT0 + ms * 1'000'000) ? 1 : 0;
  }
  int others = 0;
  for (uint32_t i = 0; i < 5000; ++i) others += l.tryTake(nthIpv4(i), kT0 + 10 * kSec) ? 1 : 0;
  (void)l.retryAfterNs(nthIpv4(1), kT0);
  CHECK(counter.count() == 0);
  CHECK(accepted == 10 + 50 - 1);  // the burst, then 5 per second (the last one lands at 10 s)
  CHECK(others == 5000);
  CHECK(l.size() <= 1024);
  STATIC_REQUIRE(noexcept(l.tryTake(IpKey{}, 0, 1.0)));
}

TEST_CASE("SipHash-2-4 matches the reference vectors and OpenSSL") {
  std::array<uint8_t, 16> key{};
  for (uint8_t i = 0; i < 16; ++i) key[i] = i;
  std::vector<uint8_t> msg;
  // From the SipHash paper (Appendix A) and its reference implementation's vectors.
  CHECK(sipHash24(key, msg) == 0x726fdb47dd0e0e31ULL);
  for (uint8_t i = 0; i < 15; ++i) msg.push_back(i);
  CHECK(sipHash24(key, msg) == 0xa129ca6149be45e5ULL);

  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "SIPHASH", nullptr);
  REQUIRE(mac);
  msg.clear();
  for (uint8_t len = 0; len < 64; ++len) {
    EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(mac);
    size_t size = 8;
    const OSSL_PARAM params[] = {OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size), OSSL_PARAM_construct_end()};
    unsigned char out[8];
    size_t out_len = 0;
    REQUIRE(EVP_MAC_init(ctx, key.data(), key.size(), params) == 1);
    REQUIRE(EVP_MAC_update(ctx, msg.data(), msg.size()) == 1);
    REQUIRE(EVP_MAC_final(ctx, out, &out_len, sizeof out) == 1);
    EVP_MAC_CTX_free(ctx);
    uint64_t expected = 0;
    for (int i = 7; i >= 0; --i) expected = expected << 8 | out[i];
    CAPTURE(len);
    CHECK(sipHash24(key, msg) == expected);
    msg.push_back(static_cast<uint8_t>(len * 7 + 1));
  }
  EVP_MAC_free(mac);
}
