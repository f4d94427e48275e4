#pragma once

#include <CLI/CLI.hpp>

#include <string>

#include "tickstream/runtime/flags.h"

namespace tickstream::tsctl {

// Binds an option to its TICKSTREAM_* variable too, like every service's flags.
template <class T>
CLI::Option* opt(CLI::App* app, const std::string& name, T& value, const std::string& help) {
  return app->add_option(name, value, help)->envname(runtime::Flags::envName(name))->capture_default_str();
}

}  // namespace tickstream::tsctl
