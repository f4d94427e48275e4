#include <catch2/catch.hpp>

#include "execution_stream.h"
#include "venue_client.h"

using tickstream::order::ExecutionStreamConfig;
using tickstream::order::VenueClientConfig;
using namespace std::chrono_literals;

TEST_CASE("venue client config names the broken field") {
  auto broken = [](auto mutate) {
    VenueClientConfig c;
    mutate(c);
    return c;
  };
  CHECK_NOTHROW(VenueClientConfig{}.validate());
  CHECK_THROWS_WITH(broken([](auto& c) { c.call_deadline = 0ms; }).validate(),
                    Catch::Contains("call_deadline"));
  CHECK_THROWS_WITH(broken([](auto& c) { c.retry_budget = c.call_deadline - 1ms; }).validate(),
                    Catch::Contains("retry_budget"));
  CHECK_THROWS_WITH(broken([](auto& c) { c.backoff_min = 0ms; }).validate(),
                    Catch::Contains("backoff_min"));
  CHECK_THROWS_WITH(broken([](auto& c) { c.backoff_max = c.backoff_min - 1ms; }).validate(),
                    Catch::Contains("backoff_max"));
  CHECK_THROWS_WITH(broken([](auto& c) { c.backoff_jitter = 1.5; }).validate(),
                    Catch::Contains("backoff_jitter"));
  CHECK_THROWS_WITH(broken([](auto& c) { c.reconnect_backoff_max = 10ms; }).validate(),
                    Catch::Contains("reconnect_backoff_max"));
  CHECK_NOTHROW(broken([](auto& c) { c.keepalive_time = 0ms; }).validate());  // off
  CHECK_THROWS_WITH(broken([](auto& c) { c.keepalive_time = 500ms; }).validate(),
                    Catch::Contains("keepalive_time"));
  CHECK_THROWS_WITH(broken([](auto& c) { c.keepalive_timeout = 10ms; }).validate(),
                    Catch::Contains("keepalive_timeout"));
}

TEST_CASE("execution stream config names the broken field") {
  auto broken = [](auto mutate) {
    ExecutionStreamConfig c;
    mutate(c);
    return c;
  };
  CHECK_NOTHROW(ExecutionStreamConfig{}.validate());
  CHECK_THROWS_WITH(broken([](auto& c) { c.reconnect_min = 0ms; }).validate(),
                    Catch::Contains("reconnect_min"));
  CHECK_THROWS_WITH(broken([](auto& c) { c.reconnect_max = c.reconnect_min - 1ms; }).validate(),
                    Catch::Contains("reconnect_max"));
  CHECK_THROWS_WITH(broken([](auto& c) { c.reconnect_jitter = -0.1; }).validate(),
                    Catch::Contains("reconnect_jitter"));
  CHECK_THROWS_WITH(broken([](auto& c) { c.list_deadline = 0ms; }).validate(),
                    Catch::Contains("list_deadline"));
}
