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

TEST_CASE("a NewOrder to the venue carries a market order's stored collar, never one for a limit order") {
  namespace v1 = tickstream::order::v1;
  v1::Order market;
  market.set_order_id("ord-1");
  market.set_type(v1::ORDER_TYPE_MARKET);
  market.set_quantity(100);
  market.set_collar_price(1'100'000);
  const auto sent = tickstream::order::toVenueNewOrder(market);
  CHECK(sent.collar_price() == 1'100'000);
  CHECK(sent.limit_price() == 0);
  // Built from the same stored order, a re-send is byte for byte the first: the venue takes it
  // as the same request, not as the order id reused for another.
  CHECK(tickstream::order::toVenueNewOrder(market).SerializeAsString() == sent.SerializeAsString());

  v1::Order limit = market;
  limit.set_type(v1::ORDER_TYPE_LIMIT);
  limit.set_limit_price(1'000'000);
  CHECK(tickstream::order::toVenueNewOrder(limit).collar_price() == 0);
}
