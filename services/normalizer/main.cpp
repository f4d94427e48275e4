// normalizer: md.raw (RawFeedMessage, ITCH bytes) in; per-symbol MarketDataUpdates on md.ticks
// and SymbolSnapshots on the compacted md.snapshot out, keyed by symbol (docs/normalizer.md).
//   normalizer --kafka-brokers 127.0.0.1:9092 --trading-date 2024-01-02
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <map>
#include <set>
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
#include "raw_dedupe.h"
#include "normalizer.h"
#include "tickstream/itch/codec.h"
#include "tickstream/kafka/admin.h"
#include "tickstream/kafka/consumer.h"
#include "tickstream/kafka/producer.h"
#include "tickstream/kafka/read_to_end.h"
#include "tickstream/kafka/topics.h"
#include "tickstream/marketdata/v1/raw.pb.h"
#include "tickstream/observability/counters.h"
#include "tickstream/observability/health.h"
#include "tickstream/observability/http_endpoint.h"
#include "tickstream/runtime/clock.h"
#include "tickstream/runtime/exchange_zone.h"
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
  size_t broken_trade_memory = size_t{1} << 16;           // executions a Broken Trade can undo, per md.raw partition
  std::string metrics_listen = "127.0.0.1:0";             // /metrics, /healthz, /readyz
  std::string trading_date;                               // YYYY-MM-DD in snapshots; "" = today
  std::string exchange_timezone;                          // IANA zone whose date "today" is; "" = UTC
  int commit_interval_ms = 1000;                          // commit md.raw positions once acknowledged
  int flush_timeout_ms = 30'000;                          // how long a flush or a commit's acks may take
  int kafka_linger_ms = 0;  // producer batching delay: 0 = send at once (docs/benchmarks.md, "Producer linger")
  std::string kafka_compression = "lz4";                // producer codec: CPU on both ends vs. bytes on the wire
  int fetch_min_bytes = 1;      // md.raw fetches: the broker answers once this much is there...
  int fetch_wait_max_ms = 5;    // ...or this long has passed
  int delivery_timeout_ms = 30'000;                       // producer retries a record this long
  int snapshot_interval_ms = 1000;                        // least time between a symbol's snapshots
};

// Added to the delivery timeout when a restart looks back in md.ticks: covers clock steps
// between the normalizer's record timestamps.
constexpr int64_t kTailMarginMs = 5'000;

// Records applied back to back before the loop's housekeeping (tick, snapshot release, commit):
// at 1.3-7.5 us of CPU a record (rate cap on / off, measured), a batch is 0.1-0.5 ms of work,
// so a conflated symbol's slot is met at most that much later.
constexpr int kMaxBatch = 64;

// Indexed by normalizer::ApplyResult.
constexpr std::array<const char*, 5> kResultNames = {"ok", "ignored", "unknown_symbol",
                                                     "book_rejected", "unknown_trade"};

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
        duplicates_(observability::registerCounter(r, "normalizer_raw_duplicates_total",
                            "md.raw records repeating a (session, sequence) already applied (skipped)")),
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

  void update(const LoopCounters& c, uint64_t duplicates, const normalizer::NormalizerStats& s,
              uint64_t produce_failed, const kafka::Producer& producer, uint64_t commits) {
    observability::advance(records_, c.records, last_.records);
    observability::advance(malformed_, c.malformed, last_.malformed);
    observability::advance(duplicates_, duplicates, last_duplicates_);
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
  prometheus::Counter& duplicates_;
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
  uint64_t last_duplicates_ = 0;
};

struct RestoreStats {
  uint64_t snapshots = 0;  // md.snapshot records read
  uint64_t ticks = 0;      // md.ticks records read from the tails
  uint64_t ahead = 0;      // restore points beyond what the normalizer already had
};

// Finds, for every symbol of these partitions, where its published output ends (docs/normalizer.md,
// "Restart"): its latest snapshot, then any later update in md.ticks whose snapshot never made
// it (a snapshot is produced only once its update is acknowledged, so such updates are at most
// the producer's delivery timeout older than the partition's last snapshot).
RestoreStats restorePartitions(const Options& opts, const std::vector<int32_t>& partitions,
                               normalizer::Normalizer& normalizer) {
  kafka::ConsumerConfig cc;
  cc.brokers = opts.kafka_brokers;
  cc.group_id = opts.group_id + ".restore"; // assign() only: never commits
  cc.client_id = "normalizer-restore";
  kafka::Consumer reader(cc);
  RestoreStats stats;

  std::map<int32_t, int64_t> from;
  for (const int32_t p : partitions) {
    from[p] = RdKafka::Topic::OFFSET_BEGINNING;
  }
  std::map<int32_t, int64_t> last_snapshot_ms;
  marketdata::v1::SymbolSnapshot snapshot;
  kafka::readToEnd(reader, opts.snapshot_topic, from, [&](const kafka::Message& m) {
    if (!snapshot.ParseFromArray(m.payload().data(), static_cast<int>(m.payload().size()))) {
      logging::warn("unparseable snapshot skipped",
                    {{"partition", m.partition()}, {"offset", static_cast<long long>(m.offset())}});
      return;
    }
    stats.ahead += normalizer.restore(snapshot) ? 1 : 0;
    ++stats.snapshots;
    int64_t& last = last_snapshot_ms[m.partition()];
    last = std::max(last, m.timestampMs());
  });

  // Two delivery timeouts: an update whose snapshot never arrived was produced at most that long
  // before the partition's last delivered snapshot (docs/normalizer.md, "Why the tail window").
  // A snapshot may also have waited one snapshot interval after its update was acknowledged.
  const int64_t window_ms =
      2 * int64_t{opts.delivery_timeout_ms} + opts.snapshot_interval_ms + kTailMarginMs;
  std::map<int32_t, int64_t> tails;
  for (const int32_t p : partitions) {
    auto it = last_snapshot_ms.find(p);
    tails[p] = it == last_snapshot_ms.end()
                   ? RdKafka::Topic::OFFSET_BEGINNING // no snapshot yet: every update counts
                   : reader.offsetForTime(opts.ticks_topic, p, it->second - window_ms, 10s);
  }
  marketdata::v1::MarketDataUpdate update;
  kafka::readToEnd(reader, opts.ticks_topic, tails, [&](const kafka::Message& m) {
    if (!update.ParseFromArray(m.payload().data(), static_cast<int>(m.payload().size()))) {
      logging::warn("unparseable update skipped",
                    {{"partition", m.partition()}, {"offset", static_cast<long long>(m.offset())}});
      return;
    }
    stats.ahead += normalizer.restore(update) ? 1 : 0;
    ++stats.ticks;
  });
  reader.close();
  return stats;
}

// Waits for Kafka to acknowledge everything produced so far (snapshots included: each is
// produced before its update's report completes).

std::string partitionList(const std::vector<int32_t>& partitions) {
  std::string out;
  for (const int32_t p : partitions) {
    out += (out.empty() ? "" : ",") + std::to_string(p);
  }
  return out;
}

// The consuming loop, and the owner of which md.raw partitions this instance processes. Every
// partition it is given is replayed from its first record: the books, stats and Stock Directory
// are a function of the day's md.raw, and records already published are applied without output
// (restorePartitions says where each symbol's output ended). Committed offsets only report
// progress (consumer lag); they are never where recovery starts.
class Service final : public kafka::RebalanceListener {
public:
  Service(const Options& opts, kafka::Producer& producer, normalizer::KafkaTickSink& sink,
          normalizer::Normalizer& normalizer, Metrics& metrics, observability::Health& health)
      : opts_(opts), producer_(producer), sink_(sink), normalizer_(normalizer),
        metrics_(metrics), health_(health), consumer_(consumerConfig(opts), this) {}

  // Consumes until shutdown; returns the exit status.
  int run(runtime::ShutdownSignal& shutdown) {
    consumer_.subscribe({opts_.raw_topic});
    logging::info("consuming", {{"topic", opts_.raw_topic}, {"group", opts_.group_id}});
    const auto interval = std::chrono::milliseconds(opts_.commit_interval_ms);
    loop_seen_ = std::chrono::steady_clock::now();  // start-up before this is not a stall
    auto next_commit = std::chrono::steady_clock::now() + interval;
    auto next_tick = std::chrono::steady_clock::now();
    bool ok = true;
    while (!shutdown.requested() && ok) {
      // One poll that may wait, then the records already fetched without waiting, before the
      // housekeeping below: its clock reads once per record were, with the poll's own, the
      // largest single item of this thread's profile at the rate cap (perf: clock_gettime 13 %
      // of the process at 150k records/s). Bounded, so that tick() still runs about every ms.
      for (int n = 0; n < kMaxBatch; ++n) {
        auto m = consumer_.poll(n == 0 ? 5ms : 0ms);
        if (n == 0) {
          stallGuard(std::chrono::steady_clock::now());  // after the one poll that may wait
        }
        if (!m) {
          break;
        }
        if (m->ok()) {
          apply(*m);
        } else {
          logging::error("kafka consumer error", {{"error", m->errorString()}});
        }
      }
      // Releases conflated symbols whose interval has passed. tick() walks every waiting
      // symbol, so once per millisecond rather than once per record (that was O(symbols) per
      // record at the rate cap).
      const auto now = std::chrono::steady_clock::now();
      stallGuard(now);  // before tick() publishes what the rate cap held
      if (now >= next_tick) {
        normalizer_.tick(runtime::wallClockNs());
        sink_.releaseDue();
        next_tick = now + 1ms;
      }
      if (now >= next_commit) {
        ok = startProgressCommit(now);
        refresh();
        next_commit = now + interval;
      }
      if (ok && pending_commit_) {
        ok = finishProgressCommit(now);
      }
    }
    // Shutdown: everything conflated goes out now, then is delivered, then committed.
    normalizer_.flushAll(runtime::wallClockNs());
    ok = commitFinal(owned_) && ok;
    refresh();
    consumer_.close();
    logging::info("normalizer stopped",
                  {{"records", static_cast<unsigned long long>(counters_.records)},
                   {"updates", static_cast<unsigned long long>(normalizer_.stats().updates)},
                   {"absorbed", static_cast<unsigned long long>(normalizer_.stats().absorbed)},
                   {"conflated", static_cast<unsigned long long>(normalizer_.stats().conflated)},
                   {"malformed", static_cast<unsigned long long>(counters_.malformed)},
                   {"kafka_delivered", static_cast<unsigned long long>(producer_.delivered())},
                   {"kafka_failed", static_cast<unsigned long long>(producer_.failed())}});
    return ok ? 0 : 1;
  }

  void onAssigned(std::vector<kafka::TopicPartitionOffset>& partitions) override {
    std::vector<int32_t> fresh;
    std::vector<int32_t> regained;
    for (const auto& tp : partitions) {
      (positions_.contains(tp.partition) ? regained : fresh).push_back(tp.partition);
    }
    health_.setReady("consumer", false, "restoring partitions " + partitionList(fresh));
    const auto started = std::chrono::steady_clock::now();
    const RestoreStats restored = restorePartitions(opts_, fresh, normalizer_);
    if (!regained.empty()) {
      // Owned before, then lost: if another instance published for these partitions meanwhile,
      // this instance's books for them are stale. Crash-only: exit, and the restart rebuilds.
      const RestoreStats again = restorePartitions(opts_, regained, normalizer_);
      if (again.ahead > 0) {
        throw std::runtime_error("partitions " + partitionList(regained) +
                                 " were processed by another instance meanwhile: exiting so a "
                                 "restart rebuilds their books");
      }
    }
    for (auto& tp : partitions) {
      auto it = positions_.find(tp.partition);
      tp.offset = it == positions_.end() ? RdKafka::Topic::OFFSET_BEGINNING : it->second;
      owned_.insert(tp.partition);
    }
    logging::info("partitions assigned",
                  {{"replayed_from_start", partitionList(fresh)},
                   {"resumed", partitionList(regained)},
                   {"snapshots", static_cast<unsigned long long>(restored.snapshots)},
                   {"tail_updates", static_cast<unsigned long long>(restored.ticks)},
                   {"restore_ms", static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                      std::chrono::steady_clock::now() - started).count())}});
    health_.setReady("consumer", true);
    loop_seen_ = std::chrono::steady_clock::now();
  }

  // The group's session expired. If this process was frozen meanwhile, another member may own
  // our partitions by now, and publishing anything (a held update, the flush of a revocation)
  // could repeat its seqs: crash-only, no flush, no output, exit. If the loop kept running, the
  // coordinator was out of reach (a broker restart): nobody else could join it either, so the
  // partitions are flushed and given up as in a revocation, and the regain check in
  // onAssigned() decides whether they can be resumed.
  void onLost(const std::vector<kafka::TopicPartitionOffset>& partitions) override {
    if (stalled(std::chrono::steady_clock::now())) {
      logging::error("partitions lost after the loop stalled: exiting without publishing",
                     {{"count", static_cast<long long>(partitions.size())}});
      std::_Exit(1);
    }
    logging::warn("partitions lost while running (the group coordinator was out of reach): "
                  "given up as in a revocation",
                  {{"count", static_cast<long long>(partitions.size())}});
    onRevoked(partitions);
  }

  bool stalled(std::chrono::steady_clock::time_point now) const {
    return now - loop_seen_ > std::chrono::milliseconds(kafka::ConsumerConfig{}.session_timeout_ms / 2);
  }

  // A process that did not run for about a session timeout (frozen by SIGSTOP, a paused VM, a
  // debugger) may have lost its partitions to another member whether or not librdkafka has said
  // so yet: exit before tick() or the next records publish anything. Half the timeout, because
  // the group counts from the last heartbeat, which may be seconds before the freeze; a false
  // alarm costs a restart, which is safe. Checked twice per loop pass, not per record (clock
  // reads per record were a tenth of this thread's profile): a freeze in the middle of a batch
  // still lets that batch's updates out. Real fencing needs Kafka transactions tied to the
  // group (KIP-447); docs/normalizer.md, "Two instances and a frozen one".
  void stallGuard(std::chrono::steady_clock::time_point now) {
    if (stalled(now)) {
      logging::error("loop stalled for half a session timeout: exiting without publishing", {});
      std::_Exit(1);
    }
    loop_seen_ = now;
  }

  void onRevoked(const std::vector<kafka::TopicPartitionOffset>& partitions) override {
    // The next owner restores from md.snapshot: everything conflated goes out and is
    // acknowledged first.
    normalizer_.flushAll(runtime::wallClockNs());
    std::set<int32_t> revoked;
    for (const auto& tp : partitions) {
      revoked.insert(tp.partition);
      owned_.erase(tp.partition);
    }
    if (!commitFinal(revoked)) {
      // The next owner would restore from snapshots this instance could not deliver.
      throw std::runtime_error("could not flush before giving up partitions");
    }
    logging::info("partitions revoked", {{"count", static_cast<long long>(revoked.size())}});
    loop_seen_ = std::chrono::steady_clock::now();
  }

private:
  static kafka::ConsumerConfig consumerConfig(const Options& opts) {
    kafka::ConsumerConfig cc;
    cc.brokers = opts.kafka_brokers;
    cc.group_id = opts.group_id;
    cc.client_id = "normalizer";
    // By default a fetch returns as soon as there is data; when there is none, the broker holds
    // it at most fetch_wait_max_ms. librdkafka's default wait (500 ms) showed as hundreds of ms
    // of feed latency. A larger fetch_min_bytes trades up to that wait for fewer fetches, each
    // of which costs the broker and this process a request's fixed work.
    cc.extra = {{"fetch.wait.max.ms", std::to_string(opts.fetch_wait_max_ms)},
                {"fetch.min.bytes", std::to_string(opts.fetch_min_bytes)}};
    return cc;
  }

  void apply(const kafka::Message& m) {
    ++counters_.records;
    positions_[m.partition()] = m.offset() + 1;
    dirty_ = true;
    const std::string_view payload = m.payload();
    if (!raw_.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
      malformed(m, "not a RawFeedMessage");
      return;
    }
    const int64_t day = normalizer::RawDedupe::dayOf(raw_.trading_day(), raw_.exchange_ts_ns());
    if (!dedupe_.fresh(m.partition(), day, raw_.session(), raw_.sequence_number())) {
      if (dedupe_.duplicates() <= 10 || dedupe_.duplicates() % 10'000 == 0) {
        logging::warn("md.raw record repeats a message already applied: skipped",
                      {{"partition", m.partition()},
                       {"offset", static_cast<long long>(m.offset())},
                       {"session", raw_.session()},
                       {"sequence", static_cast<unsigned long long>(raw_.sequence_number())}});
      }
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
    const normalizer::ApplyResult r =
        normalizer_.onMessage(message_, raw_.exchange_ts_ns(), raw_.receive_ts_ns(),
                              runtime::wallClockNs(), m.offset() + 1, m.partition());
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

  // The periodic commit, in two halves so that consumption never stops for it: this takes the
  // positions of the owned partitions and opens a new acknowledgement epoch;
  // finishProgressCommit() commits them once everything produced before is acknowledged.
  // False only when Kafka lost or refused records.
  bool startProgressCommit(std::chrono::steady_clock::time_point now) {
    if (!deliveredSoFar()) {
      return false;
    }
    if (pending_commit_ || !dirty_) {
      return true;  // the previous one is still waiting for acknowledgements, or nothing moved
    }
    pending_positions_ = positionsOf(owned_);
    sink_.beginEpoch();
    pending_commit_ = true;
    pending_since_ = now;
    dirty_ = false;
    return true;
  }

  // Commits the pending positions once their epoch is acknowledged. Records not acknowledged
  // within --flush-timeout-ms are treated like a flush that timed out: false (exit 1).
  bool finishProgressCommit(std::chrono::steady_clock::time_point now) {
    if (!sink_.previousEpochAcknowledged()) {
      if (now - pending_since_ > std::chrono::milliseconds(opts_.flush_timeout_ms)) {
        logging::error("kafka did not acknowledge records in time: records may be lost",
                       {{"timeout_ms", opts_.flush_timeout_ms}, {"outstanding", producer_.outstanding()}});
        return false;
      }
      return true;
    }
    pending_commit_ = false;
    if (!deliveredSoFar()) {
      return false;
    }
    // Asynchronous: a synchronous commit stopped consumption for a broker round trip every
    // commit interval, for a position that only reports progress.
    commitPositions(pending_positions_, false);
    return true;
  }

  // Flushes the producer, then commits the positions of `partitions` (progress reporting only).
  // For shutdown and partitions handed over: the snapshots still waiting for their interval go
  // out too, so the next owner's restore starts from md.snapshot alone. False only when Kafka
  // lost or refused records.
  bool commitFinal(const std::set<int32_t>& partitions) {
    const auto timeout = std::chrono::milliseconds(opts_.flush_timeout_ms);
    if (!producer_.flushAndVerify(timeout)) {
      return false;
    }
    if (sink_.releaseDue(true) > 0 && !producer_.flushAndVerify(timeout)) {
      return false;
    }
    if (!deliveredSoFar()) {
      return false;
    }
    // Everything is acknowledged now, so a pending periodic commit is superseded: these
    // partitions' latest positions go now, and the partitions still owned (after a revocation)
    // with the next periodic commit.
    pending_commit_ = false;
    commitPositions(positionsOf(partitions), true);
    dirty_ = true;
    return true;
  }

  // False, and says why, when Kafka failed or refused a record so far (without waiting).
  bool deliveredSoFar() {
    if (producer_.failed() > 0 || !producer_.fatalError().empty()) {
      logging::error("kafka records not delivered",
                     {{"failed", static_cast<unsigned long long>(producer_.failed())},
                      {"fatal", producer_.fatalError()}});
      return false;
    }
    if (sink_.produceFailed() > 0) {
      // A refused update or snapshot: md.snapshot may now lag md.ticks by more than a restart
      // looks back. Crash-only: exit, and the restart rebuilds from md.raw.
      logging::error("kafka refused records", {{"refused", static_cast<unsigned long long>(sink_.produceFailed())}});
      return false;
    }
    return true;
  }

  std::vector<kafka::TopicPartitionOffset> positionsOf(const std::set<int32_t>& partitions) const {
    std::vector<kafka::TopicPartitionOffset> positions;
    for (const int32_t p : partitions) {
      if (auto it = positions_.find(p); it != positions_.end()) {
        positions.push_back({opts_.raw_topic, p, it->second});
      }
    }
    return positions;
  }

  // `wait`: synchronously (shutdown, hand-over), otherwise in the background.
  void commitPositions(const std::vector<kafka::TopicPartitionOffset>& positions, bool wait) {
    if (positions.empty()) {
      return;
    }
    try {
      if (wait) {
        consumer_.commit(positions);
      } else {
        consumer_.commitAsync(positions);
      }
    } catch (const std::exception& e) {
      // Not fatal: the next commit covers these offsets too.
      logging::warn("offset commit failed", {{"error", e.what()}});
      dirty_ = true;
      return;
    }
    ++commits_;
  }

  void refresh() {
    metrics_.update(counters_, dedupe_.duplicates(), normalizer_.stats(), sink_.produceFailed(), producer_,
                    commits_);
  }

  const Options& opts_;
  kafka::Producer& producer_;
  normalizer::KafkaTickSink& sink_;
  normalizer::Normalizer& normalizer_;
  Metrics& metrics_;
  observability::Health& health_;
  marketdata::v1::RawFeedMessage raw_;  // reused for every record
  normalizer::RawDedupe dedupe_;        // md.raw records that repeat a message are skipped
  itch::Message message_;
  LoopCounters counters_;
  std::map<int32_t, int64_t> positions_;  // md.raw partition -> next offset to read (ever owned)
  std::set<int32_t> owned_;               // md.raw partitions assigned now
  bool dirty_ = false;                    // positions_ moved since the last commit started
  bool pending_commit_ = false;           // pending_positions_ wait for their epoch's acks
  std::vector<kafka::TopicPartitionOffset> pending_positions_;
  std::chrono::steady_clock::time_point pending_since_{};
  uint64_t commits_ = 0;
  std::chrono::steady_clock::time_point loop_seen_ = std::chrono::steady_clock::now();
  kafka::Consumer consumer_;              // last: its rebalance callback uses the members above
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
  flags.add("--broken-trade-memory", opts.broken_trade_memory,
            "latest executions of each md.raw partition remembered so a Broken Trade ('B') can "
            "withdraw them (~60 bytes each, allocated per owned partition)")
      ->check(CLI::Range(size_t{1}, size_t{1} << 28));
  flags.add("--metrics-listen", opts.metrics_listen,
            "HOST:PORT for /metrics, /healthz, /readyz (port 0 = any; empty = off)");
  flags.add("--trading-date", opts.trading_date,
            "trading day YYYY-MM-DD (default: today in --exchange-timezone, or in UTC)");
  flags.add("--exchange-timezone", opts.exchange_timezone,
            "the venue's IANA time zone (America/New_York for NASDAQ): the default trading day is "
            "its date (empty: UTC's)");
  flags.add("--commit-interval-ms", opts.commit_interval_ms,
            "how often to commit md.raw offsets (progress only), each once Kafka has "
            "acknowledged everything produced before it")
      ->check(CLI::Range(10, 600'000));
  flags.add("--delivery-timeout-ms", opts.delivery_timeout_ms,
            "how long the producer retries a record before failing it (also how far back a "
            "restart reads md.ticks)")
      ->check(CLI::Range(1'000, 600'000));
  flags.add("--snapshot-interval-ms", opts.snapshot_interval_ms,
            "least time between two md.snapshot records of a symbol (0 = with every update; "
            "a restart reads this much more of md.ticks)")
      ->check(CLI::Range(0, 60'000));
  flags.add("--kafka-linger-ms", opts.kafka_linger_ms,
            "how long the producer waits to fill a batch (latency vs. throughput)")
      ->check(CLI::Range(0, 1000));
  flags.add("--kafka-fetch-min-bytes", opts.fetch_min_bytes,
            "md.raw fetches: the broker answers once this many bytes are there (1 = at once)...")
      ->check(CLI::Range(1, 100'000'000));
  flags.add("--kafka-fetch-wait-max-ms", opts.fetch_wait_max_ms,
            "...or after this long (latency added at most, when the feed is quiet)")
      ->check(CLI::Range(0, 10'000));
  flags.add("--kafka-compression", opts.kafka_compression,
            "producer compression: none|lz4|zstd|snappy|gzip (none saves CPU where bandwidth is cheap)")
      ->check(CLI::IsMember({"none", "lz4", "zstd", "snappy", "gzip"}));
  flags.add("--flush-timeout-ms", opts.flush_timeout_ms,
            "how long a flush (shutdown, hand-over) or a commit's acknowledgements wait for Kafka")
      ->check(CLI::Range(0, 600'000));
  if (auto code = flags.parse(argc, argv)) {
    return *code;
  }
  try {
    if (opts.trading_date.empty()) {
      opts.trading_date = runtime::todayIn(opts.exchange_timezone);
    }
  } catch (const std::invalid_argument& e) {
    logging::error("bad flag", {{"error", std::string("--exchange-timezone: ") + e.what()}});
    return 2;
  }

  normalizer::NormalizerConfig config;
  config.max_updates_per_second = opts.max_updates_per_second;
  config.broken_trade_memory = opts.broken_trade_memory;
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
    health->setReady("consumer", false, "waiting for partitions of " + opts.raw_topic);
    Metrics metrics(*registry);
    auto endpoint = observability::startHttpEndpoint(opts.metrics_listen, registry, health);

    // Declared before the producer so it outlives it: the producer's destructor flushes, and
    // delivery reports still reach the sink.
    std::unique_ptr<normalizer::KafkaTickSink> sink;
    kafka::ProducerConfig producer_config;
    producer_config.brokers = opts.kafka_brokers;
    producer_config.client_id = "normalizer";
    producer_config.idempotent = true; // a retry must not duplicate or reorder a symbol's seqs
    // A failed update must fail every later record of its partition: a later update of the
    // symbol that got through would leave a seq gap (as ingestion does for md.raw).
    producer_config.extra["enable.gapless.guarantee"] = "true";
    producer_config.linger_ms = opts.kafka_linger_ms;
    producer_config.compression = opts.kafka_compression;
    producer_config.delivery_timeout_ms = opts.delivery_timeout_ms;
    producer_config.flush_timeout = std::chrono::milliseconds(opts.flush_timeout_ms);
    kafka::Producer producer(producer_config, [&sink](const kafka::DeliveryReport& r) {
      if (sink) {
        sink->onDelivery(r);
      }
    });
    sink = std::make_unique<normalizer::KafkaTickSink>(
        normalizer::KafkaTickSinkConfig{opts.ticks_topic, opts.snapshot_topic,
                                        std::chrono::milliseconds(opts.snapshot_interval_ms)},
        producer);
    normalizer::Normalizer normalizer(config, *sink);

    // Partitions are restored and replayed as the consumer group assigns them.
    Service service(opts, producer, *sink, normalizer, metrics, *health);
    const int status = service.run(shutdown);
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
