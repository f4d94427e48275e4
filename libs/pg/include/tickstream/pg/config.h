#pragma once

#include <chrono>
#include <string>

namespace tickstream::pg {

// How a service's pool reaches PostgreSQL and how hard it tries when the server goes away.
// Defaults suit a service on the same network as its database; validate() once at start-up.
struct PoolConfig {
  // libpq URL (postgresql://user@host:port/db?...) or key=value string; required.
  std::string url;
  // Connections kept open; each is a server process, so size it to concurrency, not to load.
  int size = 4;
  // Longest acquire() blocks waiting for a free connection before throwing AcquireTimeout.
  std::chrono::milliseconds acquire_timeout{5000};
  // Bound on one connect attempt (libpq connect_timeout, whole seconds; libpq's floor is 2 s).
  std::chrono::seconds connect_timeout{5};
  // First pause after a lost or refused connection; doubles on each consecutive failure.
  std::chrono::milliseconds reconnect_backoff_min{50};
  // Cap on that pause, so recovery is noticed within this long once the server is back.
  std::chrono::milliseconds reconnect_backoff_max{2000};
  // Random fraction of each pause (0..1) so replicas restarted together do not retry in step.
  double reconnect_jitter = 0.5;
  // How long run() keeps reconnecting and retrying before giving the error to the caller.
  std::chrono::milliseconds retry_timeout{30000};
  // Server settings for every session, as libpq's `options` ("-c name=value ..."); empty: none.
  // Ignored when the URL sets options itself (an operator's explicit choice wins).
  std::string options;

  // Throws std::invalid_argument naming the first bad field.
  void validate() const;
};

// The libpq connection string the pool opens: `config.url` with connect_timeout and options
// added unless the URL already sets them (an operator's explicit choice wins).
std::string connectionString(const PoolConfig& config);

}  // namespace tickstream::pg
