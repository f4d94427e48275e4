#pragma once

// Helpers for the PostgreSQL integration tests: where the server started by the `postgres`
// CTest fixture (deploy/local/postgres.sh) is, how to restart it, and condition waits.

#include <catch2/catch.hpp>
#include <pqxx/pqxx>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>

namespace tickstream::pg::test {

inline std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? std::string() : std::string(v);
}

// TICKSTREAM_PG_URL if set, else the URL postgres.sh wrote under $TICKSTREAM_INFRA_DIR.
inline std::string pgUrl() {
  if (auto url = env("TICKSTREAM_PG_URL"); !url.empty()) return url;
  const auto infra = env("TICKSTREAM_INFRA_DIR");
  if (infra.empty()) FAIL("set TICKSTREAM_PG_URL, or run through ctest (postgres fixture)");
  std::ifstream in(infra + "/postgres/url");
  std::string url;
  std::getline(in, url);
  if (url.empty()) FAIL("no URL in " << infra << "/postgres/url: is the postgres fixture up?");
  return url;
}

// Runs `deploy/local/postgres.sh <command>` on the fixture's server.
inline int postgresCtl(const std::string& command) {
  const auto root = env("TICKSTREAM_ROOT");
  const auto infra = env("TICKSTREAM_INFRA_DIR");
  if (root.empty() || infra.empty()) {
    FAIL("restarting PostgreSQL needs TICKSTREAM_ROOT and TICKSTREAM_INFRA_DIR (run via ctest)");
  }
  const std::string cmd = "'" + root + "/deploy/local/postgres.sh' " + command + " --dir '" +
                          infra + "/postgres' >/dev/null";
  return std::system(cmd.c_str());
}

// Polls `condition` until it holds or `timeout` passes; returns whether it held. Polling with a
// deadline is how tests wait: a fixed sleep is either flaky or slow.
template <class Condition>
bool waitFor(Condition&& condition, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

// Starts the server again after `kill`, which can race the old backends' exit (the new postmaster
// refuses to start while they still hold the shared memory): retry until it is up.
inline void startPostgres(std::chrono::milliseconds timeout) {
  REQUIRE(waitFor([] { return postgresCtl("start") == 0; }, timeout));
}

// Terminates backend `pid` from another session and waits until it has gone, so the client's
// socket has seen the server hang up.
inline void terminateBackend(const std::string& url, int pid) {
  pqxx::connection admin(url);
  pqxx::nontransaction(admin).exec_params("SELECT pg_terminate_backend($1)", pid);
  REQUIRE(waitFor(
      [&] {
        pqxx::nontransaction tx(admin);
        return tx.exec_params("SELECT 1 FROM pg_stat_activity WHERE pid = $1", pid).empty();
      },
      std::chrono::seconds(10)));
}

// A name no other test process uses, for schemas and tables.
inline std::string uniqueName(const std::string& prefix) {
  static int counter = 0;
  return prefix + "_" + std::to_string(::getpid()) + "_" + std::to_string(++counter);
}

}  // namespace tickstream::pg::test
