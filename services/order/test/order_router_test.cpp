#include <catch2/catch.hpp>

#include "order_router.h"

using tickstream::order::BreakerState;
using tickstream::order::newOrderBatchSize;

TEST_CASE("a NewOrders call carries the whole batch only while the venue's circuit is closed") {
  CHECK(newOrderBatchSize(BreakerState::Closed, 256) == 256);
  // Not closed: the call may be the half-open probe (an open circuit whose pause is over reads
  // half-open on the next call), so it risks one order, not the batch.
  CHECK(newOrderBatchSize(BreakerState::HalfOpen, 256) == 1);
  CHECK(newOrderBatchSize(BreakerState::Open, 256) == 1);
  CHECK(newOrderBatchSize(BreakerState::Closed, 1) == 1);
}
