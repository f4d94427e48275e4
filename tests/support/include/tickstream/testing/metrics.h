#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <regex>
#include <string>

#include "tickstream/testing/child.h"
#include "tickstream/testing/http_get.h"
#include "tickstream/testing/infra.h"

// A service's /metrics as a test reads it: the port the service logged, and one sample's value.
namespace tickstream::testing {

// The /metrics port a service logs at start ("http endpoint listening"), or 0 if it has not
// within 10 s (or exited).
inline uint16_t metricsPort(Child& service) {
  uint16_t port = 0;
  const std::regex listening(R"("http endpoint listening".*"port":(\d+))");
  waitUntil(
      [&] {
        std::smatch m;
        const std::string log = service.log();
        if (std::regex_search(log, m, listening)) port = static_cast<uint16_t>(std::stoi(m[1].str()));
        return port != 0 || !service.running();
      },
      std::chrono::seconds(10));
  return port;
}

// The value of one sample in a Prometheus text exposition, e.g. `gateway_connections_total` or
// `order_rejects_total{reason="venue_unavailable"}` written exactly as the service writes it;
// nothing if the series is not there.
inline std::optional<double> metricValue(const std::string& exposition, const std::string& series) {
  const std::string start = "\n" + series + " ";
  const auto at = exposition.find(start);
  if (at == std::string::npos) return std::nullopt;
  return std::stod(exposition.substr(at + start.size()));
}

// One sample read from the service's /metrics now.
inline std::optional<double> metricValue(uint16_t metrics_port, const std::string& series) {
  return metricValue(httpGet(metrics_port, "/metrics"), series);
}

}  // namespace tickstream::testing
