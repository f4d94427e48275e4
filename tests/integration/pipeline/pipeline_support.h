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

#include "market.h"
#include "tickstream/itch/codec.h"
#include "tickstream/testing/infra.h"

namespace tickstream::pipeline_test {

using namespace std::chrono_literals;

constexpr int32_t kPartitions = 8;
constexpr uint16_t kSymbols = 40;
constexpr uint64_t kSeed = 7;
constexpr uint64_t kMessages = 20'000;

inline std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A spawned binary with stdout and stderr in `log`; killed (SIGKILL) if the test unwinds first.
class Child {
public:
  Child(const std::vector<std::string>& argv, std::string log) : log_(std::move(log)) {
    std::vector<char*> args;
    for (const auto& a : argv) {
      args.push_back(const_cast<char*>(a.c_str()));
    }
    args.push_back(nullptr);
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      const int fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
      }
      ::execv(args[0], args.data());
      ::_exit(127);
    }
  }
  ~Child() {
    if (pid_ > 0 && !status_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  void signal(int sig) const { ::kill(pid_, sig); }
  // The exit code once it exited within `timeout` (128 + signal if a signal killed it).
  std::optional<int> waitExit(std::chrono::milliseconds timeout) {
    testing::waitUntil(
        [&] {
          int st = 0;
          if (::waitpid(pid_, &st, WNOHANG) == pid_) {
            status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
          }
          return status_.has_value();
        },
        timeout);
    return status_;
  }
  bool running() {
    return !waitExit(0ms).has_value();
  }
  std::string log() const { return slurp(log_); }

private:
  std::string log_;
  pid_t pid_ = -1;
  std::optional<int> status_;
};

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
