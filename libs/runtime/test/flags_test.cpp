#include <catch2/catch.hpp>

#include <cstdlib>
#include <string>
#include <vector>

#include "tickstream/runtime/flags.h"
#include "tickstream/runtime/logging.h"

using tickstream::runtime::Flags;

namespace {

struct Argv {
  explicit Argv(std::vector<std::string> a) : args(std::move(a)) {
    for (auto& s : args) ptrs.push_back(s.c_str());
  }
  int argc() const { return static_cast<int>(ptrs.size()); }
  const char* const* argv() const { return ptrs.data(); }
  std::vector<std::string> args;
  std::vector<const char*> ptrs;
};

}  // namespace

TEST_CASE("flag names map to TICKSTREAM_ environment variables") {
  CHECK(Flags::envName("--kafka-brokers") == "TICKSTREAM_KAFKA_BROKERS");
  CHECK(Flags::envName("--shard-id") == "TICKSTREAM_SHARD_ID");
}

TEST_CASE("defaults hold when neither flag nor environment is given") {
  Flags flags("svc", "test");
  std::string brokers = "127.0.0.1:9092";
  int port = 9100;
  flags.add("--kafka-brokers", brokers, "brokers");
  flags.add("--port", port, "port");
  Argv a({"svc"});
  REQUIRE_FALSE(flags.parse(a.argc(), a.argv()).has_value());
  CHECK(brokers == "127.0.0.1:9092");
  CHECK(port == 9100);
}

TEST_CASE("environment overrides the default and the command line overrides both") {
  ::setenv("TICKSTREAM_TEST_PORT", "7000", 1);
  ::setenv("TICKSTREAM_TEST_NAME", "from-env", 1);
  Flags flags("svc", "test");
  int port = 1;
  std::string name = "default";
  flags.add("--test-port", port, "port");
  flags.add("--test-name", name, "name");
  Argv a({"svc", "--test-name", "from-flag"});
  REQUIRE_FALSE(flags.parse(a.argc(), a.argv()).has_value());
  CHECK(port == 7000);
  CHECK(name == "from-flag");
  ::unsetenv("TICKSTREAM_TEST_PORT");
  ::unsetenv("TICKSTREAM_TEST_NAME");
}

TEST_CASE("a bad value is refused with exit code 2") {
  Flags flags("svc", "test");
  int port = 9100;
  flags.add("--port", port, "port")->check(CLI::Range(1, 65535));
  Argv a({"svc", "--port", "not-a-number"});
  auto code = flags.parse(a.argc(), a.argv());
  REQUIRE(code.has_value());
  CHECK(*code == 2);

  Flags flags2("svc", "test");
  flags2.add("--port", port, "port")->check(CLI::Range(1, 65535));
  Argv b({"svc", "--port", "70000"});
  CHECK(flags2.parse(b.argc(), b.argv()) == std::optional<int>(2));
}

TEST_CASE("an unknown flag is refused") {
  Flags flags("svc", "test");
  Argv a({"svc", "--no-such-flag", "1"});
  CHECK(flags.parse(a.argc(), a.argv()) == std::optional<int>(2));
}

TEST_CASE("--help lists each option with its default and environment variable") {
  Flags flags("svc", "test service");
  std::string brokers = "127.0.0.1:9092";
  flags.add("--kafka-brokers", brokers, "Kafka bootstrap servers");
  std::string help = flags.app().help();
  CHECK_THAT(help, Catch::Contains("--kafka-brokers"));
  CHECK_THAT(help, Catch::Contains("127.0.0.1:9092"));
  CHECK_THAT(help, Catch::Contains("TICKSTREAM_KAFKA_BROKERS"));
  Argv a({"svc", "--help"});
  CHECK(flags.parse(a.argc(), a.argv()) == std::optional<int>(0));
}

TEST_CASE("every process has --log-level and --log-format, validated") {
  Flags flags("svc", "test");
  Argv bad({"svc", "--log-level", "loud"});
  CHECK(flags.parse(bad.argc(), bad.argv()) == std::optional<int>(2));
  Flags ok("svc", "test");
  Argv good({"svc", "--log-level", "warn", "--log-format", "text"});
  CHECK_FALSE(ok.parse(good.argc(), good.argv()).has_value());
  CHECK_FALSE(tickstream::logging::enabled(tickstream::logging::Level::Info));
  tickstream::logging::init({});
}
