// OutboxRelay between a real PostgreSQL 15 and a real Kafka broker (the `postgres` and `kafka`
// fixtures): every outbox row reaches its topic exactly once, in account_seq order per account,
// the outbox ends empty, and a relay that stops, fails over or restarts loses nothing.

#include <catch2/catch.hpp>

#include <atomic>
#include <map>
#include <set>
#include <thread>
#include <vector>

#include "order_store_support.h"
#include "outbox_relay.h"
#include "tickstream/kafka/admin.h"
#include "tickstream/kafka/consumer.h"
#include "tickstream/kafka/producer.h"
#include "tickstream/kafka/topics.h"
#include "tickstream/testing/topic_cleanup.h"

using namespace tickstream;
using namespace tickstream::order;
using namespace tickstream::order::test;
using namespace std::chrono_literals;

namespace {

// A store writing to its own topics and NOTIFY channel, and relays configured to publish them.
struct RelayEnv {
  std::string events_topic = testing::uniqueName("it.orders.events");
  std::string fills_topic = testing::uniqueName("it.orders.fills");
  testing::TopicCleanup topics{testing::kafkaBootstrap(), {events_topic, fills_topic}};  // after the store
  std::string channel;
  std::unique_ptr<StoreEnv> env;
  std::int64_t lock_key;

  RelayEnv() {
    static int counter = 0;
    channel = "outbox_" + std::to_string(::getpid()) + "_" + std::to_string(++counter);
    lock_key = (static_cast<std::int64_t>(::getpid()) << 16) + counter;
    kafka::Admin admin(testing::kafkaBootstrap());
    admin.ensureTopics({kafka::topics::platformTopic(kafka::topics::kOrdersEvents, events_topic),
                        kafka::topics::platformTopic(kafka::topics::kOrdersFills, fills_topic)});
    OrderStoreConfig config;
    config.events_topic = events_topic;
    config.fills_topic = fills_topic;
    config.notify_channel = channel;
    env = std::make_unique<StoreEnv>(config, "order_relay");
  }

  OutboxRelayConfig relayConfig() const {
    OutboxRelayConfig c;
    c.pg_url = env->url;
    c.producer.brokers = testing::kafkaBootstrap();
    c.producer.client_id = "it-outbox-relay";
    c.notify_channel = channel;
    c.lock_key = lock_key;
    c.batch_size = 200;  // several rounds per test
    return c;
  }

  // `per_account` submits for each account from one thread per account, each followed for every
  // tenth order by a venue ack and a fill.
  void submitSome(const std::vector<std::string>& accounts, int per_account, const std::string& tag) {
    std::vector<std::thread> threads;
    for (const auto& account : accounts) {
      threads.emplace_back([&, account] {
        for (int i = 0; i < per_account; ++i) {
          const auto id = env->store->submit(limitBuy(account, tag + std::to_string(i)), acceptAll()).order.order_id();
          if (i % 10 != 0) continue;
          env->store->applyTransition(id, Trigger::VenueAck, venueId("V-" + id));
          env->store->applyFill(fill("exec-" + id, id, 100, 1'000'000));
        }
      });
    }
    for (auto& t : threads) t.join();
  }

  long long outboxRows() const { return count(env->url, "SELECT count(*) FROM outbox"); }
};

struct Record {
  std::string key;
  std::string payload;
};

// Every record of `topic`, per partition in offset order; the high watermarks' sum must equal
// the records read, so nothing is left unread (a duplicate would show as an extra record).
// Copies out of librdkafka's messages: the consumer cannot be destroyed while one is alive.
std::vector<Record> readTopic(const std::string& topic, std::size_t expected) {
  kafka::ConsumerConfig cc;
  cc.brokers = testing::kafkaBootstrap();
  cc.group_id = testing::uniqueName("it.relay.reader");
  kafka::Consumer consumer(cc);
  std::vector<kafka::TopicPartitionOffset> all;
  const int partitions = kafka::topics::Layout{}.order_partitions;
  for (int p = 0; p < partitions; ++p) all.push_back({topic, p, RdKafka::Topic::OFFSET_BEGINNING});
  consumer.assign(all);
  std::vector<Record> out;
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (out.size() < expected && std::chrono::steady_clock::now() < deadline) {
    if (auto m = consumer.poll(200ms); m && m->ok()) out.push_back({std::string(m->key()), std::string(m->payload())});
  }
  std::int64_t high_sum = 0;
  for (int p = 0; p < partitions; ++p) high_sum += consumer.watermarks(topic, p, 10s).second;
  CHECK(static_cast<std::size_t>(high_sum) == expected);
  return out;
}

// The orders.events records per account must be account_seq 1, 2, ..., n with n the account's
// order_events rows: every event once, in order.
void checkEventsExactlyOnceInOrder(const RelayEnv& r) {
  const auto expected = static_cast<std::size_t>(count(r.env->url, "SELECT count(*) FROM order_events"));
  const auto records = readTopic(r.events_topic, expected);
  REQUIRE(records.size() == expected);
  std::map<std::string, std::uint64_t> last;
  for (const auto& m : records) {
    v1::OrderEvent e;
    REQUIRE(e.ParseFromString(m.payload));
    CHECK(m.key == e.account());
    CHECK(e.account_seq() == last[e.account()] + 1);
    last[e.account()] = e.account_seq();
  }
  for (const auto& [account, seq] : last) {
    CHECK(static_cast<long long>(seq) ==
          count(r.env->url, "SELECT last_seq FROM account_sequences WHERE account = '" + account + "'"));
  }
}

}  // namespace

TEST_CASE("the relay publishes every outbox row exactly once, in per-account order, and empties the outbox") {
  RelayEnv r;
  OutboxRelay relay(r.relayConfig());
  relay.start();
  // Written while the relay runs: rows of different accounts commit out of id order.
  r.submitSome({"acct-a", "acct-b", "acct-c", "acct-d"}, 120, "c-");
  REQUIRE(testing::waitUntil([&] { return r.outboxRows() == 0; }, 60s));
  CHECK(relay.active());
  // The lag is measured at each read: the read after the last DELETE finds the outbox empty.
  CHECK(testing::waitUntil([&] { return relay.lagMs() == 0; }, 10s));

  const auto events = count(r.env->url, "SELECT count(*) FROM order_events");
  const auto fills = count(r.env->url, "SELECT count(*) FROM fills");
  CHECK(events == 4 * (120 + 12 * 2));
  CHECK(relay.published() == static_cast<std::uint64_t>(events + fills));
  checkEventsExactlyOnceInOrder(r);

  const auto fill_records = readTopic(r.fills_topic, static_cast<std::size_t>(fills));
  std::set<std::string> executions;
  for (const auto& m : fill_records) {
    v1::Fill f;
    REQUIRE(f.ParseFromString(m.payload));
    CHECK(m.key == f.account());
    executions.insert(f.venue_execution_id());
  }
  CHECK(executions.size() == static_cast<std::size_t>(fills));
}

TEST_CASE("one relay at a time, a standby takes over, and a new relay resumes where the last one stopped") {
  RelayEnv r;
  auto first = std::make_unique<OutboxRelay>(r.relayConfig());
  first->start();
  REQUIRE(testing::waitUntil([&] { return first->active(); }, 10s));
  OutboxRelay standby(r.relayConfig());
  standby.start();

  r.submitSome({"acct-a", "acct-b"}, 50, "one-");
  REQUIRE(testing::waitUntil([&] { return r.outboxRows() == 0; }, 60s));
  CHECK_FALSE(standby.active());
  CHECK(standby.published() == 0);

  // The active relay goes away: the standby gets the lock and publishes what is written next.
  first->stop();
  first.reset();
  REQUIRE(testing::waitUntil([&] { return standby.active(); }, 10s));
  r.submitSome({"acct-a", "acct-b"}, 50, "two-");
  REQUIRE(testing::waitUntil([&] { return r.outboxRows() == 0; }, 60s));
  CHECK(standby.published() > 0);

  // No relay while orders arrive: they wait in the outbox, and a new relay object sends them.
  standby.stop();
  r.submitSome({"acct-a", "acct-b", "acct-c"}, 30, "three-");
  CHECK(r.outboxRows() > 0);
  OutboxRelay restarted(r.relayConfig());
  restarted.start();
  REQUIRE(testing::waitUntil([&] { return r.outboxRows() == 0; }, 60s));
  checkEventsExactlyOnceInOrder(r);
}

TEST_CASE("the relay and the store recover by themselves when PostgreSQL restarts") {
  RelayEnv r;
  OutboxRelay relay(r.relayConfig());
  relay.start();
  r.submitSome({"acct-a", "acct-b"}, 20, "before-");
  REQUIRE(testing::waitUntil([&] { return r.outboxRows() == 0; }, 60s));

  REQUIRE(testing::controlService("postgres.sh", "restart", "postgres") == 0);
  // The pool reconnects on the next submit; the relay's session failed and comes back.
  r.submitSome({"acct-a", "acct-b"}, 20, "after-");
  REQUIRE(testing::waitUntil([&] { return r.outboxRows() == 0; }, 60s));
  CHECK(relay.failures() >= 1);
  checkEventsExactlyOnceInOrder(r);
}

// A relay that stopped after the broker acknowledged part of a row (kill -9 mid-round) left that
// row whole. The next relay must publish only the records Kafka does not have: one row now holds
// a whole transaction's records, so publishing it again whole would duplicate the others.
TEST_CASE("a relay that finds part of a row already in Kafka publishes only the rest, once") {
  RelayEnv r;
  OutboxRecordsWriter row;
  row.add(r.events_topic, "acct-a", "first");
  row.add(r.events_topic, "acct-b", "second");
  row.add(r.events_topic, "acct-a", "third");
  {
    kafka::ProducerConfig pc;
    pc.brokers = testing::kafkaBootstrap();
    kafka::Producer producer(pc);
    REQUIRE(producer.produce(r.events_topic, "acct-a", "first") == kafka::ProduceResult::Ok);
    REQUIRE(producer.flush(30s));
  }
  {
    pqxx::connection conn(r.env->url);
    pqxx::work tx(conn);
    tx.exec_params("INSERT INTO outbox (records) VALUES ($1)", pqxx::binarystring(row.bytes().data(), row.bytes().size()));
    tx.commit();
  }
  OutboxRelay relay(r.relayConfig());
  relay.start();
  REQUIRE(testing::waitUntil([&] { return r.outboxRows() == 0; }, 60s));
  CHECK(relay.published() == 2);  // the dropped record was not published by this relay

  std::multiset<std::string> seen;
  std::vector<std::string> of_a;
  for (const auto& m : readTopic(r.events_topic, 3)) {  // fails on a fourth record
    seen.insert(m.payload);
    if (m.key == "acct-a") of_a.push_back(m.payload);
  }
  CHECK(seen == std::multiset<std::string>{"first", "second", "third"});
  CHECK(of_a == std::vector<std::string>{"first", "third"});
}

TEST_CASE("while Kafka is down the rows wait in the outbox, and they are published once it is back") {
  RelayEnv r;
  // Stopped before anything is published, so only the relay's retries are under test.
  REQUIRE(testing::controlService("kafka.sh", "stop", "kafka") == 0);
  auto config = r.relayConfig();
  config.producer.delivery_timeout_ms = 3000;  // rounds fail quickly while the broker is away
  OutboxRelay relay(config);
  relay.start();
  r.submitSome({"acct-a", "acct-b"}, 20, "down-");
  const auto written = r.outboxRows();
  CHECK(outboxRecords(r.env->url).size() == 2 * (20 + 2 * 2 + 2));  // events and fills
  REQUIRE(testing::waitUntil([&] { return relay.failures() >= 1; }, 60s));
  CHECK(r.outboxRows() == written);  // nothing deleted without the broker's acknowledgement
  CHECK(relay.lagMs() > 0);

  REQUIRE(testing::controlService("kafka.sh", "start", "kafka") == 0);
  REQUIRE(testing::waitUntil([&] { return r.outboxRows() == 0; }, 120s));
  checkEventsExactlyOnceInOrder(r);
}

TEST_CASE("a round reported failed while the broker was frozen: what it appended anyway is not published again") {
  RelayEnv r;
  auto config = r.relayConfig();
  // Deliveries give up quickly: a request the frozen broker never answered is reported failed,
  // although the broker may still append it once it thaws (its socket kept the bytes).
  config.producer.delivery_timeout_ms = 2000;
  config.producer.extra["request.timeout.ms"] = "1500";
  OutboxRelay relay(config);
  relay.start();
  r.submitSome({"acct-a"}, 10, "warm-");
  REQUIRE(testing::waitUntil([&] { return r.outboxRows() == 0; }, 60s));

  REQUIRE(testing::controlService("kafka.sh", "pause", "kafka") == 0);
  struct Thaw {  // pass or fail, the shared broker must not stay frozen
    ~Thaw() { testing::controlService("kafka.sh", "resume", "kafka"); }
  } thaw;
  r.submitSome({"acct-a", "acct-b"}, 20, "frozen-");
  REQUIRE(testing::waitUntil([&] { return relay.failures() >= 1; }, 60s));
  REQUIRE(testing::controlService("kafka.sh", "resume", "kafka") == 0);
  REQUIRE(testing::waitUntil([&] { return r.outboxRows() == 0; }, 120s));
  checkEventsExactlyOnceInOrder(r);
}
