#include <catch2/catch.hpp>

#include <atomic>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

#include "circuit_breaker.h"

using tickstream::order::BreakerState;
using tickstream::order::CircuitBreaker;
using tickstream::order::CircuitBreakerConfig;
using namespace std::chrono_literals;

namespace {

// A clock the test moves by hand.
struct FakeClock {
  std::chrono::steady_clock::time_point now{std::chrono::hours(1)};
  CircuitBreaker::Clock fn() {
    return [this] { return now; };
  }
};

CircuitBreakerConfig config(int threshold = 3, int probes = 1, int successes = 1) {
  CircuitBreakerConfig c;
  c.failure_threshold = threshold;
  c.open_duration = 1000ms;
  c.half_open_max_probes = probes;
  c.half_open_successes = successes;
  return c;
}

void fail(CircuitBreaker& b, int times = 1) {
  for (int i = 0; i < times; ++i) {
    auto p = b.tryAcquire();
    REQUIRE(p);
    b.failure(std::move(*p));
  }
}

void succeed(CircuitBreaker& b) {
  auto p = b.tryAcquire();
  REQUIRE(p);
  b.success(std::move(*p));
}

// Opens the breaker and lets the cool-down pass.
void toHalfOpen(CircuitBreaker& b, FakeClock& clock) {
  fail(b, b.config().failure_threshold);
  REQUIRE(b.state() == BreakerState::Open);
  clock.now += b.config().open_duration;
  REQUIRE(b.state() == BreakerState::HalfOpen);
}

} // namespace

TEST_CASE("circuit breaker config names the broken field") {
  auto broken = [](auto mutate) {
    CircuitBreakerConfig c;
    mutate(c);
    return c;
  };
  CHECK_NOTHROW(CircuitBreakerConfig{}.validate());
  CHECK_THROWS_WITH(broken([](auto& c) { c.failure_threshold = 0; }).validate(),
                    Catch::Contains("failure_threshold"));
  CHECK_THROWS_WITH(broken([](auto& c) { c.open_duration = 0ms; }).validate(),
                    Catch::Contains("open_duration"));
  CHECK_THROWS_WITH(broken([](auto& c) { c.half_open_max_probes = 0; }).validate(),
                    Catch::Contains("half_open_max_probes"));
  CHECK_THROWS_WITH(broken([](auto& c) { c.half_open_successes = 0; }).validate(),
                    Catch::Contains("half_open_successes"));
  CHECK_THROWS_AS(CircuitBreaker(broken([](auto& c) { c.failure_threshold = -1; })),
                  std::invalid_argument);
}

TEST_CASE("circuit breaker opens after N consecutive failures, not fewer") {
  FakeClock clock;
  CircuitBreaker b(config(3), clock.fn());
  CHECK(b.state() == BreakerState::Closed);
  fail(b, 2);
  CHECK(b.state() == BreakerState::Closed);
  fail(b);
  CHECK(b.state() == BreakerState::Open);
  CHECK_FALSE(b.tryAcquire());
}

TEST_CASE("circuit breaker: a success resets the consecutive failure count") {
  FakeClock clock;
  CircuitBreaker b(config(3), clock.fn());
  fail(b, 2);
  succeed(b);
  fail(b, 2);
  CHECK(b.state() == BreakerState::Closed);
  fail(b);
  CHECK(b.state() == BreakerState::Open);
}

TEST_CASE("circuit breaker: a permit dropped without a verdict changes nothing") {
  FakeClock clock;
  CircuitBreaker b(config(2), clock.fn());
  fail(b);
  { auto p = b.tryAcquire(); REQUIRE(p); }  // neither success nor failure
  CHECK(b.state() == BreakerState::Closed);
  fail(b);
  CHECK(b.state() == BreakerState::Open);   // the count was not reset by the dropped permit
}

TEST_CASE("circuit breaker stays open for exactly the cool-down, then turns half-open") {
  FakeClock clock;
  CircuitBreaker b(config(1), clock.fn());
  fail(b);
  REQUIRE(b.state() == BreakerState::Open);
  clock.now += 999ms;
  CHECK(b.state() == BreakerState::Open);
  CHECK_FALSE(b.tryAcquire());
  clock.now += 1ms;
  CHECK(b.state() == BreakerState::HalfOpen);
}

TEST_CASE("circuit breaker half-open admits only the configured number of probes at once") {
  FakeClock clock;
  CircuitBreaker b(config(1, 2), clock.fn());
  toHalfOpen(b, clock);
  auto p1 = b.tryAcquire();
  auto p2 = b.tryAcquire();
  CHECK(p1);
  CHECK(p2);
  CHECK_FALSE(b.tryAcquire());
  p1.reset();  // a probe that ends without a verdict frees its slot
  CHECK(b.state() == BreakerState::HalfOpen);
  auto p3 = b.tryAcquire();
  CHECK(p3);
  CHECK_FALSE(b.tryAcquire());
}

TEST_CASE("circuit breaker: a successful probe closes it") {
  FakeClock clock;
  CircuitBreaker b(config(2), clock.fn());
  toHalfOpen(b, clock);
  succeed(b);
  CHECK(b.state() == BreakerState::Closed);
  // Closed again with a fresh failure count.
  fail(b);
  CHECK(b.state() == BreakerState::Closed);
  fail(b);
  CHECK(b.state() == BreakerState::Open);
}

TEST_CASE("circuit breaker: closing can require several successful probes") {
  FakeClock clock;
  CircuitBreaker b(config(1, 1, 3), clock.fn());
  toHalfOpen(b, clock);
  succeed(b);
  succeed(b);
  CHECK(b.state() == BreakerState::HalfOpen);
  succeed(b);
  CHECK(b.state() == BreakerState::Closed);
}

TEST_CASE("circuit breaker: a failed probe opens it again for a full cool-down") {
  FakeClock clock;
  CircuitBreaker b(config(1, 1, 2), clock.fn());
  toHalfOpen(b, clock);
  succeed(b);  // one of two successes: not closed yet
  clock.now += 300ms;
  fail(b);
  CHECK(b.state() == BreakerState::Open);
  clock.now += 999ms;
  CHECK(b.state() == BreakerState::Open);  // counted from the failed probe, not the first open
  clock.now += 1ms;
  CHECK(b.state() == BreakerState::HalfOpen);
  succeed(b);
  CHECK(b.state() == BreakerState::HalfOpen);  // the earlier success does not carry over
  succeed(b);
  CHECK(b.state() == BreakerState::Closed);
}

TEST_CASE("circuit breaker ignores results of calls admitted before the last state change") {
  FakeClock clock;
  CircuitBreaker b(config(2), clock.fn());
  auto slow = b.tryAcquire();  // admitted while closed
  REQUIRE(slow);
  fail(b, 2);
  REQUIRE(b.state() == BreakerState::Open);
  SECTION("a late success does not close an open circuit") {
    b.success(std::move(*slow));
    CHECK(b.state() == BreakerState::Open);
  }
  SECTION("a late success does not count as a half-open probe") {
    clock.now += 1000ms;
    REQUIRE(b.state() == BreakerState::HalfOpen);
    b.success(std::move(*slow));
    CHECK(b.state() == BreakerState::HalfOpen);
    auto probe = b.tryAcquire();  // and its slot was never a probe slot
    CHECK(probe);
  }
  SECTION("a late failure does not reopen a circuit that closed") {
    clock.now += 1000ms;
    succeed(b);
    REQUIRE(b.state() == BreakerState::Closed);
    b.failure(std::move(*slow));
    fail(b);
    CHECK(b.state() == BreakerState::Closed);  // one counted failure of two
  }
}

TEST_CASE("circuit breaker tells the listener every state change, in order") {
  FakeClock clock;
  std::vector<std::pair<BreakerState, BreakerState>> seen;
  CircuitBreaker b(config(1), clock.fn(),
                   [&](BreakerState from, BreakerState to) { seen.emplace_back(from, to); });
  fail(b);
  clock.now += 1000ms;
  fail(b);  // the probe fails
  clock.now += 1000ms;
  succeed(b);
  using S = BreakerState;
  const std::vector<std::pair<S, S>> expected{{S::Closed, S::Open},   {S::Open, S::HalfOpen},
                                              {S::HalfOpen, S::Open}, {S::Open, S::HalfOpen},
                                              {S::HalfOpen, S::Closed}};
  CHECK(seen == expected);
}

TEST_CASE("circuit breaker state numbers are the gauge values") {
  CHECK(static_cast<int>(BreakerState::Closed) == 0);
  CHECK(static_cast<int>(BreakerState::Open) == 1);
  CHECK(static_cast<int>(BreakerState::HalfOpen) == 2);
  CHECK(std::string(tickstream::order::breakerStateName(BreakerState::HalfOpen)) == "half_open");
}

TEST_CASE("circuit breaker keeps its counts consistent under concurrent calls") {
  // Many threads fail at once: the circuit opens exactly once, and while half-open no more than
  // the allowed probes are ever out together.
  FakeClock clock;
  std::atomic<int> opens{0};
  CircuitBreaker b(config(50, 2), clock.fn(), [&](BreakerState, BreakerState to) {
    if (to == BreakerState::Open) ++opens;
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        if (auto p = b.tryAcquire()) b.failure(std::move(*p));
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(b.state() == BreakerState::Open);
  CHECK(opens == 1);

  clock.now += 1000ms;
  REQUIRE(b.state() == BreakerState::HalfOpen);
  std::atomic<int> held{0};
  std::atomic<int> most{0};
  threads.clear();
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        if (auto p = b.tryAcquire()) {
          const int now = ++held;
          int seen = most.load();
          while (now > seen && !most.compare_exchange_weak(seen, now)) {
          }
          --held;
        }  // dropped without a verdict: stays half-open
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(most <= 2);
  CHECK(most >= 1);
  CHECK(b.state() == BreakerState::HalfOpen);
}
