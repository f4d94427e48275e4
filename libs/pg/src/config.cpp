#include "tickstream/pg/config.h"

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
  const std::string& url = config.url;
  if (url.find("connect_timeout=") != std::string::npos) return url;
  const std::string seconds = std::to_string(config.connect_timeout.count());
  if (isUri(url)) {
    return url + (url.find('?') == std::string::npos ? "?" : "&") + "connect_timeout=" + seconds;
  }
  return url + " connect_timeout=" + seconds;
}

}  // namespace tickstream::pg
