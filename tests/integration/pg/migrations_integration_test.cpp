// Migrations against a real PostgreSQL. Each case migrates its own schema (search_path), so the
// cases neither see nor refuse each other's schema_migrations.

#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include <functional>
#include <latch>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "pg_support.h"
#include "tickstream/pg/migrations.h"

using tickstream::pg::applyMigrations;
using tickstream::pg::Migration;
using tickstream::pg::MigrationError;
using tickstream::pg::migrationChecksum;
namespace t = tickstream::pg::test;

namespace {

// A session whose unqualified names resolve in `schema` (created if missing).
std::unique_ptr<pqxx::connection> connectTo(const std::string& schema) {
  auto conn = std::make_unique<pqxx::connection>(t::pgUrl());
  pqxx::nontransaction tx(*conn);
  tx.exec("CREATE SCHEMA IF NOT EXISTS " + tx.quote_name(schema));
  tx.exec("SET search_path TO " + tx.quote_name(schema));
  return conn;
}

long long count(pqxx::connection& conn, const std::string& sql) {
  pqxx::nontransaction tx(conn);
  return tx.exec(sql)[0][0].as<long long>();
}

const std::vector<Migration> kMigrations = {
    {1, "create_accounts", "CREATE TABLE accounts (id bigint PRIMARY KEY, owner text NOT NULL);"},
    {2, "seed_accounts",
     "INSERT INTO accounts VALUES (1, 'house');\nINSERT INTO accounts VALUES (2, 'fees');"},
    {3, "add_balance", "ALTER TABLE accounts ADD COLUMN balance bigint NOT NULL DEFAULT 0;"},
};

std::string messageOf(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const MigrationError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("migrations apply once, are recorded, and re-running them is a no-op") {
  const auto schema = t::uniqueName("mig_once");
  auto conn = connectTo(schema);

  CHECK(applyMigrations(*conn, kMigrations) == std::vector<int>{1, 2, 3});
  CHECK(count(*conn, "SELECT count(*) FROM accounts") == 2);
  CHECK(count(*conn, "SELECT count(*) FROM accounts WHERE balance = 0") == 2);

  {
    pqxx::nontransaction tx(*conn);
    const auto rows =
        tx.exec("SELECT version, name, checksum, applied_at IS NOT NULL FROM schema_migrations "
                "ORDER BY version");
    REQUIRE(rows.size() == 3);
    for (std::size_t i = 0; i < rows.size(); ++i) {
      CHECK(rows[i][0].as<int>() == kMigrations[i].version);
      CHECK(rows[i][1].as<std::string>() == kMigrations[i].name);
      CHECK(rows[i][2].as<std::string>() == migrationChecksum(kMigrations[i].sql));
      CHECK(rows[i][3].as<bool>());
    }
  }

  // Re-running applies nothing (a second seed would fail on the primary key).
  CHECK(applyMigrations(*conn, kMigrations).empty());
  CHECK(count(*conn, "SELECT count(*) FROM accounts") == 2);

  // A new migration appended later is the only one applied.
  auto more = kMigrations;
  more.push_back({4, "seed_more", "INSERT INTO accounts VALUES (3, 'ops');"});
  CHECK(applyMigrations(*conn, more) == std::vector<int>{4});
  CHECK(count(*conn, "SELECT count(*) FROM accounts") == 3);
}

TEST_CASE("an applied migration whose SQL changed is refused, naming its version") {
  const auto schema = t::uniqueName("mig_changed");
  auto conn = connectTo(schema);
  REQUIRE(applyMigrations(*conn, kMigrations).size() == 3);

  auto edited = kMigrations;
  edited[1].sql += "\nINSERT INTO accounts VALUES (9, 'sneaky');";
  edited.push_back({4, "later", "CREATE TABLE later (id int);"});
  std::string message;
  try {
    applyMigrations(*conn, edited);
    FAIL("an edited migration was accepted");
  } catch (const MigrationError& e) {
    CHECK(e.version() == 2);
    message = e.what();
  }
  INFO(message);
  CHECK(message.find("0002_seed_accounts") != std::string::npos);
  CHECK(message.find("checksum") != std::string::npos);
  // Refused before doing anything: the edit did not run and neither did the new migration.
  CHECK(count(*conn, "SELECT count(*) FROM accounts") == 2);
  CHECK(count(*conn, "SELECT count(*) FROM schema_migrations") == 3);
}

TEST_CASE("a database migrated by a newer build is refused, naming the unknown version") {
  const auto schema = t::uniqueName("mig_newer");
  auto conn = connectTo(schema);
  REQUIRE(applyMigrations(*conn, kMigrations).size() == 3);

  const std::vector<Migration> older(kMigrations.begin(), kMigrations.begin() + 2);
  try {
    applyMigrations(*conn, older);
    FAIL("an unknown applied version was accepted");
  } catch (const MigrationError& e) {
    CHECK(e.version() == 3);
    CHECK(std::string(e.what()).find("0003_add_balance") != std::string::npos);
  }
}

TEST_CASE("a failing migration names its version and leaves nothing behind") {
  const auto schema = t::uniqueName("mig_fail");
  auto conn = connectTo(schema);
  auto broken = kMigrations;
  broken.push_back({4, "half_done",
                    "CREATE TABLE half (id int);\nINSERT INTO no_such_table VALUES (1);"});

  const auto message = messageOf([&] { applyMigrations(*conn, broken); });
  INFO(message);
  CHECK(message.find("0004_half_done") != std::string::npos);
  CHECK(message.find("no_such_table") != std::string::npos);
  // 1-3 committed in their own transactions; 4 rolled back entirely and was not recorded.
  CHECK(count(*conn, "SELECT count(*) FROM schema_migrations") == 3);
  CHECK(count(*conn, "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() "
                     "AND tablename = 'half'") == 0);

  // Fixing the file forward lets the next start finish the job.
  broken.back().sql = "CREATE TABLE half (id int);";
  CHECK(applyMigrations(*conn, broken) == std::vector<int>{4});
}

TEST_CASE("replicas migrating concurrently apply each migration exactly once") {
  const auto schema = t::uniqueName("mig_race");
  // A slow first migration keeps the other replica queued on the advisory lock behind it, and
  // the seed has no key: applying it twice would leave two rows, not an error.
  const std::vector<Migration> migrations = {
      {1, "slow_create", "SELECT pg_sleep(0.3);\nCREATE TABLE starts (replica text);"},
      {2, "seed", "INSERT INTO starts VALUES ('seed');"},
      {3, "more", "CREATE TABLE more (id int);"},
  };
  constexpr std::size_t kReplicas = 4;
  std::vector<std::unique_ptr<pqxx::connection>> conns;
  for (std::size_t i = 0; i < kReplicas; ++i) conns.push_back(connectTo(schema));

  std::latch go(kReplicas);
  std::vector<std::vector<int>> applied(kReplicas);
  std::vector<std::string> errors(kReplicas);
  std::vector<std::thread> replicas;
  for (std::size_t i = 0; i < kReplicas; ++i) {
    replicas.emplace_back([&, i] {
      go.arrive_and_wait();  // start together, like replicas of one deployment
      try {
        applied[i] = applyMigrations(*conns[i], migrations);
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
    });
  }
  for (auto& r : replicas) r.join();

  std::multiset<int> all;
  for (std::size_t i = 0; i < kReplicas; ++i) {
    INFO("replica " << i << ": " << errors[i]);
    CHECK(errors[i].empty());
    all.insert(applied[i].begin(), applied[i].end());
  }
  CHECK(all == std::multiset<int>{1, 2, 3});
  CHECK(count(*conns[0], "SELECT count(*) FROM starts") == 1);
  CHECK(count(*conns[0], "SELECT count(*) FROM schema_migrations") == 3);
}
