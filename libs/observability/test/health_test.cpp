#include <catch2/catch.hpp>

#include "tickstream/observability/health.h"

using tickstream::observability::Health;

TEST_CASE("ready only when every registered component is ready") {
  Health h;
  CHECK(h.ready());  // nothing registered yet
  h.setReady("kafka", false, "no partitions assigned");
  h.setReady("snapshot", true);
  CHECK_FALSE(h.ready());
  CHECK_THAT(h.readinessReport(), Catch::Contains("FAIL kafka: no partitions assigned"));
  CHECK_THAT(h.readinessReport(), Catch::Contains("ok snapshot"));
  h.setReady("kafka", true);
  CHECK(h.ready());
}

TEST_CASE("a process that is not live is not ready either") {
  Health h;
  h.setLive(false, "producer fatal error");
  CHECK_FALSE(h.live());
  CHECK_FALSE(h.ready());
  CHECK_THAT(h.livenessReport(), Catch::Contains("producer fatal error"));
}
