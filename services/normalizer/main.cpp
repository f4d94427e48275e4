// normalizer: md.raw (RawFeedMessage, ITCH bytes) in; per-symbol MarketDataUpdates on md.ticks
// and SymbolSnapshots on the compacted md.snapshot out, keyed by symbol (docs/normalizer.md).
//   normalizer --kafka-brokers 127.0.0.1:9092 --trading-date 2024-01-02
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <map>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>

#include "kafka_tick_sink.h"
#include "normalizer.h"
#include "tickstream/itch/codec.h"
#include "tickstream/kafka/admin.h"
#include "tickstream/kafka/consumer.h"
#include "tickstream/kafka/producer.h"
#include "tickstream/kafka/topics.h"
#include "tickstream/marketdata/v1/raw.pb.h"
#include "tickstream/observability/counters.h"
#include "tickstream/observability/health.h"
#include "tickstream/observability/http_endpoint.h"
#include "tickstream/runtime/clock.h"
#include "tickstream/runtime/flags.h"
#include "tickstream/runtime/logging.h"
#include "tickstream/runtime/shutdown.h"

using namespace tickstream;
using namespace std::chrono_literals;

namespace {

struct Options {
  std::string kafka_brokers = "127.0.0.1:9092";          // Kafka bootstrap servers
  std::string raw_topic = kafka::topics::kMdRaw;          // RawFeedMessages in
  std::string ticks_topic = kafka::topics::kMdTicks;      // MarketDataUpdates out
  std::string snapshot_topic = kafka::topics::kMdSnapshot; // SymbolSnapshots out (compacted)
  int32_t md_partitions = kafka::topics::Layout{}.md_partitions; // of md.ticks and md.snapshot
  std::string group_id = "normalizer";                    // consumer group on the raw topic
  uint32_t max_updates_per_second = 20;                   // per-symbol rate cap
  std::string metrics_listen = "127.0.0.1:0";             // /metrics, /healthz, /readyz
  std::string trading_date;                               // YYYY-MM-DD in snapshots; "" = today
  int commit_interval_ms = 1000;                          // flush the producer, then commit
  int flush_timeout_ms = 30'000;                          // how long a flush may take
};

constexpr std::array<const char*, 4> kResultNames = {"ok", "ignored", "unknown_symbol",
                                                     "book_rejected"};

// What the loop counts, as plain integers on the consuming thread.
struct LoopCounters {
  uint64_t records = 0;   // md.raw records consumed
  uint64_t malformed = 0; // not a RawFeedMessage, or ITCH bytes that did not decode
  std::array<uint64_t, kResultNames.size()> results{};
};

// Counters and the normalizer's stats as Prometheus counters, refreshed from the loop: update()
// adds what grew since the last call.
class Metrics {
public:
  explicit Metrics(prometheus::Registry& r)
      : records_(observability::registerCounter(r, "normalizer_messages_total", "md.raw records consumed")),
        malformed_(observability::registerCounter(r, "normalizer_malformed_total",
                           "records that were not a RawFeedMessage or valid ITCH (skipped)")),
        updates_(observability::registerCounter(r, "normalizer_updates_total", "MarketDataUpdates emitted")),
        snapshots_(observability::registerCounter(r, "normalizer_snapshots_total", "SymbolSnapshots emitted")),
        conflated_(observability::registerCounter(r, "normalizer_conflated_total",
                           "changes merged into a later update by the rate cap")),
        produce_failed_(observability::registerCounter(r, "normalizer_produce_failed_total",
                                "records the producer refused (lost)")),
        delivered_(observability::registerCounter(r, "normalizer_kafka_delivered_total", "records Kafka acknowledged")),
        delivery_failed_(observability::registerCounter(r, "normalizer_kafka_delivery_failed_total",
                                 "records Kafka failed to take after retrying")),
        commits_(observability::registerCounter(r, "normalizer_commits_total", "offset commits")) {
    auto& applied = prometheus::BuildCounter()
                        .Name("normalizer_apply_total")
                        .Help("messages handed to the normalizer, by ApplyResult")
                        .Register(r);
    for (std::size_t i = 0; i < kResultNames.size(); ++i) {
      results_[i] = &applied.Add({{"result", kResultNames[i]}});
    }
  }

  void update(const LoopCounters& c, const normalizer::NormalizerStats& s, uint64_t produce_failed,
              const kafka::Producer& producer, uint64_t commits) {
    observability::advance(records_, c.records, last_.records);
    observability::advance(malformed_, c.malformed, last_.malformed);
    for (std::size_t i = 0; i < kResultNames.size(); ++i) {
      observability::advance(*results_[i], c.results[i], last_.results[i]);
    }
    observability::advance(updates_, s.updates, last_updates_);
    observability::advance(snapshots_, s.snapshots, last_snapshots_);
    observability::advance(conflated_, s.conflated, last_conflated_);
    observability::advance(produce_failed_, produce_failed, last_produce_failed_);
    observability::advance(delivered_, producer.delivered(), last_delivered_);
    observability::advance(delivery_failed_, producer.failed(), last_delivery_failed_);
    observability::advance(commits_, commits, last_commits_);
  }

private:

  prometheus::Counter& records_;
  prometheus::Counter& malformed_;
  prometheus::Counter& updates_;
  prometheus::Counter& snapshots_;
  prometheus::Counter& conflated_;
  prometheus::Counter& produce_failed_;
  prometheus::Counter& delivered_;
  prometheus::Counter& delivery_failed_;
  prometheus::Counter& commits_;
  std::array<prometheus::Counter*, kResultNames.size()> results_{};
  LoopCounters last_;
  uint64_t last_updates_ = 0;
  uint64_t last_snapshots_ = 0;
  uint64_t last_conflated_ = 0;
  uint64_t last_produce_failed_ = 0;
  uint64_t last_delivered_ = 0;
  uint64_t last_delivery_failed_ = 0;
  uint64_t last_commits_ = 0;
};

// Reads the compacted snapshot topic from the beginning to the high watermarks it had at start
// and continues every symbol's seq after its last snapshot, so a restarted normalizer never
// numbers an update at or below one already on md.ticks. Returns the snapshots restored.
uint64_t restoreFromSnapshots(const Options& opts, int32_t partitions,
                              normalizer::Normalizer& normalizer) {
  kafka::ConsumerConfig cc;
  cc.brokers = opts.kafka_brokers;
  cc.group_id = opts.group_id + ".restore"; // assign() only: never commits
  cc.client_id = "normalizer-restore";
  kafka::Consumer consumer(cc);
  std::map<int32_t, int64_t> end; // partition -> high watermark still to reach
  std::vector<kafka::TopicPartitionOffset> assignment;
  for (int32_t p = 0; p < partitions; ++p) {
    const auto [low, high] = consumer.watermarks(opts.snapshot_topic, p, 10s);
    if (high > low) {
      end[p] = high;
      assignment.push_back({opts.snapshot_topic, p, RdKafka::Topic::OFFSET_BEGINNING});
    }
  }
  if (assignment.empty()) {
    return 0;
  }
  consumer.assign(assignment);
  marketdata::v1::SymbolSnapshot snapshot;
  uint64_t restored = 0;
  const auto deadline = std::chrono::steady_clock::now() + 120s;
  while (!end.empty()) {
    if (std::chrono::steady_clock::now() > deadline) {
      throw std::runtime_error("restoring from " + opts.snapshot_topic +
                               ": did not reach the high watermarks in 120 s");
    }
    auto m = consumer.poll(500ms);
    if (!m) {
      continue;
    }
    if (!m->ok()) {
      throw std::runtime_error("restoring from " + opts.snapshot_topic + ": " +
                               m->errorString());
    }
    if (snapshot.ParseFromArray(m->payload().data(), static_cast<int>(m->payload().size()))) {
      normalizer.restore(snapshot);
      ++restored;
    } else {
      logging::warn("unparseable snapshot skipped",
                    {{"partition", m->partition()}, {"offset", static_cast<long long>(m->offset())}});
    }
    // Compaction leaves holes in the offsets: done once the last offset before the mark is read.
    if (auto it = end.find(m->partition()); it != end.end() && m->offset() + 1 >= it->second) {
      end.erase(it);
    }
  }
  consumer.close();
  return restored;
}

// Waits for Kafka to acknowledge everything produced so far; only then may the md.raw records
// that produced it be committed.
bool flushProducer(kafka::Producer& producer, std::chrono::milliseconds timeout) {
  if (!producer.flush(timeout)) {
    logging::error("kafka flush timed out", {{"outstanding", producer.outstanding()}});
    return false;
  }
  if (producer.failed() > 0 || !producer.fatalError().empty()) {
    logging::error("kafka lost records",
                   {{"failed", static_cast<unsigned long long>(producer.failed())},
                    {"fatal", producer.fatalError()}});
    return false;
  }
  return true;
}

class Service {
public:
  Service(const Options& opts, kafka::Consumer& consumer, kafka::Producer& producer,
          normalizer::KafkaTickSink& sink, normalizer::Normalizer& normalizer, Metrics& metrics)
      : opts_(opts), consumer_(consumer), producer_(producer), sink_(sink),
        normalizer_(normalizer), metrics_(metrics) {}

  // Consumes until shutdown; returns the exit status.
  int run(runtime::ShutdownSignal& shutdown) {
    const auto interval = std::chrono::milliseconds(opts_.commit_interval_ms);
    auto next_commit = std::chrono::steady_clock::now() + interval;
    bool ok = true;
    while (!shutdown.requested() && ok) {
      if (auto m = consumer_.poll(5ms)) {
        if (m->ok()) {
          apply(*m);
        } else {
          logging::error("kafka consumer error", {{"error", m->errorString()}});
        }
      }
      // Every poll: releases conflated symbols whose interval has passed.
      normalizer_.tick(runtime::wallClockNs());
      if (std::chrono::steady_clock::now() >= next_commit) {
        ok = commit();
        refresh();
        next_commit = std::chrono::steady_clock::now() + interval;
      }
    }
    // Shutdown: everything conflated goes out now, then is delivered, then committed.
    normalizer_.flushAll(runtime::wallClockNs());
    ok = commit() && ok;
    refresh();
    logging::info("normalizer stopped",
                  {{"records", static_cast<unsigned long long>(counters_.records)},
                   {"updates", static_cast<unsigned long long>(normalizer_.stats().updates)},
                   {"conflated", static_cast<unsigned long long>(normalizer_.stats().conflated)},
                   {"malformed", static_cast<unsigned long long>(counters_.malformed)},
                   {"kafka_delivered", static_cast<unsigned long long>(producer_.delivered())},
                   {"kafka_failed", static_cast<unsigned long long>(producer_.failed())}});
    return ok ? 0 : 1;
  }

private:
  void apply(const kafka::Message& m) {
    ++counters_.records;
    positions_[m.partition()] = m.offset() + 1;
    dirty_ = true;
    const std::string_view payload = m.payload();
    if (!raw_.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
      malformed(m, "not a RawFeedMessage");
      return;
    }
    const std::string& bytes = raw_.payload();
    const itch::DecodeStatus st = itch::decode(
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()),
        message_);
    if (st != itch::DecodeStatus::Ok) {
      malformed(m, itch::toString(st));
      return;
    }
    const normalizer::ApplyResult r = normalizer_.onMessage(
        message_, raw_.exchange_ts_ns(), raw_.receive_ts_ns(), runtime::wallClockNs());
    ++counters_.results[static_cast<std::size_t>(r)];
  }

  void malformed(const kafka::Message& m, std::string_view why) {
    if (counters_.malformed < 10 || counters_.malformed % 10'000 == 0) {
      logging::warn("malformed md.raw record skipped",
                    {{"partition", m.partition()},
                     {"offset", static_cast<long long>(m.offset())},
                     {"error", why}});
    }
    ++counters_.malformed;
  }

  // md.raw offsets are committed only after what those records produced is on the broker: a
  // crash then replays (and re-emits, with new seqs) rather than losing updates.
  bool commit() {
    if (!flushProducer(producer_, std::chrono::milliseconds(opts_.flush_timeout_ms))) {
      return false;
    }
    if (!dirty_) {
      return true;
    }
    std::vector<kafka::TopicPartitionOffset> positions;
    positions.reserve(positions_.size());
    for (const auto& [partition, offset] : positions_) {
      positions.push_back({opts_.raw_topic, partition, offset});
    }
    try {
      consumer_.commit(positions);
    } catch (const std::exception& e) {
      // Not fatal: the next commit covers these offsets too.
      logging::warn("offset commit failed", {{"error", e.what()}});
      return true;
    }
    dirty_ = false;
    ++commits_;
    return true;
  }

  void refresh() {
    metrics_.update(counters_, normalizer_.stats(), sink_.produceFailed(), producer_, commits_);
  }

  const Options& opts_;
  kafka::Consumer& consumer_;
  kafka::Producer& producer_;
  normalizer::KafkaTickSink& sink_;
  normalizer::Normalizer& normalizer_;
  Metrics& metrics_;
  marketdata::v1::RawFeedMessage raw_;  // reused for every record
  itch::Message message_;
  LoopCounters counters_;
  std::map<int32_t, int64_t> positions_;  // md.raw partition -> next offset to read
  bool dirty_ = false;                    // positions_ moved since the last commit
  uint64_t commits_ = 0;
};

} // namespace

int main(int argc, char** argv) {
  runtime::ShutdownSignal shutdown; // first: every later thread inherits the blocked signals

  Options opts;
  runtime::Flags flags("normalizer", "md.raw in; md.ticks and md.snapshot out, keyed by symbol");
  flags.add("--kafka-brokers", opts.kafka_brokers, "Kafka bootstrap servers (host:port,...)");
  flags.add("--raw-topic", opts.raw_topic, "topic RawFeedMessages are read from");
  flags.add("--ticks-topic", opts.ticks_topic, "topic MarketDataUpdates go to");
  flags.add("--snapshot-topic", opts.snapshot_topic, "compacted topic SymbolSnapshots go to");
  flags.add("--md-partitions", opts.md_partitions,
            "partitions of the ticks and snapshot topics (the raw topic's count)")
      ->check(CLI::Range(1, 10'000));
  flags.add("--group-id", opts.group_id, "consumer group on the raw topic");
  flags.add("--max-updates-per-second", opts.max_updates_per_second,
            "per-symbol update rate cap (conflation above it)")
      ->check(CLI::Range(1U, 1'000'000'000U));
  flags.add("--metrics-listen", opts.metrics_listen,
            "HOST:PORT for /metrics, /healthz, /readyz (port 0 = any; empty = off)");
  flags.add("--trading-date", opts.trading_date, "trading day YYYY-MM-DD (default: today, UTC)");
  flags.add("--commit-interval-ms", opts.commit_interval_ms,
            "how often to flush the producer and commit md.raw offsets")
      ->check(CLI::Range(10, 600'000));
  flags.add("--flush-timeout-ms", opts.flush_timeout_ms,
            "how long a flush (before a commit or at shutdown) waits for Kafka")
      ->check(CLI::Range(0, 600'000));
  if (auto code = flags.parse(argc, argv)) {
    return *code;
  }
  if (opts.trading_date.empty()) {
    opts.trading_date = runtime::todayUtc();
  }

  normalizer::NormalizerConfig config;
  config.max_updates_per_second = opts.max_updates_per_second;
  config.trading_day = opts.trading_date;
  try {
    config.validate();
  } catch (const std::invalid_argument& e) {
    logging::error("bad flag", {{"error", e.what()}});
    return 2;
  }

  try {
    // The normalizer writes md.ticks and md.snapshot, so it ensures them (with their platform
    // specs: md.snapshot compacted) under the names it was given.
    kafka::topics::Layout layout;
    layout.md_partitions = opts.md_partitions;
    // ensureTopics refuses a topic that exists with another partition count: that would put a
    // symbol's ticks on another partition than its md.raw records.
    kafka::Admin(opts.kafka_brokers)
        .ensureTopics({kafka::topics::platformTopic(kafka::topics::kMdTicks, opts.ticks_topic, layout),
                       kafka::topics::platformTopic(kafka::topics::kMdSnapshot, opts.snapshot_topic, layout)});
    logging::info("topics ready", {{"ticks", opts.ticks_topic},
                                   {"snapshot", opts.snapshot_topic},
                                   {"partitions", opts.md_partitions}});

    auto registry = std::make_shared<prometheus::Registry>();
    auto health = std::make_shared<observability::Health>();
    health->setReady("consumer", false, "restoring from " + opts.snapshot_topic);
    Metrics metrics(*registry);
    auto endpoint = observability::startHttpEndpoint(opts.metrics_listen, registry, health);

    kafka::ProducerConfig producer_config;
    producer_config.brokers = opts.kafka_brokers;
    producer_config.client_id = "normalizer";
    producer_config.idempotent = true; // a retry must not duplicate or reorder a symbol's seqs
    producer_config.linger_ms = 5;
    producer_config.flush_timeout = std::chrono::milliseconds(opts.flush_timeout_ms);
    kafka::Producer producer(producer_config);
    normalizer::KafkaTickSink sink({opts.ticks_topic, opts.snapshot_topic}, producer);
    normalizer::Normalizer normalizer(config, sink);

    const uint64_t restored = restoreFromSnapshots(opts, opts.md_partitions, normalizer);
    logging::info("seq restored", {{"topic", opts.snapshot_topic},
                                   {"snapshots", static_cast<unsigned long long>(restored)}});

    // A consumer group: resumes from the committed offsets (earliest on a first start). Books
    // are rebuilt only when md.raw is replayed from the start of the day (docs/normalizer.md).
    kafka::ConsumerConfig cc;
    cc.brokers = opts.kafka_brokers;
    cc.group_id = opts.group_id;
    cc.client_id = "normalizer";
    cc.auto_offset_reset = "earliest";
    kafka::Consumer consumer(cc);
    consumer.subscribe({opts.raw_topic});
    health->setReady("consumer", true);
    logging::info("consuming", {{"topic", opts.raw_topic}, {"group", opts.group_id}});

    Service service(opts, consumer, producer, sink, normalizer, metrics);
    const int status = service.run(shutdown);
    consumer.close();
    if (endpoint) {
      endpoint->stop();
    }
    logging::info("normalizer exiting", {{"status", status}});
    return status;
  } catch (const std::exception& e) {
    logging::error("normalizer failed", {{"error", e.what()}});
    return 1;
  }
}
