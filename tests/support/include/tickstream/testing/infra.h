#pragma once

// Where integration tests find the real services that the CTest fixtures started
// (tests/CMakeLists.txt), and how they drive them (restart, kill) through deploy/local/.
#include <sys/wait.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>

namespace tickstream::testing {

inline std::string envOr(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

inline std::string infraDir() {
  std::string dir = envOr("TICKSTREAM_INFRA_DIR", "");
  if (dir.empty()) throw std::runtime_error("TICKSTREAM_INFRA_DIR is not set: run the tests through ctest");
  return dir;
}

inline std::string readFirstLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (!std::getline(in, line) || line.empty()) {
    throw std::runtime_error(path + " is missing: was the fixture started?");
  }
  return line;
}

// host:port of the real Kafka broker (TICKSTREAM_KAFKA_BOOTSTRAP overrides the fixture's).
inline std::string kafkaBootstrap() {
  std::string v = envOr("TICKSTREAM_KAFKA_BOOTSTRAP", "");
  return v.empty() ? readFirstLine(infraDir() + "/kafka/bootstrap") : v;
}

// postgresql:// URL of the real PostgreSQL (TICKSTREAM_PG_URL overrides the fixture's).
inline std::string postgresUrl() {
  std::string v = envOr("TICKSTREAM_PG_URL", "");
  return v.empty() ? readFirstLine(infraDir() + "/postgres/url") : v;
}

// Runs deploy/local/<script> <verb> --dir <infra>/<service>; returns its exit code (-1 when
// it could not run or died of a signal).
inline int controlService(const std::string& script, const std::string& verb, const std::string& service) {
  std::string root = envOr("TICKSTREAM_ROOT", "");
  if (root.empty()) throw std::runtime_error("TICKSTREAM_ROOT is not set: run the tests through ctest");
  auto quoted = [](const std::string& s) { return "'" + s + "'"; };  // paths may hold spaces
  std::string cmd = quoted(root + "/deploy/local/" + script) + " " + verb + " --dir " +
                    quoted(infraDir() + "/" + service) + " >/dev/null";
  int status = std::system(cmd.c_str());
  return status != -1 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Polls `condition` until it holds or `timeout` passes; returns whether it held.
inline bool waitUntil(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
                      std::chrono::milliseconds every = std::chrono::milliseconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(every);
  }
  return true;
}

// A name no other run has used: tests create their own topics and databases.
inline std::string uniqueName(const std::string& prefix) {
  auto now = std::chrono::system_clock::now().time_since_epoch();
  return prefix + "." + std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(now).count());
}

}  // namespace tickstream::testing
