// ingestion: the ITCH 5.0 feed handler as a service. SoupBinTCP (or a capture file) in,
// RawFeedMessage on md.raw out, keyed by symbol (docs/ingestion.md).
//   ingestion --kafka-brokers 127.0.0.1:9092 --soup-connect 127.0.0.1:7001 --soup-session 1
//   ingestion --kafka-brokers 127.0.0.1:9092 --capture-in day.itch --trading-date 2019-01-30
#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include "feed_handler.h"
#include "publisher.h"
#include "replay.h"
#include "resume.h"
#include "tickstream/itch/codec.h"
#include "tickstream/kafka/admin.h"
#include "tickstream/kafka/producer.h"
#include "tickstream/kafka/topics.h"
#include "tickstream/observability/counters.h"
#include "tickstream/observability/health.h"
#include "tickstream/observability/http_endpoint.h"
#include "tickstream/runtime/clock.h"
#include "tickstream/runtime/exchange_zone.h"
#include "tickstream/runtime/flags.h"
#include "tickstream/runtime/logging.h"
#include "tickstream/runtime/shutdown.h"
#include "tickstream/soup/client.h"

using namespace tickstream;
using namespace std::chrono_literals;

namespace {

struct Options {
  std::string kafka_brokers = "127.0.0.1:9092"; // Kafka bootstrap servers
  std::string raw_topic = kafka::topics::kMdRaw; // where RawFeedMessages go (tests use their own)
  int32_t md_partitions = kafka::topics::Layout{}.md_partitions; // the raw topic's partitions
  std::string soup_connect;   // live mode: HOST:PORT of the venue's SoupBinTCP server
  std::string capture_in;     // replay mode: capture file to publish instead
  uint64_t start_sequence = 1; // live: first sequence number to ask for (1 = the whole day)
  std::string trading_date;   // YYYY-MM-DD; empty = today (UTC)
  int32_t utc_offset_s = 0;   // exchange local time minus UTC, for exchange_ts_ns
  std::string exchange_timezone;  // IANA zone: the default date and the offset come from it
  std::string metrics_listen = "127.0.0.1:0"; // HOST:PORT for /metrics, /healthz, /readyz
  int flush_timeout_ms = 30'000; // how long a shutdown waits for Kafka to take what is queued
  int kafka_linger_ms = 0;  // producer batching delay: 0 = send at once (docs/benchmarks.md, "Producer linger")
  std::string kafka_compression = "lz4";                // producer codec: CPU on both ends vs. bytes on the wire
  bool resume = true;         // send nothing md.raw already holds of this session (no duplicates after a restart)
};

// FeedCounters as Prometheus counters. The handler's counters are plain integers owned by the
// feed thread; update() is handed a consistent copy and adds what grew since the last call.
class FeedMetrics {
public:
  explicit FeedMetrics(prometheus::Registry& registry)
      : messages_(observability::registerCounter(registry, "ingestion_messages_total", "ITCH messages handed in")),
        published_(observability::registerCounter(registry, "ingestion_published_total",
                           "messages accepted by the publisher (market-wide counts once)")),
        market_wide_(observability::registerCounter(registry, "ingestion_market_wide_total",
                             "of published: market-wide, sent to every partition")),
        publish_failed_(observability::registerCounter(registry, "ingestion_publish_failed_total",
                                "messages the publisher refused (at shutdown: asked for again on restart)")),
        held_(observability::registerCounter(registry, "ingestion_resume_held_total",
                      "messages md.raw already held from before a restart (not sent again)")),
        unknown_locate_(observability::registerCounter(registry, "ingestion_unknown_locate_total",
                                "messages whose locate had no Stock Directory (skipped)")),
        gaps_(observability::registerCounter(registry, "ingestion_gaps_total", "forward sequence jumps")),
        missing_(observability::registerCounter(registry, "ingestion_missing_total",
                         "sequence numbers skipped by the jumps")),
        duplicates_(observability::registerCounter(registry, "ingestion_duplicates_total",
                            "sequence numbers already seen (skipped)")),
        directory_(observability::registerCounter(registry, "ingestion_directory_total", "Stock Directory messages")),
        delivered_(observability::registerCounter(registry, "ingestion_kafka_delivered_total",
                           "records Kafka acknowledged")),
        delivery_failed_(observability::registerCounter(registry, "ingestion_kafka_delivery_failed_total",
                                 "records Kafka failed to take after retrying")),
        session_ended_(prometheus::BuildGauge()
                           .Name("ingestion_session_ended")
                           .Help("1 once End of Session (or the end of the capture) was seen")
                           .Register(registry)
                           .Add({})) {
    auto& malformed = prometheus::BuildCounter()
                          .Name("ingestion_malformed_total")
                          .Help("messages that did not decode, by status (skipped)")
                          .Register(registry);
    for (std::size_t s = 1; s < ingestion::FeedCounters::kStatuses; ++s) {
      malformed_[s] = &malformed.Add(
          {{"status", std::string(itch::toString(static_cast<itch::DecodeStatus>(s)))}});
    }
  }

  void update(const ingestion::FeedCounters& c, const kafka::Producer& producer, bool ended) {
    observability::advance(messages_, c.messages, last_.messages);
    observability::advance(published_, c.published, last_.published);
    observability::advance(market_wide_, c.market_wide, last_.market_wide);
    observability::advance(publish_failed_, c.publish_failed, last_.publish_failed);
    observability::advance(held_, c.held, last_.held);
    observability::advance(unknown_locate_, c.unknown_locate, last_.unknown_locate);
    observability::advance(gaps_, c.gaps, last_.gaps);
    observability::advance(missing_, c.missing, last_.missing);
    observability::advance(duplicates_, c.duplicates, last_.duplicates);
    observability::advance(directory_, c.directory, last_.directory);
    for (std::size_t s = 1; s < ingestion::FeedCounters::kStatuses; ++s) {
      observability::advance(*malformed_[s], c.malformed[s], last_.malformed[s]);
    }
    observability::advance(delivered_, producer.delivered(), last_delivered_);
    observability::advance(delivery_failed_, producer.failed(), last_delivery_failed_);
    session_ended_.Set(ended ? 1.0 : 0.0);
  }

private:

  prometheus::Counter& messages_;
  prometheus::Counter& published_;
  prometheus::Counter& market_wide_;
  prometheus::Counter& publish_failed_;
  prometheus::Counter& held_;
  prometheus::Counter& unknown_locate_;
  prometheus::Counter& gaps_;
  prometheus::Counter& missing_;
  prometheus::Counter& duplicates_;
  prometheus::Counter& directory_;
  prometheus::Counter& delivered_;
  prometheus::Counter& delivery_failed_;
  prometheus::Gauge& session_ended_;
  std::array<prometheus::Counter*, ingestion::FeedCounters::kStatuses> malformed_{};
  ingestion::FeedCounters last_;
  uint64_t last_delivered_ = 0;
  uint64_t last_delivery_failed_ = 0;
};

void logCounters(std::string_view msg, const ingestion::FeedCounters& c,
                 const kafka::Producer& producer) {
  logging::info(msg, {{"messages", static_cast<unsigned long long>(c.messages)},
                      {"published", static_cast<unsigned long long>(c.published)},
                      {"market_wide", static_cast<unsigned long long>(c.market_wide)},
                      {"publish_failed", static_cast<unsigned long long>(c.publish_failed)},
                      {"held", static_cast<unsigned long long>(c.held)},
                      {"malformed", static_cast<unsigned long long>(c.malformedTotal())},
                      {"unknown_locate", static_cast<unsigned long long>(c.unknown_locate)},
                      {"gaps", static_cast<unsigned long long>(c.gaps)},
                      {"duplicates", static_cast<unsigned long long>(c.duplicates)},
                      {"kafka_delivered", static_cast<unsigned long long>(producer.delivered())},
                      {"kafka_failed", static_cast<unsigned long long>(producer.failed())}});
}

// Waits for Kafka to acknowledge everything queued: on shutdown nothing may be left behind.

int runReplay(const Options& opts, ingestion::FeedHandler& handler, kafka::Producer& producer,
              FeedMetrics& metrics, observability::Health& health) {
  health.setReady("feed", true);
  logging::info("replaying capture", {{"path", opts.capture_in}});
  // The replay runs on this thread; the counters are published to /metrics when it ends.
  const ingestion::ReplayResult result = ingestion::replayCapture(opts.capture_in, handler);
  const bool flushed = producer.flushAndVerify(std::chrono::milliseconds(opts.flush_timeout_ms));
  metrics.update(handler.counters(), producer, true);
  logCounters("capture replayed", handler.counters(), producer);
  if (result.status != itch::CaptureStatus::End) {
    logging::error("capture did not end cleanly",
                   {{"path", opts.capture_in},
                    {"offset", static_cast<unsigned long long>(result.offset)},
                    {"error", result.error}});
    return 1;
  }
  return flushed ? 0 : 1;
}

int runLive(runtime::ShutdownSignal& shutdown, const Options& opts,
            soup::SoupClientConfig soup_config, ingestion::FeedHandler& handler,
            ingestion::KafkaPublisher& publisher, kafka::Producer& producer, FeedMetrics& metrics,
            observability::Health& health) {
  // The handler is not thread-safe and its counters are plain integers: the feed thread and the
  // metrics refresh share it under this (uncontended but for a refresh every 500 ms) lock.
  std::mutex handler_mu;
  std::atomic<bool> ended{false};
  std::atomic<int> status{0};

  soup::SoupClientHandlers handlers;
  handlers.on_message = [&](uint64_t seq, std::span<const uint8_t> bytes) {
    const int64_t received = runtime::wallClockNs(); // stamped on arrival, before any queueing
    const std::lock_guard lock(handler_mu);
    handler.onMessage(seq, bytes, received);
  };
  handlers.on_login = [&](std::string_view session, uint64_t next) {
    logging::info("soup logged in",
                  {{"session", session}, {"next_sequence", static_cast<unsigned long long>(next)}});
    health.setReady("feed", true);
  };
  handlers.on_disconnect = [&](std::string_view reason) {
    logging::warn("soup disconnected", {{"reason", reason}});
    if (!ended.load()) {
      health.setReady("feed", false, std::string(reason));
    }
  };
  handlers.on_rejected = [&](itch::soup::RejectReason reason) {
    logging::error("soup login rejected", {{"reason", static_cast<int>(reason)}});
    health.setReady("feed", false, "login rejected");
    status = 1; // credentials do not fix themselves: stop and say so
    shutdown.request();
  };
  handlers.on_end_of_session = [&] { ended = true; };

  soup::SoupClient client(std::move(soup_config), std::move(handlers));
  client.start();

  bool end_reported = false;
  const auto refresh = [&] {
    // Skipped while the feed thread holds the handler (waiting for room in a full queue): the
    // main loop must go on to see a failed delivery or a shutdown.
    std::unique_lock lock(handler_mu, std::try_to_lock);
    if (lock.owns_lock()) metrics.update(handler.counters(), producer, ended.load());
    if (!producer.fatalError().empty()) {
      health.setLive(false, "kafka producer: " + producer.fatalError());
    }
  };
  while (!shutdown.waitFor(500ms)) {
    refresh();
    if (producer.failed() > 0) {
      // librdkafka gave up on a record after its retries (the broker was away for longer than
      // message.timeout.ms). The venue has moved past it, so it cannot be sent again from here:
      // stop, and the restart asks the venue again from where md.raw ends (--resume).
      logging::error("a record failed delivery to md.raw: stopping so a restart resumes from md.raw",
                     {{"kafka_failed", static_cast<unsigned long long>(producer.failed())}});
      status = 1;
      break;
    }
    if (ended.load() && !end_reported) {
      // The day is over; the client has stopped by itself. Stay up (ready, serving /metrics)
      // until told to stop, so a supervisor does not restart us into replaying the whole day.
      end_reported = true;
      producer.flushAndVerify(std::chrono::milliseconds(opts.flush_timeout_ms));
      const std::lock_guard lock(handler_mu);
      logCounters("end of session", handler.counters(), producer);
    }
  }

  publisher.stop();  // a feed thread waiting for room in the queue gives up (asked again on restart)
  client.stop(); // joins the feed thread: nothing is handed to the producer after this
  const bool flushed = producer.flushAndVerify(std::chrono::milliseconds(opts.flush_timeout_ms));
  refresh();
  logCounters("ingestion stopped", handler.counters(), producer);
  if (!flushed) {
    return 1;
  }
  return status.load();
}

} // namespace

// Runs `fn(zone)`, naming the flag in the error of an unknown zone.
template <typename Fn>
auto zoned(const std::string& zone, Fn fn) {
  try {
    return fn(zone);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(std::string("--exchange-timezone: ") + e.what());
  }
}

int main(int argc, char** argv) {
  runtime::ShutdownSignal shutdown; // first: every later thread inherits the blocked signals

  Options opts;
  soup::SoupClientConfig soup_config;
  soup_config.session = "1";

  runtime::Flags flags("ingestion",
                       "ITCH 5.0 feed handler: SoupBinTCP or a capture file in, md.raw out");
  flags.add("--kafka-brokers", opts.kafka_brokers, "Kafka bootstrap servers (host:port,...)");
  flags.add("--raw-topic", opts.raw_topic, "topic RawFeedMessages go to");
  flags.add("--md-partitions", opts.md_partitions,
            "partitions of the raw topic (market-wide messages go to each)")
      ->check(CLI::Range(1, 10'000));
  flags.add("--soup-connect", opts.soup_connect, "live mode: HOST:PORT of the SoupBinTCP server");
  flags.add("--soup-user", soup_config.username, "live mode: SoupBinTCP username");
  flags.add("--soup-password", soup_config.password, "live mode: SoupBinTCP password");
  flags.add("--soup-session", soup_config.session,
            "SoupBinTCP session to log in to (blank = current); RawFeedMessage.session");
  flags.add("--start-sequence", opts.start_sequence,
            "live mode: first sequence number to ask for (1 = the whole day)")
      ->check(CLI::Range(uint64_t{1}, UINT64_MAX));
  flags.add("--resume", opts.resume,
            "at start-up, read where each md.raw partition ends for this session and trading day, "
            "and send nothing a partition already holds (false: publish everything asked for again)");
  flags.add("--capture-in", opts.capture_in,
            "replay mode: capture file (length-prefixed ITCH) to publish instead of SoupBinTCP");
  flags.add("--trading-date", opts.trading_date,
            "trading day YYYY-MM-DD (default: today in --exchange-timezone, or in UTC)");
  flags.add("--exchange-timezone", opts.exchange_timezone,
            "the venue's IANA time zone (America/New_York for NASDAQ): the default trading day and "
            "the UTC offset on it, daylight saving included (empty: --utc-offset-s and UTC's date)");
  flags.add("--utc-offset-s", opts.utc_offset_s,
            "without --exchange-timezone: exchange local time minus UTC in seconds (-18000 New "
            "York winter; 0 = UTC)")
      ->check(CLI::Range(-86'399, 86'399));
  flags.add("--metrics-listen", opts.metrics_listen,
            "HOST:PORT for /metrics, /healthz, /readyz (port 0 = any; empty = off)");
  flags.add("--kafka-linger-ms", opts.kafka_linger_ms,
            "how long the producer waits to fill a batch (latency vs. throughput)")
      ->check(CLI::Range(0, 1000));
  flags.add("--kafka-compression", opts.kafka_compression,
            "producer compression: none|lz4|zstd|snappy|gzip (none saves CPU where bandwidth is cheap)")
      ->check(CLI::IsMember({"none", "lz4", "zstd", "snappy", "gzip"}));
  flags.add("--flush-timeout-ms", opts.flush_timeout_ms,
            "on shutdown, how long to wait for Kafka to take every queued record")
      ->check(CLI::Range(0, 600'000));
  if (auto code = flags.parse(argc, argv)) {
    return *code;
  }
  if (opts.soup_connect.empty() == opts.capture_in.empty()) {
    logging::error("give exactly one of --soup-connect (live mode) and --capture-in (replay mode)");
    return 2;
  }

  ingestion::FeedHandlerConfig handler_config;
  try {
    if (!opts.exchange_timezone.empty() && opts.utc_offset_s != 0) {
      throw std::invalid_argument("give --exchange-timezone or --utc-offset-s, not both");
    }
    if (opts.trading_date.empty()) {
      opts.trading_date = zoned(opts.exchange_timezone, runtime::todayIn);
    }
    const auto date = ingestion::parseTradingDate(opts.trading_date);
    if (!date) {
      throw std::invalid_argument("--trading-date: not a YYYY-MM-DD date: " + opts.trading_date);
    }
    handler_config.trading_date = *date;
    handler_config.utc_offset_s = opts.utc_offset_s;
    if (!opts.exchange_timezone.empty()) {
      handler_config.utc_offset_s = zoned(opts.exchange_timezone, [&](const std::string& zone) {
        return runtime::utcOffsetOn(zone, *date);
      });
    }
    logging::info("trading day", {{"date", opts.trading_date},
                                  {"utc_offset_s", static_cast<long long>(handler_config.utc_offset_s)},
                                  {"exchange_timezone", opts.exchange_timezone}});
    if (opts.capture_in.empty()) {
      auto [host, port] = observability::parseHostPort(opts.soup_connect);
      if (port == 0) {
        throw std::invalid_argument("--soup-connect: needs a port: " + opts.soup_connect);
      }
      soup_config.host = host;
      soup_config.port = port;
      soup_config.sequence = opts.start_sequence;
      handler_config.session = soup_config.session;
      handler_config.first_sequence = opts.start_sequence;
    } else {
      handler_config.session = std::filesystem::path(opts.capture_in).filename().string();
    }
    handler_config.validate();
  } catch (const std::invalid_argument& e) {
    logging::error("bad flag", {{"error", e.what()}});
    return 2;
  }

  try {
    // Ingestion owns md.raw, so it makes sure it exists with the partition count it fans
    // market-wide messages out to; the other topics are their writers' business.
    kafka::topics::Layout layout;
    layout.md_partitions = opts.md_partitions;
    kafka::Admin(opts.kafka_brokers)
        .ensureTopics({kafka::topics::platformTopic(kafka::topics::kMdRaw, opts.raw_topic, layout)});
    logging::info("topic ready", {{"topic", opts.raw_topic}, {"partitions", opts.md_partitions}});

    auto registry = std::make_shared<prometheus::Registry>();
    auto health = std::make_shared<observability::Health>();
    health->setReady("feed", false, opts.capture_in.empty() ? "not logged in" : "not started");
    FeedMetrics metrics(*registry);
    auto endpoint = observability::startHttpEndpoint(opts.metrics_listen, registry, health);

    kafka::ProducerConfig producer_config;
    producer_config.brokers = opts.kafka_brokers;
    producer_config.client_id = "ingestion";
    producer_config.idempotent = true; // a retried batch must not duplicate or reorder md.raw
    producer_config.linger_ms = opts.kafka_linger_ms;
    producer_config.compression = opts.kafka_compression;
    producer_config.flush_timeout = std::chrono::milliseconds(opts.flush_timeout_ms);
    // A record that fails must fail every later one of its partition too: a later record that
    // got through would make the next start's resume take the failed one for published.
    producer_config.extra["enable.gapless.guarantee"] = "true";
    kafka::Producer producer(producer_config);
    // Shared with the shutdown callback, which may run after this scope (stop() touches only the
    // publisher's own flag, never the producer).
    const auto publisher_ptr = std::make_shared<ingestion::KafkaPublisher>(
        producer, ingestion::KafkaPublisherConfig{opts.raw_topic, opts.md_partitions});
    ingestion::KafkaPublisher& publisher = *publisher_ptr;
    if (opts.resume) {
      auto through = ingestion::publishedThrough(opts.kafka_brokers, opts.raw_topic, opts.md_partitions,
                                                 handler_config.session, handler_config.trading_date,
                                                 handler_config.utc_offset_s, std::chrono::seconds(60));
      const uint64_t lowest = *std::min_element(through.begin(), through.end());
      const uint64_t highest = *std::max_element(through.begin(), through.end());
      if (highest > 0) {
        logging::info("resuming after what md.raw holds",
                      {{"session", handler_config.session},
                       {"lowest_partition_sequence", static_cast<unsigned long long>(lowest)},
                       {"highest_partition_sequence", static_cast<unsigned long long>(highest)}});
      }
      // The session is still asked for from --start-sequence, not from where md.raw ends: the
      // locate -> symbol table comes from the Stock Directory messages at its start. What md.raw
      // holds is decoded again but not sent (Held).
      publisher.resumeAfter(std::move(through));
    }
    ingestion::FeedHandler handler(handler_config, publisher);
    // A SIGTERM ends a wait for room in the producer's queue at once (the feed thread holds the
    // handler's lock meanwhile, so the main loop could not get to it).
    shutdown.onRequest([publisher_ptr] { publisher_ptr->stop(); });

    int status = 0;
    if (!opts.capture_in.empty()) {
      status = runReplay(opts, handler, producer, metrics, *health);
    } else {
      logging::info("connecting to the venue", {{"soup", opts.soup_connect},
                                                {"session", soup_config.session},
                                                {"topic", opts.raw_topic}});
      status = runLive(shutdown, opts, std::move(soup_config), handler, publisher, producer, metrics,
                       *health);
    }
    if (endpoint) {
      endpoint->stop();
    }
    logging::info("ingestion exiting", {{"status", status}});
    return status;
  } catch (const std::exception& e) {
    logging::error("ingestion failed", {{"error", e.what()}});
    return 1;
  }
}
