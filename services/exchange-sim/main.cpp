// exchange-sim: a deterministic simulated NASDAQ market, written as an ITCH 5.0 capture file or
// served live over SoupBinTCP 3.0 (docs/exchange-sim.md).
//   exchange-sim --symbols 1000 --seed 1 --messages 1000000 --capture-out day.itch
//   exchange-sim --listen 127.0.0.1:7001 --rate 100000 --messages 0 --truth-out truth.json
//   exchange-sim --listen 127.0.0.1:7001 --messages 0 --venue-listen 127.0.0.1:7002
// Capture mode prints one JSON summary line on stdout.
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include "capture_run.h"
#include "feed_publisher.h"
#include "market.h"
#include "matching_engine.h"
#include "tickstream/observability/http_endpoint.h"
#include "tickstream/rpc/grpc_server.h"
#include "tickstream/runtime/flags.h"
#include "tickstream/runtime/logging.h"
#include "tickstream/runtime/shutdown.h"
#include "tickstream/soup/server.h"
#include "venue_service.h"

using namespace tickstream;
using namespace std::chrono_literals;

namespace {

struct LiveOptions {
  std::string listen;         // host:port of the SoupBinTCP server; empty = capture mode
  std::string truth_out;      // truth file written when the session ends; empty = none
  std::string metrics_listen; // host:port for /metrics, /healthz, /readyz; empty = none
  int drain_ms = 5000;        // on shutdown, how long connected clients get to read to the end
  std::string venue_listen;   // host:port of the gRPC Venue API; empty = no venue
  std::string venue_fault = "none";  // injected fault: none, reject-all, unavailable, stall
  double spike_every_s = 0;   // start a spike this often (0 = only on SIGUSR1)
  std::string capture_out;    // also write the live stream to this capture file; empty = none
};

// SIGUSR1 asks for a spike. The handler only counts; the main loop passes it on, since a signal
// handler may not take the publisher's locks.
std::atomic<uint64_t> spike_signals{0};
static_assert(std::atomic<uint64_t>::is_always_lock_free, "a signal handler may touch only lock-free atomics");
void onSpikeSignal(int) { spike_signals.fetch_add(1, std::memory_order_relaxed); }

// The gRPC Venue API over the live market: its engine trades against the publisher's simulator
// under the publisher's market lock.
struct Venue {
  static rpc::GrpcServerConfig serverConfig(const std::string& listen) {
    rpc::GrpcServerConfig c;
    c.listen = listen;
    // The order service pings its venue (keepalive, at least every 1 s in its tests): allow
    // that with margin, or gRPC's default policy would close it with GOAWAY.
    c.min_client_ping_interval = std::chrono::milliseconds(500);
    return c;
  }

  Venue(exchange_sim::FeedPublisher& publisher, exchange_sim::MatchingConfig matching,
        exchange_sim::VenueServiceConfig service_config, const std::string& listen)
      : engine(std::move(matching), publisher.market(),
               [] {
                 return std::chrono::duration_cast<std::chrono::nanoseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                     .count();
               }),
        service(service_config, publisher.marketMutex(), engine),
        server(serverConfig(listen)) {
    publisher.setListener(&service);
    server.addService<venue::v1::Venue>(&service);
  }

  exchange_sim::MatchingEngine engine;
  exchange_sim::VenueService service;
  rpc::GrpcServer server;
};

using CaptureFile = std::unique_ptr<std::FILE, int (*)(std::FILE*)>;

// A capture file opened for writing with a 1 MiB buffer (one write per MiB, not per record);
// empty, with the error logged, when it cannot be opened.
CaptureFile openCaptureFile(const std::string& path) {
  CaptureFile out(std::fopen(path.c_str(), "wb"), &std::fclose);
  if (!out) {
    logging::error("cannot open capture file", {{"path", path}});
    return out;
  }
  std::setvbuf(out.get(), nullptr, _IOFBF, 1 << 20);
  return out;
}

int runCapture(const exchange_sim::MarketConfig& config, uint64_t messages,
               const std::string& capture_out) {
  exchange_sim::MarketSimulator sim(config);
  CaptureFile out = openCaptureFile(capture_out);
  if (!out) {
    return 1;
  }
  const auto start = std::chrono::steady_clock::now();
  const bool ok = exchange_sim::writeCapture(sim, messages, out.get());
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  if (!ok || std::fclose(out.release()) != 0) {
    logging::error("writing the capture file failed", {{"path", capture_out}});
    return 1;
  }
  std::printf("%s\n", exchange_sim::summaryJson(sim, took.count()).c_str());
  return sim.truthErrors() == 0 ? 0 : 1;
}

int runLive(runtime::ShutdownSignal& shutdown, const exchange_sim::MarketConfig& market,
            const exchange_sim::FeedConfig& feed, soup::SoupServerConfig soup_config,
            const LiveOptions& opts, const exchange_sim::MatchingConfig& matching,
            const exchange_sim::VenueServiceConfig& venue_config) {
  auto registry = std::make_shared<prometheus::Registry>();
  auto& published_total = prometheus::BuildCounter()
                              .Name("exchange_sim_messages_published_total")
                              .Help("ITCH messages appended to the SoupBinTCP session")
                              .Register(*registry)
                              .Add({});
  auto& clients = prometheus::BuildGauge()
                      .Name("exchange_sim_soup_clients")
                      .Help("SoupBinTCP clients connected")
                      .Register(*registry)
                      .Add({});
  auto& session_ended = prometheus::BuildGauge()
                            .Name("exchange_sim_session_ended")
                            .Help("1 once End of Session has been sent")
                            .Register(*registry)
                            .Add({});
  auto& venue_exec_seq = prometheus::BuildGauge()
                            .Name("exchange_sim_venue_exec_seq")
                            .Help("exec_seq of the venue's last execution report")
                            .Register(*registry)
                            .Add({});
  auto& venue_open_orders = prometheus::BuildGauge()
                                .Name("exchange_sim_venue_open_orders")
                                .Help("routed orders resting on the venue's book")
                                .Register(*registry)
                                .Add({});
  auto health = std::make_shared<observability::Health>();
  auto endpoint = observability::startHttpEndpoint(opts.metrics_listen, registry, health);

  soup::SoupServer server(std::move(soup_config));
  exchange_sim::FeedPublisher publisher(feed, market, server);
  server.start();
  logging::info("soup server listening",
                {{"host", opts.listen}, {"port", unsigned{server.port()}},
                 {"rate", static_cast<unsigned long long>(feed.rate)},
                 {"messages", static_cast<unsigned long long>(feed.messages)}});

  std::unique_ptr<Venue> venue;
  if (!opts.venue_listen.empty()) {
    venue = std::make_unique<Venue>(publisher, matching, venue_config, opts.venue_listen);
    venue->server.start();
    logging::info("venue listening", {{"host", opts.venue_listen},
                                      {"port", venue->server.port()},
                                      {"session", matching.session},
                                      {"fault", opts.venue_fault}});
  }

  CaptureFile capture(nullptr, &std::fclose);
  if (!opts.capture_out.empty()) {
    capture = openCaptureFile(opts.capture_out);
    if (!capture) {
      return 1;
    }
    publisher.setCapture(capture.get());
  }
  std::thread runner([&publisher] { publisher.run(); });
  if (venue) {
    venue->server.setAllServing(true); // the market is running: orders can trade
  }
  uint64_t spike_signals_seen = 0;
  auto last_spike = std::chrono::steady_clock::now();
  const auto maybeSpike = [&] {
    const uint64_t signals = spike_signals.load(std::memory_order_relaxed);
    const auto now = std::chrono::steady_clock::now();
    const bool periodic = opts.spike_every_s > 0 &&
                          now - last_spike >= std::chrono::duration<double>(opts.spike_every_s);
    if (signals != spike_signals_seen || periodic) {
      spike_signals_seen = signals;
      last_spike = now;
      publisher.spike();
      // Ignored by the feed while a spike runs (FeedPublisher::spikes() counts the ones started).
      logging::info("spike requested", {{"by", periodic ? "--spike-every-s" : "SIGUSR1"}});
    }
  };
  uint64_t reported = 0;
  const auto updateMetrics = [&] {
    const uint64_t now = publisher.published();
    published_total.Increment(static_cast<double>(now - reported));
    reported = now;
    clients.Set(static_cast<double>(server.connections()));
    session_ended.Set(publisher.finished() ? 1.0 : 0.0);
    if (venue) {
      std::lock_guard lock(publisher.marketMutex());
      venue_exec_seq.Set(static_cast<double>(venue->engine.lastExecSeq()));
      venue_open_orders.Set(static_cast<double>(venue->engine.openOrders()));
    }
  };
  bool capture_failure_logged = false;
  while (!publisher.finished() && !shutdown.waitFor(200ms)) {
    updateMetrics();
    maybeSpike();
    if (publisher.captureFailed() && !capture_failure_logged) {
      capture_failure_logged = true;
      logging::error("writing the capture file failed; the live feed goes on without it",
                     {{"path", opts.capture_out}});
    }
  }
  publisher.stop(); // no-op when it finished by itself
  runner.join();
  updateMetrics();

  const auto& sim = publisher.simulator();
  const double seconds = std::chrono::duration<double>(publisher.elapsed()).count();
  logging::info("session ended",
                {{"messages", static_cast<unsigned long long>(publisher.published())},
                 {"seconds", seconds},
                 {"msgs_per_s", seconds > 0 ? static_cast<double>(publisher.published()) / seconds
                                            : 0.0},
                 {"truth_errors", static_cast<unsigned long long>(sim.truthErrors())}});
  int status = sim.truthErrors() == 0 ? 0 : 1;
  if (capture) {
    // After run() returned: it flushed the file, and nothing writes to it any more.
    const bool closed = std::fclose(capture.release()) == 0;
    if (publisher.captureFailed() || !closed) {
      logging::error("the capture file is incomplete", {{"path", opts.capture_out}});
      status = 1;
    } else {
      logging::info("capture file written", {{"path", opts.capture_out},
                                             {"messages", static_cast<unsigned long long>(publisher.published())}});
    }
  }
  if (!opts.truth_out.empty()) {
    if (exchange_sim::writeTruthFile(sim, opts.truth_out)) {
      logging::info("truth file written", {{"path", opts.truth_out}});
    } else {
      logging::error("writing the truth file failed", {{"path", opts.truth_out}});
      status = 1;
    }
  }

  // The session has ended but the venue stays up, as a real one would: a client that logs in
  // now still gets the whole day and then End of Session. Serve until asked to stop.
  while (!shutdown.waitFor(200ms)) {
    updateMetrics();
  }
  if (venue) {
    // In-flight calls finish; open execution streams end with UNAVAILABLE.
    venue->service.shutdown();
    venue->server.stop();
  }
  // Let connected clients read to End of Session (the server then disconnects them) before the
  // sockets close under them.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(opts.drain_ms);
  while (server.connections() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  server.stop();
  if (endpoint) {
    endpoint->stop();
  }
  logging::info("exchange-sim stopped", {{"status", status}});
  return status;
}

} // namespace

int main(int argc, char** argv) {
  runtime::ShutdownSignal shutdown; // first: every later thread inherits the blocked signals
  // SIGUSR1 asks for a spike (live mode). Installed before anything else runs, so a SIGUSR1 that
  // comes early, or in capture mode, is counted or ignored, never the default action (exit).
  struct sigaction spike_action{};
  spike_action.sa_handler = onSpikeSignal;
  sigemptyset(&spike_action.sa_mask);
  spike_action.sa_flags = SA_RESTART;
  ::sigaction(SIGUSR1, &spike_action, nullptr);


  exchange_sim::MarketConfig config;
  uint64_t messages = 1'000'000;
  std::string capture_out;
  exchange_sim::FeedConfig feed;
  soup::SoupServerConfig soup_config;
  LiveOptions live;
  exchange_sim::MatchingConfig matching;
  exchange_sim::VenueServiceConfig venue_config;
  int venue_stall_ms = static_cast<int>(venue_config.stall.count());
  int tick_us = static_cast<int>(feed.tick.count());

  runtime::Flags flags("exchange-sim",
                       "Deterministic simulated market emitting NASDAQ ITCH 5.0, as a capture "
                       "file or live over SoupBinTCP 3.0");
  flags.add("--symbols", config.symbols, "instruments (stock locate 1..N)")
      ->check(CLI::Range(1, 65535));
  flags.add("--seed", config.seed, "random seed: the same seed gives the same stream");
  flags.add("--messages", messages,
            "messages to write, preamble included; live mode: 0 = until SIGTERM");
  flags.add("--target-orders", config.target_orders, "resting orders per symbol to hover around");
  flags.add("--mean-gap-ns", config.mean_gap_ns, "mean ns between order-flow events");
  flags.add("--burst-events", config.burst_events, "order-flow events in the opening burst");
  flags.add("--burst-speedup", config.burst_speedup, "how much denser the opening burst is");
  flags.add("--halts-per-million", config.halts_per_million, "halts per million events");
  flags.add("--capture-out", capture_out,
            "file to write (length-prefixed ITCH): capture mode alone; with --listen, the live "
            "stream exactly as sent, venue executions included");
  flags.add("--listen", live.listen, "live mode: HOST:PORT to serve SoupBinTCP on (port 0 = any)");
  flags.add("--rate", feed.rate, "live mode: messages per second")
      ->check(CLI::Range(uint64_t{1}, uint64_t{10'000'000}));
  flags.add("--burst-messages", feed.burst_messages,
            "live mode: messages sent at --burst-factor x --rate after the start (0 = no spike)");
  flags.add("--burst-factor", feed.burst_factor, "live mode: speed-up of the opening spike and of later ones")
      ->check(CLI::Range(1, 1000));
  flags.add("--spike-messages", feed.spike_messages,
            "live mode: messages in a spike started by SIGUSR1 or --spike-every-s, at --burst-factor x "
            "--rate (0 = as many as --burst-messages, or one second's worth if that is 0)");
  flags.add("--spike-every-s", live.spike_every_s, "live mode: start a spike this often (0 = only on SIGUSR1)")
      ->check(CLI::Range(0.0, 86'400.0));
  flags.add("--tick-us", tick_us, "live mode: pacing period in us (one batch per tick)")
      ->check(CLI::Range(100, 100'000));
  flags.add("--soup-user", soup_config.username, "live mode: accepted SoupBinTCP username");
  flags.add("--soup-password", soup_config.password, "live mode: accepted SoupBinTCP password");
  flags.add("--soup-session", soup_config.session, "live mode: SoupBinTCP session name");
  flags.add("--truth-out", live.truth_out, "live mode: JSON truth file written at session end");
  flags.add("--metrics-listen", live.metrics_listen,
            "live mode: HOST:PORT for /metrics, /healthz, /readyz (empty = off)");
  flags.add("--drain-ms", live.drain_ms,
            "live mode: on SIGTERM, ms connected clients get to read to End of Session")
      ->check(CLI::Range(0, 600'000));
  flags.add("--venue-listen", live.venue_listen,
            "live mode: HOST:PORT for the gRPC Venue API (order routing; empty = off)");
  flags.add("--venue-session", matching.session,
            "venue: prefix of venue order and execution ids; must differ between runs "
            "(default: the start time in ms since the epoch)");
  flags.add("--venue-max-quantity", matching.max_quantity, "venue: largest order, shares")
      ->check(CLI::Range(int64_t{1}, int64_t{UINT32_MAX}));
  flags.add("--venue-history", matching.history,
            "venue: execution reports kept for resuming StreamExecutions")
      ->check(CLI::Range(size_t{1}, size_t{100'000'000}));
  flags.add("--venue-fault", live.venue_fault,
            "venue fault injection: none, reject-all (orders REJECTED), unavailable (every call "
            "UNAVAILABLE), stall (every call answers after --venue-stall-ms)")
      ->check(CLI::IsMember({"none", "reject-all", "unavailable", "stall"}));
  flags.add("--venue-stall-ms", venue_stall_ms, "venue: how long a call waits under stall")
      ->check(CLI::Range(1, 600'000));
  if (auto code = flags.parse(argc, argv)) {
    return *code;
  }
  if (capture_out.empty() && live.listen.empty()) {
    logging::error("give --capture-out (capture mode) or --listen (live mode; with --capture-out too, "
                   "the live stream is also written to the file)");
    return 2;
  }
  if (!live.listen.empty()) {
    live.capture_out = capture_out;
  }
  if (!live.venue_listen.empty() && live.listen.empty()) {
    logging::error("--venue-listen needs live mode (--listen): the venue trades against the live "
                   "market");
    return 2;
  }

  try {
    config.validate();
    if (!live.listen.empty()) {
      auto [host, port] = observability::parseHostPort(live.listen);
      soup_config.host = host;
      soup_config.port = port;
      feed.messages = messages;
      feed.tick = std::chrono::microseconds(tick_us);
      feed.validate();
    }
    if (!live.venue_listen.empty()) {
      if (matching.session.empty()) {
        // Ids from an earlier run must never look like this run's: the order service
        // deduplicates fills by venue_execution_id.
        matching.session = std::to_string(
            std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count());
      }
      matching.validate();
      venue_config.fault = exchange_sim::parseVenueFault(live.venue_fault);
      venue_config.stall = std::chrono::milliseconds(venue_stall_ms);
      venue_config.validate();
    }
  } catch (const std::invalid_argument& e) {
    logging::error("bad flag", {{"error", e.what()}});
    return 2;
  }

  try {
    if (live.listen.empty()) {
      return runCapture(config, messages, capture_out);
    }
    return runLive(shutdown, config, feed, std::move(soup_config), live, matching, venue_config);
  } catch (const std::exception& e) {
    logging::error("exchange-sim failed", {{"error", e.what()}});
    return 2;
  }
}
