#include <catch2/catch.hpp>

#include <algorithm>
#include <cctype>
#include <string>
#include <vector>

#include "exposure_cache.h"
#include "tickstream/pg/migrations.h"

// The order service's schema files, as libs/pg's runner will load them at start-up. Applying
// them to a real PostgreSQL is tests/integration/order.
TEST_CASE("the order schema loads as dense versions 1..9 that the runner can apply") {
  const auto migrations = tickstream::pg::loadMigrations(TICKSTREAM_ORDER_MIGRATIONS_DIR);
  std::vector<int> versions;
  std::vector<std::string> names;
  for (const auto& m : migrations) {
    versions.push_back(m.version);
    names.push_back(m.name);
  }
  CHECK(versions == std::vector<int>{1, 2, 3, 4, 5, 6, 7, 8, 9});
  CHECK(names == std::vector<std::string>{"risk_limits", "orders", "order_events_and_fills", "outbox",
                                             "venue_stream_position", "positions", "lighter_writes",
                                             "outbox_per_transaction", "market_collar"});
  for (const auto& m : migrations) {
    INFO(m.name);
    std::string upper = m.sql;
    std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char c) { return std::toupper(c); });
    // The runner wraps each file in its own transaction and cannot run CONCURRENTLY.
    CHECK(upper.find("BEGIN;") == std::string::npos);
    CHECK(upper.find("COMMIT;") == std::string::npos);
    CHECK(upper.find("CONCURRENTLY") == std::string::npos);
    CHECK((upper.find("CREATE ") != std::string::npos || upper.find("ALTER TABLE") != std::string::npos));
  }
}

// orders.working (migration 0007) is what the partial index orders_working, risk's reads and
// reconciliation call a working order; the exposure cache decides the same in C++ (isWorking).
TEST_CASE("orders.working names exactly the statuses the exposure cache counts as working") {
  std::string expected = "status IN (";
  bool first = true;
  for (int s = tickstream::order::v1::OrderStatus_MIN; s <= tickstream::order::v1::OrderStatus_MAX; ++s) {
    if (!tickstream::order::isWorking(static_cast<tickstream::order::v1::OrderStatus>(s))) continue;
    expected += (first ? "" : ", ") + std::to_string(s);
    first = false;
  }
  expected += ")";
  const auto migrations = tickstream::pg::loadMigrations(TICKSTREAM_ORDER_MIGRATIONS_DIR);
  const auto it = std::find_if(migrations.begin(), migrations.end(),
                               [](const auto& m) { return m.name == "lighter_writes"; });
  REQUIRE(it != migrations.end());
  CHECK(it->sql.find("GENERATED ALWAYS AS (" + expected + ") STORED") != std::string::npos);
}
