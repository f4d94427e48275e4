// The exchange-sim binary with --venue-listen: a routed order fills against the live simulated
// market, and SIGTERM stops the venue cleanly; SIGUSR1 starts a spike in the feed.
#include <catch2/catch.hpp>

#include <grpcpp/grpcpp.h>

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <optional>
#include <regex>
#include <string>

#include "grpc/health/v1/health.grpc.pb.h"
#include "market.h"
#include "tickstream/testing/child.h"
#include "tickstream/testing/metrics.h"
#include "tickstream/venue/v1/venue.grpc.pb.h"

namespace v1 = tickstream::venue::v1;
namespace ov1 = tickstream::order::v1;
using grpc::health::v1::Health;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;
using tickstream::testing::Child;
using tickstream::testing::waitUntil;
using namespace std::chrono_literals;

namespace {

void deadline(grpc::ClientContext& ctx, std::chrono::milliseconds in = 10s) {
  ctx.set_deadline(std::chrono::system_clock::now() + in);
}

} // namespace

TEST_CASE("exchange-sim --venue-listen fills a routed order against the live market and stops "
          "on SIGTERM") {
  const std::string log = "/tmp/exchange_sim_venue_process_test_" + std::to_string(::getpid());
  Child sim({TICKSTREAM_EXCHANGE_SIM_BIN, "--symbols", "3", "--seed", "11", "--listen",
             "127.0.0.1:0", "--messages", "0", "--rate", "20000", "--venue-listen",
             "127.0.0.1:0", "--venue-session", "P1"},
            log);
  const std::regex listening(R"(venue listening.*"port":(\d+))");
  std::smatch m;
  std::string text;
  REQUIRE(waitUntil(
      [&] {
        text = sim.log();
        return std::regex_search(text, m, listening);
      },
      10s));
  const std::string address = "127.0.0.1:" + m[1].str();
  auto channel = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());

  auto health = Health::NewStub(channel);
  REQUIRE(waitUntil(
      [&] {
        grpc::ClientContext ctx;
        deadline(ctx, 1s);
        HealthCheckRequest req;
        req.set_service("tickstream.venue.v1.Venue");
        HealthCheckResponse res;
        return health->Check(&ctx, req, &res).ok() && res.status() == HealthCheckResponse::SERVING;
      },
      10s));

  auto venue = v1::Venue::NewStub(channel);
  grpc::ClientContext stream_ctx;
  deadline(stream_ctx, 30s);
  auto stream = venue->StreamExecutions(&stream_ctx, v1::StreamExecutionsRequest{});

  // The book may still be empty just after the open: send market IOC orders until one fills.
  int sent = 0;
  v1::ExecutionReport fill;
  const bool filled = waitUntil(
      [&] {
        v1::NewOrderRequest r;
        r.set_order_id("m" + std::to_string(++sent));
        r.set_account("acct");
        r.set_symbol(std::string(tickstream::itch::symbol(tickstream::exchange_sim::tickerFor(1))));
        r.set_side(ov1::SIDE_BUY);
        r.set_type(ov1::ORDER_TYPE_MARKET);
        r.set_time_in_force(ov1::TIME_IN_FORCE_IOC);
        r.set_quantity(100);
        grpc::ClientContext ctx;
        deadline(ctx);
        v1::NewOrderResponse res;
        REQUIRE(venue->NewOrder(&ctx, r, &res).ok());
        REQUIRE(res.report().exec_type() == v1::EXEC_TYPE_NEW);
        // Every order ends in a fill or a cancel, on the stream, in order.
        for (;;) {
          v1::ExecutionReport report;
          REQUIRE(stream->Read(&report));
          if (report.order_id() != r.order_id()) {
            continue;
          }
          if (report.exec_type() == v1::EXEC_TYPE_FILL ||
              report.exec_type() == v1::EXEC_TYPE_PARTIAL_FILL) {
            fill = report;
            return true;
          }
          if (report.exec_type() == v1::EXEC_TYPE_CANCELED) {
            return false;
          }
        }
      },
      20s, 50ms);
  INFO("orders sent: " << sent);
  REQUIRE(filled);
  CHECK(fill.last_price() > 0);
  CHECK(fill.last_quantity() > 0);
  CHECK(fill.liquidity() == ov1::LIQUIDITY_REMOVED);
  CHECK(fill.venue_execution_id().rfind("P1-E", 0) == 0);

  sim.signal(SIGTERM);
  v1::ExecutionReport rest;
  while (stream->Read(&rest)) {
  }
  CHECK(stream->Finish().error_code() == grpc::StatusCode::UNAVAILABLE);
  CHECK(sim.waitExit(15s) == 0);
}

TEST_CASE("exchange-sim: SIGUSR1 starts a spike in the live feed") {
  // 200 messages/s; a spike is 20,000 at 100x, 20,000/s (1 s): without it 20,000 would take 100 s.
  Child sim({TICKSTREAM_EXCHANGE_SIM_BIN, "--symbols", "3", "--seed", "5", "--listen", "127.0.0.1:0",
             "--messages", "0", "--rate", "200", "--burst-factor", "100", "--spike-messages", "20000",
             "--metrics-listen", "127.0.0.1:0"},
            "/tmp/exchange_sim_spike_" + std::to_string(::getpid()) + ".log");
  INFO(sim.log());
  const uint16_t metrics_port = tickstream::testing::metricsPort(sim);
  REQUIRE(metrics_port != 0);
  const auto published = [&] {
    return tickstream::testing::metricValue(metrics_port, "exchange_sim_messages_published_total").value_or(-1.0);
  };
  REQUIRE(waitUntil([&] { return published() > 0; }, 10s));
  const double before = published();
  CHECK(before < 5'000);
  sim.signal(SIGUSR1);
  CHECK(waitUntil([&] { return published() >= before + 20'000; }, 5s));
  CHECK(sim.log().find("\"spike requested\"") != std::string::npos);
  sim.signal(SIGTERM);
  CHECK(sim.waitExit(20s) == std::optional<int>(0));
}
