#pragma once

// What the pipeline integration tests share: spawning the real binaries, reading their logs and
// the simulator's truth file, and simulating the same market in-process.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "tickstream/testing/child.h"
#include "tickstream/testing/metrics.h"

#include "market.h"
#include "tickstream/itch/codec.h"
#include "tickstream/testing/infra.h"

namespace tickstream::pipeline_test {

using namespace std::chrono_literals;

constexpr int32_t kPartitions = 8;
constexpr uint16_t kSymbols = 40;
constexpr uint64_t kSeed = 7;
constexpr uint64_t kMessages = 20'000;

using testing::Child;
using testing::slurp;

// The same market the binary simulates: each message's wire bytes, in sequence order from 1.
inline std::vector<std::string> simulate(uint64_t messages) {
  tickstream::exchange_sim::MarketConfig config;
  config.symbols = kSymbols;
  config.seed = kSeed;
  tickstream::exchange_sim::MarketSimulator sim(config);
  std::vector<std::string> out;
  out.reserve(messages);
  tickstream::itch::Message m;
  std::array<uint8_t, 128> buf{};
  for (uint64_t i = 0; i < messages; ++i) {
    sim.next(m);
    const std::size_t n = tickstream::itch::encode(m, buf);
    out.emplace_back(reinterpret_cast<const char*>(buf.data()), n);
  }
  return out;
}

inline bool marketWide(const std::string& bytes) {
  const uint16_t locate = static_cast<uint16_t>((static_cast<uint8_t>(bytes[1]) << 8) |
                                                static_cast<uint8_t>(bytes[2]));
  return bytes[0] == 'S' || locate == 0;
}

// Waits for the port a live exchange-sim (simArgs) logs.
inline uint16_t waitForSimPort(Child& sim) {
  uint16_t port = 0;
  const std::regex listening(R"(soup server listening.*"port":(\d+))");
  testing::waitUntil(
      [&] {
        std::smatch m;
        const std::string log = sim.log();
        if (std::regex_search(log, m, listening)) {
          port = static_cast<uint16_t>(std::stoi(m[1].str()));
        }
        return port != 0 || !sim.running();
      },
      10s);
  return port;
}

inline std::vector<std::string> simArgs(const std::string& bin, const std::string& truth,
                                        uint64_t messages = kMessages, uint32_t rate = 50'000) {
  return {bin,     "--listen",      "127.0.0.1:0", "--symbols",    std::to_string(kSymbols),
          "--seed", std::to_string(kSeed), "--messages", std::to_string(messages), "--rate",
          std::to_string(rate), "--truth-out", truth, "--drain-ms", "2000",
          "--log-format", "json"};
}

// The session's exact message count once the truth file is complete, or 0 after `timeout`.
inline uint64_t waitForTruth(const std::string& truth, std::chrono::milliseconds timeout) {
  uint64_t published = 0;
  testing::waitUntil(
      [&] {
        const std::string t = slurp(truth);
        std::smatch m;
        static const std::regex messages(R"("messages":(\d+))");
        if (t.find("]}") != std::string::npos && std::regex_search(t, m, messages)) {
          published = std::stoull(m[1].str());
        }
        return published != 0;
      },
      timeout);
  return published;
}

} // namespace tickstream::pipeline_test
