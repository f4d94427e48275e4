#include <catch2/catch.hpp>

#include <csignal>
#include <unistd.h>

#include <atomic>

#include "tickstream/runtime/shutdown.h"

using tickstream::runtime::ShutdownSignal;
using namespace std::chrono_literals;

TEST_CASE("SIGTERM becomes a shutdown request and runs the callbacks") {
  ShutdownSignal shutdown;
  std::atomic<int> called{0};
  shutdown.onRequest([&] { called++; });
  CHECK_FALSE(shutdown.requested());
  CHECK_FALSE(shutdown.waitFor(10ms));
  ::kill(::getpid(), SIGTERM);
  REQUIRE(shutdown.waitFor(5s));
  CHECK(shutdown.signal() == SIGTERM);
  CHECK(called == 1);
}

TEST_CASE("request() from inside the process wakes waiters once") {
  ShutdownSignal shutdown;
  std::atomic<int> called{0};
  shutdown.onRequest([&] { called++; });
  shutdown.request();
  shutdown.request();
  shutdown.wait();
  CHECK(shutdown.signal() == 0);
  CHECK(called == 1);
  // A callback registered after the request still runs.
  shutdown.onRequest([&] { called++; });
  CHECK(called == 2);
}
