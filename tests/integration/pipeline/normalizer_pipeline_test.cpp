// The whole market-data front half with the real binaries on the real broker (the `kafka`
// fixture): exchange-sim serves SoupBinTCP, ingestion publishes md.raw, the normalizer turns it
// into md.ticks and md.snapshot, and the test reads md.ticks as a gateway would.
#include <catch2/catch.hpp>

#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "pipeline_support.h"
#include "tickstream/kafka/admin.h"
#include "tickstream/kafka/consumer.h"
#include "tickstream/kafka/read_to_end.h"
#include "tickstream/marketdata/v1/marketdata.pb.h"
#include "tickstream/testing/infra.h"
#include "tickstream/testing/topic_cleanup.h"

using namespace std::chrono_literals;
namespace testing = tickstream::testing;
namespace kafka = tickstream::kafka;
namespace mdv1 = tickstream::marketdata::v1;
using namespace tickstream::pipeline_test;

namespace {

constexpr uint32_t kMaxUpdatesPerSecond = 20;

struct Top {
  int64_t bid = 0;
  int64_t bid_size = 0;
  int64_t ask = 0;
  int64_t ask_size = 0;
  bool operator==(const Top&) const = default;
};

// The truth file's top of book per symbol, as the normalizer quotes it (an empty side is 0/0).
std::map<std::string, Top> truthTops(const std::string& truth) {
  std::map<std::string, Top> out;
  static const std::regex entry(
      R"re(\{"locate":\d+,"symbol":"([A-Z]+)","bid":(\d+),"bid_shares":(\d+),"ask":(\d+),"ask_shares":(\d+)\})re");
  const std::string t = slurp(truth);
  for (auto it = std::sregex_iterator(t.begin(), t.end(), entry); it != std::sregex_iterator();
       ++it) {
    const auto& m = *it;
    Top top;
    top.bid_size = std::stoll(m[3].str());
    top.bid = top.bid_size == 0 ? 0 : std::stoll(m[2].str());
    top.ask_size = std::stoll(m[5].str());
    top.ask = top.ask_size == 0 ? 0 : std::stoll(m[4].str());
    out[m[1].str()] = top;
  }
  return out;
}

// What the test keeps of md.ticks per symbol.
struct SymbolTicks {
  std::vector<uint64_t> seqs;
  std::vector<int64_t> publish_ts;
  std::vector<int64_t> exchange_ts;
  Top quote; // last quote seen
};

// What goes wrong mid-run, while the feed is flowing and updates are on md.ticks.
enum class Fault {
  None,
  KillNormalizer,  // SIGKILL, then started again with the same flags
  RestartBroker,   // the broker stops (SIGTERM) and starts again on the same port
  RepublishRaw,    // ingestion SIGKILLed and started again with --resume=false: md.raw gets
                   // the session's messages so far a second time
};

// Runs exchange-sim -> ingestion -> normalizer and reads md.ticks as a gateway would. With a
// fault, what md.ticks holds at the end must not show it.
void runPipeline(Fault fault) {
  const bool kill_midway = fault == Fault::KillNormalizer;
  const bool faulted = fault != Fault::None;
  const std::string dir = testing::uniqueName(
      (std::filesystem::temp_directory_path() / "tickstream-normalizer").string());
  std::filesystem::create_directories(dir);
  const std::string truth = dir + "/truth.json";
  const std::string brokers = testing::kafkaBootstrap();
  const std::string raw_topic = testing::uniqueName("it.norm.raw");
  const std::string ticks_topic = testing::uniqueName("it.norm.ticks");
  const std::string snapshot_topic = testing::uniqueName("it.norm.snapshot");
  const testing::TopicCleanup cleanup(brokers, {raw_topic, ticks_topic, snapshot_topic});  // passed or failed

  // A fault needs a feed that lasts a few seconds; the plain run keeps the fast one.
  const uint64_t messages = faulted ? 150'000 : kMessages;
  const uint32_t rate = faulted ? 15'000 : 50'000;
  Child sim(simArgs(TICKSTREAM_EXCHANGE_SIM_BIN, truth, messages, rate),
            dir + "/exchange-sim.log");
  const uint16_t port = waitForSimPort(sim);
  INFO("exchange-sim log:\n" << sim.log());
  REQUIRE(port != 0);

  std::vector<std::string> ingestion_args = {
      TICKSTREAM_INGESTION_BIN, "--kafka-brokers", brokers, "--raw-topic", raw_topic,
      "--md-partitions", std::to_string(kPartitions), "--soup-connect",
      "127.0.0.1:" + std::to_string(port), "--trading-date", "2024-01-02",
      "--metrics-listen", "127.0.0.1:0"};
  auto ingestion = std::make_unique<Child>(ingestion_args, dir + "/ingestion.log");
  kafka::Admin admin(brokers);
  // Subscribing to a topic that does not exist yet would wait for a metadata refresh.
  REQUIRE(testing::waitUntil([&] { return admin.partitionCount(raw_topic) == kPartitions; }, 30s,
                             100ms));

  const std::vector<std::string> normalizer_args = {
      TICKSTREAM_NORMALIZER_BIN, "--kafka-brokers", brokers, "--raw-topic", raw_topic,
      "--ticks-topic", ticks_topic, "--snapshot-topic", snapshot_topic, "--md-partitions",
      std::to_string(kPartitions), "--group-id", testing::uniqueName("it.norm.group"),
      "--max-updates-per-second", std::to_string(kMaxUpdatesPerSecond), "--trading-date",
      "2024-01-02", "--metrics-listen", "127.0.0.1:0"};
  auto normalizer = std::make_unique<Child>(normalizer_args, dir + "/normalizer.log");
  INFO("normalizer log:\n" << normalizer->log());
  REQUIRE(testing::waitUntil([&] { return admin.partitionCount(ticks_topic) == kPartitions; },
                             30s, 100ms));
  CHECK(admin.topicConfig(snapshot_topic, "cleanup.policy") == "compact");

  kafka::ConsumerConfig cc;
  cc.brokers = brokers;
  cc.group_id = testing::uniqueName("it.norm.reader");
  kafka::Consumer consumer(cc);
  std::vector<kafka::TopicPartitionOffset> all;
  for (int32_t p = 0; p < kPartitions; ++p) {
    all.push_back({ticks_topic, p, RdKafka::Topic::OFFSET_BEGINNING});
  }
  consumer.assign(all);

  // Caught up: the session has ended (truth file written), every symbol's last quote equals
  // the truth, and nothing new arrived for a while (the conflated tail has gone out too).
  std::map<std::string, Top> truth_tops;
  std::map<std::string, SymbolTicks> ticks;
  uint64_t records = 0, bad_records = 0;
  mdv1::MarketDataUpdate update;
  auto last_record = std::chrono::steady_clock::now();
  const auto caughtUp = [&] {
    if (truth_tops.empty()) {
      if (waitForTruth(truth, 0ms) == 0) {
        return false;
      }
      truth_tops = truthTops(truth);
    }
    for (const auto& [symbol, top] : truth_tops) {
      auto it = ticks.find(symbol);
      if (it == ticks.end() || !(it->second.quote == top)) {
        return false;
      }
    }
    return std::chrono::steady_clock::now() - last_record > 1500ms;
  };
  bool killed = false;
  int restart_status = -1;
  std::jthread restarter;  // joins however the test leaves
  const auto deadline = std::chrono::steady_clock::now() + 120s;
  while (!caughtUp() && std::chrono::steady_clock::now() < deadline) {
    if (faulted && !killed && records >= 300) {
      // Mid-run: the feed is still flowing (checked below) and updates are on md.ticks.
      REQUIRE(waitForTruth(truth, 0ms) == 0);
      if (kill_midway) {
        normalizer->signal(SIGKILL);
        REQUIRE(normalizer->waitExit(10s) == std::optional<int>(128 + SIGKILL));
        normalizer = std::make_unique<Child>(normalizer_args, dir + "/normalizer-restarted.log");
      } else if (fault == Fault::RepublishRaw) {
        ingestion->signal(SIGKILL);
        REQUIRE(ingestion->waitExit(10s) == std::optional<int>(128 + SIGKILL));
        ingestion_args.push_back("--resume=false");
        ingestion = std::make_unique<Child>(ingestion_args, dir + "/ingestion-restarted.log");
      } else {
        // The services and this reader ride it out; the restart runs beside the reading.
        restarter = std::jthread([&] {
          restart_status = testing::controlService("kafka.sh", "restart", "kafka");
        });
      }
      killed = true;
    }
    auto m = consumer.poll(200ms);
    if (!m) {
      continue;
    }
    REQUIRE(m->ok());  // Consumer::poll itself rides out a broker away (retriable errors)
    ++records;
    last_record = std::chrono::steady_clock::now();
    if (!update.ParseFromArray(m->payload().data(), static_cast<int>(m->payload().size())) ||
        update.symbol() != m->key()) {
      ++bad_records;
      continue;
    }
    SymbolTicks& s = ticks[update.symbol()];
    s.seqs.push_back(update.seq());
    s.publish_ts.push_back(update.publish_ts_ns());
    s.exchange_ts.push_back(update.exchange_ts_ns());
    if (update.has_quote()) {
      s.quote = {update.quote().bid_price(), update.quote().bid_size(), update.quote().ask_price(),
                 update.quote().ask_size()};
    }
  }
  INFO("records " << records);
  INFO("normalizer log (after the fault):\n" << normalizer->log());
  INFO("ingestion log:\n" << ingestion->log());
  CHECK(killed == faulted);
  if (restarter.joinable()) restarter.join();
  if (fault == Fault::RestartBroker) {
    REQUIRE(restart_status == 0);  // else the broker's log is in build/<preset>/infra/kafka/
  }
  REQUIRE(truth_tops.size() == kSymbols);
  CHECK(bad_records == 0);

  uint64_t seq_errors = 0, quote_mismatch = 0, rate_violations = 0, time_reversals = 0;
  for (const auto& [symbol, top] : truth_tops) {
    const auto it = ticks.find(symbol);
    if (it == ticks.end()) {
      ++quote_mismatch;
      continue;
    }
    const SymbolTicks& s = it->second;
    if (!(s.quote == top)) {
      UNSCOPED_INFO(symbol << " last quote " << s.quote.bid << "x" << s.quote.bid_size << " / "
                           << s.quote.ask << "x" << s.quote.ask_size << ", truth " << top.bid
                           << "x" << top.bid_size << " / " << top.ask << "x" << top.ask_size);
      ++quote_mismatch;
    }
    for (std::size_t i = 0; i < s.seqs.size(); ++i) {
      if (s.seqs[i] != i + 1) {
        UNSCOPED_INFO(symbol << " update " << i << " has seq " << s.seqs[i]);
        ++seq_errors;
        break;
      }
    }
    // Nothing is published twice: a restart that re-sent what was already out would go back in
    // exchange time (seqs alone cannot show it: a re-send gets new ones).
    for (std::size_t i = 1; i < s.exchange_ts.size(); ++i) {
      if (s.exchange_ts[i] < s.exchange_ts[i - 1]) {
        UNSCOPED_INFO(symbol << " update " << i << " goes back in exchange time");
        ++time_reversals;
        break;
      }
    }
    // Any 1 s window of publish time holds at most cap + 1 updates.
    std::deque<int64_t> window;
    for (const int64_t ts : s.publish_ts) {
      window.push_back(ts);
      while (window.front() <= ts - 1'000'000'000) {
        window.pop_front();
      }
      if (window.size() > kMaxUpdatesPerSecond + 1) {
        ++rate_violations;
      }
    }
  }
  CHECK(ticks.size() == kSymbols);
  CHECK(seq_errors == 0);
  CHECK(quote_mismatch == 0);
  CHECK(rate_violations == 0);
  CHECK(time_reversals == 0);
  CHECK(records > kSymbols); // the test saw a real stream, not one update per symbol

  // SIGTERM: each flushes and commits, and exits 0.
  REQUIRE(normalizer->running());
  normalizer->signal(SIGTERM);
  CHECK(normalizer->waitExit(30s) == std::optional<int>(0));
  // md.snapshot ends where md.ticks ends: the shutdown released every snapshot still waiting
  // for its interval, and none is older than one before it (latest wins).
  std::map<int32_t, int64_t> from_start;
  for (int32_t p = 0; p < kPartitions; ++p) {
    from_start[p] = RdKafka::Topic::OFFSET_BEGINNING;
  }
  std::map<std::string, uint64_t> snapshot_seq;
  uint64_t snapshot_regressions = 0;
  kafka::readToEnd(consumer, snapshot_topic, from_start, [&](const kafka::Message& m) {
    mdv1::SymbolSnapshot snap;
    REQUIRE(snap.ParseFromArray(m.payload().data(), static_cast<int>(m.payload().size())));
    uint64_t& last = snapshot_seq[snap.symbol()];
    snapshot_regressions += snap.last_seq() < last ? 1 : 0;
    last = snap.last_seq();
  }, 60s);
  uint64_t snapshot_behind = 0;
  for (const auto& [symbol, t] : ticks) {
    if (snapshot_seq[symbol] != t.seqs.back()) {
      UNSCOPED_INFO(symbol << " md.snapshot at seq " << snapshot_seq[symbol] << ", md.ticks at "
                           << t.seqs.back());
      ++snapshot_behind;
    }
  }
  CHECK(snapshot_behind == 0);
  CHECK(snapshot_regressions == 0);

  REQUIRE(ingestion->running());
  ingestion->signal(SIGTERM);
  CHECK(ingestion->waitExit(20s) == std::optional<int>(0));
  sim.signal(SIGTERM);
  CHECK(sim.waitExit(20s) == std::optional<int>(0));
  // The normalizer stops before its topics go: a snapshot or conflated update it published after
  // deletion waited in its producer for a topic that no longer exists, and its shutdown flush
  // then hung until librdkafka's 5-minute message timeout (seen once in CI: the test timed out).
  normalizer->signal(SIGTERM);
  CHECK(normalizer->waitExit(20s) == std::optional<int>(0));

  std::filesystem::remove_all(dir);
}

} // namespace

TEST_CASE("exchange-sim -> ingestion -> normalizer: dense seqs, rate-capped, last quote = truth") {
  runPipeline(Fault::None);
}

TEST_CASE("a kill -9 of the normalizer mid-run: still dense seqs, no duplicate, rate-capped, "
          "last quote = truth") {
  runPipeline(Fault::KillNormalizer);
}

TEST_CASE("a broker restart mid-run: ingestion and the normalizer ride it out with dense seqs, no "
          "duplicate, rate-capped, last quote = truth") {
  runPipeline(Fault::RestartBroker);
}

TEST_CASE("md.raw holding the session twice (ingestion restarted without resume): the normalizer "
          "applies each message once - dense seqs, no duplicate, last quote = truth") {
  runPipeline(Fault::RepublishRaw);
}
