#include "tickstream/runtime/logging.h"

#include <fmt/format.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cmath>
#include <memory>
#include <mutex>
#include <stdexcept>

namespace tickstream::logging {
namespace {

struct State {
  std::mutex mu;
  LogConfig config;
  std::shared_ptr<spdlog::logger> logger;
};

State& state() {
  static State s;
  return s;
}

std::atomic<int> g_min_level{static_cast<int>(Level::Info)};

std::string_view levelName(Level l) {
  switch (l) {
    case Level::Debug: return "debug";
    case Level::Info: return "info";
    case Level::Warn: return "warn";
    case Level::Error: return "error";
  }
  return "info";
}

void appendJsonString(std::string& out, std::string_view s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += fmt::format("\\u{:04x}", c);
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

// Text values are quoted only when they would otherwise be ambiguous (logfmt style).
void appendTextString(std::string& out, std::string_view s) {
  bool quote = s.empty() || s.find_first_of(" =\"\n\t") != std::string_view::npos;
  if (quote) {
    appendJsonString(out, s);
  } else {
    out += s;
  }
}

void appendValue(std::string& out, const Field& f, Format format) {
  switch (f.kind()) {
    case Field::Kind::String:
      format == Format::Json ? appendJsonString(out, f.str()) : appendTextString(out, f.str());
      break;
    case Field::Kind::Int: out += fmt::format("{}", f.i64()); break;
    case Field::Kind::Uint: out += fmt::format("{}", f.u64()); break;
    case Field::Kind::Double:
      // JSON has no NaN/Infinity; write them as strings rather than an invalid document.
      if (std::isfinite(f.f64())) {
        out += fmt::format("{}", f.f64());
      } else {
        appendJsonString(out, fmt::format("{}", f.f64()));
      }
      break;
    case Field::Kind::Bool: out += f.b() ? "true" : "false"; break;
  }
}

}  // namespace

Level parseLevel(std::string_view s) {
  if (s == "debug") return Level::Debug;
  if (s == "info") return Level::Info;
  if (s == "warn" || s == "warning") return Level::Warn;
  if (s == "error") return Level::Error;
  throw std::invalid_argument(fmt::format("unknown log level '{}' (debug|info|warn|error)", s));
}

Format parseFormat(std::string_view s) {
  if (s == "json") return Format::Json;
  if (s == "text") return Format::Text;
  throw std::invalid_argument(fmt::format("unknown log format '{}' (json|text)", s));
}

std::string formatEvent(Format format, Level level, std::string_view service,
                        std::string_view msg, Fields fields) {
  std::string out;
  out.reserve(128);
  if (format == Format::Json) {
    out += "\"level\":\"";
    out += levelName(level);
    out += "\",\"service\":";
    appendJsonString(out, service);
    out += ",\"msg\":";
    appendJsonString(out, msg);
    for (const Field& f : fields) {
      out += ',';
      appendJsonString(out, f.key());
      out += ':';
      appendValue(out, f, format);
    }
    out += '}';
  } else {
    out += levelName(level);
    out += ' ';
    out += service;
    out += ' ';
    out += msg;
    for (const Field& f : fields) {
      out += ' ';
      out += f.key();
      out += '=';
      appendValue(out, f, format);
    }
  }
  return out;
}

// Requires state().mu held.
static void initLocked(State& s, const LogConfig& config) {
  s.config = config;
  auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  s.logger = std::make_shared<spdlog::logger>(config.service, sink);
  // The timestamp comes from spdlog (UTC, microseconds); the rest of the line is ours.
  s.logger->set_pattern(config.format == Format::Json ? "{\"ts\":\"%Y-%m-%dT%H:%M:%S.%fZ\",%v"
                                                      : "%Y-%m-%dT%H:%M:%S.%fZ %v",
                        spdlog::pattern_time_type::utc);
  s.logger->set_level(spdlog::level::trace);
  s.logger->flush_on(spdlog::level::trace);
  g_min_level.store(static_cast<int>(config.level), std::memory_order_relaxed);
}

void init(const LogConfig& config) {
  State& s = state();
  std::lock_guard lock(s.mu);
  initLocked(s, config);
}

bool enabled(Level level) {
  return static_cast<int>(level) >= g_min_level.load(std::memory_order_relaxed);
}

void log(Level level, std::string_view msg, Fields fields) {
  if (!enabled(level)) return;
  State& s = state();
  std::unique_lock lock(s.mu);
  if (!s.logger) initLocked(s, s.config);  // logging before init(): defaults, not a lost line
  std::shared_ptr<spdlog::logger> logger = s.logger;
  std::string line = formatEvent(s.config.format, level, s.config.service, msg, fields);
  lock.unlock();
  logger->log(spdlog::level::info, line);
}

}  // namespace tickstream::logging
