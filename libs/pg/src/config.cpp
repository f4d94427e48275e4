#include "tickstream/pg/config.h"

#include <cctype>
#include <stdexcept>
#include <string>

namespace tickstream::pg {

namespace {

[[noreturn]] void badField(const std::string& field, const std::string& why) {
  throw std::invalid_argument("PoolConfig." + field + " " + why);
}

bool isUri(const std::string& url) {
  return url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0;
}

// A URI query value: everything but unreserved characters as %XX.
std::string percentEncoded(const std::string& value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// A key=value string's single-quoted value: backslash and quote escaped.
std::string quoted(const std::string& value) {
  std::string out;
  for (const char c : value) {
    if (c == '\\' || c == '\'') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

void PoolConfig::validate() const {
  if (url.empty()) badField("url", "is required (e.g. postgresql://user@host:5432/db)");
  if (size < 1) badField("size", "must be at least 1 (got " + std::to_string(size) + ")");
  if (acquire_timeout.count() <= 0) {
    badField("acquire_timeout", "must be positive (got " +
                                    std::to_string(acquire_timeout.count()) + " ms)");
  }
  // libpq silently turns 1 s into 2 s and 0 into "wait forever"; refuse both so the configured
  // value is the real one.
  if (connect_timeout < std::chrono::seconds(2)) {
    badField("connect_timeout", "must be at least 2 s, libpq's minimum (got " +
                                    std::to_string(connect_timeout.count()) + " s)");
  }
  if (reconnect_backoff_min.count() <= 0) {
    badField("reconnect_backoff_min", "must be positive (got " +
                                          std::to_string(reconnect_backoff_min.count()) + " ms)");
  }
  if (reconnect_backoff_max < reconnect_backoff_min) {
    badField("reconnect_backoff_max", "must be >= reconnect_backoff_min (got " +
                                          std::to_string(reconnect_backoff_max.count()) + " ms < " +
                                          std::to_string(reconnect_backoff_min.count()) + " ms)");
  }
  if (!(reconnect_jitter >= 0.0 && reconnect_jitter <= 1.0)) {  // also rejects NaN
    badField("reconnect_jitter", "must be within [0, 1] (got " + std::to_string(reconnect_jitter) +
                                     ")");
  }
  if (retry_timeout.count() < 0) {
    badField("retry_timeout", "must not be negative (got " +
                                  std::to_string(retry_timeout.count()) + " ms)");
  }
}

std::string connectionString(const PoolConfig& config) {
  std::string out = config.url;
  const bool uri = isUri(out);
  const auto add = [&](const std::string& key, const std::string& value) {
    if (config.url.find(key + "=") != std::string::npos) return;
    if (uri) {
      out += (out.find('?') == std::string::npos ? "?" : "&") + key + "=" + percentEncoded(value);
    } else {
      out += " " + key + "='" + quoted(value) + "'";
    }
  };
  add("connect_timeout", std::to_string(config.connect_timeout.count()));
  if (!config.options.empty()) add("options", config.options);
  return out;
}

}  // namespace tickstream::pg
