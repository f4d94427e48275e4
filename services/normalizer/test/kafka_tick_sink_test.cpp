// KafkaTickSink against librdkafka's in-process mock cluster: a snapshot follows its update's
// acknowledgement, and with a snapshot interval a symbol's snapshots are spaced by it, latest
// wins, and releaseDue(true) leaves md.snapshot describing the last update. An acknowledgement
// epoch closes only once its updates and their snapshots are delivered.
#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "kafka_tick_sink.h"
#include "tickstream/kafka/consumer.h"
#include "tickstream/kafka/producer.h"
#include "tickstream/marketdata/v1/marketdata.pb.h"
#include "tickstream/testing/mock_kafka.h"

namespace kafka = tickstream::kafka;
namespace mdv1 = tickstream::marketdata::v1;
using tickstream::normalizer::KafkaTickSink;
using tickstream::normalizer::KafkaTickSinkConfig;
using namespace std::chrono_literals;

namespace {

// What one topic holds, in offset order.
std::vector<std::string> readAll(const std::string& bootstrap, const std::string& topic) {
  kafka::ConsumerConfig cc;
  cc.brokers = bootstrap;
  cc.group_id = "sink-test-reader";
  kafka::Consumer consumer(cc);
  consumer.assign({{topic, 0, RdKafka::Topic::OFFSET_BEGINNING}});
  std::vector<std::string> out;
  while (auto m = consumer.poll(1500ms)) {
    REQUIRE(m->ok());
    out.emplace_back(m->payload());
  }
  return out;
}

// Emits update `seq` for "AAPL" with its snapshot.
void emitUpdate(KafkaTickSink& sink, uint64_t seq) {
  mdv1::MarketDataUpdate u;
  u.set_symbol("AAPL");
  u.set_seq(seq);
  mdv1::SymbolSnapshot s;
  s.set_symbol("AAPL");
  s.set_last_seq(seq);
  sink.emit("AAPL", u, &s);
}

// Emits updates 1..n for "AAPL", each with its snapshot, `gap` apart.
void emitUpdates(KafkaTickSink& sink, uint64_t n, std::chrono::milliseconds gap) {
  for (uint64_t seq = 1; seq <= n; ++seq) {
    emitUpdate(sink, seq);
    sink.releaseDue();
    std::this_thread::sleep_for(gap);
  }
}

std::vector<uint64_t> snapshotSeqs(const std::vector<std::string>& records) {
  std::vector<uint64_t> seqs;
  for (const auto& r : records) {
    mdv1::SymbolSnapshot s;
    REQUIRE(s.ParseFromString(r));
    seqs.push_back(s.last_seq());
  }
  return seqs;
}

struct Setup {
  // `queue_max_messages`: the producer's local queue (1: full at the second record in flight).
  explicit Setup(std::chrono::milliseconds interval, int queue_max_messages = 1'000'000) {
    cluster.createTopic("t.ticks", 1);
    cluster.createTopic("t.snap", 1);
    kafka::ProducerConfig pc;
    pc.brokers = cluster.bootstrap();
    pc.linger_ms = 0;
    pc.queue_max_messages = queue_max_messages;
    producer = std::make_unique<kafka::Producer>(pc, [this](const kafka::DeliveryReport& r) {
      if (sink) {
        sink->onDelivery(r);
      }
    });
    sink = std::make_unique<KafkaTickSink>(KafkaTickSinkConfig{"t.ticks", "t.snap", interval},
                                           *producer);
  }
  tickstream::testing::MockKafka cluster;
  std::unique_ptr<KafkaTickSink> sink;
  std::unique_ptr<kafka::Producer> producer;
};

} // namespace

TEST_CASE("without an interval every acknowledged update's snapshot follows it") {
  Setup t(0ms);
  emitUpdates(*t.sink, 20, 0ms);
  REQUIRE(t.producer->flushAndVerify(10s));
  REQUIRE(t.producer->flushAndVerify(10s));  // the snapshots produced from the deliveries
  CHECK(readAll(t.cluster.bootstrap(), "t.ticks").size() == 20);
  const auto seqs = snapshotSeqs(readAll(t.cluster.bootstrap(), "t.snap"));
  REQUIRE(seqs.size() == 20);
  CHECK(seqs.front() == 1);
  CHECK(seqs.back() == 20);
  CHECK(t.sink->produceFailed() == 0);
}

TEST_CASE("with an interval a symbol's snapshots are spaced by it and the last one goes out") {
  Setup t(100ms);
  // 60 updates over ~600 ms: about one snapshot per 100 ms, not 60.
  emitUpdates(*t.sink, 60, 10ms);
  REQUIRE(t.producer->flushAndVerify(10s));
  t.sink->releaseDue(true);  // what a shutdown does after its flush
  REQUIRE(t.producer->flushAndVerify(10s));
  CHECK(readAll(t.cluster.bootstrap(), "t.ticks").size() == 60);
  const auto seqs = snapshotSeqs(readAll(t.cluster.bootstrap(), "t.snap"));
  INFO("snapshots " << seqs.size());
  CHECK(seqs.size() >= 3);
  CHECK(seqs.size() <= 12);
  CHECK(std::is_sorted(seqs.begin(), seqs.end()));      // latest wins: never an older one later
  CHECK(seqs.back() == 60);                             // md.snapshot ends at the last update
  CHECK(t.sink->releaseDue(true) == 0);                 // nothing left parked
}

TEST_CASE("an epoch is acknowledged only once its updates and the snapshots they carry are delivered") {
  Setup t(0ms);
  t.cluster.setRtt(300ms);  // acknowledgements slow enough to see the epoch open
  emitUpdates(*t.sink, 5, 0ms);
  t.sink->beginEpoch();  // where the service takes the md.raw positions to commit
  CHECK_FALSE(t.sink->previousEpochAcknowledged());
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!t.sink->previousEpochAcknowledged() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  REQUIRE(t.sink->previousEpochAcknowledged());
  // The snapshots were produced only after their updates' acknowledgements, one round trip
  // later; the epoch waited for them too.
  CHECK(t.producer->outstanding() == 0);
  CHECK(t.producer->delivered() == 10);
  t.cluster.setRtt(0ms);
  CHECK(readAll(t.cluster.bootstrap(), "t.ticks").size() == 5);
  CHECK(snapshotSeqs(readAll(t.cluster.bootstrap(), "t.snap")).size() == 5);
}

TEST_CASE("after an update is refused no later update reaches md.ticks: a prefix, never a gap") {
  Setup t(60'000ms, 2);
  t.cluster.setRtt(2500ms);  // a slow broker: the queue stays full for longer than emit() waits
  auto emit = [&](uint64_t seq) { emitUpdate(*t.sink, seq); };
  emit(1);
  emit(2);
  emit(3);  // the queue is full for the whole of emit()'s wait: refused, seq 3 never goes out
  CHECK(t.sink->produceFailed() == 1);
  t.cluster.setRtt(0ms);  // the broker recovers
  REQUIRE(t.producer->flush(20s));
  const auto failed_before = t.sink->produceFailed();
  emit(4);  // what the service's loop may still emit before it sees the failure, or at exit
  CHECK(t.sink->produceFailed() == failed_before + 1);  // counted as failed, not produced
  REQUIRE(t.producer->flush(20s));
  std::vector<uint64_t> seqs;
  for (const auto& r : readAll(t.cluster.bootstrap(), "t.ticks")) {
    mdv1::MarketDataUpdate u;
    REQUIRE(u.ParseFromString(r));
    seqs.push_back(u.seq());
  }
  CHECK(seqs == std::vector<uint64_t>{1, 2});
}
