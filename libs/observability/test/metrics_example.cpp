// A process exposing a representative set of metrics (counters, gauges and histograms, with
// labels) through HttpEndpoint, so tests can check the exposition format with promtool.
// Prints the bound port on stdout, then serves until SIGTERM.
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>

#include <iostream>

#include "tickstream/observability/http_endpoint.h"
#include "tickstream/runtime/flags.h"
#include "tickstream/runtime/logging.h"
#include "tickstream/runtime/shutdown.h"

int main(int argc, char** argv) {
  tickstream::runtime::ShutdownSignal shutdown;
  std::string listen = "127.0.0.1:0";
  tickstream::runtime::Flags flags("metrics_example", "Exposes sample metrics for format checks");
  flags.add("--listen", listen, "host:port of /metrics, /healthz and /readyz");
  if (auto code = flags.parse(argc, argv)) return *code;

  auto registry = std::make_shared<prometheus::Registry>();
  auto& messages = prometheus::BuildCounter()
                       .Name("tickstream_example_messages_total")
                       .Help("Messages handled, by topic and outcome")
                       .Register(*registry);
  messages.Add({{"topic", "md.ticks"}, {"outcome", "ok"}}).Increment(1234);
  messages.Add({{"topic", "md.ticks"}, {"outcome", "dropped"}}).Increment(5);
  prometheus::BuildGauge()
      .Name("tickstream_example_connections")
      .Help("Open client connections")
      .Register(*registry)
      .Add({})
      .Set(42);
  auto& latency = prometheus::BuildHistogram()
                      .Name("tickstream_example_latency_seconds")
                      .Help("Exchange timestamp to socket write")
                      .Register(*registry)
                      .Add({{"path", "feed"}}, prometheus::Histogram::BucketBoundaries{0.001, 0.005, 0.01, 0.05, 0.1});
  for (double v : {0.0004, 0.002, 0.003, 0.02, 0.2}) latency.Observe(v);

  tickstream::observability::HttpEndpoint endpoint({listen}, registry,
                                                   std::make_shared<tickstream::observability::Health>());
  endpoint.start();
  std::cout << endpoint.port() << std::endl;
  shutdown.wait();
  endpoint.stop();
  return 0;
}
