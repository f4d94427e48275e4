#pragma once

// A real binary spawned by a test: its stdout and stderr go to a log file the test can read, and
// it is killed (SIGKILL) if the test unwinds first.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "tickstream/testing/infra.h"

namespace tickstream::testing {

using namespace std::chrono_literals;

inline std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

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
  pid_t pid() const { return pid_; }

private:
  std::string log_;
  pid_t pid_ = -1;
  std::optional<int> status_;
};

} // namespace tickstream::testing
