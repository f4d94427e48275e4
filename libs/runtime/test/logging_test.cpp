#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <limits>

#include "tickstream/runtime/logging.h"

namespace logging = tickstream::logging;

TEST_CASE("json events are valid JSON with escaped strings and typed fields") {
  std::string line = "{\"ts\":\"x\"," +
                     logging::formatEvent(logging::Format::Json, logging::Level::Warn, "gw",
                                          "bad \"frame\"\n", {{"bytes", 42},
                                                               {"symbol", "AAPL"},
                                                               {"ratio", 0.5},
                                                               {"ok", false},
                                                               {"big", 18446744073709551615ULL},
                                                               {"nan", std::numeric_limits<double>::quiet_NaN()}});
  auto j = nlohmann::json::parse(line);
  CHECK(j["level"] == "warn");
  CHECK(j["service"] == "gw");
  CHECK(j["msg"] == "bad \"frame\"\n");
  CHECK(j["bytes"] == 42);
  CHECK(j["symbol"] == "AAPL");
  CHECK(j["ratio"] == 0.5);
  CHECK(j["ok"] == false);
  CHECK(j["big"].get<uint64_t>() == 18446744073709551615ULL);
  CHECK(j["nan"].is_string());
}

TEST_CASE("text events are key=value and quote values with spaces") {
  std::string line = logging::formatEvent(logging::Format::Text, logging::Level::Info, "gw",
                                          "started", {{"listen", "127.0.0.1:80"}, {"note", "two words"}});
  CHECK(line == "info gw started listen=127.0.0.1:80 note=\"two words\"");
}

TEST_CASE("level and format names parse, unknown ones are refused") {
  CHECK(logging::parseLevel("debug") == logging::Level::Debug);
  CHECK(logging::parseLevel("error") == logging::Level::Error);
  CHECK(logging::parseFormat("text") == logging::Format::Text);
  CHECK_THROWS_WITH(logging::parseLevel("loud"), Catch::Contains("loud"));
  CHECK_THROWS_WITH(logging::parseFormat("xml"), Catch::Contains("xml"));
}

TEST_CASE("events below the configured level are dropped") {
  logging::init({"test", logging::Level::Warn, logging::Format::Json});
  CHECK_FALSE(logging::enabled(logging::Level::Info));
  CHECK(logging::enabled(logging::Level::Error));
  logging::init({"test", logging::Level::Info, logging::Format::Json});
  CHECK(logging::enabled(logging::Level::Info));
}
