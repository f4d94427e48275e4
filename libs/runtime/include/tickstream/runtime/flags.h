#pragma once

#include <CLI/CLI.hpp>

#include <optional>
#include <string>

namespace tickstream::runtime {

// Command-line flags that can also be set from the environment: `--kafka-brokers` is
// TICKSTREAM_KAFKA_BROKERS. A flag on the command line wins over the environment, which wins
// over the default. `--help` lists every option with its default and its variable.
//
// Every process also gets --log-level and --log-format; parse() configures logging from them.
//
// Usage, in a service's main():
//   Flags flags("ingestion", "ITCH 5.0 feed handler");
//   flags.add("--kafka-brokers", cfg.brokers, "Kafka bootstrap servers");
//   if (auto code = flags.parse(argc, argv)) return *code;
class Flags {
 public:
  Flags(std::string service, std::string description);

  // Registers `name` (which must start with "--") bound to `value`, whose current contents are
  // the default. Returns the CLI11 option so callers can add checks (`->check(CLI::Range(1, 64))`).
  template <class T>
  CLI::Option* add(const std::string& name, T& value, const std::string& help) {
    CLI::Option* opt = app_.add_option(name, value, help);
    bind(opt, name);
    return opt;
  }

  // A boolean switch (`--flag` sets it; TICKSTREAM_FLAG=true|false from the environment).
  CLI::Option* addSwitch(const std::string& name, bool& value, const std::string& help);

  // Parses argv and the environment. Returns nothing when the service should go on, or the exit
  // code when it should stop: 0 after --help, 2 after a bad value (the message, naming the
  // option, is already on stderr).
  std::optional<int> parse(int argc, const char* const* argv);

  // The environment variable that sets `--name`.
  static std::string envName(const std::string& flag);

  const std::string& service() const { return service_; }
  CLI::App& app() { return app_; }

 private:
  void bind(CLI::Option* opt, const std::string& name);

  std::string service_;
  CLI::App app_;
  std::string log_level_ = "info";
  std::string log_format_ = "json";
};

}  // namespace tickstream::runtime
