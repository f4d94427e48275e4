#include <catch2/catch.hpp>

#include <limits>
#include <stdexcept>
#include <string>

#include "tickstream/pg/config.h"

using tickstream::pg::connectionString;
using tickstream::pg::PoolConfig;

namespace {

PoolConfig valid() {
  PoolConfig c;
  c.url = "postgresql://tickstream@127.0.0.1:5432/tickstream";
  return c;
}

// The message must name the field, so a bad flag is found without reading code.
void requireRejected(const PoolConfig& c, const std::string& field) {
  try {
    c.validate();
    FAIL("validate() accepted a bad " << field);
  } catch (const std::invalid_argument& e) {
    INFO(e.what());
    CHECK(std::string(e.what()).find("PoolConfig." + field) != std::string::npos);
  }
}

}  // namespace

TEST_CASE("pool config defaults are valid once a url is given") {
  CHECK_NOTHROW(valid().validate());
  requireRejected(PoolConfig{}, "url");
}

TEST_CASE("pool config rejects each bad field by name") {
  auto c = valid();
  SECTION("size") {
    c.size = 0;
    requireRejected(c, "size");
  }
  SECTION("acquire_timeout") {
    c.acquire_timeout = std::chrono::milliseconds(0);
    requireRejected(c, "acquire_timeout");
  }
  SECTION("connect_timeout below libpq's 2 s floor") {
    c.connect_timeout = std::chrono::seconds(1);
    requireRejected(c, "connect_timeout");
  }
  SECTION("reconnect_backoff_min") {
    c.reconnect_backoff_min = std::chrono::milliseconds(0);
    requireRejected(c, "reconnect_backoff_min");
  }
  SECTION("reconnect_backoff_max below min") {
    c.reconnect_backoff_min = std::chrono::milliseconds(100);
    c.reconnect_backoff_max = std::chrono::milliseconds(50);
    requireRejected(c, "reconnect_backoff_max");
  }
  SECTION("reconnect_jitter out of range or NaN") {
    c.reconnect_jitter = 1.5;
    requireRejected(c, "reconnect_jitter");
    c.reconnect_jitter = -0.1;
    requireRejected(c, "reconnect_jitter");
    c.reconnect_jitter = std::numeric_limits<double>::quiet_NaN();
    requireRejected(c, "reconnect_jitter");
  }
  SECTION("retry_timeout") {
    c.retry_timeout = std::chrono::milliseconds(-1);
    requireRejected(c, "retry_timeout");
  }
}

TEST_CASE("connection string carries the connect timeout in either libpq syntax") {
  auto c = valid();
  c.connect_timeout = std::chrono::seconds(7);
  CHECK(connectionString(c) ==
        "postgresql://tickstream@127.0.0.1:5432/tickstream?connect_timeout=7");

  c.url = "postgres://u@h/db?sslmode=disable";
  CHECK(connectionString(c) == "postgres://u@h/db?sslmode=disable&connect_timeout=7");

  c.url = "host=127.0.0.1 port=5432 dbname=tickstream";
  CHECK(connectionString(c) == "host=127.0.0.1 port=5432 dbname=tickstream connect_timeout='7'");

  // An operator's explicit timeout wins.
  c.url = "postgresql://u@h/db?connect_timeout=30";
  CHECK(connectionString(c) == c.url);
}

TEST_CASE("session options reach libpq encoded for either syntax, unless the URL sets its own") {
  auto c = valid();
  c.connect_timeout = std::chrono::seconds(7);
  c.options = "-c plan_cache_mode=force_custom_plan";
  CHECK(connectionString(c) == "postgresql://tickstream@127.0.0.1:5432/tickstream?connect_timeout=7"
                               "&options=-c%20plan_cache_mode%3Dforce_custom_plan");

  c.url = "host=h dbname=d";
  CHECK(connectionString(c) == "host=h dbname=d connect_timeout='7' options='-c plan_cache_mode=force_custom_plan'");

  c.url = "postgresql://u@h/db?options=-c%20work_mem%3D64MB";
  CHECK(connectionString(c) == "postgresql://u@h/db?options=-c%20work_mem%3D64MB&connect_timeout=7");
}
