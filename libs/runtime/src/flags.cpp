#include "tickstream/runtime/flags.h"

#include "tickstream/runtime/logging.h"

#include <cctype>
#include <iostream>
#include <stdexcept>

namespace tickstream::runtime {

Flags::Flags(std::string service, std::string description)
    : service_(std::move(service)), app_(std::move(description), service_) {
  // Show defaults and environment variables in --help for every option.
  app_.option_defaults()->always_capture_default();
  app_.get_formatter()->column_width(44);
  add("--log-level", log_level_, "debug|info|warn|error")
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}));
  add("--log-format", log_format_, "json (for machines) or text (for people)")
      ->check(CLI::IsMember({"json", "text"}));
}

std::string Flags::envName(const std::string& flag) {
  std::string env = "TICKSTREAM_";
  for (char c : flag.substr(flag.find_first_not_of('-'))) {
    env += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return env;
}

void Flags::bind(CLI::Option* opt, const std::string& name) {
  if (name.rfind("--", 0) != 0) {
    throw std::invalid_argument("flag names start with --: " + name);
  }
  opt->envname(envName(name));
}

CLI::Option* Flags::addSwitch(const std::string& name, bool& value, const std::string& help) {
  CLI::Option* opt = app_.add_flag(name, value, help);
  bind(opt, name);
  return opt;
}

std::optional<int> Flags::parse(int argc, const char* const* argv) {
  try {
    app_.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::cout << app_.help();
    return 0;
  } catch (const CLI::ParseError& e) {
    // CLI11 names the option in its message ("--port: Value abc not in range ...").
    std::cerr << service_ << ": " << e.what() << "\nRun with --help for the options.\n";
    return 2;
  }
  logging::init({service_, logging::parseLevel(log_level_), logging::parseFormat(log_format_)});
  return std::nullopt;
}

}  // namespace tickstream::runtime
