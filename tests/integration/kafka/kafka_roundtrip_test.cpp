// The Kafka library against a real broker (started by the `kafka` CTest fixture).
#include <catch2/catch.hpp>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tickstream/kafka/admin.h"
#include "tickstream/kafka/consumer.h"
#include "tickstream/kafka/producer.h"
#include "tickstream/sharding/partitioner.h"
#include "tickstream/testing/infra.h"

using namespace tickstream::kafka;
using namespace std::chrono_literals;
namespace testing = tickstream::testing;

namespace {

constexpr int kPartitions = 8;
constexpr int kKeys = 500;

// Payload "key|n": n counts up per key, so order per key is checkable.
std::string payload(const std::string& key, int n) { return key + "|" + std::to_string(n); }
std::pair<std::string, int> parse(std::string_view p) {
  auto bar = p.find('|');
  return {std::string(p.substr(0, bar)), std::stoi(std::string(p.substr(bar + 1)))};
}

// Consumes until `want` records arrived or `timeout`; checks offsets are contiguous per
// partition and each key's counter goes up by exactly one.
struct Tally {
  int records = 0;
  std::map<int32_t, int64_t> next_offset;  // per partition
  std::map<std::string, int> next_n;       // per key
  int offset_gaps = 0, key_order_breaks = 0, wrong_partition = 0;

  void add(const Message& m) {
    ++records;
    auto it = next_offset.find(m.partition());
    if (it != next_offset.end() && it->second != m.offset()) ++offset_gaps;
    next_offset[m.partition()] = m.offset() + 1;
    auto [key, n] = parse(m.payload());
    if (key != m.key()) ++key_order_breaks;
    auto kit = next_n.find(key);
    int expected = kit == next_n.end() ? n : kit->second;  // a resumed reader starts anywhere
    if (n != expected) ++key_order_breaks;
    next_n[key] = n + 1;
    if (m.partition() != tickstream::sharding::partitionForKey(key, kPartitions)) ++wrong_partition;
  }
};

std::string makeTopic(Admin& admin, const std::string& prefix) {
  std::string topic = testing::uniqueName(prefix);
  admin.ensureTopics({{topic, kPartitions, 1, {}}});
  REQUIRE(admin.partitionCount(topic) == kPartitions);
  return topic;
}

}  // namespace

TEST_CASE("topics are created once, with partitions and compaction") {
  Admin admin(testing::kafkaBootstrap());
  std::string topic = testing::uniqueName("it.snapshot");
  TopicSpec spec{topic, 4, 1, {{"cleanup.policy", "compact"}}};
  admin.ensureTopics({spec});
  admin.ensureTopics({spec});  // already there: not an error
  CHECK(admin.partitionCount(topic) == 4);
  CHECK(admin.topicConfig(topic, "cleanup.policy") == "compact");
  CHECK(admin.partitionCount(testing::uniqueName("it.missing")) == -1);
  // The same name with another partition count would route symbols differently: refused.
  TopicSpec other{topic, 8, 1, {{"cleanup.policy", "compact"}}};
  CHECK_THROWS_WITH(admin.ensureTopics({other}), Catch::Contains("exists with 4 partitions, expected 8"));
  admin.deleteTopics({topic});
}

TEST_CASE("100k messages through the idempotent producer: none lost, order kept, resume from commit") {
  Admin admin(testing::kafkaBootstrap());
  const std::string topic = makeTopic(admin, "it.roundtrip");
  constexpr int kTotal = 100'000;

  ProducerConfig pc;
  pc.brokers = testing::kafkaBootstrap();
  pc.client_id = "it-roundtrip";
  std::atomic<int> ok{0}, failed{0}, misplaced{0};
  {
    Producer producer(pc, [&](const DeliveryReport& r) {
      if (r.error != RdKafka::ERR_NO_ERROR) {
        failed++;
        return;
      }
      ok++;
      // Kafka's murmur2 partitioner placed the key where libs/sharding says it is.
      if (r.partition != tickstream::sharding::partitionForKey(r.key, kPartitions)) misplaced++;
    });
    std::vector<int> per_key(kKeys, 0);
    for (int i = 0; i < kTotal; ++i) {
      std::string key = "SYM" + std::to_string(i % kKeys);
      REQUIRE(producer.produce(topic, key, payload(key, per_key[i % kKeys]++)) == ProduceResult::Ok);
    }
    REQUIRE(producer.flush(60s));
    CHECK(producer.fatalError().empty());
  }
  CHECK(ok == kTotal);
  CHECK(failed == 0);
  CHECK(misplaced == 0);

  ConsumerConfig cc;
  cc.brokers = testing::kafkaBootstrap();
  cc.group_id = testing::uniqueName("it.group");
  constexpr int kFirst = 60'000;
  Tally first;
  {
    Consumer consumer(cc);
    consumer.subscribe({topic});
    std::map<int32_t, int64_t> positions;
    while (first.records < kFirst) {
      auto m = consumer.poll(30s);
      REQUIRE(m.has_value());
      REQUIRE(m->ok());
      first.add(*m);
      positions[m->partition()] = m->offset() + 1;
    }
    std::vector<TopicPartitionOffset> commit;
    for (auto [p, o] : positions) commit.push_back({topic, p, o});
    consumer.commit(commit);
    auto committed = consumer.committed(commit, 10s);
    CHECK(committed == commit);
  }  // the consumer leaves the group here, as a restarted service's would

  Tally second;
  {
    Consumer consumer(cc);
    consumer.subscribe({topic});
    while (second.records < kTotal - kFirst) {
      auto m = consumer.poll(30s);
      REQUIRE(m.has_value());
      REQUIRE(m->ok());
      if (second.next_offset.count(m->partition()) == 0) {
        // The first record of each partition is exactly where the commit said to resume.
        CHECK(m->offset() == first.next_offset[m->partition()]);
      }
      second.add(*m);
    }
    CHECK_FALSE(consumer.poll(2s).has_value());  // nothing beyond the 100k
  }

  CHECK(first.offset_gaps + second.offset_gaps == 0);
  CHECK(first.key_order_breaks + second.key_order_breaks == 0);
  CHECK(first.wrong_partition + second.wrong_partition == 0);
  // Every key's counter, continued across the restart, reached its full count.
  for (int k = 0; k < kKeys; ++k) {
    std::string key = "SYM" + std::to_string(k);
    int reached = second.next_n.count(key) ? second.next_n[key] : first.next_n[key];
    CHECK(reached == kTotal / kKeys);
  }
  admin.deleteTopics({topic});
}

TEST_CASE("a broker restart in the middle of producing loses and duplicates nothing") {
  Admin admin(testing::kafkaBootstrap());
  const std::string topic = makeTopic(admin, "it.restart");

  ProducerConfig pc;
  pc.brokers = testing::kafkaBootstrap();
  pc.client_id = "it-restart";
  pc.linger_ms = 1;
  std::atomic<int> ok{0}, failed{0};
  int sent = 0;
  int sent_before_restart = 0, sent_after_restart = 0;
  uint64_t implicit_acks = 0;  // delivered without an offset of their own (see below)
  {
    Producer producer(pc, [&](const DeliveryReport& r) { (r.error ? failed : ok)++; });
    auto produceOne = [&] {
      std::string key = "SYM" + std::to_string(sent % kKeys);
      REQUIRE(producer.produce(topic, key, payload(key, sent / kKeys), Producer::kAnyPartition, nullptr, 120s) ==
              ProduceResult::Ok);
      ++sent;
      std::this_thread::sleep_for(200us);  // ~5k/s: a steady stream across the whole restart
    };
    // A steady stream before the restart (every partition written, the producer's state on the
    // broker), then the restart under it.
    const auto warm = std::chrono::steady_clock::now() + 2s;
    while (sent < 2000 || std::chrono::steady_clock::now() < warm) produceOne();
    sent_before_restart = sent;
    std::atomic<bool> restarted{false};
    int restart_status = -1;
    std::jthread restarter([&] {  // joins even when a REQUIRE below unwinds
      restart_status = testing::controlService("kafka.sh", "restart", "kafka");
      restarted = true;
    });
    while (!restarted) produceOne();  // the broker goes away and comes back under this load
    restarter.join();
    REQUIRE(restart_status == 0);  // else the broker's log is in build/<preset>/infra/kafka/
    for (int i = 0; i < 2000; ++i) produceOne();
    sent_after_restart = sent - sent_before_restart;
    REQUIRE(producer.flush(120s));
    CHECK(producer.fatalError().empty());
    implicit_acks = producer.implicitAcks();
  }
  INFO("sent " << sent << ", of which " << sent_after_restart << " from the restart on");
  CHECK(sent_after_restart > 4000);  // the broker really was restarted while we produced
  CHECK(ok == sent);
  CHECK(failed == 0);

  ConsumerConfig cc;
  cc.brokers = testing::kafkaBootstrap();
  cc.group_id = testing::uniqueName("it.restart.group");
  Consumer consumer(cc);
  consumer.subscribe({topic});
  std::set<std::string> seen;
  int duplicates = 0;
  Tally tally;
  while (tally.records < sent) {
    auto m = consumer.poll(30s);
    if (!m) break;
    REQUIRE(m->ok());
    if (!seen.insert(std::string(m->payload())).second) ++duplicates;
    tally.add(*m);
  }
  int64_t stored = 0;  // what the broker holds, to tell a lost write from a stalled reader
  for (int p = 0; p < kPartitions; ++p) stored += consumer.watermarks(topic, p, 10s).second;
  INFO("consumed " << tally.records << ", broker holds " << stored << ", assignment "
                   << consumer.assignment().size() << " partitions");
  // Every acknowledged record must be there. The 3-4 lost in some runs of 2026-11-23 were a
  // partition's first batch, refused "not leader" just after the topic was created and then
  // implicitly acknowledged (docs/topics.md, "A partition's first batch"); Admin::ensureTopics
  // now returns only once every partition's leader answers, which closes that window.
  const int64_t lost = sent - static_cast<int64_t>(tally.records);
  INFO("implicitly acknowledged (no offset of their own): " << implicit_acks);
  if (lost > 0) {
    // Name what is missing (payload "key|n" and where it sat in the stream) so the defect's
    // pattern can be told apart: the first records of a key, the last, or around the restart.
    std::string missing;
    for (int i = 0; i < sent && missing.size() < 2000; ++i) {
      const std::string key = "SYM" + std::to_string(i % kKeys);
      const std::string p = payload(key, i / kKeys);
      if (seen.count(p) == 0) {
        missing += p + "@" + std::to_string(i) + "/p" +
                   std::to_string(tickstream::sharding::partitionForKey(key, kPartitions)) + " ";
      }
    }
    WARN("missing (payload@send index/partition; restart began at index "
         << sent_before_restart << "): " << missing);
  }
  CHECK(lost == 0);
  CHECK(stored == static_cast<int64_t>(tally.records));  // the reader saw all the broker holds
  CHECK_FALSE(consumer.poll(2s).has_value());
  CHECK(duplicates == 0);
  CHECK(tally.key_order_breaks == 0);
  CHECK(seen.size() == static_cast<size_t>(tally.records));
  admin.deleteTopics({topic});
}
