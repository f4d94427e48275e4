// The real exchange-sim binary serves a SoupBinTCP session, the real ingestion binary publishes
// it to a topic of its own on the real broker (the `kafka` fixture), and the test reads the
// topic back as the normalizer would.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
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
#include "tickstream/testing/infra.h"
#include "tickstream/testing/topic_cleanup.h"

using namespace std::chrono_literals;
namespace testing = tickstream::testing;
namespace kafka = tickstream::kafka;
using namespace tickstream::pipeline_test;

TEST_CASE("exchange-sim -> ingestion -> Kafka: every message once, keyed by symbol, in order") {
  const std::string dir = testing::uniqueName(
      (std::filesystem::temp_directory_path() / "tickstream-pipeline").string());
  std::filesystem::create_directories(dir);
  const std::string truth = dir + "/truth.json";
  const std::string brokers = testing::kafkaBootstrap();
  const std::string topic = testing::uniqueName("it.pipeline.raw");
  const testing::TopicCleanup cleanup(brokers, {topic});  // passed or failed

  Child sim({TICKSTREAM_EXCHANGE_SIM_BIN, "--listen", "127.0.0.1:0", "--symbols",
             std::to_string(kSymbols), "--seed", std::to_string(kSeed), "--messages",
             std::to_string(kMessages), "--rate", "50000", "--truth-out", truth, "--drain-ms",
             "2000", "--log-format", "json"},
            dir + "/exchange-sim.log");
  // The simulator picks its port (127.0.0.1:0) and logs it: no race for a "free" port.
  uint16_t port = 0;
  const std::regex listening(R"(soup server listening.*"port":(\d+))");
  REQUIRE(testing::waitUntil(
      [&] {
        std::smatch m;
        const std::string log = sim.log();
        if (std::regex_search(log, m, listening)) {
          port = static_cast<uint16_t>(std::stoi(m[1].str()));
        }
        return port != 0 || !sim.running();
      },
      10s));
  INFO("exchange-sim log:\n" << sim.log());
  REQUIRE(port != 0);

  Child ingestion({TICKSTREAM_INGESTION_BIN, "--kafka-brokers", brokers, "--raw-topic", topic,
                   "--md-partitions", std::to_string(kPartitions), "--soup-connect",
                   "127.0.0.1:" + std::to_string(port), "--trading-date", "2024-01-02",
                   "--metrics-listen", "127.0.0.1:0"},
                  dir + "/ingestion.log");

  // The session's exact length: `--messages` plus the rest of the event in flight.
  uint64_t published = 0;
  REQUIRE(testing::waitUntil(
      [&] {
        const std::string t = slurp(truth);
        std::smatch m;
        static const std::regex messages(R"("messages":(\d+))");
        if (t.find("]}") != std::string::npos && std::regex_search(t, m, messages)) {
          published = std::stoull(m[1].str());
        }
        return published != 0;
      },
      30s));
  REQUIRE(published >= kMessages);
  const std::vector<std::string> stream = simulate(published);
  uint64_t market_wide = 0;
  for (const auto& bytes : stream) {
    market_wide += marketWide(bytes) ? 1 : 0;
  }
  REQUIRE(market_wide > 0); // the preamble's System Events: the fan-out is really exercised
  // Keyed messages once; market-wide ones once on each partition.
  const uint64_t expected = (published - market_wide) + market_wide * kPartitions;

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

  uint64_t records = 0, bad_key = 0, wrong_partition = 0, out_of_order = 0, bad_payload = 0,
           bad_fields = 0, duplicates = 0;
  std::map<int32_t, uint64_t> last_seq;                  // per partition
  std::vector<uint32_t> seen(published + 1, 0);          // times each sequence number arrived
  tickstream::marketdata::v1::RawFeedMessage raw;
  const auto deadline = std::chrono::steady_clock::now() + 40s;
  while (records < expected && std::chrono::steady_clock::now() < deadline) {
    auto m = consumer.poll(1s);
    if (!m) {
      continue;
    }
    REQUIRE(m->ok());
    ++records;
    REQUIRE(raw.ParseFromArray(m->payload().data(), static_cast<int>(m->payload().size())));
    const uint64_t seq = raw.sequence_number();
    if (seq == 0 || seq > published) {
      ++bad_fields;
      continue;
    }
    auto it = last_seq.find(m->partition());
    if (it != last_seq.end() && seq <= it->second) {
      ++out_of_order;
    }
    last_seq[m->partition()] = seq;
    ++seen[seq];
    const std::string& want = stream[seq - 1];
    if (raw.payload() != want) {
      ++bad_payload;
    }
    if (raw.message_type() != want.substr(0, 1) || raw.session() != "1") {
      ++bad_fields;
    }
    if (marketWide(want)) {
      if (!m->key().empty() || !raw.symbol().empty()) {
        ++bad_key;
      }
    } else {
      if (raw.symbol().empty() || m->key() != raw.symbol()) {
        ++bad_key;
      }
      if (m->partition() != tickstream::sharding::partitionForKey(raw.symbol(), kPartitions)) {
        ++wrong_partition;
      }
    }
  }
  for (uint64_t seq = 1; seq <= published; ++seq) {
    const uint32_t want = marketWide(stream[seq - 1]) ? kPartitions : 1;
    if (seen[seq] != want) {
      ++duplicates; // or lost: either way not exactly once (per partition)
    }
  }
  INFO("ingestion log:\n" << ingestion.log());
  CHECK(records == expected);
  CHECK_FALSE(consumer.poll(1s).has_value()); // and nothing beyond them
  CHECK(bad_key == 0);
  CHECK(wrong_partition == 0);
  CHECK(out_of_order == 0);
  CHECK(bad_payload == 0);
  CHECK(bad_fields == 0);
  CHECK(duplicates == 0);
  CHECK(last_seq.size() == static_cast<std::size_t>(kPartitions));

  // SIGTERM: stop the client, flush, exit 0.
  REQUIRE(ingestion.running());
  ingestion.signal(SIGTERM);
  CHECK(ingestion.waitExit(20s) == std::optional<int>(0));
  sim.signal(SIGTERM);
  CHECK(sim.waitExit(20s) == std::optional<int>(0));

  std::filesystem::remove_all(dir);
}
