// The order service's migrations applied to a real PostgreSQL, and the constraints the service
// relies on for idempotency, deduplication and ordering. Each case works in its own schema.

#include <catch2/catch.hpp>
#include <pqxx/pqxx>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "outbox_records.h"
#include "tickstream/pg/migrations.h"
#include "tickstream/testing/infra.h"

namespace {

std::string uniqueSchema(const std::string& prefix) {
  static int counter = 0;
  return prefix + "_" + std::to_string(::getpid()) + "_" + std::to_string(++counter);
}

// A session whose unqualified names resolve in a fresh schema holding the order schema.
std::unique_ptr<pqxx::connection> migratedSchema(const std::string& prefix) {
  auto conn = std::make_unique<pqxx::connection>(tickstream::testing::postgresUrl());
  pqxx::nontransaction tx(*conn);
  const std::string schema = tx.quote_name(uniqueSchema(prefix));
  tx.exec("CREATE SCHEMA " + schema);
  tx.exec("SET search_path TO " + schema);
  return conn;
}

const std::string kFingerprint = "decode(repeat('ab', 32), 'hex')";

void insertOrder(pqxx::work& tx, const std::string& order_id, const std::string& client_order_id, int type = 1,
                 long long limit_price = 1'195'000) {
  tx.exec_params("INSERT INTO orders (order_id, account, client_order_id, request_fingerprint, symbol, side, type, "
                 "time_in_force, quantity, limit_price, status, created_ts_ns, updated_ts_ns) "
                 "VALUES ($1, 'acct-1', $2, " + kFingerprint + ", 'AAPL', 1, $3, 1, 100, $4, 1, 1, 1)",
                 order_id, client_order_id, type, limit_price);
}

long long nextSeq(pqxx::work& tx, const std::string& account) {
  return tx
      .exec_params("INSERT INTO account_sequences AS s (account, last_seq) VALUES ($1, 1) "
                   "ON CONFLICT (account) DO UPDATE SET last_seq = s.last_seq + 1 RETURNING last_seq",
                   account)[0][0]
      .as<long long>();
}

}  // namespace

TEST_CASE("the order migrations apply to PostgreSQL 15 once, and again is a no-op") {
  auto conn = migratedSchema("order_schema");
  const auto migrations = tickstream::pg::loadMigrations(TICKSTREAM_ORDER_MIGRATIONS_DIR);
  CHECK(tickstream::pg::applyMigrations(*conn, migrations) == std::vector<int>{1, 2, 3, 4, 5, 6, 7, 8, 9});
  CHECK(tickstream::pg::applyMigrations(*conn, migrations).empty());
}

// Migration 0007: the partial index orders_working reads the generated column `working`, so a
// change between working statuses is a heap-only (HOT) update that writes no index entry.
TEST_CASE("orders.working follows the status, and a change between working statuses touches no index") {
  auto conn = migratedSchema("order_working");
  tickstream::pg::applyMigrations(*conn, tickstream::pg::loadMigrations(TICKSTREAM_ORDER_MIGRATIONS_DIR));
  pqxx::work tx(*conn);
  insertOrder(tx, "ord-1", "c-1");  // NEW
  const auto hotUpdates = [&] {
    return tx.exec("SELECT pg_stat_get_xact_tuples_hot_updated('orders'::regclass)")[0][0].as<long long>();
  };
  const auto working = [&] { return tx.exec("SELECT working FROM orders WHERE order_id = 'ord-1'")[0][0].as<bool>(); };
  CHECK(working());
  const auto hot_before = hotUpdates();
  for (const int status : {2, 3, 4, 6}) {  // ACCEPTED, ROUTED, PARTIALLY_FILLED, PENDING_CANCEL
    INFO("status " << status);
    tx.exec("UPDATE orders SET status = " + std::to_string(status) + " WHERE order_id = 'ord-1'");
    CHECK(working());
  }
  CHECK(hotUpdates() - hot_before == 4);
  tx.exec("UPDATE orders SET status = 7 WHERE order_id = 'ord-1'");  // CANCELED: it ends
  CHECK_FALSE(working());
  CHECK(hotUpdates() - hot_before == 4);  // the end changes `working`, so that one is not HOT
  CHECK(tx.exec("SELECT count(*) FROM orders WHERE account = 'acct-1' AND working")[0][0].as<int>() == 0);
}

TEST_CASE("one order per (account, client_order_id), and the price must match the type") {
  auto conn = migratedSchema("order_idem");
  tickstream::pg::applyMigrations(*conn, tickstream::pg::loadMigrations(TICKSTREAM_ORDER_MIGRATIONS_DIR));
  {
    pqxx::work tx(*conn);
    insertOrder(tx, "ord-1", "c-1");
    tx.commit();
  }
  {
    pqxx::work tx(*conn);
    CHECK_THROWS_AS(insertOrder(tx, "ord-2", "c-1"), pqxx::unique_violation);
  }
  {
    pqxx::work tx(*conn);
    CHECK_THROWS_AS(insertOrder(tx, "ord-3", "c-3", /*market*/ 2, 1'195'000), pqxx::check_violation);
  }
  {
    pqxx::work tx(*conn);
    CHECK_THROWS_AS(insertOrder(tx, "ord-4", "c-4", /*limit*/ 1, 0), pqxx::check_violation);
  }
  pqxx::work tx(*conn);
  insertOrder(tx, "ord-5", "c-5", /*market*/ 2, 0);
  CHECK(tx.exec("SELECT count(*) FROM orders")[0][0].as<int>() == 2);
  // A collar only on market orders, never negative (migration 0009).
  tx.exec("UPDATE orders SET collar_price = 1100000 WHERE order_id = 'ord-5'");
  tx.commit();
  {
    pqxx::work t(*conn);
    CHECK_THROWS_AS(t.exec("UPDATE orders SET collar_price = 1100000 WHERE type = 1"), pqxx::check_violation);
  }
  {
    pqxx::work t(*conn);
    CHECK_THROWS_AS(t.exec("UPDATE orders SET collar_price = -1 WHERE order_id = 'ord-5'"), pqxx::check_violation);
  }
}

TEST_CASE("a fill is stored once per venue execution id") {
  auto conn = migratedSchema("order_fills");
  tickstream::pg::applyMigrations(*conn, tickstream::pg::loadMigrations(TICKSTREAM_ORDER_MIGRATIONS_DIR));
  const std::string insertFill =
      "INSERT INTO fills (fill_id, venue_execution_id, order_id, account, symbol, side, quantity, price, "
      "fill_ts_ns) VALUES ($1, $2, 'ord-1', 'acct-1', 'AAPL', 1, 10, 1195000, 1)";
  {
    pqxx::work tx(*conn);
    insertOrder(tx, "ord-1", "c-1");
    tx.exec_params(insertFill, "f-1", "X-1");
    tx.commit();
  }
  pqxx::work tx(*conn);
  CHECK_THROWS_AS(tx.exec_params(insertFill, "f-2", "X-1"), pqxx::unique_violation);
}

TEST_CASE("account_seq is dense per account: a rolled-back transaction does not use a number") {
  auto conn = migratedSchema("order_seq");
  tickstream::pg::applyMigrations(*conn, tickstream::pg::loadMigrations(TICKSTREAM_ORDER_MIGRATIONS_DIR));
  {
    pqxx::work tx(*conn);
    CHECK(nextSeq(tx, "acct-1") == 1);
    CHECK(nextSeq(tx, "acct-2") == 1);
    tx.commit();
  }
  {
    pqxx::work tx(*conn);
    CHECK(nextSeq(tx, "acct-1") == 2);
    tx.abort();
  }
  pqxx::work tx(*conn);
  CHECK(nextSeq(tx, "acct-1") == 2);
  CHECK(nextSeq(tx, "acct-1") == 3);
}

// Migration 0008 turns each row waiting at the upgrade (one record each, in the old columns)
// into a row of the new framing, in the same order, which the relay's decoder reads back.
TEST_CASE("outbox rows waiting at the upgrade to one row per transaction keep their order and bytes") {
  auto conn = migratedSchema("order_outbox");
  auto migrations = tickstream::pg::loadMigrations(TICKSTREAM_ORDER_MIGRATIONS_DIR);
  auto before = migrations;
  std::erase_if(before, [](const auto& m) { return m.version >= 8; });
  REQUIRE(before.size() == 7);  // 0001..0007: the schema before the outbox changed
  tickstream::pg::applyMigrations(*conn, before);
  {
    pqxx::work tx(*conn);
    tx.exec("INSERT INTO outbox (topic, key, payload) VALUES ('orders.events', 'acct-1', '\\x0001ff'::bytea)");
    tx.exec("INSERT INTO outbox (topic, key, payload) VALUES ('orders.fills', 'acct-é', '\\x02'::bytea)");
    tx.commit();
  }
  tickstream::pg::applyMigrations(*conn, migrations);

  pqxx::work tx(*conn);
  const auto rows = tx.exec("SELECT id, records, created_at IS NOT NULL FROM outbox ORDER BY id");
  REQUIRE(rows.size() == 2);
  std::vector<std::string> bytes;
  for (const auto& row : rows) bytes.push_back(pqxx::binarystring(row[1]).str());
  std::vector<tickstream::order::OutboxRecord> records;
  std::string error;
  REQUIRE(tickstream::order::decodeOutboxRecords(bytes[0], records, error));
  REQUIRE(tickstream::order::decodeOutboxRecords(bytes[1], records, error));
  REQUIRE(records.size() == 2);
  CHECK(rows[0][0].as<long long>() < rows[1][0].as<long long>());
  CHECK(records[0].topic == "orders.events");
  CHECK(records[0].key == "acct-1");
  CHECK(records[0].payload == std::string("\x00\x01\xff", 3));
  CHECK(rows[0][2].as<bool>());
  CHECK(records[1].topic == "orders.fills");
  CHECK(records[1].key == "acct-é");  // lengths in bytes, not characters
  CHECK(records[1].payload == "\x02");
  // What the store writes from now on, and a row with nothing in it is refused.
  tickstream::order::OutboxRecordsWriter w;
  w.add("orders.events", "acct-2", "p");
  tx.exec_params("INSERT INTO outbox (records) VALUES ($1)", pqxx::binarystring(w.bytes().data(), w.bytes().size()));
  CHECK_THROWS_AS(tx.exec("INSERT INTO outbox (records) VALUES (''::bytea)"), pqxx::check_violation);
}

TEST_CASE("risk limits outside what RiskLimits accepts are refused by the table") {
  auto conn = migratedSchema("order_limits");
  tickstream::pg::applyMigrations(*conn, tickstream::pg::loadMigrations(TICKSTREAM_ORDER_MIGRATIONS_DIR));
  const std::string insert =
      "INSERT INTO risk_limits (account, max_order_notional, max_open_orders, max_position, orders_per_second, "
      "order_burst) VALUES ($1, 10000000000, 100, 1000, $2, 20)";
  {
    pqxx::work tx(*conn);
    tx.exec_params(insert, "acct-1", 10);
    tx.commit();
  }
  pqxx::work tx(*conn);
  CHECK_THROWS_AS(tx.exec_params(insert, "acct-2", 0), pqxx::check_violation);
}
