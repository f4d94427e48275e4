#pragma once

// Helpers for the order store and relay integration tests: a fresh schema with the order
// migrations on the `postgres` fixture's server, reached through a URL whose sessions resolve
// unqualified names in it, so every case starts from empty tables.

#include <catch2/catch.hpp>
#include <pqxx/pqxx>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "order_store.h"
#include "outbox_records.h"
#include "tickstream/pg/migrations.h"
#include "tickstream/pg/pool.h"
#include "tickstream/testing/infra.h"

namespace tickstream::order::test {

inline std::string freshSchemaUrl(const std::string& prefix) {
  static int counter = 0;
  const std::string schema = prefix + "_" + std::to_string(::getpid()) + "_" + std::to_string(++counter);
  const std::string base = testing::postgresUrl();
  {
    pqxx::connection admin(base);
    pqxx::nontransaction(admin).exec("CREATE SCHEMA " + admin.quote_name(schema));
  }
  // libpq's `options`: every session of this URL (pool, relay) starts with this search_path and
  // the settings the service gives its store's sessions.
  const std::string url = storeSessionUrl(base, schema);
  pqxx::connection conn(url);
  pg::applyMigrations(conn, pg::loadMigrations(TICKSTREAM_ORDER_MIGRATIONS_DIR));
  return url;
}

// Limits generous enough that only the rule a test aims at refuses.
inline void allowAccount(const std::string& url, const std::string& account, long long max_open_orders = 1'000'000) {
  pqxx::connection conn(url);
  pqxx::work tx(conn);
  tx.exec_params(
      "INSERT INTO risk_limits (account, max_order_notional, max_open_orders, max_position, orders_per_second, "
      "order_burst, allow_short) VALUES ($1, 1000000000000000, $2, 1000000000, 1000000, 1000000, true)",
      account, max_open_orders);
  tx.commit();
}

inline long long count(const std::string& url, const std::string& sql) {
  pqxx::connection conn(url);
  return pqxx::nontransaction(conn).exec(sql)[0][0].as<long long>();
}

// One Kafka record of the outbox, owned.
struct StoredRecord {
  std::string topic, key, payload;
};

// Every record in the outbox, in the order the relay publishes them (rows by id, then each row's
// records in order); a row the decoder refuses fails the test.
inline std::vector<StoredRecord> outboxRecords(const std::string& url) {
  pqxx::connection conn(url);
  OutboxBatch batch;
  for (const auto& row : pqxx::nontransaction(conn).exec("SELECT id, records FROM outbox ORDER BY id")) {
    batch.add(row[0].as<std::int64_t>(), pqxx::binarystring(row[1]).str());
  }
  REQUIRE_NOTHROW(batch.decode());
  std::vector<StoredRecord> out;
  for (const auto& r : batch.records) out.push_back({std::string(r.topic), std::string(r.key), std::string(r.payload)});
  return out;
}

inline v1::SubmitOrderRequest limitBuy(const std::string& account, const std::string& client_order_id,
                                       long long quantity = 100, const std::string& symbol = "AAPL",
                                       long long price = 1'000'000) {
  v1::SubmitOrderRequest r;
  r.set_account(account);
  r.set_client_order_id(client_order_id);
  r.set_symbol(symbol);
  r.set_side(v1::SIDE_BUY);
  r.set_type(v1::ORDER_TYPE_LIMIT);
  r.set_time_in_force(v1::TIME_IN_FORCE_DAY);
  r.set_quantity(quantity);
  r.set_limit_price(price);
  return r;
}

inline RiskDecider acceptAll() {
  return [](const RiskInputs&) { return std::optional<Rejection>(); };
}

inline v1::ReplaceOrderRequest replaceRequest(const std::string& account, const std::string& order_id,
                                              const std::string& client_order_id, long long quantity,
                                              long long limit_price) {
  v1::ReplaceOrderRequest r;
  r.set_account(account);
  r.set_order_id(order_id);
  r.set_client_order_id(client_order_id);
  r.set_quantity(quantity);
  r.set_limit_price(limit_price);
  return r;
}

inline TransitionDetails venueId(const std::string& venue_order_id) {
  TransitionDetails d;
  d.venue_order_id = venue_order_id;
  return d;
}

inline FillReport fill(const std::string& venue_execution_id, const std::string& order_id, long long quantity,
                       long long price) {
  FillReport f;
  f.venue_execution_id = venue_execution_id;
  f.order_id = order_id;
  f.quantity = quantity;
  f.price = price;
  f.fill_ts_ns = 1;
  return f;
}

// A pool and a store on a fresh schema.
// The store's defaults with group commit on or off: the cases that must hold on both paths
// (a batch statement for many orders, or one transaction each) GENERATE both.
inline OrderStoreConfig withGroupCommit(bool on) {
  OrderStoreConfig c;
  c.group_commit = on;
  return c;
}

struct StoreEnv {
  std::string url;
  std::unique_ptr<pg::Pool> pool;
  std::unique_ptr<OrderStore> store;

  explicit StoreEnv(OrderStoreConfig config = {}, const std::string& prefix = "order_store") {
    url = freshSchemaUrl(prefix);
    pg::PoolConfig pc;
    pc.url = url;
    pc.size = config.writer_lanes + 4;
    pool = std::make_unique<pg::Pool>(pc);
    store = std::make_unique<OrderStore>(*pool, std::move(config));
  }
};

}  // namespace tickstream::order::test
