#pragma once

// Helpers for the PostgreSQL integration tests: where the server started by the `postgres`
// CTest fixture (deploy/local/postgres.sh) is, how to restart it, and condition waits.

#include <catch2/catch.hpp>
#include <pqxx/pqxx>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include "tickstream/testing/infra.h"

namespace tickstream::pg::test {

// The fixture's server: tickstream::testing finds it and drives deploy/local/postgres.sh.
inline std::string pgUrl() { return testing::postgresUrl(); }
inline int postgresCtl(const std::string& command) {
  return testing::controlService("postgres.sh", command, "postgres");
}

// Polls `condition` until it holds or `timeout` passes: how tests wait, never a fixed sleep.
template <class Condition>
bool waitFor(Condition&& condition, std::chrono::milliseconds timeout) {
  return testing::waitUntil(std::forward<Condition>(condition), timeout, std::chrono::milliseconds(5));
}

// kill -9 of the postmaster, returning once it is really gone. "Gone" is not immediate: the
// killed process lingers as a zombie until its parent (init) reaps it, and until then pg_ctl,
// and so `postgres.sh status`/`start`, still see a running server.
inline void killPostgres(std::chrono::milliseconds timeout) {
  REQUIRE(postgresCtl("kill") == 0);
  REQUIRE(waitFor([] { return postgresCtl("status") != 0; }, timeout));
}

// Starts the server again after killPostgres(). Retried: the new postmaster refuses to start
// while an old backend still holds the shared memory.
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
