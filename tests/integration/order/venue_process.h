#pragma once

// The real exchange-sim binary serving the venue API, for the order integration tests (the
// router's venue side and the whole order service).

#include <catch2/catch.hpp>
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include "grpc/health/v1/health.grpc.pb.h"
#include "market.h"
#include "tickstream/testing/child.h"

namespace tickstream::order::test {

using namespace std::chrono_literals;

// The state letter of /proc/<pid>/stat ('R', 'S', 'T' = stopped, ...), or '?' when unreadable.
inline char processState(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  const auto close = line.rfind(')');  // the command name may contain spaces and parentheses
  return close == std::string::npos || close + 2 >= line.size() ? '?' : line[close + 2];
}

// One run of the exchange-sim binary serving the venue API, SERVING when constructed.
class VenueProcess {
 public:
  // port 0 picks a free port; a restart passes the previous run's port.
  VenueProcess(const std::string& session, int port, std::vector<std::string> extra = {})
      : child_(argv(session, port, std::move(extra)), logPath(session)) {
    const std::regex listening(R"(venue listening.*"port":(\d+))");
    std::smatch m;
    std::string text;
    REQUIRE(testing::waitUntil(
        [&] {
          text = child_.log();
          return std::regex_search(text, m, listening);
        },
        10s));
    port_ = std::stoi(m[1].str());
    auto health = grpc::health::v1::Health::NewStub(grpc::CreateChannel(address(), grpc::InsecureChannelCredentials()));
    REQUIRE(testing::waitUntil(
        [&] {
          grpc::ClientContext ctx;
          ctx.set_deadline(std::chrono::system_clock::now() + 1s);
          grpc::health::v1::HealthCheckRequest req;
          req.set_service("tickstream.venue.v1.Venue");
          grpc::health::v1::HealthCheckResponse res;
          return health->Check(&ctx, req, &res).ok() && res.status() == grpc::health::v1::HealthCheckResponse::SERVING;
        },
        10s));
  }

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }
  testing::Child& child() { return child_; }

 private:
  static std::string logPath(const std::string& session) {
    return "/tmp/order_venue_it_" + std::to_string(::getpid()) + "_" + session + ".log";
  }
  static std::vector<std::string> argv(const std::string& session, int port,
                                       std::vector<std::string> extra) {
    std::vector<std::string> a{TICKSTREAM_EXCHANGE_SIM_BIN, "--symbols", "3", "--seed", "11",
                               "--listen", "127.0.0.1:0", "--rate", "20000",
                               "--venue-listen", "127.0.0.1:" + std::to_string(port),
                               "--venue-session", session};
    // The market runs until SIGTERM unless `extra` gives a length: then the day closes after
    // that many messages, and the venue stays up with the market closed.
    if (std::find(extra.begin(), extra.end(), "--messages") == extra.end()) {
      a.insert(a.end(), {"--messages", "0"});
    }
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }

  testing::Child child_;
  int port_ = 0;
};

inline std::string symbol() {
  return std::string(tickstream::itch::symbol(tickstream::exchange_sim::tickerFor(1)));
}


}  // namespace tickstream::order::test
