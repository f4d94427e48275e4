#include <catch2/catch.hpp>

#include <chrono>

#include "circuit_breaker.h"
#include "order_router.h"

using tickstream::order::BreakerState;
using tickstream::order::CircuitBreaker;
using tickstream::order::CircuitBreakerConfig;
using tickstream::order::newOrderBatchSize;
using namespace std::chrono_literals;

TEST_CASE("a NewOrders call carries the whole batch only while the venue's circuit is closed") {
  CHECK(newOrderBatchSize(true, 256) == 256);
  CHECK(newOrderBatchSize(true, 1) == 1);
  // Not closed: the call may be the half-open probe, so it risks one order, not the batch.
  CHECK(newOrderBatchSize(false, 256) == 1);

  // What the router asks: closed() follows the breaker through open and half-open.
  auto now = std::chrono::steady_clock::time_point{};
  CircuitBreakerConfig config;
  config.failure_threshold = 1;
  config.open_duration = 100ms;
  CircuitBreaker breaker(config, [&] { return now; });
  CHECK(breaker.closed());
  breaker.failure(*breaker.tryAcquire());
  CHECK_FALSE(breaker.closed());
  now += 200ms;  // the pause is over: the next call is the probe
  CHECK(breaker.state() == BreakerState::HalfOpen);
  CHECK_FALSE(breaker.closed());
  breaker.success(*breaker.tryAcquire());
  CHECK(breaker.closed());
}
