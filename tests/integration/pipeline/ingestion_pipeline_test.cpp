// The real exchange-sim binary serves a SoupBinTCP session, the real ingestion binary publishes
// it to a topic of its own on the real broker (the `kafka` fixture), and the test reads the
// topic back as the normalizer would.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "pipeline_support.h"
#include "tickstream/itch/codec.h"
#include "tickstream/kafka/admin.h"
#include "tickstream/kafka/consumer.h"
#include "tickstream/marketdata/v1/raw.pb.h"
#include "tickstream/sharding/partitioner.h"
#include "tickstream/testing/http_get.h"
#include "tickstream/testing/infra.h"
#include "tickstream/testing/topic_cleanup.h"

using namespace std::chrono_literals;
namespace testing = tickstream::testing;
namespace kafka = tickstream::kafka;
using namespace tickstream::pipeline_test;

namespace {

// What md.raw holds after a session of `published` messages, read back as the normalizer would:
// every count that must be zero for "every message once per partition, keyed, in order".
struct RawTopicCheck {
  uint64_t records = 0, expected = 0, bad_key = 0, wrong_partition = 0, out_of_order = 0,
           bad_payload = 0, bad_fields = 0, not_once = 0, beyond = 0;
  std::size_t partitions_seen = 0;
};

RawTopicCheck checkRawTopic(const std::string& brokers, const std::string& topic, uint64_t published) {
  const std::vector<std::string> stream = simulate(published);
  uint64_t market_wide = 0;
  for (const auto& bytes : stream) {
    market_wide += marketWide(bytes) ? 1 : 0;
  }
  REQUIRE(market_wide > 0); // the preamble's System Events: the fan-out is really exercised
  RawTopicCheck c;
  // Keyed messages once; market-wide ones once on each partition.
  c.expected = (published - market_wide) + market_wide * kPartitions;

  kafka::Admin admin(brokers);
  REQUIRE(testing::waitUntil([&] { return admin.partitionCount(topic) == kPartitions; }, 30s,
                             100ms));
  kafka::ConsumerConfig cc;
  cc.brokers = brokers;
  cc.group_id = testing::uniqueName("it.pipeline.group");
  kafka::Consumer consumer(cc);
  std::vector<kafka::TopicPartitionOffset> all;
  for (int32_t p = 0; p < kPartitions; ++p) {
    all.push_back({topic, p, RdKafka::Topic::OFFSET_BEGINNING});
  }
  consumer.assign(all);

  std::map<int32_t, uint64_t> last_seq;                  // per partition
  std::vector<uint32_t> seen(published + 1, 0);          // times each sequence number arrived
  tickstream::marketdata::v1::RawFeedMessage raw;
  const auto deadline = std::chrono::steady_clock::now() + 40s;
  while (c.records < c.expected && std::chrono::steady_clock::now() < deadline) {
    auto m = consumer.poll(1s);
    if (!m) {
      continue;
    }
    REQUIRE(m->ok());
    ++c.records;
    REQUIRE(raw.ParseFromArray(m->payload().data(), static_cast<int>(m->payload().size())));
    const uint64_t seq = raw.sequence_number();
    if (seq == 0 || seq > published) {
      ++c.bad_fields;
      continue;
    }
    auto it = last_seq.find(m->partition());
    if (it != last_seq.end() && seq <= it->second) {
      ++c.out_of_order;
    }
    last_seq[m->partition()] = seq;
    ++seen[seq];
    const std::string& want = stream[seq - 1];
    if (raw.payload() != want) {
      ++c.bad_payload;
    }
    if (raw.message_type() != want.substr(0, 1) || raw.session() != "1") {
      ++c.bad_fields;
    }
    if (marketWide(want)) {
      if (!m->key().empty() || !raw.symbol().empty()) {
        ++c.bad_key;
      }
    } else {
      if (raw.symbol().empty() || m->key() != raw.symbol()) {
        ++c.bad_key;
      }
      if (m->partition() != tickstream::sharding::partitionForKey(raw.symbol(), kPartitions)) {
        ++c.wrong_partition;
      }
    }
  }
  for (uint64_t seq = 1; seq <= published; ++seq) {
    const uint32_t want = marketWide(stream[seq - 1]) ? kPartitions : 1;
    if (seen[seq] != want) {
      ++c.not_once; // duplicated or lost: either way not exactly once (per partition)
    }
  }
  c.beyond = consumer.poll(1s).has_value() ? 1 : 0;
  c.partitions_seen = last_seq.size();
  return c;
}

void checkExactlyOnce(const RawTopicCheck& c) {
  CHECK(c.records == c.expected);
  CHECK(c.beyond == 0); // and nothing beyond them
  CHECK(c.bad_key == 0);
  CHECK(c.wrong_partition == 0);
  CHECK(c.out_of_order == 0);
  CHECK(c.bad_payload == 0);
  CHECK(c.bad_fields == 0);
  CHECK(c.not_once == 0);
  CHECK(c.partitions_seen == static_cast<std::size_t>(kPartitions));
}

std::vector<std::string> ingestionArgs(const std::string& brokers, const std::string& topic, uint16_t port) {
  return {TICKSTREAM_INGESTION_BIN, "--kafka-brokers", brokers, "--raw-topic", topic,
          "--md-partitions", std::to_string(kPartitions), "--soup-connect",
          "127.0.0.1:" + std::to_string(port), "--trading-date", "2024-01-02",
          "--metrics-listen", "127.0.0.1:0"};
}

// A run's directory, truth file and raw topic of its own (deleted however the test ends).
struct RunDirs {
  std::string dir = testing::uniqueName((std::filesystem::temp_directory_path() / "tickstream-pipeline").string());
  std::string truth = (std::filesystem::create_directories(dir), dir + "/truth.json");
  std::string brokers = testing::kafkaBootstrap();
  std::string topic = testing::uniqueName("it.pipeline.raw");
  testing::TopicCleanup cleanup{brokers, {topic}};
};

} // namespace

TEST_CASE("exchange-sim -> ingestion -> Kafka: every message once, keyed by symbol, in order") {
  const RunDirs run;
  const std::string& dir = run.dir;
  const std::string& truth = run.truth;
  const std::string& brokers = run.brokers;
  const std::string& topic = run.topic;

  Child sim(simArgs(TICKSTREAM_EXCHANGE_SIM_BIN, truth), dir + "/exchange-sim.log");
  // The simulator picks its port (127.0.0.1:0) and logs it: no race for a "free" port.
  const uint16_t port = waitForSimPort(sim);
  INFO("exchange-sim log:\n" << sim.log());
  REQUIRE(port != 0);

  Child ingestion(ingestionArgs(brokers, topic, port), dir + "/ingestion.log");

  // The session's exact length: `--messages` plus the rest of the event in flight.
  const uint64_t published = waitForTruth(truth, 30s);
  REQUIRE(published >= kMessages);
  const RawTopicCheck c = checkRawTopic(brokers, topic, published);
  INFO("ingestion log:\n" << ingestion.log());
  checkExactlyOnce(c);

  // SIGTERM: stop the client, flush, exit 0.
  REQUIRE(ingestion.running());
  ingestion.signal(SIGTERM);
  CHECK(ingestion.waitExit(20s) == std::optional<int>(0));
  sim.signal(SIGTERM);
  CHECK(sim.waitExit(20s) == std::optional<int>(0));

  std::filesystem::remove_all(dir);
}

TEST_CASE("a kill -9 of ingestion mid-session: restarted, it resumes where md.raw ends, and every "
          "message is there once") {
  const RunDirs run;
  const std::string& dir = run.dir;
  const std::string& truth = run.truth;
  const std::string& brokers = run.brokers;
  const std::string& topic = run.topic;

  // 10k messages/s: the kill lands mid-session, with records still in the producer's queue.
  Child sim(simArgs(TICKSTREAM_EXCHANGE_SIM_BIN, truth, kMessages, 10'000), dir + "/exchange-sim.log");
  const uint16_t port = waitForSimPort(sim);
  INFO("exchange-sim log:\n" << sim.log());
  REQUIRE(port != 0);

  auto first = std::make_unique<Child>(ingestionArgs(brokers, topic, port), dir + "/ingestion-1.log");
  kafka::ConsumerConfig cc;
  cc.brokers = brokers;
  kafka::Consumer watcher(cc);
  const auto inTopic = [&] {
    int64_t n = 0;
    for (int32_t p = 0; p < kPartitions; ++p) {
      const auto [low, high] = watcher.watermarks(topic, p, 5s);
      n += high - low;
    }
    return n;
  };
  kafka::Admin admin(brokers);
  REQUIRE(testing::waitUntil([&] { return admin.partitionCount(topic) == kPartitions; }, 30s, 100ms));
  REQUIRE(testing::waitUntil([&] { return inTopic() >= static_cast<int64_t>(kMessages / 4); }, 30s, 50ms));
  first->signal(SIGKILL);
  first->waitExit(10s);
  const int64_t at_kill = inTopic();

  Child second(ingestionArgs(brokers, topic, port), dir + "/ingestion-2.log");
  const uint64_t published = waitForTruth(truth, 60s);
  REQUIRE(published >= kMessages);
  REQUIRE(static_cast<uint64_t>(at_kill) < published);  // the kill was mid-session
  const RawTopicCheck c = checkRawTopic(brokers, topic, published);
  INFO("second ingestion log:\n" << second.log());
  checkExactlyOnce(c);
  CHECK(second.log().find("resuming after what md.raw holds") != std::string::npos);

  second.signal(SIGTERM);
  CHECK(second.waitExit(20s) == std::optional<int>(0));
  sim.signal(SIGTERM);
  CHECK(sim.waitExit(20s) == std::optional<int>(0));
  std::filesystem::remove_all(dir);
}

TEST_CASE("the next trading day on the same md.raw is published whole: yesterday's records do not hold it back") {
  const RunDirs run;
  // Two sessions of the same venue, one day apart: the same session name, numbered from 1 again.
  for (const char* day : {"2024-01-02", "2024-01-03"}) {
    const std::string truth = run.dir + "/truth-" + day + ".json";
    Child sim(simArgs(TICKSTREAM_EXCHANGE_SIM_BIN, truth), run.dir + "/exchange-sim-" + day + ".log");
    const uint16_t port = waitForSimPort(sim);
    REQUIRE(port != 0);
    auto args = ingestionArgs(run.brokers, run.topic, port);
    args[std::find(args.begin(), args.end(), "--trading-date") - args.begin() + 1] = day;
    Child ingestion(args, run.dir + "/ingestion-" + day + ".log");
    REQUIRE(waitForTruth(truth, 30s) >= kMessages);
    // Every message of the day reaches md.raw: nothing counted as held by the resume.
    const auto published = [&] {
      return testing::metricValue(testing::metricsPort(ingestion), "ingestion_published_total").value_or(0.0);
    };
    INFO(day << " ingestion log:\n" << ingestion.log());
    CHECK(testing::waitUntil([&] { return published() >= static_cast<double>(kMessages); }, 30s));
    CHECK(testing::metricValue(testing::metricsPort(ingestion), "ingestion_resume_held_total") ==
          std::optional<double>(0.0));
    ingestion.signal(SIGTERM);
    CHECK(ingestion.waitExit(20s) == std::optional<int>(0));
    sim.signal(SIGTERM);
    CHECK(sim.waitExit(20s) == std::optional<int>(0));
  }
}
