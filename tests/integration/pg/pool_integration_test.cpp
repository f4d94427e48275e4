// The connection pool against a real PostgreSQL, including the server restarting and crashing
// under it (deploy/local/postgres.sh restart / kill).

#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include <atomic>
#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "pg_support.h"
#include "tickstream/pg/pool.h"

using std::chrono::milliseconds;
using std::chrono::seconds;
using tickstream::pg::AcquireTimeout;
using tickstream::pg::Lease;
using tickstream::pg::Pool;
using tickstream::pg::PoolConfig;
using tickstream::pg::Retry;
namespace t = tickstream::pg::test;

namespace {

PoolConfig testConfig(int size) {
  PoolConfig config;
  config.url = t::pgUrl();
  config.size = size;
  config.acquire_timeout = seconds(5);
  config.connect_timeout = seconds(2);
  config.reconnect_backoff_min = milliseconds(20);
  config.reconnect_backoff_max = milliseconds(500);
  config.retry_timeout = seconds(40);
  return config;
}

// A table of its own for each case, created outside the pool.
std::string createTable(const std::string& prefix) {
  const auto table = t::uniqueName(prefix);
  pqxx::connection conn(t::pgUrl());
  pqxx::nontransaction(conn).exec("CREATE TABLE " + table +
                                  " (id bigint PRIMARY KEY, worker int NOT NULL)");
  return table;
}

long long count(const std::string& sql) {
  pqxx::connection conn(t::pgUrl());
  return pqxx::nontransaction(conn).exec(sql)[0][0].as<long long>();
}

// Leases every connection at once and checks each has `statements` prepared and working;
// returns their backend pids.
std::set<int> checkEveryConnection(Pool& pool, const std::vector<std::string>& statements) {
  std::vector<Lease> leases;
  for (int i = 0; i < pool.config().size; ++i) leases.push_back(pool.acquire());
  std::set<int> pids;
  for (auto& lease : leases) {
    pids.insert(lease->backendpid());
    pqxx::nontransaction tx(*lease);
    CHECK(tx.exec_prepared("it_add_one", 41)[0][0].as<int>() == 42);
    for (const auto& name : statements) {
      INFO("statement " << name << " on backend " << lease->backendpid());
      CHECK_FALSE(tx.exec_params("SELECT 1 FROM pg_prepared_statements WHERE name = $1", name)
                      .empty());
    }
  }
  CHECK(pids.size() == leases.size());
  return pids;
}

}  // namespace

TEST_CASE("prepared statements exist on every pool connection, also after a server restart") {
  Pool pool(testConfig(3));
  pool.registerPrepared("it_add_one", "SELECT $1::int + 1");
  const auto first = checkEveryConnection(pool, {"it_add_one"});

  // Registered after the connections were opened: each gets it before its next lease.
  pool.registerPrepared("it_double", "SELECT $1::int * 2");
  CHECK(checkEveryConnection(pool, {"it_add_one", "it_double"}) == first);

  // Bad SQL fails at registration, not on first use; the same name+SQL again is a no-op.
  CHECK_THROWS_AS(pool.registerPrepared("it_bad", "SELEC 1"), pqxx::sql_error);
  CHECK_NOTHROW(pool.registerPrepared("it_double", "SELECT $1::int * 2"));
  CHECK_THROWS_AS(pool.registerPrepared("it_double", "SELECT $1::int * 3"), std::invalid_argument);

  REQUIRE(t::postgresCtl("restart") == 0);

  // Every pooled session died with the old server. The pool notices on acquire (before any work
  // is sent), replaces each connection and prepares the statements again.
  const auto before = pool.stats();
  const auto second = checkEveryConnection(pool, {"it_add_one", "it_double"});
  for (int pid : second) CHECK(first.count(pid) == 0);
  const auto after = pool.stats();
  CHECK(after.reconnects - before.reconnects == 3);
  CHECK(after.discarded - before.discarded == 3);
  CHECK(after.open == 3);

  // ... so even work that must not be retried runs fine straight after a restart.
  const int doubled = pool.run(
      [](pqxx::work& w) { return w.exec_prepared("it_double", 21)[0][0].as<int>(); },
      Retry::Never);
  CHECK(doubled == 42);
}

TEST_CASE("idempotent work from 8 threads survives a PostgreSQL crash with an exact row count") {
  const auto table = createTable("it_crash");
  Pool pool(testConfig(4));
  pool.registerPrepared("it_insert",
                        "INSERT INTO " + table +
                            " (id, worker) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING");

  constexpr int kWorkers = 8;
  std::atomic<bool> stop{false};
  std::atomic<long long> progress{0};
  std::vector<long long> done(kWorkers, 0);
  std::vector<std::string> errors(kWorkers);
  std::vector<std::thread> workers;
  for (int w = 0; w < kWorkers; ++w) {
    workers.emplace_back([&, w] {
      auto& mine = done[static_cast<std::size_t>(w)];
      while (!stop.load()) {
        const long long id = w * 1'000'000LL + mine;
        try {
          // ON CONFLICT makes a retry after an in-doubt commit harmless: exactly one row per id.
          pool.run([&](pqxx::work& tx) { tx.exec_prepared("it_insert", id, w); },
                   Retry::Idempotent);
        } catch (const std::exception& e) {
          errors[static_cast<std::size_t>(w)] = e.what();
          return;
        }
        ++mine;
        ++progress;
      }
    });
  }
  // Joins the workers however this scope is left (a failed REQUIRE throws).
  struct StopOnExit {
    std::atomic<bool>& stop;
    std::vector<std::thread>& threads;
    void operator()() {
      stop = true;
      for (auto& th : threads) {
        if (th.joinable()) th.join();
      }
    }
    ~StopOnExit() { (*this)(); }
  } stopWorkers{stop, workers};

  REQUIRE(t::waitFor([&] { return progress >= 400; }, seconds(20)));

  // kill -9: no goodbye to the clients, and crash recovery on start.
  const long long atCrash = progress;
  t::killPostgres(seconds(20));
  t::startPostgres(seconds(30));
  const auto restarted = std::chrono::steady_clock::now();
  // Work must resume after the restart, on new connections.
  const bool resumed = t::waitFor([&] { return progress >= atCrash + 400; }, seconds(30));
  const auto recovery = std::chrono::steady_clock::now() - restarted;
  stopWorkers();
  REQUIRE(resumed);

  long long total = 0;
  for (int w = 0; w < kWorkers; ++w) {
    const auto n = done[static_cast<std::size_t>(w)];
    INFO("worker " << w << " error: " << errors[static_cast<std::size_t>(w)]);
    CHECK(errors[static_cast<std::size_t>(w)].empty());
    // Exactly ids w*1e6 + [0, n): nothing lost, nothing doubled.
    CHECK(count("SELECT count(*) FROM " + table + " WHERE worker = " + std::to_string(w)) == n);
    CHECK(count("SELECT coalesce(max(id), -1) FROM " + table + " WHERE worker = " +
                std::to_string(w)) == w * 1'000'000LL + n - 1);
    total += n;
  }
  CHECK(count("SELECT count(*) FROM " + table) == total);

  const auto stats = pool.stats();
  UNSCOPED_INFO("rows " << total << ", at crash " << atCrash << ", reconnects " << stats.reconnects
                        << ", retries " << stats.retries << ", connect failures "
                        << stats.connect_failures << ", discarded " << stats.discarded
                        << ", first 400 after restart in "
                        << std::chrono::duration_cast<milliseconds>(recovery).count() << " ms");
  CHECK(stats.reconnects >= 1);
  CHECK(stats.discarded >= 1);
  CHECK(stats.open <= 4);
}

TEST_CASE("work that is not idempotent runs once and the lost connection reaches the caller") {
  const auto table = createTable("it_once");
  Pool pool(testConfig(2));
  pool.registerPrepared("it_insert_once",
                        "INSERT INTO " + table + " (id, worker) VALUES ($1, 0)");
  const auto url = t::pgUrl();
  const auto rows = [&](int id) {
    return count("SELECT count(*) FROM " + table + " WHERE id = " + std::to_string(id));
  };

  SECTION("the connection breaks in the middle of the transaction") {
    int calls = 0;
    CHECK_THROWS_AS(pool.run(
                        [&](pqxx::work& w) {
                          ++calls;
                          w.exec_prepared("it_insert_once", 1);
                          t::terminateBackend(url, w.conn().backendpid());
                          w.exec_prepared("it_insert_once", 2);
                        },
                        Retry::Never),
                    pqxx::broken_connection);
    CHECK(calls == 1);
    CHECK(rows(1) == 0);
    CHECK(pool.stats().retries == 0);
  }

  SECTION("the connection breaks before COMMIT: the outcome is in doubt") {
    int calls = 0;
    CHECK_THROWS_AS(pool.run(
                        [&](pqxx::work& w) {
                          ++calls;
                          w.exec_prepared("it_insert_once", 3);
                          t::terminateBackend(url, w.conn().backendpid());
                        },
                        Retry::Never),
                    pqxx::in_doubt_error);
    CHECK(calls == 1);
    CHECK(rows(3) == 0);  // here it did roll back, but only the server knew that
    CHECK(pool.stats().retries == 0);
  }

  SECTION("the same failure with idempotent work is retried on a fresh connection") {
    int calls = 0;
    pool.run(
        [&](pqxx::work& w) {
          ++calls;
          w.exec("INSERT INTO " + table + " (id, worker) VALUES (4, 0) ON CONFLICT DO NOTHING");
          if (calls == 1) t::terminateBackend(url, w.conn().backendpid());
        },
        Retry::Idempotent);
    CHECK(calls == 2);
    CHECK(rows(4) == 1);
    CHECK(pool.stats().retries == 1);
  }

  // Either way the broken connection was replaced, not handed out again.
  const int ok = pool.run(
      [](pqxx::connection& c) { return pqxx::nontransaction(c).exec("SELECT 7")[0][0].as<int>(); },
      Retry::Never);
  CHECK(ok == 7);
  CHECK(pool.stats().discarded >= 1);
}

TEST_CASE("a pool that stopped retrying (shutdown) re-attempts once at once, then hands the failure over") {
  const auto table = createTable("it_stopped");
  Pool pool(testConfig(2));  // retry_timeout 40 s: waiting it out would show in the elapsed time
  const auto url = t::pgUrl();
  pool.stopRetrying();
  const auto started = std::chrono::steady_clock::now();

  SECTION("work that fails once still completes: an in-doubt outcome is still resolved") {
    int calls = 0;
    pool.run(
        [&](pqxx::work& w) {
          ++calls;
          w.exec("INSERT INTO " + table + " (id, worker) VALUES (1, 0) ON CONFLICT DO NOTHING");
          if (calls == 1) t::terminateBackend(url, w.conn().backendpid());
        },
        Retry::Idempotent);
    CHECK(calls == 2);
    CHECK(count("SELECT count(*) FROM " + table) == 1);
  }

  SECTION("work that keeps failing is handed over after the one re-attempt, without a pause") {
    int calls = 0;
    CHECK_THROWS_AS(pool.run(
                        [&](pqxx::work& w) {
                          ++calls;
                          t::terminateBackend(url, w.conn().backendpid());
                          w.exec("SELECT 1");
                        },
                        Retry::Idempotent),
                    pqxx::broken_connection);
    CHECK(calls == 2);  // a pool still retrying would go on for its 40 s
  }
  CHECK(std::chrono::steady_clock::now() - started < seconds(5));
  // Work that meets no failure still runs: stopping retries is not stopping the pool.
  const int ok = pool.run(
      [](pqxx::connection& c) { return pqxx::nontransaction(c).exec("SELECT 7")[0][0].as<int>(); },
      Retry::Idempotent);
  CHECK(ok == 7);
}

TEST_CASE("acquire times out when every connection is leased, and a returned one wakes a waiter") {
  auto config = testConfig(2);
  config.acquire_timeout = milliseconds(200);
  Pool pool(config);
  Lease a = pool.acquire();
  Lease b = pool.acquire();

  const auto start = std::chrono::steady_clock::now();
  CHECK_THROWS_AS(pool.acquire(milliseconds(100)), AcquireTimeout);
  const auto waited = std::chrono::steady_clock::now() - start;
  CHECK(waited >= milliseconds(100));
  CHECK(waited < seconds(2));
  // run() does not retry a saturated pool: that would hide overload behind latency.
  CHECK_THROWS_AS(pool.run([](pqxx::connection&) {}, Retry::Idempotent), AcquireTimeout);
  CHECK(pool.stats().acquire_timeouts == 2);

  const int pidOfA = a->backendpid();
  const auto waitsBefore = pool.stats().waits;
  std::atomic<int> got{0};
  std::thread waiter([&] {
    Lease c = pool.acquire(seconds(10));
    got = c->backendpid();
  });
  // Once the waiter is blocked, returning a connection must hand it over promptly.
  REQUIRE(t::waitFor([&] { return pool.stats().waits > waitsBefore; }, seconds(5)));
  const auto released = std::chrono::steady_clock::now();
  a.release();
  const bool handedOver = t::waitFor([&] { return got.load() != 0; }, seconds(5));
  const auto handover = std::chrono::steady_clock::now() - released;
  waiter.join();
  REQUIRE(handedOver);
  CHECK(got == pidOfA);
  CHECK(handover < seconds(1));
  CHECK(pool.stats().open == 2);
}
