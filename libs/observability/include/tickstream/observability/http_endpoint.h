#pragma once

#include <prometheus/registry.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "tickstream/observability/health.h"

namespace tickstream::observability {

struct HttpEndpointConfig {
  std::string listen = "127.0.0.1:9100";  // host:port for /metrics, /healthz, /readyz (port 0 = any)
};

// Parses "host:port" (port 0..65535); throws std::invalid_argument naming the value.
std::pair<std::string, uint16_t> parseHostPort(const std::string& listen);

// The operations port every service has: Prometheus text exposition at /metrics, liveness at
// /healthz and readiness at /readyz (200 or 503 with a one-line-per-component report).
// One small Beast server on its own thread; scrapes are rare, so simplicity wins over speed.
class HttpEndpoint {
 public:
  HttpEndpoint(HttpEndpointConfig config, std::shared_ptr<prometheus::Registry> registry,
               std::shared_ptr<Health> health);
  ~HttpEndpoint();
  HttpEndpoint(const HttpEndpoint&) = delete;
  HttpEndpoint& operator=(const HttpEndpoint&) = delete;

  // Binds and starts serving; throws std::runtime_error naming the address when it cannot bind.
  void start();
  void stop();
  // The bound port (useful with port 0).
  uint16_t port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// What every service does at start: serve `registry` and `health` on `listen`, or nothing when
// `listen` is empty (the endpoint is optional). Throws like start() when it cannot bind.
std::unique_ptr<HttpEndpoint> startHttpEndpoint(const std::string& listen,
                                                std::shared_ptr<prometheus::Registry> registry,
                                                std::shared_ptr<Health> health);

// The Prometheus text exposition of `registry` (what /metrics serves).
std::string renderMetrics(prometheus::Registry& registry);

}  // namespace tickstream::observability
