#include <catch2/catch.hpp>

#include <pqxx/pqxx>

#include <stdexcept>

#include "tickstream/pg/pool.h"

using tickstream::pg::isConnectionLoss;

namespace {

template <class E>
std::exception_ptr error(const E& e) {
  return std::make_exception_ptr(e);
}

}  // namespace

TEST_CASE("a lost connection or an unknown commit outcome counts as connection loss") {
  CHECK(isConnectionLoss(error(pqxx::broken_connection("server closed the connection")), false));
  CHECK(isConnectionLoss(error(pqxx::in_doubt_error("connection lost while committing")), false));
  // Even if libpq has not noticed yet: pqxx said the connection broke.
  CHECK(isConnectionLoss(error(pqxx::broken_connection("x")), true));
  CHECK(isConnectionLoss(error(pqxx::statement_completion_unknown("x")), true));
  // Refused at connect time because the server is full: wait and try again.
  CHECK(isConnectionLoss(error(pqxx::too_many_connections("x")), false));
}

TEST_CASE("any error that leaves the connection closed counts as connection loss") {
  // e.g. FATAL 57P01 "terminating connection due to administrator command".
  CHECK(isConnectionLoss(error(pqxx::sql_error("terminating connection", "SELECT 1", "57P01")),
                         false));
  CHECK(isConnectionLoss(error(std::runtime_error("anything")), false));
}

TEST_CASE("SQL errors on a live connection are not connection loss") {
  CHECK_FALSE(isConnectionLoss(error(pqxx::unique_violation("dup", "INSERT", "23505")), true));
  CHECK_FALSE(
      isConnectionLoss(error(pqxx::serialization_failure("could not serialize access")), true));
  CHECK_FALSE(isConnectionLoss(error(pqxx::syntax_error("syntax", "SELEC", "42601")), true));
  CHECK_FALSE(isConnectionLoss(error(std::runtime_error("caller's own bug")), true));
  CHECK_FALSE(isConnectionLoss(std::exception_ptr{}, false));
}
